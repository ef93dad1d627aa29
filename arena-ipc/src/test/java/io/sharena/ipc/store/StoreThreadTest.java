package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoints;
import io.sharena.ipc.PointPause;
import io.sharena.ipc.layout.ItemLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Threads of one process: no lost update, no torn read, readers never wait for a writer. */
class StoreThreadTest {
    @TempDir
    Path dir;

    @AfterEach
    void noHook() {
        CrashPoints.install(null);
    }

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void threadsIncrementingOneCounterLoseNothing() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("c.store"), StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(4096))) {
            store.set(b("n"), b("0"), 0, 0);
            final int threads = 4;
            final int each = 5_000;
            final List<Thread> ts = new ArrayList<>();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int t = 0; t < threads; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        final long[] r = new long[1];
                        for (int i = 0; i < each; i++) {
                            assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
                        }
                    } catch (final Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (final Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(Integer.toString(threads * each), new String(store.get(b("n")), StandardCharsets.US_ASCII));
            assertEquals(threads * each, store.stats().get("incr_hits"));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Writers replace values of a few keys with self-describing values (length, fill byte, both
     * derived from a sequence number) in a small store, so the ring is reused under the readers
     * thousands of times; readers (copying and zero-copy) check every value they get is whole.
     */
    @Test
    void readersNeverSeeATornValueWhileTheRingIsReusedUnderThem() throws Exception {
        final long seed = System.nanoTime();
        try (SharedStore store = SharedStore.create(dir.resolve("t.store"),
            StoreOptions.defaults().withMemoryLimit(256L << 10).withMaxItemSize(4096))) {
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<String> torn = new AtomicReference<>();
            // Per reader: the copying one alone passing the floor would leave the zero-copy one unchecked.
            final AtomicLong[] reads = {new AtomicLong(), new AtomicLong()};
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final List<Thread> ts = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                final int id = w;
                ts.add(Thread.ofPlatform().start(() -> {
                    final SplittableRandom rnd = new SplittableRandom(seed + id);
                    int seq = 0;
                    try {
                        while (!stop.get()) {
                            seq++;
                            final byte[] v = Values.make(seq * 2 + id);
                            store.set(b("k" + rnd.nextInt(8)), v, seq, 0);
                            store.set(b("filler" + rnd.nextInt(1000)), v, 0, 0);
                        }
                    } catch (final Throwable e) {
                        // A writer that dies would otherwise go unseen (the readers just see older values).
                        failure.compareAndSet(null, e);
                        stop.set(true);
                    }
                }));
            }
            for (int r = 0; r < 2; r++) {
                final boolean zeroCopy = r == 1;
                ts.add(Thread.ofPlatform().start(() -> {
                    final StoreReader reader = store.reader();
                    final SplittableRandom rnd = new SplittableRandom(seed ^ 77);
                    try {
                        readUntilStopped(store, reader, rnd, zeroCopy, stop, torn, reads[zeroCopy ? 1 : 0]);
                    } catch (final Throwable e) {
                        failure.compareAndSet(null, e);
                        stop.set(true);
                    }
                }));
            }
            Thread.sleep(3_000);
            stop.set(true);
            for (final Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a thread failed: seed=" + seed, failure.get());
            }
            assertNull(torn.get(), "seed=" + seed);
            assertTrue(reads[0].get() > 1000, "copying reads checked: " + reads[0].get());
            assertTrue(reads[1].get() > 1000, "zero-copy reads validated and checked: " + reads[1].get());
            assertTrue(store.stats().get("evictions") > 1000, store.stats().toString());
            assertEquals(List.of(), store.check());
        }
    }

    private static void readUntilStopped(final SharedStore store, final StoreReader reader, final SplittableRandom rnd,
                                         final boolean zeroCopy, final AtomicBoolean stop,
                                         final AtomicReference<String> torn, final AtomicLong reads) {
        while (!stop.get()) {
            final byte[] key = b("k" + rnd.nextInt(8));
            if (zeroCopy) {
                if (reader.get(key)) {
                    final int len = reader.valueLength();
                    final byte[] copy = reader.value().toArray(ValueLayout.JAVA_BYTE);
                    if (reader.validate()) {
                        final String bad = Values.check(copy, len);
                        if (bad != null) {
                            torn.compareAndSet(null, "zero-copy: " + bad);
                        }
                        reads.incrementAndGet();
                    }
                }
            } else {
                final byte[] v = store.get(key);
                if (v != null) {
                    final String bad = Values.check(v, v.length);
                    if (bad != null) {
                        torn.compareAndSet(null, "copy: " + bad);
                    }
                    reads.incrementAndGet();
                }
            }
        }
    }

    /**
     * A writer that replaced an item and marked the old record DEAD still holds the stripe lock
     * while it updates the stripe's byte count; the old record is no longer protected by that lock
     * (the tail passes DEAD records without it), so its space can be reused meanwhile. Here the
     * writer stops at exactly that step while other keys fill the ring past the old record's place:
     * its header then holds another record's size, and the counts must still match the chains.
     */
    @Test
    void aReplacedRecordsSpaceReusedBeforeItsWriterCountsItLeavesTheCountsRight() throws Exception {
        final long ring = 256L << 10;
        try (SharedStore store = SharedStore.create(dir.resolve("r.store"),
            StoreOptions.defaults().withMemoryLimit(ring).withMaxItemSize(4096))) {
            final byte[] key = b("a");
            final int stripe = stripeOf(key);
            // The old record first, at the ring's start: the place the head reaches again after one lap.
            assertEquals(StoreResult.STORED, store.set(key, filled(1000, 1), 0, 0));
            final long oldSize = ItemLayout.recordSize(key.length, 1000);
            final int[] next = {0};
            long written = oldSize;
            // Room between the old record and its replacement, so that the tail can pass the old one
            // and the head lap onto it before the tail reaches the replacement (whose stripe is locked).
            while (written < (32L << 10)) {
                written += setFiller(store, stripe, next);
            }
            final Throwable[] failure = new Throwable[1];
            final Thread paused;
            try (PointPause pause = new PointPause(StorePoint.SET_OLD_DEAD)) {
                paused = PointPause.start(
                    () -> assertEquals(StoreResult.STORED, store.set(key, filled(2000, 2), 0, 0)), failure);
                assertTrue(pause.awaitReached(), "the writer reached " + StorePoint.SET_OLD_DEAD.id());
                written += ItemLayout.recordSize(key.length, 2000);
                // One lap and a little more: the old record's header is overwritten by a filler's.
                while (written < ring + (4L << 10)) {
                    written += setFiller(store, stripe, next);
                }
                pause.release();
                paused.join(10_000);
            }
            assertNull(failure[0], () -> "the paused writer failed: " + failure[0]);
            assertEquals("2", Byte.toString(store.get(key)[0]));
            assertEquals(List.of(), store.check());
        }
    }

    private static int stripeOf(final byte[] key) {
        return Index.hash(key, key.length) & (StoreOptions.STRIPES - 1);
    }

    private static byte[] filled(final int len, final int fill) {
        final byte[] v = new byte[len];
        Arrays.fill(v, (byte) fill);
        return v;
    }

    /** Stores the next filler key outside {@code lockedStripe}; @return its record's size */
    private static long setFiller(final SharedStore store, final int lockedStripe, final int[] next) {
        byte[] key;
        do {
            key = b("filler" + next[0]++);
        } while (stripeOf(key) == lockedStripe);
        assertEquals(StoreResult.STORED, store.set(key, filled(500, 0x5A), 0, 0), "filler " + (next[0] - 1));
        return ItemLayout.recordSize(key.length, 500);
    }

    @Test
    void aReaderIsNotHeldUpByAWriterStoppedInsideItsStripeLock() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("p.store"), StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(4096))) {
            store.set(b("k"), b("old"), 0, 0);
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch release = new CountDownLatch(1);
            final Thread writerThread = Thread.ofPlatform().unstarted(() -> store.set(b("k"), b("new"), 0, 0));
            CrashPoints.install(point -> {
                if (point == StorePoint.SET_LINKED && Thread.currentThread() == writerThread) {
                    paused.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            writerThread.start();
            assertTrue(paused.await(10, TimeUnit.SECONDS));
            assertEquals("old", new String(store.get(b("k")), StandardCharsets.UTF_8), "old value, without waiting");
            assertTrue(store.reader().get(b("k")));
            release.countDown();
            writerThread.join();
            assertEquals("new", new String(store.get(b("k")), StandardCharsets.UTF_8));
            assertEquals(List.of(), store.check());
        }
    }
}
