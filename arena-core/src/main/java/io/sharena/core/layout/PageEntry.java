package io.sharena.core.layout;

/**
 * One page's entry in the page table: {@link Geometry#PAGE_ENTRY_BYTES} bytes per arena page,
 * starting at page {@link #TABLE_PAGE}.
 *
 * <pre>
 *  +0 STATE word
 *   63                         32 31          16 15        8 7   4 3      0
 *   +----------------------------+--------------+-----------+------+-------+
 *   | RUN: span length (pages)   | STAMP or 0   | SLOT      | FLAG | STATE |
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
 * can tell a dead process's spans in transit from a live one's. {@code STAMP}, on a CACHED page
 * only (zero in every other state), is the {@link #stampOf(long) repair stamp} of that slot when the
 * span was cached: a push or pop stalled across a whole repair expects the old stamp, so its CAS
 * fails on a page the repair freed and the slot cached again since, even though every other field
 * of the word is the same. {@code FLAG} {@link #WAS_RESERVED}
 * marks a pending page that was RESERVED (the same bit, {@link #PUSHING}, an allocated page a
 * span-cache push holds while it links it), so the drain can count it out; {@link #FREEING} a page a
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
     * On an ALLOCATED page (the same bit as {@link #WAS_RESERVED}, which only a PENDING page carries),
     * with RUN holding the pusher's registry slot plus one: a span-cache push has taken the page, by
     * CAS, to write its LINK word, and marks it CACHED next. Nothing else takes such a page (a second
     * free of it is a double free: it finds the page not plainly ALLOCATED and does nothing). A
     * repair leaves it to a live pusher and makes it plainly ALLOCATED otherwise (a dead process's
     * free not finished, or a stray write: kept, never freed by guess); RUN keeps a single flipped bit
     * of an ALLOCATED word from reading as a live push.
     */
    public static final int PUSHING = 0x10;
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

    public static final int STATE_BITS = 4;
    public static final int FLAG_BITS = 4;
    public static final int SLOT_BITS = 8;
    /** Between SLOT and RUN: a CACHED page's repair stamp, zero otherwise. */
    public static final int STAMP_BITS = 16;
    public static final int RUN_BITS = 32;
    /** LINK word: NEXT in the low half, PREV in the high half. */
    public static final int NEXT_BITS = 32;
    public static final int PREV_BITS = 32;
    /** Number of values the STATE field can hold (stray writes can put any of them there). */
    public static final int STATE_VALUES = 1 << STATE_BITS;

    private static final int FLAG_SHIFT = STATE_BITS;
    private static final int SLOT_SHIFT = FLAG_SHIFT + FLAG_BITS;
    private static final int STAMP_SHIFT = SLOT_SHIFT + SLOT_BITS;
    private static final int RUN_SHIFT = STAMP_SHIFT + STAMP_BITS;
    private static final int PREV_SHIFT = NEXT_BITS;
    private static final long STATE_MASK = (1L << STATE_BITS) - 1;
    /** FLAG values are kept in place ({@link #WAS_RESERVED} is 0x10), so the mask is shifted. */
    private static final long FLAG_MASK = ((1L << FLAG_BITS) - 1) << FLAG_SHIFT;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    private static final long STAMP_MASK = (1L << STAMP_BITS) - 1;
    private static final long RUN_MASK = (1L << RUN_BITS) - 1;
    private static final long NEXT_MASK = (1L << NEXT_BITS) - 1;
    private static final long PREV_MASK = (1L << PREV_BITS) - 1;

    static {
        assert RUN_SHIFT + RUN_BITS == Long.SIZE && PREV_SHIFT + PREV_BITS == Long.SIZE : "the fields fill the words";
        assert (WAS_RESERVED & ~FLAG_MASK) == 0 && (FREEING & ~FLAG_MASK) == 0 : "flags outside FLAG";
        assert RegistryLayout.SLOTS <= 1 << SLOT_BITS : "every registry slot fits in SLOT";
    }

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

    /**
     * @return the repair stamp of a registry slot whose {@link RegistryLayout#REPAIR_EPOCH} reads
     * {@code epoch}: half the epoch, modulo 2^{@value #STAMP_BITS}. It is the same while a repair runs
     * (odd epoch) as before it began, so the repair's take finds the stamp the stacks were pushed
     * with, and it changes when the repair ends (the epoch goes even again, to the next value).
     */
    public static int repairStamp(final long epoch) {
        return (int) ((epoch >>> 1) & STAMP_MASK);
    }

    /**
     * @return the STATE word of a CACHED page of registry slot {@code slot}, cached under repair
     * stamp {@code stamp}: {@code run} is the span's length at its first page, 0 at the others
     */
    public static long cached(final int slot, final int stamp, final int run) {
        return state(CACHED, 0, slot, run) | ((stamp & STAMP_MASK) << STAMP_SHIFT);
    }

    /** @return the repair stamp field of a STATE word (a CACHED page's; 0 in other states unless a stray write put bits there) */
    public static int stampOf(final long word) {
        return (int) ((word >>> STAMP_SHIFT) & STAMP_MASK);
    }

    /** @return the STATE word of an ALLOCATED page that the span-cache push of registry slot {@code slot} holds */
    public static long pushing(final int slot) {
        return state(ALLOCATED, PUSHING, 0, slot + 1L);
    }

    /**
     * @return the registry slot of the push holding a page whose STATE word is {@code word}, or -1
     * if the word is not a push's (not ALLOCATED with {@link #PUSHING}, or no slot in RUN)
     */
    public static int pusherOf(final long word) {
        if (stateOf(word) != ALLOCATED || (flagsOf(word) & PUSHING) == 0 || runOf(word) == 0
            || runOf(word) > RegistryLayout.SLOTS || slotOf(word) != 0) {
            return -1;
        }
        return runOf(word) - 1;
    }

    /** @return the STATE word of a page in {@code state}, with {@code flags} (in place), {@code slot} and {@code run} */
    public static long state(final int state, final int flags, final int slot, final long run) {
        return ((run & RUN_MASK) << RUN_SHIFT) | ((slot & SLOT_MASK) << SLOT_SHIFT) | (flags & FLAG_MASK)
            | (state & STATE_MASK);
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
        return (int) ((word >>> RUN_SHIFT) & RUN_MASK);
    }

    public static long link(final int prev, final int next) {
        return ((prev & PREV_MASK) << PREV_SHIFT) | (next & NEXT_MASK);
    }

    public static int nextOf(final long link) {
        return (int) (link & NEXT_MASK);
    }

    public static int prevOf(final long link) {
        return (int) ((link >>> PREV_SHIFT) & PREV_MASK);
    }
}
