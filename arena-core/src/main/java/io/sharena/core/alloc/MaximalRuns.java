package io.sharena.core.alloc;

/**
 * The one loop that cuts a page range into maximal runs of pages that pass a test: freeing under
 * the lock, pushing on the pending list, draining it, rebuilding the lists and purging all walk a
 * range page by page and act on each contiguous run of pages they took.
 */
final class MaximalRuns {
    private MaximalRuns() {
    }

    /** Decides, page by page in address order, whether a page belongs to the current run (it may change it). */
    interface PageTest {
        boolean take(int page);
    }

    /**
     * Calls {@code sink} once per maximal run of pages in {@code [from, end)} for which {@code test}
     * said yes, in address order; each run is handed over as soon as the first page after it is
     * tested (so a sink acts on a run before the pages after it are looked at).
     *
     * @return the number of pages {@code test} took
     */
    static int forEach(final int from, final int end, final PageTest test, final SpanCache.SpanSink sink) {
        int taken = 0;
        int start = -1;
        for (int p = from; p <= end; p++) {
            final boolean in = p < end && test.take(p);
            if (in && start < 0) {
                start = p;
            } else if (!in && start >= 0) {
                sink.freed(start, p - start);
                taken += p - start;
                start = -1;
            }
        }
        return taken;
    }
}
