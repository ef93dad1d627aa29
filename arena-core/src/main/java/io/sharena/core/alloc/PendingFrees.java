package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoints;
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
 * <p>Drain (the lock holder only, so the list only ever grows at its top while it drains):
 * <ol>
 *   <li>Read the top, and re-tag every page of every span from there down with the drainer's own
 *       slot, while the list is still published.</li>
 *   <li>CAS the head from that top to empty. If spans were pushed meanwhile the CAS fails: re-tag the
 *       new spans down to the old top (the part below is done and cannot change) and try again.</li>
 *   <li>Set each span's pages FREE and give it to the best-fit lists.</li>
 * </ol>
 * Crash model: a pusher killed before its CAS leaves PENDING pages of a dead slot in no list; a
 * drainer killed before its CAS leaves the list in place (some pages naming the dead drainer, which
 * the next drain re-tags again); a drainer killed after its CAS leaves pages that all name its own,
 * dead, slot. {@link Recovery} frees PENDING pages of dead slots, so nothing taken is ever lost:
 * no page is ever PENDING, off the list and tagged with a live process that is not pushing it.
 * Pages a live pusher has marked but not yet pushed carry its live slot and are left alone.
 *
 * <p>Distrust: every span read from the list is range-checked (head and length within the user
 * pages, state PENDING) and the walk is bounded by the number of user pages; a bad value marks the
 * arena for repair and the walk stops there.
 */
final class PendingFrees {
    private static final long HEAD = ControlLayout.word(ControlLayout.PENDING_HEAD);

    private final PageTable table;
    private final int slot;
    /** RESERVED pages among those the drain in progress freed (lock holder only). */
    private int reserved;

    PendingFrees(final PageTable table, final int slot) {
        this.table = table;
        this.slot = slot;
    }

    boolean isEmpty() {
        return TaggedHead.page(table.getLongVolatile(HEAD)) == 0;
    }

    /** @return the number of pages marked PENDING and queued */
    int push(final int first, final int n) {
        // Capturing lambdas: this is the rare path (the lock was busy), and the JIT scalarises them.
        return MaximalRuns.forEach(first, first + n, this::mark, this::pushRun);
    }

    /** ALLOCATED or RESERVED → PENDING(this slot) by CAS. @return whether this call marked the page */
    private boolean mark(final int p) {
        if (table.markPending(p, slot, 0) < 0) {
            return false;
        }
        CrashPoints.at(AllocPoint.PENDING_PAGE_MARKED);
        return true;
    }

    private void pushRun(final int head, final int len) {
        final long w = table.stateAcquire(head);
        // By CAS from this push's own mark: a repair that took this slot for a dead one (its
        // process judged gone) may have freed the page meanwhile, and a store would take it back
        // from its next owner. Not this push's any more, the run is not pushed: pages of it still
        // marked stay so while this process lives (a repair leaves a live slot's marks alone).
        if (PageEntry.stateOf(w) != PageEntry.PENDING || PageEntry.slotOf(w) != slot
            || !table.casState(head, w, PageEntry.state(PageEntry.PENDING, PageEntry.flagsOf(w), slot, len))) {
            table.corrupt();
            return;
        }
        CrashPoints.at(AllocPoint.PENDING_RUN_TAGGED);
        while (true) {
            final long top = table.getLongVolatile(HEAD);
            table.setLinkPlain(head, PageEntry.link(0, TaggedHead.page(top)));
            // Publishes the run's tag and link to the drainer.
            if (table.casLong(HEAD, top, TaggedHead.next(top, 0, head))) {
                CrashPoints.at(AllocPoint.PENDING_RUN_PUSHED);
                return;
            }
        }
    }

    /**
     * A drained page still PENDING becomes FREE: {@link PageEntry#DIRTY} (its storage is committed)
     * unless it was RESERVED (never committed). @return whether it was PENDING
     */
    private boolean unpend(final int p) {
        final long w = table.stateAcquire(p);
        if (PageEntry.stateOf(w) != PageEntry.PENDING) {
            return false;
        }
        final boolean wasReserved = (PageEntry.flagsOf(w) & PageEntry.WAS_RESERVED) != 0;
        reserved += wasReserved ? 1 : 0;
        table.setStateRelease(p, PageEntry.state(PageEntry.FREE, wasReserved ? 0 : PageEntry.DIRTY, 0, 0));
        return true;
    }

    /**
     * Takes the whole list (lock holder only), having re-tagged its pages with this slot, and hands
     * each span to {@code sink} after setting its pages FREE.
     *
     * @return the number of RESERVED pages among them
     */
    int drainTo(final SpanCache.SpanSink sink) {
        long top = table.getLongVolatile(HEAD);
        if (TaggedHead.page(top) == 0) {
            return 0;
        }
        final int budget = table.capacity - table.firstUser;
        int spans = 0;
        int pages = 0;
        int done = 0; // the top of the part already re-tagged
        while (true) {
            for (int h = TaggedHead.page(top); h != 0 && h != done; ) {
                final long w = table.userPage(h) ? table.stateAcquire(h) : 0;
                final int len = PageEntry.runOf(w);
                if (PageEntry.stateOf(w) != PageEntry.PENDING || !table.userSpan(h, len) || (pages += len) > budget) {
                    // Out of range, not a pending span, or a walk longer than the arena: corrupted. The
                    // spans beyond stay where they are; repair frees what no live process still owns.
                    table.corrupt();
                    break;
                }
                for (int p = h; p < h + len; p++) {
                    final long pw = table.stateAcquire(p);
                    if (PageEntry.stateOf(pw) == PageEntry.PENDING) {
                        table.setStateRelease(p, PageEntry.state(PageEntry.PENDING, PageEntry.flagsOf(pw), slot,
                            p == h ? len : 0));
                    }
                }
                spans++;
                CrashPoints.at(AllocPoint.DRAIN_SPAN_RETAGGED);
                h = PageEntry.nextOf(table.linkPlain(h));
            }
            if (table.casLong(HEAD, top, TaggedHead.next(top, 0, 0))) {
                break;
            }
            // Spans were pushed on top: re-tag them too, down to the part already done.
            done = TaggedHead.page(top);
            top = table.getLongVolatile(HEAD);
        }
        CrashPoints.at(AllocPoint.DRAIN_LIST_TAKEN);
        reserved = 0;
        int h = TaggedHead.page(top);
        for (int i = 0; i < spans && h != 0; i++) {
            final long w = table.stateAcquire(h);
            final int len = PageEntry.runOf(w);
            if (PageEntry.stateOf(w) != PageEntry.PENDING || PageEntry.slotOf(w) != slot || !table.userSpan(h, len)) {
                table.corrupt(); // a cycle brought the walk back to a span already freed
                break;
            }
            final int next = PageEntry.nextOf(table.linkPlain(h));
            // Only pages still PENDING go to the lists: a page that is not (a stray write) splits the span.
            MaximalRuns.forEach(h, h + len, this::unpend, (first, k) -> {
                CrashPoints.at(AllocPoint.DRAIN_SPAN_STATED);
                sink.freed(first, k);
            });
            CrashPoints.at(AllocPoint.DRAIN_SPAN_FREED);
            h = next;
        }
        return reserved;
    }
}
