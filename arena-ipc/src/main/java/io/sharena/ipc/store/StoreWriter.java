package io.sharena.ipc.store;

import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

/**
 * The store's write path for new records: a record is reserved in the ring and filled while it is
 * RESERVED (this process's own, seen by no reader), then published under the key's stripe lock if
 * the storage mode's condition holds, or given up. set, add, replace, cas and vivify go through
 * {@link #write}; a value written in place through {@link #reserve}, then {@link #publishBuilt} at
 * its commit; the read-modify-write commands ({@link StoreRewriter}) build with {@link #build}.
 */
final class StoreWriter extends StorePath {
    private final SharedStore store;
    private final SharedArena arena;
    private final int header;
    private final int maxItem;

    StoreWriter(final SharedStore store) {
        super(store);
        this.store = store;
        this.arena = store.arena;
        this.header = store.header;
        this.maxItem = store.maxItem;
    }

    StoreResult write(final StoreMode mode, final byte[] key, final byte[] value, final int flags,
                      final long exptime, final long expectedCas, final boolean invalidate,
                      final int meta, final long[] casOut) {
        SharedStore.checkKey(key);
        SharedStore.checkValue(value);
        counters.add(StoreCounter.CMD_SET, 1);
        if (value.length > maxItem) {
            return StoreResult.TOO_LARGE;
        }
        final long now = clock.getAsLong();
        final int hash = Index.hash(key, key.length);
        final int y = build(key, hash, value, 0, value.length, null, 0, 0, flags, StoreClock.expiresAt(exptime, now),
            now, meta);
        if (!built(y)) {
            return notBuilt(y);
        }
        return publishBuilt(mode, key, hash, y, now, expectedCas, invalidate, casOut);
    }

