package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.StoreLayout;

/**
 * Call counters: each process adds to its own block of the store header (one block per arena
 * registry slot), so processes never contend on them; a reader sums every block. A process that
 * takes over a dead process's slot keeps adding to its block, so sums stay totals since creation.
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

    long sum(final StoreCounter counter) {
        long total = 0;
        for (int slot = 0; slot < StoreLayout.COUNTER_SLOTS; slot++) {
            total += view.getLongAcquire(header + StoreLayout.counter(slot, counter.ordinal()));
        }
        return total;
    }
}
