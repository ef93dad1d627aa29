package io.sharena.core.layout;

/**
 * An owner word: what a lock word, a channel lane or a consumer slot holds to say who owns it. It
 * names a {@link RegistryLayout registry} slot and the slot's {@link ProcessWord#generation
 * generation} at the time, plus, for locks, the owning thread. 0 is "no owner".
 *
 * <pre>
 *  63                                      22 21                  6 5        0
 *  +-----------------------------------------+---------------------+----------+
 *  | THREAD: thread id mod 2^42, 0 = process | GENERATION (16 bits)| SLOT     |
 *  +-----------------------------------------+---------------------+----------+
 * </pre>
 *
 * <p>An owner lives while its slot still holds that generation and the slot's process lives. A
 * slot's generation changes on every claim and takeover, so once an owner is dead its token stays
 * dead: a compare-and-set from a token read before the slot was reused fails, even when the new
 * owner's thread has the same id (no ABA). {@code GENERATION} is never 0, so a token never is.
 * {@code THREAD} lets a thread tell that it already holds a lock (DEADLOCK instead of waiting on
 * itself); owners that are whole processes (a producer's lane) leave it 0.
 */
public final class OwnerToken {
    public static final int SLOT_BITS = 6;
    public static final int GENERATION_BITS = ProcessWord.GENERATION_BITS;
    public static final int THREAD_BITS = 64 - SLOT_BITS - GENERATION_BITS;
    public static final int GENERATION_SHIFT = SLOT_BITS;
    public static final int THREAD_SHIFT = SLOT_BITS + GENERATION_BITS;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    private static final long GENERATION_MASK = (1L << GENERATION_BITS) - 1;
    private static final long THREAD_MASK = (1L << THREAD_BITS) - 1;
    /** Everything but the thread: which attachment. */
    private static final long OWNER_MASK = (1L << THREAD_SHIFT) - 1;

    static {
        // Every registry slot must fit in SLOT.
        assert RegistryLayout.SLOTS <= 1 << SLOT_BITS;
    }

    private OwnerToken() {
    }

    /** @return the token of thread {@code threadId} (0: the whole process) of owner {@code generation} of {@code slot} */
    public static long encode(final int slot, final int generation, final long threadId) {
        assert slot >= 0 && slot < RegistryLayout.SLOTS : "slot out of range: slot=" + slot;
        assert generation != 0 : "generation 0 is never held";
        return ((threadId & THREAD_MASK) << THREAD_SHIFT) | ((generation & GENERATION_MASK) << GENERATION_SHIFT)
            | (slot & SLOT_MASK);
    }

    public static int slot(final long token) {
        return (int) (token & SLOT_MASK);
    }

    public static int generation(final long token) {
        return (int) ((token >>> GENERATION_SHIFT) & GENERATION_MASK);
    }

    /** @return the owning thread's id mod 2^42, or 0 when the owner is a whole process */
    public static long thread(final long token) {
        return (token >>> THREAD_SHIFT) & THREAD_MASK;
    }

    /** @return the token without its thread: the attachment (slot and generation) that owns it */
    public static long attachment(final long token) {
        return token & OWNER_MASK;
    }
}
