package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.LockWord;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import org.agrona.collections.IntHashSet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.BitSet;

/**
 * The chained hash index ({@link StoreLayout}): bucket words pointing to chains of items, and the
 * stripes that guard them. Lookups here are lock-free and leave validation to the caller
 * ({@link Ring#valid}); the {@code *Locked} methods require the key's stripe lock.
 */
final class Index {
    /** A chain longer than this is not a chain: reused space under a reader, or corruption under a lock. */
    static final int MAX_HOPS = 1 << 20;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle NATIVE_LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final ArenaView view;
    /** The arena's segment, for the lock-free lookup's plain loads (see {@link #find}). */
    private final MemorySegment seg;
    private final int buckets;
    private final int bucketMask;
    private final int stripes;
    private final int stripeMask;
    private final SharedLock[] locks;
    private final Ring ring;
    /**
     * The longest value an item can hold: the store's max item size, or an incr's result if longer
     * (incr and decr store their 20 digits whatever the limit). A longer length read from an item
     * is damage, not a value.
     */
    private final int maxValue;

    Index(final SharedArena arena, final int buckets, final int bucketCount, final int stripes, final int stripeCount,
          final Ring ring, final int maxItem) {
        this.view = arena.raw();
        this.maxValue = Math.max(maxItem, Numbers.MAX_DIGITS);
        this.seg = view.segment();
        this.buckets = buckets;
        this.bucketMask = bucketCount - 1;
        this.stripes = stripes;
        this.stripeMask = stripeCount - 1;
        this.ring = ring;
        this.locks = new SharedLock[stripeCount];
        // A read-only attachment (tools) walks the index and takes no lock.
        for (int i = 0; i < stripeCount && ArenaInternals.slot(arena) >= 0; i++) {
            locks[i] = arena.lockAt(stripes + i * StoreLayout.STRIPE_SIZE + StoreLayout.STRIPE_LOCK);
        }
    }

    /** A 64-bit multiply-xorshift hash of the key, folded to 32 bits. */
    static int hash(final byte[] key, final int len) {
        return hash(key, 0, len);
    }

