package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StoreCrashTest} kills a child at each crash point on the first operation that reaches
 * it (a set, an incr, a delete, a fill). Several points are reached by other operations too, in
 * states of their own: a reservation's commit, append, invalidate, the crawler's reclaim, the
 * tail's second chance reserving at the head while it holds the tail item's stripe lock, and an
 * opener that moves live items instead of evicting them. Here the child is killed at those.
 */
class StoreCrashShapesTest {
    private static final long RING = 1L << 20;

    @TempDir
    Path dir;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** op, point, extra child options, locks the child holds there. */
    static Stream<Arguments> shapes() {
        final List<Arguments> all = new ArrayList<>();
        for (final StorePoint p : List.of(StorePoint.SET_BUILT, StorePoint.SET_MARKED_LINKED, StorePoint.SET_LINKED,
            StorePoint.SET_PUBLISHED, StorePoint.SET_OLD_DEAD)) {
            final int held = p == StorePoint.SET_BUILT ? 0 : 1;
            all.add(Arguments.of("append", p, "", held));
            all.add(Arguments.of("commit", p, "", held));
            all.add(Arguments.of("invalidate", p, "", held));
        }
        all.add(Arguments.of("commit", StorePoint.RESERVE_HEAD_ADVANCED, "", 1));
        all.add(Arguments.of("reclaim", StorePoint.DELETE_UNLINKED, "", 1));
        // The ring lock and the stripe lock of the item the tail is moving.
        all.add(Arguments.of("fill", StorePoint.RESERVE_HEADER_WRITTEN, "-Dstorechild.within=reinsert", 2));
        all.add(Arguments.of("fill", StorePoint.RESERVE_HEAD_ADVANCED, "-Dstorechild.within=reinsert", 2));
        all.add(Arguments.of("fill", StorePoint.EVICT_COPIED, "-Dstorechild.evictions=false", 2));
        all.add(Arguments.of("fill", StorePoint.EVICT_COPY_LINKED, "-Dstorechild.evictions=false", 2));
        all.add(Arguments.of("fill", StorePoint.EVICT_REINSERTED, "-Dstorechild.evictions=false", 2));
        all.add(Arguments.of("fill", StorePoint.EVICT_TAIL_ADVANCED, "-Dstorechild.evictions=false", 1));
        return all.stream();
    }

