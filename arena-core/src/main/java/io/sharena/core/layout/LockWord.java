package io.sharena.core.layout;

/**
 * The allocator lock word: who holds the lock. 0 is unlocked.
 *
 * <pre>
 *  63                                         16 15               0
 *  +--------------------------------------------+-----------------+
 *  | THREAD: owner thread's id (48 bits)        | SLOT + 1        |
 *  +--------------------------------------------+-----------------+
 * </pre>
 *
 * <p>{@code SLOT} is the owner process's index in the {@link RegistryLayout process registry}, whose
 * pid and start time tell whether the owner still lives; {@code THREAD} lets the owner's own
 * thread see that it already holds the lock (DEADLOCK rather than waiting on itself).
 */
public final class LockWord {
    public static final int SLOT_BITS = 16;
    public static final int THREAD_BITS = 48;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    private static final long THREAD_MASK = (1L << THREAD_BITS) - 1;

    private LockWord() {
    }

    public static long encode(final int slot, final long threadId) {
        return ((threadId & THREAD_MASK) << SLOT_BITS) | (slot + 1L);
    }

    /** @return the owner's registry slot, or -1 for an unlocked word */
    public static int slot(final long word) {
        return (int) (word & SLOT_MASK) - 1;
    }

    public static long thread(final long word) {
        return (word >>> SLOT_BITS) & THREAD_MASK;
    }
}
