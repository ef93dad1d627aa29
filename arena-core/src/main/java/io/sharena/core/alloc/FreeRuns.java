package io.sharena.core.alloc;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;

/**
 * The best-fit structure: maximal runs of FREE pages, kept in one doubly linked list per size
 * class ({@link ControlLayout#bucketOf}), each list sorted by address. Only the lock holder touches
 * it.
 *
 * <p>A run of {@code len} pages starting at {@code head} has {@code RUN = len} in the STATE words of
 * its first and last page (boundary tags) and its list links in the first page's LINK word. Runs are
 * always coalesced, so a FREE page left of a freed range is the last page of its run, and one right
 * of it the first.
 *
 * <p>Best fit: exact classes (1..32 pages) hold runs of one size, so the first non-empty class at or
 * above {@code n} holds the best size and its head is the lowest address; in the power-of-two
 * classes every run of the class is scanned for the smallest that fits, the first such in address
 * order winning ties. A class above holds only larger runs, so the search stops at the first class
 * that yields a run.
 *
 * <p>Crash model: a holder killed halfway leaves lists that may not match the page states; the
 * states are the truth, and {@link Recovery} rebuilds the lists from them.
 *
 * <p>Distrust: every head, link and boundary tag read here is checked (a user page, a FREE run of
 * user pages, of its list's class) and every walk is bounded by the page count; a bad value marks
 * the arena for repair and the walk or merge stops there, so nothing outside a real free run is
 * handed out, and the holder's repair relinks the lists before it unlocks.
 */
final class FreeRuns {
    private static final long TREE_FREE = ControlLayout.word(ControlLayout.TREE_FREE_PAGES);

    private final PageTable table;

    FreeRuns(final PageTable table) {
        this.table = table;
    }

    int head(final int bucket) {
        return table.getIntPlain(ControlLayout.bucketHead(bucket));
    }

    private void setHead(final int bucket, final int page) {
        table.setIntPlain(ControlLayout.bucketHead(bucket), page);
    }

    /** @return the first page of the best-fitting run for {@code n} pages (checked: a FREE run of at least n user pages), or 0 */
    int bestFit(final int n) {
        int b = ControlLayout.bucketOf(n);
        for (; b < ControlLayout.EXACT_BUCKETS; b++) {
            final int h = head(b);
            if (h != 0) {
                if (validRun(h) == b + 1) {
                    return h;
                }
                table.corrupt(); // a head that is not a run of its class: skip the class, repair relinks
            }
        }
        final int budget = table.capacity;
        for (; b < ControlLayout.BUCKETS; b++) {
            int best = 0;
            int bestLen = Integer.MAX_VALUE;
            int steps = 0;
            for (int h = head(b); h != 0; h = PageEntry.nextOf(table.linkPlain(h))) {
                final int len = validRun(h);
                if (len == 0 || ControlLayout.bucketOf(len) != b || ++steps > budget) {
                    table.corrupt(); // out of range, not a run of this class, or a cycle: stop here
                    break;
                }
                if (len >= n && len < bestLen) {
                    best = h;
                    bestLen = len;
                }
            }
            if (best != 0) {
                return best;
            }
        }
        return 0;
    }

    /**
     * @return the length of the free run headed by {@code h}, or 0 if {@code h} does not head one:
     * {@code h} FREE with a length inside the user pages, and the run's last page FREE with the same
     * length (a run in the lists carries its length at both ends). Without the second tag, a stray
     * write that left a page FREE-looking with a length, or an interior page's stale tag next to a
     * page made not FREE, passed for a run over allocated pages: its carve wrote the remainder's
     * tags over them and they were handed out again.
     */
    int validRun(final int h) {
        if (!table.userPage(h)) {
            return 0;
        }
        final long w = table.stateAcquire(h);
        final int len = PageEntry.runOf(w);
        if (PageEntry.stateOf(w) != PageEntry.FREE || !table.userSpan(h, len)) {
            return 0;
        }
        if (len > 1) {
            final long t = table.stateAcquire(h + len - 1);
            if (PageEntry.stateOf(t) != PageEntry.FREE || PageEntry.runOf(t) != len) {
                return 0;
            }
        }
        return len;
    }

