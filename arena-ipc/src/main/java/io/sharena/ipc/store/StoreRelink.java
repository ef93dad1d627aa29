package io.sharena.ipc.store;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaView;
import io.sharena.core.lock.LockResult;
import io.sharena.ipc.layout.ItemLayout;
import org.agrona.collections.IntHashSet;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tools' repair of items no chain reaches ({@code check --repair}, after {@link StoreRepair}
 * cut the broken chains). A bucket word or NEXT link zeroed by a stray write, or pointed at another
 * item of its bucket, leaves the items it led to whole in the ring and LINKED, but unreachable:
 * every get misses them, and the tail would mark them DEAD as garbage. So does a cut.
 *
 * <p>A kill leaves such items too: a writer killed between marking its new record LINKED and
 * publishing it, or between unlinking an item (a delete, an eviction) and marking it DEAD. Those
 * are the design's garbage; linking them again would bring back a key its delete removed. The
 * stripe's counts tell the two apart: a stray write into a link leaves them holding the items the
 * chain lost, while a kill leaves the stripe lock held, and the lock taken over recounts its
 * stripe from the chains. So only in a stripe whose counts hold more items than its chains (found
 * by {@link Index#cutBrokenChains}; taken again under its lock here, the ring lock held throughout,
 * so that nothing is evicted or moved), the LINKED records of the stripe between tail and head that
 * no chain reaches are taken newest first, and each is
 * <ul>
 *   <li>linked again at the head of its bucket's chain if it is a whole item of that bucket
 *       ({@link Index#itemSane}), its HASH is its key's, and no chain holds its key yet;</li>
 *   <li>left to the tail if its bucket's chain holds its key: an older version (one written again
 *       meanwhile, or a killed writer's), nothing lost;</li>
 *   <li>left to the tail, and named, if it is not whole: dropped.</li>
 * </ul>
 * What the stripe's counts hold beyond its chains and those items after that, no whole record of
 * the ring holds: items the tail reclaimed while no chain reached them, or whose header the damage
 * garbled too (a loss from before the repair), or counts a stray write raised; which, nothing
 * tells, so the line that counts them (with their bytes) says both. {@link SharedStore#repairAll}
 * then recounts.
 *
 * <p>A stripe found short is marked ({@link io.sharena.ipc.layout.StoreLayout#STRIPE_RELINK}) before
 * anything in it is cut or linked, and the mark is cleared only once its relink is done: a repair
 * killed in between (its stripe lock then taken over, and the stripe recounted from its chains)
 * leaves the next repair the mark, which relinks what the killed one had not.
 *
 * <p>Limits, both where nothing in the file tells a kill from a stray write: a stripe recounted
 * since the damage by a writer's takeover of a dead writer's lock, before any repair marked it, no
 * longer shows it, and its unreached items stay the tail's; and a killed writer's unreached record in a stripe that also lost items
 * to a stray write is linked again with them: an item a killed delete or eviction had unlinked
 * comes back (the old value, which a kill one store earlier would have left too), a record a
 * killed writer had not published yet becomes the key's value if no chain holds the key.
 *
 * <p>Each relink is one release store of the bucket word, after the item's NEXT (written while no
 * reader can reach the item): readers see the chain without it or with it. A repair killed in a
 * stripe leaves its lock held and its mark set: whoever takes the lock over recounts the stripe,
 * and the next repair relinks by the mark; the stripes it had not reached yet keep what their
 * counts show, for the next repair.
 */
final class StoreRelink {
    /** Buckets and dropped items named in a line, at most. */
    private static final int NAMED = 10;

    private final ArenaView view;
    private final Ring ring;
    private final Index index;

    private long relinked;
    private long relinkedBytes;
    private final Map<Integer, Integer> relinkedPerBucket = new TreeMap<>();
    private long older;
    private long olderBytes;
    private long dropped;
    private long droppedBytes;
    private final List<String> droppedNamed = new ArrayList<>();
    private int goneStripes;
    private long gone;
    private long goneBytes;

    StoreRelink(final ArenaView view, final Ring ring, final Index index) {
        this.view = view;
        this.ring = ring;
        this.index = index;
    }

    /**
     * Runs the relink, the ring lock held, right after {@link Index#cutBrokenChains} filled
     * {@code seen} and {@code shortStripes}.
     *
     * @param records  the physical starts of the records between tail and head (ALIGN units)
     * @param tookOver receives in {@code [0]} the stripe locks taken over from dead holders
     * @return what was done, one line each
     * @throws IllegalStateException if a live process holds a stripe lock past {@code timeoutNanos}
     */
    List<String> run(final BitSet records, final BitSet seen, final BitSet shortStripes, final long timeoutNanos,
                     final int[] tookOver) {
        if (shortStripes.isEmpty()) {
            return List.of();
        }
        final Map<Integer, List<Integer>> candidates = candidates(records, seen, shortStripes);
        for (int s = shortStripes.nextSetBit(0); s >= 0; s = shortStripes.nextSetBit(s + 1)) {
            final LockResult r = index.lockStripeForRepair(s, timeoutNanos);
            if (r == LockResult.TIMEOUT) {
                throw new ArenaBusyException("store lock held by a live process past the timeout: stripe=" + s
                    + ", timeoutNanos=" + timeoutNanos);
            }
            try {
                if (r == LockResult.RECOVERED) {
                    tookOver[0]++; // recounted from its chains: its mark, not its counts, tells what they lost
                }
                relinkStripe(s, candidates.getOrDefault(s, List.of()));
                index.relinkDone(s);
            } finally {
                index.unlockStripeAfterRepair(s, r);
            }
        }
        return lines();
    }

    /**
     * @return the LINKED records of the short stripes that no chain reached during the cut, by
     * stripe, newest (highest ring position) first; checked again under each stripe's lock
     */
    private Map<Integer, List<Integer>> candidates(final BitSet records, final BitSet seen, final BitSet shortStripes) {
        final Map<Integer, List<Integer>> byStripe = new TreeMap<>();
        for (int u = records.nextSetBit(0); u >= 0; u = records.nextSetBit(u + 1)) {
            final int p = ring.ringPtr() + u * ItemLayout.ALIGN;
            if (!seen.get(u) && view.getIntAcquire(p + ItemLayout.STATE) == ItemLayout.LINKED) {
                final int s = index.stripeOf(view.getInt(p + ItemLayout.HASH));
                if (shortStripes.get(s)) {
                    byStripe.computeIfAbsent(s, k -> new ArrayList<>()).add(p);
                }
            }
        }
        final Comparator<Integer> newestFirst = Comparator.comparingLong(p -> -view.getLong(p + ItemLayout.POS));
        byStripe.values().forEach(l -> l.sort(newestFirst));
        return byStripe;
    }

    /** Stripe lock held. */
    private void relinkStripe(final int s, final List<Integer> unreached) {
        final IntHashSet reached = new IntHashSet();
        long chainedBytes = 0;
        for (int b = s; b < index.bucketCount(); b += index.stripeCount()) {
            chainedBytes += index.chainUnits(b, reached);
        }
        if (!index.relinkPending(s) && index.stripeItems(s) <= reached.size()) {
            return; // its counts were mended meanwhile, or the chains grew: nothing tells of a loss
        }
        long keptItems = 0;
        long keptBytes = 0;
        for (final int p : unreached) {
            final int unit = ring.unitOf(p);
            // A writer of this stripe may have linked, or unlinked and killed, it since the cut's walk.
            if (reached.contains(unit) || view.getIntAcquire(p + ItemLayout.STATE) != ItemLayout.LINKED) {
                continue;
            }
            final int b = index.bucketOf(view.getInt(p + ItemLayout.HASH));
            final int size = view.getInt(p + ItemLayout.SIZE);
            if (!index.itemSane(p, b) || !index.hashOfKey(p)) {
                dropped++;
                droppedBytes += size;
                if (droppedNamed.size() < NAMED) {
                    droppedNamed.add("bucket=" + b + ", pos=" + view.getLong(p + ItemLayout.POS));
                }
            } else if (index.chainHoldsKeyOf(b, p)) {
                older++;
                olderBytes += size;
            } else {
                index.relinkLocked(b, p);
                reached.add(unit);
                relinked++;
                relinkedBytes += size;
                chainedBytes += size;
                relinkedPerBucket.merge(b, 1, Integer::sum);
                continue;
            }
            keptItems++;
            keptBytes += size;
        }
        // The counts held these too (lost from a chain, they stayed counted), unless a kill left them
        // (or a lock taken over recounted the stripe since it was marked: then nothing is told).
        final long missing = index.stripeItems(s) - reached.size() - keptItems;
        if (missing > 0) {
            goneStripes++;
            gone += missing;
            goneBytes += Math.max(0, index.stripeBytes(s) - chainedBytes - keptBytes);
        }
    }

    private List<String> lines() {
        final List<String> done = new ArrayList<>();
        if (relinked > 0) {
            final StringBuilder where = new StringBuilder();
            int named = 0;
            for (final Map.Entry<Integer, Integer> e : relinkedPerBucket.entrySet()) {
                if (named++ == NAMED) {
                    where.append(", and ").append(relinkedPerBucket.size() - NAMED).append(" more bucket(s)");
                    break;
                }
                where.append(named > 1 ? ", " : "").append("bucket=").append(e.getKey()).append(" (")
                    .append(e.getValue()).append(')');
            }
            done.add("re-linked " + relinked + " item(s) (" + relinkedBytes + " bytes) that no chain reached and"
                + " their stripe still counted: " + where);
        }
        if (older > 0) {
            done.add("left " + older + " unreached item(s) (" + olderBytes + " bytes) to the tail: older versions"
                + " of keys their chains hold");
        }
        if (dropped > 0) {
            done.add("dropped " + dropped + " unreached item(s) (" + droppedBytes + " bytes) that are not whole,"
                + " left to the tail: " + String.join("; ", droppedNamed) + (dropped > NAMED ? "; ..." : ""));
        }
        if (gone > 0) {
            done.add("the counts of " + goneStripes + " stripe(s) held " + gone + " item(s) (" + goneBytes
                + " bytes) that no chain reaches and no whole record of the ring holds: items lost before this"
                + " repair (reclaimed by the tail while unreached, or garbled), or counts garbled themselves");
        }
        return done;
    }
}
