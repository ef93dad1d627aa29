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
    private static final long INTENT_DEST = ControlLayout.word(ControlLayout.INTENT_DEST);
    private static final long TREE_FREE = ControlLayout.word(ControlLayout.TREE_FREE_PAGES);
    private static final long RESERVED_PAGES = ControlLayout.word(ControlLayout.RESERVED_PAGES);
    private static final long QUOTA = ControlLayout.word(ControlLayout.QUOTA_PAGES);
    private static final long DEFERRED = ControlLayout.counter(ControlLayout.C_DEFERRED_FREES);
    private static final long RECOVERIES = ControlLayout.counter(ControlLayout.C_RECOVERIES);
    private static final long FAILED = ControlLayout.counter(ControlLayout.C_FAILED_ALLOCATIONS);
    private static final long DIRTY_PAGES = ControlLayout.word(ControlLayout.DIRTY_PAGES);
    private static final long DIRTY_SINCE = ControlLayout.word(ControlLayout.DIRTY_SINCE);
    /** Default {@link #configurePurge} delay: dirty pages go back to the OS about a second after the oldest. */
    public static final long DEFAULT_PURGE_DELAY_NANOS = 1_000_000_000L;
    /** Default high-water mark: more dirty free pages than this (64 MiB) are purged at once. */
    public static final long DEFAULT_DIRTY_LIMIT_PAGES = 16_384;
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
    /** A purge reads a dirty run's page states this many at a time, stopping when the count is used up. */
    private static final int PURGE_SLICE = 1024;

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
    private final MaximalRuns.PageTest takeForFree = this::takeForFree;
    private final SpanCache.SpanSink statedToRuns = this::statedToRuns;
    private final MaximalRuns.PageTest dirtyPage = this::dirtyPage;
    private final MaximalRuns.PageTest cleanPage = p -> !dirtyPage(p);
    private final MaximalRuns.PageTest undirty = this::undirty;
    private final SpanCache.SpanSink zeroDirty = this::zeroDirty;
    private final SpanCache.SpanSink commitClean = this::commitClean;
    private final SpanCache.SpanSink purgeRun = this::purgeRun;
    /** Scratch of the lock holder's current operation (only the holder runs the code that uses them). */
    private long freeUnreserved;
    private boolean commitFailed;
    private long purgeLeft;
    /** While {@link #refill} takes a group: the span size its cache gets; 0 otherwise. */
    private int refillSpan;
    /** Set under the lock before an ALLOC_INTO's take: the arena offset of the word it publishes to. */
    private long publishTo;
    private volatile long purgeDelayNanos = DEFAULT_PURGE_DELAY_NANOS;
    private volatile long dirtyLimitPages = DEFAULT_DIRTY_LIMIT_PAGES;
    private final Purger.Ticket purger = new Purger.Ticket(this::idlePurge);
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
        new FreeRuns(table).link(1 + metaPages, (int) (capacityPages - 1 - metaPages), false);
    }

    private static int ptr(final int page) {
        return page << Geometry.PAGE_SHIFT;
    }

    // ---------------------------------------------------------------- allocation

    /** {@code allocPages}: the pointer of {@code n} contiguous zeroed pages, or 0. */
    public int allocPages(final int n) {
        return allocPages(n, true);
    }

    /**
     * {@code allocPages} with {@code zero == false}: the pages may hold what their previous owner
     * left (for callers that overwrite every byte).
     */
    public int allocPages(final int n, final boolean zero) {
        if (n <= 0 || n > userPages) {
            return 0;
        }
        final int cached = cache.pop(n, zero);
        if (cached != 0) {
            table.getAndAddLong(allocations, 1);
            return ptr(cached);
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            table.getAndAddLong(FAILED, 1);
            return 0;
        }
        try {
            int page = allocFromRuns(n, zero);
            if (page == 0 && table.repairPending()) {
                recoverLocked();
                page = allocFromRuns(n, zero);
            }
            if (page == 0 && flushOwnCache()) {
                page = allocFromRuns(n, zero);
            }
            if (page == 0 && takeOtherCaches()) {
                // FREE is free for everyone: spans parked in other processes' caches serve this call.
                page = allocFromRuns(n, zero);
            }
            if (page == 0 && table.getLongVolatile(DIRTY_PAGES) > 0) {
                // A full file system may fail a commit that the storage dirty pages keep would serve.
                purgeAll();
                page = allocFromRuns(n, zero);
            }
            table.getAndAddLong(page == 0 ? FAILED : allocations, 1);
            return page == 0 ? 0 : ptr(page);
        } finally {
            release(held);
        }
    }

    /**
     * {@code allocPagesInto}: {@code n} zeroed pages whose pointer this call stores into the int at arena
     * offset {@code dest} (one CAS from 0) while the lock and an {@link Intent#ALLOC_INTO} intent still
     * cover the range. A process killed at any instant leaves either the word 0 and the pages free
     * (rolled back by repair), or the pointer in the word and the pages allocated (rolled forward: the
     * repair sees the pointer in the word), never pages no one can find. Always takes the lock and
     * the lists (no span cache): for structures that publish their pages, not for hot paths.
     *
     * @param dest arena offset of a 4-byte-aligned int inside the mapping (the caller checks it)
     * @return the pointer, or 0: no room, the lock was not had in time, or the word did not hold 0
     * (then nothing stays allocated)
     */
    public int allocPagesInto(final int n, final long dest) {
        if (n <= 0 || n > userPages) {
            return 0;
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            table.getAndAddLong(FAILED, 1);
            return 0;
        }
        try {
            int page = intoFromRuns(n, dest);
            if (page == 0 && table.repairPending()) {
                recoverLocked();
                page = intoFromRuns(n, dest);
            }
            if (page == 0 && destFree(dest) && flushOwnCache()) {
                page = intoFromRuns(n, dest);
            }
            if (page == 0 && destFree(dest) && takeOtherCaches()) {
                page = intoFromRuns(n, dest);
            }
            if (page == 0 && destFree(dest) && table.getLongVolatile(DIRTY_PAGES) > 0) {
                purgeAll();
                page = intoFromRuns(n, dest);
            }
            table.getAndAddLong(page == 0 ? FAILED : allocations, 1);
            return page == 0 ? 0 : ptr(page);
        } finally {
            release(held);
        }
    }

    private boolean destFree(final long dest) {
        return table.getIntVolatile(dest) == 0;
    }

    /** One attempt of {@link #allocPagesInto} from the lists (lock held): the first page, or 0. */
    private int intoFromRuns(final int n, final long dest) {
        if (!destFree(dest)) {
            return 0;
        }
        final int head = runs.bestFit(n);
        if (head == 0 || !quotaAllows(n)) {
            return 0;
        }
        if (!allFree(head, n)) {
            table.corrupt();
            return 0;
        }
        // The destination goes first: an ALLOC_INTO intent always names the word it publishes to.
        table.setLongRelease(INTENT_DEST, dest);
        publishTo = dest;
        return take(head, runs.validRun(head), head, n, Intent.ALLOC_INTO, true) ? head : 0;
    }

    private int allocFromRuns(final int n, final boolean zero) {
        if (n < REFILL_PAGES && RegistryLayout.cacheClassOf(n) >= 0 && !holeSmallerThanGroup(n)) {
            final int page = refill(n, zero);
            if (page != 0) {
                return page;
            }
            // No run of a whole group, or the quota: the exact size, as for any other.
        }
        final int head = runs.bestFit(n);
        if (head == 0 || !quotaAllows(n)) {
            return 0;
        }
        if (!allFree(head, n)) {
            // The lists name pages that are not FREE: never hand them out.
            table.corrupt();
            return 0;
        }
        return take(head, runs.validRun(head), head, n, Intent.ALLOC, zero) ? head : 0;
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
        final long tagged = PageEntry.state(PageEntry.CACHED, 0, slot, n);
        final long cached = PageEntry.state(PageEntry.CACHED, 0, slot, 0);
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
    private boolean take(final int head, final int len, final int at, final int n, final int op, final boolean zero) {
        table.setLongRelease(INTENT, Intent.encode(op, at, n));
        CrashPoints.at(AllocPoint.TAKE_INTENT_WRITTEN);
        boolean runDirty = runs.runDirty(head);
        long dirtyTaken = 0;
        if (op != Intent.RESERVE) {
            if (runDirty) {
                dirtyTaken = MaximalRuns.forEach(at, at + n, dirtyPage, zero ? zeroDirty : NO_SINK);
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
            purgeRange(at, n);
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
            table.getAndAddLong(DIRTY_PAGES, -dirtyTaken);
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
        if (table.casInt(publishTo, 0, ptr(at))) {
            CrashPoints.at(AllocPoint.TAKE_PUBLISHED);
            return true;
        }
        table.setLongRelease(INTENT, Intent.encode(Intent.ALLOC, at, n));
        CrashPoints.at(AllocPoint.TAKE_UNPUBLISHED);
        freeLocked(at, n);
        table.setLongRelease(INTENT, Intent.encode(Intent.NONE, 0, 0));
        return false;
    }

    private static final SpanCache.SpanSink NO_SINK = (p, k) -> { };

    private boolean dirtyPage(final int p) {
        return (PageEntry.flagsOf(table.stateAcquire(p)) & PageEntry.DIRTY) != 0;
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
        if (purgeDelayNanos == 0 || end - from < 1 || !backing.commit(from, end - from)) {
            return false; // nothing ahead, no delay, or no space: the allocation itself is committed
        }
        table.setStateRelease(head, table.stateAcquire(head) | PageEntry.RUN_DIRTY);
        for (int p = from; p < end; p++) {
            table.setStateRelease(p, table.stateAcquire(p) | PageEntry.DIRTY);
        }
        CrashPoints.at(AllocPoint.TAKE_AHEAD_COMMITTED);
        noteDirty(end - from);
        return true;
    }

    private boolean quotaAllows(final int n) {
        final long quota = table.getLongVolatile(QUOTA);
        if (quota <= 0) {
            return true;
        }
        final long held = userPages - table.getLongVolatile(TREE_FREE) - table.getLongVolatile(RESERVED_PAGES);
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
            table.getAndAddLong(FAILED, 1);
            return 0;
        }
        try {
            final boolean ok = takeRange(page, n, Intent.ALLOC);
            table.getAndAddLong(ok ? allocations : FAILED, 1);
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
        return take(head, len, page, n, op, true);
    }

    private boolean allFree(final int page, final int n) {
        for (int p = page; p < page + n; p++) {
            if (PageEntry.stateOf(table.stateAcquire(p)) != PageEntry.FREE) {
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
        if (!publishedUnsettled(page, count) && cache.push(page, count)) {
            table.getAndAddLong(frees, 1);
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
            table.getAndAddLong(DEFERRED, 1);
        }
        table.getAndAddLong(frees, 1);
    }

    /**
     * {@code freePagesFrom}: takes the pointer out of the int at arena offset {@code word} (one CAS to 0)
     * and frees its {@code n} pages, under a {@link Intent#FREE_FROM} intent that names the word, so
     * that a process killed at any instant leaves the word holding the pointer and the pages allocated
     * (nothing done), or the word cleared and the pages freed by the repair: never a cleared word
     * with its pages allocated for good.
     *
     * @return whether the word held the pointer of {@code n} user pages and they were freed; false
     * with nothing changed when it did not (0, or a range outside the user pages), when another
     * writer changed it meanwhile, or when the lock could not be had in time
     */
    public boolean freePagesFrom(final long word, final int n) {
        if (n <= 0 || n > userPages) {
            return false;
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            return false;
        }
        try {
            final int ptr = table.getIntVolatile(word);
            final int page = validRange(ptr, n);
            if (page == 0) {
                return false;
            }
            table.setLongRelease(INTENT_DEST, word);
            table.setLongRelease(INTENT, Intent.encode(Intent.FREE_FROM, page, n));
            CrashPoints.at(AllocPoint.FREE_FROM_INTENT_WRITTEN);
            final boolean taken = table.casInt(word, ptr, 0);
            if (taken) {
                CrashPoints.at(AllocPoint.FREE_FROM_WORD_CLEARED);
                freeLocked(page, n);
                table.getAndAddLong(frees, 1);
            }
            table.setLongRelease(INTENT, Intent.encode(Intent.NONE, 0, 0));
            if (taken) {
                CrashPoints.at(AllocPoint.FREE_FROM_DONE);
            }
            return taken;
        } finally {
            release(held);
        }
    }

    /**
     * @return whether {@code [page, page + count)} overlaps the range of an ALLOC_INTO or FREE_FROM intent
     * still up: pages another process has published (or is publishing) into a word, or is taking out
     * of one, and not yet settled. Such a
     * free must not go into a span cache: if the publisher died, its intent is resolved by the next
     * lock holder from what the word then holds, and pages freed and taken back through a cache
     * meanwhile would be rolled back from under their new owner. The locked way (or the pending
     * list, drained after the repair) is resolved in order.
     */
    private boolean publishedUnsettled(final int page, final int count) {
        final long intent = table.getLongVolatile(INTENT);
        // FREE_FROM as well: a dead free-er's intent is rolled forward (its range's ALLOCATED pages
        // freed) once its word no longer holds the pointer, which is so when another process took the
        // pointer out of the word and freed it: through a cache, they could be someone's again by then.
        if (Intent.op(intent) != Intent.ALLOC_INTO && Intent.op(intent) != Intent.FREE_FROM) {
            return false;
        }
        final long first = Integer.toUnsignedLong(Intent.first(intent));
        return page < first + Intent.pages(intent) && first < (long) page + count;
    }

    /**
     * Frees the ALLOCATED and RESERVED pages of the range, leaving the others alone (lock held). Each
     * page is first taken by CAS to PENDING with this slot and {@link PageEntry#FREEING}, so that if
     * this process dies the repair frees exactly the pages this free had taken (they name a dead
     * slot), never a page it skipped and someone else got meanwhile; no intent is needed. Each
     * contiguous run of taken pages is then set FREE (DIRTY unless it was reserved) and merged.
     */
    private void freeLocked(final int page, final int count) {
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
        final int dirty = MaximalRuns.forEach(page, page + n, dirtyPage, NO_SINK);
        runs.insert(page, n, dirty > 0);
        if (dirty > 0) {
            noteDirty(dirty);
            if (purgeDelayNanos == 0) {
                purgeRange(page, n);
            }
        }
    }

    /** {@code n} more pages are dirty (lock held): the first after none starts the decay clock. */
    private void noteDirty(final long n) {
        if (table.getAndAddLong(DIRTY_PAGES, n) <= 0) {
            table.setLongRelease(DIRTY_SINCE, System.nanoTime() | 1);
        }
    }

    private void drainPending() {
        if (!pending.isEmpty()) {
            table.getAndAddLong(RESERVED_PAGES, -pending.drainTo(toRuns));
        }
    }

    /** Returns this process's cached spans to the best-fit lists (lock held). @return whether any */
    private boolean flushOwnCache() {
        return cache.takeAll(slot, toRuns) > 0;
    }

    // ---------------------------------------------------------------- purging dirty pages

    /**
     * Sets how long dirty free pages may stay committed ({@code 0}: punched as they are freed) and how
     * many may ({@code limitPages}), and starts this attachment's idle purge (a daemon task that
     * purges when the delay is up and nobody took the lock to do it).
     */
    public void configurePurge(final long delayNanos, final long limitPages) {
        if (delayNanos < 0 || limitPages < 0) {
            throw new IllegalArgumentException("purge delay and dirty limit must not be negative: delayNanos="
                + delayNanos + ", limitPages=" + limitPages);
        }
        purgeDelayNanos = delayNanos;
        dirtyLimitPages = limitPages;
        Purger.schedule(purger, delayNanos);
    }

    /** Stops the idle purge and waits for a run in progress: before the arena is unmapped. */
    public void stopPurger() {
        purger.cancel();
    }

    /** @return FREE pages whose storage is still committed (read without the lock) */
    public long dirtyPages() {
        return table.getLongVolatile(DIRTY_PAGES);
    }

    /**
     * {@code purge}: returns every dirty free page's storage to the operating system now.
     *
     * @return false if the lock stayed busy for the lock timeout (nothing was purged)
     */
    public boolean purge() {
        final int held = acquire();
        if (held == NOT_HELD) {
            return false;
        }
        try {
            purgeAll();
            return true;
        } finally {
            release(held);
        }
    }

    /** The idle purge (a daemon thread): one try of the lock, only when a purge is due. */
    private void idlePurge() {
        if (!purgeDue() || !lock.tryAcquireFast()) {
            return; // nothing due, or the lock is busy: its holder purges when it releases
        }
        try {
            enterLocked();
            purgeAll();
        } finally {
            release(HELD);
        }
    }

    /** @return whether the dirty pages are over the limit, or the oldest has waited the delay out */
    private boolean purgeDue() {
        final long dirty = table.getLongVolatile(DIRTY_PAGES);
        if (dirty <= 0) {
            return false;
        }
        final long since = table.getLongVolatile(DIRTY_SINCE);
        // since == 0 with dirty pages: a holder died between the two words; purge.
        return dirty > dirtyLimitPages || since == 0 || System.nanoTime() - since >= purgeDelayNanos;
    }

    /**
     * Punches out every dirty page in the lists (lock held): the runs marked RUN_DIRTY are walked and
     * their dirty pages punched, one call per contiguous stretch, until the count is used up.
     */
    private void purgeAll() {
        purgeLeft = table.getLongVolatile(DIRTY_PAGES);
        for (int b = 0; b < ControlLayout.BUCKETS && purgeLeft > 0; b++) {
            int steps = 0;
            for (int h = runs.head(b); h != 0 && purgeLeft > 0; ) {
                final int len = runs.validRun(h);
                if (len == 0 || ++steps > table.capacity) {
                    table.corrupt(); // a repair follows before unlock; it punches every free run
                    break;
                }
                final int next = PageEntry.nextOf(table.linkPlain(h));
                if (runs.runDirty(h)) {
                    // In slices, so that a long run (the fresh tail of a large arena) is read only
                    // as far as its dirty pages go.
                    for (int q = h; q < h + len && purgeLeft > 0; q += PURGE_SLICE) {
                        purgeRange(q, Math.min(PURGE_SLICE, h + len - q));
                    }
                    table.setStateRelease(h, table.stateAcquire(h) & ~(long) PageEntry.RUN_DIRTY);
                }
                h = next;
            }
        }
        table.setLongRelease(DIRTY_PAGES, 0);
        table.setLongRelease(DIRTY_SINCE, 0);
        CrashPoints.at(AllocPoint.PURGE_DONE);
    }

    /** Punches out the dirty pages of {@code [first, first + n)}, FREE pages in the lists (lock held). */
    private void purgeRange(final int first, final int n) {
        MaximalRuns.forEach(first, first + n, undirty, purgeRun);
    }

    /**
     * A dirty page loses its bit before its storage is punched: a page never says DIRTY over a hole (a
     * page that holds data without the bit is made clean when handed out). @return whether it was dirty
     */
    private boolean undirty(final int p) {
        final long w = table.stateAcquire(p);
        if ((PageEntry.flagsOf(w) & PageEntry.DIRTY) == 0) {
            return false;
        }
        table.setStateRelease(p, w & ~(long) PageEntry.DIRTY);
        return true;
    }

    private void purgeRun(final int first, final int n) {
        CrashPoints.at(AllocPoint.PURGE_RUN_CLEANED);
        backing.release(first, n);
        table.getAndAddLong(DIRTY_PAGES, -n);
        purgeLeft -= n;
        CrashPoints.at(AllocPoint.PURGE_RUN_PUNCHED);
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
            if (purgeDue()) {
                purgeAll();
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
        table.getAndAddLong(RECOVERIES, 1);
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
        stopPurger();
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
            // Nothing stays committed for an attachment that will not be there to purge it.
            purgeAll();
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
        final int s = PageEntry.stateOf(table.stateAcquire((int) page));
        return s == PageEntry.CACHED ? PageEntry.FREE : s;
    }

    public void setQuota(final long pages) {
        table.setLongRelease(QUOTA, Math.max(0, pages));
    }
}
