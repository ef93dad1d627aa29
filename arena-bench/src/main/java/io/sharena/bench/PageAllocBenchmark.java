package io.sharena.bench;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Geometry;
import io.sharena.core.owner.ArenaLock;
import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;
import io.sharena.core.os.SharedWords;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Page allocation and freeing ({@link SharedArena#allocPages(int)} then
 * {@link SharedArena#freePages(int, int)}) against what a JVM process would otherwise do for a
 * page of memory, in the same run: an anonymous {@code mmap} + {@code munmap}, a confined or shared
 * {@link Arena} allocating 4 KiB, and, as the floor, the bare atomic pair a lock-free pop/push is
 * built from.
 *
 * <p>Targets, in ns/op:
 * <ul>
 *   <li>{@code mmapMunmap4k / arenaAllocFree1 ≥ 40} (the span-cache path is at least 40× cheaper
 *       than asking the kernel) and {@code arenaAllocFree1 / casReleasePair ≤ 6};</li>
 *   <li>{@code arenaAllocFree16 ≤ 500} ns, with its floor {@code fill64k} (zeroing 64 KiB) beside
 *       it; {@code arenaAllocFree17 / fill68k ≤ 2}: the size with no cache class takes the
 *       cross-process lock and best fit, and reuses the dirty run the last free left (zeroed, no
 *       system call); {@code mmapMunmap64k / arenaAllocFree17} is reported;</li>
 *   <li>{@code fill4k} and {@code copyZeros4k}: the zeroing floors printed beside the 1-page row
 *       (the cache zeroes by a copy from a page of zeros), {@code arenaAllocFree1Uninitialized}:
 *       the same path without the zeroing; {@code copyZeros64k} beside the 16-page row;</li>
 *   <li>{@code tryLockUnlock / casReleasePair ≤ 1.2}, with its floor {@code guardedCasReleasePair}
 *       (every atomic on the mapping loads its word first) beside it, and {@code countedCasReleasePair}
 *       (that floor with the acquisitions count the lock must keep);</li>
 *   <li>{@code arenaOfSharedAllocate4k} and {@code arenaOfConfinedAllocate4k}: reported, what a
 *       Java user would write without sharena;</li>
 *   <li>{@code gc.alloc.rate.norm} ≈ 0 B/op on every sharena path and on the mmap and CAS
 *       baselines ({@code -prof gc}); the {@link Arena} baselines allocate by design.</li>
 * </ul>
 *
 * <p>What each side does per operation: get the memory, write one byte into its first page, give
 * it back. Touching is part of the deal on both sides because an arena page is handed out resident
 * and zeroed (the span cache zeroes a span when it hands it out; the lock path zeroes dirty pages
 * and commits clean ones with {@code fallocate}), while an anonymous mapping is only address space until its first write
 * faults a zeroed page in; without the write, mmap would be timed doing less than the arena does.
 * One byte is what the target's row measures; the {@code ...TouchAll} variants write one byte into every
 * page, the fair comparison when the user of a multi-page span fills it (then mmap pays one fault
 * per page, the arena's 16-page cache path pays nothing more, and the 17-page lock path one
 * shared-file fault per page).
 *
 * <p>Steady state: setup allocates and frees one 1-page and one 16-page span, so each has a span
 * in this process's cache (at most 96 pages are cached per process) and every timed 1- and 16-page
 * call is a cache pop and push: no lock, no system call. Every timed allocation is checked for 0
 * (allocation failure), which fails the benchmark with an {@link IllegalStateException}.
 *
 * <p>{@link #casReleasePair} is a bare var handle {@code compareAndSet} from 0 and {@code setRelease}
 * back to 0 on one word of an allocated user page of the same mapping (no guard load: the floor); {@link #tryLockUnlock} is {@link ArenaLock#tryAcquireFast()} then
 * {@link ArenaLock#unlock()} on the arena's allocator lock, uncontended.
 *
 * <p>State is per thread: each thread maps its own arena file, created in {@code java.io.tmpdir}
 * and deleted at teardown. Running with more than one thread ({@code -t}) measures the mmap
 * baselines under the process-wide {@code mmap} lock, but the arena ones each on a private arena.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class PageAllocBenchmark {
    /** The bare var handle the baseline CASes with: no guard load, nothing but the atomic. */
    private static final VarHandle BARE_LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final String CAPACITY = "256M";
    private static final int PAGE = Geometry.PAGE_SIZE;
    private static final int SMALL_CACHED = 1;
    private static final int LARGE_CACHED = 16;
    /** One more than the largest cache class: always the locked path. */
    private static final int UNCACHED = LARGE_CACHED + 1;
    private static final int PROT_RW = Posix.PROT_READ | Posix.PROT_WRITE;
    private static final int MAP_ANON = Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS;
    /** What {@link #casReleasePair} swaps in: nonzero, shaped like a lock owner word. */
    private static final long CAS_TOKEN = 0x1_0001L;
    private static final byte TOUCH = 1;
    /**
     * All of native memory as one segment, made once: the mmap baselines write to fresh mappings
     * through it with a plain {@code set}, allocating nothing. {@code reinterpret} is restricted:
     * forks run with {@code --enable-native-access=ALL-UNNAMED}.
     */
    private static final MemorySegment NATIVE = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    /** 16 pages of zeros, page-aligned, as the span cache keeps them. */
    private static final MemorySegment ZEROS = Arena.global().allocate((long) LARGE_CACHED * PAGE, PAGE);

    private TempArena temp;
    private Path file;
    private SharedArena arena;

    private MemorySegment segment;
    private ArenaView view;
    private ArenaLock lock;
    /** A word on an allocated user page: the {@link #casReleasePair} target. */
    private int wordPtr;
    /** 17 allocated, resident pages: what the {@code fill} floors write. */
    private MemorySegment fillTarget;
    /** Its first page and first 16 pages, sliced once: a floor that allocates a slice per call is no floor. */
    private MemorySegment fillTarget4k;
    private MemorySegment fillTarget64k;
    private int fillPtr;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        temp = TempArena.create("page-alloc.arena", CAPACITY);
        file = temp.file();
        arena = temp.arena();
        segment = ArenaInternals.segment(arena);
        view = arena.raw();
        lock = ArenaInternals.lock(arena);
        if (arena.pageSize() != PAGE) {
            throw new IllegalStateException("arena page size is not the page size the baselines map: pageSize="
                + arena.pageSize() + ", expected=" + PAGE);
        }

        wordPtr = arena.allocPages(1);
        if (wordPtr == 0) {
            throw allocationFailed(arena, 1);
        }
        // Fault the CAS target's page in, dirty, as the timed loop keeps it.
        view.putLongRelease(wordPtr, 0L);

        fillPtr = arena.allocPages(UNCACHED);
        if (fillPtr == 0) {
            throw allocationFailed(arena, UNCACHED);
        }
        fillTarget = segment.asSlice(Integer.toUnsignedLong(fillPtr), (long) UNCACHED * PAGE);
        fillTarget.fill(TOUCH);
        fillTarget4k = fillTarget.asSlice(0, PAGE);
        fillTarget64k = fillTarget.asSlice(0, (long) LARGE_CACHED * PAGE);

        // Prime the span caches: after one free of each size, every timed alloc of that size pops.
        for (final int n : new int[] {SMALL_CACHED, LARGE_CACHED, UNCACHED}) {
            final int ptr = arena.allocPages(n);
            if (ptr == 0) {
                throw allocationFailed(arena, n);
            }
            arena.freePages(ptr, n);
        }
        // Nothing dirty left for the idle purge, which takes the allocator lock when a purge is due:
        // the lock benchmarks would find it busy, and the others would share its line with it.
        if (!arena.purge()) {
            throw lockBusy(lock, file);
        }
        if (!lock.tryAcquireFast()) {
            throw lockBusy(lock, file);
        }
        lock.unlock();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try {
            if (temp != null) {
                arena.freePages(wordPtr, 1);
                arena.freePages(fillPtr, UNCACHED);
                temp.close();
            }
        } finally {
            arena = null;
            view = null;
            lock = null;
            temp = null;
        }
    }

    /** Built only on the failure path. */
    private static IllegalStateException allocationFailed(final SharedArena arena, final int n) {
        return new IllegalStateException("allocPages returned 0: n=" + n + ", capacity=" + CAPACITY
            + ", firstUserPage=" + arena.firstUserPage() + ", path=" + arena.path());
    }

    /** Built only on the failure path: nothing else takes this thread's private arena's lock. */
    private static IllegalStateException lockBusy(final ArenaLock lock, final Path file) {
        return new IllegalStateException("allocator lock busy on a private arena: lockWord=0x"
            + Long.toHexString(lock.ownerWord()) + ", path=" + file);
    }

    private int allocFree(final int n, final int touchedPages) {
        final SharedArena a = arena;
        final int ptr = a.allocPages(n);
        if (ptr == 0) {
            throw allocationFailed(a, n);
        }
        final ArenaView v = view;
        for (int i = 0; i < touchedPages; i++) {
            v.putByte(ptr + i * PAGE, TOUCH);
        }
        a.freePages(ptr, n);
        return ptr;
    }

    private static long mmapMunmap(final int pages, final int touchedPages) throws OsException {
        final long length = (long) pages * PAGE;
        final long address = Posix.mmap(0L, length, PROT_RW, MAP_ANON, -1, 0L);
        final MemorySegment all = NATIVE;
        for (int i = 0; i < touchedPages; i++) {
            all.set(ValueLayout.JAVA_BYTE, address + (long) i * PAGE, TOUCH);
        }
        Posix.munmap(address, length);
        return address;
    }

    // ---------------------------------------------------------------- 1 page

    /** 1-page alloc + free through this process's span cache. */
    @Benchmark
    public int arenaAllocFree1() {
        return allocFree(SMALL_CACHED, 1);
    }

    /** Anonymous private mmap of 4 KiB, one write (the fault), munmap. */
    @Benchmark
    public long mmapMunmap4k() throws OsException {
        return mmapMunmap(1, 1);
    }

    /** The floor: one successful compare-and-set and one release store on a mapped arena word. */
    @Benchmark
    public boolean casReleasePair() {
        final MemorySegment s = segment;
        final long offset = Integer.toUnsignedLong(wordPtr);
        final boolean swapped = BARE_LONG.compareAndSet(s, offset, 0L, CAS_TOKEN);
        BARE_LONG.setRelease(s, offset, 0L);
        return swapped;
    }

    // ---------------------------------------------------------------- 16 and 17 pages

    /** 16-page alloc + free through the span cache (the largest cache class). */
    @Benchmark
    public int arenaAllocFree16() {
        return allocFree(LARGE_CACHED, 1);
    }

    /**
     * 17-page alloc + free: no cache class, so the lock and best fit; the run freed by the last call
     * is dirty (its storage kept), so the allocation zeroes it instead of a {@code fallocate}, and
     * the free punches nothing (the purge delay has not passed).
     */
    @Benchmark
    public int arenaAllocFree17() {
        return allocFree(UNCACHED, 1);
    }

    /** {@link #arenaAllocFree17} through {@code allocPagesUninitialized}: no zeroing, for writers of every byte. */
    @Benchmark
    public int arenaAllocFree17Uninitialized() {
        final SharedArena a = arena;
        final int ptr = a.allocPagesUninitialized(UNCACHED);
        if (ptr == 0) {
            throw allocationFailed(a, UNCACHED);
        }
        view.putByte(ptr, TOUCH);
        a.freePages(ptr, UNCACHED);
        return ptr;
    }

    /**
     * {@link #arenaAllocFree1} through {@code allocPagesUninitialized}: the same cache pop and push
     * without zeroing the page, what the 1-page path costs above its zeroing floor.
     */
    @Benchmark
    public int arenaAllocFree1Uninitialized() {
        final SharedArena a = arena;
        final int ptr = a.allocPagesUninitialized(SMALL_CACHED);
        if (ptr == 0) {
            throw allocationFailed(a, SMALL_CACHED);
        }
        view.putByte(ptr, TOUCH);
        a.freePages(ptr, SMALL_CACHED);
        return ptr;
    }

    /** The floor of {@link #arenaAllocFree1}: zeroing one resident 4 KiB page ({@code MemorySegment.fill}). */
    @Benchmark
    public MemorySegment fill4k() {
        return fillTarget4k.fill((byte) 0);
    }

    /**
     * Zeroing one resident page the way the span cache does it: {@code MemorySegment.copy} from a
     * page of zeros (on this VM faster than {@code fill}, so the lower of the two floors).
     */
    @Benchmark
    public MemorySegment copyZeros4k() {
        MemorySegment.copy(ZEROS, 0, fillTarget, 0, PAGE);
        return fillTarget;
    }

    /** {@link #copyZeros4k} for 16 pages: the other floor of {@link #arenaAllocFree16}. */
    @Benchmark
    public MemorySegment copyZeros64k() {
        MemorySegment.copy(ZEROS, 0, fillTarget, 0, (long) LARGE_CACHED * PAGE);
        return fillTarget;
    }

    /** The floor of {@link #arenaAllocFree16}: zeroing 64 KiB of resident pages. */
    @Benchmark
    public MemorySegment fill64k() {
        return fillTarget64k.fill((byte) 0);
    }

    /** What {@link #arenaAllocFree17} is held to: zeroing the same 68 KiB of resident pages. */
    @Benchmark
    public MemorySegment fill68k() {
        return fillTarget.fill((byte) 0);
    }

    /** Anonymous private mmap of 64 KiB, one write into its first page, munmap. */
    @Benchmark
    public long mmapMunmap64k() throws OsException {
        return mmapMunmap(LARGE_CACHED, 1);
    }

    /** {@link #arenaAllocFree16} writing one byte into each of the 16 pages. */
    @Benchmark
    public int arenaAllocFree16TouchAll() {
        return allocFree(LARGE_CACHED, LARGE_CACHED);
    }

    /** {@link #arenaAllocFree17} writing one byte into each of the 17 pages. */
    @Benchmark
    public int arenaAllocFree17TouchAll() {
        return allocFree(UNCACHED, UNCACHED);
    }

    /** {@link #mmapMunmap64k} writing one byte into each of the 16 pages: 16 faults. */
    @Benchmark
    public long mmapMunmap64kTouchAll() throws OsException {
        return mmapMunmap(LARGE_CACHED, LARGE_CACHED);
    }

    // ---------------------------------------------------------------- the lock

    /** The allocator lock's fast path, uncontended: what the free path pays when it misses the cache. */
    @Benchmark
    public boolean tryLockUnlock() {
        final ArenaLock l = lock;
        if (!l.tryAcquireFast()) {
            throw lockBusy(l, file);
        }
        l.unlock();
        return true;
    }

    /**
     * The floor of {@link #tryLockUnlock}: the guarded compare-and-set every atomic on a mapped arena
     * word is ({@code SharedWords.casLong}: a volatile load of the word first, so that a file shrunk
     * under the mapping faults on a guarded load, not in the out-of-line atomic), then a release store.
     */
    @Benchmark
    public boolean guardedCasReleasePair() {
        final MemorySegment s = segment;
        final long offset = Integer.toUnsignedLong(wordPtr);
        final boolean swapped = SharedWords.casLong(s, offset, 0L, CAS_TOKEN);
        BARE_LONG.setRelease(s, offset, 0L);
        return swapped;
    }

    /**
     * Where {@link #countedCasReleasePair} counts: as far past its word as the allocator lock's
     * acquisitions counter is past the lock word (another cache line of the same page).
     */
    private static final long COUNT_OFFSET = ControlLayout.counter(ControlLayout.C_LOCK_ACQUISITIONS)
        - ControlLayout.word(ControlLayout.LOCK_WORD);

    /**
     * {@link #guardedCasReleasePair} with the count the lock keeps between the two: a plain load and
     * store of a word on another line, as {@code ArenaLock} counts its acquisitions. The count is
     * part of the lock's contract, not a statistic only: the checker reads it to tell a reading the
     * lock was taken during from a settled one, so every acquisition must move it.
     */
    @Benchmark
    public boolean countedCasReleasePair() {
        final MemorySegment s = segment;
        final long offset = Integer.toUnsignedLong(wordPtr);
        final boolean swapped = SharedWords.casLong(s, offset, 0L, CAS_TOKEN);
        final long count = offset + COUNT_OFFSET;
        s.set(ValueLayout.JAVA_LONG, count, s.get(ValueLayout.JAVA_LONG, count) + 1);
        BARE_LONG.setRelease(s, offset, 0L);
        return swapped;
    }

    // ---------------------------------------------------------------- plain Java

    /** What a Java user writes for 4 KiB they can hand to another thread: a shared arena. */
    @Benchmark
    public long arenaOfSharedAllocate4k() {
        try (Arena a = Arena.ofShared()) {
            final MemorySegment s = a.allocate(PAGE);
            s.set(ValueLayout.JAVA_BYTE, 0L, TOUCH);
            return s.address();
        }
    }

    /** The same with a confined arena: one thread only. */
    @Benchmark
    public long arenaOfConfinedAllocate4k() {
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment s = a.allocate(PAGE);
            s.set(ValueLayout.JAVA_BYTE, 0L, TOUCH);
            return s.address();
        }
    }


    /** Runs this class; JMH options as for {@link BenchmarkMain#run}. */
    public static void main(final String[] args) throws Exception {
        BenchmarkMain.run(PageAllocBenchmark.class, args);
    }
}
