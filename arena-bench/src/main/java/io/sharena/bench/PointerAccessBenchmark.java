package io.sharena.bench;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
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

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Plain access by arena pointer ({@link ArenaView#getLong(int)} and friends on
 * {@link SharedArena#raw()}) against plain {@link MemorySegment} access to the same mapping
 * ({@link io.sharena.core.internal.ArenaInternals#segment}), in the same run.
 *
 * <p>Target: {@code arenaX / segmentX ≤ 1.1} in ns/op for every pair, and
 * {@code gc.alloc.rate.norm} ≈ 0 B/op for all of them ({@code -prof gc}).
 *
 * <p>What each side does per operation: advance a masked index, load the location from a
 * precomputed table, do one 8- or 4-byte plain access. The sharena side keeps what a sharena user
 * keeps, {@code int} arena pointers, and goes through the view; the baseline keeps what a
 * {@code MemorySegment} user keeps, {@code long} offsets, and calls {@code get}/{@code set} with
 * the same unaligned layouts the raw view uses ({@link ValueLayout#JAVA_LONG_UNALIGNED},
 * {@link ValueLayout#JAVA_INT_UNALIGNED}), so the only difference is the pointer-to-offset step
 * and the view call. Both sides see the same {@value #SLOTS} locations in the same shuffled order,
 * so the JIT cannot fold the address and the hardware prefetcher cannot hide the spread.
 *
 * <p>{@link #pages}: the working set. The {@value #SLOTS} slots are spread evenly over that many
 * user pages: {@code 2} pages is stride 8 (every word of 8 KiB, all in L1), {@code 256} pages is
 * stride 1 KiB (one cache line each in 256 pages: L2 and TLB reach). Must be even, so that the
 * stride is a multiple of 8, and at most {@code 4 * 1024}.
 *
 * <p>State is per thread: each thread maps its own arena file, created in {@code java.io.tmpdir}
 * and deleted at teardown.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class PointerAccessBenchmark {
    /** Locations visited, a power of two. */
    static final int SLOTS = 1024;
    private static final int MASK = SLOTS - 1;
    private static final String CAPACITY = "64M";
    private static final long SHUFFLE_SEED = 0x5AE7A_0001L;

    /** Working set in user pages over which the {@value #SLOTS} slots are spread. */
    @Param({"2", "256"})
    public int pages;

    private TempArena temp;
    private Path file;
    private SharedArena arena;

    private ArenaView view;
    private MemorySegment segment;
    /** Arena pointers of the slots, shuffled: the sharena side's addresses. */
    private int[] ptrs;
    /** The same slots as segment offsets, same order: the baseline's addresses. */
    private long[] offsets;
    private int index;
    /** The segment behind one more object: see {@link #holderGetLong}. */
    private Holder holder;

    /** One object holding the segment in a final field, as a view does. */
    private record Holder(MemorySegment segment) {
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        temp = TempArena.create("pointer-access.arena", CAPACITY);
        file = temp.file();
        arena = temp.arena();
        view = arena.raw();
        segment = ArenaInternals.segment(arena);
        holder = new Holder(segment);

        final long pageSize = arena.pageSize();
        final long first = arena.firstUserPage() * pageSize;
        final long span = pages * pageSize;
        if (pages <= 0 || span % ((long) SLOTS * Long.BYTES) != 0) {
            throw new IllegalArgumentException("pages must be a positive multiple of "
                + (SLOTS * Long.BYTES) / pageSize + " so that the stride is a multiple of 8: pages=" + pages);
        }
        if (first + span > arena.capacityBytes()) {
            throw new IllegalArgumentException("working set does not fit the arena: pages=" + pages
                + ", capacity=" + CAPACITY + ", firstUserPage=" + arena.firstUserPage());
        }
        final long stride = span / SLOTS;

        ptrs = new int[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            ptrs[i] = (int) (first + i * stride);
        }
        final SplittableRandom random = new SplittableRandom(SHUFFLE_SEED);
        for (int i = SLOTS - 1; i > 0; i--) {
            final int j = random.nextInt(i + 1);
            final int t = ptrs[i];
            ptrs[i] = ptrs[j];
            ptrs[j] = t;
        }
        offsets = new long[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            offsets[i] = Integer.toUnsignedLong(ptrs[i]);
        }

        // Fault every slot's page in (dirty, as the put benchmarks will leave it) and check that
        // both sides name the same bytes.
        for (int i = 0; i < SLOTS; i++) {
            segment.set(ValueLayout.JAVA_LONG_UNALIGNED, offsets[i], ~(long) i);
            if (view.getLong(ptrs[i]) != ~(long) i) {
                throw new IllegalStateException("arena pointer and segment offset disagree: ptr=0x"
                    + Integer.toHexString(ptrs[i]) + ", offset=" + offsets[i]);
            }
        }
        index = 0;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try {
            if (temp != null) {
                temp.close();
            }
        } finally {
            arena = null;
            view = null;
            segment = null;
            temp = null;
        }
    }

    private int next() {
        final int i = (index + 1) & MASK;
        index = i;
        return i;
    }

    @Benchmark
    public long arenaGetLong() {
        return view.getLong(ptrs[next()]);
    }

    @Benchmark
    public long segmentGetLong() {
        return segment.get(ValueLayout.JAVA_LONG_UNALIGNED, offsets[next()]);
    }

    /**
     * The floor of {@link #arenaGetLong} per call: the same segment read reached through one object
     * that holds the segment, as any view, wrapper or flyweight holds it. Per call, the JIT cannot
     * keep the segment in a register across invocations, so a view pays one more dependent load (and
     * its type check) than a caller holding the segment itself; in a loop both are hoisted
     * ({@link #arenaSumLongs}).
     */
    @Benchmark
    public long holderGetLong() {
        return holder.segment.get(ValueLayout.JAVA_LONG_UNALIGNED, offsets[next()]);
    }

    @Benchmark
    public void arenaPutLong() {
        final int i = next();
        view.putLong(ptrs[i], i);
    }

    @Benchmark
    public void segmentPutLong() {
        final int i = next();
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, offsets[i], i);
    }

    /** The floor of {@link #arenaPutLong} per call, as {@link #holderGetLong} is of the read. */
    @Benchmark
    public void holderPutLong() {
        final int i = next();
        holder.segment.set(ValueLayout.JAVA_LONG_UNALIGNED, offsets[i], i);
    }

    @Benchmark
    public int arenaGetInt() {
        return view.getInt(ptrs[next()]);
    }

    @Benchmark
    public int segmentGetInt() {
        return segment.get(ValueLayout.JAVA_INT_UNALIGNED, offsets[next()]);
    }

    /**
     * The same reads in a loop over every slot, the view (or segment) in a local: what a hot
     * path that walks a structure looks like. Reported per call (1,024 reads each).
     */
    @Benchmark
    public long arenaSumLongs() {
        final ArenaView v = view;
        final int[] p = ptrs;
        long sum = 0;
        for (int i = 0; i < SLOTS; i++) {
            sum += v.getLong(p[i]);
        }
        return sum;
    }

    @Benchmark
    public long segmentSumLongs() {
        final MemorySegment s = segment;
        final long[] o = offsets;
        long sum = 0;
        for (int i = 0; i < SLOTS; i++) {
            sum += s.get(ValueLayout.JAVA_LONG_UNALIGNED, o[i]);
        }
        return sum;
    }

    /** Runs this class; JMH options as for {@link BenchmarkMain#run}. */
    public static void main(final String[] args) throws Exception {
        BenchmarkMain.run(PointerAccessBenchmark.class, args);
    }
}
