package io.sharena.core;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.LockWord;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.owner.ArenaLock;
import io.sharena.core.lock.LockResult;
import io.sharena.core.owner.ProcessIdentity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaLockTest {
    private static final int LOCK_PTR = (int) ControlLayout.word(ControlLayout.LOCK_WORD);

    @TempDir
    Path dir;
    SharedArena arena;
    ArenaLock lock;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("l.arena"), Capacity.ofPages(64), ArenaOptions.defaults());
        lock = arena.lock();
    }

    @AfterEach
    void close() throws IOException {
        arena.raw().putLongVolatile(LOCK_PTR, 0);
        assertEquals(java.util.List.of(), io.sharena.core.check.ArenaChecker.check(arena).stream()
            .filter(v -> !v.startsWith("dead process still registered")).toList());
        arena.close();
    }

    @Test
    void acquireDeadlockAndUnlock() {
        assertEquals(LockResult.ACQUIRED, lock.tryLock());
        assertTrue(lock.isHeldByCurrentThread());
        assertEquals(LockResult.DEADLOCK, lock.tryLock());
        assertEquals(LockResult.DEADLOCK, lock.lock(TimeUnit.SECONDS.toNanos(5)), "AA is reported at once");
        assertEquals(arena.slot(), LockWord.slot(lock.ownerWord()));
        lock.unlock();
        assertEquals(0, lock.ownerWord());
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
    }

    @Test
    void anotherThreadTimesOutWhileTheOwnerLives() throws Exception {
        assertEquals(LockResult.ACQUIRED, lock.tryLock());
        final long timeout = TimeUnit.MILLISECONDS.toNanos(50);
        final CompletableFuture<long[]> other = CompletableFuture.supplyAsync(() -> {
            final long start = System.nanoTime();
            final LockResult r = lock.lock(timeout);
            return new long[] {r.ordinal(), System.nanoTime() - start};
        });
        final long[] r = other.get(10, TimeUnit.SECONDS);
        assertEquals(LockResult.TIMEOUT.ordinal(), r[0]);
        assertTrue(r[1] >= timeout, "waited " + r[1] + " ns");
        assertEquals(LockResult.TIMEOUT, CompletableFuture.supplyAsync(lock::tryLock).get());
        assertThrows(Exception.class, () -> CompletableFuture.runAsync(lock::unlock).get(), "only the owner unlocks");
        lock.unlock();
        assertEquals(LockResult.ACQUIRED, CompletableFuture.supplyAsync(() -> {
            final LockResult got = lock.lock(timeout);
            lock.unlock();
            return got;
        }).get());
    }

    @Test
    void allocationFailsFastAndFreeIsDeferredWhileAnotherThreadHoldsTheLock() throws Exception {
        final int p = arena.allocPages(3);
        final int q = arena.allocPages(5);
        final CompletableFuture<Void> holder = new CompletableFuture<>();
        final CompletableFuture<Void> release = new CompletableFuture<>();
        final Thread t = new Thread(() -> {
            lock.lock(TimeUnit.SECONDS.toNanos(1));
            holder.complete(null);
            release.join();
            lock.unlock();
        });
        t.start();
        holder.get(10, TimeUnit.SECONDS);
        assertEquals(0, arena.allocPages(3), "fails fast within the lock timeout");
        arena.freePages(p, 3);
        assertEquals(io.sharena.core.layout.PageEntry.PENDING, arena.pageStateCode(p >>> 12), "deferred");
        assertEquals(io.sharena.core.layout.PageEntry.PENDING, arena.pageStateCode((p >>> 12) + 2));
        assertEquals(1, arena.raw().getLongVolatile((int) ControlLayout.counter(ControlLayout.C_DEFERRED_FREES)));
        assertEquals(0, arena.allocPagesAt(p, 1), "PENDING pages are never handed out");
        release.complete(null);
        t.join();
        assertEquals(p, arena.allocPages(3), "the next lock holder applied the deferred free");
        arena.freePages(q, 5);
    }

    @Test
    void deadOwnerIsRecovered() throws Exception {
        // A registry slot of a process that no longer exists holds the lock.
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final long deadPid = gone.pid();
        final int deadSlot = 40;
        arena.registry().writeForTest(deadSlot, deadPid, 12345);
        arena.raw().putLongVolatile(LOCK_PTR, OwnerToken.encode(deadSlot, arena.registry().generation(deadSlot), 99));
        assertFalse(arena.registry().isAlive(deadSlot));
        assertEquals(LockResult.RECOVERED, lock.lock(TimeUnit.SECONDS.toNanos(1)));
        lock.unlock();
        arena.freePages(arena.allocPages(3), 3); // the next allocator call repairs, clearing the flag
    }

    @Test
    void aTakeoverByANonAllocatorCallerStillGetsTheAllocatorRepaired() throws Exception {
        final int p = arena.allocPages(3);
        // A dead holder in the middle of an allocation: intent written, pages marked, lists not updated.
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final int deadSlot = 42;
        arena.registry().writeForTest(deadSlot, gone.pid(), 1);
        final int page = (p >>> 12) + 3;
        arena.raw().putLongVolatile((int) ControlLayout.word(ControlLayout.INTENT),
            io.sharena.core.layout.Intent.encode(io.sharena.core.layout.Intent.ALLOC, page, 2));
        arena.raw().putLongVolatile((int) io.sharena.core.layout.PageEntry.stateOffset(page),
            io.sharena.core.layout.PageEntry.state(io.sharena.core.layout.PageEntry.ALLOCATED, 0, 0, 0));
        arena.raw().putLongVolatile(LOCK_PTR, OwnerToken.encode(deadSlot, arena.registry().generation(deadSlot), 5));
        // Not the allocator: a tool (or named roots) takes the lock over and just unlocks.
        assertEquals(LockResult.RECOVERED, lock.lock(TimeUnit.SECONDS.toNanos(1)));
        lock.unlock();
        assertTrue(io.sharena.core.check.ArenaChecker.check(arena).stream()
            .anyMatch(v -> v.startsWith("lock taken over from a dead owner")));
        // The next allocator call repairs first: the half-done allocation is rolled back.
        assertEquals(ptrOf(page), arena.allocPages(2));
        assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena).stream()
            .filter(v -> !v.startsWith("dead process still registered")).toList());
    }

    private static int ptrOf(final int page) {
        return page << 12;
    }

    @Test
    void aReusedPidIsNotTheOwner() throws Exception {
        final Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            final long pid = sleeper.pid();
            final long ticks = ProcessIdentity.startTicks(pid);
            assertTrue(ticks > 0);
            final int slot = 41;
            // The registered owner has this pid but started at another time: the pid was reused.
            arena.registry().writeForTest(slot, pid, ticks + 1);
            arena.raw().putLongVolatile(LOCK_PTR, OwnerToken.encode(slot, arena.registry().generation(slot), 7));
            assertEquals(LockResult.RECOVERED, lock.lock(TimeUnit.SECONDS.toNanos(1)));
            lock.unlock();
            arena.freePages(arena.allocPages(3), 3); // the next allocator call repairs
            // The same pid with its true start time is alive and keeps the lock.
            arena.registry().writeForTest(slot, pid, ticks);
            arena.raw().putLongVolatile(LOCK_PTR, OwnerToken.encode(slot, arena.registry().generation(slot), 7));
            assertEquals(LockResult.TIMEOUT, lock.lock(TimeUnit.MILLISECONDS.toNanos(20)));
        } finally {
            sleeper.destroyForcibly();
        }
    }

    @Test
    void zombieOwnerIsDead() throws Exception {
        // A child killed but not yet reaped is a zombie: dead, though /proc still lists it.
        final ProcessBuilder pb = new ProcessBuilder("sh", "-c", "sleep 30 & echo $!; exec sleep 31");
        final Process parent = pb.start();
        try {
            final long child = Long.parseLong(new java.io.BufferedReader(
                new java.io.InputStreamReader(parent.getInputStream())).readLine().trim());
            final long ticks = ProcessIdentity.startTicks(child);
            new ProcessBuilder("kill", "-9", Long.toString(child)).start().waitFor();
            // The kernel makes it a zombie a moment after the signal: a deadline, not a fixed sleep.
            for (final long end = System.nanoTime() + 5_000_000_000L;
                 ProcessIdentity.isAlive(child, ticks) && System.nanoTime() < end; ) {
                Thread.sleep(10);
            }
            assertFalse(ProcessIdentity.isAlive(child, ticks), "killed, unreaped child");
        } finally {
            parent.destroyForcibly();
        }
    }
}
