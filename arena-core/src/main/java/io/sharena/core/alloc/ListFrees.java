package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;

/**
 * Every way pages go back into the best-fit lists, lock held: a locked free ({@link #freeLocked},
 * page by page, crash-safe without an intent), the pending frees of processes that did not get the
 * lock, and span caches taken whole, this process's or others'.
 */
final class ListFrees {
    private static final long RESERVED_PAGES = ControlLayout.word(ControlLayout.RESERVED_PAGES);

    private final PageTable table;
    private final FreeRuns runs;
    private final SpanCache cache;
    private final PendingFrees pending;
    private final DirtyPages dirtyPages;
    private final int slot;
    private final SpanCache.SpanSink toRuns = this::toRuns;
    private final MaximalRuns.PageTest takeForFree = this::takeForFree;
    private final SpanCache.SpanSink statedToRuns = this::statedToRuns;
    /** Scratch of the lock holder's free (only the holder runs the code that uses it). */
    private long freeUnreserved;

    ListFrees(final PageTable table, final FreeRuns runs, final SpanCache cache, final PendingFrees pending,
              final DirtyPages dirtyPages, final int slot) {
        this.table = table;
        this.runs = runs;
        this.cache = cache;
        this.pending = pending;
        this.dirtyPages = dirtyPages;
        this.slot = slot;
    }

    /**
     * Frees the ALLOCATED and RESERVED pages of the range, leaving the others alone (lock held). Each
     * page is first taken by CAS to PENDING with this slot and {@link PageEntry#FREEING}, so that if
     * this process dies the repair frees exactly the pages this free had taken (they name a dead
     * slot), never a page it skipped and someone else got meanwhile; no intent is needed. Each
     * contiguous run of taken pages is then set FREE (DIRTY unless it was reserved) and merged.
     */
    void freeLocked(final int page, final int count) {
        freeUnreserved = 0;
        MaximalRuns.forEach(page, page + count, takeForFree, statedToRuns);
        table.getAndAddLong(RESERVED_PAGES, -freeUnreserved);
    }

    /** ALLOCATED or RESERVED → PENDING(this slot, FREEING) by CAS. @return whether this free took the page */
    private boolean takeForFree(final int p) {
        final int was = table.markPending(p, slot, PageEntry.FREEING);
        if (was < 0) {
            return false;
        }
        CrashPoints.at(AllocPoint.FREE_PAGE_MARKED);
        freeUnreserved += was == PageEntry.RESERVED ? 1 : 0;
        return true;
    }

    /** A run of pages this free took: FREE (DIRTY: storage committed, unless it was reserved), then the lists. */
    private void statedToRuns(final int first, final int n) {
        for (int q = first; q < first + n; q++) {
            final boolean wasReserved = (PageEntry.flagsOf(table.stateAcquire(q)) & PageEntry.WAS_RESERVED) != 0;
            table.setStateRelease(q, PageEntry.state(PageEntry.FREE, wasReserved ? 0 : PageEntry.DIRTY, 0, 0));
        }
        CrashPoints.at(AllocPoint.FREE_RUN_STATED);
        toRuns(first, n);
        CrashPoints.at(AllocPoint.FREE_RUN_LINKED);
    }

    /**
     * Every way FREE pages enter the lists (a free, a drained pending span, a taken cache span): merged
     * into the lists, dirty pages counted; with no purge delay, their storage is punched out at once.
     */
    private void toRuns(final int page, final int n) {
        final int dirty = MaximalRuns.forEach(page, page + n, dirtyPages.dirtyPage, DirtyPages.NO_SINK);
        runs.insert(page, n, dirty > 0);
        if (dirty > 0) {
            dirtyPages.noteDirty(dirty);
            if (dirtyPages.delayNanos() == 0) {
                dirtyPages.purgeRange(page, n);
            }
        }
    }

    void drainPending() {
        if (!pending.isEmpty()) {
            table.getAndAddLong(RESERVED_PAGES, -pending.drainTo(toRuns));
        }
    }

    /** Returns this process's cached spans to the best-fit lists (lock held). @return whether any */
    boolean flushOwnCache() {
        return cache.takeAll(slot, toRuns) > 0;
    }

    /** Takes this process's stack of {@code n}-page spans into the lists (lock held). */
    void flushOwnStack(final int n) {
        cache.takeOwnStack(n, toRuns);
    }

    /**
     * Takes into the lists the span caches of every process that has a CACHED page in
     * {@code [page, page + n)} (lock held): see {@link SpanCache} for why this races safely with
     * their owners.
     *
     * @return whether any page came back
     */
    boolean takeCachesTouching(final int page, final int n) {
        long seen = 0; // slots already taken, one bit each (SLOTS <= 64)
        long taken = 0;
        for (int p = page; p < page + n; p++) {
            final long w = table.stateAcquire(p);
            final int owner = PageEntry.slotOf(w);
            if (PageEntry.stateOf(w) == PageEntry.CACHED && owner < RegistryLayout.SLOTS
                && (seen & (1L << owner)) == 0) {
                seen |= 1L << owner;
                taken += cache.takeAll(owner, toRuns);
            }
        }
        return taken > 0;
    }

    /** Takes every other process's span caches into the lists (lock held). @return whether any page came */
    boolean takeOtherCaches() {
        long taken = 0;
        for (int owner = 0; owner < RegistryLayout.SLOTS; owner++) {
            if (owner != slot) {
                taken += cache.takeAll(owner, toRuns);
            }
        }
        return taken > 0;
    }
}
