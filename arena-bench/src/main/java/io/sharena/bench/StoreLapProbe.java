package io.sharena.bench;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * A write whose room lies a lap from the ring's tail (docs/store.md, "A write moves items in turns
 * of the ring lock"): a store of 100-byte items, evictions off, filled until a set is refused,
 * its newest twentieth then deleted, so that the room lies behind every item left. Then
 * {@code threads} threads each set 200 new keys at once; each prints its results and its longest
 * set, and the store's {@code moves_cut} and {@code reinserted} are printed at the end.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.StoreLapProbe [memoryMiB] [threads]} (defaults 256 and 2).
 */
public final class StoreLapProbe {
    private static final int SETS = 200;

    private StoreLapProbe() {
    }

    private static byte[] key(final String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    public static void main(final String[] args) throws Exception {
        final long memory = (args.length > 0 ? Long.parseLong(args[0]) : 256) << 20;
        final int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        final Path dir = Files.createTempDirectory("sharena-lap-");
        final Path file = dir.resolve("lap.store");
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(memory).withEvictions(false))) {
            final byte[] value = new byte[100];
            int n = 0;
            while (store.set(key(String.format("key:%012d", n)), value, 0, 0) == StoreResult.STORED) {
                n++;
            }
            for (int i = n - n / 20; i < n; i++) {
                store.delete(key(String.format("key:%012d", i)));
            }
            System.out.printf("%d MiB: %d items stored, the newest %d deleted%n", memory >> 20, n, n / 20);
            final Thread[] writers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                final int id = t;
                writers[t] = new Thread(() -> {
                    final Map<StoreResult, Integer> results = new EnumMap<>(StoreResult.class);
                    long longest = 0;
                    for (int i = 0; i < SETS; i++) {
                        final long start = System.nanoTime();
                        final StoreResult r = store.set(key("t" + id + ":" + i), value, 0, 0);
                        longest = Math.max(longest, System.nanoTime() - start);
                        results.merge(r, 1, Integer::sum);
                    }
                    System.out.printf("thread %d: %s, longest set %.1f ms%n", id, results, longest / 1e6);
                });
                writers[t].start();
            }
            for (final Thread w : writers) {
                w.join();
            }
            final Map<String, Long> st = store.stats();
            System.out.printf("moves_cut=%d reinserted=%d evictions=%d%n", st.get("moves_cut"), st.get("reinserted"),
                st.get("evictions"));
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