    /**
     * @return the first page of the free run that contains {@code page}, or 0 if {@code page} is not
     * FREE; walks left over at most {@code 64} pages, then searches the lists
     */
    int runContaining(final int page) {
        if (PageEntry.stateOf(table.stateAcquire(page)) != PageEntry.FREE) {
            return 0;
        }
        int p = page;
        for (int i = 0; i < 64; i++) {
            final long w = table.stateAcquire(p);
            final int run = PageEntry.runOf(w);
            if (run > 0 && isHead(p, run)) {
                if (validRun(p) != run || page - p >= run) {
                    table.corrupt(); // a head whose tags do not make a run over the page: the lists lie
                    return 0;
                }
                return p;
            }
            if (p == table.firstUser || PageEntry.stateOf(table.stateAcquire(p - 1)) != PageEntry.FREE) {
                return p;
            }
            p--;
        }
        for (int b = 0; b < ControlLayout.BUCKETS; b++) {
            int steps = 0;
            for (int h = head(b); h != 0; h = PageEntry.nextOf(table.linkPlain(h))) {
                final int len = validRun(h);
                if (len == 0 || ++steps > table.capacity) {
                    table.corrupt();
                    break;
                }
                if (h <= page && page - h < len) {
                    return h;
                }
            }
        }
        return 0;
    }

    private boolean isHead(final int p, final int run) {
        // A head's left neighbour is not FREE (runs are maximal); a tail's is FREE unless run == 1.
        return p == table.firstUser || PageEntry.stateOf(table.stateAcquire(p - 1)) != PageEntry.FREE;
    }

    /** Unlinks the run at {@code head} of {@code len} pages from its list. */
    void remove(final int head, final int len) {
        final long link = table.linkPlain(head);
        final int prev = PageEntry.prevOf(link);
        final int next = PageEntry.nextOf(link);
        if ((prev != 0 && !table.userPage(prev)) || (next != 0 && !table.userPage(next))
            || (prev == 0 ? head(ControlLayout.bucketOf(len)) : PageEntry.nextOf(table.linkPlain(prev))) != head) {
            // A link out of range, or a run its list does not hold where its links say (tags a stray
            // write left standing): do not follow them. The lists are now wrong; the repair that the
            // mark brings (before this holder unlocks) rebuilds them from the page states.
            table.corrupt();
            table.getAndAddLong(TREE_FREE, -len);
            return;
        }
        if (prev == 0) {
            setHead(ControlLayout.bucketOf(len), next);
        } else {
            table.setLinkPlain(prev, PageEntry.link(PageEntry.prevOf(table.linkPlain(prev)), next));
        }
        if (next != 0) {
            table.setLinkPlain(next, PageEntry.link(prev, PageEntry.nextOf(table.linkPlain(next))));
        }
        table.getAndAddLong(TREE_FREE, -len);
    }

