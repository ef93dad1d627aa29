package io.sharena.core.alloc;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * Which FREE pages the free lists vouch for, read by a repair that follows no lock takeover
 * ({@link Recovery}). Only a lock holder writes FREE into the page table, and it leaves every FREE
 * page inside a run of the best-fit lists before it unlocks: the run's first page carries its
 * length and is linked from its bucket, its last page carries the length too. A holder that died
 * halfway left the lock naming it, and whoever took the lock over says so (the takeover bit of the
 * repair-pending word); without that, a FREE page no run accounts for was written by a stray write,
 * and the page may be someone's (an ALLOCATED page's state word hit to 0 reads FREE): the repair
 * keeps it ALLOCATED rather than hand it out again.
 *
 * <p>A run is <em>linked</em> when its first page is reached from a bucket head and either both
 * its tags give the same length, or (its first page's tag was hit) a last page's tag reaches back to
 * it, or (its last page's tag was hit) its first page's tag gives at least three pages, all FREE but
 * the last, or (both) its bucket holds runs of one length only and the pages after its first are
 * FREE. A FREE page is vouched for when it lies in a linked run, or in a run of at least two pages
 * tagged at both ends with the same length (a run whose list link was lost: one word cannot vouch
 * for itself, so an unlinked single page is not). A CACHED or PENDING page inside a linked run was
 * free when the run was linked, and no holder has taken it since (it would have retagged the run):
 * its state word is what was hit, and the repair frees it (one that reads ALLOCATED or RESERVED
 * is never freed by guess).
 *
 * <p>Damage the rules cannot tell apart: an ALLOCATED page's word hit to exactly the tag of a
 * free single page, or to a tag whose run reaches back to a linked first page whose own tag was hit
 * too.
 */
final class RunEvidence {
    private final PageTable table;

    RunEvidence(final PageTable table) {
        this.table = table;
    }

    /** The FREE pages no run vouches for, and the pages of linked runs. */
    record Evidence(BitSet unvouchedFree, BitSet linkedRuns) {
    }

    /** @return what the lists say (lock holder, before the rebuild changes a state) */
    Evidence read() {
        final int first = table.firstUser;
        final int end = table.capacity;
        final Map<Integer, Integer> lists = linkedHeads();
        final BitSet heads = new BitSet();
        lists.keySet().forEach(heads::set);
        final BitSet confirmed = new BitSet();
        final BitSet vouched = new BitSet();
        final BitSet linkedRuns = new BitSet();
        for (int p = first; p < end; p++) {
            final int run = runTag(p);
            if (run > 0 && run <= end - p && runTag(p + run - 1) == run && (run >= 2 || heads.get(p))) {
                vouched.set(p, p + run);
                if (heads.get(p)) {
                    confirmed.set(p);
                    linkedRuns.set(p, p + run);
                }
            }
        }
        // A linked first page whose own tag does not match: a last page's tag says where the run ends.
        final BitSet resolved = new BitSet();
        for (int p = first; p < end; p++) {
            final int run = runTag(p);
            final int head = p - run + 1;
            if (run > 0 && head >= first && heads.get(head) && !confirmed.get(head)) {
                vouched.set(head, p + 1);
                linkedRuns.set(head, p + 1);
                resolved.set(head);
            }
        }
        // Neither: the first page's tag holds if every page it covers but the last is FREE (the
        // last one's word is what was hit). At least three pages: a page between them is the evidence.
        for (int h = heads.nextSetBit(0); h >= 0; h = heads.nextSetBit(h + 1)) {
            final int run = runTag(h);
            if (!confirmed.get(h) && !resolved.get(h) && run >= 3 && run <= end - h && allFree(h + 1, h + run - 1)) {
                vouched.set(h, h + run);
                linkedRuns.set(h, h + run);
                resolved.set(h);
            }
        }
        // Neither tag: a bucket of one length says how long the run is, if its other pages are FREE.
        for (int h = heads.nextSetBit(0); h >= 0; h = heads.nextSetBit(h + 1)) {
            final int run = lists.get(h);
            if (!confirmed.get(h) && !resolved.get(h) && run > 0 && run <= end - h && allFree(h + 1, h + run)) {
                vouched.set(h, h + run);
                linkedRuns.set(h, h + run);
            }
        }
        final BitSet unvouched = new BitSet();
        for (int p = first; p < end; p++) {
            if (!vouched.get(p) && PageEntry.stateOf(table.stateAcquire(p)) == PageEntry.FREE) {
                unvouched.set(p);
            }
        }
        return new Evidence(unvouched, linkedRuns);
    }

    /** @return whether every page of {@code [from, to)} is FREE */
    private boolean allFree(final int from, final int to) {
        for (int p = from; p < to; p++) {
            if (PageEntry.stateOf(table.stateAcquire(p)) != PageEntry.FREE) {
                return false;
            }
        }
        return true;
    }

    /** @return the run length page {@code page}'s entry tags it with if it is FREE, else 0 */
    private int runTag(final int page) {
        final long w = table.stateAcquire(page);
        return PageEntry.stateOf(w) == PageEntry.FREE ? Math.max(PageEntry.runOf(w), 0) : 0;
    }

    /**
     * @return the pages the bucket lists reach, each mapped to its run length if its bucket has one
     * length (else 0), or to -1 if it is a list's first page and not FREE (only a bucket head word,
     * which a stray write may have aimed anywhere, names it: its length is not taken from its
     * bucket). A page reached must name the page before it as its PREV (a link hit to point elsewhere
     * reaches a page that does not point back), else the list ends there.
     */
    private Map<Integer, Integer> linkedHeads() {
        final Map<Integer, Integer> heads = new HashMap<>();
        for (int b = 0; b < ControlLayout.BUCKETS; b++) {
            final int length = b < ControlLayout.EXACT_BUCKETS ? b + 1 : 0;
            int prev = 0;
            int p = table.getIntPlain(ControlLayout.bucketHead(b));
            while (p >= table.firstUser && p < table.capacity && !heads.containsKey(p)) {
                final long link = table.linkPlain(p);
                if (PageEntry.prevOf(link) != prev) {
                    break;
                }
                final boolean free = PageEntry.stateOf(table.stateAcquire(p)) == PageEntry.FREE;
                heads.put(p, prev == 0 && !free ? -1 : length);
                prev = p;
                p = PageEntry.nextOf(link);
            }
        }
        return heads;
    }
}
