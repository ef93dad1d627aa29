package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The default store's index as its file holds it, for tests that damage it: its header, the bucket
 * table (where it is, how many buckets, how many stripes) and the chains the bucket words lead to.
 */
record BucketTable(ArenaView view, int header, int ptr, int count, int stripes) {
    static BucketTable of(final SharedArena arena) {
        final ArenaView v = arena.raw();
        final int header = NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT);
        return new BucketTable(v, header, v.getInt(header + StoreLayout.BUCKETS_PTR),
            1 << v.getInt(header + StoreLayout.BUCKET_BITS), v.getInt(header + StoreLayout.STRIPES));
    }

    int word(final int b) {
        return ptr + b * StoreLayout.BUCKET_SIZE;
    }

    List<Integer> chain(final int b) {
        final List<Integer> items = new ArrayList<>();
        for (int p = view.getInt(word(b)); p != 0; p = view.getInt(p + ItemLayout.NEXT)) {
            items.add(p);
        }
        return items;
    }

    /** @return the bucket with the longest chain (the first such) */
    int longest() {
        int best = 0;
        for (int b = 1; b < count; b++) {
            if (chain(b).size() > chain(best).size()) {
                best = b;
            }
        }
        return best;
    }

    /** @return {@code n} buckets with chains of two items or more, each in a stripe of its own */
    List<Integer> inStripesOfTheirOwn(final int n) {
        final List<Integer> picked = new ArrayList<>();
        final java.util.Set<Integer> taken = new java.util.HashSet<>();
        for (int b = 0; b < count && picked.size() < n; b++) {
            if (chain(b).size() >= 2 && taken.add(b % stripes)) {
                picked.add(b);
            }
        }
        assertEquals(n, picked.size(), "buckets in stripes of their own");
        return picked;
    }

    String key(final int item) {
        final byte[] key = new byte[view.getInt(item + ItemLayout.KEY_LEN)];
        view.getBytes(item + ItemLayout.KEY, key, 0, key.length);
        return new String(key, StandardCharsets.UTF_8);
    }

    long bytes(final List<Integer> items) {
        return items.stream().mapToLong(p -> view.getInt(p + ItemLayout.SIZE)).sum();
    }

    /**
     * Sets keys {@code after0..after2999} until the ring's tail has passed where the head was twice
     * over, so that the tail has met every record there was; each set must store.
     */
    static void goRoundTwice(final SharedStore store, final long ringBytes) {
        final long headBefore = store.stats().get("ring_head");
        for (int i = 0; store.stats().get("ring_tail") < headBefore + 2 * ringBytes; i++) {
            assertEquals(StoreResult.STORED, store.set(("after" + (i % 3000)).getBytes(StandardCharsets.UTF_8),
                Values.make(i), 0, 0), "i=" + i);
        }
    }
}