    /**
     * The second half of a storage command: {@code y} is a RESERVED record of this process, built
     * with the key's hash, key, value and fields; checks the mode's condition under the stripe lock
     * and publishes it, or gives it up.
     */
    StoreResult publishBuilt(final StoreMode mode, final byte[] key, final int hash, final int y,
                             final long now, final long expectedCas, final boolean invalidate,
                             final long[] casOut) {
        CrashPoints.at(StorePoint.SET_BUILT);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripeToPublish(ring, stripe, y, timeoutNanos)) {
            return StoreResult.BUSY;
        }
        try {
            final Cursor c = cursors.get();
            final boolean found = index.findLocked(key, key.length, hash, c);
            final boolean live = found && !times.stale(c, now);
            // ms I: a CAS older than the item's stores the value as stale instead of failing.
            final boolean staleWrite = mode == StoreMode.CAS && live && c.cas != expectedCas && invalidate
                && Long.compareUnsigned(expectedCas, c.cas) < 0;
            final StoreResult refused = switch (mode) {
                case ADD -> live ? StoreResult.NOT_STORED : null;
                case REPLACE -> live ? null : StoreResult.NOT_STORED;
                case CAS -> !live ? StoreResult.NOT_FOUND
                    : c.cas != expectedCas && !staleWrite ? StoreResult.EXISTS : null;
                default -> null;
            };
            if (mode == StoreMode.CAS) {
                counters.add(refused == null ? StoreCounter.CAS_HITS
                    : refused == StoreResult.EXISTS ? StoreCounter.CAS_BADVAL : StoreCounter.CAS_MISSES, 1);
            }
            if (refused != null) {
                ring.abandon(y);
                return refused;
            }
            if (staleWrite) {
                // y is still RESERVED, this thread's alone: its header may change until published.
                view.putInt(y + ItemLayout.EXPIRES, (int) c.expires);
                view.putInt(y + ItemLayout.META, ItemLayout.META_STALE | (c.meta & ItemLayout.META_TOKEN)
                    | (view.getInt(y + ItemLayout.META) & ItemLayout.META_KEY_BINARY) | times.accessField(now));
            }
            final long cas = nextCas();
            if (!index.publishLocked(c, y, cas, stripe, StorePoint.SET_LINKED, StorePoint.SET_PUBLISHED)) {
                return StoreResult.NO_MEMORY;
            }
            if (found && !live) {
                counters.add(StoreCounter.RECLAIMED, 1);
            }
            counters.add(StoreCounter.TOTAL_ITEMS, 1);
            if (casOut != null) {
                casOut[0] = cas;
            }
            return StoreResult.STORED;
        } catch (final RuntimeException e) {
            // A chain that does not parse under the lock: y goes to the tail as a dead record,
            // not left RESERVED by a live process, which the tail would wait on while it lives.
            ring.abandon(y);
            throw e;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * Reserves and fills a record: key, then {@code a[aOff..aOff+aLen)} followed by
     * {@code b[0..bLen)} (b may be null) as the value; {@code meta} holds the META word's flag bits.
     *
     * @return the RESERVED record, or 0 when no room could be made
     */
    int build(final byte[] key, final int hash, final byte[] a, final int aOff, final int aLen,
              final byte[] b, final int bOff, final int bLen, final int flags, final long expires,
              final long now, final int meta) {
        final int y = buildHeader(key, hash, aLen + bLen, flags, expires, now, meta);
        if (built(y)) {
            view.putBytes(y + ItemLayout.KEY + key.length, a, aOff, aLen);
            if (bLen > 0) {
                view.putBytes(y + ItemLayout.KEY + key.length + aLen, b, bOff, bLen);
            }
        }
        return y;
    }

    /**
     * As {@link #build} of {@code a[aOff, aOff + aLen)} followed by spaces up to {@code valueLen}
     * bytes: a counter's digits where they replace a longer number.
     */
    int buildPadded(final byte[] key, final int hash, final byte[] a, final int aOff, final int aLen,
                    final int valueLen, final int flags, final long expires, final long now) {
        final int y = buildHeader(key, hash, valueLen, flags, expires, now, 0);
        if (built(y)) {
            final int value = y + ItemLayout.KEY + key.length;
            view.putBytes(value, a, aOff, aLen);
            if (valueLen > aLen) {
                view.fill(value + aLen, valueLen - aLen, (byte) ' ');
            }
        }
        return y;
    }

    /** As {@link #build}, leaving the value's {@code valueLen} bytes to the caller. */
    private int buildHeader(final byte[] key, final int hash, final int valueLen, final int flags, final long expires,
                            final long now, final int meta) {
        final int y = ring.reserve(ItemLayout.recordSize(key.length, valueLen));
        if (!built(y)) {
            return y;
        }
        times.advanceClock(now);
        view.putInt(y + ItemLayout.HASH, hash);
        view.putInt(y + ItemLayout.EXPIRES, (int) expires);
        view.putInt(y + ItemLayout.STORED, (int) (now / 1000));
        view.putInt(y + ItemLayout.FLAGS, flags);
        view.putInt(y + ItemLayout.KEY_LEN, key.length);
        view.putInt(y + ItemLayout.VALUE_LEN, valueLen);
        view.putInt(y + ItemLayout.META, meta | times.accessField(now));
        view.putBytes(y + ItemLayout.KEY, key, 0, key.length);
        return y;
    }

    /** {@link SharedStore#reserve}: reserves the record and fills its header and key. */
    boolean reserve(final byte[] key, final int valueLength, final int flags, final long exptime,
                    final StoreReservation into) {
        SharedStore.checkKey(key);
        if (valueLength < 0 || valueLength > maxItem) {
            throw new IllegalArgumentException("value length out of range: valueLength=" + valueLength
                + ", maxItemSize=" + maxItem);
        }
        if (into.ptr != 0) {
            throw new IllegalArgumentException("reservation still held: commit or abandon it first");
        }
        counters.add(StoreCounter.CMD_SET, 1);
        final long now = clock.getAsLong();
        final int hash = Index.hash(key, key.length);
        final int y = buildHeader(key, hash, valueLength, flags, StoreClock.expiresAt(exptime, now), now, 0);
        if (!built(y)) {
            return false;
        }
        into.hold(store, key, hash, y, now, ArenaInternals.segment(arena).asSlice(
            Integer.toUnsignedLong(y) + ItemLayout.KEY + key.length, valueLength));
        return true;
    }

    /** @return whether {@code y}, what {@link #build} returned, is a record (not 0 nor {@link Ring#BUSY}) */
    static boolean built(final int y) {
        return y != 0 && y != Ring.BUSY;
    }

    /** @return the result of a write whose record could not be built: BUSY (ring lock held past the timeout) or NO_MEMORY */
    static StoreResult notBuilt(final int y) {
        return y == Ring.BUSY ? StoreResult.BUSY : StoreResult.NO_MEMORY;
    }

    /**
     * CAS values are above this: above 0, which a placement in a hole writes into the hole's record
     * first, and above every process's owner token (a slot and a generation, no thread), which a
     * RESERVED record holds in the same word, so that a reader's check of an item's CAS word
     * ({@link Ring#itemValid}) never meets its item's value there again once the space is reused.
     * With CAS values counted from 1, a token equal to a CAS value let a reader of a replaced item
     * accept a value being written over it (a test saw one torn read in 50,000: token and CAS 64).
     */
    static final long CAS_FLOOR = 1L << io.sharena.core.layout.OwnerToken.THREAD_SHIFT;

    /**
     * @return a new CAS value, no item's before, above {@link #CAS_FLOOR}: the store's counter, one
     * higher at each call in every process; a counter below the floor (a store
     * made before the floor, or a stray write) is raised to it first; one a stray write put past
     * any count is the checker's to report ({@link Ring#casCounterProblem})
     */
    long nextCas() {
        final int counter = header + StoreLayout.CAS_COUNTER;
        while (true) {
            final long cas = view.getAndAddLong(counter, 1) + 1;
            if (Long.compareUnsigned(cas, CAS_FLOOR) > 0) {
                return cas;
            }
            final long now = view.getLongAcquire(counter);
            if (Long.compareUnsigned(now, CAS_FLOOR) < 0) {
                view.compareAndSetLong(counter, now, CAS_FLOOR);
            }
        }
    }
}
