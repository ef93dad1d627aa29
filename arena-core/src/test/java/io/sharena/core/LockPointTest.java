package io.sharena.core;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.crash.CrashPoint;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.owner.CrossProcessLock;
import io.sharena.core.owner.LockPoint;
import io.sharena.core.lock.LockResult;
import io.sharena.core.owner.UserLock;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@link LockPoint}: (a) a real child JVM SIGKILLs itself there, then this process repairs and
 * requires a clean check; (b) a thread is paused there while other threads run the conflicting
 * operations, then resumed, and the outcome checked.
 */
class LockPointTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path dir;

    @AfterEach
    void removeHook() {
        CrashPoints.install(null);
    }

    private static void assertClean(final SharedArena arena) {
        assertEquals(List.of(), ArenaChecker.check(arena), "check after recovery");
    }

    @Test
    void everyPointIsCovered() {
        assertEquals(6, LockPoint.values().length, "a new point needs its kill and pause scenarios below");
        System.out.println("lock crash points: " + LockPoint.values().length);
    }

    // ---------------------------------------------------------------- (a) kill a child at each point

    @ParameterizedTest
    @EnumSource(LockPoint.class)
    void killedAtThePointTheArenaIsRecovered(final LockPoint point) throws Exception {
        final Path file = dir.resolve("kill.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int node = a.allocPages(1);
            final List<String> armed = List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point.id(),
                "-Dsharena.crashpoint.action=kill");
            final String[] args = switch (point) {
                case ATTACH_CLAIMED -> new String[] {"open", file.toString()};
                case SLOT_TAKEN_OVER -> {
                    final long dead = TestArenas.deadPid();
                    for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                        if (slot != a.slot()) {
                            a.registry().writeForTest(slot, dead, 1);
                        }
                    }
                    yield new String[] {"open", file.toString()};
                }
                case SLOT_RELEASING -> new String[] {"open", file.toString()};
                case STRAY_TOKEN_MARKED -> {
                    forgeNextOpenersToken(a);
                    yield new String[] {"open", file.toString()};
                }
                case LOCK_TAKEOVER, LOCK_TAKEN_OVER -> {
                    // A dead holder of a user lock: the child's waiter takes it over.
                    final int deadSlot = 33;
                    a.registry().writeForTest(deadSlot, TestArenas.deadPid(), 1);
                    a.raw().putLongVolatile(node, OwnerToken.encode(deadSlot, a.registry().generation(deadSlot), 5));
                    yield new String[] {"lockwait", file.toString(), Integer.toString(node)};
                }
            };
            try (ChildJvm child = LockChild.start(armed, args)) {
                if (point == LockPoint.SLOT_RELEASING) {
                    child.await("open ");
                    child.send("close");
                }
                final int exit = child.waitFor(60);
                assertTrue(child.output().contains("crashpoint: " + point.id() + " kill"),
                    "the child reached the point: " + child.output());
                assertNotEquals(0, exit);
            }
            if (point == LockPoint.STRAY_TOKEN_MARKED) {
                // The repair is flagged before the word is cleared: the word names the dead opener,
                // whose next waiter takes it over and repairs.
                assertEquals(1L, a.raw().getLongVolatile((int) ControlLayout.word(ControlLayout.REPAIR_PENDING)),
                    "repair flagged");
                assertNotEquals(0L, a.lock().ownerWord(), "the word still names the killed opener");
            }
            // Another process opens and repairs; then everything adds up.
            try (SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
                assertTrue(a.repair(SECOND));
                assertEquals(2, a.registry().entries().size(), "only the two live attachments: "
                    + a.registry().entries());
                if (point == LockPoint.LOCK_TAKEOVER || point == LockPoint.LOCK_TAKEN_OVER) {
                    assertEquals(LockResult.RECOVERED, b.lockAt(node).lock(SECOND), "the dead waiter's lock");
                    b.lockAt(node).unlock();
                }
                assertEquals(0, a.lock().ownerWord());
                final int p = b.allocPages(4);
                assertTrue(p != 0);
                b.freePages(p, 4);
                assertClean(a);
            }
            System.out.println("lock point kill " + point.id() + ": recovered, check clean");
        }
    }

    /**
     * Writes into the allocator's lock word the token the next attachment will get (the first free
     * registry slot, its next generation): the stray write {@code ArenaLock.clearStrayOwnToken} clears at open.
     */
    private static void forgeNextOpenersToken(final SharedArena a) {
        int slot = 0;
        while (!io.sharena.core.layout.ProcessWord.isFree(a.registry().word(slot))) {
            slot++;
        }
        final int next = io.sharena.core.layout.ProcessWord.nextGeneration(a.registry().generation(slot));
        a.raw().putLongVolatile((int) ControlLayout.word(ControlLayout.LOCK_WORD), OwnerToken.encode(slot, next, 7));
    }

    // ---------------------------------------------------------------- (b) pause a thread at each point

    /** Parks the thread named {@code thread} the first time it reaches {@code point}. */
    private static final class Pause implements CrashPoints.Hook {
        final CrashPoint point;
        final String thread;
        final CountDownLatch reached = new CountDownLatch(1);
        final CountDownLatch resume = new CountDownLatch(1);
        final AtomicBoolean first = new AtomicBoolean(true);

        Pause(final CrashPoint point, final String thread) {
            this.point = point;
            this.thread = thread;
        }

        @Override
        public void reached(final CrashPoint p) {
            if (p == point && Thread.currentThread().getName().equals(thread) && first.compareAndSet(true, false)) {
                reached.countDown();
                try {
                    resume.await();
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        void awaitReached() throws InterruptedException {
            assertTrue(reached.await(20, TimeUnit.SECONDS), "paused at " + point.id());
        }
    }

    private static <T> CompletableFuture<T> onThread(final String name, final java.util.concurrent.Callable<T> body) {
        final CompletableFuture<T> f = new CompletableFuture<>();
        final Thread t = new Thread(() -> {
            try {
                f.complete(body.call());
            } catch (final Throwable e) {
                f.completeExceptionally(e);
            }
        }, name);
        t.start();
        return f;
    }

    @ParameterizedTest
    @EnumSource(LockPoint.class)
    void pausedAtThePointOthersGoOnAndTheOutcomeHolds(final LockPoint point) throws Exception {
        final Path file = dir.resolve("pause.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int node = a.allocPages(1);
            final Pause pause = new Pause(point, "paused");
            switch (point) {
                case ATTACH_CLAIMED, SLOT_TAKEN_OVER -> {
                    if (point == LockPoint.SLOT_TAKEN_OVER) {
                        final long dead = TestArenas.deadPid();
                        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                            if (slot != a.slot()) {
                                a.registry().writeForTest(slot, dead, 1);
                            }
                        }
                    }
                    CrashPoints.install(pause);
                    final CompletableFuture<SharedArena> x = onThread("paused",
                        () -> SharedArena.open(file, ArenaOptions.defaults()));
                    pause.awaitReached();
                    // Meanwhile: a recovery, another attach, allocation.
                    assertTrue(a.repair(SECOND));
                    try (SharedArena y = SharedArena.open(file, ArenaOptions.defaults())) {
                        pause.resume.countDown();
                        try (SharedArena opened = x.get(20, TimeUnit.SECONDS)) {
                            assertNotEquals(opened.slot(), y.slot(), "one slot, two attachments");
                            assertNotEquals(opened.slot(), a.slot());
                            assertTrue(a.registry().isAlive(opened.slot()));
                            final int p = opened.allocPages(2);
                            assertTrue(p != 0);
                            opened.freePages(p, 2);
                        }
                        assertEquals(2, a.registry().entries().size(), a.registry().entries().toString());
                    }
                }
                case SLOT_RELEASING -> {
                    final SharedArena x = SharedArena.open(file, ArenaOptions.defaults());
                    final int xs = x.slot();
                    CrashPoints.install(pause);
                    final CompletableFuture<Boolean> closing = onThread("paused", () -> {
                        x.close();
                        return true;
                    });
                    pause.awaitReached();
                    // The closing attachment's process lives: a recovery must not release its slot
                    // for it, and an attach must not take it.
                    assertTrue(a.repair(SECOND));
                    assertTrue(a.registry().isAlive(xs));
                    try (SharedArena y = SharedArena.open(file, ArenaOptions.defaults())) {
                        assertNotEquals(xs, y.slot());
                        pause.resume.countDown();
                        assertTrue(closing.get(20, TimeUnit.SECONDS));
                        assertTrue(!a.registry().isAlive(xs) && a.registry().entries().size() == 2,
                            a.registry().entries().toString());
                    }
                }
                case STRAY_TOKEN_MARKED -> {
                    forgeNextOpenersToken(a);
                    CrashPoints.install(pause);
                    final CompletableFuture<SharedArena> x = onThread("paused",
                        () -> SharedArena.open(file, ArenaOptions.defaults()));
                    pause.awaitReached();
                    // The word names a live attachment, mid-open: the lock waits for it, within its bound.
                    assertEquals(LockResult.TIMEOUT, a.lock().lock(SECOND / 10));
                    assertEquals(0, a.allocPages(17), "a locked allocation fails fast while the word names the opener");
                    pause.resume.countDown();
                    try (SharedArena opened = x.get(20, TimeUnit.SECONDS)) {
                        assertEquals(0L, a.lock().ownerWord(), "cleared by the opener");
                        final int p = opened.allocPages(2);
                        assertTrue(p != 0);
                        opened.freePages(p, 2);
                    }
                }
                case LOCK_TAKEOVER, LOCK_TAKEN_OVER -> {
                    for (final boolean allocatorLock : new boolean[] {false, true}) {
                        final Pause p = new Pause(point, "paused");
                        final int deadSlot = 33;
                        a.registry().writeForTest(deadSlot, TestArenas.deadPid(), 1);
                        final long dead = OwnerToken.encode(deadSlot, a.registry().generation(deadSlot), 5);
                        final CrossProcessLock lock = allocatorLock ? a.lock() : (UserLock) a.lockAt(node);
                        a.raw().putLongVolatile(allocatorLock
                            ? (int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.LOCK_WORD)
                            : node, dead);
                        CrashPoints.install(p);
                        final CompletableFuture<LockResult> w = onThread("paused", () -> {
                            final LockResult r = lock.lock(SECOND);
                            if (r.acquired()) {
                                lock.unlock();
                            }
                            return r;
                        });
                        p.awaitReached();
                        if (point == LockPoint.LOCK_TAKEOVER) {
                            // Another waiter takes it over first and keeps it while the paused one resumes.
                            assertEquals(LockResult.RECOVERED, lock.lock(SECOND));
                            p.resume.countDown();
                            assertEquals(LockResult.TIMEOUT, w.get(20, TimeUnit.SECONDS), "one holder at a time");
                            lock.unlock();
                        } else {
                            // The paused thread holds it: live, so nobody takes it from it.
                            assertEquals(LockResult.TIMEOUT, lock.lock(SECOND / 10));
                            if (allocatorLock) {
                                assertEquals(0, a.allocPages(1), "allocation fails fast while the lock is held");
                            }
                            p.resume.countDown();
                            assertEquals(LockResult.RECOVERED, w.get(20, TimeUnit.SECONDS));
                        }
                        CrashPoints.install(null);
                        assertEquals(0, lock.ownerWord());
                        assertTrue(a.repair(SECOND));
                    }
                }
            }
            CrashPoints.install(null);
            final int p = a.allocPages(3);
            assertTrue(p != 0);
            a.freePages(p, 3);
            assertClean(a);
            System.out.println("lock point pause " + point.id() + ": others went on, outcome holds, check clean");
        }
    }
}
