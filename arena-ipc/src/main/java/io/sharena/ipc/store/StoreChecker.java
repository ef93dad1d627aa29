package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.ItemLayout;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/** The store's read-only checker: ring, chains and counts. Exact only on a quiet store. */
final class StoreChecker {
    private static final int MAX_REPORTED = 100;

    private final ArenaView view;
    private final Ring ring;
    private final Index index;
    private final List<String> violations = new ArrayList<>();
    /** The largest CAS value below {@link Ring#CAS_COUNTER_LIMIT} of the LINKED items the chains reach. */
    private long newestCas;

    StoreChecker(final ArenaView view, final Ring ring, final Index index) {
        this.view = view;
        this.ring = ring;
        this.index = index;
    }

    private void report(final String violation) {
        if (violations.size() < MAX_REPORTED) {
            violations.add(violation);
        }
    }

    /**
     * Counts the ring's records from tail to head by state, read without locks: {linked, dead,
     * reserved, pad}. A walk that meets a record that does not parse (the tail passed it meanwhile)
     * stops there: the counts are then those of the part it read.
     */
    long[] census() {
        final long[] counts = new long[4];
        final long bytes = ring.ringBytes();
        final long head = ring.head();
        long pos = ring.tail();
        if (pos > head) {
            return counts; // the tail moved on after the head was read
        }
        ring.checkPositions(head, pos);
        while (pos < head) {
            final int p = (int) (ring.ringPtr() + pos % bytes);
            final int size = view.getInt(p + ItemLayout.SIZE);
            final int state = view.getIntAcquire(p + ItemLayout.STATE);
            if (view.getLongAcquire(p + ItemLayout.POS) != pos || size < ItemLayout.PAD_HEADER
                || size % ItemLayout.ALIGN != 0 || state < ItemLayout.RESERVED || state > ItemLayout.PAD) {
                break;
            }
            counts[switch (state) {
                case ItemLayout.LINKED -> 0;
                case ItemLayout.DEAD -> 1;
                case ItemLayout.RESERVED -> 2;
                default -> 3;
            }]++;
            pos += size;
        }
        return counts;
    }

    /** Reads of {@link Ring#positions} the check makes, each up to {@link StoreFormat#POSITION_NANOS}, for a settled pair. */
    private static final int POSITION_ATTEMPTS = 10;

    List<String> check() {
        final String flush = ring.flushWatermarkProblem();
        if (flush != null) {
            report(flush);
        }
        long[] positions = ring.positions();
        for (int i = 1; i < POSITION_ATTEMPTS && positions[1] != positions[2]; i++) {
            positions = ring.positions();
        }
        final long head = positions[0];
        final long tail = positions[1];
        final long bytes = ring.ringBytes();
        if (!StoreFormat.positionsSound(head, tail, positions[2], bytes)) {
            report("ring positions out of range: head=" + head + ", tail=" + tail
                + (positions[2] != tail ? " (then " + positions[2] + ")" : "") + ", ringBytes=" + bytes);
            return violations;
        }
        if (positions[2] != tail) {
            // Writers moved the tail across every read for a second: no pair to walk the ring from.
            // Said the same way each time (no positions): a check repeated while writers run keeps it.
            report("ring not checked: its positions moved on every read for "
                + POSITION_ATTEMPTS * StoreFormat.POSITION_NANOS / 1_000_000 + " ms; check it again when fewer writers run");
            return violations;
        }
        final BitSet records = walkRing(head, tail, bytes);
        walkChains(records, head, tail);
        final String cas = ring.casCounterProblem(newestCas);
        if (cas != null) {
            report(cas);
        }
        return violations;
    }

    /** @return the physical starts (in ALIGN units) of the records between tail and head */
    private BitSet walkRing(final long head, final long tail, final long bytes) {
        final BitSet starts = new BitSet((int) (bytes / ItemLayout.ALIGN));
        long pos = tail;
        while (pos < head) {
            final long phys = pos % bytes;
            final int p = (int) (ring.ringPtr() + phys);
            final long recPos = view.getLong(p + ItemLayout.POS);
            final int size = view.getInt(p + ItemLayout.SIZE);
            final int state = view.getInt(p + ItemLayout.STATE);
            if (recPos != pos || size < ItemLayout.PAD_HEADER || size % ItemLayout.ALIGN != 0 || phys + size > bytes
                || state < ItemLayout.RESERVED || state > ItemLayout.PAD) {
                report("ring record does not parse: pos=" + pos + ", recordPos=" + recPos + ", size=" + size
                    + ", state=" + state);
                return starts;
            }
            if (state != ItemLayout.PAD) {
                starts.set((int) (phys / ItemLayout.ALIGN));
            }
            pos += size;
        }
        if (pos != head) {
            report("ring records overrun the head: end=" + pos + ", head=" + head);
        }
        return starts;
    }

