package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The store's read path: a lock-free look-up validated against the ring's tail ({@link #readLive}),
 * get counting batched per thread, and the last-access and win-token updates a hit may make.
 * {@link SharedStore}'s gets and every {@link StoreReader} come here. The common case (a hit on an
 * item with no expiry, no flush pending) takes no lock, makes no atomic write and allocates nothing.
 */
final class StoreReads extends StorePath {
    /**
     * Gets a thread counts before it adds them to the shared get_hits/get_misses. Stats read by
     * another thread or process may lag by this much per reading thread; {@link SharedStore#stats()}
     * and {@link SharedStore#close()} add the calling thread's.
     */
    static final int GET_COUNT_BATCH = 64;
    /** An item's last-access time moves at most this often (memcached's update interval). */
    static final long ACCESS_UPDATE_SECONDS = 60;
    /**
     * Keys whose loads {@link #prefetch} puts in flight together: about as many misses as one core
     * keeps track of at once. Not tuned: the batched benchmarks use batches of this size.
     */
    static final int PREFETCH_BATCH = 16;
    /**
     * Values longer than this are copied after the walk is checked, and checked on their own
     * ({@link #readLive}): one check after a short copy costs a cached get less (7 ns of 53 in a
     * probe when every copy was checked on its own), and a short copy that a placement elsewhere
     * makes read again costs little.
     */
    static final int LONG_COPY = 4096;

    /** The arena's segment, for the read path's plain loads and copies. */
    private final MemorySegment seg;
    private final long flushMillisOffset;
    private final long flushCasOffset;
    private final long clockOffset;
    private final long createdSeconds;
    /** A second cursor per thread, for a locked look-up made while the first still describes a read. */
    private final ThreadLocal<Cursor> lockedCursors = ThreadLocal.withInitial(Cursor::new);
    private final ThreadLocal<byte[][]> scratch;

    StoreReads(final SharedStore store) {
        super(store);
        this.seg = store.view.segment();
        this.flushMillisOffset = Integer.toUnsignedLong(store.header + StoreLayout.FLUSH_MILLIS);
        this.flushCasOffset = Integer.toUnsignedLong(store.header + StoreLayout.FLUSH_CAS);
        this.clockOffset = times.clockOffset;
        this.createdSeconds = times.createdSeconds;
        this.scratch = store.scratch;
    }

    /** As {@link StoreClock#stale(Cursor, long)}, reading the clock only when the item or a pending flush needs it. */
    private boolean staleNow(final Cursor c) {
        // Plain loads of the two flush words, then an acquire fence: ordered as acquire loads are.
        final long flushMillis = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, flushMillisOffset);
        final long flushCas = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, flushCasOffset);
        VarHandle.acquireFence();
        if (c.expires == 0 && flushMillis == 0) {
            return c.cas != 0 && Long.compareUnsigned(c.cas, flushCas) <= 0;
        }
        final long now = clock.getAsLong();
        times.advanceClock(now);
        return times.stale(c, now);
    }

    /**
     * Looks the key up without a lock and validates what it read. The value bytes are read by
     * {@code copy} between lookup and validation.
     *
     * @return whether a live item was found (the cursor then holds it)
     */
    boolean readLive(final byte[] key, final int hash, final Cursor c, final byte[] dst, final int dstOff) {
        int retries = 0;
        while (true) {
            // The tail before the walk: every record the walk can reach was linked at some instant
            // after this load, so sits at or above it; one that does not parse was reused only if the
            // tail has moved since (its own position word may be another record's by then).
            final long tailBefore = ring.tail();
            // And the reuse count: a record placed in a hole keeps the hole's position (Ring#takeHole).
            c.reuses = ring.reuses();
            final boolean walked = index.find(key, key.length, hash, tailBefore, c);
            if (walked) {
                if (c.ptr != 0) {
                    // Before the value is read: the two loads miss in parallel, not one after the other.
                    c.accessBits = ring.accessBits(c.ptr);
                }
                final boolean copy = c.ptr != 0 && dst != null && c.valueLen <= dst.length - dstOff;
                final boolean valid;
                if (copy && c.valueLen <= LONG_COPY) {
                    // A short copy: the walk, the fields and the value checked at once.
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, Integer.toUnsignedLong(c.valuePtr()), dst, dstOff,
                        c.valueLen);
                    valid = ring.valid(c.minPos, c.reuses);
                } else if (ring.valid(c.minPos, c.reuses)) {
                    // The walk and the item's fields first, against any reuse; then a long copy
                    // against a reuse of this item's space alone (Ring#itemValid): a large value
                    // would otherwise be copied again for every placement in a hole elsewhere.
                    if (copy) {
                        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, Integer.toUnsignedLong(c.valuePtr()), dst, dstOff,
                            c.valueLen);
                        if (!ring.itemValid(c.ptr, c.pos, c.cas)) {
                            retries++;
                            continue;
                        }
                    }
                    valid = true;
                } else {
                    valid = false;
                }
                if (valid) {
                    if (retries != 0) {
                        counters.add(StoreCounter.READ_RETRIES, retries);
                    }
                    return c.ptr != 0 && !staleNow(c);
                }
            } else if (ring.valid(tailBefore, c.reuses)) {
                // Nothing was reclaimed during the walk, yet what it read is not a chain: the index is broken.
                throw new ArenaCorruptedException("store index", Integer.toUnsignedLong(c.minPos == Long.MAX_VALUE ? 0
                    : (int) c.minPos), "bucket chain does not parse: hash=" + hash);
            }
            retries++;
        }
    }

    /** As {@link #readLive}, counting a get. */
    private boolean getCounted(final byte[] key, final Cursor c, final byte[] dst, final int dstOff) {
        return getCounted(key, c, dst, dstOff, c, true);
    }

    /**
     * As {@link #readLive}, counting a get in {@code counts} (this thread's cursor); a hit is marked
     * fetched and its last-access time kept to the minute unless {@code bump} is false.
     */
    private boolean getCounted(final byte[] key, final Cursor c, final byte[] dst, final int dstOff,
                               final Cursor counts, final boolean bump) {
        SharedStore.checkKey(key);
        // cmd_get is get_hits + get_misses, summed when stats are read. Both are batched per thread:
        // an atomic add per get would be a full fence on the read path.
        final int hash = Index.hash(key, key.length);
        if (readLive(key, hash, c, dst, dstOff)) {
            if (++counts.pendingHits == GET_COUNT_BATCH) {
                flushGets(counts);
            }
            if (bump) {
                c.fetchedBefore = ring.touchedByReader(c.ptr, c.accessBits);
                final long coarse = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, clockOffset);
                if (coarse - createdSeconds - (c.meta & ItemLayout.META_ACCESS_MASK) >= ACCESS_UPDATE_SECONDS) {
                    updateMeta(key, hash, c, ItemLayout.META_ACCESS_MASK, times.accessField(coarse * 1000), false);
                }
            } else {
                c.fetchedBefore = ring.fetched(c.ptr);
            }
            return true;
        }
        if (++counts.pendingMisses == GET_COUNT_BATCH) {
            flushGets(counts);
        }
        if (c.ptr != 0) {
            counters.add(c.expires != 0 && c.expires <= clock.getAsLong() / 1000 ? StoreCounter.GET_EXPIRED
                : StoreCounter.GET_FLUSHED, 1);
        }
        return false;
    }

    void flushGets(final Cursor c) {
        // Also where a thread that only reads keeps the store's coarse clock moving.
        times.advanceClock(clock.getAsLong());
        counters.add(StoreCounter.GET_HITS, c.pendingHits);
        counters.add(StoreCounter.GET_MISSES, c.pendingMisses);
        c.pendingHits = 0;
        c.pendingMisses = 0;
    }

    /**
     * {@link SharedStore#prefetch}: in batches of {@link #PREFETCH_BATCH} keys, see {@link #prefetchHashed}.
     */
    void prefetch(final byte[][] keys, final int from, final int to, final Cursor c) {
        java.util.Objects.checkFromToIndex(from, to, keys.length);
        final int[] hashes = c.hashes;
        for (int start = from; start < to; start += PREFETCH_BATCH) {
            final int n = Math.min(to - start, PREFETCH_BATCH);
            // The first pass: each key's bytes and hash.
            for (int i = 0; i < n; i++) {
                final byte[] key = keys[start + i];
                SharedStore.checkKey(key);
                hashes[i] = Index.hash(key, 0, key.length);
            }
            prefetchHashed(n, c);
        }
    }

    /**
     * {@link StoreReader#prefetch(byte[], int[], int[], int)}: keys given as ranges of one buffer
     * (a server's request line), in batches of {@link #PREFETCH_BATCH}.
     */
    void prefetch(final byte[] buf, final int[] offsets, final int[] lengths, final int count, final Cursor c) {
        java.util.Objects.checkFromIndexSize(0, count, Math.min(offsets.length, lengths.length));
        final int[] hashes = c.hashes;
        for (int start = 0; start < count; start += PREFETCH_BATCH) {
            final int n = Math.min(count - start, PREFETCH_BATCH);
            for (int i = 0; i < n; i++) {
                final int len = lengths[start + i];
                if (len <= 0 || len > SharedStore.MAX_KEY) {
                    throw new IllegalArgumentException("key length out of range: length=" + len + ", min=1, max="
                        + SharedStore.MAX_KEY);
                }
                java.util.Objects.checkFromIndexSize(offsets[start + i], len, buf.length);
                hashes[i] = Index.hash(buf, offsets[start + i], len);
            }
            prefetchHashed(n, c);
        }
    }

    /**
     * For the first {@code n} hashes in {@code c.hashes}: loads every key's bucket word, then the
     * first record each bucket names, then the next record of the chain where that one is another
     * key's (half a hop on average: one bucket per item). Within a pass no load waits for another,
     * so the processor has the misses of the whole batch in flight at once, where a get alone
     * meets them one after another. Nothing here is validated or written: what was loaded is only
     * in cache, and the gets that follow read and validate everything again. The sum of what was
     * loaded is kept in {@code c} (meaningless, see {@link Ring#touch}): a load whose value goes
     * nowhere may be dropped by the compiler.
     */
    private void prefetchHashed(final int n, final Cursor c) {
        final int[] hashes = c.hashes;
        final int[] links = c.links;
        long sum = c.prefetched;
        for (int i = 0; i < n; i++) {
            links[i] = index.firstLink(hashes[i]);
        }
        for (int i = 0; i < n; i++) {
            sum += ring.touch(links[i]);
        }
        for (int i = 0; i < n; i++) {
            final int next = ring.nextIfOther(links[i], hashes[i]);
            if (next != 0) {
                sum += ring.touch(next);
            }
        }
        c.prefetched = sum;
    }

    /** As {@link #prefetch(byte[][], int, int, Cursor)}, with the calling thread's cursor. */
    void prefetch(final byte[][] keys, final int from, final int to) {
        prefetch(keys, from, to, cursors.get());
    }

    /** {@link SharedStore#get(byte[])}. */
    byte[] get(final byte[] key) {
        final Cursor c = cursors.get();
        final byte[] buf = readWhole(key, c);
        if (buf == null) {
            return null;
        }
        final byte[] out = new byte[c.valueLen];
        System.arraycopy(buf, 0, out, 0, c.valueLen);
        return out;
    }

    /**
     * A counted get into this thread's scratch buffer, grown and read again while the value is
     * longer: one get counted and bumped once (the second read is not a second hit), and a miss if
     * the key went away between the reads.
     *
     * @return the buffer holding the value ({@code c.valueLen} bytes), or null on a miss
     */
    private byte[] readWhole(final byte[] key, final Cursor c) {
        byte[] buf = scratch.get()[0];
        if (!getCounted(key, c, buf, 0)) {
            return null;
        }
        while (c.valueLen > buf.length) {
            buf = new byte[Math.max(c.valueLen, buf.length * 2)];
            scratch.get()[0] = buf;
            if (!readLive(key, Index.hash(key, key.length), c, buf, 0)) {
                c.pendingHits--;
                if (++c.pendingMisses == GET_COUNT_BATCH) {
                    flushGets(c);
                }
                return null;
            }
        }
        return buf;
    }

    /** {@link SharedStore#get(byte[], byte[])}. */
    int get(final byte[] key, final byte[] dst) {
        final Cursor c = cursors.get();
        return getCounted(key, c, dst, 0) ? c.valueLen : -1;
    }

    /** {@link SharedStore#gets}. */
    StoreItem gets(final byte[] key) {
        final Cursor c = cursors.get();
        final byte[] buf = readWhole(key, c);
        return buf == null ? null : new StoreItem(java.util.Arrays.copyOf(buf, c.valueLen), c.flags, c.cas, c.expires);
    }

    boolean readerGet(final byte[] key, final Cursor c, final boolean bump) {
        return getCounted(key, c, null, 0, cursors.get(), bump);
    }

    /** As {@link #readerGet} with no bump, and not counted as a get: for listings. */
    boolean readerPeek(final byte[] key, final Cursor c) {
        SharedStore.checkKey(key);
        if (readLive(key, Index.hash(key, key.length), c, null, 0)) {
            c.fetchedBefore = ring.fetched(c.ptr);
            return true;
        }
        return false;
    }

    /** @return whether the item the cursor found (a lookup that validated) is still whole where it was read */
    boolean stillValid(final Cursor c) {
        return ring.itemValid(c.ptr, c.pos, c.cas);
    }

    /** {@link #stillValid(Cursor)} by the item's position and CAS value alone. */
    boolean stillValid(final long pos, final long cas) {
        return ring.itemValid(pos, cas);
    }

    /**
     * Sets the bits {@code mask} of the META word of the key's item to {@code bits}, under the
     * key's stripe lock (so the item cannot be reclaimed or moved meanwhile), if the item is still
     * the one {@code read} describes (same CAS value).
     *
     * @param wait whether to wait for the lock (the lock timeout) or give up at once if it is held
     * @return the META word before, as an unsigned int; -1 if the item changed or is gone, or the lock was not had
     */
    private long updateMeta(final byte[] key, final int hash, final Cursor read, final int mask, final int bits,
                            final boolean wait) {
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, wait ? timeoutNanos : 0)) {
            return -1;
        }
        try {
            final Cursor c = lockedCursors.get();
            if (!index.findLocked(key, key.length, hash, c) || c.cas != read.cas) {
                return -1;
            }
            final int old = view.getInt(c.ptr + ItemLayout.META);
            view.putIntRelease(c.ptr + ItemLayout.META, (old & ~mask) | bits);
            return Integer.toUnsignedLong(old);
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /** The reader's win: @return whether this call handed out the item's win token */
    boolean claimToken(final byte[] key, final Cursor read) {
        final long old = updateMeta(key, Index.hash(key, key.length), read, ItemLayout.META_TOKEN,
            ItemLayout.META_TOKEN, true);
        return old >= 0 && (old & ItemLayout.META_TOKEN) == 0;
    }
}
