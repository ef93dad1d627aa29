package io.sharena.ipc.store;

import io.sharena.ipc.PointPause;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A thread paused at each crash point of the store, holding whatever it holds there (a stripe
 * lock, the ring lock, a half-published record), while another thread (through its own
 * attachment) and another process run conflicting store work on the same keys, each operation
 * bounded by a short lock timeout. Readers never wait; nothing is lost (the counter n ends at
 * exactly 5 plus every STORED incr of all three); the paused thread then finishes, and the store
 * checks clean with no repair at all.
 */
class StorePausePointTest {
    /** Eviction's points need a full ring, quickly filled; the others room for the conflicting writes. */
    private static final long SMALL_RING = 1L << 20;
    private static final long LARGE_RING = 32L << 20;
    /**
     * A paused flush holds nothing (no lock, no reservation), so the conflicting writers run at full
     * speed for their 600 ms: a ring they cannot go round, so that nothing the test counts (the
     * appends to a) is evicted.
     */
    private static final long FLUSH_RING = 512L << 20;
    private static final long SHORT_TIMEOUT_MS = 100;

    @TempDir
    Path dir;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(StorePoint.class)
    void pausedAtEachPointOthersRunOnAndTheStoreChecksCleanWithoutRepair(final StorePoint point) throws Exception {
        final Path file = dir.resolve("p.store");
        final String op = StoreCrashTest.op(point);
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit("fill".equals(op) ? SMALL_RING : "flush".equals(op) ? FLUSH_RING
                : LARGE_RING).withMaxItemSize(4096));
             SharedStore other = SharedStore.open(file,
                 StoreOptions.defaults().withLockTimeoutNanos(SHORT_TIMEOUT_MS * 1_000_000))) {
            if ("fill".equals(op)) {
                StoreCrashTest.prefill(store);
            }
            store.set(b("k"), Values.make(1), 0, 0);
            store.set(b("n"), b("5"), 0, 0);
            store.set(b("d"), b("x"), 0, 0);
            store.set(b("a"), b("abc"), 0, 0);
            final long[] pausedIncrs = new long[1];
            final AtomicBoolean stopFill = new AtomicBoolean();
            final AtomicLong filled = new AtomicLong();
            final String atPause;
            final Throwable[] failure = new Throwable[1];
            final Thread paused;
            final long[] mine;
            final String child;
            try (PointPause pause = new PointPause(point)) {
                paused = PointPause.start(() -> {
                    final long[] r = new long[1];
                    switch (op) {
                        case "set" -> assertEquals(StoreResult.STORED, store.set(b("k"), Values.make(2), 0, 0));
                        case "incr" -> {
                            assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
                            pausedIncrs[0] = 1;
                        }
                        case "delete" -> store.delete(b("d"));
                        case "flush" -> store.flushAll(0);
                        case "hole" -> {
                            StoreCrashTest.leaveHole(store);
                            assertEquals(StoreResult.STORED, store.set(b("k"), Values.make(2), 0, 0));
                        }
                        default -> {
                            for (int i = 0; !stopFill.get(); i++) {
                                assertEquals(StoreResult.STORED, store.set(b("f" + i), Values.make(i), 0, 0));
                                filled.incrementAndGet();
                            }
                        }
                    }
                }, failure);
                assertTrue(pause.awaitReached(), "the paused thread reached " + point.id());
                atPause = progress(store, filled);

                // Readers do not wait for the paused writer, and see old or new, whole.
                final long t0 = System.nanoTime();
                if ("flush".equals(op)) {
                    // The watermark is raised: every item is flushed already, while the flush waits.
                    StoreCrashTest.flushedThenSetAgain(other);
                }
                final byte[] k = other.get(b("k"));
                assertTrue(k != null && Values.check(k, k.length) == null && (Values.seq(k) == 1 || Values.seq(k) == 2),
                    "k whole, old or new");
                final String n = new String(other.get(b("n")), StandardCharsets.US_ASCII);
                assertTrue(n.equals("5") || n.equals("6"), "n=" + n);
                final byte[] d = other.get(b("d"));
                assertTrue(d == null || "x".equals(new String(d, StandardCharsets.US_ASCII)));
                assertTrue(other.reader().get(b("a")));
                assertTrue(System.nanoTime() - t0 < 500_000_000L, "reads waited for the paused writer");
                if (point == StorePoint.SET_LINKED) {
                    // touch and get-and-touch answer BUSY alike when the key's lock stays held; a
                    // caller can still read the item without a lock.
                    final StoreItem[] item = new StoreItem[1];
                    assertEquals(StoreResult.BUSY, other.touch(b("k"), 100));
                    assertEquals(StoreResult.BUSY, other.getAndTouch(b("k"), 100, item));
                    assertNull(item[0]);
                    assertTrue(other.gets(b("k")) != null);
                }
                if (point == StorePoint.RESERVE_HEADER_WRITTEN || point == StorePoint.RESERVE_HEAD_ADVANCED
                    || "hole".equals(op)) {
                    // The paused writer holds the ring's lock: a write of any key is told BUSY once
                    // the timeout passes (it used to say NO_MEMORY, as if the cache were full).
                    assertEquals(StoreResult.BUSY, other.set(b("z"), b("1"), 0, 0));
                    assertEquals(StoreResult.BUSY, other.incr(b("n"), 1, new long[1]));
                }

                // Conflicting work, here and in another process, while the point is held.
                try (ChildJvm c = StoreChild.start("conflict", file.toString(), "600", Long.toString(SHORT_TIMEOUT_MS))) {
                    mine = StoreChild.conflict(other, 600, "here");
                    child = c.await("conflict done");
                    assertEquals(0, c.waitFor(60), c.output().toString());
                }
                pause.release();
                stopFill.set(true);
                paused.join(30_000);
            }
            assertTrue(!paused.isAlive(), "the paused operation finished");
            assertNull(failure[0], () -> "paused operation failed: " + failure[0]);
            final long[] theirs = parse(child);
            assertTrue(mine[3] > 0 && theirs[3] > 0, "both did conflicting work: here " + mine[3] + ", " + child);
            assertEquals(0, mine[2], "bad results or values here");
            assertEquals(0, theirs[2], "bad results or values in the other process: " + child);

            // Nothing lost: every STORED incr and append is there. What the fill did before the pause
            // and by the end tells a lap of the tail (the pause missed) from a lost item.
            final byte[] n = store.get(b("n"));
            final String says = "at the pause: " + atPause + "; at the end: " + progress(store, filled)
                + "; here " + Arrays.toString(mine) + ", " + child;
            assertTrue(n != null, () -> "n is gone; " + says);
            assertEquals(Long.toString(5 + pausedIncrs[0] + mine[0] + theirs[0]),
                new String(n, StandardCharsets.US_ASCII), says);
            if (!"fill".equals(op)) {
                assertArrayEquals(b("abc" + "+".repeat((int) (mine[1] + theirs[1]))), store.get(b("a")));
            }
            final byte[] k = store.get(b("k"));
            assertTrue(k == null || Values.check(k, k.length) == null);
            // Clean with no repair: nothing is left held or half-done.
            assertEquals(List.of(), store.check());
            assertEquals(List.of(), StoreTools.check(store.arena(), SharedStore.DEFAULT_ROOT));
            assertEquals(-1L, StoreTools.stats(store.arena(), SharedStore.DEFAULT_ROOT).get("ring_lock_slot"));
        }
    }

    /** @return the fill thread's sets and the store's eviction figures, for a failure's message */
    private static String progress(final SharedStore store, final AtomicLong filled) {
        final var stats = store.stats();
        return "fill sets=" + filled.get() + " evictions=" + stats.get("evictions") + " reinserted="
            + stats.get("reinserted") + " incr_hits=" + stats.get("incr_hits") + " cmd_set=" + stats.get("cmd_set");
    }

    private static long[] parse(final String line) {
        final String[] f = line.split(" ");
        final long[] c = new long[4];
        for (int i = 0; i < 4; i++) {
            c[i] = Long.parseLong(f[2 + i].substring(f[2 + i].indexOf('=') + 1));
        }
        return c;
    }
}
