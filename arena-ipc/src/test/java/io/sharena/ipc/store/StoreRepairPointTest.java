package io.sharena.ipc.store;

import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.ipc.PointPause;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tools' repair of a store ({@code check --repair}) killed (SIGKILL, a child JVM) and paused
 * at each of its step boundaries ({@link StoreRepairPoint}), on a store damaged the way that drives
 * the repair through the point: ring positions out of range, bucket words pointed inside an item,
 * bucket words zeroed, records whose position word was garbled, or no damage at all (the recount
 * every repair ends with).
 *
 * <p>Killed: every key the damage did not touch reads its own value right after the kill, the next
 * repair finishes the work (a second one then finds nothing to do and {@code check} is clean), a
 * key the damage touched holds its own value or none, and the store writes on until its ring went
 * round twice, checking clean. Paused: while the repair waits at the point, another attachment
 * reads every untouched key without waiting (its own value each time) and its writes answer within
 * their lock timeout; the repair then finishes and the store checks clean.
 */
class StoreRepairPointTest {
    private static final long RING = 4L << 20;
    private static final long TIMEOUT_MS = 200;
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(4096)
        .withLockTimeoutNanos(TIMEOUT_MS * 1_000_000);
    private static final int KEYS = 2000;
    /** Buckets (or records) a scenario damages, each in a stripe of its own. */
    private static final int DAMAGED = 3;

    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** What a point's scenario breaks before the repair runs. */
    enum Damage {
        /** HEAD negative and TAIL misaligned: the repair finds both again from the records, TAIL first. */
        POSITIONS,
        /** Bucket words pointed 16 bytes into their first item: the repair cuts those chains. */
        BAD_LINKS,
        /** Bucket words zeroed: the repair links their items again. */
        ZEROED_BUCKETS,
        /** Records whose POS word no longer says where they are: the repair pads them over. */
        GARBLED_RECORDS,
        /** Records whose SIZE grew over the records after them: the repair sets it back. */
        GROWN_SIZES,
        /** Nothing: the repair's last step, the stripes' recount, still runs. */
        NONE,
        /** The bucket bits zeroed and the max item size -1 in the header: the repair sets both back. */
        GEOMETRY;

        /** @return the field an opener names while the damage is not yet repaired, or null if the store opens */
        String refusedField() {
            return this == POSITIONS ? "store.positions" : this == GEOMETRY ? "store.sizes" : null;
        }
    }

    static Damage damageFor(final StoreRepairPoint point) {
        return switch (point) {
            case SIZE_RESTORED -> Damage.GROWN_SIZES;
            case POSITIONS_TAIL_SET -> Damage.POSITIONS;
            case RELINK_MARKED, CHAIN_CUT -> Damage.BAD_LINKS;
            case RELINK_NEXT_SET, ITEM_RELINKED, RELINK_CLEARED -> Damage.ZEROED_BUCKETS;
            case PAD_STATE_PENDING, PAD_WRITTEN -> Damage.GARBLED_RECORDS;
            case RECOUNT_ITEMS_WRITTEN -> Damage.NONE;
            case GEOMETRY_FIELD_SET -> Damage.GEOMETRY;
        };
    }

