package io.sharena.ipc.store;

import io.sharena.ipc.layout.ItemLayout;

/**
 * Changes made under the key's stripe lock that build no record: unlinking an item (delete, a
 * crawler's reclaim) and moving its expiry in place (touch, gat, the reader's get-and-touch).
 */
final class StoreEdits extends StorePath {
    StoreEdits(final SharedStore store) {
        super(store);
    }

    /**
     * {@link SharedStore#delete(byte[], long)}: unlinks the key's item (a stale one as a reclaim);
     * {@code counted} false for {@link SharedStore#discard}, which no delete counter sees.
     */
    StoreResult delete(final byte[] key, final long expectedCas, final boolean counted) {
        SharedStore.checkKey(key);
        final int hash = Index.hash(key, key.length);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return StoreResult.BUSY;
        }
        try {
            final Cursor c = cursors.get();
            if (!index.findLocked(key, key.length, hash, c)) {
                if (counted) {
                    counters.add(StoreCounter.DELETE_MISSES, 1);
                }
                return StoreResult.NOT_FOUND;
            }
            final boolean live = !times.stale(c, clock.getAsLong());
            if (live && expectedCas != SharedStore.ANY_CAS && c.cas != expectedCas) {
                counters.add(StoreCounter.DELETE_MISSES, 1);
                return StoreResult.EXISTS;
            }
            index.unlinkLocked(c, stripe, StorePoint.DELETE_UNLINKED);
            if (counted) {
                counters.add(live ? StoreCounter.DELETE_HITS : StoreCounter.DELETE_MISSES, 1);
            }
            if (!live) {
                counters.add(StoreCounter.RECLAIMED, 1);
            }
            return live ? StoreResult.DELETED : StoreResult.NOT_FOUND;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /** {@link SharedStore#reclaimIfStale}: unlinks the item only if it is expired or flushed. */
    boolean reclaimIfStale(final byte[] key) {
        SharedStore.checkKey(key);
        final int hash = Index.hash(key, key.length);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return false;
        }
        try {
            final Cursor c = cursors.get();
            if (!index.findLocked(key, key.length, hash, c) || !times.stale(c, clock.getAsLong())) {
                return false;
            }
            index.unlinkLocked(c, stripe, StorePoint.DELETE_UNLINKED);
            counters.add(StoreCounter.RECLAIMED, 1);
            return true;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /** touch, gat ({@code item} not null) and the reader's get-and-touch ({@code into} not null): one locked path. */
    StoreResult touch(final byte[] key, final long exptime, final StoreItem[] item, final Cursor into,
                      final boolean bump) {
        SharedStore.checkKey(key);
        counters.add(StoreCounter.CMD_TOUCH, 1);
        final int hash = Index.hash(key, key.length);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return StoreResult.BUSY;
        }
        try {
            final Cursor c = into != null ? into : cursors.get();
            final long now = clock.getAsLong();
            if (!index.findLocked(key, key.length, hash, c) || times.stale(c, now)) {
                counters.add(StoreCounter.TOUCH_MISSES, 1);
                if (item != null) {
                    counters.add(StoreCounter.GET_MISSES, 1);
                }
                c.ptr = 0;
                return StoreResult.NOT_FOUND;
            }
            final long expires = StoreClock.expiresAt(exptime, now);
            // One word: readers see the old expiry or the new one.
            view.putIntRelease(c.ptr + ItemLayout.EXPIRES, (int) expires);
            c.expires = expires;
            counters.add(StoreCounter.TOUCH_HITS, 1);
            if (bump) {
                c.fetchedBefore = ring.touchedByReader(c.ptr);
            } else {
                c.fetchedBefore = ring.fetched(c.ptr);
            }
            if (item != null) {
                counters.add(StoreCounter.GET_HITS, 1);
                // Under the stripe lock the item cannot be reclaimed: its bytes are stable.
                final byte[] value = new byte[c.valueLen];
                view.getBytes(c.valuePtr(), value, 0, c.valueLen);
                item[0] = new StoreItem(value, c.flags, c.cas, expires);
            }
            if (into != null) {
                // Read after the lock is let go: valid while the tail has not passed the item and
                // its space was not reused (Ring#itemValid: position and CAS value).
                c.minPos = c.pos;
            }
            return StoreResult.TOUCHED;
        } finally {
            index.unlockStripe(stripe);
        }
    }
}
