package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoints;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.sharena.ipc.store.StoreChild.b;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A store closed by one thread while another of its threads is inside a write holding a stripe
 * lock. The close gave the process's registry slot back at once, after which the write's lock token
 * read as a dead process's: another process could take the stripe over and publish the same key
 * while the write went on, and the write's last stores could drop that acknowledged value (a
 * review, 2026-12-06). The close now waits for the write to let go of the lock.
 */
class StoreCloseDuringAWriteTest {
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(4096);

    @TempDir
    Path dir;

    @AfterEach
    void noHook() {
        CrashPoints.install(null);
    }

    @Test
    void aCloseWaitsForAWriteOfAnotherThreadThatHoldsAStripeLock() throws Exception {
        final Path file = dir.resolve("close.store");
        final SharedStore store = SharedStore.create(file, OPTIONS);
        final CountDownLatch paused = new CountDownLatch(1);
        final CountDownLatch resume = new CountDownLatch(1);
        final AtomicReference<Thread> writer = new AtomicReference<>();
        CrashPoints.install(p -> {
            if (p == StorePoint.SET_LINKED && Thread.currentThread() == writer.get() && paused.getCount() > 0) {
                paused.countDown();
                try {
                    resume.await(30, TimeUnit.SECONDS);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        final AtomicReference<Object> written = new AtomicReference<>();
        final Thread write = Thread.ofPlatform().unstarted(() -> {
            try {
                written.set(store.set(b("k"), b("mine"), 0, 0));
            } catch (final Throwable e) {
                written.set(e);
            }
        });
        writer.set(write);
        write.start();
        assertTrue(paused.await(10, TimeUnit.SECONDS), "the write reached " + StorePoint.SET_LINKED);
        final AtomicReference<Throwable> closeFailure = new AtomicReference<>();
        final Thread close = Thread.ofPlatform().start(() -> {
            try {
                store.close();
            } catch (final Throwable e) {
                closeFailure.set(e);
            }
        });
        close.join(500);
        final boolean closeWaited = close.isAlive();
        resume.countDown();
        write.join(30_000);
        close.join(30_000);
        assertTrue(closeWaited, "the close waited for the write holding a stripe lock");
        assertEquals(StoreResult.STORED, written.get(), "the write ended as it began");
        assertNull(closeFailure.get());
        try (SharedStore again = SharedStore.open(file, OPTIONS)) {
            assertArrayEquals(b("mine"), again.get(b("k")));
            assertEquals(List.of(), again.check());
        }
    }
}
