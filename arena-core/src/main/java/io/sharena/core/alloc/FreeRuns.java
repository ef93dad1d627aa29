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
        return table.getInt(ControlLayout.bucketHead(bucket));
    }

    private void setHead(final int bucket, final int page) {
        table.setInt(ControlLayout.bucketHead(bucket), page);
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
            for (int h = head(b); h != 0; h = PageEntry.nextOf(table.link(h))) {
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

    /** @return the length of the free run headed by {@code h}, or 0 if {@code h} does not head one */
    int validRun(final int h) {
        if (!table.userPage(h)) {
            return 0;
        }
        final long w = table.state(h);
        final int len = PageEntry.runOf(w);
        return PageEntry.stateOf(w) == PageEntry.FREE && table.userSpan(h, len) ? len : 0;
    }

    /**
     * @return the first page of the free run that contains {@code page}, or 0 if {@code page} is not
     * FREE; walks left over at most {@code 64} pages, then searches the lists
     */
    int runContaining(final int page) {
        if (PageEntry.stateOf(table.state(page)) != PageEntry.FREE) {
            return 0;
        }
        int p = page;
        for (int i = 0; i < 64; i++) {
            final long w = table.state(p);
            final int run = PageEntry.runOf(w);
            if (run > 0 && isHead(p, run)) {
                if (!table.userSpan(p, run) || page - p >= run) {
                    table.corrupt(); // a head whose tag does not cover the page: the lists lie
                    return 0;
                }
                return p;
            }
            if (p == table.firstUser || PageEntry.stateOf(table.state(p - 1)) != PageEntry.FREE) {
                return p;
            }
            p--;
        }
        for (int b = 0; b < ControlLayout.BUCKETS; b++) {
            int steps = 0;
            for (int h = head(b); h != 0; h = PageEntry.nextOf(table.link(h))) {
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
        return p == table.firstUser || PageEntry.stateOf(table.state(p - 1)) != PageEntry.FREE;
    }

    /** Unlinks the run at {@code head} of {@code len} pages from its list. */
    void remove(final int head, final int len) {
        final long link = table.link(head);
        final int prev = PageEntry.prevOf(link);
        final int next = PageEntry.nextOf(link);
        if ((prev != 0 && !table.userPage(prev)) || (next != 0 && !table.userPage(next))) {
            // A link out of range: do not follow it. The lists are now wrong; the repair that the mark
            // brings (before this holder unlocks) rebuilds them from the page states.
            table.corrupt();
            table.addLong(TREE_FREE, -len);
            return;
        }
        if (prev == 0) {
            setHead(ControlLayout.bucketOf(len), next);
        } else {
            table.setLink(prev, PageEntry.link(PageEntry.prevOf(table.link(prev)), next));
        }
        if (next != 0) {
            table.setLink(next, PageEntry.link(prev, PageEntry.nextOf(table.link(next))));
        }
        table.addLong(TREE_FREE, -len);
    }

    /** Tags and links a run whose pages are all FREE, without coalescing. */
    void link(final int head, final int len) {
        table.setState(head, PageEntry.state(PageEntry.FREE, 0, 0, len));
        if (len > 1) {
            table.setState(head + len - 1, PageEntry.state(PageEntry.FREE, 0, 0, len));
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
            next = PageEntry.nextOf(table.link(next));
        }
        if (next != 0 && !table.userPage(next)) {
            table.corrupt();
            next = 0;
        }
        table.setLink(head, PageEntry.link(prev, next));
        if (prev == 0) {
            setHead(bucket, head);
        } else {
            table.setLink(prev, PageEntry.link(PageEntry.prevOf(table.link(prev)), head));
        }
        if (next != 0) {
            table.setLink(next, PageEntry.link(head, PageEntry.nextOf(table.link(next))));
        }
        table.addLong(TREE_FREE, len);
    }

    /** Adds the FREE pages {@code [first, first + len)} to the lists, merged with free neighbours. */
    void insert(final int first, final int len) {
        int start = first;
        int total = len;
        if (first > table.firstUser) {
            final long left = table.state(first - 1);
            if (PageEntry.stateOf(left) == PageEntry.FREE) {
                final int leftLen = PageEntry.runOf(left);
                if (validRun(first - leftLen) == leftLen && leftLen > 0) {
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
            final long rw = table.state(right);
            if (PageEntry.stateOf(rw) == PageEntry.FREE) {
                final int rightLen = PageEntry.runOf(rw);
                if (validRun(right) == rightLen && rightLen > 0 && PageEntry.runOf(table.state(right + rightLen - 1)) == rightLen) {
                    remove(right, rightLen);
                    total += rightLen;
                } else {
                    table.corrupt();
                }
            }
        }
        link(start, total);
    }

    /**
     * Takes {@code [at, at + n)} out of the run at {@code head} of {@code len} pages, giving the pages
     * the STATE word {@code taken}; the parts left and right of it stay in the lists.
     */
    void carve(final int head, final int len, final int at, final int n, final long taken) {
        remove(head, len);
        for (int p = at; p < at + n; p++) {
            table.setState(p, taken);
        }
        if (at > head) {
            link(head, at - head);
        }
        final int end = head + len;
        if (at + n < end) {
            link(at + n, end - (at + n));
        }
    }

    /** Empties every list; the caller relinks the runs. */
    void clear() {
        for (int b = 0; b < ControlLayout.BUCKETS; b++) {
            setHead(b, 0);
        }
        table.setLong(TREE_FREE, 0);
    }
}
