package io.sharena.bench.harness;

import io.sharena.bench.ChannelBenchmark;
import io.sharena.bench.MultiGetBench;
import io.sharena.bench.MultiProcessAllocBench;
import io.sharena.bench.PageAllocBenchmark;
import io.sharena.bench.PingPongBench;
import io.sharena.bench.PointerAccessBenchmark;
import io.sharena.bench.ServerBench;
import io.sharena.bench.ServerHitRatio;
import io.sharena.bench.StoreBenchmark;
import io.sharena.bench.StoreScenarios;
import io.sharena.bench.ZeroCopyBench;
import io.sharena.bench.harness.Suite.JmhPair;
import org.HdrHistogram.Histogram;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The suites {@code arena bench} knows, each pair with its target. */
final class Suites {
    static final List<String> NAMES = List.of("pointers", "alloc", "lock", "ipc", "store", "server");
    private static final double[] PERCENTILES = {50, 90, 99, 99.9, 99.99};

    private Suites() {
    }

    static Suite byName(final String name) {
        return switch (name) {
            case "pointers" -> new Suite("pointers", PointerAccessBenchmark.class, Map.of("pages", "2"), List.of(
                new JmhPair("arenaGetLong", "segmentGetLong", "getLong by pointer vs MemorySegment", Target.ratioAtMost(1.1)),
                new JmhPair("arenaGetLong", "holderGetLong",
                    "getLong by pointer vs its floor, MemorySegment held by one object (as by any view)", Target.reported()),
                new JmhPair("holderGetLong", "segmentGetLong",
                    "MemorySegment held by one object vs held directly (one more dependent load per call)",
                    Target.reported()),
                new JmhPair("arenaPutLong", "segmentPutLong", "putLong by pointer vs MemorySegment", Target.ratioAtMost(1.1)),
                new JmhPair("arenaPutLong", "holderPutLong",
                    "putLong by pointer vs its floor, MemorySegment held by one object (as by any view)", Target.reported()),
                new JmhPair("arenaGetInt", "segmentGetInt", "getInt by pointer vs MemorySegment", Target.ratioAtMost(1.1)),
                new JmhPair("arenaSumLongs", "segmentSumLongs", "1,024 getLong in a loop", Target.ratioAtMost(1.1))),
                null);
            case "alloc" -> new Suite("alloc", PageAllocBenchmark.class, Map.of(), List.of(
                new JmhPair("arenaAllocFree1", "mmapMunmap4k", "1-page alloc+free vs mmap+munmap 4 KiB",
                    Target.fasterAtLeast(40)),
                new JmhPair("arenaAllocFree1", "casReleasePair", "1-page alloc+free vs bare CAS + release",
                    Target.ratioAtMost(6)),
                new JmhPair("arenaAllocFree1", "fill4k", "1-page alloc+free vs its floor, zeroing 4 KiB",
                    Target.reported()),
                new JmhPair("arenaAllocFree1", "copyZeros4k", "1-page alloc+free vs its floor, copying 4 KiB of zeros",
                    Target.reported()),
                new JmhPair("arenaAllocFree1Uninitialized", "casReleasePair",
                    "1-page alloc+free without the zeroing vs bare CAS + release", Target.reported()),
                new JmhPair("arenaAllocFree16", "mmapMunmap64k", "16-page alloc+free vs mmap+munmap 64 KiB",
                    Target.absoluteAtMost(500)),
                new JmhPair("arenaAllocFree16", "fill64k", "16-page alloc+free vs its floor, zeroing 64 KiB",
                    Target.reported()),
                new JmhPair("arenaAllocFree16", "copyZeros64k", "16-page alloc+free vs its floor, copying 64 KiB of zeros",
                    Target.reported()),
                new JmhPair("arenaAllocFree17", "fill68k", "17-page (locked) alloc+free vs MemorySegment.fill 68 KiB",
                    Target.ratioAtMost(2)),
                new JmhPair("arenaAllocFree17", "mmapMunmap64k", "17-page (locked) alloc+free vs mmap+munmap 64 KiB",
                    Target.reported()),
                new JmhPair("arenaAllocFree17Uninitialized", "fill68k",
                    "17-page uninitialized alloc+free vs MemorySegment.fill 68 KiB", Target.reported()),
                new JmhPair("arenaAllocFree1", "arenaOfConfinedAllocate4k", "1-page alloc+free vs Arena.ofConfined 4 KiB",
                    Target.reported()),
                new JmhPair("arenaAllocFree1", "arenaOfSharedAllocate4k", "1-page alloc+free vs Arena.ofShared 4 KiB",
                    Target.reported())),
                Suites::twoProcesses);
            case "lock" -> new Suite("lock", PageAllocBenchmark.class, Map.of(), List.of(
                new JmhPair("tryLockUnlock", "casReleasePair", "tryLock+unlock vs bare CAS + release",
                    Target.ratioAtMost(1.2)),
                new JmhPair("tryLockUnlock", "guardedCasReleasePair",
                    "tryLock+unlock vs its floor, guarded CAS (load first) + release", Target.reported()),
                new JmhPair("guardedCasReleasePair", "casReleasePair",
                    "guarded CAS + release vs bare (the load every atomic on the mapping starts with)",
                    Target.reported()),
                new JmhPair("tryLockUnlock", "countedCasReleasePair",
                    "tryLock+unlock vs guarded CAS + the acquisitions count the checker reads + release",
                    Target.reported()),
                new JmhPair("countedCasReleasePair", "guardedCasReleasePair",
                    "guarded CAS + count + release vs guarded CAS + release (what the count costs)",
                    Target.reported())), null);
            case "ipc" -> new Suite("ipc", ChannelBenchmark.class, Map.of(), List.of(
                new JmhPair("channelOfferPoll100", "agronaOneToOneOfferRead100",
                    "100-byte offer+poll vs Agrona OneToOneRingBuffer", Target.ratioAtMost(1.0)),
                new JmhPair("ffmCopy100", "agronaPutBytes100",
                    "its floor: the 100-byte payload copy alone, FFM vs Agrona", Target.reported()),
                new JmhPair("heapLocalAllocFree64", "arenaOfConfinedAllocate64",
                    "heap 64 B alloc+free through the thread's LocalHeap vs Arena.ofConfined", Target.ratioAtMost(1.0)),
                new JmhPair("heapLocalAllocFree64", "localAtomicsFloor64",
                    "heap 64 B alloc+free through the thread's LocalHeap vs its floor: 2 atomic bit ops + zeroing 64 B",
                    Target.reported()),
                new JmhPair("heapAllocFree64", "arenaOfConfinedAllocate64",
                    "heap 64 B alloc+free through the shared free stacks vs Arena.ofConfined", Target.reported()),
                new JmhPair("heapAllocFree64", "sharedAtomicsFloor64",
                    "heap 64 B alloc+free vs its floor: 2 CAS + 2 atomic bit ops + zeroing 64 B", Target.reported()),
                new JmhPair("sharedAtomicsFloor64", "arenaOfConfinedAllocate64",
                    "the heap's floor vs Arena.ofConfined", Target.reported())),
                Suites::ipcProcesses);
            case "store" -> new Suite("store", StoreBenchmark.class, Map.of("items", "1000000"), List.of(
                new JmhPair("storeGet", "chmGet", "get hit into a buffer vs ConcurrentHashMap.get (byte[] key)",
                    Target.ratioAtMost(1.0)),
                new JmhPair("storeGet", "chronicleGet", "get hit into a buffer vs Chronicle Map getUsing",
                    Target.ratioAtMost(0.5)),
                new JmhPair("storeGetZeroCopy", "chmGet", "zero-copy get hit vs ConcurrentHashMap.get",
                    Target.reported()),
                new JmhPair("storeGet", "floorFourDependentReads",
                    "get hit vs its floor, four dependent reads over 256 MiB", Target.reported()),
                new JmhPair("storeGetChained", "chmGetChained",
                    "get hit vs ConcurrentHashMap.get, each get waiting for the one before (no overlap between calls)",
                    Target.reported()),
                new JmhPair("storeGet", "storeGetChained",
                    "get hit vs the same gets each waiting for the one before (what overlap between calls gives the store)",
                    Target.reported()),
                new JmhPair("chmGet", "chmGetChained",
                    "ConcurrentHashMap.get vs the same gets each waiting for the one before (what overlap gives the heap map)",
                    Target.reported()),
                new JmhPair("storeGetPrefetched16", "chmGetLoop16",
                    "get hit, 16 keys prefetched then each read into a buffer, per key, vs ConcurrentHashMap.get 16 in a row",
                    Target.reported()),
                new JmhPair("storeGetPrefetched16", "chronicleGet",
                    "get hit, 16 keys prefetched then each read into a buffer, per key, vs Chronicle Map getUsing",
                    Target.reported()),
                new JmhPair("storeGetPrefetched16", "storeGetLoop16",
                    "get hit, 16 keys prefetched then each read, per key, vs the same 16 gets without the prefetch",
                    Target.reported()),
                new JmhPair("storeSet", "chroniclePut", "set vs Chronicle Map put", Target.ratioAtMost(0.6)),
                new JmhPair("storeSet", "caffeinePut", "set vs Caffeine put (size bound)", Target.ratioAtMost(1.0)),
                new JmhPair("storeSetGet100k", "chmCopyInOut100k", "100 KiB set+get vs copying 100 KiB in and out",
                    Target.reported())),
                Suites::storeScenarios);
            case "server" -> new Suite("server", null, Map.of(), List.of(), Suites::server);
            default -> throw new IllegalArgumentException("unknown suite: suite=" + name + ", known=" + NAMES);
        };
    }

