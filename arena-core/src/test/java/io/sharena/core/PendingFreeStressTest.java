package io.sharena.core;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.layout.ControlLayout;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pending-free list under contention: free threads (each span freed twice, racing) push while
 * a holder thread keeps taking the lock in bursts and draining; at the end every page is FREE, none
 * twice, and the checker is clean.
 */
class PendingFreeStressTest {
    private static final int SPANS = 600;
    private static final int SPAN = 3; // no span cache for 3 pages: frees take the lock or the list

    @TempDir
    Path dir;

    @RepeatedTest(3)
    void concurrentDeferredFreesAllLand() throws Exception {
        // A lock timeout of a second, so that the holder's allocations and the last one below do
        // not fail on a loaded machine (a free never waits: it takes the lock with one CAS or defers).
        try (SharedArena arena = SharedArena.create(dir.resolve("p.arena"), Capacity.ofPages(4096),
            ArenaOptions.defaults().withLockTimeoutNanos(1_000_000_000L))) {
            final long freeAtStart = ArenaStats.read(arena).pages().get("FREE");
            final int[] spans = new int[SPANS];
            for (int i = 0; i < SPANS; i++) {
                spans[i] = arena.allocPages(SPAN);
                assertTrue(spans[i] != 0);
            }
            final AtomicBoolean done = new AtomicBoolean();
            final CountDownLatch go = new CountDownLatch(1);
            final Thread holder = new Thread(() -> {
                while (!done.get()) {
                    if (arena.lock().lock(TimeUnit.MILLISECONDS.toNanos(10)).acquired()) {
                        final long until = System.nanoTime() + 50_000;
                        while (System.nanoTime() < until) {
                            Thread.onSpinWait();
                        }
                        arena.lock().unlock();
                    }
                    // An allocation takes the lock the allocator's way, which drains the list.
                    final int p = arena.allocPages(5);
                    arena.freePages(p, 5);
                }
            });
            final List<Thread> freers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int offset = t % 2; // two threads per half: every span is freed twice, concurrently
                freers.add(new Thread(() -> {
                    try {
                        go.await();
                    } catch (final InterruptedException e) {
                        return;
                    }
                    for (int i = offset; i < SPANS; i += 2) {
                        arena.freePages(spans[i], SPAN);
                    }
                }));
            }
            // Every span is freed by two threads: a thread that died on an exception would leave
            // its twin to free its spans, and the counts below would not show it.
            final List<Throwable> died = new java.util.concurrent.CopyOnWriteArrayList<>();
            holder.setUncaughtExceptionHandler((t, e) -> died.add(e));
            freers.forEach(f -> f.setUncaughtExceptionHandler((t, e) -> died.add(e)));
            holder.start();
            freers.forEach(Thread::start);
            go.countDown();
            for (final Thread f : freers) {
                f.join();
            }
            done.set(true);
            holder.join();
            assertEquals(List.of(), died, "threads that died");
            assertTrue(arena.allocPages(1) != 0, "one more locked operation drains what is left");
            final long deferred = arena.raw().getLongVolatile((int) ControlLayout.counter(ControlLayout.C_DEFERRED_FREES));
            System.out.println("deferred frees: " + deferred);
            assertEquals(List.of(), ArenaChecker.check(arena));
            final ArenaStats stats = ArenaStats.read(arena);
            assertEquals(0, stats.pages().get("PENDING"));
            assertEquals(freeAtStart - 1, stats.pages().get("FREE"), "all spans back, one page still allocated");
        }
    }
}
