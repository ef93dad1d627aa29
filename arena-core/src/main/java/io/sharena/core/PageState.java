package io.sharena.core;

import io.sharena.core.layout.PageEntry;

/** What {@link SharedArena#pageState} says of a page. */
public enum PageState {
    /** Free: in the free lists or in a process's span cache; {@code allocPages} may hand it out. */
    FREE,
    /** Handed out by {@code allocPages} or {@code allocPagesAt} and not freed since. */
    ALLOCATED,
    /** Set aside by {@code reservePages}: never handed out, costing no memory. */
    RESERVED,
    /** Freed while the allocator's lock was busy: queued, free once the next lock holder applies it. */
    PENDING,
    /** The header or the allocator's metadata: every page below {@link SharedArena#firstUserPage()}. */
    META,
    /** The page's state word holds no state (a stray write): a repair keeps such a page allocated. */
    INVALID,
    /** Not a page of this arena: negative, or at or past {@link SharedArena#capacityPages()}. */
    OUTSIDE;

    private static final PageState[] BY_CODE = new PageState[PageEntry.STATE_VALUES];

    static {
        java.util.Arrays.fill(BY_CODE, INVALID);
        BY_CODE[PageEntry.FREE] = FREE;
        BY_CODE[PageEntry.ALLOCATED] = ALLOCATED;
        BY_CODE[PageEntry.RESERVED] = RESERVED;
        BY_CODE[PageEntry.PENDING] = PENDING;
        BY_CODE[PageEntry.CACHED] = FREE;
        BY_CODE[PageEntry.META] = META;
    }

    /** @return the state a page table code stands for; -1 (no such page) is {@link #OUTSIDE} */
    static PageState of(final int code) {
        return code < 0 ? OUTSIDE : code < BY_CODE.length ? BY_CODE[code] : INVALID;
    }
}
