package io.sharena.core.alloc;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.TaggedHead;

/**
 * The lock-free list of spans freed while the lock was busy, shared by every process.
 *
 * <p>Push (any process, no lock): each page ALLOCATED or RESERVED → PENDING by CAS, tagged with the
 * pusher's slot (and {@link PageEntry#WAS_RESERVED}); then, per contiguous run of pages it changed,
 * the run's length in its first page and a CAS of the {@link TaggedHead} onto that page. PENDING
 * pages are never handed out.
 *
 * <p>Drain (the lock holder): one CAS takes the whole list and leaves it empty. The holder first
 * re-tags every page of the taken spans with its own slot, then frees span by span. Crash model:
 * a pusher killed before its CAS leaves PENDING pages of a dead slot; a drainer killed midway leaves
 * PENDING pages of its own, dead, slot; {@link Recovery} frees both. Pages a live pusher has marked
 * but not yet pushed carry a live slot and are left alone.
 */
final class PendingFrees {
    private static final long HEAD = ControlLayout.word(ControlLayout.PENDING_HEAD);

    private final PageTable table;
    private final int slot;

    PendingFrees(final PageTable table, final int slot) {
        this.table = table;
        this.slot = slot;
    }

    boolean isEmpty() {
        return TaggedHead.page(table.getLong(HEAD)) == 0;
    }

    /** @return the number of pages marked PENDING and queued */
    int push(final int first, final int n) {
        int queued = 0;
        int runStart = -1;
        for (int p = first; p <= first + n; p++) {
            boolean marked = false;
            if (p < first + n) {
                while (true) {
                    final long w = table.state(p);
                    final int s = PageEntry.stateOf(w);
                    if (s != PageEntry.ALLOCATED && s != PageEntry.RESERVED) {
                        break;
                    }
                    final int flags = s == PageEntry.RESERVED ? PageEntry.WAS_RESERVED : 0;
                    if (table.casState(p, w, PageEntry.state(PageEntry.PENDING, flags, slot, 0))) {
                        marked = true;
                        break;
                    }
                }
            }
            if (marked && runStart < 0) {
                runStart = p;
            } else if (!marked && runStart >= 0) {
                pushRun(runStart, p - runStart);
                queued += p - runStart;
                runStart = -1;
            }
        }
        return queued;
    }

    private void pushRun(final int head, final int len) {
        final long w = table.state(head);
        table.setState(head, PageEntry.state(PageEntry.PENDING, PageEntry.flagsOf(w), slot, len));
        while (true) {
            final long top = table.getLong(HEAD);
            table.setLink(head, PageEntry.link(0, TaggedHead.page(top)));
            // Publishes the run's tag and link to the drainer.
            if (table.casLong(HEAD, top, TaggedHead.next(top, 0, head))) {
                return;
            }
        }
    }

    /**
     * Takes the whole list (lock holder only), re-tags its pages with this slot, and hands each span
     * to {@code sink} after setting its pages FREE.
     *
     * @return the number of RESERVED pages among them
     */
    int drainTo(final SpanCache.SpanSink sink) {
        long top;
        do {
            top = table.getLong(HEAD);
            if (TaggedHead.page(top) == 0) {
                return 0;
            }
        } while (!table.casLong(HEAD, top, TaggedHead.next(top, 0, 0)));
        final int first = TaggedHead.page(top);
        for (int h = first; h != 0; h = PageEntry.nextOf(table.link(h))) {
            final int len = PageEntry.runOf(table.state(h));
            for (int p = h; p < h + len; p++) {
                final long w = table.state(p);
                table.setState(p, PageEntry.state(PageEntry.PENDING, PageEntry.flagsOf(w), slot, p == h ? len : 0));
            }
        }
        int reserved = 0;
        int h = first;
        while (h != 0) {
            final int next = PageEntry.nextOf(table.link(h));
            final int len = PageEntry.runOf(table.state(h));
            for (int p = h + len - 1; p >= h; p--) {
                if ((PageEntry.flagsOf(table.state(p)) & PageEntry.WAS_RESERVED) != 0) {
                    reserved++;
                }
                table.setState(p, PageEntry.state(PageEntry.FREE, 0, 0, 0));
            }
            sink.freed(h, len);
            h = next;
        }
        return reserved;
    }
}
