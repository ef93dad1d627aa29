package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.util.function.IntPredicate;

/**
 * What the ring's records and the chains say about the store header's words, read raw, for the
 * tools' repair of a header word a stray write changed (no kill leaves them wrong): the largest
 * value a whole item holds ({@link #largestWholeValue}), against a lowered max item size; and
 * the ring's head and tail, found again from the records. Every record says where it starts
 * (its POS word) and how long it is, so the records between tail and head follow one another
 * exactly, and an item a chain reaches is one of them:
 * <ol>
 *   <li>the anchor is the newest record known to be live: the latest item a bucket's chain
 *       reaches that parses as a LINKED record where it lies, or the record at TAIL if it parses
 *       and is newer;</li>
 *   <li>the head is where the records that follow the anchor, one after another, end (past it
 *       lie the previous lap's records, whose POS words are a ring's length behind, or zeros);</li>
 *   <li>the tail is as far back from the head as records keep following one another, within one
 *       ring's length: the records between it and the true tail, if any, are ones the true tail
 *       had passed, which it marked DEAD (or PAD), so the tail passes them again.</li>
 * </ol>
 * Read with the ring lock held (no writer moves either position); chains may change meanwhile
 * under their stripes' locks, which moves no item in the ring.
 */
final class HeaderEvidence {
    /** Links followed in one chain before it is taken for a loop. */
    private static final int MAX_HOPS = 1 << 16;

    private final ArenaView view;
    private final int ringPtr;
    private final long ringBytes;
    private final int buckets;
    private final int bucketCount;
    /** The longest record: a 250-byte key and the store's largest value. */
    private final long maxRecord;

    HeaderEvidence(final ArenaView view, final int header) {
        this.view = view;
        this.ringPtr = view.getInt(header + StoreLayout.RING_PTR);
        this.ringBytes = view.getLong(header + StoreLayout.RING_BYTES);
        this.buckets = view.getInt(header + StoreLayout.BUCKETS_PTR);
        this.bucketCount = 1 << view.getInt(header + StoreLayout.BUCKET_BITS);
        this.maxRecord = ItemLayout.recordSize(SharedStore.MAX_KEY,
            Math.max(view.getInt(header + StoreLayout.MAX_ITEM), Numbers.MAX_DIGITS));
    }

    /**
     * @return the size of the record at logical position {@code pos} if it parses as one there (its
     * POS word is {@code pos}, its size aligned, at least a PAD's and inside the ring, its state
     * known), else 0
     */
    private int parses(final long pos) {
        if (pos < 0 || (pos & (ItemLayout.ALIGN - 1)) != 0) {
            return 0;
        }
        final int size = Ring.recordAt(view, ringPtr, ringBytes, pos, Long.MAX_VALUE);
        return size != 0 ? size : byLengths(pos);
    }

    /**
     * @return the size of the LINKED record at {@code pos} by its key and value lengths, when its
     * SIZE word does not parse but a record parses where those lengths end (its SIZE is what a stray
     * write hit, which the repair's walk restores); else 0. Without it, such a record cut the
     * records in two, and the head or tail found from one side lost the other's items.
     */
    private int byLengths(final long pos) {
        final long phys = pos % ringBytes;
        final int p = (int) (ringPtr + phys);
        if (phys > ringBytes - ItemLayout.HEADER || view.getLong(p + ItemLayout.POS) != pos
            || view.getIntAcquire(p + ItemLayout.STATE) != ItemLayout.LINKED) {
            return 0;
        }
        final int keyLen = view.getInt(p + ItemLayout.KEY_LEN);
        final int valueLen = view.getInt(p + ItemLayout.VALUE_LEN);
        if (keyLen < 1 || keyLen > SharedStore.MAX_KEY || valueLen < 0) {
            return 0;
        }
        final long exact = ItemLayout.recordSize(keyLen, valueLen);
        if (exact > maxRecord || phys + exact > ringBytes
            || Ring.recordAt(view, ringPtr, ringBytes, pos + exact, Long.MAX_VALUE) == 0) {
            return 0;
        }
        return (int) exact;
    }