    private static Suite.ScenarioResult twoProcesses(final Mode mode) throws Exception {
        final double[] r = MultiProcessAllocBench.measure(mode.seconds());
        final List<Row> rows = List.of(
            new Row("alloc", "1-page alloc+free, 2 processes vs 1 (total pairs/s)",
                rate("2 processes, 1 page", r[1]), rate("1 process, 1 page", r[0]), Target.throughputAtLeast(1.8)),
            new Row("alloc", "1-page alloc+free, 4 processes on 2 cores vs 1 (total pairs/s)",
                rate("4 processes, 1 page", r[2]), rate("1 process, 1 page", r[0]), Target.reported()),
            new Row("alloc", "3-page alloc+free, 2 processes vs 1 (total pairs/s)",
                rate("2 processes, 3 pages", r[4]), rate("1 process, 3 pages", r[3]), Target.reported()),
            new Row("alloc", "3-page alloc+free, 4 processes on 2 cores vs 1 (total pairs/s)",
                rate("4 processes, 3 pages", r[5]), rate("1 process, 3 pages", r[3]), Target.reported()),
            new Row("alloc", "1-page alloc+free per CPU-second of a process, 2 processes vs 1 (contention, whatever the load)",
                cpuRate("each of 2 processes, 1 page", r[7]), cpuRate("1 process, 1 page", r[6]), Target.reported()),
            new Row("alloc", "1-page alloc+free per CPU-second of a process, 4 processes vs 1",
                cpuRate("each of 4 processes, 1 page", r[8]), cpuRate("1 process, 1 page", r[6]), Target.reported()));
        return new Suite.ScenarioResult(rows, Map.of());
    }

