package io.sharena.ipc.store;

import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static io.sharena.ipc.store.StoreChild.b;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Values written in place: reserve, fill, commit or abandon; what readers, the tail and a kill see. */
class StoreReservationTest {
    @TempDir
    Path dir;
    private SharedStore store;

    @BeforeEach
    void create() throws Exception {
        store = SharedStore.create(dir.resolve("r.store"), StoreOptions.defaults().withMemoryLimit(1L << 20)
            .withMaxItemSize(8192).withLockTimeoutNanos(50_000_000L));
    }

    @AfterEach
    void close() throws Exception {
        store.close();
    }

    private static byte[] pattern(final int len, final int seed) {
        final byte[] v = new byte[len];
        for (int i = 0; i < len; i++) {
            v[i] = (byte) (seed + i * 31);
        }
        return v;
    }

    private StoreReservation reserved(final String key, final byte[] value, final int flags) {
        final StoreReservation r = new StoreReservation();
        assertTrue(store.reserve(b(key), value.length, flags, 0, r));
        MemorySegment.copy(value, 0, r.value(), ValueLayout.JAVA_BYTE, 0, value.length);
        return r;
    }

    /**
     * The reservation kept the caller's key array: changed before the commit, the commit looked up
     * another key, found none, and linked the new record beside the live item of the key it
     * holds (two items of one key; an ADD stored over a live key).
     */
    @Test
    void aKeyArrayChangedBeforeTheCommitChangesNothing() {
        assertEquals(StoreResult.STORED, store.set(b("a"), b("old"), 0, 0));
        final byte[] k = b("a");
        final StoreReservation r = new StoreReservation();
        assertTrue(store.reserve(k, 3, 0, 0, r));
        k[0] = 'b';
        r.value().copyFrom(MemorySegment.ofArray(b("new")));
        assertEquals(StoreResult.NOT_STORED, store.commit(r, StoreMode.ADD, SharedStore.ANY_CAS, false, null));
        assertArrayEquals(b("old"), store.get(b("a")));
        assertNull(store.get(b("b")));
        assertEquals(1L, store.stats().get("curr_items"));
        assertEquals(List.of(), store.check());
    }

