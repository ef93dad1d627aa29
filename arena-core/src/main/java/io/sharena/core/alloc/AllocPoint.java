package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoint;

/**
 * The page allocator's crash points: every step boundary of every multi-step change it makes to
 * shared state, named for the step just completed. A process killed at any of them leaves an arena
 * that the next lock holder (or opener) repairs; the package documentation says how, point by point.
 *
 * <p>Points inside a per-page or per-span loop are reached once per page or span; a child armed with
 * {@code -Dsharena.crashpoint.skip=N} dies at the (N+1)th.
 */
public enum AllocPoint implements CrashPoint {
    // ---- allocation from this process's span cache (no lock)
    /** The span is off the stack (head CAS done); its pages still say CACHED. */
    CACHE_POP_HEAD_TAKEN,
    /** One page of the popped span went CACHED → ALLOCATED by CAS. */
    CACHE_POP_PAGE_TAKEN,

    // ---- allocation and reservation from the best-fit lists (lock held)
    /** The ALLOC or RESERVE intent is written; nothing else changed yet. */
    TAKE_INTENT_WRITTEN,
    /** The range is carved out of its run and its pages say ALLOCATED (or RESERVED). */
    TAKE_CARVED,
    /**
     * Storage for pages ahead of a fresh allocation is committed and they say DIRTY in their run (which
     * says RUN_DIRTY); the allocated range itself is not carved yet.
     */
    TAKE_AHEAD_COMMITTED,
    /**
     * A refill's group is carved (ALLOCATED) and its spans for the cache say CACHED for this slot, in
     * no stack yet; the intent still names the whole group.
     */
    REFILL_SPANS_CACHED,
    /** The intent is cleared and one more of a refill's spans is on this process's stack. */
    REFILL_SPAN_PUSHED,
    /** The range to allocate is ready, still FREE: dirty pages zeroed, clean ones committed; the intent names it. */
    TAKE_COMMITTED,
    /**
     * An {@code allocPagesInto}: the carved range's pointer is in the caller's word (one CAS from 0);
     * the ALLOC_INTO intent still names the range, so a repair keeps it allocated.
     */
    TAKE_PUBLISHED,
    /**
     * An {@code allocPagesInto} whose word no longer held 0 when it was to publish: the carved range is
     * freed again under an ALLOC intent (a repair rolls back whatever is still ALLOCATED).
     */
    TAKE_UNPUBLISHED,
    /** The intent is cleared: the operation is complete. */
    TAKE_INTENT_CLEARED,

    // ---- freeing into this process's span cache (no lock)
    /** One page of the freed span went ALLOCATED → CACHED by CAS (the first tagged with the span's length). */
    CACHE_PUSH_PAGE_MARKED,
    /** The span's first page, still ALLOCATED, links to the stack's top (before any page is marked). */
    CACHE_PUSH_TAGGED,
    /** The push read its slot's repair epoch unchanged since it began: the head CAS comes next. */
    CACHE_PUSH_EPOCH_CHECKED,
    /** The head CAS put the span on the stack. */
    CACHE_PUSH_DONE,

    // ---- freeing under the lock
    /** The free path won the lock with its single CAS (and repaired or drained as needed). */
    FREE_LOCK_TAKEN,
    /** One page of the freed range went ALLOCATED/RESERVED → PENDING(holder) by CAS. */
    FREE_PAGE_MARKED,
    /** A contiguous run of marked pages says FREE (DIRTY unless it was reserved); not yet linked. */
    FREE_RUN_STATED,
    /** That run is merged into the best-fit lists (and, with no purge delay, punched out). */
    FREE_RUN_LINKED,

    // ---- freeing the range a word names (lock held)
    /** The FREE_FROM intent (and the word it names) is written; the word still holds the pointer. */
    FREE_FROM_INTENT_WRITTEN,
    /** The word's pointer is taken out (one CAS to 0); the range is still ALLOCATED. */
    FREE_FROM_WORD_CLEARED,
    /** The range is freed; the intent is cleared. */
    FREE_FROM_DONE,

    // ---- deferred free: pushing on the pending list (no lock)
    /** One page went ALLOCATED/RESERVED → PENDING(pusher) by CAS. */
    PENDING_PAGE_MARKED,
    /** A run of marked pages carries its length and link to the list's top. */
    PENDING_RUN_TAGGED,
    /** The head CAS put that run on the list. */
    PENDING_RUN_PUSHED,

    // ---- draining the pending list (lock held)
    /** One span of the list re-tagged with the drainer's slot (the list is still published). */
    DRAIN_SPAN_RETAGGED,
    /** One CAS took the whole list: the list is empty, every taken page names the drainer. */
    DRAIN_LIST_TAKEN,
    /** One taken span's pages say FREE (DIRTY unless reserved); not yet linked. */
    DRAIN_SPAN_STATED,
    /** That span is merged into the best-fit lists (dirty, or punched with no purge delay). */
    DRAIN_SPAN_FREED,

    // ---- flushing or taking a span cache into the lists (lock held)
    /** One CAS emptied a stack (this process's, a live one's, or a dead one's); its spans are the holder's. */
    CACHE_FLUSH_STACK_TAKEN,
    /** One span of a taken stack went CACHED → FREE (DIRTY) by CAS; not yet linked. */
    CACHE_FLUSH_SPAN_STATED,
    /** That span is merged into the best-fit lists (dirty, or punched with no purge delay). */
    CACHE_FLUSH_SPAN_FREED,

    // ---- purging dirty free pages (lock held: a free with no delay, a due purge, purge(), a reserve)
    /** A stretch of dirty pages in a free run has lost its DIRTY bits; its storage is not yet punched. */
    PURGE_RUN_CLEANED,
    /** That stretch is punched out and counted off. */
    PURGE_RUN_PUNCHED,
    /** Every dirty run was purged: the dirty count and its clock are reset. */
    PURGE_DONE,

    // ---- repair (lock held)
    /** The interrupted holder's intent is rolled back and cleared. */
    REPAIR_INTENT_FIXED,
    /** The pending list is drained. */
    REPAIR_PENDING_DRAINED,
    /** Every span cache is emptied into the lists. */
    REPAIR_CACHES_EMPTIED,
    /** The lists are rebuilt from the page states (orphans freed, runs punched). */
    REPAIR_REBUILT,
    /** One dead process's registry slot is released. */
    REPAIR_SLOT_RELEASED,
    /** The repair-pending mark is cleared: the repair is complete. */
    REPAIR_DONE,

    // ---- detach (close)
    /** Close drained the pending list. */
    DETACH_PENDING_DRAINED,
    /** Close returned this process's cached spans to the lists. */
    DETACH_CACHE_FLUSHED,
}
