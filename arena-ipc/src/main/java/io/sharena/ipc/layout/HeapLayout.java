package io.sharena.ipc.layout;

import io.sharena.core.layout.Geometry;

/**
 * The object heap: one metadata page, slab pages for small objects, page runs for large ones.
 *
 * <pre>
 *  metadata page:  class c at c * CLASS_STRIDE (one 128-byte line per class: every process CASes its head)
 *                  0                      8
 *                  +----------------------+--------------+------------------------------------+
 *                  | FREE_HEAD: tag(32) | | EMPTY_PAGE   | REFILL_SLOTS slots from 16, each   |
 *                  |   object ptr(32)     |  (int ptr)   | 16 bytes: 0 owner word, 8 page ptr |
 *                  +----------------------+--------------+------------------------------------+
 *                  META_LINE: 0 META_MAGIC (int)  8 REPAIR (long)  16 DOUBLE_FREES (long)
 *                             24 KEY (long, the heap's page key)  32 KEY_CHECK (long, ~KEY)
 *                             40 REPAIRER (long, owner word of a process repairing the heap)
 *
 *  slab page:      0      4      8       12      16     20     24     32       64                 128
 *                  +------+------+-------+-------+------+------+------+--------+-------- ... --+---------+-- ...
 *                  |MAGIC |CLASS |unused |OBJECTS| HEAP |      | KEY  |        | BITMAP: bit i | object 0| object 1
 *                  |_SLAB |      | (0)   |       |      |      |      |        | = object i in |         |
 *                  |      |      |       |       |      |      |      |        |   use (8 longs)|        |
 *                  +------+------+-------+-------+------+------+------+--------+-------- ... --+---------+-- ...
 *
 *  large object:   0            4       8      12     16     24     64                                 pages * 4096
 *                  +------------+-------+------+------+------+------+-----------------------------------------+
 *                  | MAGIC_LARGE| PAGES | HEAP |PAGES_| KEY  |      | the object (pointer returned = page + 64) |
 *                  |            |       |      |CHECK |      |      |                                         |
 *                  +------------+-------+------+------+------+------+-----------------------------------------+
 * </pre>
 *
 * <p>HEAP is the heap's metadata page pointer and KEY the heap's page key, a random nonzero
 * 64-bit value drawn when the heap is made and kept in its metadata line beside its complement
 * (so a stray write to either is seen): a page is the heap's only if its magic, its HEAP and its
 * KEY all say so. The first two are predictable, and other owners' pages hold bytes that came from
 * outside (a store's values, a channel's messages, a user's own pages): with a page key, such bytes
 * cannot pass for one of the heap's page headers unless whoever wrote them read the key from the
 * file, which only the arena's own processes (trusted by each other) can. A free object's first 4 bytes hold the next free object's pointer (the free
 * stack's link), and its next 4 its freed mark ({@link #freedMark}: the object's pointer mixed
 * with the heap's key), written by a free before it clears the object's in-use bit and by every
 * push of a refill, a local heap's give-back or a repair, and cleared by the allocation that
 * hands the object out (it zeroes it). So an object whose bit is clear but which is on no free
 * stack is told apart: with the mark, a free or an allocation was killed between its two steps
 * (the repair reclaims it); without it, a stray write cleared a live object's bit (the repair
 * sets it again: reclaimed, the object would be handed out while its owner holds it). The bitmap is the truth about which objects are in use: its bit is set by
 * allocate after the pop and cleared by free before the push (both by one atomic read-modify-write,
 * so of two frees of one object exactly one clears it). EMPTY_PAGE is a hint: the one empty slab
 * page the class keeps, set by a free that empties a page when it names none (or a page no longer
 * empty: allocations do not update it, so it may be stale and is checked before it is trusted) and
 * by a trim; a free that empties a second page while it names one still empty trims the class.
 * A refill slot records a refill in flight: its owner word (an owner token of the refilling
 * thread, 0 when free) and the page the refill allocated into it (0 when none), from the
 * allocation until the page's objects are on the free stack; so a refill killed halfway leaves
 * its page named by a slot whose owner is dead, and the next refill of the class or a repair
 * settles it.
 * A large object's PAGES_CHECK is {@link #pagesCheck} of its PAGES and the heap's key: a page
 * count a stray write changed, though still inside the arena, would give back the pages after the
 * object, another owner's.
 * A slab page's int at offset 8 is unused (it held a count of objects in use). {@link #MAGIC_RETIRED} marks a
 * slab page being given back to the page allocator. {@link #MAGIC_LARGE_FREED} a large object
 * being freed; its SELF word (offset 24, unused before) then holds its page pointer, from which
 * its pages are freed all at once.
 */
public final class HeapLayout {
    public static final int CLASS_STRIDE = 128;
    public static final int FREE_HEAD = 0;
    /** The class's kept empty slab page, a hint (0: none); see the class comment. */
    public static final int EMPTY_PAGE = 8;
    /** Refill slots per class, in the rest of its line. */
    public static final int REFILL_SLOTS = 7;
    /** The first refill slot's offset in the class line; slots follow every {@link #REFILL_STRIDE} bytes. */
    public static final int REFILL_FIRST = 16;
    public static final int REFILL_STRIDE = 16;
    /** In a refill slot: the refilling thread's owner token (an owner word; 0: the slot is free). */
    public static final int REFILL_OWNER = 0;
    /** In a refill slot: the page the refill allocated (an int pointer; 0: none). */
    public static final int REFILL_PAGE = 8;