    @Test
    void aCommittedReservationIsAnItemLikeAnyOther() {
        final byte[] v = pattern(5000, 1);
        final StoreReservation r = reserved("k", v, 42);
        final long[] cas = new long[1];
        assertEquals(StoreResult.STORED, store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, cas));
        assertFalse(r.held());
        final StoreItem item = store.gets(b("k"));
        assertArrayEquals(v, item.value());
        assertEquals(42, item.flags());
        assertEquals(cas[0], item.cas());
        assertEquals(List.of(), store.check());
        assertEquals(1L, store.stats().get("curr_items"));
    }

    @Test
    void readersSeeTheOldValueUntilTheCommit() {
        store.set(b("k"), b("old"), 0, 0);
        final StoreReservation r = reserved("k", pattern(3000, 2), 0);
        assertArrayEquals(b("old"), store.get(b("k")));
        assertEquals(StoreResult.STORED, store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, null));
        assertArrayEquals(pattern(3000, 2), store.get(b("k")));
    }

    @Test
    void commitChecksTheModesCondition() {
        store.set(b("there"), b("v"), 0, 0);
        final long cas = store.gets(b("there")).cas();
        assertEquals(StoreResult.NOT_STORED,
            store.commit(reserved("there", b("new"), 0), StoreMode.ADD, SharedStore.ANY_CAS, false, null));
        assertEquals(StoreResult.NOT_STORED,
            store.commit(reserved("missing", b("new"), 0), StoreMode.REPLACE, SharedStore.ANY_CAS, false, null));
        assertEquals(StoreResult.EXISTS,
            store.commit(reserved("there", b("new"), 0), StoreMode.CAS, cas + 1, false, null));
        assertArrayEquals(b("v"), store.get(b("there")));
        assertNull(store.get(b("missing")));
        assertEquals(StoreResult.STORED,
            store.commit(reserved("there", b("new"), 0), StoreMode.CAS, cas, false, null));
        assertArrayEquals(b("new"), store.get(b("there")));
        assertEquals(List.of(), store.check());
    }

    @Test
    void anAbandonedReservationStoresNothingAndItsSpaceComesBack() {
        store.set(b("k"), b("old"), 0, 0);
        final StoreReservation r = reserved("k", pattern(6000, 3), 0);
        store.abandon(r);
        assertArrayEquals(b("old"), store.get(b("k")));
        // Two laps of the ring: the tail passes the abandoned record like any dead one.
        for (int i = 0; i < 800; i++) {
            assertEquals(StoreResult.STORED, store.set(b("f" + i), pattern(2000, i), 0, 0));
        }
        assertEquals(List.of(), store.check());
    }

    @Test
    void aHeldReservationMakesWritersThatNeedItsSpaceWaitThenFailNotHang() {
        final StoreReservation r = reserved("k", pattern(100, 4), 0);
        StoreResult last = StoreResult.STORED;
        for (int i = 0; i < 1000 && last == StoreResult.STORED; i++) {
            last = store.set(b("f" + i), pattern(2000, i), 0, 0);
        }
        assertEquals(StoreResult.NO_MEMORY, last, "the ring's tail reached the held record");
        assertEquals(StoreResult.STORED, store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, null));
        assertEquals(StoreResult.STORED, store.set(b("after"), pattern(2000, 5), 0, 0));
    }

    @Test
    void misuseIsAnException() {
        final StoreReservation r = new StoreReservation();
        assertThrows(IllegalArgumentException.class, () -> store.reserve(b("k"), 8193, 0, 0, r));
        assertThrows(IllegalArgumentException.class, () -> store.reserve(b("k"), -1, 0, 0, r));
        assertThrows(IllegalStateException.class, r::value);
        assertThrows(IllegalArgumentException.class, () -> store.abandon(r));
        assertTrue(store.reserve(b("k"), 10, 0, 0, r));
        assertThrows(IllegalArgumentException.class, () -> store.reserve(b("k"), 10, 0, 0, r));
        assertThrows(IllegalArgumentException.class,
            () -> store.commit(r, StoreMode.APPEND, SharedStore.ANY_CAS, false, null));
        assertEquals(StoreResult.STORED, store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, null));
        assertThrows(IllegalArgumentException.class,
            () -> store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, null));
        assertArrayEquals(new byte[10], store.get(b("k")));
    }

    /**
     * A process killed with kill -9 while it holds a half-written reservation: the key keeps its old
     * value, and the ring's tail passes the dead process's record, so writers fill the ring again
     * and again with no NO_MEMORY, and the check is clean.
     */
    @Test
    void aProcessKilledHoldingAReservationLeavesTheOldValueAndNothingHeld() throws Exception {
        store.set(b("k"), b("old"), 0, 0);
        try (ChildJvm child = StoreChild.start("reserve", dir.resolve("r.store").toString(), "k")) {
            child.await("reserved");
            child.kill9();
            child.waitFor(30);
        }
        assertArrayEquals(b("old"), store.get(b("k")));
        final byte[] big = new byte[2000];
        for (int i = 0; i < 1500; i++) {
            Arrays.fill(big, (byte) i);
            assertEquals(StoreResult.STORED, store.set(b("f" + (i % 300)), big, 0, 0), "set " + i);
        }
        // Evicted by now, or still the old value: never the dead process's half-written one.
        final byte[] k = store.get(b("k"));
        assertTrue(k == null || Arrays.equals(b("old"), k), Arrays.toString(k));
        assertEquals(List.of(), store.check());
    }

    /**
     * A thread holding a reservation of its own whose writes wrap the ring up to it: it waits for
     * itself. Without a tail-wait action its write answers NO_MEMORY after the lock timeout; with
     * one that gives the reservation up, the write goes on at once.
     */
    @Test
    void aThreadWaitingOnItsOwnReservationAtTheTailGivesItUpThroughItsTailWaitAction() {
        final StoreReservation held = new StoreReservation();
        assertTrue(store.reserve(b("held"), 8000, 0, 0, held));
        final byte[] value = pattern(8000, 7);
        StoreResult last = StoreResult.STORED;
        int writes = 0;
        while (last == StoreResult.STORED && writes < 1_000) {
            last = store.set(b("k" + writes), value, 0, 0);
            writes++;
        }
        assertEquals(StoreResult.NO_MEMORY, last, "a ring's worth of writes reaches the reservation at the tail");

        final int[] runs = {0};
        writeWithTailWait(value, () -> {
            runs[0]++;
            store.abandon(held);
        });
        assertEquals(1, runs[0], "run once, at the first wait");
        assertNull(store.get(b("held")));
        assertEquals(List.of(), store.check());
    }
    /**
     * A tail-wait action that writes to the store (which its contract forbids): the write found the
     * ring lock held by its own thread, went on as if it had taken it (an assertion only stopped it
     * in tests) and unlocked it at its end, under the waiting write, which then went on as the
     * lock's holder beside whoever took the lock next: one record for two owners. It is refused by
     * name now, and the lock stays the waiting write's until that ends.
     */
    @Test
    void aTailWaitActionThatWritesIsRefusedAndLeavesTheRingLockToTheWaitingWrite() throws Exception {
        final StoreReservation held = new StoreReservation();
        assertTrue(store.reserve(b("held"), 8000, 0, 0, held));
        final byte[] value = pattern(8000, 7);
        final RuntimeException[] inside = {null};
        final long[] lockSlotInside = {-1};
        writeWithTailWait(value, () -> {
            try {
                store.set(b("inner"), b("x"), 0, 0);
            } catch (final RuntimeException e) {
                inside[0] = e;
            }
            try {
                lockSlotInside[0] = StoreTools.stats(store.arena(), SharedStore.DEFAULT_ROOT).get("ring_lock_slot");
            } catch (final io.sharena.core.ArenaFormatException e) {
                throw new AssertionError(e);
            }
            store.abandon(held);
        });
        assertTrue(inside[0] instanceof IllegalStateException, "the write inside was refused: " + inside[0]);
        assertTrue(inside[0].getMessage().contains("onTailWait"), inside[0].getMessage());
        assertTrue(lockSlotInside[0] >= 0, "the ring lock was still held by the waiting write after the refusal");
        assertEquals(-1L, StoreTools.stats(store.arena(), SharedStore.DEFAULT_ROOT).get("ring_lock_slot"));
        assertNull(store.get(b("inner")));
        assertEquals(List.of(), store.check());
    }

    /** Stores 1,000 keys of {@code value} with {@code giveUp} as this thread's tail-wait action: every write stores. */
    private void writeWithTailWait(final byte[] value, final Runnable giveUp) {
        store.onTailWait(giveUp);
        try {
            for (int i = 0; i < 1_000; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), value, 0, 0), "write " + i);
            }
        } finally {
            store.onTailWait(null);
        }
    }
}
