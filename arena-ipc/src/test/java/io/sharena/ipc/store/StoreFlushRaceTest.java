package io.sharena.ipc.store;

import io.sharena.ipc.PointPause;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code flush_all} with no delay raises the CAS watermark, then clears a pending delayed flush.
 * A delayed flush that another attachment asks for between the two comes after this one and must
 * stay; it used to be cleared by the second store, though its caller had its OK.
 */
class StoreFlushRaceTest {
    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aDelayedFlushAskedForWhileAnImmediateOneFinishesStays() throws Exception {
        final AtomicLong now = new AtomicLong(1_800_000_000_000L);
        final StoreOptions options = StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(4096).withClock(now::get);
        final Path file = dir.resolve("f.store");
        try (SharedStore store = SharedStore.create(file, options);
             SharedStore other = SharedStore.open(file, options)) {
            store.set(b("before"), b("1"), 0, 0);
            final Throwable[] failure = new Throwable[1];
            final Thread paused;
            try (PointPause pause = new PointPause(StorePoint.FLUSH_CAS_RAISED)) {
                paused = PointPause.start(() -> store.flushAll(0), failure);
                assertTrue(pause.awaitReached(), "the flush reached " + StorePoint.FLUSH_CAS_RAISED.id());
                assertNull(other.get(b("before")), "flushed once the watermark is raised");
                other.flushAll(60);
                pause.release();
                paused.join(10_000);
            }
            assertFalse(paused.isAlive());
            assertNull(failure[0]);
            now.addAndGet(10_000);
            assertEquals(StoreResult.STORED, other.set(b("after"), b("2"), 0, 0));
            assertArrayEquals(b("2"), store.get(b("after")), "live until the delayed flush's time");
            now.addAndGet(60_000);
            assertNull(store.get(b("after")), "the delayed flush asked for last fired");
        }
    }
}
