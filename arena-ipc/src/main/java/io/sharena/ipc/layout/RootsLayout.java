package io.sharena.ipc.layout;

/**
 * The named-roots directory: {@link #PAGES} arena pages holding {@link #ENTRIES} entries of
 * {@link #ENTRY_SIZE} bytes, open addressing with linear probing on a hash of the name.
 *
 * <pre>
 *  entry:  0                    8          12         16                                   64
 *          +--------------------+----------+----------+------------------------------------+
 *          | VALUE: version(32) | STATE    | NAME_LEN | NAME: UTF-8, at most MAX_NAME bytes|
 *          |        | ptr(32)   |          |          |                                    |
 *          +--------------------+----------+----------+------------------------------------+
 * </pre>
 *
 * <p>STATE: {@link #EMPTY}, {@link #WRITING} (claimed, name being written: readers skip it),
 * {@link #LIVE}, {@link #REMOVED} (a tombstone that keeps probe chains intact). The name is
 * written before STATE becomes LIVE with a release store, so a reader that sees LIVE sees the
 * whole name: no torn entries. VALUE changes by compare-and-set only, its version bumped each time.
 */
public final class RootsLayout {
    public static final int PAGES = 4;
    public static final int ENTRY_SIZE = 64;
    public static final int ENTRIES = PAGES * 4096 / ENTRY_SIZE;
    public static final int MAX_NAME = 48;

    public static final int VALUE = 0;
    public static final int STATE = 8;
    public static final int NAME_LEN = 12;
    public static final int NAME = 16;

    public static final int EMPTY = 0;
    public static final int WRITING = 1;
    public static final int LIVE = 2;
    public static final int REMOVED = 3;

    private RootsLayout() {
    }

    public static long value(final long version, final int ptr) {
        return (version << 32) | Integer.toUnsignedLong(ptr);
    }

    public static int pointerOf(final long value) {
        return (int) value;
    }

    public static long versionOf(final long value) {
        return value >>> 32;
    }
}
