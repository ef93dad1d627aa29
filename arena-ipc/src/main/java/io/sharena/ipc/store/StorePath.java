package io.sharena.ipc.store;

import io.sharena.core.ArenaView;

import java.util.function.LongSupplier;

/**
 * What the paths of one attached {@link SharedStore} share: its time, memory, ring, index,
 * counters, lock timeout and per-thread cursors. Each path ({@link StoreReads}, {@link StoreWriter},
 * {@link StoreRewriter}, {@link StoreEdits}) holds them in final fields of its own, so that its
 * code reaches them in one load, as the store's own methods would.
 */
abstract sealed class StorePath permits StoreReads, StoreWriter, StoreRewriter, StoreEdits {
    final StoreClock times;
    final ArenaView view;
    final Ring ring;
    final Index index;
    final Counters counters;
    final LongSupplier clock;
    final long timeoutNanos;
    /** Each thread's cursor, shared by its reads and writes. */
    final ThreadLocal<Cursor> cursors;

    StorePath(final SharedStore store) {
        this.times = store.times;
        this.view = store.view;
        this.ring = store.ring;
        this.index = store.index;
        this.counters = store.counters;
        this.clock = store.clock;
        this.timeoutNanos = store.timeoutNanos;
        this.cursors = store.cursors;
    }
}
