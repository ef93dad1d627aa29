package io.sharena.ipc.layout;

/**
 * The object heap: one metadata page, slab pages for small objects, page runs for large ones.
 *
 * <pre>
 *  metadata page:  class c at c * CLASS_STRIDE:
 *                  0                      8              12
 *                  +----------------------+--------------+
 *                  | FREE_HEAD: tag(32) | | EMPTY_PAGES  |   one 128-byte line per class,
 *                  |   object ptr(32)     |              |   every process CASes the head
 *                  +----------------------+--------------+
 *
 *  slab page:      0        4        8        12       64                                  4096
 *                  +--------+--------+--------+--------+----------+----------+-- ... --+
 *                  | MAGIC  | CLASS  | IN_USE | OBJECTS| object 0 | object 1 |         |
 *                  | _SLAB  |        |        |        |          |          |         |
 *                  +--------+--------+--------+--------+----------+----------+-- ... --+
 *
 *  large object:   0            4        64                                 pages * 4096
 *                  +------------+--------+-----------------------------------------+
 *                  | MAGIC_LARGE| PAGES  | the object (pointer returned = page + 64) |
 *                  +------------+--------+-----------------------------------------+
 * </pre>
 *
 * <p>A free object's first 4 bytes hold the next free object's pointer (the free stack's link).
 * IN_USE and EMPTY_PAGES are hints (they drive when empty pages are given back), changed by
 * get-and-add; the free stack and the page magic are the truth.
 */
public final class HeapLayout {
    public static final int CLASS_STRIDE = 128;
    public static final int FREE_HEAD = 0;
    public static final int EMPTY_PAGES = 8;

    public static final int HEADER = 64;
    public static final int MAGIC = 0;
    public static final int CLASS = 4;
    public static final int IN_USE = 8;
    public static final int OBJECTS = 12;
    public static final int PAGES = 4;

    public static final int MAGIC_SLAB = 0x534C4231;  // "SLB1"
    public static final int MAGIC_LARGE = 0x4C524731; // "LRG1"

    /** Object sizes of the classes, in bytes: 8 .. 2048; from 64 on each at most 25 % above the last. */
    public static final int[] SIZES = {
        8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896,
        1024, 1280, 1536, 1792, 2048};
    public static final int MAX_SMALL = 2048;

    private HeapLayout() {
    }
}
