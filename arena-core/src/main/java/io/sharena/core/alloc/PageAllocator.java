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
 * best-fit lists under the lock, or the pending-free list, and owns the locked region (its one
 * way in, its release, repair). Under the lock, {@link ListAllocator} takes pages from the lists,
 * {@link ListFrees} puts them back, and {@link DirtyPages} counts and purges committed free pages.
 */
public final class PageAllocator {
    public static final int RESERVE_OK = 0;
    public static final int RESERVE_INVALID = 1;
    public static final int RESERVE_BUSY = 2;

    private static final long INTENT = ControlLayout.word(ControlLayout.INTENT);
    private static final long INTENT_DEST = ControlLayout.word(ControlLayout.INTENT_DEST);
    private static final long QUOTA = ControlLayout.word(ControlLayout.QUOTA_PAGES);
    private static final long DEFERRED = ControlLayout.counter(ControlLayout.C_DEFERRED_FREES);
    private static final long RECOVERIES = ControlLayout.counter(ControlLayout.C_RECOVERIES);
    private static final long FAILED = ControlLayout.counter(ControlLayout.C_FAILED_ALLOCATIONS);
    /** Default {@link #configurePurge} delay: dirty pages go back to the OS about a second after the oldest. */
    public static final long DEFAULT_PURGE_DELAY_NANOS = 1_000_000_000L;
    /** Default high-water mark: more dirty free pages than this (64 MiB) are purged at once. */
    public static final long DEFAULT_DIRTY_LIMIT_PAGES = 16_384;

    private static final int NOT_HELD = 0;
    private static final int HELD = 1;
    private static final int HELD_ALREADY = 2;

    private final PageTable table;
    private final FreeRuns runs;
    private final SpanCache cache;
    private final PendingFrees pending;
    private final Backing backing;
    private final Recovery recovery;
    private final DirtyPages dirty;
    private final ListFrees freeing;
    private final ListAllocator lists;
    private final ArenaLock lock;
    private final int slot;
    private final long lockTimeoutNanos;
    private final long userPages;
    /** This process's call counters, in its registry slot: see {@link RegistryLayout#ALLOCATIONS}. */
    private final long allocations;
    private final long frees;
    /** This process's {@link RegistryLayout#REPAIR_EPOCH}. */
    private final long repairEpoch;
    private final Purger.Ticket purger = new Purger.Ticket(this::idlePurge);
    /**
     * The pages the structures on the arena hold, read from them (null: none known), for a repair
     * not given them: see {@link #structuresHold}.
     */
    private java.util.function.Supplier<java.util.BitSet> structuresHold = () -> null;
    /** What the last repair by this attachment could not fix; see {@link #repairNotes()}. */
    private volatile List<String> repairNotes = List.of();

    public PageAllocator(final MemorySegment arena, final NativeFile file, final long capacityPages,
                         final int metaPages, final ProcessRegistry registry, final ArenaLock lock, final int slot,
                         final long lockTimeoutNanos) {
        this.table = new PageTable(arena, 1 + metaPages, (int) capacityPages);
        this.runs = new FreeRuns(table);
        this.cache = new SpanCache(table, slot, (page, count) -> freeSlow(page, count, false));
        this.pending = new PendingFrees(table, slot);
        this.backing = new Backing(file, table);
        this.recovery = new Recovery(table, runs, cache, registry, backing);
        this.dirty = new DirtyPages(table, runs, backing);
        this.freeing = new ListFrees(table, runs, cache, pending, dirty, slot);
        this.userPages = capacityPages - 1 - metaPages;
        this.lists = new ListAllocator(table, runs, cache, backing, dirty, freeing, slot, userPages);
        this.lock = lock;
        this.slot = slot;
        this.lockTimeoutNanos = lockTimeoutNanos;
        this.allocations = RegistryLayout.field(slot, RegistryLayout.ALLOCATIONS);
        this.frees = RegistryLayout.field(slot, RegistryLayout.FREES);
        this.repairEpoch = RegistryLayout.field(slot, RegistryLayout.REPAIR_EPOCH);
    }

    /**
     * Lays out a fresh arena's free lists: all user pages in one run. The page table is all zeros,
     * which already says FREE; only the run's two boundary tags and one list head are written.
     */
    public static void format(final MemorySegment arena, final long capacityPages, final int metaPages) {
        final PageTable table = new PageTable(arena, 1 + metaPages, (int) capacityPages);
        new FreeRuns(table).link(1 + metaPages, (int) (capacityPages - 1 - metaPages), false);
    }

    static int ptr(final int page) {
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
        return allocLocked(n, zero, NO_WORD);
    }

    /** {@link #allocLocked}'s word for a plain allocation: none. */
    private static final long NO_WORD = -1;

