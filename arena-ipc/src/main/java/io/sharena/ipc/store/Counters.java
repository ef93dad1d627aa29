package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.StoreLayout;

/**
 * Call counters: each process adds to its own block of the store header (one block per arena
 * registry slot), so processes never contend on them; a reader sums every block. A process that
 * takes over a dead process's slot keeps adding to its block, so sums stay totals since creation
 * (or since the last {@link #reset}, the one time a process writes blocks other than its own).
 */
final class Counters {
    private final ArenaView view;
    private final int header;
    private final int mine;

    Counters(final ArenaView view, final int header, final int slot) {
        this.view = view;
        this.header = header;
        this.mine = header + StoreLayout.counter(slot, 0);
    }

    void add(final StoreCounter counter, final long delta) {
        // Atomic only against this process's other threads: no other process writes this block.
        view.getAndAddLong(mine + counter.ordinal() * 8, delta);
    }

    /**
     * Sets each process's counters to zero, each by one atomic swap: an add another thread or
     * process makes lands before or after it, whole, and two resets at once take each count once
     * (a read, then a subtraction of what was read, had two resetters subtract it twice: negative
     * counts).
     */
    void reset() {
        for (int slot = 0; slot < StoreLayout.COUNTER_SLOTS; slot++) {
            for (final StoreCounter counter : StoreCounter.values()) {
                final int at = header + StoreLayout.counter(slot, counter.ordinal());
                if (view.getLongAcquire(at) != 0) {
                    view.getAndSetLong(at, 0L);
                }
            }
        }
    }

    long sum(final StoreCounter counter) {
        long total = 0;
        for (int slot = 0; slot < StoreLayout.COUNTER_SLOTS; slot++) {
            total += view.getLongAcquire(header + StoreLayout.counter(slot, counter.ordinal()));
        }
        return total;
    }
}
