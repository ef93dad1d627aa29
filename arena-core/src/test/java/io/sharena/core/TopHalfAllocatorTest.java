package io.sharena.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.lock.SharedLock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The allocator's own paths with runs at and across 0x80000000 (page 2^19 of a 4 GiB arena):
 * free lists, span caches, pending frees, allocation into a word and free from one, reserve,
 * purge, lock words, check and repair.
 */
class TopHalfAllocatorTest {
    private static final int HALF = 1 << 19;

    @TempDir
    Path dir;

    private SharedArena arena(final String name) throws Exception {
        return SharedArena.create(dir.resolve(name), Capacity.parse("4G"), ArenaOptions.defaults());
    }

    private static void clean(final SharedArena a) {
        assertEquals(List.of(), ArenaChecker.check(a));
    }

    @Test
    void runsAcrossTwoGiBAllocatedFreedAndCoalesced() throws Exception {
        try (SharedArena a = arena("a.arena")) {
            for (final int before : new int[] {1, 2, 3, 7, 64}) {
                for (final int n : new int[] {1, 2, 3, 8, 33, 200}) {
                    final int at = a.pointerOf(HALF - before);
                    assertEquals(at, a.allocPagesAt(at, n), "before=" + before + ", n=" + n);
                    a.strict().fill(at, (long) n * a.pageSize(), (byte) 1);
                    assertEquals(PageState.ALLOCATED, a.pageState(HALF - before));
                    assertEquals(PageState.ALLOCATED, a.pageState(HALF - before + n - 1));
                    clean(a);
                    a.freePages(at, n);
                    clean(a);
                    assertEquals(at, a.allocPagesAt(at, n), "again before=" + before + ", n=" + n);
                    a.freePages(at, n);
                }
            }
            // Reserve the halves apart, free the reservations (they coalesce across the boundary).
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(HALF - 10), 10));
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(HALF), 10));
            clean(a);
            a.freePages(a.pointerOf(HALF - 10), 10);
            a.freePages(a.pointerOf(HALF), 10);
            clean(a);
            assertEquals(a.pointerOf(HALF - 10), a.allocPagesAt(a.pointerOf(HALF - 10), 20));
            a.freePages(a.pointerOf(HALF - 10), 20);
            a.purge();
            clean(a);
            assertTrue(ArenaInternals.repair(a, 5_000_000_000L), String.valueOf(ArenaInternals.repairNotes(a)));
            clean(a);
        }
    }

    /** Everything below 2 GiB reserved: every allocation, cached span and pending free is in the top half. */
    @Test
    void randomWorkAboveTwoGiBThroughCachesAndPendingFrees() throws Exception {
        try (SharedArena a = arena("b.arena")) {
            final long first = a.firstUserPage();
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) (HALF - 3 - first)));
            final Random r = new Random(42);
            final List<int[]> held = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                if (held.isEmpty() || r.nextInt(3) > 0 && held.size() < 400) {
                    final int n = 1 + (r.nextBoolean() ? r.nextInt(4) : r.nextInt(300));
                    final int p = r.nextBoolean() ? a.allocPages(n) : a.allocPagesUninitialized(n);
                    assertTrue(p != 0, "alloc " + n);
                    assertTrue(Integer.toUnsignedLong(p) >= (HALF - 3L) * 4096, "0x" + Integer.toHexString(p));
                    a.raw().putLong(p, i);
                    held.add(new int[] {p, n});
                } else {
                    final int[] s = held.remove(r.nextInt(held.size()));
                    a.freePages(s[0], s[1]);
                }
                if (i % 5000 == 0) {
                    clean(a);
                }
            }
            // Pending frees: the lock held by another thread while this one frees.
            final Thread holder;
            final java.util.concurrent.CountDownLatch taken = new java.util.concurrent.CountDownLatch(1);
            final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
            holder = new Thread(() -> {
                if (a.lock().lock(TimeUnit.SECONDS.toNanos(5)).acquired()) {
                    taken.countDown();
                    try {
                        done.await();
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    a.lock().unlock();
                }
            });
            holder.start();
            assertTrue(taken.await(5, TimeUnit.SECONDS));
            for (final int[] s : held) {
                a.freePages(s[0], s[1]);
            }
            final ArenaStats st = ArenaStats.read(a);
            done.countDown();
            holder.join();
            assertTrue(st.pendingSpans() > 0, "frees deferred to the pending list while the lock was held");
            assertTrue(a.allocPages(1) != 0); // drains the pending list
            clean(a);
            assertTrue(ArenaInternals.repair(a, 5_000_000_000L), String.valueOf(ArenaInternals.repairNotes(a)));
            clean(a);
        }
    }

    @Test
    void wordsAndLocksAboveTwoGiB() throws Exception {
        try (SharedArena a = arena("c.arena")) {
            final int wordPage = a.allocPagesAt(a.pointerOf(HALF + 100), 1);
            assertTrue(wordPage != 0);
            final int word = wordPage + 64;
            final int p = a.allocPagesInto(5, word);
            assertTrue(p != 0);
            assertEquals(p, a.raw().getInt(word));
            assertTrue(a.freePagesFrom(word, 5));
            assertEquals(0, a.raw().getInt(word));
            // A run straddling 2 GiB into a word above it, then freed from it.
            final int at = a.allocPagesAt(a.pointerOf(HALF - 2), 4);
            a.freePages(at, 4);
            final SharedLock lock = a.lockAt(wordPage + 128);
            assertTrue(lock.tryLock().acquired());
            assertTrue(lock.isLocked());
            lock.unlock();
            clean(a);
            assertTrue(ArenaInternals.repair(a, 5_000_000_000L));
            clean(a);
        }
    }
}
