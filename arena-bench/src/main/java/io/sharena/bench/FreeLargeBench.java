package io.sharena.bench;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Freeing 1 GiB of touched pages: {@link SharedArena#freePages} of 262,144 pages (one locked free,
 * one hole punched) against {@code munmap} of a touched 1 GiB anonymous mapping, what a process
 * would otherwise do to give that memory back. Reports ns per page (median of the runs), and the
 * process's resident memory and the arena file's disk blocks before and after the free.
 *
 * <p>Not JMH: each run is one large operation on freshly touched memory. Run:
 * {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.FreeLargeBench [runs]}.
 */
public final class FreeLargeBench {
    private static final int PAGES = 262_144;
    private static final long BYTES = Geometry.pageBytes(PAGES);

    private FreeLargeBench() {
    }

    public static void main(final String[] args) throws Exception {
        final int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        final double[] arenaNs = new double[runs];
        final double[] munmapNs = new double[runs];
        final Path dir = Files.createTempDirectory("sharena-free-");
        final Path file = dir.resolve("free.arena");
        long[] lastArena = null;
        for (int r = 0; r < runs; r++) {
            final long[] a = arenaRun(file);
            arenaNs[r] = (double) a[0] / PAGES;
            lastArena = a;
            munmapNs[r] = (double) munmapRun() / PAGES;
        }
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
        final double arena = median(arenaNs);
        final double munmap = median(munmapNs);
        System.out.printf("free 1 GiB touched: arena freePages %.2f ns/page, munmap %.2f ns/page, ratio %.2f (runs=%d)%n",
            arena, munmap, arena / munmap, runs);
        System.out.printf("arena RSS before %d MiB, after %d MiB; file on disk before %d MiB, after %d MiB%n",
            lastArena[1] >> 20, lastArena[2] >> 20, lastArena[3] >> 20, lastArena[4] >> 20);
    }

    /** @return {free ns, rss before, rss after, disk before, disk after} */
    private static long[] arenaRun(final Path file) throws IOException {
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("2G"),
            ArenaOptions.defaults().withReplace(true))) {
            final int ptr = arena.allocPages(PAGES);
            if (ptr == 0) {
                throw new IllegalStateException("could not allocate 1 GiB: file=" + file);
            }
            for (long off = 0; off < BYTES; off += Geometry.PAGE_SIZE) {
                arena.raw().putLong((int) (Integer.toUnsignedLong(ptr) + off), off + 1);
            }
            final long rssBefore = rss();
            final long diskBefore = arena.info().diskBytes();
            final long start = System.nanoTime();
            arena.freePages(ptr, PAGES);
            final long ns = System.nanoTime() - start;
            return new long[] {ns, rssBefore, rss(), diskBefore, arena.info().diskBytes()};
        }
    }

    private static long munmapRun() throws OsException {
        final long address = Posix.mmap(0, BYTES, Posix.PROT_READ | Posix.PROT_WRITE,
            Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, -1, 0);
        final MemorySegment s = MemorySegment.ofAddress(address).reinterpret(BYTES);
        for (long off = 0; off < BYTES; off += Geometry.PAGE_SIZE) {
            s.set(ValueLayout.JAVA_LONG, off, off + 1);
        }
        final long start = System.nanoTime();
        Posix.munmap(address, BYTES);
        return System.nanoTime() - start;
    }

    /** Resident set of this process (anonymous + file-backed), from {@code /proc/self/status}. */
    static long rss() throws IOException {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
            }
        }
        return -1;
    }

    static double median(final double[] values) {
        final double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