    /** The metadata page's own line, after the class lines. */
    public static final int META_LINE = 3456;
    public static final int META_MAGIC = META_LINE;
    public static final int REPAIR = META_LINE + 8;
    public static final int DOUBLE_FREES = META_LINE + 16;
    /** The heap's page key (nonzero), written into every page header the heap makes. */
    public static final int META_KEY = META_LINE + 24;
    /** The page key's complement: a key whose check disagrees was hit by a stray write. */
    public static final int META_KEY_CHECK = META_LINE + 32;
    /**
     * The owner token of the thread repairing the heap (an owner word; 0: none; a dead owner's,
     * or one with no thread, is no one's). Heaps made before it read 0 there.
     */
    public static final int META_REPAIRER = META_LINE + 40;
    /**
     * "HEA4": the format with page keys and a large object's page-count check. "HEA2" (no page
     * keys) and "HEA3" (no page-count check) are earlier versions'.
     */
    public static final int META_MAGIC_VALUE = 0x48454134;
    public static final int META_MAGIC_UNKEYED = 0x48454132;
    public static final int META_MAGIC_UNCHECKED = 0x48454133;

    public static final int SLAB_HEADER = 128;
    public static final int LARGE_HEADER = 64;
    public static final int MAGIC = 0;
    public static final int CLASS = 4;
    public static final int OBJECTS = 12;
    public static final int PAGES = 4;
    public static final int HEAP = 16;
    public static final int LARGE_HEAP = 8;
    /** A large object's check of its page count ({@link #pagesCheck}). */
    public static final int PAGES_CHECK = 12;
    /** A slab page's copy of the heap's page key (long). */
    public static final int KEY = 24;
    /** A large object's copy of the heap's page key (long). */
    public static final int LARGE_KEY = 16;
    /**
     * A large object being freed: its own page pointer, the word its pages are freed from in one
     * crash-safe step ({@link io.sharena.core.SharedArena#freePagesFrom}); 0 before.
     */
    public static final int LARGE_SELF = 24;
    /** In a free object: its freed mark (int), after its free stack link ({@link #freedMark}). */
    public static final int FREED_MARK = 4;
    public static final int BITMAP = 64;
    public static final int BITMAP_LONGS = 8;

    public static final int MAGIC_SLAB = 0x534C4232;        // "SLB2"
    public static final int MAGIC_LARGE = 0x4C524732;       // "LRG2"
    public static final int MAGIC_RETIRED = 0x52544432;     // "RTD2"
    public static final int MAGIC_LARGE_FREED = 0x4C464432; // "LFD2"

    /** Object sizes of the classes, in bytes: 8 .. 2048; from 64 on each at most 25 % above the last. */
    public static final int[] SIZES = {
        8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896,
        1024, 1280, 1536, 1792, 2048};
    public static final int MAX_SMALL = 2048;

    /** ceil(2^32 / size) per class: {@link #index} divides by a multiply on the free and pop paths. */
    private static final long[] RECIPROCALS = new long[SIZES.length];
    /** Objects per slab page, per class: the hot paths look them up rather than divide. */
    private static final int[] PER_SLAB = new int[SIZES.length];

    static {
        for (int c = 0; c < SIZES.length; c++) {
            RECIPROCALS[c] = ((1L << 32) + SIZES[c] - 1) / SIZES[c];
            PER_SLAB[c] = (Geometry.PAGE_SIZE - SLAB_HEADER) / SIZES[c];
        }
        assert SIZES.length * CLASS_STRIDE <= META_LINE : "class lines overlap the meta line";
        assert REFILL_FIRST + REFILL_SLOTS * REFILL_STRIDE <= CLASS_STRIDE : "refill slots overflow the class line";
        assert (Geometry.PAGE_SIZE - SLAB_HEADER) / SIZES[0] <= BITMAP_LONGS * 64 : "bitmap too small";
    }

    private HeapLayout() {
    }

    /**
     * @return the freed mark of the free object at {@code obj} in the heap whose page key is
     * {@code key}: never 0 (zeroed memory carries none), and not to be guessed without the key
     */
    public static int freedMark(final int obj, final long key) {
        return (int) ((key ^ Integer.toUnsignedLong(obj) * 0x9E3779B97F4A7C15L) >>> 32) | 1;
    }

    /** @return the {@link #PAGES_CHECK} of a large object of {@code pages} pages of the heap whose page key is {@code key} */
    public static int pagesCheck(final int pages, final long key) {
        return ~pages ^ (int) (key >>> 32);
    }

    /** @return how many objects a slab page of class {@code c} holds */
    public static int objectsPerSlab(final int c) {
        return PER_SLAB[c];
    }

    /** @return how many bitmap words a slab page of class {@code c} uses (1 from 64-byte objects on) */
    public static int bitmapWords(final int c) {
        return (PER_SLAB[c] + 63) >>> 6;
    }

    /**
     * @return {@code offset / SIZES[c]} for {@code 0 <= offset < 4096}: exact, because the
     * reciprocal's rounding error (below 4096 / 2^32) never reaches the gap to the next integer
     * (at least 1 / 2048)
     */
    public static int index(final int offset, final int c) {
        return (int) ((offset * RECIPROCALS[c]) >>> 32);
    }

    /** @return the page-relative offset of the bitmap word holding object {@code index}'s bit */
    public static int bitmapWord(final int index) {
        return BITMAP + (index >>> 6) * 8;
    }

    /** @return object {@code index}'s bit in its bitmap word */
    public static long bit(final int index) {
        return 1L << (index & 63);
    }
}
