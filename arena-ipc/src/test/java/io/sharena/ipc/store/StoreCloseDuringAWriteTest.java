package io.sharena.ipc.store;

import io.sharena.ipc.PointPause;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
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

    @Test
    void aCloseWaitsForAWriteOfAnotherThreadThatHoldsAStripeLock() throws Exception {
        final Path file = dir.resolve("close.store");
        final SharedStore store = SharedStore.create(file, OPTIONS);
        final Object[] written = new Object[1];
        final Throwable[] writeFailure = new Throwable[1];
        final AtomicReference<Throwable> closeFailure = new AtomicReference<>();
        final boolean closeWaited;
        final Thread write;
        final Thread close;
        try (PointPause pause = new PointPause(StorePoint.SET_LINKED)) {
            write = PointPause.start(() -> written[0] = store.set(b("k"), b("mine"), 0, 0), writeFailure);
            assertTrue(pause.awaitReached(), "the write reached " + StorePoint.SET_LINKED);
            close = Thread.ofPlatform().start(() -> {
                try {
                    store.close();
                } catch (final Throwable e) {
                    closeFailure.set(e);
                }
            });
            close.join(500);
            closeWaited = close.isAlive();
        }
        write.join(30_000);
        close.join(30_000);
        assertTrue(closeWaited, "the close waited for the write holding a stripe lock");
        assertNull(writeFailure[0]);
        assertEquals(StoreResult.STORED, written[0], "the write ended as it began");
        assertNull(closeFailure.get());
        try (SharedStore again = SharedStore.open(file, OPTIONS)) {
            assertArrayEquals(b("mine"), again.get(b("k")));
            assertEquals(List.of(), again.check());
        }
    }
}