    private static Suite.ScenarioResult storeScenarios(final Mode mode) throws Exception {
        final boolean tiny = mode == Mode.TINY;
        final int items = tiny ? 100_000 : StoreScenarios.ITEMS;
        final double[] g = StoreScenarios.twoProcessGets(items, mode.seconds());
        final StoreScenarios.HitRatios h = StoreScenarios.hitRatio(items, tiny ? 200_000
            : mode == Mode.QUICK ? 1_000_000 : 3_000_000);
        final StoreScenarios.MemoryPerItem m = StoreScenarios.memoryPerItem(items);
        final String trace = String.format(java.util.Locale.ROOT, "Zipf 0.99, %,d keys, %,d requests, %d MiB;"
            + " items held at the end: store %,d, memcached %,d", h.keys(), h.requests(), h.limitBytes() >> 20,
            h.storeItems(), h.memcachedItems());
        final List<Row> rows = new java.util.ArrayList<>(List.of(
            new Row("store", "gets, 2 processes vs 1 (total gets/s, uniform, " + items / 1000 + " k items)",
                measured("2 processes", "M gets/s", g[1] / 1e6), measured("1 process", "M gets/s", g[0] / 1e6),
                Target.throughputAtLeast(1.8)),
            new Row("store", "gets per CPU-second of a process, 2 processes vs 1 (contention, whatever the load)",
                measured("each of 2 processes", "M gets/CPU-s", g[3] / 1e6),
                measured("1 process", "M gets/CPU-s", g[2] / 1e6), Target.reported()),
            new Row("store", "its floor: chains of 4 dependent reads over 256 MiB, 2 processes vs 1 (total, nothing shared)",
                measured("2 processes", "M chains/s", g[5] / 1e6), measured("1 process", "M chains/s", g[4] / 1e6),
                Target.reported()),
            new Row("store", "hit ratio vs exact LRU (" + trace + ")", measured("store (CLOCK, use count)", "%", 100 * h.store()),
                measured("exact LRU", "%", 100 * h.lru()), Target.reported())));
        if (!Double.isNaN(h.memcached())) {
            rows.add(new Row("store", "hit ratio vs memcached 1.6 at -m " + (h.limitBytes() >> 20) + " (" + trace + ")",
                measured("store (CLOCK, use count)", "%", 100 * h.store()),
                measured("memcached", "%", 100 * h.memcached()), Target.throughputAtLeast(1.0)));
        }
        if (m.memcachedRss() > 0) {
            rows.add(new Row("store", "memory per item, " + items / 1000 + " k items: store region vs memcached RSS",
                measured("store ring+index+map", "B/item", (double) m.storeBytes() / m.items()),
                measured("memcached RSS", "B/item", (double) m.memcachedRss() / m.items()), Target.ratioAtMost(1.0)));
            rows.add(new Row("store", "memory per item: store region vs memcached stats bytes (items only)",
                measured("store ring+index+map", "B/item", (double) m.storeBytes() / m.items()),
                measured("memcached stats bytes", "B/item", (double) m.memcachedBytes() / m.items()),
                Target.reported()));
        }
        return new Suite.ScenarioResult(rows, Map.of());
    }

