package io.sharena.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The shared store's get and set against what a user would use instead, in the same run:
 * {@link ConcurrentHashMap} with a {@code byte[]}-wrapper key, and a size-bounded Caffeine cache.
 * {@link #items} items, 16-byte keys, 100-byte values, uniform or Zipf(0.99) access.
 *
 * <p>What each side does: {@code storeGet} copies the value into a caller buffer (no allocation);
 * {@code storeGetZeroCopy} reads the value's first 8 bytes in place and validates; the maps return
 * the reference they hold (no copy). {@code storeSet} copies the 100 bytes into shared memory and
 * swaps the key's item; the maps store a reference to the same array. Map keys are pre-built
 * wrappers (their hash cached), the store hashes the key bytes on every call: both favour the maps.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.StoreBenchmark [-prof gc]}.
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
    static final int TRACE = 1 << 20;
    private static final int MASK = TRACE - 1;

    @Param({"1000000"})
    public int items;

    @Param({"uniform", "zipf"})
    public String access;

    private Path dir;
    private SharedStore store;
    private ConcurrentHashMap<Key, byte[]> chm;
    private Cache<Key, byte[]> caffeine;
    private byte[][] keys;
    private Key[] wrapped;
    private int[] trace;

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
        StoreReader reader;
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sharena-store-bench-");
        // 1 M records of 64 + 16 + 100 bytes, rounded to 192: 192 MB, plus the ring's slack.
        final long limit = Math.max(64L << 20, (long) items * 192 * 4 / 3);
        store = SharedStore.create(dir.resolve("bench.store"), StoreOptions.defaults().withMemoryLimit(limit));
        chm = new ConcurrentHashMap<>(items * 2);
        caffeine = Caffeine.newBuilder().maximumSize(items).build();
        keys = new byte[items][];
        wrapped = new Key[items];
        final byte[] value = new byte[VALUE_BYTES];
        Arrays.fill(value, (byte) 'v');
        for (int i = 0; i < items; i++) {
            keys[i] = ZipfTrace.key(i, KEY_BYTES);
            wrapped[i] = new Key(keys[i]);
            if (store.set(keys[i], value, 0, 0) != StoreResult.STORED) {
                throw new IllegalStateException("store setup failed at item " + i);
            }
            chm.put(wrapped[i], value.clone());
            caffeine.put(wrapped[i], value.clone());
        }
        trace = "zipf".equals(access) ? ZipfTrace.zipf(items, 0.99, TRACE, 42) : ZipfTrace.uniform(items, TRACE, 42);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        store.close();
        Files.deleteIfExists(dir.resolve("bench.store"));
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
        final long first = r.value().get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        return r.validate() ? first : -2;
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

    public static void main(final String[] args) throws Exception {
        final OptionsBuilder options = new OptionsBuilder();
        options.include("^" + StoreBenchmark.class.getName() + "\\.");
        if (Arrays.asList(args).contains("-prof") || Arrays.asList(args).contains("gc")) {
            options.addProfiler(org.openjdk.jmh.profile.GCProfiler.class);
        }
        new Runner(options.build()).run();
    }
}