    /**
     * @return the size of the record at {@code pos} whose POS word says a later lap of its place, if
     * it is otherwise whole by its SIZE and STATE words; else 0. No record is written ahead of the
     * head, so only a stray write puts such a POS word: the walk back from the head steps over it
     * (it stopped there, and the tail found so dropped every item before it). The repair's walk
     * pads it.
     */
    private int lapsAhead(final long pos) {
        final long phys = pos % ringBytes;
        final int p = (int) (ringPtr + phys);
        if (phys > ringBytes - ItemLayout.HEADER) {
            return 0;
        }
        final long word = view.getLong(p + ItemLayout.POS);
        final int size = view.getInt(p + ItemLayout.SIZE);
        final int state = view.getIntAcquire(p + ItemLayout.STATE);
        return word > pos && (word - pos) % ringBytes == 0 && size >= ItemLayout.PAD_HEADER && size % ItemLayout.ALIGN == 0
            && phys + size <= ringBytes && state >= ItemLayout.RESERVED && state <= ItemLayout.PAD ? size : 0;
    }

    /** @return where the record at {@code pos} ends, if it parses there ({@code pos} itself otherwise) */
    long endOf(final long pos) {
        return pos + parses(pos);
    }

    /**
     * The chained items' positions: {@code {oldest, newest}} of the items the chains reach that parse
     * as LINKED records where they lie ({@code {Long.MAX_VALUE, -1}} if none), kept for
     * {@link #recover}. A link to anything else ends its chain here: the repair's own walk cuts it.
     *
     * <p>With sound positions ({@code tail >= 0}), an item that lies in the live part of the ring
     * (its place is that of a position in {@code [tail, head)}) but whose POS word says another lap
     * is not evidence against the positions: its own POS word is what a stray write hit (one word
     * a lap or 2^31 ahead made the repair take it for the newest record and drop every other item).
     * It is left out here, like any item that does not parse: the repair's walk pads it.
     */
    long[] chainedRange(final long tail, final long head) {
        final long[] range = {Long.MAX_VALUE, -1};
        final org.agrona.collections.LongArrayList positions = new org.agrona.collections.LongArrayList();
        walkChains(p -> {
            final long pos = view.getLong(p + ItemLayout.POS);
            if (pos < 0 || pos % ringBytes != offsetOf(p) || parses(pos) == 0
                || view.getInt(p + ItemLayout.STATE) != ItemLayout.LINKED) {
                return false;
            }
            if (tail >= 0) {
                final long placed = tail + Math.floorMod(offsetOf(p) - tail % ringBytes, ringBytes);
                if (placed < head && pos != placed) {
                    return false;
                }
            }
            positions.addLong(pos);
            return true;
        });
        if (positions.isEmpty()) {
            chained = new long[0];
            return range;
        }
        chained = positions.toLongArray();
        java.util.Arrays.sort(chained);
        range[0] = chained[0];
        range[1] = chained[chained.length - 1];
        return range;
    }

    /** The positions {@link #chainedRange} found, sorted; null before it ran. */
    private long[] chained;

    /** Candidates for the newest live record {@link #recover} tries, newest first. */
    private static final int ANCHORS = 8;

    /**
     * @return the longest value of the LINKED items the chains reach that are whole (a key of 1 to
     * 250 bytes whose hash is the item's HASH word, a record of exactly the key and value, inside
     * the ring), 0 if none: a store's max item size below it was lowered by a stray write, since
     * every such item was stored under the header's limit (or is a counter's 20 digits)
     */
    int largestWholeValue() {
        final int[] largest = {0};
        walkChains(p -> {
            final int keyLen = view.getInt(p + ItemLayout.KEY_LEN);
            final int valueLen = view.getInt(p + ItemLayout.VALUE_LEN);
            if (view.getInt(p + ItemLayout.STATE) != ItemLayout.LINKED || keyLen < 1 || keyLen > SharedStore.MAX_KEY
                || valueLen < 0 || ItemLayout.recordSize(keyLen, valueLen) != view.getInt(p + ItemLayout.SIZE)
                || offsetOf(p) + ItemLayout.recordSize(keyLen, valueLen) > ringBytes) {
                return false;
            }
            final byte[] key = new byte[keyLen];
            view.getBytes(p + ItemLayout.KEY, key, 0, keyLen);
            if (Index.hash(key, keyLen) != view.getInt(p + ItemLayout.HASH)) {
                return false;
            }
            largest[0] = Math.max(largest[0], valueLen);
            return true;
        });
        return largest[0];
    }

