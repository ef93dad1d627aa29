package io.sharena.ipc.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link SharedStore#openOrCreate}: "several processes calling this at once on a new path all end up
 * with the one store". Here threads of one process (each its own attachment) race on new paths.
 */
class OpenOrCreateRaceTest {
    static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16);

    @TempDir
    Path dir;

    @Test
    void racingOpenersOfANewPathAllGetTheOneStore() throws Exception {
        final List<String> failures = new ArrayList<>();
        for (int round = 0; round < 20; round++) {
            final Path file = dir.resolve("race" + round + ".store");
            final int n = 4;
            final CyclicBarrier start = new CyclicBarrier(n);
            final Thread[] threads = new Thread[n];
            for (int i = 0; i < n; i++) {
                threads[i] = new Thread(() -> {
                    try {
                        start.await();
                        try (SharedStore store = SharedStore.openOrCreate(file, OPTIONS)) {
                            store.set("k".getBytes(), "v".getBytes(), 0, 0);
                        }
                    } catch (final Throwable e) {
                        synchronized (failures) {
                            failures.add(file.getFileName() + ": " + e);
                        }
                    }
                });
                threads[i].start();
            }
            for (final Thread t : threads) {
                t.join(60_000);
            }
        }
        assertEquals(List.of(), failures);
    }
}
