package io.sharena.ipc.store;

import io.sharena.ipc.PointPause;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writers that rebuild an item from a lock-free read (append, prepend, incr, decr, invalidate,
 * each keeping the item's expiry) and the one in-place change of a published item's field
 * (touch's expiry): a thread paused between its read and its locked swap, while another
 * attachment touches the key. The touch was acknowledged (TOUCHED), so the swap that follows must
 * not put the expiry the paused thread read back.
 */
class StoreInPlaceRaceTest {
    static final long T0 = SharedStoreTest.T0;

    @TempDir
    Path dir;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"append", "prepend", "incr", "decr", "invalidate", "ma"})
    void aTouchAcknowledgedWhileAnUpdateIsBuiltIsKept(final String op) throws Exception {
        final AtomicLong now = new AtomicLong(T0);
        final Path file = dir.resolve("t.store");
        final StoreOptions o = StoreOptions.defaults().withMemoryLimit(8L << 20).withMaxItemSize(4096)
            .withClock(now::get);
        try (SharedStore store = SharedStore.create(file, o);
             SharedStore other = SharedStore.open(file, o)) {
            assertEquals(StoreResult.STORED, store.set(b("k"), b("5"), 7, 100));
            final long before = store.gets(b("k")).expires();
            assertEquals(T0 / 1000 + 100, before);
            final StorePoint point = op.equals("incr") || op.equals("decr") || op.equals("ma")
                ? StorePoint.INCR_BUILT : StorePoint.SET_BUILT;
            final Throwable[] failure = new Throwable[1];
            final StoreResult[] result = new StoreResult[1];
            final long[] r = new long[3];
            try (PointPause pause = new PointPause(point)) {
                final Thread paused = PointPause.start(() -> result[0] = switch (op) {
                    case "append" -> store.append(b("k"), b("1"));
                    case "prepend" -> store.prepend(b("k"), b("1"));
                    case "incr" -> store.incr(b("k"), 1, r);
                    case "decr" -> store.decr(b("k"), 1, r);
                    case "ma" -> store.incr(b("k"), 1, SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY, r);
                    default -> store.invalidate(b("k"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY);
                }, failure);
                assertTrue(pause.awaitReached(), "the paused thread reached " + point);
                // Acknowledged while the update is built from what was read before it.
                assertEquals(StoreResult.TOUCHED, other.touch(b("k"), 3600));
                assertEquals(T0 / 1000 + 3600, other.gets(b("k")).expires());
                pause.release();
                paused.join(30_000);
                assertTrue(!paused.isAlive(), "the paused operation finished");
            }
            assertNull(failure[0], () -> "paused operation failed: " + failure[0]);
            assertEquals(StoreResult.STORED, result[0], op);
            final StoreItem item = store.gets(b("k"));
            assertNotNull(item, op);
            // touch then the update, or the update then touch: either way the touched expiry.
            assertEquals(T0 / 1000 + 3600, item.expires(), op + ": the acknowledged touch was undone");
            assertEquals(7, item.flags());
            if (op.equals("ma")) {
                assertEquals(T0 / 1000 + 3600, r[2], "ma reports the expiry it stored");
            }
            assertEquals(List.of(), store.check());
        }
    }
}