    private static Figure measured(final String name, final String unit, final double value) {
        return new Figure(name, unit, value, value, value, 1, Double.NaN);
    }

    private static Figure cpuRate(final String name, final double pairsPerCpuSecond) {
        return measured(name, "M pairs/CPU-s", pairsPerCpuSecond / 1e6);
    }

    private static Figure rate(final String name, final double pairsPerSecond) {
        final double m = pairsPerSecond / 1e6;
        return new Figure(name, "M pairs/s", m, m, m, 1, Double.NaN);
    }

    private static Suite.ScenarioResult ipcProcesses(final Mode mode) throws Exception {
        final Histogram[] h = PingPongBench.measure(mode.seconds(), mode == Mode.FULL ? 2 : 1, false);
        final double[] z = ZeroCopyBench.measure(mode.seconds(), Path.of(System.getProperty("java.io.tmpdir")));
        final List<Row> rows = List.of(
            new Row("ipc", "cross-process round trip, median: 2 channels vs a bare shared word",
                latency("channel round trip p50", h[0], 50), latency("bare word round trip p50", h[1], 50),
                Target.ratioAtMost(1.3)),
            new Row("ipc", "cross-process round trip, p99",
                latency("channel round trip p99", h[0], 99), latency("bare word round trip p99", h[1], 99),
                Target.reported()),
            new Row("ipc", "cross-process round trip, p99.9",
                latency("channel round trip p99.9", h[0], 99.9), latency("bare word round trip p99.9", h[1], 99.9),
                Target.reported()),
            new Row("ipc", "cross-process round trip, max",
                latency("channel round trip max", h[0], 100), latency("bare word round trip max", h[1], 100),
                Target.reported()),
            new Row("ipc", "1 MiB zero-copy between processes vs MemorySegment.copy 1 MiB",
                throughput("zero-copy 1 MiB messages", z[0]), throughput("MemorySegment.copy 1 MiB", z[1]),
                Target.throughputAtLeast(0.5)),
            new Row("ipc", "1 MiB zero-copy between processes vs MemorySegment.copy out of cache (64 MiB)",
                throughput("zero-copy 1 MiB messages", z[0]), throughput("MemorySegment.copy 1 MiB of 64", z[2]),
                Target.reported()),
            new Row("ipc", "its floor: allocPagesUninitialized(256) + freePages in one process vs MemorySegment.copy 1 MiB",
                throughput("page allocator alone, 1 MiB", z[3]), throughput("MemorySegment.copy 1 MiB", z[1]),
                Target.reported()),
            new Row("ipc", "its floor: 1 MiB written by one process, read in place by another, handed over by a shared flag "
                    + "(no allocator, no channel) vs MemorySegment.copy 1 MiB",
                throughput("hand-over alone, 1 MiB", z[4]), throughput("MemorySegment.copy 1 MiB", z[1]),
                Target.reported()),
            new Row("ipc", "1 MiB zero-copy between processes vs its hand-over floor (the same writes and reads, no allocator, "
                    + "no channel)",
                throughput("zero-copy 1 MiB messages", z[0]), throughput("hand-over alone, 1 MiB", z[4]),
                Target.reported()));
        final Map<String, double[][]> latencies = new LinkedHashMap<>();
        latencies.put("channel", points(h[0]));
        latencies.put("bare word", points(h[1]));
        return new Suite.ScenarioResult(rows, latencies);
    }

