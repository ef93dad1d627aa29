package io.sharena.core;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** N threads x M random operations in one JVM; every page stamped and verified; all back at quiescence. */
class AllocatorThreadStressTest {
    private static final int THREADS = 4;
    private static final int OPS = 30_000;

    @TempDir
    Path dir;

    @RepeatedTest(2)
    void randomAllocAndFreeFromManyThreads() throws Exception {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Path file = dir.resolve("t.arena");
        final AtomicLong doubleHanded = new AtomicLong();
        final AtomicLong allocations = new AtomicLong();
        // A lock timeout of a second: on a loaded 2-core machine a holder descheduled for the default
        // 5 ms failed allocations, which this test counts; what it is about is pages handed out twice.
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(2048),
            ArenaOptions.defaults().withLockTimeoutNanos(1_000_000_000L))) {
            final long freeAtStart = ArenaStats.read(arena).pages().get("FREE");
            final CountDownLatch go = new CountDownLatch(1);
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                final long id = t + 1;
                final SplittableRandom random = new SplittableRandom(seed + t);
                threads.add(new Thread(() -> {
                    final List<int[]> owned = new ArrayList<>();
                    try {
                        go.await();
                    } catch (final InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < OPS; i++) {
                        if (owned.isEmpty() || (random.nextInt(100) < 50 && owned.size() < 40)) {
                            final int n = random.nextInt(3) == 0 ? 1 + random.nextInt(24) : 1 << random.nextInt(2);
                            final int p = arena.allocPages(n);
                            if (p == 0) {
                                continue;
                            }
                            allocations.incrementAndGet();
                            for (int k = 0; k < n; k++) {
                                if (arena.raw().getLong(p + k * 4096) != 0) {
                                    doubleHanded.incrementAndGet();
                                }
                                arena.raw().putLong(p + k * 4096, id << 32 | (p + k * 4096));
                            }
                            owned.add(new int[] {p, n});
                        } else {
                            final int[] span = owned.remove(random.nextInt(owned.size()));
                            for (int k = 0; k < span[1]; k++) {
                                if (arena.raw().getLong(span[0] + k * 4096) != (id << 32 | (span[0] + k * 4096))) {
                                    doubleHanded.incrementAndGet();
                                }
                            }
                            arena.freePages(span[0], span[1]);
                        }
                    }
                    for (final int[] span : owned) {
                        arena.freePages(span[0], span[1]);
                    }
                }));
            }
            threads.forEach(Thread::start);
            go.countDown();
            for (final Thread t : threads) {
                t.join();
            }
            assertEquals(0, doubleHanded.get(), "seed=" + seed);
            assertTrue(allocations.get() > THREADS * OPS / 4, "allocations=" + allocations.get());
            // A last free that met the idle purge holding the lock went to the pending list: the next
            // holder drains it.
            assertTrue(arena.purge());
            assertEquals(freeAtStart, ArenaStats.read(arena).pages().get("FREE"), "every page back; seed=" + seed);
            assertEquals(List.of(), ArenaChecker.check(arena), "seed=" + seed);
        }
    }
}
