package io.sharena.bench;

import io.sharena.core.layout.Geometry;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Replays a Zipf(0.99) key trace through the shared store (get; on a miss, set) with a memory
 * limit that holds about 10 % of the keys, and through an exact LRU holding the same number of
 * items; prints both hit ratios. 16-byte keys and 100-byte values: 192-byte records, so the LRU's
 * capacity is the store's writable ring divided by 192.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.StoreHitRatio [keys] [requests]} (defaults 1,000,000 and 10,000,000).
 */
public final class StoreHitRatio {
    private static final int RECORD = 192;

    private StoreHitRatio() {
    }

    public static void main(final String[] args) throws Exception {
        final int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        final int requests = args.length > 1 ? Integer.parseInt(args[1]) : 10_000_000;
        final int capacity = keys / 10;
        // The store keeps 1/32 of its ring free for second chances: size the ring so that the rest holds `capacity`.
        final long limit = Geometry.pageBytes(Geometry.pagesFor((long) capacity * RECORD * 32 / 31));
        final int[] trace = ZipfTrace.zipf(keys, 0.99, requests, 7);
        final byte[][] k = new byte[keys][];
        for (int i = 0; i < keys; i++) {
            k[i] = ZipfTrace.key(i, StoreBenchmark.KEY_BYTES);
        }
        final byte[] value = new byte[StoreBenchmark.VALUE_BYTES];

        final Path dir = Files.createTempDirectory("sharena-hit-ratio-");
        final Path file = dir.resolve("h.store");
        long storeHits = 0;
        long evictions;
        final long t0 = System.nanoTime();
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(limit)
            .withMaxItemSize(64 << 10))) {
            final byte[] dst = new byte[256];
            for (final int key : trace) {
                if (store.get(k[key], dst) >= 0) {
                    storeHits++;
                } else if (store.set(k[key], value, 0, 0) != StoreResult.STORED) {
                    throw new IllegalStateException("set failed");
                }
            }
            evictions = store.stats().get("evictions");
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        final long t1 = System.nanoTime();

        final LinkedHashMap<Integer, Boolean> lru = new LinkedHashMap<>(capacity * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(final Map.Entry<Integer, Boolean> eldest) {
                return size() > capacity;
            }
        };
        long lruHits = 0;
        for (final int key : trace) {
            if (lru.get(key) != null) {
                lruHits++;
            } else {
                lru.put(key, Boolean.TRUE);
            }
        }
        System.out.printf("keys=%d requests=%d zipf=0.99 capacity=%d items (memoryLimit=%d)%n", keys, requests,
            capacity, limit);
        System.out.printf("store (CLOCK by reinsertion): hit ratio %.4f, evictions %d, %.0f ns/request%n",
            (double) storeHits / requests, evictions, (double) (t1 - t0) / requests);
        System.out.printf("exact LRU:                    hit ratio %.4f%n", (double) lruHits / requests);
    }
}
