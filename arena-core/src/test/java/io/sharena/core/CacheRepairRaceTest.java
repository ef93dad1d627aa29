package io.sharena.core;

import io.sharena.core.alloc.AllocPoint;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A repair by another process while one of a live process's span-cache pushes or pops has its
 * pages in transit (marked CACHED, in no stack). The repair frees them, as it must (it cannot tell
 * them from pages a dead process left); the push or pop must then see that a repair ran and let
 * them go: not put them on its stack as FREE pages (whose next pop marked the arena corrupted, and
 * whose link write cut a free list), not mark the arena for another repair.
 */
class CacheRepairRaceTest {
    static final int PAGES = 256;
    static final long SECOND = 1_000_000_000L;

    @TempDir
    Path dir;

    @AfterEach
    void uninstall() {
        CrashPoints.install(null);
    }

    @Test
    void aPushWhosePagesARepairFreedLetsThemGo() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("push.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            final int page = a.allocPages(1);
            final int pageNo = page >>> 12;
            pausedWhileBRepairs(a, b, AllocPoint.CACHE_PUSH_PAGE_MARKED, () -> a.freePages(page, 1));
            final long repairs = recoveries(a);
            assertEquals(0L, repairPending(a), "no corruption mark");
            assertEquals(List.of(), ArenaChecker.check(a), "no stack holds a free page, no list is cut");
            assertEquals(PageEntry.FREE, rawState(a, pageNo), "the repair's free stands, nothing cached");
            handsOutEveryPageOnce(a);
            assertEquals(repairs, recoveries(a), "no repair after the one that raced the push");
            assertEquals(0L, repairPending(a), "still no corruption mark");
        }
    }

    @Test
    void aPushOfSeveralPagesOneOfWhichARepairFreedFreesTheRest() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("push4.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            final int span = a.allocPages(4);
            // Paused after the second of the four pages is marked CACHED (the first, held by the push
            // while it links it, is marked last): the repair frees that one only.
            pausedWhileBRepairs(a, b, AllocPoint.CACHE_PUSH_PAGE_MARKED, () -> a.freePages(span, 4));
            final long repairs = recoveries(a);
            assertFreeNotCached(a, span, 4);
            assertEquals(0L, repairPending(a), "no corruption mark");
            assertEquals(List.of(), ArenaChecker.check(a));
            handsOutEveryPageOnce(a);
            assertEquals(repairs, recoveries(a), "no repair after the one that raced the push");
        }
    }

    @Test
    void aPopWhoseSpanARepairFreedTakesTheLockedPathWithoutAMark() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("pop.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            final int span = a.allocPages(2);
            a.freePages(span, 2); // cached
            final AtomicInteger got = new AtomicInteger();
            pausedWhileBRepairs(a, b, AllocPoint.CACHE_POP_HEAD_TAKEN, () -> got.set(a.allocPages(2)));
            assertNotEquals(0, got.get(), "the allocation succeeded");
            assertEquals(1L, recoveriesSince, "one repair: B's, none for a mark the pop left");
            assertEquals(0L, repairPending(a), "no corruption mark");
            a.freePages(got.get(), 2);
            assertEquals(List.of(), ArenaChecker.check(a));
            handsOutEveryPageOnce(a);
        }
    }

    @Test
    void aPopStalledAcrossARepairDoesNotClaimItsSpanCachedAgain() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("aba.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            final int span = a.allocPages(2);
            a.freePages(span, 2); // cached, on top of its stack
            final AtomicInteger got = new AtomicInteger();
            final AtomicInteger again = new AtomicInteger();
            // The pop takes the span off the stack and stalls; B's repair frees the span; another
            // thread of A gets the same pages from a refill and frees them back onto A's stack: the
            // span is CACHED for A again, on top of the stack, its first page tagged with 2.
            paused(a, AllocPoint.CACHE_POP_HEAD_TAKEN, () -> got.set(a.allocPages(2)), () -> {
                assertTrue(b.repair(10 * SECOND), "B's repair: " + b.repairNotes());
                again.set(a.allocPages(2));
                a.freePages(again.get(), 2);
            });
            assertEquals(span, again.get(), "the refill handed out the span the pop holds in transit");
            assertNotEquals(0, got.get(), "the stalled allocation succeeded");
            assertNotEquals(span, got.get(), "the stalled pop did not claim the span now on the stack");
            assertEquals(0L, repairPending(a), "no corruption mark");
            assertEquals(List.of(), ArenaChecker.check(a), "the span on the stack is still cached, whole");
            final long repairs = recoveries(a);
            a.freePages(got.get(), 2);
            handsOutEveryPageOnce(a); // the span is taken off the stack too, by a CAS from its exact word
            assertEquals(repairs, recoveries(a), "no repair after B's");
            assertEquals(0L, repairPending(a), "still no corruption mark");
        }
    }

    @Test
    void aReservedPageFreedWhileARepairScansLeavesTheReservedCountRight() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("reserved.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults().withLockTimeoutNanos(200_000))) {
            final int ptr = (int) (a.firstUserPage() + 100) << 12;
            assertEquals(ReserveResult.OK, a.reservePages(ptr, 1));
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final AtomicReference<Thread> repairer = new AtomicReference<>();
            CrashPoints.install(p -> {
                if (p == AllocPoint.REPAIR_CACHES_EMPTIED && Thread.currentThread() == repairer.get()) {
                    paused.countDown();
                    try {
                        resume.await(30, TimeUnit.SECONDS);
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final AtomicReference<Boolean> repaired = new AtomicReference<>();
            final Thread t = Thread.ofPlatform().unstarted(() -> repaired.set(a.repair(10 * SECOND)));
            repairer.set(t);
            t.start();
            assertTrue(paused.await(10, TimeUnit.SECONDS), "the repair reached its page scan");
            // The repair holds the lock: B's free of the reserved page is queued, PENDING and WAS_RESERVED.
            b.freePages(ptr, 1);
            resume.countDown();
            t.join(30_000);
            CrashPoints.install(null);
            assertEquals(Boolean.TRUE, repaired.get(), "the repair reported success: " + a.repairNotes());
            // A locked call: drains whatever is still queued (retried: b's lock timeout is 200 us, and
            // an idle purge may hold the lock a moment on a loaded machine).
            int drained = 0;
            for (final long end = System.nanoTime() + 5 * SECOND; drained == 0 && System.nanoTime() < end; ) {
                drained = b.allocPages(20);
            }
            assertNotEquals(0, drained);
            b.freePages(drained, 20);
            assertEquals(PageEntry.FREE, rawState(a, ptr >>> 12));
            assertEquals(List.of(), ArenaChecker.check(a), "the reserved-pages counter is 0, as the pages");
        }
    }

    @Test
    void anEpochLeftOddIsRepairedByTheNextLockedCall() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("odd.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final long epoch = RegistryLayout.field(ArenaInternals.slot(a), RegistryLayout.REPAIR_EPOCH);
            // As a repair killed before its end leaves it (or a stray write).
            a.segment().set(ValueLayout.JAVA_LONG, epoch, 7L);
            assertEquals(List.of("span cache shut with no repair running (repair epoch odd; a repair opens it): slot="
                + ArenaInternals.slot(a)), ArenaChecker.check(a));
            final long repairs = recoveries(a);
            // The cache is shut: the allocation takes the lock, whose holder repairs first.
            final int p = a.allocPages(1);
            assertNotEquals(0, p);
            assertEquals(repairs + 1, recoveries(a), "the locked call repaired");
            final long after = a.segment().get(ValueLayout.JAVA_LONG, epoch);
            assertTrue(after > 7 && (after & 1) == 0, "the repair moved it on, to even: " + after);
            assertEquals(List.of(), ArenaChecker.check(a));
            a.freePages(p, 1);
            assertEquals(PageEntry.CACHED, rawState(a, p >>> 12), "cached again");
        }
    }

    @Test
    void aSecondFreeOfAPageWhilePushingItChangesNothing() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("twice.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            final int page = a.allocPages(1);
            // Paused once the push holds the page and has linked it: a second free of it, from
            // another thread and from another process, must find nothing to free.
            paused(a, AllocPoint.CACHE_PUSH_TAGGED, () -> a.freePages(page, 1), () -> {
                a.freePages(page, 1);
                b.freePages(page, 1);
                assertEquals(PageEntry.ALLOCATED, rawState(a, page >>> 12), "still the push's");
            });
            assertEquals(PageEntry.CACHED, rawState(a, page >>> 12), "cached once");
            assertEquals(0L, repairPending(a));
            assertEquals(List.of(), ArenaChecker.check(a));
            handsOutEveryPageOnce(a);
        }
    }

    @Test
    void aPushPausedBeforeItsHeadCasOnAnEmptyStackLosesToARepair() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("empty.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(a.path(), ArenaOptions.defaults())) {
            // 16 pages: carved from the lists, no refill, so its stack is empty when the free pushes it.
            final int span = a.allocPages(16);
            pausedWhileBRepairs(a, b, AllocPoint.CACHE_PUSH_EPOCH_CHECKED, () -> a.freePages(span, 16));
            assertFreeNotCached(a, span, 16);
            assertEquals(0L, repairPending(a), "no corruption mark");
            assertEquals(List.of(), ArenaChecker.check(a), "no stack holds a free span");
            final long repairs = recoveries(a);
            handsOutEveryPageOnce(a);
            assertEquals(repairs, recoveries(a), "no repair after the one that raced the push");
        }
    }

    @Test
    void aHeldPageADeadProcessWasPushingIsKeptPlainlyAllocated() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("held.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final int page = a.allocPages(1);
            final int pageNo = page >>> 12;
            // As a process killed between taking the page for its push and marking it CACHED leaves it,
            // with a structure still reaching the page.
            a.registry().writeForTest(63, AllocCrashPointTest.DEAD_PID, 1);
            a.segment().set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(pageNo), PageEntry.pushing(63));
            assertTrue(ArenaChecker.check(a).contains("allocated page held by the span-cache push of no live process: page="
                + pageNo + ", word=0x" + Long.toHexString(PageEntry.pushing(63))), "check names it");
            final java.util.BitSet held = new java.util.BitSet();
            held.set(pageNo);
            assertTrue(ArenaInternals.repair(a, 10 * SECOND, held), "repair: " + ArenaInternals.repairNotes(a));
            assertEquals(PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0),
                a.segment().get(ValueLayout.JAVA_LONG, PageEntry.stateOffset(pageNo)), "kept, plainly ALLOCATED");
            assertEquals(List.of(), ArenaChecker.check(a));
            a.freePages(page, 1);
            assertEquals(PageEntry.CACHED, rawState(a, pageNo), "its owner's free works again");
        }
    }

    /** Recoveries counted from the pause to the end of the paused call, set by {@link #pausedWhileBRepairs}. */
    private long recoveriesSince;

    /**
     * Runs {@code call} in a thread of {@code a} that stops at {@code point}; {@code b} repairs while
     * it is stopped; then the call goes on and ends.
     */
    private void pausedWhileBRepairs(final SharedArena a, final SharedArena b, final AllocPoint point,
                                     final Runnable call) throws Exception {
        final long[] before = new long[1];
        paused(a, point, call, () -> {
            before[0] = recoveries(a);
            assertTrue(b.repair(10 * SECOND), "B's repair: " + b.repairNotes());
        });
        recoveriesSince = recoveries(a) - before[0];
    }

    /**
     * Runs {@code call} in a thread of {@code a} that stops at {@code point}; {@code meanwhile} runs
     * while it is stopped; then the call goes on and ends.
     */
    private static void paused(final SharedArena a, final AllocPoint point, final Runnable call,
                               final Runnable meanwhile) throws Exception {
        final CountDownLatch paused = new CountDownLatch(1);
        final CountDownLatch resume = new CountDownLatch(1);
        final AtomicReference<Thread> target = new AtomicReference<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        CrashPoints.install(p -> {
            if (p == point && Thread.currentThread() == target.get() && paused.getCount() > 0) {
                paused.countDown();
                try {
                    resume.await(30, TimeUnit.SECONDS);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        final Thread t = Thread.ofPlatform().unstarted(() -> {
            try {
                call.run();
            } catch (final Throwable e) {
                failure.set(e);
            }
        });
        target.set(t);
        t.start();
        assertTrue(paused.await(10, TimeUnit.SECONDS), point + " reached");
        try {
            meanwhile.run();
        } finally {
            resume.countDown();
        }
        t.join(30_000);
        CrashPoints.install(null);
        assertTrue(!t.isAlive(), "the paused call ended");
        if (failure.get() != null) {
            throw new AssertionError("the paused call failed", failure.get());
        }
    }

    /** Allocates every user page one at a time (no page twice, no corruption mark on the way), then frees them. */
    private static void handsOutEveryPageOnce(final SharedArena a) {
        final Set<Integer> seen = new HashSet<>();
        final int users = PAGES - (int) a.firstUserPage();
        for (int i = 0; i < users; i++) {
            final int p = a.allocPages(1);
            assertNotEquals(0, p, "page " + i + " of " + users);
            assertTrue(seen.add(p), "handed out twice: " + p);
        }
        assertEquals(0, a.allocPages(1), "nothing left");
        for (final int p : seen) {
            a.freePages(p, 1);
        }
        assertEquals(List.of(), ArenaChecker.check(a), "check after every page was out and back");
    }

    /** Requires every page of the span at {@code ptr} FREE in the page table (not CACHED). */
    private static void assertFreeNotCached(final SharedArena a, final int ptr, final int n) {
        for (int i = 0; i < n; i++) {
            assertEquals(PageEntry.FREE, rawState(a, (ptr >>> 12) + i), "page " + i + " is free, not cached");
        }
    }

    /** @return page {@code page}'s state as the page table holds it (CACHED apart from FREE) */
    private static int rawState(final SharedArena a, final int page) {
        return PageEntry.stateOf(a.segment().get(ValueLayout.JAVA_LONG, PageEntry.stateOffset(page)));
    }

    private static long repairPending(final SharedArena a) {
        return a.segment().get(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.REPAIR_PENDING));
    }

    private static long recoveries(final SharedArena a) {
        return a.segment().get(ValueLayout.JAVA_LONG, ControlLayout.counter(ControlLayout.C_RECOVERIES));
    }
}