    /**
     * Tags and links a run whose pages are all FREE, without coalescing. The first and last page keep
     * their own {@link PageEntry#DIRTY} bit; the first gets {@link PageEntry#RUN_DIRTY} if
     * {@code runDirty}.
     */
    void link(final int head, final int len, final boolean runDirty) {
        if (PageEntry.stateOf(table.stateAcquire(head)) != PageEntry.FREE
            || PageEntry.stateOf(table.stateAcquire(head + len - 1)) != PageEntry.FREE) {
            // Tags are never written over a page that is not FREE: a run a stray write stretched over
            // allocated pages would otherwise hand them out. Left out of the lists, for the repair.
            table.corrupt();
            return;
        }
        final int headFlags = (PageEntry.flagsOf(table.stateAcquire(head)) & PageEntry.DIRTY)
            | (runDirty ? PageEntry.RUN_DIRTY : 0);
        table.setStateRelease(head, PageEntry.state(PageEntry.FREE, headFlags, 0, len));
        if (len > 1) {
            final int tailFlags = PageEntry.flagsOf(table.stateAcquire(head + len - 1)) & PageEntry.DIRTY;
            table.setStateRelease(head + len - 1, PageEntry.state(PageEntry.FREE, tailFlags, 0, len));
        }
        final int bucket = ControlLayout.bucketOf(len);
        int prev = 0;
        int next = head(bucket);
        int steps = 0;
        while (next != 0 && next < head) {
            if (!table.userPage(next) || ++steps > table.capacity) {
                table.corrupt();
                next = 0;
                break;
            }
            prev = next;
            next = PageEntry.nextOf(table.linkPlain(next));
        }
        if (next != 0 && !table.userPage(next)) {
            table.corrupt();
            next = 0;
        }
        table.setLinkPlain(head, PageEntry.link(prev, next));
        if (prev == 0) {
            setHead(bucket, head);
        } else {
            table.setLinkPlain(prev, PageEntry.link(PageEntry.prevOf(table.linkPlain(prev)), head));
        }
        if (next != 0) {
            table.setLinkPlain(next, PageEntry.link(head, PageEntry.nextOf(table.linkPlain(next))));
        }
        table.getAndAddLong(TREE_FREE, len);
    }

    /** @return whether the run headed by {@code head} may hold {@link PageEntry#DIRTY} pages */
    boolean runDirty(final int head) {
        return (PageEntry.flagsOf(table.stateAcquire(head)) & PageEntry.RUN_DIRTY) != 0;
    }

    /**
     * Adds the FREE pages {@code [first, first + len)} to the lists, merged with free neighbours;
     * {@code dirty}: some of them are {@link PageEntry#DIRTY}.
     */
    void insert(final int first, final int len, final boolean dirty) {
        int start = first;
        int total = len;
        boolean runDirty = dirty;
        if (first > table.firstUser) {
            final long left = table.stateAcquire(first - 1);
            if (PageEntry.stateOf(left) == PageEntry.FREE) {
                final int leftLen = PageEntry.runOf(left);
                if (validRun(first - leftLen) == leftLen && leftLen > 0) {
                    runDirty |= runDirty(first - leftLen);
                    remove(first - leftLen, leftLen);
                    start = first - leftLen;
                    total += leftLen;
                } else {
                    table.corrupt(); // an untagged or mistagged free neighbour: do not merge, repair will
                }
            }
        }
        final int right = first + len;
        if (right < table.capacity) {
            final long rw = table.stateAcquire(right);
            if (PageEntry.stateOf(rw) == PageEntry.FREE) {
                final int rightLen = PageEntry.runOf(rw);
                if (validRun(right) == rightLen && rightLen > 0) {
                    runDirty |= runDirty(right);
                    remove(right, rightLen);
                    total += rightLen;
                } else {
                    table.corrupt();
                }
            }
        }
        link(start, total, runDirty);
    }

    /**
     * Takes {@code [at, at + n)} out of the run at {@code head} of {@code len} pages, giving the pages
     * the STATE word {@code taken}; the parts left and right of it stay in the lists, each marked
     * {@link PageEntry#RUN_DIRTY} if the run was ({@code runDirty}).
     */
    void carve(final int head, final int len, final int at, final int n, final long taken, final boolean runDirty) {
        remove(head, len);
        for (int p = at; p < at + n; p++) {
            table.setStateRelease(p, taken);
        }
        if (at > head) {
            link(head, at - head, runDirty);
        }
        final int end = head + len;
        if (at + n < end) {
            link(at + n, end - (at + n), runDirty);
        }
    }

    /** Empties every list; the caller relinks the runs. */
    void clear() {
        for (int b = 0; b < ControlLayout.BUCKETS; b++) {
            setHead(b, 0);
        }
        table.setLongRelease(TREE_FREE, 0);
    }
}
