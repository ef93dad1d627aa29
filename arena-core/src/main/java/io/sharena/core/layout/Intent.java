package io.sharena.core.layout;

/**
 * The lock holder's operation in flight, written (release) before it changes any page state and
 * cleared after, so that whoever recovers the lock from a dead holder knows what to finish or roll
 * back.
 *
 * <pre>
 *  63        60 59                       32 31                             0
 *  +-----------+---------------------------+-------------------------------+
 *  | OP        | PAGES: length of the range | FIRST: first page of the range|
 *  +-----------+---------------------------+-------------------------------+
 * </pre>
 *
 * <p>OP: {@link #NONE}; {@link #ALLOC} and {@link #RESERVE} are rolled back (the caller never got
 * the pages). {@link #FREE} is no longer written: a free under the lock marks each page it takes
 * PENDING with its own slot instead, so that a repair finishes exactly what it took; recovery
 * ignores a FREE intent left by an older version. FIRST and PAGES are read back from shared memory
 * and clamped to the user pages before use.
 */
public final class Intent {
    public static final int NONE = 0;
    public static final int ALLOC = 1;
    public static final int FREE = 2;
    public static final int RESERVE = 3;

    private Intent() {
    }

    public static long encode(final int op, final int first, final int pages) {
        return ((long) op << 60) | ((long) pages << 32) | Integer.toUnsignedLong(first);
    }

    public static int op(final long word) {
        return (int) (word >>> 60);
    }

    public static int pages(final long word) {
        return (int) ((word >>> 32) & 0x0FFF_FFFF);
    }

    public static int first(final long word) {
        return (int) word;
    }
}
