package io.sharena.ipc.store;

import io.sharena.ipc.layout.ItemLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.sharena.ipc.store.SharedStoreTest.b;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A write whose room lies far behind a run of live items it must move (moving gains no room) takes
 * the ring lock in turns: a turn that has moved for its time ({@link Ring#MOVES_UNTIMED} moves,
 * then {@code moveNanos}) gives the lock up, and the write goes on after the writers waiting, from
 * the tail as they left it, until the lock timeout has passed since its first cut turn. Before,
 * one write moved up to a lap of items under the ring lock (a second and more of small items with
 * evictions off: other writers timed out). Here {@code moveNanos} is a microsecond, so every turn
 * that makes more than {@code MOVES_UNTIMED} moves is cut at its first look at the clock.
 */
class StoreMoveCutTest {
    @TempDir
    Path dir;

    private static final long MEMORY = 8L << 20;
    private static final byte[] VALUE = new byte[100];

    private static SharedStore open(final Path file, final StoreOptions options) throws Exception {
        final SharedStore store = SharedStore.create(file, options);
        store.ring.moveNanos(1_000);
        return store;
    }

    private static StoreOptions options(final boolean evictions) {
        return StoreOptions.defaults().withMemoryLimit(MEMORY).withEvictions(evictions);
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

    /** Evictions off, full, its newest twentieth deleted: @return how many items are kept, key(0) on */
    private static int fullWithTheRoomALapAway(final SharedStore store) {
        int n = 0;
        while (store.set(key(n), VALUE, 0, 0) == StoreResult.STORED) {
            n++;
        }
        for (int i = n - n / 20; i < n; i++) {
            assertEquals(StoreResult.DELETED, store.delete(key(i)));
        }
        return n - n / 20;
    }

    @Test
    void withoutEvictionsAWriteMovingALapTakesTurnsAndIsStored() throws Exception {
        try (SharedStore store = open(dir.resolve("lap.store"), options(false))) {
            final int kept = fullWithTheRoomALapAway(store);
            final long refusedBefore = store.stats().get("outofmemory");
            assertEquals(StoreResult.STORED, store.set(b("new"), VALUE, 0, 0));
            final long turns = store.stats().get("moves_cut");
            assertTrue(turns >= kept / (Ring.MOVES_UNTIMED + 256) - 1, turns + " cut turns for " + kept + " items to move");
            assertEquals(refusedBefore, store.stats().get("outofmemory"), "refused while turns were left");
            // The items moved stay moved: the writes after take the room at once.
            for (int i = 0; i < kept / 40; i++) {
                assertEquals(StoreResult.STORED, store.set(b("after" + i), VALUE, 0, 0), "set " + i);
            }
            assertEquals(turns, store.stats().get("moves_cut"));
            assertNotNull(store.get(b("new")));
            assertEquals(0, missing(store, 0, kept));
            assertEquals(0L, store.stats().get("evictions"));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Evictions on, the store roomy (40 % live) with its dead records past every live item: the
     * tail moves cold items while the store is roomy, so the first write past the ring's end met
     * all of them. It takes turns the same way, is stored, and evicts nothing (a cut turn that
     * refused the write answered NO_MEMORY a dozen times a lap in a 256 MiB store: a review).
     */
    @Test
    void aRoomyStoreWhoseRoomLiesPastItsItemsTakesTurnsAndEvictsNothing() throws Exception {
        try (SharedStore store = open(dir.resolve("roomy.store"), options(true))) {
            final long record = ItemLayout.recordSize(key(0).length, VALUE.length);
            final int live = (int) (MEMORY * 40 / 100 / record);
            for (int i = 0; i < live; i++) {
                assertEquals(StoreResult.STORED, store.set(key(i), VALUE, 0, 0));
            }
            for (int i = 0; i < MEMORY * 50 / 100 / record; i++) {
                assertEquals(StoreResult.STORED, store.set(key(-1 - i), VALUE, 0, 0));
                assertEquals(StoreResult.DELETED, store.delete(key(-1 - i)));
            }
            for (int i = 0; store.stats().get("reinserted") < live; i++) {
                assertEquals(StoreResult.STORED, store.set(b("new" + i), VALUE, 0, 0), "set " + i);
            }
            assertTrue(store.stats().get("moves_cut") >= 2, store.stats().get("moves_cut") + " cut turns");
            assertEquals(0L, store.stats().get("outofmemory"));
            assertEquals(0, missing(store, 0, live));
            assertEquals(0L, store.stats().get("evictions"));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Turns end with the lock timeout: counted from the first cut one, here 16 µs, so the second cut
     * turn (after a pause of 200 µs) refuses the write. What it moved stays moved: the writes after
     * go on from there until one is stored, and nothing is lost.
     */
    @Test
    void aWriteWhoseTurnsOutlastTheLockTimeoutIsRefusedAndTheNextGoOn() throws Exception {
        try (SharedStore store = open(dir.resolve("timeout.store"), options(false).withLockTimeoutNanos(16_000))) {
            final int kept = fullWithTheRoomALapAway(store);
            int refused = 0;
            while (true) {
                final long turns = store.stats().get("moves_cut");
                final long moved = store.stats().get("reinserted");
                final StoreResult r = store.set(b("new"), VALUE, 0, 0);
                if (r == StoreResult.STORED) {
                    break;
                }
                assertEquals(StoreResult.NO_MEMORY, r);
                assertEquals(turns + 2, store.stats().get("moves_cut"), "a refusal after two cut turns");
                final long m = store.stats().get("reinserted") - moved;
                assertTrue(m >= 2 * Ring.MOVES_UNTIMED && m <= 2 * (Ring.MOVES_UNTIMED + 256), "a refused write moved " + m);
                refused++;
                assertTrue(refused < 100, "never stored");
            }
            assertTrue(refused >= kept / (2 * (Ring.MOVES_UNTIMED + 256)) - 1, refused + " refusals for " + kept + " items");
            assertEquals(0, missing(store, 0, kept));
            assertEquals(0L, store.stats().get("evictions"));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * A child JVM with a lock timeout of 200 ms writes while this process's write moves a lap of a
     * 128 MiB store (600 to 900 ms of moves here): it gets the ring lock between this process's turns
     * and takes turns of its own, never waiting out its timeout (BUSY). Before the turns this
     * process held the lock for the whole lap, and the child's writes timed out. (With 100 ms and
     * 64 MiB, a child descheduled through five of this process's pauses on a loaded 2-core machine
     * could wait its timeout out: ten in a row is what it takes now.)
     */
    @Test
    void anotherProcessWritesBetweenTheTurns() throws Exception {
        final Path file = dir.resolve("process.store");
        // This process's own write may take its turns for 10 s before it is refused: its lap takes
        // 600 to 900 ms here, more than the default second on a loaded machine (a CI run beside
        // another saw it refused).
        try (SharedStore store = open(file, options(false).withMemoryLimit(128L << 20).withLockTimeoutNanos(10_000_000_000L))) {
            final int kept = fullWithTheRoomALapAway(store);
            try (ChildJvm child = StoreChild.start(List.of("-Dstorechild.evictions=false"),
                "turns", file.toString(), "200", "200")) {
                child.await("opened");
                child.send("go");
                assertEquals(StoreResult.STORED, store.set(b("new"), VALUE, 0, 0));
                final String done = child.await("turns done");
                assertEquals("turns done busy=0", done.substring(0, done.indexOf(" refused")), done);
                assertEquals(0, child.waitFor(60));
            }
            assertTrue(store.stats().get("moves_cut") > 0);
            for (int i = 0; i < 200; i++) {
                assertNotNull(store.get(b("c" + i)), "c" + i);
            }
            assertEquals(0, missing(store, 0, kept));
            assertEquals(List.of(), store.check());
        }
    }

    /** Two threads writing through one lap of moves, each in turns: every write stored, nothing lost. */
    @Test
    void twoWritersTakeTurnsThroughALap() throws Exception {
        try (SharedStore store = open(dir.resolve("two.store"), options(false))) {
            final int kept = fullWithTheRoomALapAway(store);
            final ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                final List<Future<List<StoreResult>>> results = new ArrayList<>();
                for (final String prefix : new String[] {"a", "b"}) {
                    results.add(pool.submit(() -> {
                        final List<StoreResult> got = new ArrayList<>();
                        for (int i = 0; i < kept / 100; i++) {
                            got.add(store.set(b(prefix + i), VALUE, 0, 0));
                        }
                        return got;
                    }));
                }
                for (final Future<List<StoreResult>> f : results) {
                    for (final StoreResult r : f.get()) {
                        assertEquals(StoreResult.STORED, r);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            assertTrue(store.stats().get("moves_cut") > 0);
            assertEquals(0, missing(store, 0, kept));
            assertEquals(List.of(), store.check());
        }
    }
}