    /**
     * The locked part of {@code allocPages} ({@code word} {@link #NO_WORD}) and {@code allocPagesInto}:
     * an attempt from the lists, then again after each way of making room (a pending repair, this
     * process's cache, other processes' caches, a purge), for as long as an allocation into a word
     * still finds the word free.
     */
    private int allocLocked(final int n, final boolean zero, final long word) {
        final int held = acquire();
        if (held == NOT_HELD) {
            table.getAndAddLong(FAILED, 1);
            return 0;
        }
        try {
            int page = attempt(n, zero, word);
            if (page == 0 && table.repairPending()) {
                recoverLocked();
                page = attempt(n, zero, word);
            }
            if (page == 0 && worthRetrying(word) && freeing.flushOwnCache()) {
                page = attempt(n, zero, word);
            }
            if (page == 0 && worthRetrying(word) && freeing.takeOtherCaches()) {
                // FREE is free for everyone: spans parked in other processes' caches serve this call.
                page = attempt(n, zero, word);
            }
            if (page == 0 && worthRetrying(word) && dirty.count() > 0) {
                // A full file system may fail a commit that the storage dirty pages keep would serve.
                dirty.purgeAll();
                page = attempt(n, zero, word);
            }
            table.getAndAddLong(page == 0 ? FAILED : allocations, 1);
            return page == 0 ? 0 : ptr(page);
        } finally {
            release(held);
        }
    }

    private int attempt(final int n, final boolean zero, final long word) {
        return word == NO_WORD ? lists.allocFromRuns(n, zero) : lists.intoFromRuns(n, word);
    }

