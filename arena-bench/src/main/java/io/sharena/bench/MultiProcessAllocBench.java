package io.sharena.bench;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Processes allocating and freeing on one arena at once: total alloc+free pairs per second with
 * one process, two and four (on a 2-core machine four oversubscribe it), and the ratios, for a cached size (1 page: lock-free, per-process
 * caches) and an uncached one (3 pages: the cross-process lock, fallocate and hole punching).
 * Each process is a JVM of its own, started by this one, all released at the same instant.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.MultiProcessAllocBench [seconds] [spread]}. With {@code spread} (a diagnostic),
 * each process first takes 16 pages and frees the middle 8 into its own span cache, so that the
 * page it then cycles through has page-table entries on cache lines no other process touches: the
 * difference to the plain run is what neighbouring page-table entries cost.
 */
public final class MultiProcessAllocBench {
    /** Alloc+free pairs each process makes before it counts, whatever the clock says. */
    private static final long WARMUP_PAIRS = 200_000;
    /** Diagnostic: see the class comment. */
    private static boolean spread;

    private MultiProcessAllocBench() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(Path.of(args[1]), Integer.parseInt(args[2]), args[3]);
            return;
        }
        final int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        spread = args.length > 1 && args[1].equals("spread");
        final double[] r = measure(seconds);
        for (int i = 0; i < 4; i++) {
            final int k = 3 * i;
            System.out.printf("%d-page alloc+free%s: 1 process %.2f M pairs/s, 2 processes %.2f M pairs/s (ratio %.2f), "
                    + "4 processes %.2f M pairs/s (ratio %.2f)%n", i % 2 == 0 ? 1 : 3, i < 2 ? "" : " per CPU-second of a process",
                r[k] / 1e6, r[k + 1] / 1e6, r[k + 1] / r[k], r[k + 2] / 1e6, r[k + 2] / r[k]);
        }
    }

    /**
     * @return pairs/s: {1 page 1 process, 1 page 2 processes, 1 page 4 processes, 3 pages 1 process,
     * 3 pages 2 processes, 3 pages 4 processes}, then the same six as pairs per CPU-second of the
     * timed thread, averaged over the processes (what each process gets done per unit of CPU it was
     * given: contention between the processes lowers it, other load on the machine does not)
     */
    public static double[] measure(final int seconds) throws Exception {
        final Path dir = Files.createTempDirectory("sharena-mp-");
        final Path file = dir.resolve("mp.arena");
        SharedArena.create(file, Capacity.parse("256M"), ArenaOptions.defaults()).close();
        try {
            final double[] r = new double[12];
            int i = 0;
            for (final int pages : new int[] {1, 3}) {
                for (final int processes : new int[] {1, 2, 4}) {
                    final double[] one = run(file, pages, processes, seconds);
                    r[i] = one[0];
                    r[6 + i] = one[1];
                    i++;
                }
            }
            return r;
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /** @return {total pairs/s, mean pairs per CPU-second of a process} */
    private static double[] run(final Path file, final int pages, final int processes, final int seconds)
        throws Exception {
        final long startAt = System.currentTimeMillis() + 3000; // every JVM is up by then, on a loaded machine too
        final List<Process> children = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            children.add(new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                MultiProcessAllocBench.class.getName(), "child", file.toString(), Integer.toString(pages),
                Long.toString(startAt) + ":" + seconds + (spread ? ":spread" : "")).redirectErrorStream(true).start());
        }
        double total = 0;
        double perCpu = 0;
        for (final Process p : children) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    if (line.startsWith("rate=")) {
                        total += Double.parseDouble(line.substring(5));
                    } else if (line.startsWith("cpurate=")) {
                        perCpu += Double.parseDouble(line.substring(8)) / processes;
                    } else {
                        System.err.println("[child] " + line);
                    }
                }
            }
            p.waitFor();
        }
        return new double[] {total, perCpu};
    }

    private static void child(final Path file, final int pages, final String when) throws Exception {
        final String[] w = when.split(":");
        final long startAt = Long.parseLong(w[0]);
        final long seconds = Long.parseLong(w[1]);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            if (w.length > 2 && pages == 1) {
                // Page-table entries are 16 bytes: 8 pages' entries fill two cache lines. Keep 4 pages
                // either side of the middle 8 so no other process's page shares those lines.
                final int span = arena.allocPages(16);
                for (int i = 11; i >= 4; i--) {
                    arena.freePages(span + i * 4096, 1);
                }
            }
            // Warm up until the common start, and for at least WARMUP_PAIRS (compiled, not interpreted,
            // code is timed even when the machine is busy), then count for the given time.
            for (long i = 0; i < WARMUP_PAIRS || System.currentTimeMillis() < startAt; i++) {
                arena.freePages(arena.allocPages(pages), pages);
            }
            final long end = System.nanoTime() + seconds * 1_000_000_000L;
            long pairs = 0;
            long failed = 0;
            final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            final long cpuStart = threads.getCurrentThreadCpuTime();
            final long start = System.nanoTime();
            while (System.nanoTime() < end) {
                for (int i = 0; i < 256; i++) {
                    final int p = arena.allocPages(pages);
                    if (p == 0) {
                        failed++; // the lock stayed busy past the lock timeout
                        continue;
                    }
                    arena.freePages(p, pages);
                    pairs++;
                }
            }
            final long elapsed = System.nanoTime() - start;
            final long cpu = threads.getCurrentThreadCpuTime() - cpuStart;
            System.out.println("rate=" + pairs * 1e9 / elapsed);
            System.out.println("cpurate=" + pairs * 1e9 / Math.max(1, cpu));
            if (failed > 0) {
                System.out.println("failed allocations (lock timeout): " + failed);
            }
        }
    }
}