    private void walkChains(final BitSet records, final long head, final long tail) {
        final BitSet seen = new BitSet(records.size());
        final long[] items = new long[index.stripeCount()];
        final long[] bytes = new long[index.stripeCount()];
        for (int b = 0; b < index.bucketCount(); b++) {
            int p = index.bucketHead(b);
            for (int hops = 0; p != 0; hops++) {
                if (hops > Index.MAX_HOPS || !ring.contains(p)) {
                    report("chain leaves the ring: bucket=" + b + ", ptr=0x" + Integer.toHexString(p) + ", hops=" + hops);
                    break;
                }
                final int unit = (int) ((Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ring.ringPtr()))
                    / ItemLayout.ALIGN);
                final long pos = view.getLong(p + ItemLayout.POS);
                final int state = view.getInt(p + ItemLayout.STATE);
                final int hash = view.getInt(p + ItemLayout.HASH);
                final int keyLen = view.getInt(p + ItemLayout.KEY_LEN);
                final int valueLen = view.getInt(p + ItemLayout.VALUE_LEN);
                if (!records.get(unit) || pos < tail || pos >= head) {
                    report("chained item outside the live ring: bucket=" + b + ", pos=" + pos + ", tail=" + tail
                        + ", head=" + head);
                    break;
                }
                if (seen.get(unit)) {
                    report("item chained twice: bucket=" + b + ", pos=" + pos);
                    break;
                }
                seen.set(unit);
                if (state != ItemLayout.LINKED) {
                    report("chained item not LINKED: bucket=" + b + ", pos=" + pos + ", state=" + state);
                } else {
                    final long cas = view.getLong(p + ItemLayout.CAS);
                    newestCas = cas >= 0 && cas < Ring.CAS_COUNTER_LIMIT && cas > newestCas ? cas : newestCas;
                }
                if (index.bucketWord(hash) != index.bucketWord(b)) {
                    report("item in the wrong bucket: bucket=" + b + ", pos=" + pos + ", hash=" + hash);
                }
                if (keyLen < 1 || keyLen > SharedStore.MAX_KEY || valueLen > index.maxValue() || !ring.fits(p, keyLen, valueLen)
                    || ItemLayout.recordSize(keyLen, valueLen) != view.getInt(p + ItemLayout.SIZE)) {
                    report("item lengths out of range: pos=" + pos + ", keyLen=" + keyLen + ", valueLen=" + valueLen
                        + ", size=" + view.getInt(p + ItemLayout.SIZE));
                } else if (!index.hashOfKey(p)) {
                    report("item whose key does not hash to its HASH word (no look-up finds it): bucket=" + b + ", pos="
                        + pos + ", key=" + keyOf(p));
                }
                final int s = index.stripeOf(hash);
                items[s]++;
                bytes[s] += view.getInt(p + ItemLayout.SIZE);
                p = view.getIntAcquire(p + ItemLayout.NEXT);
            }
        }
        final BitSet shortStripes = new BitSet(items.length);
        for (int s = 0; s < items.length; s++) {
            if (index.relinkPending(s)) {
                report("stripe marked by a repair that did not finish (items no chain reaches, to link again):"
                    + " stripe=" + s + "; check --repair finishes it");
                shortStripes.set(s);
            }
            // A held stripe may be mid-update; one held by a dead process is recounted when taken over.
            if (!index.stripeHeld(s) && (items[s] != index.stripeItems(s) || bytes[s] != index.stripeBytes(s))) {
                report("stripe counts differ from its chains: stripe=" + s + ", items=" + index.stripeItems(s)
                    + ", chained=" + items[s] + ", bytes=" + index.stripeBytes(s) + ", chainedBytes=" + bytes[s]);
                if (items[s] < index.stripeItems(s)) {
                    shortStripes.set(s);
                }
            }
        }
        reportUnreached(records, seen, shortStripes);
    }

    /**
     * Reports the LINKED items in the ring that no chain reaches, in the stripes whose counts hold
     * more items than their chains: a bucket word or NEXT link that a stray write zeroed or pointed
     * elsewhere lost them, and every get misses them ({@code check --repair} links them again:
     * {@link StoreRelink}). A kill leaves such items too (a record marked LINKED but not published,
     * an item unlinked but not marked DEAD), but in a stripe whose lock the killed writer held, and
     * which is recounted from its chains when that lock is taken over; an item whose key its chain
     * holds is an older version, nothing lost.
     */
    private void reportUnreached(final BitSet records, final BitSet seen, final BitSet shortStripes) {
        if (shortStripes.isEmpty()) {
            return;
        }
        // Each look-up of a key in its chain may walk up to MAX_HOPS links: none past the report's limit.
        for (int u = records.nextSetBit(0); u >= 0 && violations.size() < MAX_REPORTED; u = records.nextSetBit(u + 1)) {
            final int p = ring.ringPtr() + u * ItemLayout.ALIGN;
            final int hash = view.getInt(p + ItemLayout.HASH);
            if (!seen.get(u) && view.getIntAcquire(p + ItemLayout.STATE) == ItemLayout.LINKED
                && shortStripes.get(index.stripeOf(hash)) && !index.chainHoldsKeyOf(index.bucketOf(hash), p)) {
                report("item in the ring that no chain reaches: bucket=" + index.bucketOf(hash) + ", pos="
                    + view.getLong(p + ItemLayout.POS) + ", key=" + keyOf(p));
            }
        }
    }

    /** @return the item's key as {@link StoreTools#keyText} prints it; "?" if its length is not a key's */
    private String keyOf(final int p) {
        final byte[] key = index.keyBytes(p);
        return key == null ? "? (keyLen=" + view.getInt(p + ItemLayout.KEY_LEN) + ")" : StoreTools.keyText(key);
    }
}
