package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;

/**
 * FREE pages whose storage is still committed (DIRTY): their count and decay clock in the control
 * page, and the purge that punches their storage out. Freed pages stay committed, for the next
 * allocation to reuse without a {@code fallocate}, until the oldest has waited the purge delay out
 * or there are more than the limit ({@link PageAllocator#configurePurge}); with no delay they are
 * punched as they are freed. Page states and the count change under the arena lock only; the
 * settings, {@link #count} and {@link #purgeDue} are read without it.
 */
final class DirtyPages {
    private static final long DIRTY_PAGES = ControlLayout.word(ControlLayout.DIRTY_PAGES);
    private static final long DIRTY_SINCE = ControlLayout.word(ControlLayout.DIRTY_SINCE);
    /** A purge reads a dirty run's page states this many at a time, stopping when the count is used up. */
    private static final int PURGE_SLICE = 1024;
    /** For walks that only count the pages that pass their test. */
    static final SpanCache.SpanSink NO_SINK = (p, k) -> { };

    private final PageTable table;
    private final FreeRuns runs;
    private final Backing backing;
    final MaximalRuns.PageTest dirtyPage = this::dirtyPage;
    private final MaximalRuns.PageTest undirty = this::undirty;
    private final SpanCache.SpanSink purgeRun = this::purgeRun;
    /** Scratch of the lock holder's purge (only the holder runs the code that uses it). */
    private long purgeLeft;
    private volatile long purgeDelayNanos = PageAllocator.DEFAULT_PURGE_DELAY_NANOS;
    private volatile long dirtyLimitPages = PageAllocator.DEFAULT_DIRTY_LIMIT_PAGES;

    DirtyPages(final PageTable table, final FreeRuns runs, final Backing backing) {
        this.table = table;
        this.runs = runs;
        this.backing = backing;
    }

    /** {@link PageAllocator#configurePurge}'s settings (the caller checked them). */
    void configure(final long delayNanos, final long limitPages) {
        purgeDelayNanos = delayNanos;
        dirtyLimitPages = limitPages;
    }

    /** @return how long dirty free pages may stay committed; 0: they are punched as they are freed */
    long delayNanos() {
        return purgeDelayNanos;
    }

    /** @return FREE pages whose storage is still committed (read without the lock) */
    long count() {
        return table.getLongVolatile(DIRTY_PAGES);
    }

    /** {@code n} dirty pages were handed out (lock held): they are no longer free. */
    void handedOut(final long n) {
        table.getAndAddLong(DIRTY_PAGES, -n);
    }

    boolean dirtyPage(final int p) {
        return (PageEntry.flagsOf(table.stateAcquire(p)) & PageEntry.DIRTY) != 0;
    }

    /** {@code n} more pages are dirty (lock held): the first after none starts the decay clock. */
    void noteDirty(final long n) {
        if (table.getAndAddLong(DIRTY_PAGES, n) <= 0) {
            table.setLongRelease(DIRTY_SINCE, System.nanoTime() | 1);
        }
    }

    /** @return whether the dirty pages are over the limit, or the oldest has waited the delay out */
    boolean purgeDue() {
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
    void purgeAll() {
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
    void purgeRange(final int first, final int n) {
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
}
