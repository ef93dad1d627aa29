package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.ipc.IpcCheck;
import io.sharena.ipc.layout.ItemLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One item header garbled by another process of the user (a stray write into a live store): the
 * damage stays that item's. A read or write of its key ends in {@link ArenaCorruptedException},
 * never in a value longer than the store holds; no other key is touched; and the tools' repair
 * ({@code check --repair}) cuts the broken chain, after which the store checks clean and every key
 * writes again.
 */
class StoreHostileItemTest {
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(4096)
        .withLockTimeoutNanos(200_000_000L);

    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** @return the arena pointer of the key's item (read through the zero-copy reader) */
    private static int itemOf(final SharedStore store, final String key) {
        final StoreReader r = store.reader();
        assertTrue(r.get(b(key)), key);
        return (int) r.valueOffset() - ItemLayout.KEY - key.length();
    }

    /**
     * A value length that leaves the ring makes the locked look-up fail. It used to answer "not
     * found" with the cursor still describing the item this thread read last (another key's): the
     * set then published its record with that item's NEXT and marked that item DEAD while it stayed
     * chained in its own bucket, so the healthy key's next write threw "chain holds what is not a
     * linked item".
     */
    @Test
    void aValueLengthOutsideTheRingBreaksNoOtherKey() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("len.store"), OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("a"), b("1"), 0, 0));
            assertEquals(StoreResult.STORED, store.set(b("b"), b("2"), 0, 0));
            final ArenaView v = store.arena().raw();
            v.putInt(itemOf(store, "a") + ItemLayout.VALUE_LEN, Integer.MAX_VALUE);
            // This thread's cursor now describes b's item.
            assertArrayEquals(b("2"), store.get(b("b")));
            try {
                store.set(b("a"), b("3"), 0, 0);
            } catch (final ArenaCorruptedException expected) {
                // a's item is damaged: the write says so.
            }
            assertArrayEquals(b("2"), store.get(b("b")));
            assertEquals(StoreResult.STORED, store.set(b("b"), b("4"), 0, 0));
            assertArrayEquals(b("4"), store.get(b("b")));
            assertEquals(StoreResult.DELETED, store.delete(b("b")));
            assertThrows(ArenaCorruptedException.class, () -> store.set(b("a"), b("5"), 0, 0));
        }
    }

    /**
     * A value length inside the ring but above the store's max item size: reads used to hand back
     * that many bytes of whatever follows the item (other items' keys and values), and from a large
     * store such a length makes {@code get} allocate up to 2 GiB.
     */
    @Test
    void aValueLengthAboveTheMaxItemSizeIsCorruptionNotAValue() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("max.store"), OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("a"), b("1"), 0, 0));
            for (int i = 0; i < 100; i++) {
                assertEquals(StoreResult.STORED, store.set(b("other" + i), Values.make(i), 0, 0));
            }
            store.arena().raw().putInt(itemOf(store, "a") + ItemLayout.VALUE_LEN, 60_000);
            assertThrows(ArenaCorruptedException.class, () -> store.get(b("a")));
            assertThrows(ArenaCorruptedException.class, () -> store.gets(b("a")));
            assertThrows(ArenaCorruptedException.class, () -> store.reader().get(b("a")));
            assertThrows(ArenaCorruptedException.class, () -> store.append(b("a"), b("+")));
            assertThrows(ArenaCorruptedException.class, () -> store.touch(b("a"), 100));
            for (int i = 0; i < 100; i++) {
                assertArrayEquals(Values.make(i), store.get(b("other" + i)));
            }
        }
    }

    /**
     * Head and tail out of range (a stray write; no kill leaves them so): the store is refused at
     * open, which the repair used to leave as it was ("not repaired: store does not open"), so the
     * file stayed unusable for good. The repair now empties the ring at one position and cuts every
     * chain: the store opens again, empty, checks clean and writes lap after lap.
     */
    @Test
    void theToolsRepairEmptiesARingWhosePositionsAreOutOfRange() throws Exception {
        final Path file = dir.resolve("positions.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            for (int i = 0; i < 300; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i), 0, 0));
            }
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putLong(header + io.sharena.ipc.layout.StoreLayout.TAIL, -1);
        }
        final io.sharena.core.ArenaFormatException refused = assertThrows(io.sharena.core.ArenaFormatException.class,
            () -> SharedStore.open(file, OPTIONS).close());
        assertEquals("store.positions", refused.field());
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: ring positions out of range"
                + " (head=")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertEquals(0L, store.stats().get("curr_items"));
            final long head = store.stats().get("ring_head");
            for (int i = 0; store.stats().get("ring_tail") < head + (1L << 20); i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + (i % 300)), Values.make(i), 0, 0), "i=" + i);
                final byte[] v = store.get(b("k" + (i % 300)));
                assertTrue(v != null && Values.check(v, v.length) == null, "k" + (i % 300));
            }
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * A stray write into the flush watermark, above the CAS counter: every get missed and every new
     * set answered STORED and then missed too, for good, while check and check --repair found
     * nothing (a corrupted-file campaign on a served store). Now check names it and the repair
     * lowers it to the counter: what it hid stays flushed, new writes show.
     */
    @Test
    void aFlushWatermarkAboveTheCasCounterIsNamedAndLowered() throws Exception {
        final Path file = dir.resolve("flush.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("k"), b("v"), 0, 0));
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putLong(header + io.sharena.ipc.layout.StoreLayout.FLUSH_CAS, 1L << 60);
            assertEquals(null, store.get(b("k")));
            assertEquals(StoreResult.STORED, store.set(b("n"), b("1"), 0, 0));
            assertEquals(null, store.get(b("n")), "new writes hidden too");
            assertTrue(store.check().stream().anyMatch(v -> v.startsWith("flush watermark above the CAS counter")),
                store.check().toString());
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.contains("flush watermark above the CAS counter")
                && l.endsWith("lowered to the counter; the items it hid stay flushed, new ones show")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("n"), b("2"), 0, 0));
            assertArrayEquals(b("2"), store.get(b("n")), "the store works again");
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * The tools' repair runs under the store's own locks while writers go on (set, delete, append,
     * evictions on a full ring, readers checking every value whole): on a healthy store it finds
     * nothing to mend, however the writers interleave with it.
     */
    @Test
    void theToolsRepairFindsNothingToMendWhileWritersRun() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("busy.store"), OPTIONS)) {
            final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            final java.util.concurrent.atomic.AtomicReference<String> bad = new java.util.concurrent.atomic.AtomicReference<>();
            final Thread[] writers = new Thread[2];
            for (int t = 0; t < writers.length; t++) {
                final int me = t;
                writers[t] = new Thread(() -> {
                    final java.util.SplittableRandom r = new java.util.SplittableRandom(me);
                    try {
                        for (long i = 0; !stop.get(); i++) {
                            final byte[] key = b("w" + r.nextInt(3000));
                            final StoreResult res = switch (r.nextInt(6)) {
                                case 0 -> store.delete(key);
                                case 1 -> store.append(key, new byte[0]);
                                default -> store.set(key, Values.make(i), 0, 0);
                            };
                            final byte[] v = store.get(key);
                            if (res == StoreResult.BUSY || (v != null && Values.check(v, v.length) != null)) {
                                bad.compareAndSet(null, "key " + new String(key, StandardCharsets.UTF_8) + ": " + res);
                            }
                        }
                    } catch (final Throwable e) {
                        // A writer that throws (a store operation meeting what the repair did) would
                        // otherwise just stop, and the repair would go on against fewer writers.
                        bad.compareAndSet(null, "writer " + me + " threw: " + e);
                    }
                });
                writers[t].start();
            }
            try {
                // At least 200 rounds, and on until the ring has gone round (an item evicted or
                // moved to the head at the tail), however slowly the writers run on a loaded machine.
                final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
                for (int round = 0; round < 200 || !wentRound(store) && System.nanoTime() - deadline < 0; round++) {
                    assertEquals(List.of(), StoreTools.repairAll(store.arena(), 1_000_000_000L), "round " + round);
                }
            } finally {
                stop.set(true);
                for (final Thread w : writers) {
                    w.join();
                }
            }
            assertEquals(null, bad.get());
            assertTrue(wentRound(store), "the ring went round: " + store.stats());
            assertEquals(List.of(), store.check());
        }
    }

    private static boolean wentRound(final SharedStore store) {
        final var stats = store.stats();
        return stats.get("evictions") + stats.get("reinserted") > 0;
    }

    /**
     * A chain that does not parse (an item's STATE, NEXT or HASH garbled) used to stop the tools'
     * repair with the chain walk's {@link ArenaCorruptedException}: {@code IpcCheck.repair}, which
     * reports and never throws for corruption, threw, so {@code check --repair} ended with "corrupted
     * metadata stopped the repair" before the heap's repair, and the key's bucket stayed broken for
     * good (every write to it threw). The repair now cuts the chain at the bad link, and links the
     * whole items past it into their bucket again: only the damaged item is lost.
     */
    @Test
    void theToolsRepairCutsABrokenChainAndTheStoreChecksClean() throws Exception {
        for (final int field : new int[] {ItemLayout.STATE, ItemLayout.NEXT, ItemLayout.HASH, ItemLayout.KEY_LEN}) {
            final Path file = dir.resolve("chain" + field + ".store");
            try (SharedStore store = SharedStore.create(file, OPTIONS)) {
                for (int i = 0; i < 300; i++) {
                    assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i), 0, 0));
                }
                final int item = itemOf(store, "k7");
                final int garbage = switch (field) {
                    case ItemLayout.STATE -> 77;
                    case ItemLayout.NEXT -> item; // a cycle
                    case ItemLayout.HASH -> store.arena().raw().getInt(item + ItemLayout.HASH) ^ 0x5555;
                    default -> 300;
                };
                store.arena().raw().putInt(item + field, garbage);
                assertFalse(store.check().isEmpty(), "field " + field);

                final List<String> done = IpcCheck.repair(store.arena(), 1_000_000_000L);
                assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: cut 1 chain(s)")),
                    "field " + field + ": " + done);
                assertEquals(List.of(), IpcCheck.check(store.arena()), "field " + field + " after the repair");
                assertEquals(List.of(), store.check());
                for (int i = 0; i < 300; i++) {
                    final byte[] v = store.get(b("k" + i));
                    if (i != 7) {
                        // The items past the cut are linked again (the repair used to drop them).
                        assertArrayEquals(Values.make(i), v, "field " + field + ": k" + i);
                    }
                    assertTrue(v == null || Values.check(v, v.length) == null, "k" + i);
                    assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i + 1), 0, 0), "k" + i);
                }
                // The tail passes what the repair left (padding, items dropped from their chains).
                final long head = store.stats().get("ring_head");
                for (int i = 0; store.stats().get("ring_tail") < head; i++) {
                    assertEquals(StoreResult.STORED, store.set(b("lap" + (i % 500)), Values.make(i), 0, 0), "lap " + i);
                }
                assertEquals(List.of(), store.check());
            }
        }
    }

    /**
     * An item's SIZE garbled while it stays chained: reads never use SIZE, so the item is still
     * read, and when the tail reaches it, used, eviction moved it to the head by copying SIZE bytes.
     * A SIZE of a PAD header (16) made that copy's length negative (a raw
     * {@link IndexOutOfBoundsException} out of {@code set}); a SIZE too large copied the records
     * after it into the copy. The write now ends in {@link ArenaCorruptedException}, and the tools'
     * repair cuts the chain, after which the tail passes the item and every key writes again.
     */
    @Test
    void aChainedItemWhoseSizeDisagreesWithItsHeaderIsCorruptionAtTheTail() throws Exception {
        for (final int garbage : new int[] {ItemLayout.PAD_HEADER, 48, 4096}) {
            try (SharedStore store = SharedStore.create(dir.resolve("size" + garbage + ".store"), OPTIONS)) {
                assertEquals(StoreResult.STORED, store.set(b("a"), b("1"), 0, 0));
                assertArrayEquals(b("1"), store.get(b("a"))); // used: the tail moves it rather than evicting it
                store.arena().raw().putInt(itemOf(store, "a") + ItemLayout.SIZE, garbage);
                final long head = store.stats().get("ring_head");
                ArenaCorruptedException met = null;
                for (int i = 0; met == null && store.stats().get("ring_tail") <= head; i++) {
                    try {
                        assertEquals(StoreResult.STORED, store.set(b("k" + (i % 500)), Values.make(i), 0, 0), "i=" + i);
                    } catch (final ArenaCorruptedException e) {
                        met = e;
                    }
                }
                assertTrue(met != null && met.getMessage().contains("linked record at the tail does not match its header"),
                    "garbage " + garbage + ": " + met);

                final List<String> done = IpcCheck.repair(store.arena(), 1_000_000_000L);
                assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: cut 1 chain(s)")),
                    "garbage " + garbage + ": " + done);
                assertEquals(List.of(), IpcCheck.check(store.arena()), "garbage " + garbage + " after the repair");
                final long after = store.stats().get("ring_head");
                for (int i = 0; store.stats().get("ring_tail") < after; i++) {
                    assertEquals(StoreResult.STORED, store.set(b("lap" + (i % 500)), Values.make(i), 0, 0), "lap " + i);
                }
                assertEquals(List.of(), store.check());
            }
        }
    }
}
