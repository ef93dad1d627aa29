package io.sharena.ipc.layout;

import io.sharena.core.layout.Geometry;

/**
 * The named-roots directory: {@link #PAGES} arena pages, a header page then {@link #ENTRIES}
 * entries of {@link #ENTRY_SIZE} bytes, open addressing with linear probing on a hash of the name.
 *
 * <pre>
 *  header page:
 *    0 MAGIC (int, "ROT2"): CASed from 0 by whoever attaches first after the zeroed directory is
 *        installed in the control page (0: installed, magic not yet written)
 *    8 REPAIR (long): 1 once a user found the directory corrupted, until a repair ran
 *    128 LOCK: the directory's own lock (a 128-byte line of its own: adders and removers contend on it)
 *    256 CREATING (long): while a lock holder creates a structure under a name ({@code NamedRoots.create}):
 *        the entry's index + 1 (high half), the structure's pages (low 30 bits), UNDOING (bit 30),
 *        FORMATTED (bit 31); 0 otherwise
 *    264 UNDO_CHECK (long): ~CREATING, written with the UNDOING mark (an undo a busy allocator held
 *        up is finished by the next holder of the lock, which trusts the mark only with its check)
 *
 *  entry i at ENTRY_BASE + i * ENTRY_SIZE:
 *          0                    8          12         16                                   64
 *          +--------------------+----------+----------+------------------------------------+
 *          | VALUE: version(32) | STATE    | NAME_LEN | NAME: UTF-8, at most MAX_NAME bytes|
 *          |        | ptr(32)   |          |          |                                    |
 *          +--------------------+----------+----------+------------------------------------+
 * </pre>
 *
 * <p>STATE: {@link #EMPTY}, {@link #WRITING} (claimed, name being written: readers skip it),
 * {@link #LIVE}, {@link #REMOVED} (a tombstone that keeps probe chains intact). The name is
 * written before STATE becomes LIVE with a release store, so a reader that sees LIVE sees the
 * whole name: no torn entries. VALUE changes by compare-and-set only, and every change bumps its
 * version: a value update, a remove and a reuse of the entry for another name. A reader that read
 * VALUE, then found the entry still LIVE under its name, and then read the same VALUE again (or
 * compare-and-set it), knows the value belongs to that name.
 */
public final class RootsLayout {
    public static final int PAGES = 5;
    public static final int MAGIC_VALUE = 0x524F5432; // "ROT2"
    public static final int MAGIC = 0;
    public static final int REPAIR = 8;
    public static final int LOCK = 128;
    public static final int LOCK_BYTES = 128;
    public static final int CREATING = 256;
    public static final int UNDO_CHECK = 264;
    /** Set in CREATING once the structure is formatted: a creator killed after it leaves it whole (kept). */
    public static final long CREATING_FORMATTED = 1L << 31;
    /** Set in CREATING by the repair that undoes a dead creator's creation: every later lock holder finishes it. */
    public static final long CREATING_UNDOING = 1L << 30;

    public static final int ENTRY_BASE = Geometry.PAGE_SIZE;
    public static final int ENTRY_SIZE = 64;
    public static final int ENTRIES = (PAGES - 1) * Geometry.PAGE_SIZE / ENTRY_SIZE;
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

    /** @return the directory-relative offset of entry {@code index} */
    public static int entry(final int index) {
        return ENTRY_BASE + index * ENTRY_SIZE;
    }

    public static long value(final long version, final int ptr) {
        return (version << 32) | Integer.toUnsignedLong(ptr);
    }

    /** @return {@code value}'s version plus one, holding {@code ptr} */
    public static long bumped(final long value, final int ptr) {
        return value(versionOf(value) + 1, ptr);
    }

    public static int pointerOf(final long value) {
        return (int) value;
    }

    public static long versionOf(final long value) {
        return value >>> 32;
    }
}
