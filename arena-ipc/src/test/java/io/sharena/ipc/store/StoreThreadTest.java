package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoints;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
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
            final AtomicLong reads = new AtomicLong();
            final List<Thread> ts = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                final int id = w;
                ts.add(Thread.ofPlatform().start(() -> {
                    final SplittableRandom rnd = new SplittableRandom(seed + id);
                    int seq = 0;
                    while (!stop.get()) {
                        seq++;
                        final byte[] v = Values.make(seq * 2 + id);
                        store.set(b("k" + rnd.nextInt(8)), v, seq, 0);
                        store.set(b("filler" + rnd.nextInt(1000)), v, 0, 0);
                    }
                }));
            }
            for (int r = 0; r < 2; r++) {
                final boolean zeroCopy = r == 1;
                ts.add(Thread.ofPlatform().start(() -> {
                    final StoreReader reader = store.reader();
                    final SplittableRandom rnd = new SplittableRandom(seed ^ 77);
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
                }));
            }
            Thread.sleep(3_000);
            stop.set(true);
            for (final Thread t : ts) {
                t.join();
            }
            assertNull(torn.get(), "seed=" + seed);
            assertTrue(reads.get() > 1000, "reads=" + reads.get());
            assertTrue(store.stats().get("evictions") > 1000, store.stats().toString());
            assertEquals(List.of(), store.check());
        }
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
