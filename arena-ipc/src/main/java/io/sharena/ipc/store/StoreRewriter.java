package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoints;
import io.sharena.ipc.layout.ItemLayout;

/**
 * The read-modify-write commands: append, prepend, incr, decr and invalidate. Each reads the key's
 * live item without a lock ({@link #snapshot}), builds the new record from it
 * ({@link StoreWriter#build}), and publishes that in place of the item only if the item is still
 * the one read ({@link #swapIfSame}, under the stripe lock); a changed item is read again.
 */
final class StoreRewriter extends StorePath {
    private final StoreReads reads;
    private final StoreWriter writer;
    private final int maxItem;
    private final ThreadLocal<byte[][]> scratch;

    StoreRewriter(final SharedStore store, final StoreWriter writer) {
        super(store);
        this.reads = store.reads;
        this.writer = writer;
        this.maxItem = store.maxItem;
        this.scratch = store.scratch;
    }

    StoreResult concat(final byte[] key, final byte[] data, final boolean append, final long expectedCas,
                       final long[] casOut) {
        SharedStore.checkKey(key);
        SharedStore.checkValue(data);
        counters.add(StoreCounter.CMD_SET, 1);
        final int hash = Index.hash(key, key.length);
        final Cursor c = cursors.get();
        while (true) {
            final byte[] old = snapshot(key, hash, c);
            if (old == null) {
                return StoreResult.NOT_STORED;
            }
            if (expectedCas != SharedStore.ANY_CAS && c.cas != expectedCas) {
                return StoreResult.EXISTS;
            }
            if ((long) c.valueLen + data.length > maxItem) {
                return StoreResult.TOO_LARGE;
            }
            final long now = clock.getAsLong();
            final int y = append
                ? writer.build(key, hash, old, 0, c.valueLen, data, 0, data.length, c.flags, c.expires, now, 0)
                : writer.build(key, hash, data, 0, data.length, old, 0, c.valueLen, c.flags, c.expires, now, 0);
            if (!StoreWriter.built(y)) {
                return StoreWriter.notBuilt(y);
            }
            CrashPoints.at(StorePoint.SET_BUILT);
            final StoreResult r = swapIfSame(key, hash, c, y, true, 0, false, StorePoint.SET_LINKED,
                StorePoint.SET_PUBLISHED);
            if (r == StoreResult.STORED) {
                // A new item linked, as memcached counts it.
                counters.add(StoreCounter.TOTAL_ITEMS, 1);
                if (casOut != null) {
                    casOut[0] = c.newCas;
                }
            }
            if (r != null) {
                return r == StoreResult.NOT_FOUND ? StoreResult.NOT_STORED : r;
            }
        }
    }

    /**
     * Reads the key's live item without a lock into this thread's scratch buffer.
     *
     * @return the buffer (value in its first {@code c.valueLen} bytes), or null on a miss
     */
    private byte[] snapshot(final byte[] key, final int hash, final Cursor c) {
        while (true) {
            final byte[] buf = scratch.get()[0];
            if (!reads.readLive(key, hash, c, buf, 0)) {
                return null;
            }
            if (c.valueLen <= buf.length) {
                return buf;
            }
            scratch.get()[0] = new byte[Math.max(c.valueLen, buf.length * 2)];
        }
    }

