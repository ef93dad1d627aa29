package io.sharena.core;

import io.sharena.core.alloc.AllocPoint;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.crash.CrashPoints;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@link AllocPoint}, paused: one thread runs the allocator scenario through attachment A
 * and stops at the point on a latch; meanwhile another attachment B (its own registry slot, as
 * another process would have) allocates, allocates-at, reserves, frees and repairs around it. Then
 * the paused thread goes on. Every page handed out carries its owner's mark while it is held, so a
 * page handed out twice shows; at the end everything is freed and the check must be clean.
 */
class AllocPausePointTest {
    static final int PAGES = 512;
    static final long SECOND = 1_000_000_000L;

    /** While set, the word A's next allocation into is filled by "another writer" at TAKE_COMMITTED. */
    static final java.util.concurrent.atomic.AtomicInteger RACE_DEST = new java.util.concurrent.atomic.AtomicInteger();

    @TempDir
    Path dir;

    @AfterEach
    void uninstall() {
        CrashPoints.install(null);
    }

    @ParameterizedTest
    @EnumSource(AllocPoint.class)
    void pausedAt(final AllocPoint point) throws Exception {
        final String only = System.getProperty("sharena.allocpoint");
        org.junit.jupiter.api.Assumptions.assumeTrue(only == null || point.name().equals(only) || point.id().equals(only),
            "only -Dsharena.allocpoint=" + only);
        final Path file = dir.resolve("pause.arena");
        final long seed = System.nanoTime();
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(200_000))) {
            // B's cache holds a page, so that A's allocPagesAt of it takes B's cache.
            final int bCached = b.allocPages(1);
            b.freePages(bCached, 1);

            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final AtomicBoolean hit = new AtomicBoolean();
            final AtomicReference<Thread> target = new AtomicReference<>();
            CrashPoints.install(p -> {
                if (p == AllocPoint.TAKE_COMMITTED && RACE_DEST.get() != 0 && Thread.currentThread() == target.get()) {
                    a.raw().putIntRelease(RACE_DEST.get(), ChildProcess.RACER);
                }
                if (p == point && Thread.currentThread() == target.get() && hit.compareAndSet(false, true)) {
                    paused.countDown();
                    try {
                        resume.await(30, TimeUnit.SECONDS);
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final Owner ownerA = new Owner(a, 0xA000_0000L);
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread t = Thread.ofPlatform().unstarted(() -> {
                try {
                    scenario(a, ownerA, bCached);
                } catch (final Throwable e) {
                    failure.set(e);
                }
            });
            target.set(t);
            t.start();
            // Wait for the pause (or the end of the scenario, for points it reaches only in B's calls).
            while (!paused.await(10, TimeUnit.MILLISECONDS) && t.isAlive()) {
                Thread.onSpinWait();
            }
            final Owner ownerB = new Owner(b, 0xB000_0000L);
            final SplittableRandom rnd = new SplittableRandom(seed);
            for (int i = 0; i < 300; i++) {
                conflict(b, ownerB, rnd);
            }
            resume.countDown();
            t.join(30_000);
            assertTrue(!t.isAlive(), point + ": the paused thread finished");
            if (failure.get() != null) {
                throw new AssertionError(point + ": scenario failed, seed=" + seed, failure.get());
            }
            CrashPoints.install(null);
            ownerB.freeAll();
            ownerA.freeAll();
            assertTrue(a.repair(10 * SECOND), point + ": repair; left: " + a.repairNotes());
            assertEquals(List.of(), ArenaChecker.check(a), point + ": check, seed=" + seed);
            assertEquals((int) a.firstUserPage() << 12, a.allocPages(PAGES - (int) a.firstUserPage()),
                point + ": every user page is free again");
            a.freePages((int) a.firstUserPage() << 12, PAGES - (int) a.firstUserPage());
            System.out.println("paused at " + point.id() + ": B ran 300 ops around it, clean");
            assertTrue(hit.get(), point + ": the scenario reached the point");
        }
    }

    /** A's part: the same path through every allocator step as the kill test's child. */
    private static void scenario(final SharedArena a, final Owner o, final int bCached) throws Exception {
        o.free(o.alloc(3), 3);
        o.free(o.alloc(1), 1);
        o.alloc(1);
        final int d = o.alloc(3);
        final CountDownLatch locked = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        final Thread holder = Thread.ofPlatform().start(() -> {
            a.lock().lock(10 * SECOND);
            locked.countDown();
            try {
                done.await();
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            a.lock().unlock();
        });
        locked.await();
        o.free(d, 3); // deferred
        done.countDown();
        holder.join();
        o.at(bCached, 1);
        o.alloc(2);
        o.free(o.alloc(40), 40); // dirty, then purged
        // Allocations into a word of a page A holds: one published, one whose word another writer fills first.
        final int words = o.alloc(1);
        final int into = o.into(2, words + 256);
        o.freeFrom(into, 2, words + 256);
        RACE_DEST.set(words + 512);
        assertEquals(0, a.allocPagesInto(2, words + 512), "the word was taken: nothing allocated");
        RACE_DEST.set(0);
        a.purge();
        // A dead process still registered, for the repair to release.
        a.registry().writeForTest(63, AllocCrashPointTest.DEAD_PID, 1);
        a.repair(10 * SECOND);
        // A third attachment that closes: close gives back its cache.
        try (SharedArena c = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            c.freePages(c.allocPages(1), 1);
        }
    }

    /** B's part: one random operation that may race the paused thread. */
    private static void conflict(final SharedArena b, final Owner o, final SplittableRandom rnd) {
        switch (rnd.nextInt(7)) {
            case 0, 1 -> o.alloc(1 + rnd.nextInt(3));
            case 2 -> o.freeOne(rnd);
            case 3 -> o.at((int) (b.firstUserPage() + rnd.nextInt(40)) << 12, 1 + rnd.nextInt(2));
            case 4 -> {
                final int ptr = (int) (b.firstUserPage() + rnd.nextInt(40)) << 12;
                if (b.reservePages(ptr, 1) == ReserveResult.OK) {
                    b.freePages(ptr, 1);
                }
            }
            case 5 -> b.purge();
            default -> b.repair(200_000);
        }
    }

    /** Pages one attachment holds, each marked with its owner while held. */
    static final class Owner {
        final SharedArena arena;
        final long mark;
        final List<int[]> held = new ArrayList<>();

        Owner(final SharedArena arena, final long mark) {
            this.arena = arena;
            this.mark = mark;
        }

        int alloc(final int n) {
            return took(arena.allocPages(n), n);
        }

        int into(final int n, final int dest) {
            final int ptr = took(arena.allocPagesInto(n, dest), n);
            assertEquals(ptr, arena.raw().getInt(dest), "published into the word");
            return ptr;
        }

        void freeFrom(final int ptr, final int n, final int word) {
            if (ptr == 0) {
                return;
            }
            for (int i = 0; i < n; i++) {
                assertEquals(mark | (ptr + i * 4096), arena.raw().getLong(ptr + i * 4096), "still ours when freed");
            }
            held.removeIf(h -> h[0] == ptr);
            assertTrue(arena.freePagesFrom(word, n), "freed from its word");
            assertEquals(0, arena.raw().getInt(word), "the word is cleared");
        }

        int at(final int ptr, final int n) {
            return took(arena.allocPagesAt(ptr, n), n);
        }

        private int took(final int ptr, final int n) {
            if (ptr != 0) {
                for (int i = 0; i < n; i++) {
                    final int p = ptr + i * 4096;
                    assertEquals(0, arena.raw().getLong(p), "handed out zeroed: ptr=" + p);
                    arena.raw().putLong(p, mark | p);
                }
                held.add(new int[] {ptr, n});
            }
            return ptr;
        }

        void free(final int ptr, final int n) {
            if (ptr == 0) {
                return;
            }
            for (int i = 0; i < n; i++) {
                final int p = ptr + i * 4096;
                assertEquals(mark | p, arena.raw().getLong(p), "still ours when freed: ptr=" + p);
            }
            held.removeIf(h -> h[0] == ptr);
            arena.freePages(ptr, n);
        }

        void freeOne(final SplittableRandom rnd) {
            if (!held.isEmpty()) {
                final int[] h = held.get(rnd.nextInt(held.size()));
                free(h[0], h[1]);
            }
        }

        void freeAll() {
            while (!held.isEmpty()) {
                final int[] h = held.get(0);
                free(h[0], h[1]);
            }
        }
    }
}
