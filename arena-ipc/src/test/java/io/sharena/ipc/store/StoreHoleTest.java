package io.sharena.ipc.store;

import org.junit.jupiter.api.Test;
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
    private static final long RING = 4L << 20;
    private static final int BIG = 200 << 10;

    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private SharedStore create() throws IOException {
        return SharedStore.create(dir.resolve("h.store"),
            StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(BIG));
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
            final long hole = r.value().address();
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
            assertNotEquals(0, r.value().address());
            assertTrue(r.value().address() != hole || store.stats().get("evictions") > 0);
            store.abandon(r);
            for (int i = 3 * (int) (RING / 1000) - 100; i < 3 * RING / 1000; i++) {
                assertArrayEquals(Values.make(i), store.get(b("f" + i)), "f" + i);
            }
            assertEquals(List.of(), store.check());
        }
    }
}
