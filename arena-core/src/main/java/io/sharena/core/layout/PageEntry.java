package io.sharena.core.layout;

/**
 * One page's entry in the page table: {@link Geometry#PAGE_ENTRY_BYTES} bytes per arena page,
 * starting at page {@link #TABLE_PAGE}.
 *
 * <pre>
 *  +0 STATE word
 *   63                         32 31          16 15        8 7   4 3      0
 *   +----------------------------+--------------+-----------+------+-------+
 *   | RUN: span length (pages)   |   zero       | SLOT      | FLAG | STATE |
 *   +----------------------------+--------------+-----------+------+-------+
 *  +8 LINK word
 *   63                         32 31                                      0
 *   +----------------------------+-----------------------------------------+
 *   | PREV page (free runs only) | NEXT page (free runs, cached, pending)  |
 *   +----------------------------+-----------------------------------------+
 * </pre>
 *
 * <p>{@code STATE}: {@link #FREE} is 0, so a fresh (sparse, all-zero) table says "all free" without
 * being written. META is not stored: it is every page below the first user page. The entries of
 * pages 1..4 (always META) hold the header's backup copy ({@link HeaderLayout#BACKUP}); nothing
 * may write the entry of a page below the first user page.
 * {@code RUN} is kept at the first and last page of a free run in the best-fit lists (boundary
 * tags, for coalescing), and at the first page of a cached or pending span. {@code SLOT} is the
 * registry slot of the process that cached a span or queued it for a deferred free, so recovery
 * can tell a dead process's spans in transit from a live one's. {@code FLAG} {@link #WAS_RESERVED}
 * marks a pending page that was RESERVED, so the drain can count it out; {@link #FREEING} a page a
 * lock holder's free has taken but not yet put in the lists. On a FREE page, {@link #DIRTY} says its
 * storage is still committed in the file (and may hold a previous owner's bytes), and
 * {@link #RUN_DIRTY} on a free run's first page says some page of the run may be DIRTY.
 */
public final class PageEntry {
    /** First page of the page table: right after the control and registry pages. */
    public static final int TABLE_PAGE = 1 + Geometry.CONTROL_PAGES;
    public static final int STATE_WORD = 0;
    public static final int LINK_WORD = 8;

    public static final int FREE = 0;
    public static final int ALLOCATED = 1;
    public static final int RESERVED = 2;
    public static final int PENDING = 3;
    /** Free, in a process's lock-free span cache: reported as FREE, handed out only by that cache. */
    public static final int CACHED = 4;
    /** Not stored; what pages below the first user page are. */
    public static final int META = 7;
    public static final String[] STATE_NAMES = {"FREE", "ALLOCATED", "RESERVED", "PENDING", "CACHED", "?", "?", "META"};

    public static final int WAS_RESERVED = 0x10;
    /**
     * On a PENDING page: marked by a lock holder's free (not a deferred push), which frees it before
     * it unlocks. If the holder dies first, the page is PENDING with a dead slot and repair frees it:
     * exactly the pages the dying free had taken, never a page it skipped.
     */
    public static final int FREEING = 0x20;
    /**
     * On a FREE page: its storage is committed (allocated in the file: handing it out needs no
     * {@code fallocate} and can never SIGBUS) and may hold bytes (it is zeroed when handed out). Set
     * only once the storage is known to be committed, cleared before it is punched out, so it never
     * names a hole; a page without it may still hold data (a raw write), which the allocator checks.
     */
    public static final int DIRTY = 0x40;
    /**
     * On the first page of a free run in the best-fit lists: some page of the run may be
     * {@link #DIRTY} (set before any of its pages is, so a purge that looks only at runs with it set
     * finds every dirty page).
     */
    public static final int RUN_DIRTY = 0x80;
    /** Number of values the 4-bit STATE field can hold (stray writes can put any of them there). */
    public static final int STATE_VALUES = 16;

    private static final long STATE_MASK = 0xF;
    private static final long FLAG_MASK = 0xF0;
    private static final int SLOT_SHIFT = 8;
    private static final long SLOT_MASK = 0xFF;
    private static final int RUN_SHIFT = 32;

    private PageEntry() {
    }

    /** @return the name of a state value, or {@code "invalid(N)"} for a value no state has */
    public static String stateName(final int state) {
        return state >= 0 && state < STATE_NAMES.length && !"?".equals(STATE_NAMES[state])
            ? STATE_NAMES[state] : "invalid(" + state + ")";
    }

    /** @return the arena offset of page {@code page}'s STATE word */
    public static long stateOffset(final int page) {
        return (long) TABLE_PAGE * Geometry.PAGE_SIZE + Integer.toUnsignedLong(page) * Geometry.PAGE_ENTRY_BYTES;
    }

    /** @return the arena offset of page {@code page}'s LINK word */
    public static long linkOffset(final int page) {
        return stateOffset(page) + LINK_WORD;
    }

    public static long state(final int state, final int flags, final int slot, final long run) {
        return (run << RUN_SHIFT) | ((long) slot << SLOT_SHIFT) | flags | state;
    }

    public static int stateOf(final long word) {
        return (int) (word & STATE_MASK);
    }

    public static int flagsOf(final long word) {
        return (int) (word & FLAG_MASK);
    }

    public static int slotOf(final long word) {
        return (int) ((word >>> SLOT_SHIFT) & SLOT_MASK);
    }

    public static int runOf(final long word) {
        return (int) (word >>> RUN_SHIFT);
    }

    public static long link(final int prev, final int next) {
        return (Integer.toUnsignedLong(prev) << 32) | Integer.toUnsignedLong(next);
    }

    public static int nextOf(final long link) {
        return (int) link;
    }

    public static int prevOf(final long link) {
        return (int) (link >>> 32);
    }
}
