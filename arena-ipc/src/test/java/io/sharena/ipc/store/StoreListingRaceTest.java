package io.sharena.ipc.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.sharena.ipc.store.SharedStoreTest.b;
import static io.sharena.ipc.store.SharedStoreTest.s;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Listing a bucket's keys ({@code bucketKeys}: the crawler, metadump, {@code dump --keys}) reads
 * the chain without a lock while writers change it. Each case changes the chain from inside the
 * walk, at the moment the list takes a key, so the interleaving is the same on every run.
 */
class StoreListingRaceTest {
    @TempDir
    Path dir;

    /** Keys of one bucket, {@code n} of them, found by trying names. */
    private static List<byte[]> sameBucket(final SharedStore store, final int n) {
        final int mask = store.keyBuckets() - 1;
        final int bucket = Index.hash(b("k0"), 2) & mask;
        final List<byte[]> keys = new ArrayList<>();
        for (int i = 0; keys.size() < n; i++) {
            final byte[] k = b("k" + i);
            if ((Index.hash(k, k.length) & mask) == bucket) {
                keys.add(k);
            }
        }
        return keys;
    }

    /** A list that runs {@code hook} when it takes its {@code at}-th key. */
    private static List<byte[]> hooked(final int at, final Runnable hook) {
        return new ArrayList<>() {
            @Override
            public boolean add(final byte[] key) {
                final boolean added = super.add(key);
                if (size() == at) {
                    hook.run();
                }
                return added;
            }
        };
    }

    /**
     * A delete behind the walk shortened the chain; the walk's loop check (a second pointer at half
     * the pace, reading links again) took the shorter chain, met the walk on the record after the
     * deleted one, and called a healthy store's chain a loop: "bucket chain does not parse".
     */
    @Test
    void aDeleteBehindTheWalkIsNotALoop() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("a.store"), StoreOptions.defaults().withMemoryLimit(8L << 20))) {
            final List<byte[]> keys = sameBucket(store, 3);
            // New keys go to the chain's head: x -> a -> b.
            for (int i = 2; i >= 0; i--) {
                assertEquals(StoreResult.STORED, store.set(keys.get(i), b("v" + i), 0, 0));
            }
            final int bucket = Index.hash(keys.get(0), keys.get(0).length) & (store.keyBuckets() - 1);
            final List<byte[]> out = hooked(2, () -> assertEquals(StoreResult.DELETED, store.delete(keys.get(1))));
            store.bucketKeys(bucket, out);
            assertEquals(List.of(s(keys.get(0)), s(keys.get(1)), s(keys.get(2))), out.stream().map(SharedStoreTest::s).toList());
        }
    }

    /**
     * Every record after the first deleted while the walk stood on the second: the walk goes on
     * along the deleted records' links (their space not reused), and the half-pace pointer, taking
     * the first record's link again, read 0 and then went on from pointer 0 into the arena's header
     * (a JDK "Misaligned access" or an out-of-bounds read, depending on the capacity).
     */
    @Test
    void aChainEmptiedBehindTheWalkListsWhatTheWalkReached() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("b.store"), StoreOptions.defaults().withMemoryLimit(8L << 20))) {
            final List<byte[]> keys = sameBucket(store, 9);
            for (int i = keys.size() - 1; i >= 0; i--) {
                assertEquals(StoreResult.STORED, store.set(keys.get(i), b("v" + i), 0, 0));
            }
            final int bucket = Index.hash(keys.get(0), keys.get(0).length) & (store.keyBuckets() - 1);
            final List<byte[]> out = hooked(2, () -> {
                for (int i = 1; i < keys.size(); i++) {
                    assertEquals(StoreResult.DELETED, store.delete(keys.get(i)));
                }
            });
            store.bucketKeys(bucket, out);
            assertEquals(keys.stream().map(SharedStoreTest::s).toList(), out.stream().map(SharedStoreTest::s).toList());
            final List<byte[]> after = new ArrayList<>();
            store.bucketKeys(bucket, after);
            assertEquals(List.of(s(keys.get(0))), after.stream().map(SharedStoreTest::s).toList());
        }
    }
}
