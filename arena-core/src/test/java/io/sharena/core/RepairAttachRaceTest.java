package io.sharena.core;

import io.sharena.core.alloc.AllocPoint;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A repair judges the registry's slots once, before its page scan, and attaching takes no lock: a
 * process may claim a slot the repair saw free while the scan runs, and free pages, marking them
 * with that slot. The scan used to take such a page for a stray write's (a page of a slot nobody
 * holds) and keep it ALLOCATED, allocated to nobody for good. Now a slot whose registry word changed
 * since the repair judged it is not nobody's. A repair also shuts every slot's span cache while it
 * runs (the repair epoch), so the newcomer's free goes to the pending list (PENDING, naming its slot),
 * which the repair drains again after its scan: the page is free at the end, and the repair reports
 * success.
 */
class RepairAttachRaceTest {
    private static final long SECOND = 1_000_000_000L;

    @TempDir
    Path dir;

    @AfterEach
    void uninstall() {
        CrashPoints.install(null);
    }

    @Test
    void aProcessAttachingWhileARepairScansKeepsWhatItFrees() throws Exception {
        final Path file = dir.resolve("race.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            // Allocated before the repair; the newcomer frees it while the repair holds the lock
            // (any attachment may free any page; a 1-page free goes to its cache with no lock).
            final int page = a.allocPages(1);
            assertNotEquals(0, page);
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final AtomicReference<Thread> repairer = new AtomicReference<>();
            CrashPoints.install(p -> {
                if (p == AllocPoint.REPAIR_CACHES_EMPTIED && Thread.currentThread() == repairer.get()) {
                    paused.countDown();
                    try {
                        assertTrue(resume.await(30, TimeUnit.SECONDS));
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread t = Thread.ofPlatform().unstarted(() -> {
                try {
                    assertTrue(ArenaInternals.repair(a, 5 * SECOND), "the repair ran");
                } catch (final Throwable e) {
                    failure.set(e);
                }
            });
            repairer.set(t);
            t.start();
            assertTrue(paused.await(30, TimeUnit.SECONDS), "the repair reached its page scan");

            // Another attachment (its own registry slot, as another process) attaches now and
            // frees the page: with its cache shut by the repair, onto the pending list, PENDING under
            // a slot the paused repair judged free.
            try (SharedArena c = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(200_000))) {
                assertNotEquals(ArenaInternals.slot(a), ArenaInternals.slot(c));
                c.freePages(page, 1);
                resume.countDown();
                t.join(30_000);
                assertNull(failure.get());

                // What c keeps in its cache comes out of it by a claim that fails (the repair freed
                // the page) or succeeds; either way c goes on allocating.
                int again = 0; // retried: c's lock timeout is 200 us, and an idle purge may hold the lock a moment
                for (final long end = System.nanoTime() + 5 * SECOND; again == 0 && System.nanoTime() < end; ) {
                    again = c.allocPages(1);
                }
                assertNotEquals(0, again);
                c.freePages(again, 1);
            }
            assertTrue(ArenaInternals.repair(a, 5 * SECOND));
            assertEquals(List.of(), ArenaChecker.check(a));
            long allocated = 0;
            for (long p = a.firstUserPage(); p < a.capacityPages(); p++) {
                if (a.pageState(p) == PageState.ALLOCATED) {
                    allocated++;
                }
            }
            assertEquals(0, allocated, "every page free again, none kept for a stray write's: " + ArenaInternals.repairNotes(a));
        }
    }
}