    /**
     * Fills a store, then breaks it as {@code damage} says.
     *
     * @return the keys the damage touched (their items may be lost); every other key must keep its value
     */
    private Set<String> prepare(final Path file, final Damage damage) throws Exception {
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i), 0, 0));
            }
            assertEquals(List.of(), store.check(), "before the damage");
            final BucketTable t = BucketTable.of(store.arena());
            final Set<String> touched = new HashSet<>();
            switch (damage) {
                case POSITIONS -> {
                    for (int i = 0; i < KEYS; i++) {
                        touched.add("k" + i);
                    }
                    final long tail = t.view().getLong(t.header() + StoreLayout.TAIL);
                    t.view().putLong(t.header() + StoreLayout.TAIL, tail + 8);
                    t.view().putLong(t.header() + StoreLayout.HEAD, -16);
                }
                case BAD_LINKS, ZEROED_BUCKETS -> {
                    for (final int bucket : t.inStripesOfTheirOwn(DAMAGED)) {
                        final List<Integer> chain = t.chain(bucket);
                        chain.forEach(p -> touched.add(t.key(p)));
                        t.view().putInt(t.word(bucket), damage == Damage.ZEROED_BUCKETS ? 0 : chain.get(0) + 16);
                    }
                }
                case GARBLED_RECORDS -> {
                    for (final int bucket : t.inStripesOfTheirOwn(DAMAGED)) {
                        // The first item: its chain is cut there, the items after it linked again.
                        final List<Integer> chain = t.chain(bucket);
                        chain.forEach(p -> touched.add(t.key(p)));
                        t.view().putLong(chain.get(0) + ItemLayout.POS, 0x5A5A_5A5A_5A5A_5A50L);
                    }
                }
                case GROWN_SIZES -> {
                    for (final int bucket : t.inStripesOfTheirOwn(DAMAGED)) {
                        // Grown by a record's worth: the walk would have taken in whole records after it.
                        final int first = t.chain(bucket).get(0);
                        touched.add(t.key(first));
                        t.view().putInt(first + ItemLayout.SIZE, t.view().getInt(first + ItemLayout.SIZE) + 64);
                    }
                }
                case NONE -> {
                }
                case GEOMETRY -> {
                    t.view().putInt(t.header() + StoreLayout.BUCKET_BITS, 0);
                    t.view().putInt(t.header() + StoreLayout.MAX_ITEM, -1);
                }
            }
            return touched;
        }
    }

    @ParameterizedTest
    @EnumSource(StoreRepairPoint.class)
    void killedAtEachPointTheNextRepairFinishes(final StoreRepairPoint point) throws Exception {
        final Path file = dir.resolve("r.store");
        final Damage damage = damageFor(point);
        final Set<String> touched = prepare(file, damage);
        try (ChildJvm child = StoreChild.start(List.of("-Dsharena.crashpoints=true",
            "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"),
            "repair", file.toString(), Long.toString(TIMEOUT_MS))) {
            child.waitFor(60);
            final List<String> out = child.output();
            assertTrue(out.contains("crashpoint: " + point.id() + " kill"), "point reached: " + out);
            assertFalse(out.contains("repair done"), "killed before done: " + out);
        }

        // Right after the kill: what the damage did not touch reads as before.
        if (damage.refusedField() == null) {
            try (SharedStore store = SharedStore.open(file, OPTIONS)) {
                for (int i = 0; i < KEYS; i++) {
                    if (!touched.contains("k" + i)) {
                        assertArrayEquals(Values.make(i), store.get(b("k" + i)), "k" + i + " after the kill");
                    }
                }
            }
        } else {
            // TAIL reset, HEAD not yet (or a header field set back, another not yet): the store does
            // not open, and says why.
            final ArenaFormatException e = assertThrows(ArenaFormatException.class, () -> SharedStore.open(file, OPTIONS));
            assertEquals(damage.refusedField(), e.field(), e.getMessage());
        }

        // The next repair finishes the work; the one after it finds nothing to do.
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            StoreTools.repairAll(arena, TIMEOUT_MS * 1_000_000);
            assertEquals(List.of(), StoreTools.repairAll(arena, TIMEOUT_MS * 1_000_000), "a second repair after "
                + point);
            assertEquals(List.of(), StoreTools.check(arena, SharedStore.DEFAULT_ROOT), "check after " + point);
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            verify(store, touched, point);
            // Writes go on, and the tail passes whatever the repair and the kill left in the ring.
            BucketTable.goRoundTwice(store, RING);
            assertEquals(List.of(), store.check(), "after the ring went round, " + point);
            assertTrue(store.stats().get("bytes") <= RING, store.stats().toString());
        }
    }

    @ParameterizedTest
    @EnumSource(StoreRepairPoint.class)
    void pausedAtEachPointOthersReadAndWriteOn(final StoreRepairPoint point) throws Exception {
        final Path file = dir.resolve("p.store");
        final Damage damage = damageFor(point);
        final Set<String> touched = prepare(file, damage);
        final Throwable[] failure = new Throwable[1];
        final List<String> repaired = new ArrayList<>();
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final Thread paused;
            try (PointPause pause = new PointPause(point)) {
                paused = PointPause.start(() -> {
                    try {
                        repaired.addAll(StoreTools.repairAll(arena, 10_000_000_000L));
                    } catch (final java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, failure);
                assertTrue(pause.awaitReached(), "the repair reached " + point.id());

                if (damage.refusedField() != null) {
                    // TAIL reset, HEAD not yet (or a header field set back, another not yet): another
                    // opener is refused, and says why.
                    final ArenaFormatException e = assertThrows(ArenaFormatException.class,
                        () -> SharedStore.open(file, OPTIONS));
                    assertEquals(damage.refusedField(), e.field(), e.getMessage());
                } else {
                    try (SharedStore other = SharedStore.open(file, OPTIONS)) {
                        // Readers do not wait for the repair (they end while it is paused), and each
                        // untouched key reads its own value.
                        for (int i = 0; i < KEYS; i++) {
                            if (!touched.contains("k" + i)) {
                                assertArrayEquals(Values.make(i), other.get(b("k" + i)),
                                    "k" + i + " while the repair waits at " + point);
                            }
                        }
                        // Writes answer within their lock timeout (the repair holds the ring lock, and a
                        // stripe's at some points): stored, or refused for now.
                        for (int i = 0; i < 5; i++) {
                            final StoreResult r = other.set(b("w" + i), Values.make(i), 0, 0);
                            assertTrue(r == StoreResult.STORED || r == StoreResult.BUSY || r == StoreResult.NO_MEMORY,
                                "w" + i + ": " + r);
                        }
                    }
                }
                pause.release();
                paused.join(30_000);
            }
            assertFalse(paused.isAlive(), "the repair finished");
            assertNull(failure[0], () -> "the repair failed: " + failure[0]);
            assertEquals(List.of(), StoreTools.repairAll(arena, TIMEOUT_MS * 1_000_000), "a second repair after "
                + point + " (the first: " + repaired + ")");
            assertEquals(List.of(), StoreTools.check(arena, SharedStore.DEFAULT_ROOT), "check after " + point);
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            verify(store, touched, point);
            for (int i = 0; i < 5; i++) {
                assertEquals(StoreResult.STORED, store.set(b("w" + i), Values.make(i), 0, 0));
            }
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Untouched keys hold their own values; touched keys their own value or none, except where the
     * damage left every item whole (a chain's links lost, its items intact): a repair run to its end
     * links them all again, and so must a repair killed or paused anywhere and the one after it.
     */
    private static void verify(final SharedStore store, final Set<String> touched, final StoreRepairPoint point) {
        final Damage damage = damageFor(point);
        final boolean allKept = damage == Damage.BAD_LINKS || damage == Damage.ZEROED_BUCKETS;
        int kept = 0;
        for (int i = 0; i < KEYS; i++) {
            final String k = "k" + i;
            final byte[] v = store.get(b(k));
            if (touched.contains(k) && !allKept) {
                assertTrue(v == null || java.util.Arrays.equals(Values.make(i), v), k + " holds another value");
                kept += v == null ? 0 : 1;
            } else {
                assertArrayEquals(Values.make(i), v, k + " after " + point + (touched.contains(k) ? " (touched)" : ""));
                kept += touched.contains(k) ? 1 : 0;
            }
        }
        System.out.println(point.id() + ": " + touched.size() + " key(s) touched by the damage, " + kept + " kept");
    }
}