    @ParameterizedTest(name = "{0} at {1} {2}")
    @MethodSource("shapes")
    void killedLeavesOldOrNewAndNothingStuck(final String op, final StorePoint point, final String extra,
                                             final int held) throws Exception {
        final Path file = dir.resolve("s.store");
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(4096))) {
            final int prefilled = "fill".equals(op) ? StoreCrashTest.prefill(store) : 0;
            store.set(b("k"), Values.make(1), 0, 0);
            store.set(b("n"), b("5"), 0, 0);
            store.set(b("a"), b("abc"), 0, 0);
            final List<String> jvm = new ArrayList<>(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"));
            if (!extra.isEmpty()) {
                jvm.add(extra);
            }
            try (ChildJvm child = StoreChild.start(jvm, "op", file.toString(), op)) {
                child.waitFor(60);
                final List<String> out = child.output();
                assertTrue(out.contains("crashpoint: " + point.id() + " kill"), "point reached: " + out);
                assertFalse(out.stream().anyMatch(l -> l.startsWith("op done")), "killed before done: " + out);
            }

            final byte[] k = store.get(b("k"));
            assertTrue(k != null && Values.check(k, k.length) == null
                && (Values.seq(k) == 1 || Values.seq(k) == 2), "k: " + (k == null ? null : Values.seq(k)));
            assertEquals("5", new String(store.get(b("n")), StandardCharsets.US_ASCII));
            if (!"fill".equals(op)) {
                final String a = new String(store.get(b("a")), StandardCharsets.US_ASCII);
                assertTrue(a.equals("abc") || a.equals("abc+"), "a=" + a);
            }
            for (int i = 0; i < prefilled; i++) {
                final byte[] v = store.get(b("p" + i));
                if (v != null) {
                    assertNull(Values.check(v, v.length), "p" + i);
                }
            }
            assertEquals(List.of(), store.check(), "right after the kill");
            assertEquals(held, store.repair(), "locks the child held at " + point);
            assertEquals(List.of(), store.check(), "after repair");
            assertEquals(List.of(), StoreTools.repairAll(store.arena(), 1_000_000_000L), "tools' repair after " + point);

            assertEquals(StoreResult.STORED, store.set(b("k"), Values.make(3), 0, 0));
            assertEquals(StoreResult.STORED, store.append(b("a"), b("!")));
            BucketTable.goRoundTwice(store, RING);
            assertTrue(store.stats().get("bytes") <= RING);
            assertEquals(List.of(), store.check(), "after the ring went round");
        }
    }

    /**
     * The tail's second chance killed after copying a hot item to the head and before linking the
     * copy ({@link StorePoint#EVICT_COPIED}): the copy is a RESERVED record, which the tail waits
     * on while its owner lives. Its owner word must still name the killed process. It used to be
     * overwritten by the item's CAS value in the copy; a CAS value that reads as a live process's
     * owner token (here this process's own, written as the CAS value of every item) then made every
     * writer wait on the copy, and fail once the ring was full, for as long as that process lived.
     */
    @Test
    void aSecondChanceKilledBeforeLinkingItsCopyLeavesItToTheTail() throws Exception {
        final Path file = dir.resolve("c.store");
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(4096).withLockTimeoutNanos(200_000_000L))) {
            StoreCrashTest.prefill(store);
            final long token = ArenaInternals.ownership(store.arena()).process();
            final ArenaView v = store.arena().raw();
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final int ring = v.getInt(header + StoreLayout.RING_PTR);
            final long bytes = v.getLong(header + StoreLayout.RING_BYTES);
            int linked = 0;
            for (long pos = v.getLong(header + StoreLayout.TAIL); pos < v.getLong(header + StoreLayout.HEAD); ) {
                final int p = (int) (ring + pos % bytes);
                if (v.getInt(p + ItemLayout.STATE) == ItemLayout.LINKED) {
                    v.putLong(p + ItemLayout.CAS, token);
                    linked++;
                }
                pos += v.getInt(p + ItemLayout.SIZE);
            }
            assertTrue(linked > 0, "items in the ring");
            try (ChildJvm child = StoreChild.start(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=" + StorePoint.EVICT_COPIED.id(), "-Dsharena.crashpoint.action=kill"),
                "op", file.toString(), "fill")) {
                child.waitFor(60);
                final List<String> out = child.output();
                assertTrue(out.contains("crashpoint: " + StorePoint.EVICT_COPIED.id() + " kill"), "point reached: " + out);
            }
            assertEquals(2, store.repair(), "the ring lock and the item's stripe lock");
            assertEquals(List.of(), store.check(), "after repair");
            // The tail comes to the copy within a lap and passes it: its owner is dead.
            BucketTable.goRoundTwice(store, RING);
            assertEquals(List.of(), store.check(), "after the ring went round");
        }
    }

    /**
     * A reservation killed right after it moved the head ({@link StorePoint#RESERVE_HEAD_ADVANCED})
     * on a ring that has gone round: its header holds POS, SIZE and STATE, while KEY_LEN and
     * VALUE_LEN are still what the record a lap earlier left there. Those said a record of 1,024
     * bytes, ending where a later record starts, and the tools' repair took them for the
     * reservation's true size and "restored" its SIZE: the walk stepped over the item written
     * right after the reservation, the chains were cut at it, and its acknowledged value was lost.
     */
    @Test
    void aReservationKilledOnALappedRingKeepsTheItemAfterIt() throws Exception {
        final Path file = dir.resolve("l.store");
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(4096).withLockTimeoutNanos(200_000_000L))) {
            final long bytes = store.ring.ringBytes();
            final int big = 1024;
            final byte[] bigValue = new byte[big - ItemLayout.HEADER - 6];
            assertEquals(big, ItemLayout.recordSize(6, bigValue.length));
            // Records of one size from the ring's start, a lap and one record more: every record of
            // the second lap starts where one of the first did, whose lengths are still there.
            for (int i = 0; store.ring.head() < bytes + big; i++) {
                assertEquals(StoreResult.STORED, store.set(b(String.format("f%05d", i)), bigValue, 0, 0));
            }
            final long at = store.ring.head();
            final ArenaView v = store.arena().raw();
            final int p = (int) (store.ring.ringPtr() + at % bytes);
            assertEquals(bigValue.length, v.getInt(p + ItemLayout.VALUE_LEN), "a first-lap record's lengths at the head");

            try (ChildJvm child = StoreChild.start(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=" + StorePoint.RESERVE_HEAD_ADVANCED.id(), "-Dsharena.crashpoint.action=kill"),
                "op", file.toString(), "commit")) {
                child.waitFor(60);
                final List<String> out = child.output();
                assertTrue(out.contains("crashpoint: " + StorePoint.RESERVE_HEAD_ADVANCED.id() + " kill"),
                    "point reached: " + out);
            }
            final int reserved = v.getInt(p + ItemLayout.SIZE);
            assertEquals(ItemLayout.RESERVED, v.getInt(p + ItemLayout.STATE), "the child's reservation at the old head");
            assertEquals(bigValue.length, v.getInt(p + ItemLayout.VALUE_LEN), "its lengths the first lap's");
            // An item filling the rest of the 1,024 bytes, then one more: a record starts where the
            // leftover lengths say the reservation ends.
            final byte[] after = new byte[big - reserved - ItemLayout.HEADER - 1];
            after[0] = 7;
            assertEquals(big - reserved, ItemLayout.recordSize(1, after.length));
            assertEquals(StoreResult.STORED, store.set(b("b"), after, 0, 0));
            assertEquals(at + reserved, store.ring.head() - big + reserved, "b right after the reservation");
            assertEquals(StoreResult.STORED, store.set(b("c"), bigValue, 0, 0));

            final List<String> done = StoreTools.repairAll(store.arena(), 1_000_000_000L);
            assertArrayEquals(after, store.get(b("b")), "the item after the reservation, after " + done);
            assertArrayEquals(bigValue, store.get(b("c")));
            assertEquals(List.of(), store.check(), "after the repair");
        }
    }
}
