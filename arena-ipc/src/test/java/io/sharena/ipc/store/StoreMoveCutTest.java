package io.sharena.ipc.store;

import io.sharena.ipc.layout.ItemLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.sharena.ipc.store.SharedStoreTest.b;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A write whose room lies far behind a run of live items it must move (moving gains no room) is
 * cut once it has moved for its time ({@link Ring#MOVES_UNTIMED}, then a sixteenth of the lock
 * timeout) and refused; the next write goes on from the tail it left, and no item is lost. Before,
 * one write moved up to a lap of items under the ring lock (a second and more of small items in a
 * store with evictions off: other writers timed out). The lock timeout here is a few microseconds,
 * so every write that moves more than {@code MOVES_UNTIMED} items is cut at its first look at the
 * clock, and the counts are exact.
 */
class StoreMoveCutTest {
    @TempDir
    Path dir;

    private static final long MEMORY = 8L << 20;
    /** A sixteenth of it is 1 µs: less than {@code MOVES_PER_LOOK} moves take anywhere. */
    private static final long TIMEOUT_NANOS = 16_000;

    private static StoreOptions options(final boolean evictions) {
        return StoreOptions.defaults().withMemoryLimit(MEMORY).withEvictions(evictions).withLockTimeoutNanos(TIMEOUT_NANOS);
    }

    private static byte[] key(final int i) {
        return b(String.format("key:%08d", i));
    }

    private static int missing(final SharedStore store, final int from, final int to) {
        int missing = 0;
        for (int i = from; i < to; i++) {
            if (store.get(key(i)) == null) {
                missing++;
            }
        }
        return missing;
    }

    /**
     * Sets {@code key} until it is stored, each refusal a cut one (nothing else refuses here).
     *
     * @return the refusals before it was stored
     */
    private static int setUntilStored(final SharedStore store, final byte[] key, final byte[] v) {
        int cut = 0;
        while (true) {
            final long cutBefore = store.stats().get("moves_cut");
            final long movedBefore = store.stats().get("reinserted");
            final StoreResult r = store.set(key, v, 0, 0);
            if (r == StoreResult.STORED) {
                return cut;
            }
            assertEquals(StoreResult.NO_MEMORY, r);
            assertEquals(cutBefore + 1, store.stats().get("moves_cut"), "a refusal that is not a cut one");
            final long moved = store.stats().get("reinserted") - movedBefore;
            assertTrue(moved >= Ring.MOVES_UNTIMED && moved <= Ring.MOVES_UNTIMED + 256,
                "a cut write moved " + moved + " items");
            cut++;
            assertTrue(cut < 100, "never stored");
        }
    }

    /** Evictions off, the store full, its newest twentieth deleted: the room is a lap from the tail. */
    @Test
    void withoutEvictionsAWriteMovingALapIsCutAndTheNextOnesGoOn() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("lap.store"), options(false))) {
            final byte[] v = new byte[100];
            int n = 0;
            while (store.set(key(n), v, 0, 0) == StoreResult.STORED) {
                n++;
            }
            final long cutByFull = store.stats().get("moves_cut");
            assertEquals(0L, cutByFull, "a full store's refusal is not a cut one");
            for (int i = n - n / 20; i < n; i++) {
                assertEquals(StoreResult.DELETED, store.delete(key(i)));
            }
            final int kept = n - n / 20;
            // About 95 % of n items lie between the tail and the room: several cut writes, then stored.
            final int cut = setUntilStored(store, b("new"), v);
            assertTrue(cut >= kept / (Ring.MOVES_UNTIMED + 256) - 1, cut + " cut writes for " + kept + " items to move");
            assertNotNull(store.get(b("new")));
            // The items moved stay moved: the writes after take the room at once.
            for (int i = 0; i < n / 40; i++) {
                assertEquals(StoreResult.STORED, store.set(b("after" + i), v, 0, 0), "set " + i);
            }
            assertEquals(0, missing(store, 0, kept));
            assertEquals(0L, store.stats().get("evictions"));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Evictions on, the store roomy (40 % live) with its free space past every live item: the
     * tail moves cold items while the store is roomy, so the first write met all of them. Cut the
     * same way, and no item is evicted for it.
     */
    @Test
    void aRoomyStoreWhoseRoomLiesPastItsItemsCutsTheMovesAndEvictsNothing() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("roomy.store"), options(true))) {
            final byte[] v = new byte[100];
            final long record = ItemLayout.recordSize(key(0).length, v.length);
            final int live = (int) (MEMORY * 40 / 100 / record);
            for (int i = 0; i < live; i++) {
                assertEquals(StoreResult.STORED, store.set(key(i), v, 0, 0));
            }
            // The rest of the ring: written and deleted, dead records between the items and the head.
            for (int i = 0; i < MEMORY * 50 / 100 / record; i++) {
                assertEquals(StoreResult.STORED, store.set(key(-1 - i), v, 0, 0));
                assertEquals(StoreResult.DELETED, store.delete(key(-1 - i)));
            }
            int stored = 0;
            int cut = 0;
            while (store.stats().get("reinserted") < live) {
                cut += setUntilStored(store, b("new" + stored), v);
                stored++;
            }
            assertTrue(cut >= 2, cut + " cut writes for " + live + " items moved");
            assertEquals(0, missing(store, 0, live));
            assertEquals(0L, store.stats().get("evictions"));
            assertEquals(List.of(), store.check());
        }
    }
}
