package io.sharena.bench;

/**
 * Replays a Zipf(0.99) key trace (get; on a miss, set) with room for about 10 % of the keys
 * through the shared store, an exact LRU holding as many items, and a real memcached at the same
 * limit when one is installed ({@link StoreScenarios#hitRatio}); prints the three hit ratios.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.StoreHitRatio [keys] [requests]} (defaults 1,000,000 and 3,000,000).
 */
public final class StoreHitRatio {
    private StoreHitRatio() {
    }

    public static void main(final String[] args) throws Exception {
        final int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        final int requests = args.length > 1 ? Integer.parseInt(args[1]) : 3_000_000;
        System.out.println(StoreScenarios.hitRatio(keys, requests));
    }
}
