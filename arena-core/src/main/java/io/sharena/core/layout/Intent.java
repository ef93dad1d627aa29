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
 * the pages). {@link #ALLOC_INTO} is an allocation whose pointer the holder stores into a word the
 * caller named ({@link ControlLayout#INTENT_DEST}, written before the intent): it is rolled forward
 * if that word holds the range's pointer (the pages were published: someone may use them), and back
 * otherwise. {@link #FREE_FROM} frees the range a word names after taking the pointer out of it:
 * rolled back (nothing done) while the word still holds the range's pointer, forward (the range's
 * ALLOCATED and RESERVED pages freed) once it no longer does. {@link #FREE} is no longer written: a free under the lock marks each page it takes
 * PENDING with its own slot instead, so that a repair finishes exactly what it took; recovery
 * ignores a FREE intent left by an older version. FIRST and PAGES are read back from shared memory
 * and checked before use: a range not wholly inside the user pages is a stray write, which recovery
 * ignores and reports (nothing rolled back), never clamps.
 */
public final class Intent {
    public static final int NONE = 0;
    public static final int ALLOC = 1;
    public static final int FREE = 2;
    public static final int RESERVE = 3;
    public static final int ALLOC_INTO = 4;
    public static final int FREE_FROM = 5;

    public static final int FIRST_BITS = 32;
    public static final int PAGES_BITS = 28;
    public static final int OP_BITS = 4;
    private static final int PAGES_SHIFT = FIRST_BITS;
    private static final int OP_SHIFT = FIRST_BITS + PAGES_BITS;
    private static final long FIRST_MASK = (1L << FIRST_BITS) - 1;
    private static final long PAGES_MASK = (1L << PAGES_BITS) - 1;
    private static final long OP_MASK = (1L << OP_BITS) - 1;

    static {
        assert OP_SHIFT + OP_BITS == Long.SIZE : "the fields fill the word";
        // A range is at most every page of the largest arena.
        assert Geometry.MAX_CAPACITY_PAGES <= PAGES_MASK : "PAGES too narrow";
    }

    private Intent() {
    }

    public static long encode(final int op, final int first, final int pages) {
        assert op >= 0 && op <= OP_MASK : "op out of range: op=" + op;
        assert pages >= 0 && pages <= PAGES_MASK : "pages out of range: pages=" + pages;
        return ((op & OP_MASK) << OP_SHIFT) | ((pages & PAGES_MASK) << PAGES_SHIFT) | (first & FIRST_MASK);
    }

    public static int op(final long word) {
        return (int) ((word >>> OP_SHIFT) & OP_MASK);
    }

    public static int pages(final long word) {
        return (int) ((word >>> PAGES_SHIFT) & PAGES_MASK);
    }

    public static int first(final long word) {
        return (int) (word & FIRST_MASK);
    }
}
