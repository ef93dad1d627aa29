package io.sharena.bench;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What the store benchmark's set does to the store over time: a million 100-byte items in the
 * benchmark's limit ({@link StoreBenchmark#storeLimit}), then rounds of a million uniform
 * overwrites, each round printing the items held, the evictions and the moves to the ring's head
 * (the store's {@code stats}), and the mean time a set took (on a quiet machine only).
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.StoreOverwriteRounds [items] [rounds]} (defaults 1,000,000 and 6).
 */
public final class StoreOverwriteRounds {
    private StoreOverwriteRounds() {
    }

    public static void main(final String[] args) throws Exception {
        final int items = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        final int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        final Path dir = Files.createTempDirectory("sharena-overwrite-");
        final Path file = dir.resolve("o.store");
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(StoreBenchmark.storeLimit(items)))) {
            final byte[] value = new byte[100];
            final byte[][] keys = new byte[items][];
            for (int i = 0; i < items; i++) {
                keys[i] = String.format("key-%011d", i).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                store.set(keys[i], value, 0, 0);
            }
            final SplittableRandom random = new SplittableRandom(42);
            for (int round = 0; round < rounds; round++) {
                final Map<String, Long> before = store.stats();
                final long start = System.nanoTime();
                for (int i = 0; i < items; i++) {
                    store.set(keys[random.nextInt(items)], value, 0, 0);
                }
                final long nanos = System.nanoTime() - start;
                final Map<String, Long> after = store.stats();
                System.out.printf("round %d: curr_items=%d evictions=%d reinserted=%d mean_set_ns=%d%n", round,
                    after.get("curr_items"), after.get("evictions") - before.get("evictions"),
                    after.get("reinserted") - before.get("reinserted"), nanos / items);
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