    /** @return whether making room can still help: always, unless the word to publish to is taken */
    private boolean worthRetrying(final long word) {
        return word == NO_WORD || lists.destFree(word);
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
        return allocLocked(n, true, dest);
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
        if (!lists.allFree(page, n) && (!freeing.takeCachesTouching(page, n) || !lists.allFree(page, n))) {
            // A page that is allocated, reserved, pending, or cached but in transit (its owner is
            // popping or pushing it right now): not FREE at this instant.
            return false;
        }
        if (op == Intent.ALLOC && !lists.quotaAllows(n)) {
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
        return lists.take(head, len, page, n, op, true);
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
        // Counted first: a repair by this process takes a slot that has counted nothing for idle,
        // and a CACHED page naming an idle slot for a stray write's (see Recovery.idle).
        table.getAndAddLong(frees, 1);
        if (publishedUnsettled(page, count) || !cache.push(page, count)) {
            // Only the sizes a group refill serves leave a stack spans no free put there.
            freeSlow(page, count, count < ListAllocator.REFILL_PAGES && cache.full(count));
        }
    }

    /**
     * The part of {@code freePages} past the span cache: under the lock if one CAS takes it (or this
     * thread holds it), else on the pending list. Never waits.
     *
     * @param cacheFull the span is of a cache size whose stack is at its limit: with the lock, this
     *                  process's stack of that size goes back to the lists too (its other stacks stay). What it holds is older than
     *                  the frees the full stack turns away (a group refill's tail above all), so
     *                  without this the stack's spans would be handed out before the holes those
     *                  frees leave in the lists, at lower addresses: best fit, lowest address first,
     *                  holds again from the next allocation the stack cannot serve, and the stack
     *                  takes the next frees
     */
    private void freeSlow(final int page, final int count, final boolean cacheFull) {
        if (lock.tryAcquireFast()) {
            try {
                enterLocked();
                CrashPoints.at(AllocPoint.FREE_LOCK_TAKEN);
                freeing.freeLocked(page, count);
                if (cacheFull) {
                    freeing.flushOwnStack(count);
                }
            } finally {
                release(HELD);
            }
        } else if (lock.isHeldByCurrentThread()) {
            enterLocked();
            freeing.freeLocked(page, count);
            if (cacheFull) {
                freeing.flushOwnStack(count);
            }
            release(HELD_ALREADY);
        } else if (pending.push(page, count) > 0) {
            table.getAndAddLong(DEFERRED, 1);
        }
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
        return freePagesFrom(word, 0, n);
    }

    /**
     * {@link #freePagesFrom(long, int)}, only if the word holds {@code expected} (0: whatever it
     * holds). The word's CAS is from the pointer read, so a writer that puts another pointer there
     * after the read makes the free fail, nothing changed.
     */
    public boolean freePagesFrom(final long word, final int expected, final int n) {
        if (n <= 0 || n > userPages) {
            return false;
        }
        final int held = acquire();
        if (held == NOT_HELD) {
            return false;
        }
        try {
            final int ptr = table.getIntVolatile(word);
            if (expected != 0 && ptr != expected) {
                return false;
            }
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
                freeing.freeLocked(page, n);
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
     * @return whether {@code [page, page + count)} overlaps the range of an ALLOC_INTO or FREE_FROM
     * intent still up: pages another process has published into a word (or taken out of one) and not
     * yet settled. Such a free must not go into a span cache: if that process died, its intent is
     * resolved by the next lock holder from what the word then holds, and pages freed and taken back
     * through a cache meanwhile would be freed by the repair from under their new owner. The locked
     * way (or the pending list, drained after the repair) is resolved in order.
     */
    private boolean publishedUnsettled(final int page, final int count) {
        final long intent = table.getLongVolatile(INTENT);
        final int op = Intent.op(intent);
        if (op != Intent.ALLOC_INTO && op != Intent.FREE_FROM) {
            return false;
        }
        final long first = Integer.toUnsignedLong(Intent.first(intent));
        return page < first + Intent.pages(intent) && first < (long) page + count;
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
        dirty.configure(delayNanos, limitPages);
        Purger.schedule(purger, delayNanos);
    }

    /** Stops the idle purge and waits for a run in progress: before the arena is unmapped. */
    public void stopPurger() {
        purger.cancel();
    }

    /** @return FREE pages whose storage is still committed (read without the lock) */
    public long dirtyPages() {
        return dirty.count();
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
            dirty.purgeAll();
            return true;
        } finally {
            release(held);
        }
    }

    /** The idle purge (a daemon thread): one try of the lock, only when a purge is due. */
    private void idlePurge() {
        if (!dirty.purgeDue() || !lock.tryAcquireFast()) {
            return; // nothing due, or the lock is busy: its holder purges when it releases
        }
        try {
            enterLocked();
            dirty.purgeAll();
        } finally {
            release(HELD);
        }
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
        if ((table.getLongVolatile(repairEpoch) & 1) != 0) {
            // Odd only while a repair runs, and none does while this thread holds the lock: one that
            // died, or a stray write. The repair below opens this process's span cache again.
            table.corrupt();
        }
        if (table.repairPending()) {
            recoverLocked();
        } else {
            freeing.drainPending();
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
            if (dirty.purgeDue()) {
                dirty.purgeAll();
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
        return recoverLocked(null);
    }

    /**
     * Where a repair not given the pages structures hold reads them ({@code io.sharena.core.internal.HeldPages}):
     * called with the lock held, before the repair changes anything.
     */
    public void structuresHold(final java.util.function.Supplier<java.util.BitSet> source) {
        this.structuresHold = source;
    }

    /**
     * Full repair, keeping the pages of {@code heldPages} allocated (see
     * {@link Recovery#reclaimAndRebuild(SpanCache.SpanSink, java.util.BitSet, boolean)}); the caller holds the lock.
     *
     * @param heldPages page numbers a structure holds, or null
     * @return what it could not fix, one line each (empty: the allocator's structures are consistent)
     */
    public List<String> recoverLocked(final java.util.BitSet heldPages) {
        final java.util.BitSet held = heldPages != null ? heldPages : structuresHold.get();
        // An intent is a dead holder's only after a takeover (the lock named it: bit 0 of the
        // repair-pending word, set inside the takeover). With the lock taken free and no takeover
        // recorded, no holder died inside an operation: an intent then is a stray write.
        final long pending = table.beginRepair();
        final List<String> rebuilt;
        try {
            final boolean takenOver = (pending & 1L) != 0;
            recovery.fixIntent(held, takenOver);
            CrashPoints.at(AllocPoint.REPAIR_INTENT_FIXED);
            freeing.drainPending();
            CrashPoints.at(AllocPoint.REPAIR_PENDING_DRAINED);
            // The caches' pages go back by the page-state pass that follows: no need to link them now.
            rebuilt = recovery.reclaimAndRebuild((page, n) -> { }, held, takenOver);
            table.getAndAddLong(RECOVERIES, 1);
            // Only what it read when it began: a walk of another thread or process that met damage
            // while this repair ran leaves its mark for the next.
            table.clearRepairPending(pending);
        } finally {
            table.endRepair();
        }
        // Frees that came while the caches were shut went to the pending list: drained now, as any
        // holder drains (damage it meets marks the arena for the next repair, which a drain inside
        // the repair could not).
        freeing.drainPending();
        final List<String> notFixed = new java.util.ArrayList<>(rebuilt);
        notFixed.addAll(recovery.pendingStillLeft());
        final List<String> left = List.copyOf(notFixed);
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
            freeing.drainPending();
            CrashPoints.at(AllocPoint.DETACH_PENDING_DRAINED);
            freeing.flushOwnCache();
            CrashPoints.at(AllocPoint.DETACH_CACHE_FLUSHED);
            // Nothing stays committed for an attachment that will not be there to purge it.
            dirty.purgeAll();
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
        if (pages < 0) {
            // Clamped to 0, a negative quota lifted the limit: the opposite of what was asked.
            throw new IllegalArgumentException("negative quota: pages=" + pages);
        }
        table.setLongRelease(QUOTA, pages);
    }
}
