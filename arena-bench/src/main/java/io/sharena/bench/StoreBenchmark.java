package io.sharena.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;
import net.openhft.chronicle.map.ChronicleMap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The shared store's get and set against what a user would use instead, in the same run:
 * {@link ConcurrentHashMap} with a {@code byte[]}-wrapper key (the on-heap bar), a size-bounded
 * Caffeine cache, and Chronicle Map persisted to a file (the off-heap, shared-memory map).
 * {@link #items} items, 16-byte keys, 100-byte values, uniform or Zipf(0.99) access.
 *
 * <p>What each side does: {@code storeGet} copies the value into a caller buffer (no allocation);
 * {@code storeGetZeroCopy} reads the value's first 8 bytes in place (the reader's allocation-free
 * form) and validates; the heap maps
 * return the reference they hold (no copy); {@code chronicleGet} copies the value into a reused
 * array ({@code getUsing}). {@code storeSet} copies the 100 bytes into shared memory and swaps the
 * key's item; the heap maps store a reference to the same array; Chronicle copies it into its
 * file. Heap-map keys are pre-built wrappers (their hash cached); the store and Chronicle hash the
 * key bytes on every call: both favour the heap maps.
 *
 * <p>Only the structure a benchmark uses is built in its fork. Chronicle Map needs JDK-internal
 * access: its two benchmarks run in forks of their own with the {@code CHRONICLE_JVM_ARGS_*} flags; sharena's
 * forks carry none of those flags.
 *
 * <p>Run: {@code ./arena jmh StoreBenchmark -prof gc}, or the harness's {@code ./arena bench store}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class StoreBenchmark {
    static final int KEY_BYTES = 16;
    static final int VALUE_BYTES = 100;
    static final int BIG_VALUE_BYTES = 100 << 10;
    static final int BIG_KEYS = 64;
    static final int TRACE = 1 << 20;
    /** Keys per call of the batched gets: one prefetch batch of the store's. */
    static final int BATCH = 16;
    private static final int MASK = TRACE - 1;
    private static final long CHASE_SLOTS = 32L << 20;
    /** What Chronicle Map 3.25 needs on JDK 17 and later (JDK-internal access), for its forks only. */
    static final String CHRONICLE_JVM_ARGS_0 = "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_1 = "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_2 = "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_3 = "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_4 = "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_5 = "--add-opens=java.base/java.lang=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_6 = "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_7 = "--add-opens=java.base/java.io=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_8 = "--add-opens=java.base/java.util=ALL-UNNAMED";
    static final String CHRONICLE_JVM_ARGS_9 = "--add-opens=java.base/java.nio=ALL-UNNAMED";
    /** Chronicle's start-up otherwise tries to reach an analytics server. */
    static final String CHRONICLE_JVM_ARGS_10 = "-Dchronicle.analytics.disable=true";

    @Param({"1000000"})
    public int items;

    @Param({"uniform", "zipf"})
    public String access;

    /**
     * Whether the store maps its region with 2 MiB pages ({@code StoreOptions.hugePages}, the
     * default), and the floor its chase memory; {@code -p hugePages=true,false} compares the two.
     * The heap maps run on the JVM's defaults (4 KiB pages unless {@code -XX:+UseTransparentHugePages}).
     */
    @Param({"true"})
    public boolean hugePages;

    private Path dir;
    private SharedStore store;
    private ConcurrentHashMap<Key, byte[]> chm;
    private Cache<Key, byte[]> caffeine;
    private ChronicleMap<byte[], byte[]> chronicle;
    private byte[][] keys;
    private Key[] wrapped;
    private byte[][] bigKeys;
    private int[] trace;
    private Arena chaseArena;
    private MemorySegment chase;
    /** Spreads the floor's first read over all the chase slots (trace indexes are below {@link #items}). */
    private long chaseStride;

    /** A {@code byte[]} map key, as a user would write one. */
    record Key(byte[] bytes, int hash) {
        Key(final byte[] bytes) {
            this(bytes, Arrays.hashCode(bytes));
        }

        @Override
        public boolean equals(final Object o) {
            return o instanceof Key k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    @State(Scope.Thread)
    public static class PerThread {
        int i = (int) (Thread.currentThread().threadId() * 7919);
        final byte[] dst = new byte[256];
        final byte[] value = new byte[VALUE_BYTES];
        final byte[] using = new byte[VALUE_BYTES];
        final byte[] big = new byte[BIG_VALUE_BYTES];
        final byte[] bigDst = new byte[BIG_VALUE_BYTES];
        byte[] bigHeap = new byte[BIG_VALUE_BYTES];
        final byte[][] batch = new byte[BATCH][];
        StoreReader reader;
        /** The last chained get's result, which the next one's key index waits for. */
        long last;
    }

    /** @return the memory limit of a store holding {@code items} 192-byte records with a third to spare */
    static long storeLimit(final int items) {
        return Math.max(64L << 20, (long) items * 192 * 4 / 3);
    }

    @Setup(Level.Trial)
    public void setUp(final BenchmarkParams params) throws IOException {
        final String method = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        dir = Files.createTempDirectory("sharena-store-bench-");
        keys = new byte[items][];
        wrapped = new Key[items];
        for (int i = 0; i < items; i++) {
            keys[i] = ZipfTrace.key(i, KEY_BYTES);
            wrapped[i] = new Key(keys[i]);
        }
        bigKeys = new byte[BIG_KEYS][];
        for (int i = 0; i < BIG_KEYS; i++) {
            bigKeys[i] = ZipfTrace.key(i, KEY_BYTES);
            bigKeys[i][0] = 'B';
        }
        final byte[] value = new byte[VALUE_BYTES];
        Arrays.fill(value, (byte) 'v');
        if (method.startsWith("store")) {
            store = SharedStore.create(dir.resolve("bench.store"),
                StoreOptions.defaults().withMemoryLimit(storeLimit(items)).withHugePages(hugePages));
            // The 100 KiB benchmark measures the multi-page path, not the eviction of small items.
            for (int i = 0; i < items && !method.endsWith("100k"); i++) {
                if (store.set(keys[i], value, 0, 0) != StoreResult.STORED) {
                    throw new IllegalStateException("store setup failed at item " + i);
                }
            }
        } else if (method.startsWith("chm")) {
            chm = new ConcurrentHashMap<>(items * 2);
            for (int i = 0; i < items; i++) {
                chm.put(wrapped[i], value.clone());
            }
        } else if (method.startsWith("caffeine")) {
            caffeine = Caffeine.newBuilder().maximumSize(items).build();
            for (int i = 0; i < items; i++) {
                caffeine.put(wrapped[i], value.clone());
            }
        } else if (method.startsWith("floor")) {
            // 256 MiB of random slot indexes, about what the store's ring and index span at 1 M items.
            chaseArena = Arena.ofShared();
            chase = chaseArena.allocate(CHASE_SLOTS * Long.BYTES, 2L << 20);
            chaseStride = Math.max(1, CHASE_SLOTS / items);
            if (hugePages) {
                HugePages.advise(chase);
            }
            final java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
            for (long i = 0; i < CHASE_SLOTS; i++) {
                chase.setAtIndex(ValueLayout.JAVA_LONG, i, rnd.nextLong(CHASE_SLOTS));
            }
        } else if (method.startsWith("chronicle")) {
            chronicle = ChronicleMap.of(byte[].class, byte[].class).name("bench").entries(items)
                .averageKeySize(KEY_BYTES).averageValueSize(VALUE_BYTES)
                .createPersistedTo(dir.resolve("bench.chronicle").toFile());
            for (int i = 0; i < items; i++) {
                chronicle.put(keys[i], value);
            }
        }
        trace = "zipf".equals(access) ? ZipfTrace.zipf(items, 0.99, TRACE, 42) : ZipfTrace.uniform(items, TRACE, 42);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (store != null) {
            store.close();
        }
        if (chronicle != null) {
            chronicle.close();
        }
        if (chaseArena != null) {
            chaseArena.close();
        }
        try (var files = Files.list(dir)) {
            for (final Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public int storeGet(final PerThread t) {
        return store.get(keys[trace[t.i++ & MASK]], t.dst);
    }

    @Benchmark
    public long storeGetZeroCopy(final PerThread t) {
        if (t.reader == null) {
            t.reader = store.reader();
        }
        final StoreReader r = t.reader;
        if (!r.get(keys[trace[t.i++ & MASK]])) {
            return -1;
        }
        final long first = r.memory().get(ValueLayout.JAVA_LONG_UNALIGNED, r.valueOffset());
        return r.validate() ? first : -2;
    }

    /**
     * Gets of {@value #BATCH} keys of the trace in a row, each into the caller's buffer, after one
     * {@link SharedStore#prefetch} of the batch: what a caller with several keys in hand (a
     * multi-get) pays per key. Reported per key.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int storeGetPrefetched16(final PerThread t) {
        final byte[][] batch = nextBatch(t);
        store.prefetch(batch, 0, BATCH);
        return getAll(batch, t.dst);
    }

    /** The same {@value #BATCH} gets in a row without the prefetch: what it changes. Reported per key. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int storeGetLoop16(final PerThread t) {
        return getAll(nextBatch(t), t.dst);
    }

    private int getAll(final byte[][] batch, final byte[] dst) {
        int sum = 0;
        for (final byte[] key : batch) {
            sum += store.get(key, dst);
        }
        return sum;
    }

    /** {@value #BATCH} {@link ConcurrentHashMap} gets in a row, keys gathered the same way. Reported per key. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int chmGetLoop16(final PerThread t) {
        int sum = 0;
        for (int j = 0; j < BATCH; j++) {
            sum += chm.get(wrapped[trace[t.i++ & MASK]]).length;
        }
        return sum;
    }

    private byte[][] nextBatch(final PerThread t) {
        final byte[][] batch = t.batch;
        for (int j = 0; j < BATCH; j++) {
            batch[j] = keys[trace[t.i++ & MASK]];
        }
        return batch;
    }

    /**
     * What a get on a million items cannot go below on this machine: four reads of random places in
     * 256 MiB, each at an address the one before gave (a get's key bytes, bucket, item and value
     * line are such a chain; so are the heap map's key wrapper, table slot, node and key).
     * Successive operations are independent, so the processor may overlap them, as it may gets.
     */
    @Benchmark
    public long floorFourDependentReads(final PerThread t) {
        // A trace index times the stride: the first read lands anywhere in the 256 MiB, as the others
        // do (the bare index kept it in the first items * 8 bytes, 8 MiB: last-level cache here).
        long x = trace[t.i++ & MASK] * chaseStride;
        x = chase.getAtIndex(ValueLayout.JAVA_LONG, x);
        x = chase.getAtIndex(ValueLayout.JAVA_LONG, x);
        x = chase.getAtIndex(ValueLayout.JAVA_LONG, x);
        return chase.getAtIndex(ValueLayout.JAVA_LONG, x);
    }

    /**
     * {@link #storeGet} with each key's index waiting for the result of the get before (it adds
     * that result's sign bit, always 0 on a hit): the processor cannot start a get's reads before
     * the one before has finished, so this is the get's whole latency, with no overlap between
     * calls. Against {@link #storeGet} it shows how much the store gains from overlap; against
     * {@link #chmGetChained}, how the two compare when neither has any.
     */
    @Benchmark
    public long storeGetChained(final PerThread t) {
        final int r = store.get(keys[trace[(t.i++ + (int) (t.last >>> 63)) & MASK]], t.dst);
        t.last = r;
        return r;
    }

    /** {@link #chmGet} chained as {@link #storeGetChained}: each key waits for the get before. */
    @Benchmark
    public long chmGetChained(final PerThread t) {
        final long r = chm.get(wrapped[trace[(t.i++ + (int) (t.last >>> 63)) & MASK]]).length;
        t.last = r;
        return r;
    }

    @Benchmark
    public byte[] chmGet(final PerThread t) {
        return chm.get(wrapped[trace[t.i++ & MASK]]);
    }

    @Benchmark
    public byte[] caffeineGet(final PerThread t) {
        return caffeine.getIfPresent(wrapped[trace[t.i++ & MASK]]);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-XX:+UseParallelGC", CHRONICLE_JVM_ARGS_0,
        CHRONICLE_JVM_ARGS_1, CHRONICLE_JVM_ARGS_2, CHRONICLE_JVM_ARGS_3, CHRONICLE_JVM_ARGS_4, CHRONICLE_JVM_ARGS_5,
        CHRONICLE_JVM_ARGS_6, CHRONICLE_JVM_ARGS_7, CHRONICLE_JVM_ARGS_8, CHRONICLE_JVM_ARGS_9, CHRONICLE_JVM_ARGS_10})
    public byte[] chronicleGet(final PerThread t) {
        return chronicle.getUsing(keys[trace[t.i++ & MASK]], t.using);
    }

    @Benchmark
    public StoreResult storeSet(final PerThread t) {
        return store.set(keys[trace[t.i++ & MASK]], t.value, 0, 0);
    }

    @Benchmark
    public byte[] chmPut(final PerThread t) {
        return chm.put(wrapped[trace[t.i++ & MASK]], t.value);
    }

    @Benchmark
    public void caffeinePut(final PerThread t) {
        caffeine.put(wrapped[trace[t.i++ & MASK]], t.value);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-XX:+UseParallelGC", CHRONICLE_JVM_ARGS_0,
        CHRONICLE_JVM_ARGS_1, CHRONICLE_JVM_ARGS_2, CHRONICLE_JVM_ARGS_3, CHRONICLE_JVM_ARGS_4, CHRONICLE_JVM_ARGS_5,
        CHRONICLE_JVM_ARGS_6, CHRONICLE_JVM_ARGS_7, CHRONICLE_JVM_ARGS_8, CHRONICLE_JVM_ARGS_9, CHRONICLE_JVM_ARGS_10})
    public void chroniclePut(final PerThread t) {
        chronicle.put(keys[trace[t.i++ & MASK]], t.value);
    }

    /**
     * A 100 KiB value stored and read back into a caller buffer (one of {@value #BIG_KEYS} keys in
     * turn, in a store of only those): the set reserves a multi-page record (the ring wraps every
     * few thousand sets and passes the replaced ones), the get copies it out.
     */
    @Benchmark
    public int storeSetGet100k(final PerThread t) {
        final byte[] k = bigKeys[t.i++ & (BIG_KEYS - 1)];
        if (store.set(k, t.big, 0, 0) != StoreResult.STORED) {
            return -1;
        }
        return store.get(k, t.bigDst);
    }

    /** What a 100 KiB set+get cannot go below: the value copied in, and out again. */
    @Benchmark
    public byte[] chmCopyInOut100k(final PerThread t) {
        System.arraycopy(t.big, 0, t.bigHeap, 0, BIG_VALUE_BYTES);
        System.arraycopy(t.bigHeap, 0, t.bigDst, 0, BIG_VALUE_BYTES);
        return t.bigDst;
    }

    public static void main(final String[] args) throws Exception {
        final OptionsBuilder options = new OptionsBuilder();
        options.include("^" + StoreBenchmark.class.getName() + "\\.");
        if (Arrays.asList(args).contains("-prof") || Arrays.asList(args).contains("gc")) {
            options.addProfiler(org.openjdk.jmh.profile.GCProfiler.class);
        }
        new Runner(options.build()).run();
    }
}
