package io.sharena.ipc.store;

import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A large reservation given up ({@link SharedStore#abandon}: a server's client that declared a
 * value and hung up, or a slow one whose value moved to the heap) leaves a hole that the next
 * reservations fill, instead of taking the same bytes again at the head and pushing live items out.
 */
class StoreHoleTest {
    static final long RING = 4L << 20;
    static final int BIG = 200 << 10;

    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private SharedStore create() throws IOException {
        return create(dir.resolve("h.store"));
    }

    static SharedStore create(final Path file) throws IOException {
        return SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(BIG));
    }

    @Test
    void theNextReservationOfTheSameSizeTakesTheRecordGivenUp() throws IOException {
        try (SharedStore store = create()) {
            final StoreReservation r = new StoreReservation();
            assertTrue(store.reserve(b("big"), BIG, 0, 0, r));
            final long first = r.value().address();
            store.set(b("after"), b("v"), 0, 0); // the hole is no longer at the head
            store.abandon(r);
            assertTrue(store.reserve(b("big"), BIG, 0, 0, r));
            assertEquals(first, r.value().address(), "placed where the reservation given up was");
            r.value().fill((byte) 7);
            assertEquals(StoreResult.STORED, store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, null));
            final byte[] v = store.get(b("big"));
            assertEquals(BIG, v.length);
            assertTrue(v[0] == 7 && v[BIG / 2] == 7 && v[BIG - 1] == 7, "the value written in place");
            assertArrayEquals(b("v"), store.get(b("after")));
            assertEquals(1L, store.stats().get("holes_filled"));
            assertEquals(List.of(), store.check());
        }
    }

    @Test
    void largeValuesGivenUpOverAndOverAmongSmallWritesEvictNothing() throws IOException {
        try (SharedStore store = create()) {
            // Two thirds of the ring in live items (records of 96 to 144 bytes): more than the
            // share below which the tail moves cold items to the head rather than evict them.
            final int items = 24_000;
            for (int i = 0; i < items; i++) {
                assertEquals(StoreResult.STORED, store.set(b("item" + i), Values.make(i % 50), 0, 0));
            }
            final StoreReservation r = new StoreReservation();
            final int rounds = 2_000; // 400 MB of declared values through a 4 MiB ring
            for (int i = 0; i < rounds; i++) {
                assertTrue(store.reserve(b("big"), BIG, 0, 0, r), "round " + i);
                r.value().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, i); // a start of the value came
                assertEquals(StoreResult.STORED, store.set(b("small" + (i % 100)), Values.make(i % 50), 0, 0));
                store.abandon(r);
            }
            final Map<String, Long> st = store.stats();
            assertEquals(0L, st.get("evictions"), st.toString());
            assertEquals(0L, st.get("reinserted"), st.toString());
            assertTrue(st.get("ring_head") < RING, "the head never went round: " + st);
            assertTrue(st.get("holes_filled") >= rounds - 1, st.toString());
            for (int i = 0; i < items; i++) {
                assertArrayEquals(Values.make(i % 50), store.get(b("item" + i)), "item" + i);
            }
            assertEquals(List.of(), store.check());
        }
    }

    @Test
    void smallWritesFillAHolePieceByPieceAndTheRestIsPassedWhole() throws IOException {
        try (SharedStore store = create()) {
            final StoreReservation r = new StoreReservation();
            assertTrue(store.reserve(b("big"), BIG, 0, 0, r));
            store.set(b("after"), b("v"), 0, 0);
            store.abandon(r);
            // Small records are carved from the hole's start while its rest stays a hole.
            for (int i = 0; i < 100; i++) {
                assertEquals(StoreResult.STORED, store.set(b("s" + i), Values.make(i), 0, 0));
            }
            assertTrue(store.stats().get("holes_filled") >= 100);
            assertEquals(List.of(), store.check());
            // Round the ring three times: the tail passes the pieces and the PAD left of the hole.
            for (int i = 0; i < 3 * RING / 1000; i++) {
                assertEquals(StoreResult.STORED, store.set(b("f" + i), Values.make(i), 0, 0));
            }
            assertEquals(List.of(), store.check());
            assertTrue(store.reserve(b("big"), BIG, 0, 0, r));
            store.abandon(r);
            for (int i = 3 * (int) (RING / 1000) - 100; i < 3 * RING / 1000; i++) {
                assertArrayEquals(Values.make(i), store.get(b("f" + i)), "f" + i);
            }
            assertEquals(List.of(), store.check());
        }
    }

    /** @return the arena pointer of the record reserved for key "big" */
    private static int recordOf(final SharedStore store, final StoreReservation r) {
        return (int) (r.value().address() - store.arena().raw().segment().address()) - ItemLayout.KEY - 3;
    }

    /** @return the ring position of the record reserved for key "big" */
    private static long positionOf(final SharedStore store, final StoreReservation r) {
        return store.arena().raw().getLong(recordOf(store, r) + ItemLayout.POS);
    }

    /** Fills a store of {@link #RING} until its tail evicts, with records of 96 to 144 bytes. */
    private static void fillUntilItEvicts(final SharedStore store) {
        for (int i = 0; store.stats().get("evictions") == 0; i++) {
            assertEquals(StoreResult.STORED, store.set(b("fill" + i), Values.make(i % 50), 0, 0));
        }
    }

    /**
     * Found by a review: a reservation made again and again in the same hole kept the hole's
     * position while the tail came up to it, and held there (a server's client sending its value)
     * it stopped every writer of every process at the tail, which passes records in order: a set
     * of another attachment waited the lock timeout and answered NO_MEMORY at round 356. Holes in
     * the older half of the ring are now left to the tail.
     */
    @Test
    void aReservationHeldInAHoleNeverStopsOtherWritersAtTheTail() throws IOException {
        final StoreOptions o = StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(BIG)
            .withLockTimeoutNanos(200_000_000L);
        try (SharedStore a = SharedStore.create(dir.resolve("t.store"), o);
             SharedStore other = SharedStore.open(dir.resolve("t.store"), o)) {
            fillUntilItEvicts(other);
            final StoreReservation r = new StoreReservation();
            for (int round = 0; round < 1000; round++) {
                assertTrue(a.reserve(b("big"), BIG, 0, 0, r), "round " + round);
                for (int i = 0; i < 100; i++) {
                    assertEquals(StoreResult.STORED, other.set(b("k" + round + "_" + i), Values.make(i % 50), 0, 0),
                        "a set of another attachment while the reservation is held, round " + round);
                }
                a.abandon(r);
            }
            assertTrue(a.stats().get("holes_filled") > 0, a.stats().toString());
            assertEquals(List.of(), a.check());
        }
    }

    @Test
    void aHoleTheTailReachesWithinHalfARingIsLeftForTheTail() throws IOException {
        try (SharedStore a = create(); SharedStore other = SharedStore.open(dir.resolve("h.store"), StoreOptions.defaults())) {
            fillUntilItEvicts(other);
            final StoreReservation r = new StoreReservation();
            assertTrue(a.reserve(b("big"), BIG, 0, 0, r));
            final long address = r.value().address();
            final long hole = positionOf(a, r);
            a.abandon(r);
            // Another attachment (its writes do not fill this one's holes) writes until the tail
            // is well within half a ring of the hole (the full ring has no room left), short of it.
            for (int i = 0; a.stats().get("ring_tail") <= hole - RING / 2 + (64 << 10); i++) {
                assertEquals(StoreResult.STORED, other.set(b("s" + i), Values.make(i % 50), 0, 0));
            }
            final Map<String, Long> st = a.stats();
            assertTrue(st.get("ring_tail") < hole, "the hole is still there: " + st);
            assertTrue(a.reserve(b("big"), BIG, 0, 0, r));
            assertNotEquals(address, r.value().address(), "placed at the head, not in the hole at " + hole + ": head="
                + st.get("ring_head") + ", tail=" + st.get("ring_tail"));
            a.abandon(r);
            assertEquals(List.of(), a.check());
        }
    }

    /**
     * Found by a review: a kill at {@link StorePoint#HOLE_REST_PADDED} leaves a DEAD record whose
     * SIZE runs over the PAD of its rest; the tail passes both as one, but the tools' repair, finding
     * the head and tail again after a stray write to TAIL, walked back from the head, stopped at the
     * PAD and took it for the tail: 150 items before it were cut from their chains. And a second
     * review: the same where the hole is itself a PAD (the rest an earlier placement left, kept as
     * a hole), which replaced items make common: the repair took only a DEAD record over a PAD.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theRepairFindsTheTailBehindAHoleKilledHalfPlaced(final boolean padHole) throws Exception {
        final Path file = dir.resolve("r.store");
        final int keys = 300;
        try (SharedStore store = create(file)) {
            for (int i = 0; i < keys / 2; i++) {
                store.set(b("k" + i), Values.make(i), 0, 0);
            }
            final StoreReservation r = new StoreReservation();
            assertTrue(store.reserve(b("big"), 100_000, 0, 0, r));
            final io.sharena.core.ArenaView v = store.arena().raw();
            final int p = recordOf(store, r);
            for (int i = keys / 2; i < keys; i++) {
                store.set(b("k" + i), Values.make(i), 0, 0);
            }
            final long pos = v.getLong(p + ItemLayout.POS);
            final int size = v.getInt(p + ItemLayout.SIZE);
            store.abandon(r);
            if (padHole) {
                v.putIntRelease(p + ItemLayout.STATE, ItemLayout.PAD);
            }
            // What a reservation of 128 bytes placed in the hole leaves, killed at HOLE_REST_PADDED.
            final int q = p + 128;
            v.putLong(q + ItemLayout.POS, pos + 128);
            v.putInt(q + ItemLayout.SIZE, size - 128);
            v.putIntRelease(q + ItemLayout.STATE, ItemLayout.PAD);
            assertEquals(List.of(), store.check());
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            v.putLong(header + StoreLayout.TAIL, -1); // a stray write
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file, io.sharena.core.ArenaOptions.defaults())) {
            io.sharena.ipc.IpcCheck.repair(arena, 1_000_000_000L);
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            for (int k = 0; k < keys; k++) {
                assertArrayEquals(Values.make(k), store.get(b("k" + k)), "k" + k);
            }
            assertEquals(List.of(), store.check());
        }
    }
}
