package io.sharena.ipc.store;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The tools' repair of a store's ring and chains ({@code check --repair}), for damage no kill
 * leaves but a file can hold: bytes written by another process, or a range the file lost when it
 * was cut short (restored as zeros). Under the ring lock, so that neither head nor tail moves:
 * <ol>
 *   <li>the ring is walked from tail to head; a record whose SIZE disagrees with its key and value
 *       gets its SIZE back where a record parses at the end its header gives; where a record does
 *       not parse, the walk goes on at the next position whose bytes parse as a record that says it
 *       starts there, and the stretch between becomes padding (step 4);</li>
 *   <li>every chain is cut at its first link to what is not a whole LINKED item of its bucket
 *       starting one of the records the walk found, or to an item already met, under each stripe's
 *       lock ({@link Index#cutBrokenChains});</li>
 *   <li>in each stripe whose counts hold more items than its chains (a stray write into a bucket
 *       word or a link lost them, or a cut did), the whole LINKED items that no chain reaches are
 *       linked again, under its lock ({@link StoreRelink}); what it cannot link is named;</li>
 *   <li>each stretch is written as PAD records, split at the ring's end: no chain leads into it any
 *       more, and the tail passes it.</li>
 * </ol>
 * Every step is one store a reader sees whole ({@link StoreRepairPoint} names each boundary), so the
 * repair is safe while other processes use the store; a repair killed halfway leaves chains cut (consistent), and items not linked again yet and
 * stretches not padded yet for the next repair (but the stripe whose lock it held is recounted when
 * that lock is taken over, and no longer shows what its chains lost: {@link StoreRelink}).
 * One limit: a PAD header may land inside a record whose start the walk never reached (a damaged
 * SIZE made the walk skip it); a lock-free reader still reading that record, reached before its
 * chain was cut, may see those 16 bytes, as it may see whatever the damage itself wrote.
 */
final class StoreRepair {
    private static final long PAGE = Geometry.PAGE_SIZE;
    /** A PAD's size is an int: longer stretches are written as several. */
    private static final int MAX_PAD = 1 << 30;

    private final ArenaView view;
    private final Ring ring;
    private final Index index;
    /**
     * The first byte of the arena a cut took (its size restored since: it reads zeros from there
     * on), or {@link Long#MAX_VALUE}: a record that reaches it lost its tail, so it is padded over
     * like one that does not parse, rather than served with zeros for its value's end.
     */
    private final long lostFrom;
    private long cutRecords;
    private long sizesRestored;

    StoreRepair(final ArenaView view, final Ring ring, final Index index, final long lostFrom) {
        this.view = view;
        this.ring = ring;
        this.index = index;
        this.lostFrom = lostFrom;
    }

    /**
     * @param tookOver receives in {@code [0]} the locks (ring and stripes) taken over from dead holders
     * @return what was done, one line each
     * @throws IllegalStateException if a live process holds the ring lock or a stripe lock past {@code timeoutNanos}
     */
    List<String> run(final long timeoutNanos, final int[] tookOver) {
        final LockResult r = ring.lockForRepair(timeoutNanos);
        if (r == LockResult.TIMEOUT) {
            throw new ArenaBusyException("ring lock held by a live process past the timeout: timeoutNanos="
                + timeoutNanos);
        }
        if (r == LockResult.RECOVERED) {
            tookOver[0]++;
        }
        try {
            final long head = ring.head();
            final long tail = ring.tail();
            ring.checkPositions(head, tail);
            final BitSet records = new BitSet((int) (ring.ringBytes() / ItemLayout.ALIGN));
            final List<long[]> stretches = walk(head, tail, records);
            final int[] stripes = new int[1];
            final BitSet seen = new BitSet(records.size());
            final BitSet shortStripes = new BitSet(index.stripeCount());
            final int cuts = index.cutBrokenChains(records, seen, shortStripes, timeoutNanos, stripes);
            if (cuts < 0) {
                throw new ArenaBusyException("store lock held by a live process past the timeout: stripe="
                    + (-1 - cuts) + ", timeoutNanos=" + timeoutNanos);
            }
            final List<String> relinked = new StoreRelink(view, ring, index).run(records, seen, shortStripes,
                timeoutNanos, stripes);
            tookOver[0] += stripes[0];
            long padded = 0;
            for (final long[] s : stretches) {
                pad(s[0], s[1]);
                padded += s[1] - s[0];
            }
            final List<String> done = new ArrayList<>();
            final String cas = ring.mendCasCounter(index.newestChainedCas());
            if (cas != null) {
                done.add(cas);
            }
            final String flush = ring.mendFlushWatermark();
            if (flush != null) {
                done.add(flush);
            }
            if (cuts > 0) {
                done.add("cut " + cuts + " chain(s) at a link to what is not a whole linked item of its bucket;"
                    + " the whole items from there on are linked again where their stripe still counts them");
            }
            done.addAll(relinked);
            if (sizesRestored > 0) {
                done.add("restored the record size of " + sizesRestored + " record(s) whose SIZE disagreed with their"
                    + " key and value (the records after them were whole)");
            }
            if (cutRecords > 0) {
                done.add("dropped " + cutRecords + " record(s) that a cut of the file reached (zeros from byte "
                    + lostFrom + " on), padded over with what followed them");
            }
            if (stretches.size() > cutRecords) {
                done.add("replaced " + (stretches.size() - cutRecords) + " stretch(es) of the ring that did not parse"
                    + " as records (" + padded + " bytes with the dropped records) with padding the tail passes");
            }
            return done;
        } finally {
            ring.unlockAfterRepair();
        }
    }

    /**
     * Walks the records from tail to head, marking in {@code records} where each non-PAD one starts.
     *
     * @return the stretches {@code {from, to}} (logical positions) that did not parse
     */
    private List<long[]> walk(final long head, final long tail, final BitSet records) {
        final List<long[]> stretches = new ArrayList<>();
        final long bytes = ring.ringBytes();
        long pos = tail;
        while (pos < head) {
            int size = ring.parses(pos, head);
            // A linked record's SIZE hit (one that still parses, or one that parses but for its
            // SIZE) gets its size back where its header says the next record starts and one does.
            if (size != 0 ? ring.stateAt(pos) == ItemLayout.LINKED : sizeAloneHit(pos)) {
                size = mendSize(pos, size, head);
            } else if (size != 0 && ring.stateAt(pos) > ItemLayout.LINKED
                && Ring.hidesLinked(view, ring.ringPtr(), ring.ringBytes(), pos, size)) {
                // A DEAD or PAD record whose SIZE runs over a linked item: resynchronised on the
                // item, as a stretch that does not parse, rather than walked over and lost.
                size = 0;
            }
            if (size == 0) {
                final long next = nextRecord(pos, head);
                stretches.add(new long[] {pos, next});
                pos = next;
                continue;
            }
            final long at = Integer.toUnsignedLong(ring.ringPtr()) + pos % bytes;
            if (at + size > lostFrom && !isPad(pos)) {
                // A record the cut reached: whole-looking, but zeros from the cut on.
                stretches.add(new long[] {pos, pos + size});
                cutRecords++;
                pos += size;
                continue;
            }
            if (!isPad(pos)) {
                records.set((int) (pos % bytes / ItemLayout.ALIGN));
            }
            pos += size;
        }
        return stretches;
    }

    /**
     * @return the next position after {@code pos} whose bytes say a record starts there, or the
     * head; each position is looked at once, so the walk stays linear in the ring's length
     */
    private long nextRecord(final long pos, final long head) {
        long next = pos + ItemLayout.ALIGN;
        while (next < head && ring.parses(next, head) == 0) {
            next += ItemLayout.ALIGN;
        }
        return next;
    }

    /** @return whether the record at {@code pos} would parse but for its SIZE word: its POS says it starts there, it is LINKED */
    private boolean sizeAloneHit(final long pos) {
        final int p = (int) (ring.ringPtr() + pos % ring.ringBytes());
        return ring.stateAt(pos) == ItemLayout.LINKED && view.getLong(p + ItemLayout.POS) == pos;
    }

    /**
     * A record's SIZE word is only read by the tail and this walk, and a linked record is exactly
     * its header's key and value: a SIZE that says otherwise while a record parses where the header
     * says the next one starts (or the head is there) is what a stray write hit. Restored, rather
     * than walked on from: a grown SIZE swallowed the whole records after it, which the walk padded
     * over. Only a LINKED record's lengths are known to be its own (written before the release
     * that linked it): a reservation's SIZE is written under the ring lock before its owner writes
     * its lengths, so a RESERVED record, or one its dead owner left and the tail marked DEAD, may
     * still hold the lengths of the record a lap earlier, which end wherever that one did.
     *
     * @return the record's size, as restored, or {@code size} as it was (0 for one that does not parse)
     */
    private int mendSize(final long pos, final int size, final long head) {
        final int p = (int) (ring.ringPtr() + pos % ring.ringBytes());
        final int keyLen = view.getInt(p + ItemLayout.KEY_LEN);
        final int valueLen = view.getInt(p + ItemLayout.VALUE_LEN);
        if (keyLen < 1 || keyLen > SharedStore.MAX_KEY || valueLen < 0) {
            return size;
        }
        final long exact = ItemLayout.recordSize(keyLen, valueLen);
        if (exact == size || pos % ring.ringBytes() + exact > ring.ringBytes()
            || pos + exact != head && (pos + exact > head || ring.parses(pos + exact, head) == 0)) {
            return size;
        }
        if (exact > size && size != 0 && (pos + size == head || ring.parses(pos + size, head) != 0)) {
            // Both end where a record starts (or at the head): the longer one swallows the records
            // between, which is what a stray write does, to the lengths as well as to the SIZE. The
            // SIZE stays, and the item, its lengths not its record's, is dropped by the chains' cut
            // (its value length grown to another record's start was served as a value of 251 bytes).
            return size;
        }
        view.putInt(p + ItemLayout.SIZE, (int) exact);
        CrashPoints.at(StoreRepairPoint.SIZE_RESTORED);
        sizesRestored++;
        return (int) exact;
    }

    private boolean isPad(final long pos) {
        return ring.stateAt(pos) == ItemLayout.PAD;
    }

    /**
     * Sets a store's head and tail from its records when HEAD or TAIL says something the records
     * contradict (a stray write: no kill leaves them so): positions out of range, or an item a chain
     * reaches outside the ring between them, or ending past the head. Under the ring lock, {@link HeaderEvidence} finds them
     * again; where no record is known to be live, both become one position (the head if it could be
     * one, else the tail, else 0), the ring emptied, every chain cut by {@link #run} next. Nothing
     * is done if the header's page is not allocated (the store does not open for that reason too).
     *
     * @return what was done, or null if the positions stand, or the page is not allocated
     * @throws IllegalStateException if a live process holds the ring lock past {@code timeoutNanos}
     */
    static String mendPositions(final SharedArena arena, final int header, final long timeoutNanos) {
        if (Pages.state(arena, Integer.toUnsignedLong(header) / Geometry.PAGE_SIZE) != PageEntry.ALLOCATED) {
            return null;
        }
        final ArenaView v = arena.raw();
        final long ringBytes = v.getLong(header + StoreLayout.RING_BYTES);
        final SharedLock lock = arena.lockAt(header + StoreLayout.RING_LOCK);
        if (lock.lock(timeoutNanos) == LockResult.TIMEOUT) {
            throw new ArenaBusyException("ring lock held by a live process past the timeout: timeoutNanos="
                + timeoutNanos);
        }
        try {
            final long head = v.getLongAcquire(header + StoreLayout.HEAD);
            final long tail = v.getLongAcquire(header + StoreLayout.TAIL);
            final boolean sound = StoreFormat.positionsSound(head, tail, tail, ringBytes);
            final HeaderEvidence records = new HeaderEvidence(v, header);
            final long[] chained = records.chainedRange(sound ? tail : -1, head);
            if (sound && (chained[1] < 0 || chained[0] >= tail && records.endOf(chained[1]) <= head)) {
                return null;
            }
            final long[] found = records.recover(tail, chained[1]);
            final String was = "(head=" + head + ", tail=" + tail + ")";
            if (found != null && StoreFormat.positionsSound(found[0], found[1], found[1], ringBytes)) {
                if (found[0] == head && found[1] == tail) {
                    return null; // the positions stand: what a chain leads out of the ring to, the walk cuts
                }
                setPositions(v, header, ringBytes, head, tail, found[0], found[1]);
                return "ring positions " + (sound ? "contradicted by its records " : "out of range ") + was
                    + ": found again from the records: head=" + found[0] + ", tail=" + found[1];
            }
            if (sound) {
                return null;
            }
            final long at = head >= 0 && (head & (ItemLayout.ALIGN - 1)) == 0 ? head
                : tail >= 0 && (tail & (ItemLayout.ALIGN - 1)) == 0 ? tail : 0;
            setPositions(v, header, ringBytes, head, tail, at, at);
            return "ring positions out of range " + was + " and no record known to be live: the ring emptied at"
                + " position " + at + ", every item dropped";
        } finally {
            lock.unlock();
        }
    }

    /** The header's fixed fields, in the order {@link #mendGeometry} compares and writes them. */
    private static final int[] GEOMETRY_FIELDS = {StoreLayout.STRIPES, StoreLayout.BUCKET_BITS, StoreLayout.RING_BYTES,
        StoreLayout.STRIPES_PTR, StoreLayout.BUCKETS_PTR, StoreLayout.MAP_PTR, StoreLayout.RING_PTR,
        StoreLayout.REGION_PAGES};
    private static final String[] GEOMETRY_NAMES = {"stripes", "bucketBits", "ringBytes", "stripesPtr", "bucketsPtr",
        "mapPtr", "ringPtr", "regionPages"};

    /**
     * Sets back the store header's fixed fields (the stripe count, the bucket bits, the ring's size,
     * where each part of the region starts, the region's pages) that one stray write hit, and a max
     * item size that is no size at all ({@code <= 0}, or more than the ring holds).
     *
     * <p>Only the store's creation writes these fields, and each follows from the bucket bits and
     * the ring's size ({@code StoreFormat.parts}). Every geometry the fields name is tried; one is
     * written back only if exactly what one stray write can hit disagrees with it (one field, or the
     * two fields of one aligned 8-byte word), no other geometry is as close, and the ring's records
     * agree (the record at the tail, if the ring holds one, is where this ring size puts it). The
     * ring's size and the region's pages vouch for each other, and two writes hitting both can make
     * a wrong (larger) ring look right: so either is set back only when the ring has gone round and
     * its records prove its size ({@link #ringProven}). Otherwise, and on any tie, nothing is
     * written, and the store stays named as not opening.
     * Fields are written one at a time ({@link StoreRepairPoint#GEOMETRY_FIELD_SET} after each):
     * killed between two, the fields written agree with the geometry, and the next repair finds it
     * again. Processes attached keep the geometry they read at open, which is this one.
     *
     * @return what was set back, or null if nothing was (the fields agree, or no geometry stands out)
     */
    static String mendGeometry(final SharedArena arena, final int header) {
        final ArenaView v = arena.raw();
        if (v.getLongAcquire(header + StoreLayout.MAGIC) != StoreLayout.MAGIC_VALUE
            || !StoreFormat.readable(v.getInt(header + StoreLayout.VERSION))) {
            return null;
        }
        final long[] have = geometryFields(v, header);
        // Candidates: the bucket bits as stored and as the map's place says; the ring's size as stored,
        // as the ring's place and the region's pages say, and as the region's pages say for each bits.
        final List<Integer> bitsTried = new ArrayList<>(List.of((int) have[1]));
        for (int b = StoreFormat.MIN_BUCKET_BITS; b <= StoreFormat.MAX_BUCKET_BITS; b++) {
            if (StoreFormat.parts(header, b, StoreOptions.MIN_MEMORY_LIMIT)[2] == (int) have[5]) {
                bitsTried.add(b);
            }
        }
        final List<Long> ringsTried = new ArrayList<>(List.of(have[2],
            have[7] * PAGE - (have[6] - Integer.toUnsignedLong(header))));
        for (final int b : bitsTried) {
            ringsTried.add(ringForRegion(header, b, have[7]));
        }
        long[] best = null;
        int bestMissed = Integer.MAX_VALUE;
        boolean tie = false;
        for (final int b : bitsTried) {
            for (final long ring : ringsTried) {
                if (b < StoreFormat.MIN_BUCKET_BITS || b > StoreFormat.MAX_BUCKET_BITS
                    || ring < StoreOptions.MIN_MEMORY_LIMIT || ring % PAGE != 0
                    || Integer.toUnsignedLong(header) + ring > arena.capacityBytes()) {
                    continue;
                }
                final long[] want = geometryOf(header, b, ring);
                if (best != null && java.util.Arrays.equals(want, best)
                    || Integer.toUnsignedLong(header) + want[7] * PAGE > arena.capacityBytes()
                    || !recordsAgree(v, header, (int) want[6], ring)) {
                    continue;
                }
                int missed = oneStrayWrite(want, have);
                if (missed != Integer.MAX_VALUE && (want[2] != have[2] || want[7] != have[7])
                    && !ringProven(v, header, (int) want[6], ring)) {
                    // The ring's size and the region's pages vouch for each other: with one of them
                    // hit, only a ring that has gone round (its records' positions) says which.
                    missed = Integer.MAX_VALUE;
                }
                if (missed < bestMissed) {
                    best = want;
                    bestMissed = missed;
                    tie = false;
                } else if (missed == bestMissed) {
                    tie = true;
                }
            }
        }
        final StringBuilder set = new StringBuilder();
        final boolean sound = bestMissed == 0;
        final boolean mend = best != null && !tie && bestMissed > 0 && bestMissed != Integer.MAX_VALUE;
        if (mend) {
            for (int i = 0; i < GEOMETRY_FIELDS.length; i++) {
                if (best[i] != have[i]) {
                    if (GEOMETRY_FIELDS[i] == StoreLayout.RING_BYTES) {
                        v.putLongRelease(header + GEOMETRY_FIELDS[i], best[i]);
                    } else {
                        v.putIntRelease(header + GEOMETRY_FIELDS[i], (int) best[i]);
                    }
                    CrashPoints.at(StoreRepairPoint.GEOMETRY_FIELD_SET);
                    set.append(set.isEmpty() ? "" : ", ").append(GEOMETRY_NAMES[i]).append('=').append(have[i])
                        .append(" -> ").append(best[i]);
                }
            }
        }
        // The max item size is judged against the ring only once the geometry is known good.
        final long ring = v.getLong(header + StoreLayout.RING_BYTES);
        final int maxItem = v.getInt(header + StoreLayout.MAX_ITEM);
        final long bound = (ring - ring / Ring.SLACK_SHARE) / 2;
        if ((sound || mend) && (maxItem <= 0 || ItemLayout.recordSize(SharedStore.MAX_KEY, maxItem) > bound)) {
            int restored = StoreOptions.defaults().maxItemSize();
            while (restored > 1 && ItemLayout.recordSize(SharedStore.MAX_KEY, restored) > bound) {
                restored /= 2;
            }
            if (v.compareAndSetInt(header + StoreLayout.MAX_ITEM, maxItem, restored)) {
                CrashPoints.at(StoreRepairPoint.GEOMETRY_FIELD_SET);
                set.append(set.isEmpty() ? "" : ", ").append("maxItemSize=").append(maxItem).append(" -> ").append(restored)
                    .append(" (the default, within the ring; a larger value a whole item holds is restored after)");
            }
        }
        return set.isEmpty() ? null : "header's fixed fields hit by a stray write, set back from those that agree: " + set;
    }

    /**
     * @return how many of the fields {@code have} differ from {@code want}, if one stray write can
     * explain them (none; one field; the two 4-byte fields of one aligned 8-byte word), else
     * {@link Integer#MAX_VALUE}
     */
    private static int oneStrayWrite(final long[] want, final long[] have) {
        int first = -1;
        int missed = 0;
        for (int i = 0; i < want.length; i++) {
            if (want[i] != have[i]) {
                if (++missed == 1) {
                    first = i;
                } else if (missed > 2 || GEOMETRY_FIELDS[first] / 8 != GEOMETRY_FIELDS[i] / 8) {
                    return Integer.MAX_VALUE;
                }
            }
        }
        return missed;
    }

    /**
     * @return whether the ring's records prove a ring of {@code ringBytes} at {@code ringPtr}: the
     * ring has gone round it (the tail is past its size), and the record at the tail is where this
     * size puts it. A ring that has not gone round reads the same for every size past its head, and
     * two stray writes (the ring's size and the region's pages) can make a larger one look right,
     * whose region would reach over pages another owner holds.
     */
    private static boolean ringProven(final ArenaView v, final int header, final int ringPtr, final long ringBytes) {
        final long tail = v.getLongAcquire(header + StoreLayout.TAIL);
        return tail >= ringBytes && recordsAgree(v, header, ringPtr, ringBytes)
            && v.getLongAcquire(header + StoreLayout.HEAD) != tail;
    }

    /**
     * @return whether the ring's records agree with a ring of {@code ringBytes} at {@code ringPtr}:
     * with sound positions, an empty ring, or the record at the tail carrying the tail as its
     * position where this ring puts it (a ring size off by even a page puts a lapped ring's tail
     * elsewhere)
     */
    private static boolean recordsAgree(final ArenaView v, final int header, final int ringPtr, final long ringBytes) {
        final long head = v.getLongAcquire(header + StoreLayout.HEAD);
        final long tail = v.getLongAcquire(header + StoreLayout.TAIL);
        if (!StoreFormat.positionsSound(head, tail, tail, ringBytes)) {
            return false;
        }
        return head == tail || v.getLongAcquire(ringPtr + (int) (tail % ringBytes) + ItemLayout.POS) == tail;
    }

    /** @return the eight fields of {@link #GEOMETRY_FIELDS} as stored (unsigned ints, RING_BYTES whole) */
    private static long[] geometryFields(final ArenaView v, final int header) {
        final long[] f = new long[GEOMETRY_FIELDS.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = GEOMETRY_FIELDS[i] == StoreLayout.RING_BYTES ? v.getLong(header + GEOMETRY_FIELDS[i])
                : Integer.toUnsignedLong(v.getInt(header + GEOMETRY_FIELDS[i]));
        }
        return f;
    }

    /** @return the eight fields of {@link #GEOMETRY_FIELDS} a store of this geometry was created with */
    private static long[] geometryOf(final int header, final int bits, final long ring) {
        final int[] parts = StoreFormat.parts(header, bits, ring);
        return new long[] {StoreOptions.STRIPES, bits, ring, Integer.toUnsignedLong(parts[0]), Integer.toUnsignedLong(parts[1]),
            Integer.toUnsignedLong(parts[2]), Integer.toUnsignedLong(parts[3]), Integer.toUnsignedLong(parts[4])};
    }

    /** @return the ring size whose region, with {@code bits}, is {@code regionPages} pages (0 if none is) */
    private static long ringForRegion(final int header, final int bits, final long regionPages) {
        long lo = 0;
        long hi = regionPages;
        while (lo < hi) { // the smallest ring (in pages) whose region is at least regionPages
            final long mid = (lo + hi) >>> 1;
            if (StoreFormat.parts(header, bits, mid * PAGE)[4] < regionPages) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return StoreFormat.parts(header, bits, lo * PAGE)[4] == regionPages ? lo * PAGE : 0;
    }

    /**
     * Restores a store's max item size that a stray write lowered below the value a whole item
     * holds ({@link HeaderEvidence#largestWholeValue}): every read of such an item took it for
     * damage, and the repair's walk cut every chain at one. The size it had is lost; it becomes the
     * default ({@link StoreOptions#defaults()}, 1 MiB), or that value if larger, within what the ring
     * allows: no item held is refused, nor a value the default admits. One store, read by each
     * process when it attaches.
     *
     * @return what was done, or null if no whole item holds more than the limit
     */
    static String mendMaxItem(final SharedArena arena, final int header) {
        final ArenaView v = arena.raw();
        final int maxItem = v.getIntAcquire(header + StoreLayout.MAX_ITEM);
        final long ring = v.getLong(header + StoreLayout.RING_BYTES);
        final long bound = (ring - ring / Ring.SLACK_SHARE) / 2;
        final int largest = new HeaderEvidence(v, header).largestWholeValue();
        if (largest <= Math.max(maxItem, Numbers.MAX_DIGITS) || ItemLayout.recordSize(SharedStore.MAX_KEY, largest) > bound) {
            return null;
        }
        int restored = Math.max(largest, StoreOptions.defaults().maxItemSize());
        while (ItemLayout.recordSize(SharedStore.MAX_KEY, restored) > bound) {
            restored = (int) Math.max(largest, restored - Math.max(ItemLayout.ALIGN,
                ItemLayout.recordSize(SharedStore.MAX_KEY, restored) - bound));
        }
        if (!v.compareAndSetInt(header + StoreLayout.MAX_ITEM, maxItem, restored)) {
            return null;
        }
        return "max item size below the value a whole item holds (maxItemSize=" + maxItem + ", value=" + largest
            + "): restored to " + restored + ", the default or that value, within the ring (processes attached"
            + " before this see it when they open the store again)";
    }

    /**
     * Writes the new positions one word at a time, first the one that leaves a sound pair between the
     * two stores where one does (TAIL first otherwise); killed between them, the store does not open
     * until the next repair finishes ({@link StoreRepairPoint#POSITIONS_TAIL_SET}).
     */
    private static void setPositions(final ArenaView v, final int header, final long ringBytes, final long head,
                                     final long tail, final long newHead, final long newTail) {
        final boolean headFirst = !StoreFormat.positionsSound(head, newTail, newTail, ringBytes)
            && StoreFormat.positionsSound(newHead, tail, tail, ringBytes);
        v.putLongRelease(header + (headFirst ? StoreLayout.HEAD : StoreLayout.TAIL), headFirst ? newHead : newTail);
        CrashPoints.at(StoreRepairPoint.POSITIONS_TAIL_SET);
        v.putLongRelease(header + (headFirst ? StoreLayout.TAIL : StoreLayout.HEAD), headFirst ? newTail : newHead);
    }

    /** Writes {@code [from, to)} as PAD records, none crossing the ring's end nor longer than {@link #MAX_PAD}. */
    private void pad(final long from, final long to) {
        final long bytes = ring.ringBytes();
        long pos = from;
        while (pos < to) {
            final long toEnd = bytes - pos % bytes;
            final int size = (int) Math.min(Math.min(to - pos, toEnd), MAX_PAD);
            ring.padForRepair(pos, size);
            pos += size;
        }
    }
}
