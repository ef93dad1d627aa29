package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.Intent;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.owner.ArenaLock;
import io.sharena.core.lock.LockResult;
import io.sharena.core.owner.ProcessRegistry;
import io.sharena.core.os.NativeFile;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The page allocator of one attachment (one open arena in one process). See the package
 * documentation for the design; this class routes each call to the lock-free span cache, the
 * best-fit lists under the lock, or the pending-free list.
 */
public final class PageAllocator {
    public static final int RESERVE_OK = 0;
    public static final int RESERVE_INVALID = 1;
    public static final int RESERVE_BUSY = 2;

    private static final long ALLOCATED = PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0);
    private static final long RESERVED = PageEntry.state(PageEntry.RESERVED, 0, 0, 0);
    private static final long FREE = PageEntry.state(PageEntry.FREE, 0, 0, 0);
    private static final long INTENT = ControlLayout.word(ControlLayout.INTENT);
    private static final long TREE_FREE = ControlLayout.word(ControlLayout.TREE_FREE_PAGES);
    private static final long RESERVED_PAGES = ControlLayout.word(ControlLayout.RESERVED_PAGES);
    private static final long QUOTA = ControlLayout.word(ControlLayout.QUOTA_PAGES);
    private static final long DEFERRED = ControlLayout.counter(ControlLayout.C_DEFERRED_FREES);
    private static final long RECOVERIES = ControlLayout.counter(ControlLayout.C_RECOVERIES);
    private static final long FAILED = ControlLayout.counter(ControlLayout.C_FAILED_ALLOCATIONS);

    private static final int NOT_HELD = 0;
    private static final int HELD = 1;
    private static final int HELD_ALREADY = 2;

    private final PageTable table;
    private final FreeRuns runs;
    private final SpanCache cache;
    private final PendingFrees pending;
    private final Backing backing;
    private final Recovery recovery;
    private final ArenaLock lock;
    private final int slot;
    private final long lockTimeoutNanos;
    private final long userPages;
    /** This process's call counters, in its registry slot: see {@link RegistryLayout#ALLOCATIONS}. */
    private final long allocations;
    private final long frees;
    private final SpanCache.SpanSink toRuns = this::toRuns;
    /** What the last repair by this attachment could not fix; see {@link #repairNotes()}. */
    private volatile List<String> repairNotes = List.of();

    public PageAllocator(final MemorySegment arena, final NativeFile file, final long capacityPages,
                         final int metaPages, final ProcessRegistry registry, final ArenaLock lock, final int slot,
                         final long lockTimeoutNanos) {
        this.table = new PageTable(arena, 1 + metaPages, (int) capacityPages);
        this.runs = new FreeRuns(table);
        this.cache = new SpanCache(table, slot);
        this.pending = new PendingFrees(table, slot);
        this.backing = new Backing(file, table);
        this.recovery = new Recovery(table, runs, cache, registry, backing);
        this.lock = lock;
        this.slot = slot;
        this.lockTimeoutNanos = lockTimeoutNanos;
        this.userPages = capacityPages - 1 - metaPages;
        this.allocations = RegistryLayout.field(slot, RegistryLayout.ALLOCATIONS);
        this.frees = RegistryLayout.field(slot, RegistryLayout.FREES);
    }

    /**
     * Lays out a fresh arena's free lists: all user pages in one run. The page table is all zeros,
     * which already says FREE; only the run's two boundary tags and one list head are written.
     */
    public static void format(final MemorySegment arena, final long capacityPages, final int metaPages) {
        final PageTable table = new PageTable(arena, 1 + metaPages, (int) capacityPages);
        new FreeRuns(table).link(1 + metaPages, (int) (capacityPages - 1 - metaPages));
    }

    private static int ptr(final int page) {
        return page << Geometry.PAGE_SHIFT;
    }

    // ---------------------------------------------------------------- allocation

    /** {@code allocPages}: the pointer of {@code n} contiguous zeroed pages, or 0. */
    public int allocPages(final int n) {
        if (n <= 0 || n > userPages) {
            return 0;
        }
        final int cached = cache.pop(n);
        if (cached != 0) {
            table.addLong(allocations, 1);
            return ptr(cached);
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            table.addLong(FAILED, 1);
            return 0;
        }
        try {
            int page = allocFromRuns(n);
            if (page == 0 && table.repairPending()) {
                recoverLocked();
                page = allocFromRuns(n);
            }
            if (page == 0 && flushOwnCache()) {
                page = allocFromRuns(n);
            }
            if (page == 0 && takeOtherCaches()) {
                // FREE is free for everyone: spans parked in other processes' caches serve this call.
                page = allocFromRuns(n);
            }
            table.addLong(page == 0 ? FAILED : allocations, 1);
            return page == 0 ? 0 : ptr(page);
        } finally {
            release(held);
        }
    }

    private int allocFromRuns(final int n) {
        final int head = runs.bestFit(n);
        if (head == 0 || !quotaAllows(n)) {
            return 0;
        }
        if (!allFree(head, n)) {
            // The lists name pages that are not FREE: never hand them out.
            table.corrupt();
            return 0;
        }
        return take(head, runs.validRun(head), head, n, Intent.ALLOC) ? head : 0;
    }

    /** Carves {@code [at, at + n)} out of a run, under an intent; commits storage for allocations. */
    private boolean take(final int head, final int len, final int at, final int n, final int op) {
        table.setLong(INTENT, Intent.encode(op, at, n));
        CrashPoints.at(AllocPoint.TAKE_INTENT_WRITTEN);
        runs.carve(head, len, at, n, op == Intent.ALLOC ? ALLOCATED : RESERVED);
        CrashPoints.at(AllocPoint.TAKE_CARVED);
        if (op == Intent.ALLOC && !backing.cleanAndCommit(at, n)) {
            for (int p = at; p < at + n; p++) {
                table.setState(p, FREE);
            }
            runs.insert(at, n);
            table.setLong(INTENT, Intent.encode(Intent.NONE, 0, 0));
            return false;
        }
        CrashPoints.at(AllocPoint.TAKE_COMMITTED);
        if (op == Intent.RESERVE) {
            table.addLong(RESERVED_PAGES, n);
        }
        table.setLong(INTENT, Intent.encode(Intent.NONE, 0, 0));
        CrashPoints.at(AllocPoint.TAKE_INTENT_CLEARED);
        return true;
    }

    private boolean quotaAllows(final int n) {
        final long quota = table.getLong(QUOTA);
        if (quota <= 0) {
            return true;
        }
        final long held = userPages - table.getLong(TREE_FREE) - table.getLong(RESERVED_PAGES);
        return held + n <= quota;
    }

    /** {@code allocPagesAt}: {@code ptr}, or 0 with nothing changed. */
    public int allocPagesAt(final int ptr, final int n) {
        final int page = validRange(ptr, n);
        if (page == 0) {
            return 0;
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            table.addLong(FAILED, 1);
            return 0;
        }
        try {
            final boolean ok = takeRange(page, n, Intent.ALLOC);
            table.addLong(ok ? allocations : FAILED, 1);
            return ok ? ptr : 0;
        } finally {
            release(held);
        }
    }

    /** {@code reservePages}: RESERVE_OK, RESERVE_INVALID or RESERVE_BUSY. */
    public int reservePages(final int ptr, final int n) {
        if (n == 0) {
            return RESERVE_OK;
        }
        final int page = validRange(ptr, n);
        if (page == 0) {
            return RESERVE_INVALID;
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            return RESERVE_BUSY;
        }
        try {
            return takeRange(page, n, Intent.RESERVE) ? RESERVE_OK : RESERVE_BUSY;
        } finally {
            release(held);
        }
    }

    /** @return the first page of a page-aligned range of user pages, or 0 */
    private int validRange(final int ptr, final int n) {
        if (n <= 0 || (ptr & (Geometry.PAGE_SIZE - 1)) != 0) {
            return 0;
        }
        final long page = Integer.toUnsignedLong(ptr) >>> Geometry.PAGE_SHIFT;
        if (page < table.firstUser || page + n > table.capacity) {
            return 0;
        }
        return (int) page;
    }

    private boolean takeRange(final int page, final int n, final int op) {
        if (!allFree(page, n) && (!takeCachesTouching(page, n) || !allFree(page, n))) {
            // A page that is allocated, reserved, pending, or cached but in transit (its owner is
            // popping or pushing it right now): not FREE at this instant.
            return false;
        }
        if (op == Intent.ALLOC && !quotaAllows(n)) {
            return false;
        }
        int head = runs.runContaining(page);
        int len = runs.validRun(head);
        if (head == 0 || page + n > head + len) {
            // The pages are FREE but the lists do not say so: repair them, then look once more.
            table.corrupt();
            recoverLocked();
            head = runs.runContaining(page);
            len = runs.validRun(head);
            if (head == 0 || page + n > head + len) {
                return false;
            }
        }
        return take(head, len, page, n, op);
    }

    private boolean allFree(final int page, final int n) {
        for (int p = page; p < page + n; p++) {
            if (PageEntry.stateOf(table.state(p)) != PageEntry.FREE) {
                return false;
            }
        }
        return true;
    }

    /**
     * Takes into the lists the span caches of every process that has a CACHED page in
     * {@code [page, page + n)} (lock held): see {@link SpanCache} for why this races safely with
     * their owners.
     *
     * @return whether any page came back
     */
    private boolean takeCachesTouching(final int page, final int n) {
        long seen = 0; // slots already taken, one bit each (SLOTS <= 64)
        long taken = 0;
        for (int p = page; p < page + n; p++) {
            final long w = table.state(p);
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
    private boolean takeOtherCaches() {
        long taken = 0;
        for (int owner = 0; owner < RegistryLayout.SLOTS; owner++) {
            if (owner != slot) {
                taken += cache.takeAll(owner, toRuns);
            }
        }
        return taken > 0;
    }

    // ---------------------------------------------------------------- freeing

    /** {@code freePages}: never throws for range problems, never blocks. */
    public void freePages(final int ptr, final int n) {
        if (ptr == 0 || n <= 0) {
            return;
        }
        final long first = Math.max(Integer.toUnsignedLong(ptr) >>> Geometry.PAGE_SHIFT, table.firstUser);
        final long end = Math.min((Integer.toUnsignedLong(ptr) >>> Geometry.PAGE_SHIFT) + n, table.capacity);
        if (first >= end) {
            return;
        }
        final int page = (int) first;
        final int count = (int) (end - first);
        if (cache.push(page, count)) {
            table.addLong(frees, 1);
            return;
        }
        if (lock.tryAcquireFast()) {
            try {
                enterLocked();
                CrashPoints.at(AllocPoint.FREE_LOCK_TAKEN);
                freeLocked(page, count);
            } finally {
                release(HELD);
            }
        } else if (lock.isHeldByCurrentThread()) {
            enterLocked();
            freeLocked(page, count);
            release(HELD_ALREADY);
        } else if (pending.push(page, count) > 0) {
            table.addLong(DEFERRED, 1);
        }
        table.addLong(frees, 1);
    }

    /**
     * Frees the ALLOCATED and RESERVED pages of the range, leaving the others alone (lock held). Each
     * page is first taken by CAS to PENDING with this slot and {@link PageEntry#FREEING}, so that if
     * this process dies the repair frees exactly the pages this free had taken (they name a dead
     * slot), never a page it skipped and someone else got meanwhile; no intent is needed. Each
     * contiguous run of taken pages is then set FREE, punched and merged.
     */
    private void freeLocked(final int page, final int count) {
        int runStart = -1;
        long unreserved = 0;
        for (int p = page; p <= page + count; p++) {
            boolean taken = false;
            while (p < page + count) {
                final long w = table.state(p);
                final int s = PageEntry.stateOf(w);
                if (s != PageEntry.ALLOCATED && s != PageEntry.RESERVED) {
                    break;
                }
                final int flags = PageEntry.FREEING | (s == PageEntry.RESERVED ? PageEntry.WAS_RESERVED : 0);
                if (table.casState(p, w, PageEntry.state(PageEntry.PENDING, flags, slot, 0))) {
                    CrashPoints.at(AllocPoint.FREE_PAGE_MARKED);
                    taken = true;
                    unreserved += s == PageEntry.RESERVED ? 1 : 0;
                    break;
                }
            }
            if (taken && runStart < 0) {
                runStart = p;
            } else if (!taken && runStart >= 0) {
                for (int q = runStart; q < p; q++) {
                    table.setState(q, FREE);
                }
                CrashPoints.at(AllocPoint.FREE_RUN_STATED);
                backing.release(runStart, p - runStart);
                CrashPoints.at(AllocPoint.FREE_RUN_PUNCHED);
                runs.insert(runStart, p - runStart);
                CrashPoints.at(AllocPoint.FREE_RUN_LINKED);
                runStart = -1;
            }
        }
        table.addLong(RESERVED_PAGES, -unreserved);
    }

    private void toRuns(final int page, final int n) {
        backing.release(page, n);
        runs.insert(page, n);
    }

    private void drainPending() {
        if (!pending.isEmpty()) {
            table.addLong(RESERVED_PAGES, -pending.drainTo(toRuns));
        }
    }

    /** Returns this process's cached spans to the best-fit lists (lock held). @return whether any */
    private boolean flushOwnCache() {
        return cache.takeAll(slot, toRuns) > 0;
    }

    // ---------------------------------------------------------------- the lock

    /**
     * The one way into the locked region: every allocator path that comes to hold the lock (by
     * waiting, by the free path's single CAS, or finding its own thread already holding it) calls
     * this first. A repair that is pending (the lock was taken over from a dead owner by anyone, or
     * corrupted metadata was found) runs before anything reads the lists; otherwise pending frees
     * are applied.
     */
    private void enterLocked() {
        if (table.repairPending()) {
            recoverLocked();
        } else {
            drainPending();
        }
    }

    private int acquire() {
        final LockResult r = lock.lock(lockTimeoutNanos);
        switch (r) {
            case ACQUIRED, RECOVERED -> {
                // RECOVERED has set the repair-pending mark, so enterLocked repairs.
                enterLocked();
                return HELD;
            }
            case DEADLOCK -> {
                // This thread took the lock outside the allocator (a tool, named roots): the
                // allocator's first call under it still repairs first.
                enterLocked();
                return HELD_ALREADY;
            }
            default -> {
                return NOT_HELD;
            }
        }
    }

    /** Leaves the locked region: a repair that this holder's own walks asked for runs first. */
    private void release(final int held) {
        try {
            if (table.repairPending()) {
                recoverLocked();
            }
        } finally {
            if (held == HELD) {
                lock.unlock();
            }
        }
    }

    /**
     * Full repair; the caller holds the lock.
     *
     * @return what it could not fix, one line each (empty: the allocator's structures are consistent)
     */
    public List<String> recoverLocked() {
        recovery.fixIntent();
        CrashPoints.at(AllocPoint.REPAIR_INTENT_FIXED);
        drainPending();
        CrashPoints.at(AllocPoint.REPAIR_PENDING_DRAINED);
        // The caches' pages go back by the page-state pass that follows: no need to link them now.
        final List<String> left = recovery.reclaimAndRebuild((page, n) -> { });
        table.addLong(RECOVERIES, 1);
        table.clearRepairPending();
        CrashPoints.at(AllocPoint.REPAIR_DONE);
        final List<String> notes = new java.util.ArrayList<>(left);
        notes.addAll(recovery.guesses());
        repairNotes = List.copyOf(notes);
        return left;
    }

    /**
     * @return what the last repair run by this attachment could not fix, then what it fixed only by a
     * conservative guess (pages of no known state kept ALLOCATED); empty if neither
     */
    public List<String> repairNotes() {
        return repairNotes;
    }

    /**
     * Repairs the arena if a process died attached to it, or a repair is pending: called on open.
     * Waits for the lock up to {@code timeoutNanos}.
     *
     * @return whether a repair ran
     */
    public boolean recoverIfNeeded(final ProcessRegistry registry, final long timeoutNanos) {
        if (registry.deadSlots().isEmpty() && !table.repairPending()) {
            return false;
        }
        final LockResult r = lock.lock(timeoutNanos);
        if (!r.acquired()) {
            return false;
        }
        try {
            recoverLocked();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Gives back this attachment's cached pages and applies pending frees, for close.
     *
     * @return whether it could (false: the lock stayed busy for {@code timeoutNanos})
     */
    public boolean detach(final long timeoutNanos) {
        final LockResult r = lock.lock(timeoutNanos);
        final int held;
        if (r == LockResult.DEADLOCK) {
            held = HELD_ALREADY;
        } else if (r.acquired()) {
            held = HELD;
        } else {
            return false;
        }
        try {
            enterLocked();
            drainPending();
            CrashPoints.at(AllocPoint.DETACH_PENDING_DRAINED);
            flushOwnCache();
            CrashPoints.at(AllocPoint.DETACH_CACHE_FLUSHED);
            return true;
        } finally {
            release(held);
        }
    }

    // ---------------------------------------------------------------- inspection

    /**
     * @return the {@link PageEntry} state of page {@code page} as users see them: META below the
     * first user page, -1 past the end, and FREE for a page in a span cache
     */
    public int pageState(final long page) {
        if (page < 0 || page >= table.capacity) {
            return -1;
        }
        if (page < table.firstUser) {
            return PageEntry.META;
        }
        final int s = PageEntry.stateOf(table.state((int) page));
        return s == PageEntry.CACHED ? PageEntry.FREE : s;
    }

    public void setQuota(final long pages) {
        table.setLong(QUOTA, Math.max(0, pages));
    }
}
