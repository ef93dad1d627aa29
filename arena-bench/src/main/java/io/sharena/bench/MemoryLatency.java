package io.sharena.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * What one cache miss costs on this machine, the unit of the store's get: random 8-byte reads over
 * 256 MiB, each read's address depending on the one before (so the misses cannot overlap), and
 * the same reads independent of each other (so they can), in a file mapping like the store's,
 * in native memory and in a heap array.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.MemoryLatency [dir]} (the mapped file goes in dir, default java.io.tmpdir).
 */
public final class MemoryLatency {
    private static final long BYTES = 256L << 20;
    private static final int READS = 1 << 20;

    private MemoryLatency() {
    }

    public static void main(final String[] args) throws Exception {
        final Path dir = Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir"));
        final int[] pages = new int[READS];
        final SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < READS; i++) {
            pages[i] = rnd.nextInt((int) (BYTES / 4096));
        }
        final Path file = Files.createTempFile(dir, "sharena-latency-", ".bin");
        Files.delete(file);
        try (FileChannel ch = FileChannel.open(file, CREATE_NEW, READ, WRITE); Arena arena = Arena.ofShared()) {
            report("mapped file", fill(ch.map(FileChannel.MapMode.READ_WRITE, 0, BYTES, arena)), pages);
        } finally {
            Files.deleteIfExists(file);
        }
        try (Arena arena = Arena.ofShared()) {
            report("native", fill(arena.allocate(BYTES, 4096)), pages);
        }
        report("heap long[]", fill(MemorySegment.ofArray(new long[(int) (BYTES / 8)])), pages);
    }

    private static MemorySegment fill(final MemorySegment s) {
        for (long o = 0; o < BYTES; o += 4096) {
            s.set(ValueLayout.JAVA_LONG, o, o);
        }
        return s;
    }

    private static void report(final String name, final MemorySegment s, final int[] pages) {
        long dependent = Long.MAX_VALUE;
        long independent = Long.MAX_VALUE;
        long sink = 0;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            long last = 0;
            for (final int p : pages) {
                // The next address depends on the value just read (always 0 in its low bit).
                last = s.get(ValueLayout.JAVA_LONG, offset(p ^ (int) (last & 1)));
            }
            dependent = Math.min(dependent, (System.nanoTime() - t0) / READS);
            sink += last;
            t0 = System.nanoTime();
            long sum = 0;
            for (final int p : pages) {
                sum += s.get(ValueLayout.JAVA_LONG, offset(p));
            }
            independent = Math.min(independent, (System.nanoTime() - t0) / READS);
            sink += sum;
        }
        System.out.printf("%-12s dependent reads %4d ns each, independent reads %4d ns each (best of 5)%s%n", name,
            dependent, independent, sink == 42 ? " " : "");
    }

    private static long offset(final int page) {
        return (long) page * 4096 + (page * 64L & 4095);
    }
}