    private static Figure latency(final String name, final Histogram h, final double percentile) {
        return new Figure(name, "ns", h.getValueAtPercentile(percentile), h.getMinValue(), h.getMaxValue(),
            h.getTotalCount(), Double.NaN);
    }

    private static Figure throughput(final String name, final double gbs) {
        return new Figure(name, "GB/s", gbs, gbs, gbs, 1, Double.NaN);
    }

    private static double[][] points(final Histogram h) {
        final double[][] p = new double[PERCENTILES.length][];
        for (int i = 0; i < PERCENTILES.length; i++) {
            p[i] = new double[] {PERCENTILES[i], h.getValueAtPercentile(PERCENTILES[i])};
        }
        return p;
    }

    private static Suite.ScenarioResult server(final Mode mode) throws Exception {
        final ServerBench.Result r = ServerBench.measure(Math.max(2, mode.seconds()), Path.of(System.getProperty("java.io.tmpdir")));
        final List<Row> rows = new java.util.ArrayList<>();
        if (r.note() != null) {
            System.out.println("server suite: " + r.note());
        } else {
            for (int i = 0; i < r.connections().length; i++) {
                final int c = r.connections()[i];
                final ServerBench.Run ours = r.runs()[i][0];
                final ServerBench.Run theirs = r.runs()[i][1];
                final String load = "memaslap 90/10 get/set, 32 B keys, 100 B values, " + c + " connections";
                rows.add(new Row("server", load + ": ops/s vs memcached",
                    one("serve ops/s, " + c + " conns", "k ops/s", ours.opsPerSecond() / 1e3),
                    one("memcached ops/s, " + c + " conns", "k ops/s", theirs.opsPerSecond() / 1e3),
                    Target.throughputAtLeast(1.0)));
                rows.add(new Row("server", load + ": server CPU per op vs memcached",
                    one("serve CPU/op, " + c + " conns", "us", ours.cpuMicrosPerOp()),
                    one("memcached CPU/op, " + c + " conns", "us", theirs.cpuMicrosPerOp()), Target.ratioAtMost(1.0)));
                rows.add(new Row("server", load + ": p99 (log2 bucket bound) vs memcached",
                    one("serve p99, " + c + " conns", "us", ours.p99Micros()),
                    one("memcached p99, " + c + " conns", "us", theirs.p99Micros()), Target.ratioAtMost(1.0)));
            }
            for (int i = 0; i < r.largeSizes().length; i++) {
                final int kib = r.largeSizes()[i] >> 10;
                rows.add(new Row("server", kib + " KiB values, one connection, set then get: ops/s vs memcached",
                    one("serve ops/s, " + kib + " KiB", "ops/s", r.largeOps()[i][0]),
                    one("memcached ops/s, " + kib + " KiB", "ops/s", r.largeOps()[i][1]), Target.throughputAtLeast(1.0)));
            }
        }
        final int multiGetItems = mode.name().equals(Mode.TINY.name()) ? 20_000 : MultiGetBench.ITEMS;
        final MultiGetBench.Result m = MultiGetBench.measure(multiGetItems, Math.max(2, mode.seconds()),
            Path.of(System.getProperty("java.io.tmpdir")));
        if (m.note() == null) {
            for (final MultiGetBench.Shape shape : MultiGetBench.Shape.values()) {
                final int i = shape.ordinal();
                final String name = switch (shape) {
                    case LINE -> "multi-get";
                    case PIPELINED -> "pipelined gets";
                    case META -> "pipelined meta gets";
                };
                final String load = switch (shape) {
                    case LINE -> "multi-get, " + MultiGetBench.KEYS_PER_GET + " random keys a line";
                    case PIPELINED -> "pipelined gets, " + MultiGetBench.KEYS_PER_GET + " get lines of one random key a write";
                    case META -> "pipelined meta gets, " + MultiGetBench.KEYS_PER_GET + " mg lines of one random key a write";
                } + " over " + multiGetItems / 1000 + " k items, one connection";
                rows.add(new Row("server", load + ": keys/s vs memcached",
                    one("serve keys/s, " + name, "k keys/s", m.keysPerSecond()[i][0] / 1e3),
                    one("memcached keys/s, " + name, "k keys/s", m.keysPerSecond()[i][1] / 1e3), Target.reported()));
                rows.add(new Row("server", load + ": server CPU per key vs memcached",
                    one("serve CPU/key, " + name, "us", m.cpuMicrosPerKey()[i][0]),
                    one("memcached CPU/key, " + name, "us", m.cpuMicrosPerKey()[i][1]), Target.reported()));
            }
        } else {
            System.out.println("server suite: " + m.note());
        }
        final boolean full = mode.name().equals(Mode.FULL.name());
        final boolean tiny = mode.name().equals(Mode.TINY.name());
        final int keys = tiny ? 100_000 : 1_000_000;
        final int requests = full ? 10_000_000 : tiny ? 200_000 : 2_000_000;
        final int mib = tiny ? 4 : 20; // a store holds at least two records of its 1 MiB item limit
        final ServerHitRatio.Result h = ServerHitRatio.measure(keys, requests, mib,
            Path.of(System.getProperty("java.io.tmpdir")));
        if (h.memcached() == null) {
            System.out.println("server suite: memcached not installed; the hit-ratio row has no baseline");
        } else {
            rows.add(new Row("server", "hit ratio, Zipf(0.99) over " + keys + " keys, " + requests
                + " get-then-set-on-miss, " + mib + " MiB (--memory " + mib + "M vs -m " + mib + ")",
                one("serve hit ratio", "%", 100 * h.serve().hitRatio()),
                one("memcached hit ratio", "%", 100 * h.memcached().hitRatio()), Target.throughputAtLeast(1.0)));
        }
        rows.add(new Row("server", "get of a 100 B value: store API in this JVM vs xmemcached over loopback",
            one("store API get", "ns", r.storeGetNanos()), one("xmemcached loopback get", "ns", r.loopbackGetNanos()),
            Target.reported()));
        return new Suite.ScenarioResult(rows, Map.of());
    }

    private static Figure one(final String name, final String unit, final double v) {
        return new Figure(name, unit, v, v, v, 1, Double.NaN);
    }
}
