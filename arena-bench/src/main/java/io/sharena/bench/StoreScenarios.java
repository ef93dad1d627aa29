package io.sharena.bench;

import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The store's measurements that are not one JMH method: gets from two processes at once against
 * one, the hit ratio of a Zipf(0.99) trace against an exact LRU and a real memcached at the same
 * memory limit, and the memory an item takes against memcached's. 16-byte keys, 100-byte values.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.StoreScenarios [seconds]}.
 */
public final class StoreScenarios {
    public static final int ITEMS = 1_000_000;
    /** The store's record for this suite's items (16-byte key, 100-byte value), header included. */
    private static final int RECORD = (int) ItemLayout.recordSize(StoreBenchmark.KEY_BYTES, StoreBenchmark.VALUE_BYTES);
    /**
     * The item size the hit-ratio trace's limit is computed with: memcached's slab class for these
     * items, 192 bytes; the store and memcached get the same limit, whatever each fits in it.
     */
    private static final int TRACE_ITEM = 192;

    private StoreScenarios() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(Path.of(args[1]), Integer.parseInt(args[2]), args[3]);
            return;
        }
        if (args.length > 0 && args[0].equals("chase")) {
            chase(args[3]);
            return;
        }
        final int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        final double[] g = twoProcessGets(ITEMS, seconds);
        System.out.printf("gets, 1 process %.2f M/s, 2 processes %.2f M/s, ratio %.2f%n", g[0] / 1e6, g[1] / 1e6,
            g[1] / g[0]);
        final HitRatios h = hitRatio(ITEMS, 2_000_000);
        System.out.println(h);
        System.out.println(memoryPerItem(ITEMS));
    }

    // ------------------------------------------------------------------ two processes doing gets

    /**
     * Fills a store with {@code items} items, then has one process, and then two at once, get
     * uniformly random keys for {@code seconds}; each process is a JVM of its own.
     *
     * @return {total gets per second with 1 process, with 2; gets per CPU-second of a process with 1,
     * with 2 (per CPU-second: whether two processes slow each other down, whatever else runs); total
     * chains of four dependent reads per second with 1 process, with 2 (what the machine scales)}
     */
    public static double[] twoProcessGets(final int items, final int seconds) throws Exception {
        final Path dir = Files.createTempDirectory("sharena-store-mp-");
        final Path file = dir.resolve("mp.store");
        try {
            try (SharedStore store = SharedStore.create(file,
                StoreOptions.defaults().withMemoryLimit(StoreBenchmark.storeLimit(items)))) {
                final byte[] value = new byte[StoreBenchmark.VALUE_BYTES];
                for (int i = 0; i < items; i++) {
                    if (store.set(ZipfTrace.key(i, StoreBenchmark.KEY_BYTES), value, 0, 0) != StoreResult.STORED) {
                        throw new IllegalStateException("store setup failed at item " + i);
                    }
                }
            }
            final double[] one = run("child", file, items, 1, seconds);
            final double[] two = run("child", file, items, 2, seconds);
            // The hardware's share: the same number of processes doing nothing but chains of
            // dependent reads over 256 MiB each (no store, nothing shared).
            final double[] chaseOne = run("chase", file, items, 1, seconds);
            final double[] chaseTwo = run("chase", file, items, 2, seconds);
            return new double[] {one[0], two[0], one[1], two[1], chaseOne[0], chaseTwo[0]};
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /** @return {total gets per second, mean gets per CPU-second of a process} */
    private static double[] run(final String what, final Path file, final int items, final int processes,
                                final int seconds) throws Exception {
        final List<Process> children = new ArrayList<>();
        final List<BufferedReader> outs = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            final Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                StoreScenarios.class.getName(), what, file.toString(), Integer.toString(items),
                seconds + ":" + i).redirectErrorStream(true).start();
            children.add(p);
            outs.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        }
        try {
            // Each child warms up, says "ready" and keeps getting; all start counting on one "go".
            for (final BufferedReader r : outs) {
                for (String line = r.readLine(); !"ready".equals(line); line = r.readLine()) {
                    if (line == null) {
                        throw new IllegalStateException("a get process ended before it was ready");
                    }
                    System.err.println("[child] " + line);
                }
            }
            for (final Process p : children) {
                p.getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
                p.getOutputStream().flush();
            }
            double total = 0;
            double perCpu = 0;
            for (int i = 0; i < children.size(); i++) {
                for (String line = outs.get(i).readLine(); line != null; line = outs.get(i).readLine()) {
                    if (line.startsWith("cpu=")) {
                        perCpu += Double.parseDouble(line.substring(4)) / children.size();
                    } else if (line.startsWith("rate=")) {
                        total += Double.parseDouble(line.substring(5));
                    } else {
                        System.err.println("[child] " + line);
                    }
                }
                if (children.get(i).waitFor() != 0) {
                    throw new IllegalStateException("a get process failed: exit=" + children.get(i).exitValue());
                }
            }
            return new double[] {total, perCpu};
        } finally {
            for (final Process p : children) {
                p.destroyForcibly();
            }
        }
    }

    private static void child(final Path file, final int items, final String when) throws Exception {
        final String[] w = when.split(":");
        final byte[][] keys = new byte[items][];
        for (int i = 0; i < items; i++) {
            keys[i] = ZipfTrace.key(i, StoreBenchmark.KEY_BYTES);
        }
        final int[] trace = ZipfTrace.uniform(items, StoreBenchmark.TRACE, 100 + Long.parseLong(w[1]));
        final int mask = trace.length - 1;
        final byte[] dst = new byte[256];
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final long misses = timed(Long.parseLong(w[0]), i -> store.get(keys[trace[i & mask]], dst) >= 0);
            if (misses > 0) {
                throw new IllegalStateException("gets missed in a store holding every key: misses=" + misses);
            }
        }
    }

    /**
     * A process of the hardware floor: chains of four dependent reads at random over 256 MiB of its
     * own, as a get's key, bucket, item and value are, timed like {@link #child}.
     */
    private static void chase(final String when) throws Exception {
        final String[] w = when.split(":");
        final long slots = 32L << 20;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            final java.lang.foreign.MemorySegment m = arena.allocate(slots * Long.BYTES, 64);
            final java.util.SplittableRandom rnd = new java.util.SplittableRandom(200 + Long.parseLong(w[1]));
            for (long i = 0; i < slots; i++) {
                m.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i, rnd.nextLong(slots));
            }
            final int[] starts = ZipfTrace.uniform((int) slots, StoreBenchmark.TRACE, 300 + Long.parseLong(w[1]));
            final int mask = starts.length - 1;
            // The chain's end is compared with an impossible index, so the reads cannot be left out.
            timed(Long.parseLong(w[0]), i -> chain(m, starts[i & mask]) != -1);
        }
    }

    /**
     * A child's timing protocol: {@code op} (given a running index) for 2 s of warm-up, then
     * "ready", then until the parent's "go", then counted for {@code seconds}; prints the operations
     * per CPU-second ({@code cpu=}) and per second ({@code rate=}).
     *
     * @return how many counted operations returned false
     */
    private static long timed(final long seconds, final java.util.function.IntPredicate op) throws IOException {
        int i = 0;
        final long warm = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < warm) {
            op.test(i++);
        }
        System.out.println("ready");
        System.out.flush();
        while (System.in.available() == 0) {
            for (int k = 0; k < 1024; k++) {
                op.test(i++);
            }
        }
        final long end = System.nanoTime() + seconds * 1_000_000_000L;
        long ops = 0;
        long failed = 0;
        final java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        final long cpu0 = mx.getCurrentThreadCpuTime();
        final long start = System.nanoTime();
        while (System.nanoTime() < end) {
            for (int k = 0; k < 1024; k++) {
                if (!op.test(i++)) {
                    failed++;
                }
            }
            ops += 1024;
        }
        final long wall = System.nanoTime() - start;
        final long cpu = mx.getCurrentThreadCpuTime() - cpu0;
        System.out.println("cpu=" + ops * 1e9 / cpu);
        System.out.println("rate=" + ops * 1e9 / wall);
        return failed;
    }

    private static long chain(final java.lang.foreign.MemorySegment m, final long start) {
        long x = m.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, start);
        x = m.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, x);
        x = m.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, x);
        return m.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, x);
    }

    // ------------------------------------------------------------------ hit ratio

    /**
     * @param store     the store's hit ratio
     * @param lru       an exact LRU's, holding as many items as the store's writable ring
     * @param memcached memcached's at {@code -m} equal to the store's limit; NaN if not run
     */
    public record HitRatios(int keys, int requests, long limitBytes, double store, double lru, double memcached,
                            long storeItems, long memcachedItems) {
        @Override
        public String toString() {
            return String.format("keys=%d requests=%d limit=%d: store %.4f (items %d), exact LRU %.4f, memcached %.4f"
                + " (items %d)", keys, requests, limitBytes, store, storeItems, lru, memcached, memcachedItems);
        }
    }

    /**
     * Replays a Zipf(0.99) trace over {@code keys} keys (get; on a miss, set) through the store, an
     * exact LRU and memcached, with room for about 10 % of the keys: a limit of {@code keys / 10}
     * 192-byte items (memcached's slab class for them) plus the store's 1/64 slack, rounded up to a
     * MiB, given to memcached as {@code -m}; its hash table is outside {@code -m}. The exact LRU
     * holds as many items as the store's records fit in the limit.
     */
    public static HitRatios hitRatio(final int keys, final int requests) throws Exception {
        final int capacity = keys / 10;
        final long mib = ((long) capacity * TRACE_ITEM * 64 / 63 + (1 << 20) - 1) >> 20;
        final long limit = mib << 20;
        final int[] trace = ZipfTrace.zipf(keys, 0.99, requests, 7);
        final byte[][] k = new byte[keys][];
        for (int i = 0; i < keys; i++) {
            k[i] = ZipfTrace.key(i, StoreBenchmark.KEY_BYTES);
        }
        final byte[] value = new byte[StoreBenchmark.VALUE_BYTES];
        final Path dir = Files.createTempDirectory("sharena-hit-ratio-");
        final Path file = dir.resolve("h.store");
        long storeHits = 0;
        long storeItems;
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
            storeItems = store.stats().get("curr_items");
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        final int lruCapacity = (int) (limit - limit / 64) / RECORD;
        final LinkedHashMap<Integer, Boolean> lru = new LinkedHashMap<>(lruCapacity * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(final Map.Entry<Integer, Boolean> eldest) {
                return size() > lruCapacity;
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
        double mc = Double.NaN;
        long mcItems = -1;
        if (Memcached.available()) {
            try (Memcached m = Memcached.start((int) mib)) {
                long hits = 0;
                for (final int key : trace) {
                    if (m.get(k[key])) {
                        hits++;
                    } else {
                        m.setNoReply(k[key], value); // sent with the next get, processed before it
                    }
                }
                m.sync();
                mc = (double) hits / requests;
                mcItems = Long.parseLong(m.stats().get("curr_items"));
            }
        }
        return new HitRatios(keys, requests, limit, (double) storeHits / requests, (double) lruHits / requests, mc,
            storeItems, mcItems);
    }

    // ------------------------------------------------------------------ memory per item

    /**
     * @param storeBytes     the store's region: ring, buckets, access map and stripes
     * @param storeFileBytes the store file's allocated blocks ({@code du})
     * @param memcachedRss   memcached's resident set after the load
     * @param memcachedBytes memcached's {@code stats bytes} (items only)
     */
    public record MemoryPerItem(long items, long storeBytes, long storeFileBytes, long memcachedRss,
                                long memcachedBytes) {
        @Override
        public String toString() {
            return String.format("items=%d: store %.1f B/item (region), %.1f (file blocks); memcached %.1f B/item (RSS),"
                + " %.1f (stats bytes)", items, (double) storeBytes / items, (double) storeFileBytes / items,
                (double) memcachedRss / items, (double) memcachedBytes / items);
        }
    }

    /**
     * Loads {@code items} items into a store sized to just hold them and into a memcached with room
     * to spare (through its socket), and measures what each takes.
     */
    public static MemoryPerItem memoryPerItem(final int items) throws Exception {
        final byte[] value = new byte[StoreBenchmark.VALUE_BYTES];
        // The ring keeps 1/64 free of new writes: the smallest ring whose other 63/64 hold every record.
        final long limit = ((long) items * RECORD * 64 / 63 + 4095) & -4096L;
        final Path dir = Files.createTempDirectory("sharena-store-mem-");
        final Path file = dir.resolve("m.store");
        long storeBytes;
        long fileBytes;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(limit))) {
            for (int i = 0; i < items; i++) {
                if (store.set(ZipfTrace.key(i, StoreBenchmark.KEY_BYTES), value, 0, 0) != StoreResult.STORED) {
                    throw new IllegalStateException("store load failed at item " + i);
                }
            }
            final Map<String, Long> s = store.stats();
            if (s.get("curr_items") != items || s.get("evictions") != 0) {
                throw new IllegalStateException("the store did not hold every item: " + s);
            }
            final long ring = s.get("limit_maxbytes");
            // Ring, 4-byte buckets, the access map (a byte per 64 of ring), 1,024 128-byte stripes.
            storeBytes = ring + (4L << s.get("hash_power_level")) + ring / 64 + 1024 * 128;
            fileBytes = duBytes(file);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        long rss = -1;
        long bytes = -1;
        if (Memcached.available()) {
            try (Memcached m = Memcached.start((int) ((long) items * 256 >> 20) + 64)) {
                for (int i = 0; i < items; i++) {
                    m.setNoReply(ZipfTrace.key(i, StoreBenchmark.KEY_BYTES), value);
                    if ((i & 1023) == 1023) {
                        m.sync();
                    }
                }
                m.sync();
                final Map<String, String> s = m.stats();
                if (Long.parseLong(s.get("curr_items")) != items) {
                    throw new IllegalStateException("memcached did not hold every item: curr_items=" + s.get("curr_items"));
                }
                bytes = Long.parseLong(s.get("bytes"));
                rss = m.rssBytes();
            }
        }
        return new MemoryPerItem(items, storeBytes, fileBytes, rss, bytes);
    }

    private static long duBytes(final Path file) throws IOException, InterruptedException {
        final Process p = new ProcessBuilder("du", "-B1", file.toString()).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) {
            return -1;
        }
        return Long.parseLong(out.split("\\s+")[0]);
    }
}