    /** {@link #hash(byte[], int)} of the key in {@code buf[off, off + len)}. */
    static int hash(final byte[] buf, final int off, final int len) {
        long h = 0x9E37_79B9_7F4A_7C15L ^ len;
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            h = (h ^ (long) LONGS.get(buf, off + i)) * 0xBF58_476D_1CE4_E5B9L;
            h ^= h >>> 29;
        }
        long tail = 0;
        for (int s = 0; i < len; i++, s += 8) {
            tail |= (buf[off + i] & 0xFFL) << s;
        }
        h = (h ^ tail) * 0x94D0_49BB_1331_11EBL;
        h ^= h >>> 31;
        h *= 0xBF58_476D_1CE4_E5B9L;
        h ^= h >>> 32;
        return (int) h;
    }

    int bucketWord(final int hash) {
        return buckets + (hash & bucketMask) * StoreLayout.BUCKET_SIZE;
    }

    /**
     * @return the first link of the key's bucket as it is now, unvalidated: only a hint of where
     * its look-up will go ({@link StoreReads#prefetch})
     */
    int firstLink(final int hash) {
        return seg.get(INT, Integer.toUnsignedLong(bucketWord(hash)));
    }

    int bucketOf(final int hash) {
        return hash & bucketMask;
    }

    int stripeOf(final int hash) {
        // Stripes divide buckets (both powers of two), so one stripe guards whole buckets.
        return hash & stripeMask;
    }

    int stripeCount() {
        return stripeMask + 1;
    }

    /**
     * @return the largest CAS value below {@link Ring#CAS_COUNTER_LIMIT} of the LINKED items the chains reach, 0 if none; a
     * chain ends at a link out of the ring (the repair's walk cuts it) or after {@link #MAX_HOPS}
     */
    long newestChainedCas() {
        long newest = 0;
        for (int b = 0; b < bucketCount(); b++) {
            int p = bucketHead(b);
            for (int hops = 0; p != 0 && hops <= MAX_HOPS && ring.contains(p); hops++) {
                if (view.getIntAcquire(p + ItemLayout.STATE) == ItemLayout.LINKED) {
                    final long cas = view.getLong(p + ItemLayout.CAS);
                    newest = cas >= 0 && cas < Ring.CAS_COUNTER_LIMIT && cas > newest ? cas : newest;
                }
                p = view.getIntAcquire(p + ItemLayout.NEXT);
            }
        }
        return newest;
    }

    int bucketCount() {
        return bucketMask + 1;
    }

    private int stripePtr(final int stripe) {
        return stripes + stripe * StoreLayout.STRIPE_SIZE;
    }

    /**
     * Takes the stripe lock; a lock taken over from a dead owner recounts the stripe first.
     *
     * @return false on timeout
     * @throws IllegalStateException if this thread holds it already (a store call from inside one:
     * the callback of {@link SharedStore#onTailWait}, say); nothing changed, the lock still held
     * @throws io.sharena.core.ArenaCorruptedException if a lock taken over finds the stripe's chains
     * broken; the lock is not held then
     */
    boolean lockStripe(final int stripe, final long timeoutNanos) {
        final LockResult r = locks[stripe].lock(timeoutNanos);
        if (r == LockResult.TIMEOUT) {
            return false;
        }
        if (r == LockResult.DEADLOCK) {
            // Going on would unlock the holder's lock at the end of this call, under its feet.
            throw new IllegalStateException("a store call made while this thread holds the lock of stripe "
                + stripe + " (a write from inside a store callback?)");
        }
        if (r == LockResult.RECOVERED) {
            try {
                recountLocked(stripe);
            } catch (final RuntimeException e) {
                // Its chains do not parse: the caller gets the error, and the lock is not left held
                // by a live process, which neither the other processes nor a repair could take over.
                locks[stripe].unlock();
                throw e;
            }
        }
        return true;
    }

    /**
     * Takes the stripe lock for the publication of {@code y}, a RESERVED record of this process:
     * gives {@code y} up if the lock is not had, whether on timeout or by an exception (a lock taken
     * over from a dead owner whose stripe's chains do not parse). Left RESERVED by a live process,
     * it would stop the ring's tail for as long as the process lives: every write of every process
     * would wait for it and fail.
     *
     * @return false on timeout ({@code y} given up)
     */
    boolean lockStripeToPublish(final Ring ring, final int stripe, final int y, final long timeoutNanos) {
        final boolean locked;
        try {
            locked = lockStripe(stripe, timeoutNanos);
        } catch (final RuntimeException e) {
            ring.abandon(y);
            throw e;
        }
        if (!locked) {
            ring.abandon(y);
        }
        return locked;
    }

    /** @return whether a thread of the attachment {@code ownership} names holds one of the stripe locks */
    boolean stripeHeldBy(final io.sharena.core.owner.Ownership ownership) {
        for (final SharedLock l : locks) {
            if (ownership.isMine(l.ownerWord())) {
                return true;
            }
        }
        return false;
    }

    void unlockStripe(final int stripe) {
        locks[stripe].unlock();
    }

    /** @return whether someone (alive or dead) holds the stripe's lock: its counts may be mid-update */
    boolean stripeHeld(final int stripe) {
        // The word itself, not the lock object: read-only attachments have none.
        return view.getLongVolatile(stripePtr(stripe) + StoreLayout.STRIPE_LOCK) != LockWord.UNLOCKED;
    }

    /**
     * Takes every stripe lock in turn, so that any held by a dead process is taken over and its
     * stripe recounted.
     *
     * @return the stripes taken over, or -1 - stripe for the first one a live process held too long
     */
    int repairStripes(final long timeoutNanos) {
        int recovered = 0;
        for (int s = 0; s <= stripeMask; s++) {
            final LockResult r = locks[s].lock(timeoutNanos);
            if (r == LockResult.TIMEOUT) {
                return -1 - s;
            }
            try {
                if (r == LockResult.RECOVERED) {
                    recountLocked(s);
                    recovered++;
                }
            } finally {
                // Unlocked even if the recount meets a fault (a file cut short): the stripe's writers go on.
                if (r != LockResult.DEADLOCK) {
                    locks[s].unlock();
                }
            }
        }
        return recovered;
    }

    /**
     * Recounts every stripe from its chains under its lock (tools: a count damaged in the file, not
     * only one a dead holder left half-updated).
     *
     * @return the stripes whose counts differed, or -1 - stripe for the first one a live process
     * held too long
     */
    int recountStripes(final long timeoutNanos) {
        int changed = 0;
        for (int s = 0; s <= stripeMask; s++) {
            final LockResult r = locks[s].lock(timeoutNanos);
            if (r == LockResult.TIMEOUT) {
                return -1 - s;
            }
            try {
                final long items = stripeItems(s);
                final long bytes = stripeBytes(s);
                recountLocked(s);
                if (items != stripeItems(s) || bytes != stripeBytes(s)) {
                    changed++;
                }
            } finally {
                if (r != LockResult.DEADLOCK) {
                    locks[s].unlock();
                }
            }
        }
        return changed;
    }

    // ------------------------------------------------------------------ lock-free lookup

    /**
     * Walks the key's chain without a lock, filling {@code c}: {@code c.ptr} is the item (0 for
     * none) and {@code c.minPos} the lowest position read. The result means something only if
     * {@link Ring#valid} holds afterwards; a walk that met bytes that are not a record of this
     * bucket returns false at once (start again).
     *
     * <p>{@code tailBefore} is the tail loaded before the walk. Every record the walk reaches was
     * linked at the instant its link was loaded, so its position was at or above the tail then,
     * hence at or above {@code tailBefore}; a record whose space was reused during the walk by a
     * later one sits a whole ring further on (or, placed in a hole, at the same position: the
     * reuse count tells that, {@link Ring#valid}). So a position outside {@code [tailBefore, tailBefore
     * + ringBytes)} means the walk left the chains it started on: without this check, a record of
     * the same bucket written over a passed one would be followed as if it were the old one, and
     * the walk could report a key missing that was there all along (its own position, being new,
     * would not fail the tail check).
     */
    boolean find(final byte[] key, final int len, final int hash, final long tailBefore, final Cursor c) {
        // Plain loads, each link load followed by an acquire fence: the same ordering as an acquire
        // load (the record's bytes are read after the link that published it), without the
        // alignment check a var handle's acquire access makes on every call.
        c.ptr = 0;
        long minPos = Long.MAX_VALUE;
        int p = seg.get(INT, Integer.toUnsignedLong(bucketWord(hash)));
        VarHandle.acquireFence();
        for (int hops = 0; p != 0; hops++) {
            if (hops == MAX_HOPS || !ring.contains(p)) {
                c.minPos = minPos;
                return false;
            }
            final long at = Integer.toUnsignedLong(p);
            final long pos = seg.get(LONG, at + ItemLayout.POS);
            if (pos - tailBefore < 0 || pos - tailBefore >= ring.ringBytes() || !ring.at(p, pos)) {
                c.minPos = minPos;
                return false;
            }
            minPos = Math.min(minPos, pos);
            final int h = seg.get(INT, at + ItemLayout.HASH);
            if (((h ^ hash) & bucketMask) != 0) {
                // Space reused by an item of another bucket: its chain is not ours.
                c.minPos = minPos;
                return false;
            }
            if (h == hash && seg.get(INT, at + ItemLayout.KEY_LEN) == len && ring.fits(p, len, 0)
                && keyEquals(at, key, len)) {
                c.minPos = minPos;
                return readFields(p, pos, len, c);
            }
            p = seg.get(INT, at + ItemLayout.NEXT);
            VarHandle.acquireFence();
        }
        c.minPos = minPos;
        return true;
    }

    private boolean readFields(final int p, final long pos, final int len, final Cursor c) {
        final long at = Integer.toUnsignedLong(p);
        final int valueLen = seg.get(INT, at + ItemLayout.VALUE_LEN);
        // No item holds more than the max item size, nor more than its record: a longer length
        // would hand the caller the records that follow, other keys' values (and a large enough
        // one, an allocation of up to 2 GiB). A length changed within the record's padding no
        // header field tells (records carry no checksum).
        if (valueLen > maxValue || !ring.fits(p, len, valueLen)
            || ItemLayout.recordSize(len, valueLen) != seg.get(INT, at + ItemLayout.SIZE)) {
            return false;
        }
        c.ptr = p;
        c.pos = pos;
        c.keyLen = len;
        c.valueLen = valueLen;
        c.flags = seg.get(INT, at + ItemLayout.FLAGS);
        c.cas = seg.get(LONG, at + ItemLayout.CAS);
        c.expires = Integer.toUnsignedLong(seg.get(INT, at + ItemLayout.EXPIRES));
        c.stored = Integer.toUnsignedLong(seg.get(INT, at + ItemLayout.STORED));
        c.meta = seg.get(INT, at + ItemLayout.META);
        VarHandle.acquireFence();
        return true;
    }

    /**
     * Compares 8 bytes at a time, both sides read in native order. (MemorySegment.mismatch against
     * MemorySegment.ofArray(key) allocates a segment whenever escape analysis gives up.)
     */
    private boolean keyEquals(final long at, final byte[] key, final int len) {
        final long k = at + ItemLayout.KEY;
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            if (seg.get(LONG, k + i) != (long) NATIVE_LONGS.get(key, i)) {
                return false;
            }
        }
        for (; i < len; i++) {
            if (seg.get(ValueLayout.JAVA_BYTE, k + i) != key[i]) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ under the stripe lock

    /**
     * Finds the key's LINKED item under its stripe lock: chains are stable then (only lock holders
     * change links, and the tail cannot pass a LINKED item without this lock).
     *
     * @return whether found; {@code c.ptr}, {@code c.pred} and the fields are set when it is
     */
    boolean findLocked(final byte[] key, final int len, final int hash, final Cursor c) {
        int link = bucketWord(hash);
        int p = view.getIntAcquire(link);
        for (int hops = 0; p != 0; hops++) {
            checkChained(p, hops, hash);
            if (view.getInt(p + ItemLayout.HASH) == hash && view.getInt(p + ItemLayout.KEY_LEN) == len
                && ring.fits(p, len, 0) && keyEquals(Integer.toUnsignedLong(p), key, len)) {
                c.pred = link;
                if (!readFields(p, view.getLong(p + ItemLayout.POS), len, c)) {
                    // Chains are stable under the lock: the key's own item is damaged. Not "absent":
                    // the caller would publish in its place with the cursor's stale fields (another
                    // key's item, marked DEAD while still chained in its bucket).
                    c.ptr = 0;
                    throw new ArenaCorruptedException("store index", Integer.toUnsignedLong(p),
                        "item value length out of range or not its record's: bucket=" + (hash & bucketMask) + ", valueLen="
                            + view.getInt(p + ItemLayout.VALUE_LEN) + ", size=" + view.getInt(p + ItemLayout.SIZE)
                            + ", maxValue=" + maxValue);
                }
                return true;
            }
            link = p + ItemLayout.NEXT;
            p = view.getIntAcquire(link);
        }
        c.ptr = 0;
        c.pred = bucketWord(hash);
        return false;
    }

    /** @return the link word pointing at item {@code x} in its chain, or 0 if no chain holds it */
    int predLocked(final int x, final int hash) {
        int link = bucketWord(hash);
        int p = view.getIntAcquire(link);
        for (int hops = 0; p != 0; hops++) {
            checkChained(p, hops, hash);
            if (p == x) {
                return link;
            }
            link = p + ItemLayout.NEXT;
            p = view.getIntAcquire(link);
        }
        return 0;
    }

    private void checkChained(final int p, final int hops, final int hash) {
        if (hops >= MAX_HOPS || !ring.contains(p) || view.getIntAcquire(p + ItemLayout.STATE) != ItemLayout.LINKED) {
            throw new ArenaCorruptedException("store index", Integer.toUnsignedLong(p),
                "chain holds what is not a linked item: bucket=" + (hash & bucketMask) + ", hops=" + hops
                    + ", state=" + (ring.contains(p) ? view.getInt(p + ItemLayout.STATE) : -1));
        }
    }

    /**
     * Publishes item {@code y} (RESERVED, built, owned by the caller) in place of the found item
     * ({@code c.ptr}, or at the chain head when 0), under the stripe lock.
     *
     * @return false if {@code y} was declared dead meanwhile (its owner looked dead): nothing changed
     */
    boolean publishLocked(final Cursor c, final int y, final long cas, final int stripe, final StorePoint linked,
                          final StorePoint published) {
        // The room kept free at the head must be able to move y once it is linked (Ring#writable).
        ring.raiseLargest(view.getInt(y + ItemLayout.SIZE));
        // The state goes first: from here on eviction treats y as LINKED and needs this stripe's lock.
        if (!view.compareAndSetInt(y + ItemLayout.STATE, ItemLayout.RESERVED, ItemLayout.LINKED)) {
            return false;
        }
        io.sharena.core.crash.CrashPoints.at(StorePoint.SET_MARKED_LINKED);
        final int x = c.ptr;
        // Both sizes are read now, while x is LINKED: once x is DEAD the tail may pass it without this
        // lock and the head reuse its space, so its header may then hold another record's size.
        final int xSize = x != 0 ? view.getInt(x + ItemLayout.SIZE) : 0;
        final long xPos = x != 0 ? view.getLong(x + ItemLayout.POS) : 0;
        final long delta = view.getInt(y + ItemLayout.SIZE) - xSize;
        view.putLong(y + ItemLayout.CAS, cas);
        view.putInt(y + ItemLayout.NEXT, x != 0 ? view.getInt(x + ItemLayout.NEXT) : view.getInt(c.pred));
        io.sharena.core.crash.CrashPoints.at(linked);
        // The one store that publishes y, with everything written above: readers see x or y.
        view.putIntRelease(c.pred, y);
        io.sharena.core.crash.CrashPoints.at(published);
        if (x != 0) {
            view.putIntRelease(x + ItemLayout.STATE, ItemLayout.DEAD);
            io.sharena.core.crash.CrashPoints.at(StorePoint.SET_OLD_DEAD);
            addLocked(stripe, 0, delta);
            ring.keepReplaced(xPos, xSize);
        } else {
            addLocked(stripe, 1, delta);
        }
        return true;
    }

    /** Unlinks the found item {@code c.ptr} and marks it DEAD, under the stripe lock. */
    void unlinkLocked(final Cursor c, final int stripe, final StorePoint unlinked) {
        final int x = c.ptr;
        // Read before the DEAD mark, after which x's space may be reused (see publishLocked).
        final int size = view.getInt(x + ItemLayout.SIZE);
        final long pos = view.getLong(x + ItemLayout.POS);
        view.putIntRelease(c.pred, view.getInt(x + ItemLayout.NEXT));
        io.sharena.core.crash.CrashPoints.at(unlinked);
        view.putIntRelease(x + ItemLayout.STATE, ItemLayout.DEAD);
        addLocked(stripe, -1, -size);
        ring.keepReplaced(pos, size);
    }

    /** Plain read and write: only the stripe's lock holder changes its counts. */
    void addLocked(final int stripe, final long items, final long bytes) {
        final int s = stripePtr(stripe);
        view.putLongRelease(s + StoreLayout.STRIPE_ITEMS, view.getLong(s + StoreLayout.STRIPE_ITEMS) + items);
        view.putLongRelease(s + StoreLayout.STRIPE_BYTES, view.getLong(s + StoreLayout.STRIPE_BYTES) + bytes);
    }

    /** Recounts a stripe's items and bytes from its chains (its lock was taken over from a dead holder). */
    void recountLocked(final int stripe) {
        long items = 0;
        long bytes = 0;
        for (int b = stripe; b <= bucketMask; b += stripeMask + 1) {
            int p = view.getIntAcquire(buckets + b * StoreLayout.BUCKET_SIZE);
            for (int hops = 0; p != 0; hops++) {
                checkChained(p, hops, b);
                items++;
                bytes += view.getInt(p + ItemLayout.SIZE);
                p = view.getIntAcquire(p + ItemLayout.NEXT);
            }
        }
        final int s = stripePtr(stripe);
        view.putLongRelease(s + StoreLayout.STRIPE_ITEMS, items);
        io.sharena.core.crash.CrashPoints.at(StoreRepairPoint.RECOUNT_ITEMS_WRITTEN);
        view.putLongRelease(s + StoreLayout.STRIPE_BYTES, bytes);
    }

    /** @return the longest value an item can hold (see {@link #maxValue}) */
    int maxValue() {
        return maxValue;
    }

    /**
     * @return whether the chained item {@code p} of bucket {@code b} is whole by its header: LINKED,
     * of its bucket, its key and value lengths in range and within its record's size (tools: the
     * checker reports, the repair cuts, what is not)
     */
    boolean itemSane(final int p, final int b) {
        final int keyLen = view.getInt(p + ItemLayout.KEY_LEN);
        final int valueLen = view.getInt(p + ItemLayout.VALUE_LEN);
        return view.getIntAcquire(p + ItemLayout.STATE) == ItemLayout.LINKED
            && (view.getInt(p + ItemLayout.HASH) & bucketMask) == b
            && keyLen >= 1 && keyLen <= SharedStore.MAX_KEY && valueLen <= maxValue && ring.fits(p, keyLen, valueLen)
            && ItemLayout.recordSize(keyLen, valueLen) == view.getInt(p + ItemLayout.SIZE);
    }

    /**
     * Cuts every chain at its first link to what is not a whole item ({@link #itemSane}) whose
     * HASH is its key's ({@link #hashOfKey}: a key byte overwritten makes the item one no look-up
     * finds) starting one of the ring's records ({@code records}: physical starts in {@link ItemLayout#ALIGN} units),
     * or to an item already met (a cycle, or two chains sharing an item), under each stripe's lock
     * in turn. For the tools' repair, with the ring lock held, so that the tail cannot move
     * meanwhile. The items past a cut are LINKED in no chain, still counted by their stripe:
     * {@link StoreRelink} links them again. A stripe lock taken over from a dead holder is
     * recounted once its chains are cut.
     *
     * @param seen         receives the records the chains reach (as {@code records})
     * @param shortStripes receives the stripes whose counts hold more items than their chains, once
     *                     cut (not one taken over: its counts were a dead holder's, and are recounted)
     * @param tookOver     receives in {@code [0]} the stripe locks taken over from dead holders
     * @return the chains cut, or -1 - stripe for the first stripe a live process held too long
     */
    int cutBrokenChains(final BitSet records, final BitSet seen, final BitSet shortStripes, final long timeoutNanos,
                        final int[] tookOver) {
        int cuts = 0;
        for (int s = 0; s <= stripeMask; s++) {
            final LockResult r = locks[s].lock(timeoutNanos);
            if (r == LockResult.TIMEOUT) {
                return -1 - s;
            }
            try {
                // The walk first, the cuts after: a stripe whose counts hold more than its chains is
                // marked before anything in it changes (a recount after a kill would erase that).
                long chained = 0;
                final org.agrona.collections.IntArrayList cutAt = new org.agrona.collections.IntArrayList();
                for (int b = s; b <= bucketMask; b += stripeMask + 1) {
                    int link = buckets + b * StoreLayout.BUCKET_SIZE;
                    int p = view.getIntAcquire(link);
                    for (int hops = 0; p != 0; hops++) {
                        final int unit = ring.contains(p) ? ring.unitOf(p) : -1;
                        if (hops >= MAX_HOPS || unit < 0 || !records.get(unit) || seen.get(unit) || !itemSane(p, b)
                            || !hashOfKey(p)) {
                            cutAt.addInt(link);
                            break;
                        }
                        seen.set(unit);
                        chained++;
                        link = p + ItemLayout.NEXT;
                        p = view.getIntAcquire(link);
                    }
                }
                if (r != LockResult.RECOVERED && stripeItems(s) > chained && !relinkPending(s)) {
                    view.putLongRelease(stripePtr(s) + StoreLayout.STRIPE_RELINK, 1L);
                    io.sharena.core.crash.CrashPoints.at(StoreRepairPoint.RELINK_MARKED);
                }
                if (relinkPending(s)) {
                    shortStripes.set(s); // found so now, or by a repair killed before it finished
                }
                for (int i = 0; i < cutAt.size(); i++) {
                    // One store: readers see the chain as it was or cut here.
                    view.putIntRelease(cutAt.getInt(i), 0);
                    io.sharena.core.crash.CrashPoints.at(StoreRepairPoint.CHAIN_CUT);
                    cuts++;
                }
                if (r == LockResult.RECOVERED) {
                    // A dead holder's stripe (a writer's, or a killed repair's): recounted from its
                    // chains once they parse; what a killed repair had to relink, its mark tells.
                    recountLocked(s);
                    tookOver[0]++;
                }
            } finally {
                if (r != LockResult.DEADLOCK) {
                    locks[s].unlock();
                }
            }
        }
        return cuts;
    }

    /**
     * Takes a stripe lock for the tools' repair; one taken over from a dead holder is recounted.
     *
     * @return ACQUIRED, RECOVERED or TIMEOUT (DEADLOCK: this thread held it already; not unlocked then)
     */
    LockResult lockStripeForRepair(final int stripe, final long timeoutNanos) {
        final LockResult r = locks[stripe].lock(timeoutNanos);
        if (r == LockResult.RECOVERED) {
            recountLocked(stripe);
        }
        return r;
    }

    /** Gives back a lock {@link #lockStripeForRepair} took ({@code r}: what it answered). */
    void unlockStripeAfterRepair(final int stripe, final LockResult r) {
        if (r != LockResult.DEADLOCK && r != LockResult.TIMEOUT) {
            locks[stripe].unlock();
        }
    }

    /**
     * Adds the records bucket {@code b}'s chain reaches to {@code out} (as {@link Ring#unitOf}),
     * stopping at a link that leaves the ring (tools, under the stripe lock).
     *
     * @return the bytes (record sizes) of the items added
     */
    long chainUnits(final int b, final IntHashSet out) {
        long bytes = 0;
        int p = bucketHead(b);
        for (int hops = 0; p != 0 && hops < MAX_HOPS && ring.contains(p); hops++) {
            if (!out.add(ring.unitOf(p))) {
                break; // a cycle
            }
            bytes += view.getInt(p + ItemLayout.SIZE);
            p = view.getIntAcquire(p + ItemLayout.NEXT);
        }
        return bytes;
    }

    /**
     * @return whether bucket {@code b}'s chain holds an item other than {@code item} with
     * {@code item}'s hash and key (tools: an unreached item whose key is chained is an older
     * version of it); a chain that leaves the ring is followed no further
     */
    boolean chainHoldsKeyOf(final int b, final int item) {
        final byte[] key = keyBytes(item);
        if (key == null) {
            return false;
        }
        final int hash = view.getInt(item + ItemLayout.HASH);
        int p = bucketHead(b);
        for (int hops = 0; p != 0 && hops < MAX_HOPS && ring.contains(p); hops++) {
            if (p != item && view.getInt(p + ItemLayout.HASH) == hash && view.getInt(p + ItemLayout.KEY_LEN) == key.length
                && ring.fits(p, key.length, 0) && keyEquals(Integer.toUnsignedLong(p), key, key.length)) {
                return true;
            }
            p = view.getIntAcquire(p + ItemLayout.NEXT);
        }
        return false;
    }

    /** @return whether the item's HASH word is its key's hash (tools: else a lookup could never find it) */
    boolean hashOfKey(final int item) {
        final byte[] key = keyBytes(item);
        return key != null && hash(key, key.length) == view.getInt(item + ItemLayout.HASH);
    }

    /** @return a copy of the item's key, or null if its length is not a key's (tools) */
    byte[] keyBytes(final int item) {
        final int len = view.getInt(item + ItemLayout.KEY_LEN);
        if (len < 1 || len > SharedStore.MAX_KEY || !ring.fits(item, len, 0)) {
            return null;
        }
        final byte[] key = new byte[len];
        view.getBytes(item + ItemLayout.KEY, key, 0, len);
        return key;
    }

    /**
     * Links the whole LINKED item {@code p}, which no chain reaches, at the head of bucket
     * {@code b}'s chain (tools' repair, under its stripe lock; the stripe's counts still hold it).
     * Its NEXT first, while no reader can reach it; then one release store publishes it: readers
     * see the chain without it or with it.
     */
    void relinkLocked(final int b, final int p) {
        final int link = buckets + b * StoreLayout.BUCKET_SIZE;
        view.putInt(p + ItemLayout.NEXT, view.getIntAcquire(link));
        io.sharena.core.crash.CrashPoints.at(StoreRepairPoint.RELINK_NEXT_SET);
        view.putIntRelease(link, p);
        io.sharena.core.crash.CrashPoints.at(StoreRepairPoint.ITEM_RELINKED);
    }

    /** @return {items, bytes} summed over the stripes, read without locks */
    long[] totals() {
        long items = 0;
        long bytes = 0;
        for (int i = 0; i <= stripeMask; i++) {
            items += view.getLongAcquire(stripePtr(i) + StoreLayout.STRIPE_ITEMS);
            bytes += view.getLongAcquire(stripePtr(i) + StoreLayout.STRIPE_BYTES);
        }
        return new long[] {items, bytes};
    }

    /**
     * Adds the keys of bucket {@code b}'s LINKED items to {@code out}, read without a lock, with the
     * checks of {@link #find}: a record outside {@code [tailBefore, tailBefore + ringBytes)} or of
     * another bucket is space reused during the walk, not this chain.
     *
     * <p>A chain a stray write closed into a loop is found within two laps of it, not after a
     * million keys copied: the walk compares each record with one it passed, saved at hops 1, 2,
     * 4, 8, ... (Brent's method). It compares only records it reached itself, never reading a link
     * again: a second pointer that did (at half the pace) took a chain shortened by a delete
     * meanwhile and met the first on a healthy store.
     *
     * @return the lowest ring position read (validate it with {@link Ring#valid}), or -1 if the walk
     * met bytes that are not a chain (start again)
     */
    long keysOf(final int b, final java.util.List<byte[]> out, final long tailBefore) {
        long minPos = Long.MAX_VALUE;
        int p = view.getIntAcquire(buckets + b * StoreLayout.BUCKET_SIZE);
        int saved = 0;
        int lap = 1;
        for (int hops = 0; p != 0; hops++) {
            if (hops == MAX_HOPS || !ring.contains(p) || p == saved) {
                return -1;
            }
            if (hops == lap) {
                saved = p;
                lap <<= 1;
            }
            final long pos = view.getLongAcquire(p + ItemLayout.POS);
            final int len = view.getInt(p + ItemLayout.KEY_LEN);
            if (pos - tailBefore < 0 || pos - tailBefore >= ring.ringBytes() || !ring.at(p, pos)
                || (view.getInt(p + ItemLayout.HASH) & bucketMask) != b
                || len < 1 || len > SharedStore.MAX_KEY || !ring.fits(p, len, 0)) {
                return -1;
            }
            minPos = Math.min(minPos, pos);
            final byte[] key = new byte[len];
            view.getBytes(p + ItemLayout.KEY, key, 0, len);
            out.add(key);
            p = view.getIntAcquire(p + ItemLayout.NEXT);
        }
        return minPos;
    }

    /** @return the first item of bucket {@code b} (tools and checks) */
    int bucketHead(final int b) {
        return view.getIntAcquire(buckets + b * StoreLayout.BUCKET_SIZE);
    }

    /** @return whether the tools' repair marked {@code stripe} to relink and has not finished ({@link StoreLayout#STRIPE_RELINK}) */
    boolean relinkPending(final int stripe) {
        return view.getLongAcquire(stripePtr(stripe) + StoreLayout.STRIPE_RELINK) != 0;
    }

    /** Clears {@code stripe}'s relink mark: its relink is done (its lock held). */
    void relinkDone(final int stripe) {
        view.putLongRelease(stripePtr(stripe) + StoreLayout.STRIPE_RELINK, 0L);
        io.sharena.core.crash.CrashPoints.at(StoreRepairPoint.RELINK_CLEARED);
    }

    /** @return the number of stripes */
    int stripes() {
        return stripeMask + 1;
    }

    long stripeItems(final int stripe) {
        return view.getLongAcquire(stripePtr(stripe) + StoreLayout.STRIPE_ITEMS);
    }

    long stripeBytes(final int stripe) {
        return view.getLongAcquire(stripePtr(stripe) + StoreLayout.STRIPE_BYTES);
    }
}
