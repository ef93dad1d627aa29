package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Intent;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;

/**
 * Allocation from the best-fit lists, lock held: best fit for a size ({@link #allocFromRuns}), into
 * a word ({@link #intoFromRuns}), a group refill for a span cache ({@link #refill}), and the one
 * carve every locked allocation and reservation ends in ({@link #take}): a range out of a free run
 * under an {@link Intent}, its pages made ready first, so that a repair rolls a half-done take back.
 */
final class ListAllocator {
    private static final long ALLOCATED = PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0);
    private static final long RESERVED = PageEntry.state(PageEntry.RESERVED, 0, 0, 0);
    private static final long INTENT = ControlLayout.word(ControlLayout.INTENT);
    private static final long INTENT_DEST = ControlLayout.word(ControlLayout.INTENT_DEST);
    private static final long TREE_FREE = ControlLayout.word(ControlLayout.TREE_FREE_PAGES);
    private static final long RESERVED_PAGES = ControlLayout.word(ControlLayout.RESERVED_PAGES);
    private static final long QUOTA = ControlLayout.word(ControlLayout.QUOTA_PAGES);
    /**
     * Pages committed ahead of a fresh allocation from the lists (2 MiB): one {@code fallocate} for a
     * chunk, not one per call; the extra pages stay in their run, DIRTY, until allocated or purged.
     */
    static final int COMMIT_AHEAD_PAGES = 512;
    /**
     * Pages a small allocation takes from the lists at once when its cache is empty: see {@link #refill}.
     * Eight pages' page-table entries are 128 bytes, an adjacent-line pair.
     */
    static final int REFILL_PAGES = 8;

    private final PageTable table;
    private final FreeRuns runs;
    private final SpanCache cache;
    private final Backing backing;
    private final DirtyPages dirty;
    private final ListFrees frees;
    private final int slot;
    private final long userPages;
    private final MaximalRuns.PageTest cleanPage;
    private final SpanCache.SpanSink zeroDirty = this::zeroDirty;
    private final SpanCache.SpanSink commitClean = this::commitClean;
    /** Scratch of the lock holder's current operation (only the holder runs the code that uses them). */
    private boolean commitFailed;
    /** While {@link #refill} takes a group: the span size its cache gets; 0 otherwise. */
    private int refillSpan;
    /** Set under the lock before an ALLOC_INTO's take: the arena offset of the word it publishes to. */
    private long publishTo;

    ListAllocator(final PageTable table, final FreeRuns runs, final SpanCache cache, final Backing backing,
                  final DirtyPages dirty, final ListFrees frees, final int slot, final long userPages) {
        this.table = table;
        this.runs = runs;
        this.cache = cache;
        this.backing = backing;
        this.dirty = dirty;
        this.frees = frees;
        this.slot = slot;
        this.userPages = userPages;
        this.cleanPage = p -> !dirty.dirtyPage(p);
    }

    /** One attempt of {@code allocPages} from the lists (lock held): a group refill for a small size, else best fit. */
    int allocFromRuns(final int n, final boolean zero) {
        if (n < REFILL_PAGES && RegistryLayout.cacheClassOf(n) >= 0 && !holeSmallerThanGroup(n)) {
            final int page = refill(n, zero);
            if (page != 0) {
                return page;
            }
            // No run of a whole group, or the quota: the exact size, as for any other.
        }
        return bestFitTake(n, Intent.ALLOC, zero);
    }

    /**
     * @return whether a free run of at least {@code n} but fewer than {@link #REFILL_PAGES} pages
     * exists (lock held): best fit then picks that hole, and a group refill, which would take a run
     * of 8 elsewhere (new ground, as like as not), must not pass it over
     */
    private boolean holeSmallerThanGroup(final int n) {
        final int head = runs.bestFit(n);
        return head != 0 && runs.validRun(head) < REFILL_PAGES;
    }

    /** Best fit from the lists, carved under an {@code op} intent (lock held): the first page, or 0. */
    private int bestFitTake(final int n, final int op, final boolean zero) {
        final int head = runs.bestFit(n);
        if (head == 0 || !quotaAllows(n)) {
            return 0;
        }
        if (!allFree(head, n)) {
            // The lists name pages that are not FREE: never hand them out.
            table.corrupt();
            return 0;
        }
        return take(head, runs.validRun(head), head, n, op, zero) ? head : 0;
    }

    /** @return whether the int at arena offset {@code dest}, an ALLOC_INTO's word, still holds 0 */
    boolean destFree(final long dest) {
        return table.getIntVolatile(dest) == 0;
    }

    /** One attempt of {@link PageAllocator#allocPagesInto} from the lists (lock held): the first page, or 0. */
    int intoFromRuns(final int n, final long dest) {
        if (!destFree(dest)) {
            return 0;
        }
        // The destination goes first: an ALLOC_INTO intent always names the word it publishes to.
        table.setLongRelease(INTENT_DEST, dest);
        publishTo = dest;
        return bestFitTake(n, Intent.ALLOC_INTO, true);
    }

    /**
     * A small allocation that missed its cache takes a whole group of {@link #REFILL_PAGES} pages from
     * the lists (lock held): the first span of {@code n} pages for the caller, the others into this
     * process's cache. So a process's small spans sit together in the page table, never on a page-table
     * cache line that another process's cached spans share (eight 16-byte entries are 128 bytes: two
     * processes' groups cannot put their first pages on one line), and a run of small allocations
     * takes the lock once per group.
     *
     * <p>Crash-safe in two steps: under the ALLOC intent of the group, the spans for the cache go from
     * ALLOCATED to CACHED for this slot ({@link AllocPoint#REFILL_SPANS_CACHED}; a repair then rolls
     * the caller's span back by the intent and frees the CACHED ones, which no stack holds); once the
     * intent is cleared, each is pushed onto this process's stack ({@link AllocPoint#REFILL_SPAN_PUSHED};
     * a repair frees those not pushed yet, and takes the stack as ever).
     *
     * @return the caller's span, ALLOCATED, or 0 (nothing changed)
     */
    private int refill(final int n, final boolean zero) {
        final int head = runs.bestFit(REFILL_PAGES);
        if (head == 0 || !quotaAllows(REFILL_PAGES)) {
            return 0;
        }
        if (!allFree(head, REFILL_PAGES)) {
            table.corrupt();
            return 0;
        }
        refillSpan = n;
        try {
            if (!take(head, runs.validRun(head), head, REFILL_PAGES, Intent.ALLOC, zero)) {
                return 0;
            }
        } finally {
            refillSpan = 0;
        }
        // Pushed last first, so that the next pops hand out head + n, head + 2n, ... as the lists would.
        for (int s = head + REFILL_PAGES - n; s > head; s -= n) {
            cache.pushRefilled(s, n);
            CrashPoints.at(AllocPoint.REFILL_SPAN_PUSHED);
        }
        return head;
    }

    /**
     * Under the refill's intent (lock held): the spans of {@code [at + n, at + REFILL_PAGES)} go
     * ALLOCATED → CACHED for this slot, each first page tagged with {@code n}. Release stores: nobody
     * else knows these pages yet.
     */
    private void cacheRefill(final int at, final int n) {
        // The stamp of this slot's repair epoch, which no repair changes while this lock is held.
        final int stamp = PageEntry.repairStamp(table.getLongVolatile(RegistryLayout.field(slot, RegistryLayout.REPAIR_EPOCH)));
        final long tagged = PageEntry.cached(slot, stamp, n);
        final long cached = PageEntry.cached(slot, stamp, 0);
        for (int s = at + n; s < at + REFILL_PAGES; s += n) {
            for (int p = s; p < s + n; p++) {
                table.setStateRelease(p, p == s ? tagged : cached);
            }
        }
        CrashPoints.at(AllocPoint.REFILL_SPANS_CACHED);
    }

    /**
     * Carves {@code [at, at + n)} out of a run, under an intent. For an allocation, the pages are made
     * ready first, while still FREE in the lists: dirty ones zeroed ({@code zero}), clean ones committed
     * ({@code fallocate}); on ENOSPC nothing has changed but zeroed bytes, and the call fails.
     */
    boolean take(final int head, final int len, final int at, final int n, final int op, final boolean zero) {
        table.setLongRelease(INTENT, Intent.encode(op, at, n));
        CrashPoints.at(AllocPoint.TAKE_INTENT_WRITTEN);
        boolean runDirty = runs.runDirty(head);
        long dirtyTaken = 0;
        if (op != Intent.RESERVE) {
            if (runDirty) {
                dirtyTaken = MaximalRuns.forEach(at, at + n, dirty.dirtyPage, zero ? zeroDirty : DirtyPages.NO_SINK);
                commitFailed = false;
                MaximalRuns.forEach(at, at + n, cleanPage, commitClean);
            } else {
                commitFailed = !backing.cleanAndCommit(at, n);
                runDirty = !commitFailed && commitAhead(head, len, at + n);
            }
            if (commitFailed) {
                // ENOSPC (or EDQUOT): nothing was carved; the zeroed pages stay dirty, zeros now.
                table.setLongRelease(INTENT, Intent.encode(Intent.NONE, 0, 0));
                return false;
            }
            CrashPoints.at(AllocPoint.TAKE_COMMITTED);
        }
        if (op == Intent.RESERVE && runDirty) {
            // A reserved page costs no memory: dirty storage in the range goes back first.
            dirty.purgeRange(at, n);
        }
        runs.carve(head, len, at, n, op == Intent.RESERVE ? RESERVED : ALLOCATED, runDirty);
        CrashPoints.at(AllocPoint.TAKE_CARVED);
        if (refillSpan > 0 && op == Intent.ALLOC) {
            cacheRefill(at, refillSpan);
        }
        if (op == Intent.RESERVE) {
            table.getAndAddLong(RESERVED_PAGES, n);
        }
        if (dirtyTaken > 0) {
            dirty.handedOut(dirtyTaken);
        }
        if (op == Intent.ALLOC_INTO && !publish(at, n)) {
            return false;
        }
        table.setLongRelease(INTENT, Intent.encode(Intent.NONE, 0, 0));
        CrashPoints.at(AllocPoint.TAKE_INTENT_CLEARED);
        return true;
    }

    /**
     * The publishing step of an ALLOC_INTO (lock held, intent up, range carved): one CAS puts the
     * pointer into the caller's word. If the word no longer holds 0 (someone wrote it without the
     * lock), the range is freed again, under an ALLOC intent a repair would roll back.
     *
     * @return whether the pointer was published (else the range is free and the intent cleared)
     */
    private boolean publish(final int at, final int n) {
        if (table.casInt(publishTo, 0, PageAllocator.ptr(at))) {
            CrashPoints.at(AllocPoint.TAKE_PUBLISHED);
            return true;
        }
        table.setLongRelease(INTENT, Intent.encode(Intent.ALLOC, at, n));
        CrashPoints.at(AllocPoint.TAKE_UNPUBLISHED);
        frees.freeLocked(at, n);
        table.setLongRelease(INTENT, Intent.encode(Intent.NONE, 0, 0));
        return false;
    }

    private void zeroDirty(final int first, final int n) {
        backing.zero(first, n);
    }

    private void commitClean(final int first, final int n) {
        commitFailed |= !backing.cleanAndCommit(first, n);
    }

    /**
     * Commits up to {@link #COMMIT_AHEAD_PAGES} pages of the run after {@code from} (fresh ground),
     * when purging is delayed (with no delay they would be punched at once). The run is marked
     * {@link PageEntry#RUN_DIRTY} before any page is marked {@link PageEntry#DIRTY}, and a page only
     * once its storage is committed.
     *
     * @return whether pages were committed ahead (the run is then RUN_DIRTY)
     */
    private boolean commitAhead(final int head, final int len, final int from) {
        final int end = Math.min(head + len, from + COMMIT_AHEAD_PAGES);
        if (dirty.delayNanos() == 0 || end - from < 1 || !backing.commit(from, end - from)) {
            return false; // nothing ahead, no delay, or no space: the allocation itself is committed
        }
        table.setStateRelease(head, table.stateAcquire(head) | PageEntry.RUN_DIRTY);
        for (int p = from; p < end; p++) {
            final long w = table.stateAcquire(p);
            if (PageEntry.stateOf(w) == PageEntry.FREE) {
                table.setStateRelease(p, w | PageEntry.DIRTY);
            }
        }
        CrashPoints.at(AllocPoint.TAKE_AHEAD_COMMITTED);
        dirty.noteDirty(end - from);
        return true;
    }

    boolean quotaAllows(final int n) {
        final long quota = table.getLongVolatile(QUOTA);
        if (quota <= 0) {
            return true;
        }
        final long held = userPages - table.getLongVolatile(TREE_FREE) - table.getLongVolatile(RESERVED_PAGES);
        return held + n <= quota;
    }

    boolean allFree(final int page, final int n) {
        for (int p = page; p < page + n; p++) {
            if (PageEntry.stateOf(table.stateAcquire(p)) != PageEntry.FREE) {
                return false;
            }
        }
        return true;
    }
}
