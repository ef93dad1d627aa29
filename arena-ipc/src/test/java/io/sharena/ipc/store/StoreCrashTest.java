package io.sharena.ipc.store;

import io.sharena.ipc.layout.ItemLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A child process is killed (SIGKILL) at each crash point of the store; then every key holds its
 * old or its new value, this process takes over whatever the child held (locks, records) and
 * writes on, the tail passes every record the child left, and the store checks clean.
 */
class StoreCrashTest {
    private static final long RING = 1L << 20;

    @TempDir
    Path dir;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String op(final StorePoint point) {
        return switch (point) {
            case INCR_BUILT, INCR_PUBLISHED -> "incr";
            case DELETE_UNLINKED -> "delete";
            case FLUSH_CAS_RAISED, FLUSH_CAS_COPIED -> "flush";
            case HOLE_REUSE_COUNTED, HOLE_CAS_CLEARED, HOLE_REST_PADDED, HOLE_SHRUNK, HOLE_RESERVED -> "hole";
            case EVICT_UNLINKED, EVICT_COPIED, EVICT_COPY_LINKED, EVICT_REINSERTED, EVICT_TAIL_ADVANCED -> "fill";
            default -> "set";
        };
    }

    @ParameterizedTest
    @EnumSource(StorePoint.class)
    void killedAtEachPointLeavesOldOrNewAndNothingStuck(final StorePoint point) throws Exception {
        final Path file = dir.resolve("c.store");
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(4096))) {
            final String op = op(point);
            final int prefilled = "fill".equals(op) ? prefill(store) : 0;
            store.set(b("k"), Values.make(1), 0, 0);
            store.set(b("n"), b("5"), 0, 0);
            store.set(b("d"), b("x"), 0, 0);
            store.set(b("a"), b("abc"), 0, 0);
            try (ChildJvm child = StoreChild.start(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"), "op", file.toString(), op)) {
                child.waitFor(60);
                final List<String> out = child.output();
                assertTrue(out.contains("crashpoint: " + point.id() + " kill"), "point reached: " + out);
                assertFalse(out.stream().anyMatch(l -> l.startsWith("op done")), "killed before done: " + out);
            }

            if ("flush".equals(op)) {
                flushedThenSetAgain(store);
            }
            // Old or new, whole.
            final byte[] k = store.get(b("k"));
            assertTrue(k != null && Values.check(k, k.length) == null
                && (Values.seq(k) == 1 || Values.seq(k) == 2), "k: " + (k == null ? null : Values.seq(k)));
            final String n = new String(store.get(b("n")), StandardCharsets.US_ASCII);
            assertTrue(n.equals("5") || n.equals("6"), "n=" + n);
            final byte[] d = store.get(b("d"));
            assertTrue(d == null || "x".equals(new String(d, StandardCharsets.US_ASCII)), "d");
            if (!"fill".equals(op)) {
                assertEquals("abc", new String(store.get(b("a")), StandardCharsets.US_ASCII));
            }
            for (int i = 0; i < prefilled; i++) {
                final byte[] v = store.get(b("p" + i));
                if (v != null) {
                    assertNull(Values.check(v, v.length), "p" + i);
                }
            }
            for (int i = 0; i < 2000; i++) {
                final byte[] v = store.get(b("f" + i));
                if (v != null) {
                    assertNull(Values.check(v, v.length), "f" + i);
                }
            }
            assertEquals(List.of(), store.check(), "right after the kill");
            final int tookOver = store.repair();
            final int held = switch (point) {
                // The ring lock and the tail item's stripe lock.
                case EVICT_UNLINKED, EVICT_COPIED, EVICT_COPY_LINKED, EVICT_REINSERTED -> 2;
                // The ring lock, or the key's stripe lock.
                case RESERVE_HEADER_WRITTEN, RESERVE_HEAD_ADVANCED, HOLE_REUSE_COUNTED, HOLE_CAS_CLEARED, HOLE_REST_PADDED, HOLE_SHRUNK, HOLE_RESERVED, EVICT_TAIL_ADVANCED, SET_MARKED_LINKED, SET_LINKED, SET_PUBLISHED,
                     SET_OLD_DEAD, INCR_PUBLISHED, DELETE_UNLINKED -> 1;
                // Between locks: building a record holds none; a flush takes none.
                case SET_BUILT, INCR_BUILT, FLUSH_CAS_RAISED, FLUSH_CAS_COPIED -> 0;
            };
            assertEquals(held, tookOver, "locks the child held at " + point);
            assertEquals(List.of(), store.check(), "after repair");
            // check --repair's part for stores has nothing to mend: a kill leaves no chain to cut and
            // no stretch of the ring that does not parse.
            assertEquals(List.of(), StoreTools.repairAll(store.arena(), 1_000_000_000L), "tools' repair after " + point);

            // What the child held is taken over: the same keys write on.
            assertEquals(StoreResult.STORED, store.set(b("k"), Values.make(3), 0, 0));
            assertArrayEquals(Values.make(3), store.get(b("k")), "k after the set");
            final long[] r = new long[1];
            assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
            assertEquals(StoreResult.STORED, store.append(b("a"), b("!")));
            // Three laps of the ring: the tail passes whatever the child left in it.
            BucketTable.goRoundTwice(store, RING);
            // k may have been evicted by the laps; if it is there, it is the value set last, never an
            // older record of the child's. (This compared make(3) with itself whenever k was gone.)
            final byte[] kLater = store.get(b("k"));
            assertTrue(kLater == null || java.util.Arrays.equals(Values.make(3), kLater),
                "k after the laps: " + (kLater == null ? null : Values.seq(kLater)));
            final Map<String, Long> st = store.stats();
            assertTrue(st.get("bytes") <= RING, st.toString());
            assertEquals(List.of(), store.check(), "after the ring went round");
        }
    }

    /**
     * After a flush killed or paused once its watermark is raised: the four keys are gone already
     * (the watermark is the flush, whatever is left to do); they are set again to their first values.
     */
    static void flushedThenSetAgain(final SharedStore store) {
        for (final String key : List.of("k", "n", "d", "a")) {
            assertNull(store.get(b(key)), key + " flushed");
        }
        store.set(b("k"), Values.make(1), 0, 0);
        store.set(b("n"), b("5"), 0, 0);
        store.set(b("d"), b("x"), 0, 0);
        store.set(b("a"), b("abc"), 0, 0);
    }

    /**
     * Reserves a large record for a key of its own and gives it up, so that the next write of this
     * attachment is placed in it ({@link StorePoint#HOLE_REST_PADDED} and on) rather than at the head.
     */
    static void leaveHole(final SharedStore store) {
        final StoreReservation r = new StoreReservation();
        assertTrue(store.reserve(b("h"), store.maxItemSize() - 6, 0, 0, r), "reserved");
        assertTrue(ItemLayout.recordSize(1, store.maxItemSize() - 6) >= Ring.HOLE_MIN, "large enough to be kept");
        store.abandon(r);
    }

    /** Fills the ring until it evicts, then reads everything, so the tail meets hot items. */
    static int prefill(final SharedStore store) {
        int i = 0;
        while (store.stats().get("evictions") == 0) {
            assertEquals(StoreResult.STORED, store.set(b("p" + i), Values.make(i), 0, 0));
            i++;
        }
        for (int j = 0; j < i; j++) {
            store.get(b("p" + j));
        }
        return i;
    }
}
