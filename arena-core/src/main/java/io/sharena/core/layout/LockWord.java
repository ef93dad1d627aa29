package io.sharena.core.layout;

/**
 * A cross-process lock word (the allocator's at {@link ControlLayout#LOCK_WORD}, and every user
 * lock): 0 when free, else the holder's {@link OwnerToken}, thread included.
 *
 * <pre>
 *  63                                      22 21                  6 5        0
 *  +-----------------------------------------+---------------------+----------+
 *  | THREAD: holder's thread id mod 2^42     | GENERATION          | SLOT     |
 *  +-----------------------------------------+---------------------+----------+
 * </pre>
 *
 * <p>8 bytes, 8-byte aligned. Taken by compare-and-set from 0 (or from a dead holder's token),
 * released by a release store of 0.
 */
public final class LockWord {
    public static final int SIZE = Long.BYTES;
    public static final long UNLOCKED = 0L;

    private LockWord() {
    }

    /** @return the holder's registry slot, or -1 for an unlocked word */
    public static int slot(final long word) {
        return word == UNLOCKED ? -1 : OwnerToken.slot(word);
    }
}
