package io.sharena.ipc.layout;

/**
 * A store lock word (stripe and ring locks): who holds the lock; 0 is unlocked.
 *
 * <pre>
 *  63                    40 39                   16 15              0
 *  +-----------------------+----------------------+-----------------+
 *  | THREAD (24 bits)      | PID (24 bits)        | SLOT + 1        |
 *  +-----------------------+----------------------+-----------------+
 * </pre>
 *
 * <p>SLOT is the owner's arena registry slot and PID its process id (Linux pids are below 2^22):
 * the owner is dead when the registry no longer lists that pid in that slot, or lists it as dead,
 * so a slot reused by a new process does not make an old owner look alive. THREAD (the low bits of
 * the owner thread's id) lets the owner's own thread see that it already holds the lock.
 */
public final class StoreLockWord {
    public static final int SLOT_BITS = 16;
    public static final int PID_BITS = 24;
    public static final int THREAD_BITS = 24;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    private static final long PID_MASK = (1L << PID_BITS) - 1;
    private static final long THREAD_MASK = (1L << THREAD_BITS) - 1;

    private StoreLockWord() {
    }

    public static long encode(final int slot, final long pid, final long threadId) {
        return ((threadId & THREAD_MASK) << (SLOT_BITS + PID_BITS)) | ((pid & PID_MASK) << SLOT_BITS) | (slot + 1L);
    }

    /** @return the owner's registry slot, -1 for an unlocked word */
    public static int slot(final long word) {
        return (int) (word & SLOT_MASK) - 1;
    }

    public static long pid(final long word) {
        return (word >>> SLOT_BITS) & PID_MASK;
    }

    public static long thread(final long word) {
        return (word >>> (SLOT_BITS + PID_BITS)) & THREAD_MASK;
    }
}
