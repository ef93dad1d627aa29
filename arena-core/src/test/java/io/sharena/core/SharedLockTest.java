package io.sharena.core;

import io.sharena.core.layout.OwnerToken;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Locks users place in their own structures: results, validation, recovery, between threads and processes. */
class SharedLockTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path dir;
    Path file;
    SharedArena arena;
    int node;

    @BeforeEach
    void open() throws IOException {
        file = dir.resolve("u.arena");
        arena = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults());
        node = arena.allocPages(1);
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena).stream()
            .filter(v -> !v.startsWith("dead process still registered")).toList());
        arena.close();
    }

    @Test
    void acquireDeadlockTimeoutAndUnlock() throws Exception {
        final SharedLock lock = arena.lockAt(node + 64);
        assertEquals(node + 64, lock.pointer());
        assertEquals(LockResult.ACQUIRED, lock.tryLock());
        assertTrue(lock.isHeldByCurrentThread() && lock.isLocked());
        assertEquals(LockResult.DEADLOCK, lock.lock(5 * SECOND), "AA is reported at once");
        assertEquals(arena.ownership().mine(), lock.ownerWord());
        assertEquals(LockResult.TIMEOUT, CompletableFuture.supplyAsync(() -> lock.lock(SECOND / 20)).get());
        assertThrows(Exception.class, () -> CompletableFuture.runAsync(lock::unlock).get(), "only the holder unlocks");
        // Another flyweight on the same word is the same lock.
        assertEquals(LockResult.DEADLOCK, arena.lockAt(node + 64).tryLock());
        lock.unlock();
        assertEquals(0, lock.ownerWord());
        assertFalse(lock.isLocked());
        final IllegalMonitorStateException e = assertThrows(IllegalMonitorStateException.class, lock::unlock);
        assertTrue(e.getMessage().startsWith("shared lock at ptr=0x" + Integer.toHexString(node + 64)
            + " not held by this thread: lockWord=0x0"), e.getMessage());
        assertEquals(0, arena.lock().ownerWord(), "the allocator's lock was never involved");
    }

    /**
     * A lock word holding a process's token (thread 0) names no holder, since locks are held by
     * threads: only a stray write puts one there (a bit flipped in a free word gives the first
     * attachment's). It is taken over as a dead holder's is, not waited on while that process lives.
     */
    @Test
    void aProcessTokenInALockWordIsTakenOverNotWaitedOn() throws Exception {
        final SharedLock lock = arena.lockAt(node + 128);
        final long processToken = OwnerToken.attachment(arena.ownership().mine());
        assertEquals(0, OwnerToken.thread(processToken));
        arena.raw().putLong(node + 128, processToken);
        assertFalse(lock.isLocked(), "no thread holds it");
        final long start = System.nanoTime();
        assertEquals(LockResult.RECOVERED, CompletableFuture.supplyAsync(() -> {
            final LockResult r = lock.lock(5 * SECOND);
            lock.unlock();
            return r;
        }).get());
        assertTrue(System.nanoTime() - start < SECOND, "taken over at the first liveness check, not at the timeout");
        assertEquals(0, lock.ownerWord());
    }

    @Test
    void aUserLockIsNotTheAllocatorsLock() {
        final SharedLock lock = arena.lockAt(node);
        assertEquals(LockResult.ACQUIRED, lock.tryLock());
        // The allocator goes on while a user holds a lock of their own.
        final int p = arena.allocPages(2);
        assertTrue(p != 0);
        arena.freePages(p, 2);
        lock.unlock();
    }

    @Test
    void badPointersAreRefusedClearly() {
        assertEquals("misaligned lock word: ptr=0x" + Integer.toHexString(node + 4) + ", alignment=8",
            assertThrows(IllegalArgumentException.class, () -> arena.lockAt(node + 4)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> arena.lockAt(8)).getMessage()
            .startsWith("lock word outside the arena's user pages: ptr=0x8, "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> arena.lockAt((int) arena.capacityBytes()))
            .getMessage().startsWith("lock word outside the arena's user pages"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> arena.lockAt(-8))
            .getMessage().startsWith("lock word outside the arena's user pages: ptr=0xfffffff8"));
        final int free = node + 4096 * 5;
        assertEquals("lock word not in an ALLOCATED page: ptr=0x" + Integer.toHexString(free) + ", state=FREE",
            assertThrows(IllegalArgumentException.class, () -> arena.lockAt(free)).getMessage());
    }

    @Test
    void aDeadHoldersLockIsRecoveredOnceAndALiveStoppedHolderKeepsIt() throws Exception {
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final int deadSlot = 20;
        arena.registry().writeForTest(deadSlot, gone.pid(), 1);
        arena.raw().putLongVolatile(node, OwnerToken.encode(deadSlot, arena.registry().generation(deadSlot), 3));
        final SharedLock lock = arena.lockAt(node);
        assertFalse(lock.isLocked(), "a dead holder's lock reads as not held");
        assertEquals(LockResult.RECOVERED, lock.lock(SECOND));
        assertEquals(LockResult.DEADLOCK, lock.lock(SECOND));
        lock.unlock();
        assertEquals(LockResult.ACQUIRED, lock.lock(SECOND));
        lock.unlock();
        assertEquals(0, arena.raw().getLongVolatile((int) io.sharena.core.layout.ControlLayout.word(
            io.sharena.core.layout.ControlLayout.REPAIR_PENDING)), "a user lock's recovery is the user's business");
        arena.repair(SECOND); // releases the fake dead slot
    }

    @Test
    void threadsOfTwoAttachmentsExcludeEachOther() throws Exception {
        final int ptr = node;
        try (SharedArena other = SharedArena.open(file, ArenaOptions.defaults())) {
            final int perThread = 20_000;
            final List<CompletableFuture<Void>> workers = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final SharedArena a = t % 2 == 0 ? arena : other;
                workers.add(CompletableFuture.runAsync(() -> {
                    final SharedLock lock = a.lockAt(ptr);
                    for (int i = 0; i < perThread; i++) {
                        final LockResult r = lock.lock(10 * SECOND);
                        if (r != LockResult.ACQUIRED) {
                            throw new AssertionError("lock " + r);
                        }
                        // Plain read and write: only the lock makes the count exact.
                        a.raw().putLong(ptr + 8, a.raw().getLong(ptr + 8) + 1);
                        lock.unlock();
                    }
                }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
            }
            for (final CompletableFuture<Void> w : workers) {
                w.get(120, TimeUnit.SECONDS);
            }
            assertEquals(4L * perThread, arena.raw().getLongVolatile(ptr + 8));
        }
    }

    @Test
    void aHolderKilledWithKill9IsRecoveredByAnotherProcess() throws Exception {
        final int ptr = node + 128;
        try (ChildJvm holder = LockChild.start(List.of(), "userlock", file.toString(), Integer.toString(ptr))) {
            assertEquals("lock ACQUIRED", holder.await("lock "));
            holder.await("locked");
            final SharedLock lock = arena.lockAt(ptr);
            assertEquals(LockResult.TIMEOUT, lock.lock(SECOND / 10), "a live holder keeps it");
            holder.kill9();
            assertTrue(holder.waitFor(30) != 0);
            // Another process waits and gets it back.
            try (ChildJvm waiter = LockChild.start(List.of(), "lockwait", file.toString(), Integer.toString(ptr))) {
                assertEquals("lock RECOVERED", waiter.await("lock "));
                assertEquals(0, waiter.waitFor(30), String.join("\n", waiter.output()));
            }
            assertEquals(LockResult.ACQUIRED, lock.lock(SECOND), "released after recovery");
            lock.unlock();
            assertTrue(arena.repair(SECOND)); // the killed holder's slot
        }
    }

    @Test
    void processesIncrementingUnderTheLockCountExactly() throws Exception {
        final int ptr = node + 256;
        final int n = 3000;
        try (ChildJvm a = LockChild.start(List.of(), "increment", file.toString(), Integer.toString(ptr), Integer.toString(n));
             ChildJvm b = LockChild.start(List.of(), "increment", file.toString(), Integer.toString(ptr), Integer.toString(n))) {
            final SharedLock lock = arena.lockAt(ptr);
            for (int i = 0; i < n; i++) {
                assertEquals(LockResult.ACQUIRED, lock.lock(30 * SECOND));
                arena.raw().putLong(ptr + 8, arena.raw().getLong(ptr + 8) + 1);
                lock.unlock();
            }
            assertEquals(0, a.waitFor(60), String.join("\n", a.output()));
            assertEquals(0, b.waitFor(60), String.join("\n", b.output()));
        }
        assertEquals(3L * n, arena.raw().getLongVolatile(ptr + 8));
    }
}
