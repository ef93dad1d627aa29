package io.sharena.ipc.store;

import java.lang.foreign.MemorySegment;

/**
 * An item being written in place ({@link SharedStore#reserve}): its value's memory, until
 * {@link SharedStore#commit} or {@link SharedStore#abandon}. Reusable, one thread at a time.
 */
public final class StoreReservation {
    private SharedStore owner;
    private MemorySegment value;
    /** A copy of the key: the caller's array may change before the commit looks the key up. */
    byte[] key;
    int hash;
    int ptr;
    long now;

    /** @return the value's bytes in the store's mapping, to be filled before the commit */
    public MemorySegment value() {
        if (ptr == 0) {
            throw new IllegalStateException("no reservation held");
        }
        return value;
    }

    /** @return whether a record is held (reserved, not yet committed or abandoned) */
    public boolean held() {
        return ptr != 0;
    }

    void hold(final SharedStore store, final byte[] k, final int h, final int p, final long nowMillis,
              final MemorySegment v) {
        owner = store;
        if (key == null || key.length != k.length) {
            key = new byte[k.length];
        }
        System.arraycopy(k, 0, key, 0, k.length);
        hash = h;
        ptr = p;
        now = nowMillis;
        value = v;
    }

    /** @return the record, releasing the reservation */
    int take(final SharedStore store) {
        if (ptr == 0 || owner != store) {
            throw new IllegalArgumentException("no reservation of this store held");
        }
        final int p = ptr;
        ptr = 0;
        value = null;
        owner = null;
        return p;
    }
}