    /**
     * Calls {@code visit} with each item the buckets' chains reach, chain by chain, until it
     * returns false for one (that chain ends there) or a link leads outside the ring or off a
     * record's alignment (the repair's own walk cuts it), or after {@link #MAX_HOPS} links (a loop).
     */
    private void walkChains(final IntPredicate visit) {
        for (int b = 0; b < bucketCount; b++) {
            int p = view.getIntAcquire(buckets + b * StoreLayout.BUCKET_SIZE);
            for (int hops = 0; p != 0 && hops < MAX_HOPS; hops++) {
                final long off = offsetOf(p);
                if (off < 0 || off > ringBytes - ItemLayout.HEADER || (off & (ItemLayout.ALIGN - 1)) != 0
                    || !visit.test(p)) {
                    break;
                }
                p = view.getIntAcquire(p + ItemLayout.NEXT);
            }
        }
    }

    /** @return where item {@code p} lies in the ring (negative or past it for a pointer outside) */
    private long offsetOf(final int p) {
        return Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr);
    }

    /**
     * @param tail   TAIL as the header holds it
     * @param newest the newest chained item's position ({@link #chainedRange}), or -1
     * @return {@code {head, tail}} found from the records, or null if no record is known to be live
     */
    long[] recover(final long tail, final long newest) {
        long[] best = null;
        int bestHeld = -1;
        // The newest chained item is the anchor unless a stray write moved its POS word ahead, a lap
        // or more (it then parses where it lies, as a record no other follows): each of the newest
        // few is tried, and the one whose positions hold the most chained items wins (the newer on a
        // tie). The oldest item moved a lap ahead used to be taken, and the ring kept it alone.
        final long[] candidates = chained == null || chained.length == 0 ? new long[] {newest} : chained;
        for (int i = candidates.length - 1, tried = 0; i >= 0 && tried < ANCHORS; i--) {
            if (i < candidates.length - 1 && candidates[i] == candidates[i + 1]) {
                continue;
            }
            tried++;
            final long[] found = recoverFrom(parses(tail) > 0 ? Math.max(tail, candidates[i]) : candidates[i]);
            final int held = found == null ? -1 : held(found[1], found[0]);
            if (held > bestHeld) {
                best = found;
                bestHeld = held;
            }
            if (chained == null || held == chained.length) {
                break; // every chained item in range: no later candidate holds more
            }
        }
        return best;
    }

    /** @return how many chained positions lie in {@code [tail, head)} (all of them when none were gathered) */
    private int held(final long tail, final long head) {
        if (chained == null) {
            return 0;
        }
        int n = 0;
        for (final long pos : chained) {
            if (pos >= tail && pos < head) {
                n++;
            }
        }
        return n;
    }

    /** @return {@code {head, tail}} found from the records with {@code anchor} the newest live one, or null if negative */
    private long[] recoverFrom(final long anchor) {
        if (anchor < 0) {
            return null;
        }
        long head = anchor;
        for (int size = parses(head); size > 0 && head + size - anchor <= ringBytes; size = parses(head)) {
            head += size;
        }
        return new long[] {head, back(head, anchor)};
    }

    /**
     * @return whether {@code q} is a DEAD record or a PAD whose SIZE runs past {@code start} to exactly where
     * the PAD at {@code start} ends: a hole a reservation was being placed in (Ring's takeHole) when
     * its writer was killed, the rest written as a PAD, the hole's record not yet shrunk. The tail
     * passes both as one; without this, the walk back stopped at the PAD and took it for the tail.
     */
    private boolean carvedAround(final long q, final long start) {
        final int size = parses(q);
        final int pad = parses(start);
        final int outer = state(q);
        // The hole is a DEAD record or a PAD (the rest an earlier placement left, kept as a hole).
        return size > start - q && pad > 0 && q + size == start + pad
            && (outer == ItemLayout.DEAD || outer == ItemLayout.PAD) && state(start) == ItemLayout.PAD;
    }

    private int state(final long pos) {
        return view.getIntAcquire((int) (ringPtr + pos % ringBytes) + ItemLayout.STATE);
    }

    /**
     * @return the earliest position from which records follow one another up to {@code head}, no
     * further back than a ring's length from it, and not after {@code anchor}
     */
    private long back(final long head, final long anchor) {
        long start = head;
        while (start > 0) {
            long found = -1;
            // The record that ends at start: the nearest aligned position before it that parses as one
            // of exactly that length.
            for (long q = start - ItemLayout.ALIGN; q >= 0 && start - q <= maxRecord && head - q <= ringBytes;
                 q -= ItemLayout.ALIGN) {
                if (parses(q) == start - q || lapsAhead(q) == start - q || carvedAround(q, start)) {
                    found = q;
                    break;
                }
            }
            if (found < 0) {
                break;
            }
            start = found;
        }
        return Math.min(start, anchor);
    }
}