    /**
     * Publishes {@code y} in place of the item the cursor read, if that item is still the key's
     * (its CAS value then goes to {@code c.newCas}). With {@code keepExpiry}, y gets the item's
     * expiry as it stands under the lock (in {@code c.expires} then): the one field of a
     * published item that changes in place, so a touch made since the lock-free read is kept.
     * What memcached keeps of an item it rewrites in place, y may take from the item as it stands
     * under the lock: the META bits {@code keptMeta} (stale mark, win token, key form) and, with {@code
     * keptAccess}, the access-map bits (fetched, and the item's standing against eviction).
     *
     * @return STORED; NOT_FOUND if the key has no live item any more; BUSY; or null if the item
     * changed (the caller reads again and retries); y is abandoned unless STORED
     */
    private StoreResult swapIfSame(final byte[] key, final int hash, final Cursor c, final int y,
                                   final boolean keepExpiry, final int keptMeta, final boolean keptAccess,
                                   final StorePoint linked, final StorePoint published) {
        final int readPtr = c.ptr;
        final long readPos = c.pos;
        // Place alone does not name a version: a record placed in a hole takes the hole's place and
        // position (Ring#takeHole), so an item replaced twice may sit where the one read did. Its
        // CAS value is new, never one an earlier version had.
        final long readCas = c.cas;
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripeToPublish(ring, stripe, y, timeoutNanos)) {
            return StoreResult.BUSY;
        }
        try {
            final boolean found = index.findLocked(key, key.length, hash, c);
            if (!found || times.stale(c, clock.getAsLong())) {
                ring.abandon(y);
                return StoreResult.NOT_FOUND;
            }
            if (c.ptr != readPtr || c.pos != readPos || c.cas != readCas) {
                ring.abandon(y);
                return null;
            }
            if (keepExpiry) {
                // Same record, but touch may have moved its expiry since it was read; y is still
                // RESERVED and this thread's, so its header may change until published.
                view.putInt(y + ItemLayout.EXPIRES, (int) c.expires);
            }
            if (keptMeta != 0) {
                view.putInt(y + ItemLayout.META, (view.getInt(y + ItemLayout.META) & ~keptMeta) | (c.meta & keptMeta));
            }
            if (keptAccess) {
                ring.inheritAccess(c.ptr, y);
            }
            final long cas = writer.nextCas();
            if (!index.publishLocked(c, y, cas, stripe, linked, published)) {
                return StoreResult.NO_MEMORY;
            }
            c.newCas = cas;
            return StoreResult.STORED;
        } catch (final RuntimeException e) {
            ring.abandon(y); // as in StoreWriter.publishBuilt
            throw e;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    StoreResult arith(final byte[] key, final long delta, final boolean incr, final long expectedCas,
                      final long exptime, final long heldCas, final long[] result) {
        SharedStore.checkKey(key);
        if (result == null || result.length == 0) {
            throw new IllegalArgumentException("result array must hold one long: result="
                + (result == null ? "null" : "long[0]"));
        }
        final int hash = Index.hash(key, key.length);
        final Cursor c = cursors.get();
        final byte[] digits = c.digits;
        while (true) {
            final byte[] old = snapshot(key, hash, c);
            if (old == null) {
                counters.add(incr ? StoreCounter.INCR_MISSES : StoreCounter.DECR_MISSES, 1);
                return StoreResult.NOT_FOUND;
            }
            if (expectedCas != SharedStore.ANY_CAS && c.cas != expectedCas) {
                return StoreResult.EXISTS;
            }
            if (!Numbers.isUnsigned(old, c.valueLen)) {
                return StoreResult.NON_NUMERIC;
            }
            final long value = Numbers.parseUnsigned(old, c.valueLen);
            final long next = incr ? value + delta
                : Long.compareUnsigned(value, delta) <= 0 ? 0 : value - delta;
            final int len = Numbers.format(next, digits);
            final long now = clock.getAsLong();
            final long expires = exptime == SharedStore.KEEP_EXPIRY ? c.expires
                : StoreClock.expiresAt(exptime, now);
            // A number no longer than the value it replaces is one memcached writes over the old
            // one in place, padded with spaces to the old length: the item stays what it was in
            // every other respect. A longer one is a new item of its own length, as is any number
            // when the caller still holds a reply of this item (memcached rewrites an item in place
            // only when nothing else holds it).
            final boolean inPlace = len <= c.valueLen && (heldCas == SharedStore.NONE_HELD || c.cas != heldCas);
            final int y = writer.buildPadded(key, hash, digits, digits.length - len, len,
                inPlace ? c.valueLen : len, c.flags, expires, now);
            if (!StoreWriter.built(y)) {
                return StoreWriter.notBuilt(y);
            }
            CrashPoints.at(StorePoint.INCR_BUILT);
            final StoreResult r = swapIfSame(key, hash, c, y, exptime == SharedStore.KEEP_EXPIRY,
                inPlace ? ItemLayout.META_STALE | ItemLayout.META_TOKEN | ItemLayout.META_KEY_BINARY : 0, inPlace,
                StorePoint.SET_LINKED, StorePoint.INCR_PUBLISHED);
            if (r == StoreResult.NOT_FOUND) {
                counters.add(incr ? StoreCounter.INCR_MISSES : StoreCounter.DECR_MISSES, 1);
                return r;
            }
            if (r != null) {
                if (r == StoreResult.STORED) {
                    counters.add(incr ? StoreCounter.INCR_HITS : StoreCounter.DECR_HITS, 1);
                    result[0] = next;
                    if (result.length >= 3) {
                        result[1] = c.newCas;
                        result[2] = exptime == SharedStore.KEEP_EXPIRY ? c.expires : expires;
                    }
                }
                return r;
            }
        }
    }

    /** {@link SharedStore#invalidate}: the item again, with a new CAS value, marked stale. */
    StoreResult invalidate(final byte[] key, final long expectedCas, final long exptime) {
        SharedStore.checkKey(key);
        final int hash = Index.hash(key, key.length);
        final Cursor c = cursors.get();
        while (true) {
            final byte[] old = snapshot(key, hash, c);
            if (old == null) {
                return StoreResult.NOT_FOUND;
            }
            if (expectedCas != SharedStore.ANY_CAS && c.cas != expectedCas) {
                return StoreResult.EXISTS;
            }
            final long now = clock.getAsLong();
            final long expires = exptime == SharedStore.KEEP_EXPIRY ? c.expires
                : StoreClock.expiresAt(exptime, now);
            final int y = writer.build(key, hash, old, 0, c.valueLen, null, 0, 0, c.flags, expires, now,
                ItemLayout.META_STALE);
            if (!StoreWriter.built(y)) {
                return StoreWriter.notBuilt(y);
            }
            CrashPoints.at(StorePoint.SET_BUILT);
            // memcached marks the item stale in place: it stays fetched if it was, its key's form
            // stays (the win token is cleared, so that the next reader may win).
            final StoreResult r = swapIfSame(key, hash, c, y, exptime == SharedStore.KEEP_EXPIRY,
                ItemLayout.META_KEY_BINARY, true,
                StorePoint.SET_LINKED, StorePoint.SET_PUBLISHED);
            if (r != null) {
                return r;
            }
        }
    }
}
