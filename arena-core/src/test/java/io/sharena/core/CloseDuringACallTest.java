package io.sharena.core;

import io.sharena.core.alloc.AllocPoint;
import io.sharena.core.crash.CrashPoints;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An arena closed by one thread while another of its threads is inside an allocator call holding
 * the lock. The close waited a second for the lock, then unmapped under the call: its release
 * faulted on the unmapped word, the lock stayed held in its name for as long as the process lived,
 * and every other process's locked allocation timed out.
 */
class CloseDuringACallTest {
    @TempDir
    Path dir;

    @AfterEach
    void noHook() {
        CrashPoints.install(null);
    }

    @Test
    void aCloseWaitsForAnAllocatorCallOfAnotherThread() throws Exception {
        final Path file = dir.resolve("close.arena");
        try (SharedArena b = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults()
            .withLockTimeoutNanos(500_000_000L))) {
            final SharedArena a = SharedArena.open(file, ArenaOptions.defaults());
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final AtomicReference<Thread> caller = new AtomicReference<>();
            CrashPoints.install(p -> {
                if (p == AllocPoint.TAKE_INTENT_WRITTEN && Thread.currentThread() == caller.get()) {
                    paused.countDown();
                    try {
                        resume.await(30, TimeUnit.SECONDS);
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final AtomicReference<Throwable> callFailure = new AtomicReference<>();
            final Thread call = Thread.ofPlatform().unstarted(() -> {
                try {
                    // Past the span caches: the locked path.
                    assertNotEquals(0, a.allocPages(17));
                } catch (final Throwable e) {
                    callFailure.set(e);
                }
            });
            caller.set(call);
            call.start();
            assertTrue(paused.await(10, TimeUnit.SECONDS), "the call reached the point");
            final AtomicReference<Throwable> closeFailure = new AtomicReference<>();
            final Thread closer = Thread.ofPlatform().start(() -> {
                try {
                    a.close();
                } catch (final Throwable e) {
                    closeFailure.set(e);
                }
            });
            // Past the second a close used to wait.
            Thread.sleep(1_500);
            resume.countDown();
            call.join(30_000);
            closer.join(30_000);
            assertNull(callFailure.get(), "the call finished on a mapped arena");
            assertNull(closeFailure.get());
            assertEquals(0L, b.lock().ownerWord(), "the lock is free");
            final int p = b.allocPages(17);
            assertNotEquals(0, p, "another process takes the lock");
            b.freePages(p, 17);
        }
    }
}
