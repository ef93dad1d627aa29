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
        for (int i = 0; i < 2; i++) {
            System.out.printf("%d-page alloc+free: 1 process %.2f M pairs/s, 2 processes %.2f M pairs/s (ratio %.2f), "
                    + "4 processes %.2f M pairs/s (ratio %.2f)%n", i == 0 ? 1 : 3, r[3 * i] / 1e6, r[3 * i + 1] / 1e6,
                r[3 * i + 1] / r[3 * i], r[3 * i + 2] / 1e6, r[3 * i + 2] / r[3 * i]);
        }
    }

    /**
     * @return pairs/s: {1 page 1 process, 1 page 2 processes, 1 page 4 processes, 3 pages 1 process,
     * 3 pages 2 processes, 3 pages 4 processes}
     */
    public static double[] measure(final int seconds) throws Exception {
        final Path dir = Files.createTempDirectory("sharena-mp-");
        final Path file = dir.resolve("mp.arena");
        SharedArena.create(file, Capacity.parse("256M"), ArenaOptions.defaults()).close();
        try {
            final double[] r = new double[6];
            int i = 0;
            for (final int pages : new int[] {1, 3}) {
                for (final int processes : new int[] {1, 2, 4}) {
                    r[i++] = run(file, pages, processes, seconds);
                }
            }
            return r;
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    private static double run(final Path file, final int pages, final int processes, final int seconds)
        throws Exception {
        final long startAt = System.currentTimeMillis() + 1500; // every JVM is up and warm-ish by then
        final List<Process> children = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            children.add(new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                MultiProcessAllocBench.class.getName(), "child", file.toString(), Integer.toString(pages),
                Long.toString(startAt) + ":" + seconds + (spread ? ":spread" : "")).redirectErrorStream(true).start());
        }
        double total = 0;
        for (final Process p : children) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    if (line.startsWith("rate=")) {
                        total += Double.parseDouble(line.substring(5));
                    } else {
                        System.err.println("[child] " + line);
                    }
                }
            }
            p.waitFor();
        }
        return total;
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
            // Warm up until the common start, then count for the given time.
            while (System.currentTimeMillis() < startAt) {
                arena.freePages(arena.allocPages(pages), pages);
            }
            final long end = System.nanoTime() + seconds * 1_000_000_000L;
            long pairs = 0;
            long failed = 0;
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
            System.out.println("rate=" + pairs * 1e9 / (System.nanoTime() - start));
            if (failed > 0) {
                System.out.println("failed allocations (lock timeout): " + failed);
            }
        }
    }
}
