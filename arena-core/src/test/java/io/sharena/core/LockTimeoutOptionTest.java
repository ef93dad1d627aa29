package io.sharena.core;

import io.sharena.core.lock.LockResult;
import io.sharena.core.owner.ArenaLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ArenaOptions#withLockTimeoutNanos}: how long an attachment's allocation waits for the
 * allocator's lock before it answers 0. Another attachment holds the lock; this one's span cache
 * is empty, so its allocation must take the lock.
 */
class LockTimeoutOptionTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @TempDir
    Path dir;

    @Test
    void theDefaultIsFiveMillisecondsAndNegativeIsRefused() {
        assertEquals(5 * MS, ArenaOptions.defaults().lockTimeoutNanos());
        assertEquals(0, ArenaOptions.defaults().withLockTimeoutNanos(0).lockTimeoutNanos());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> ArenaOptions.defaults().withLockTimeoutNanos(-1));
        assertEquals("lock timeout must not be negative: lockTimeoutNanos=-1", e.getMessage());
    }

    @Test
    void allocationGivesUpAfterTheTimeoutWhileTheLockIsHeld() throws Exception {
        final Path file = dir.resolve("t.arena");
        try (SharedArena holder = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults());
             SharedArena waiter = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(100 * MS))) {
            final ArenaLock lock = holder.lock();
            assertEquals(LockResult.ACQUIRED, lock.tryLock());
            try {
                final long start = System.nanoTime();
                assertEquals(0, waiter.allocPages(1), "no lock, no pages");
                final long waited = System.nanoTime() - start;
                assertTrue(waited >= 100 * MS, "waited the whole timeout: waitedNanos=" + waited);
            } finally {
                lock.unlock();
            }
            assertTrue(waiter.allocPages(1) != 0, "the lock is free again");
        }
    }

    @Test
    void aLongerTimeoutOutlastsAShortHold() throws Exception {
        final Path file = dir.resolve("t.arena");
        try (SharedArena holder = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults());
             SharedArena waiter = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(10_000 * MS))) {
            final ArenaLock lock = holder.lock();
            assertEquals(LockResult.ACQUIRED, lock.tryLock());
            // The holder is a thread of this process: unlock from the thread that locked, later.
            final CompletableFuture<Integer> alloc = CompletableFuture.supplyAsync(() -> waiter.allocPages(1));
            Thread.sleep(50);
            assertTrue(!alloc.isDone(), "still waiting for the lock");
            lock.unlock();
            assertTrue(alloc.get(10, TimeUnit.SECONDS) != 0, "got its page once the lock was released");
        }
    }
}
