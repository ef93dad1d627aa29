package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.StoreLayout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a store shows about itself, read without locks: the stats and the key listing, shared by
 * an open {@link SharedStore} and by the tools' read-only inspection ({@link StoreTools}).
 */
final class StoreFigures {
    private StoreFigures() {
    }

    /** @see SharedStore#stats() */
    static Map<String, Long> stats(final ArenaView view, final int header, final Ring ring, final Index index,
                                   final Counters counters, final long nowMillis) {
        final Map<String, Long> s = new LinkedHashMap<>();
        s.put("time", nowMillis / 1000);
        s.put("uptime", (nowMillis - view.getLong(header + StoreLayout.CREATED_MILLIS)) / 1000);
        final long[] totals = index.totals();
        s.put("curr_items", totals[0]);
        s.put("bytes", totals[1]);
        s.put("limit_maxbytes", ring.ringBytes());
        s.put("item_size_max", (long) view.getInt(header + StoreLayout.MAX_ITEM));
        s.put("hash_power_level", (long) view.getInt(header + StoreLayout.BUCKET_BITS));
        s.put("cmd_get", counters.sum(StoreCounter.GET_HITS) + counters.sum(StoreCounter.GET_MISSES));
        for (final StoreCounter counter : StoreCounter.values()) {
            s.put(counter.statName, counters.sum(counter));
        }
        // The tail first: read after the head, it could pass it.
        final long tail = ring.tail();
        final long head = ring.head();
        s.put("ring_head", head);
        s.put("ring_tail", tail);
        s.put("ring_used", head - tail);
        return s;
    }

    /** @see SharedStore#keys(int) */
    static List<byte[]> keys(final Ring ring, final Index index, final int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max must not be negative: max=" + max);
        }
        final List<byte[]> keys = new ArrayList<>();
        final List<byte[]> bucket = new ArrayList<>();
        for (int b = 0; b < index.bucketCount() && keys.size() < max; b++) {
            bucket.clear();
            bucketKeys(ring, index, b, bucket);
            for (int i = 0; i < bucket.size() && keys.size() < max; i++) {
                keys.add(bucket.get(i));
            }
        }
        return keys;
    }

    /** @see SharedStore#bucketKeys(int, List) */
    static void bucketKeys(final Ring ring, final Index index, final int b, final List<byte[]> out) {
        final int from = out.size();
        while (true) {
            final long tail = ring.tail();
            final long reuses = ring.reuses();
            final long minPos = index.keysOf(b, out, tail);
            if (minPos >= 0 && ring.valid(minPos, reuses)) {
                return;
            }
            // Space is reused only after the tail moves or a hole is filled: a walk that failed
            // while both stood still (bytes that are not a chain, or a chained record the tail had
            // already passed) read the index itself, not reused bytes.
            if (ring.valid(tail, reuses)) {
                throw new ArenaCorruptedException("store index", b, "bucket chain does not parse: bucket=" + b);
            }
            out.subList(from, out.size()).clear();
        }
    }
}
