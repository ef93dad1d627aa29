package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoints;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StorePausePointTest} for the states {@link StoreCrashShapesTest} kills in: a thread
 * paused at a point reached by commit, append, invalidate, the crawler's reclaim or the tail's
 * second chance (inside reinsert, holding the ring lock and the moving item's stripe lock), while
 * another attachment and another process run conflicting work. Nothing is lost or torn, and the
 * store checks clean with no repair once the paused thread finishes.
 */
class StorePauseShapesTest {
    private static final long SMALL_RING = 1L << 20;
    private static final long LARGE_RING = 32L << 20;
    private static final long SHORT_TIMEOUT_MS = 100;

    @TempDir
    Path dir;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static List<Arguments> shapes() {
        final List<Arguments> all = new ArrayList<>();
        for (final StorePoint p : List.of(StorePoint.SET_BUILT, StorePoint.SET_MARKED_LINKED, StorePoint.SET_LINKED,
            StorePoint.SET_PUBLISHED, StorePoint.SET_OLD_DEAD)) {
            all.add(Arguments.of("append", p, ""));
            all.add(Arguments.of("commit", p, ""));
            all.add(Arguments.of("invalidate", p, ""));
        }
        all.add(Arguments.of("commit", StorePoint.RESERVE_HEAD_ADVANCED, ""));
        all.add(Arguments.of("reclaim", StorePoint.DELETE_UNLINKED, ""));
        all.add(Arguments.of("fill", StorePoint.RESERVE_HEADER_WRITTEN, "reinsert"));
        all.add(Arguments.of("fill", StorePoint.RESERVE_HEAD_ADVANCED, "reinsert"));
        return all;
    }

    private static boolean within(final String method) {
        return method.isEmpty() || StackWalker.getInstance().walk(frames -> frames.anyMatch(
            f -> f.getClassName().startsWith("io.sharena.ipc.store.") && f.getMethodName().equals(method)));
    }

    @ParameterizedTest(name = "{0} at {1} {2}")
    @MethodSource("shapes")
    void pausedOthersRunOnAndTheStoreChecksCleanWithoutRepair(final String op, final StorePoint point,
                                                              final String inside) throws Exception {
        final Path file = dir.resolve("p.store");
        final boolean fill = "fill".equals(op);
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit(fill ? SMALL_RING : LARGE_RING).withMaxItemSize(4096));
             SharedStore other = SharedStore.open(file,
                 StoreOptions.defaults().withLockTimeoutNanos(SHORT_TIMEOUT_MS * 1_000_000))) {
            if (fill) {
                StoreCrashTest.prefill(store);
            }
            store.set(b("k"), Values.make(1), 0, 0);
            store.set(b("n"), b("5"), 0, 0);
            store.set(b("d"), b("x"), 0, 0);
            store.set(b("a"), b("abc"), 0, 0);
            store.set(b("e"), b("gone"), 0, -1);
            final CountDownLatch reached = new CountDownLatch(1);
            final CountDownLatch release = new CountDownLatch(1);
            final AtomicBoolean armed = new AtomicBoolean(true);
            final AtomicBoolean stopFill = new AtomicBoolean();
            final Throwable[] failure = new Throwable[1];
            final StoreResult[] result = new StoreResult[1];
            final long[] mine;
            final String child;
            CrashPoints.install(p -> {
                if (p == point && "paused".equals(Thread.currentThread().getName()) && within(inside)
                    && armed.compareAndSet(true, false)) {
                    reached.countDown();
                    try {
                        release.await();
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final Thread paused = new Thread(() -> {
                try {
                    result[0] = switch (op) {
                        case "append" -> store.append(b("a"), b("+"));
                        case "commit" -> {
                            final byte[] v = Values.make(2);
                            final StoreReservation held = new StoreReservation();
                            assertTrue(store.reserve(b("k"), v.length, 0, 0, held));
                            MemorySegment.copy(v, 0, held.value(), ValueLayout.JAVA_BYTE, 0, v.length);
                            yield store.commit(held, StoreMode.SET, SharedStore.ANY_CAS, false, null);
                        }
                        case "invalidate" -> store.invalidate(b("k"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY);
                        case "reclaim" -> store.reclaimIfStale(b("e")) ? StoreResult.DELETED : StoreResult.NOT_FOUND;
                        default -> {
                            StoreResult last = null;
                            for (int i = 0; !stopFill.get(); i++) {
                                last = store.set(b("f" + i), Values.make(i), 0, 0);
                                assertEquals(StoreResult.STORED, last);
                            }
                            yield last;
                        }
                    };
                } catch (final Throwable e) {
                    failure[0] = e;
                }
            }, "paused");
            try {
                paused.start();
                assertTrue(reached.await(10, TimeUnit.SECONDS), "the paused thread reached " + point.id());
                final long t0 = System.nanoTime();
                final byte[] k = other.get(b("k"));
                assertTrue(k != null && Values.check(k, k.length) == null && (Values.seq(k) == 1 || Values.seq(k) == 2),
                    "k whole, old or new");
                assertTrue(other.reader().get(b("a")));
                assertTrue(System.nanoTime() - t0 < 500_000_000L, "reads waited for the paused writer");
                try (ChildJvm c = StoreChild.start("conflict", file.toString(), "600", Long.toString(SHORT_TIMEOUT_MS))) {
                    mine = StoreChild.conflict(other, 600, "here");
                    child = c.await("conflict done");
                    assertEquals(0, c.waitFor(60), c.output().toString());
                }
            } finally {
                release.countDown();
                stopFill.set(true);
                paused.join(30_000);
                CrashPoints.install(null);
            }
            assertTrue(!paused.isAlive(), "the paused operation finished");
            assertNull(failure[0], () -> "paused operation failed: " + failure[0]);
            final long[] theirs = parse(child);
            assertEquals(0, mine[2], "bad results or values here");
            assertEquals(0, theirs[2], "bad results or values in the other process: " + child);
            assertEquals(Long.toString(5 + mine[0] + theirs[0]), new String(store.get(b("n")), StandardCharsets.US_ASCII));
            if (!fill) {
                final int appended = "append".equals(op) && result[0] == StoreResult.STORED ? 1 : 0;
                assertArrayEquals(b("abc" + "+".repeat((int) (mine[1] + theirs[1]) + appended)), store.get(b("a")));
            }
            if ("reclaim".equals(op)) {
                assertEquals(StoreResult.DELETED, result[0]);
            }
            final byte[] k = store.get(b("k"));
            assertTrue(k == null || Values.check(k, k.length) == null);
            assertEquals(List.of(), store.check());
            assertEquals(List.of(), StoreTools.check(store.arena(), SharedStore.DEFAULT_ROOT));
            assertEquals(-1L, StoreTools.stats(store.arena(), SharedStore.DEFAULT_ROOT).get("ring_lock_slot"));
        }
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
