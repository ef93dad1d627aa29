package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.ipc.IpcCheck;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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

    /** Stores {@code k0} to {@code k<n-1>}, each with {@link Values#make} of its number. */
    private static void fill(final SharedStore store, final int n) {
        for (int i = 0; i < n; i++) {
            assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i), 0, 0));
        }
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
     * A value length within the max item size but past its record (a bit flipped: 103 to 8,295;
     * or 62 to 1,000), or shorter than the record holds (62 to 1): reads handed back that many
     * bytes, the records that follow (other keys' values) for a longer one, and an append then
     * stored the garbage as a sound item, check clean after. The record's size tells: corruption.
     */
    @ParameterizedTest
    @ValueSource(ints = {8_295, 1_000, 1})
    void aValueLengthPastOrShortOfItsRecordIsCorruptionNotAValue(final int length) throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("len.store"), OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("a"), new byte[62], 0, 0));
            for (int i = 0; i < 100; i++) {
                assertEquals(StoreResult.STORED, store.set(b("other" + i), Values.make(i), 0, 0));
            }
            store.arena().raw().putInt(itemOf(store, "a") + ItemLayout.VALUE_LEN, length);
            assertThrows(ArenaCorruptedException.class, () -> store.get(b("a")));
            assertThrows(ArenaCorruptedException.class, () -> store.getMulti(b("a"), b("other1")));
            assertThrows(ArenaCorruptedException.class, () -> store.reader().get(b("a")));
            assertThrows(ArenaCorruptedException.class, () -> store.append(b("a"), b("!")));
            assertFalse(store.check().isEmpty(), "check names the item");
            for (int i = 0; i < 100; i++) {
                assertArrayEquals(Values.make(i), store.get(b("other" + i)));
            }
        }
    }

    /**
     * The file cut short while the store has it mapped (another process's ftruncate): the store's
     * check, stats and repair threw the JVM's raw {@code InternalError}; they now say what happened,
     * as the arena's own check and stat do, and the close reports the cut.
     */
    @Test
    void aFileCutShortUnderTheStoreIsNamedByItsCheckStatsAndRepair() throws Exception {
        final SharedStore store = SharedStore.create(dir.resolve("cut.store"), OPTIONS);
        for (int i = 0; i < 100; i++) {
            assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i), 0, 0));
        }
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(store.arena().path(),
            java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(store.arena().firstUserPage() * store.arena().pageSize());
        }
        for (final org.junit.jupiter.api.function.Executable call : List.<org.junit.jupiter.api.function.Executable>of(
            store::check, store::stats, store::repair)) {
            final io.sharena.core.ArenaFaultException e = assertThrows(io.sharena.core.ArenaFaultException.class, call);
            assertTrue(e.getMessage().contains("truncated while mapped"), e.getMessage());
        }
        final java.io.IOException closing = assertThrows(java.io.IOException.class, store::close);
        assertTrue(closing.getMessage().contains("truncated while mapped"), closing.getMessage());
    }

    /**
     * A value length grown by one write to end exactly where a later record starts: the repair
     * took the lengths for the record's and its SIZE for the word that was hit, set the SIZE from
     * them, and the item then read the next records' bytes as its value, `check` clean after (a
     * campaign's 251-byte value over a 192-byte record). With both ends at a record's start the SIZE
     * now stays: the item, its lengths not its record's, is dropped; the records after it keep theirs.
     */
    @Test
    void aValueLengthGrownOntoALaterRecordIsNotTakenForTheRecords() throws Exception {
        final Path file = dir.resolve("grown.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("a"), new byte[60], 0, 0));
            assertEquals(StoreResult.STORED, store.set(b("b"), Values.make(1), 0, 0));
            assertEquals(StoreResult.STORED, store.set(b("c"), Values.make(2), 0, 0));
            final ArenaView v = store.arena().raw();
            final int a = itemOf(store, "a");
            final int bSize = v.getInt(itemOf(store, "b") + ItemLayout.SIZE);
            // a's lengths now end where c starts: a record of a's SIZE plus b's.
            v.putInt(a + ItemLayout.VALUE_LEN, 60 + bSize);
            assertThrows(ArenaCorruptedException.class, () -> store.get(b("a")));
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            assertFalse(IpcCheck.check(arena).isEmpty());
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertFalse(done.stream().anyMatch(l -> l.contains("restored the record size")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena), done.toString());
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertNull(store.get(b("a")), "dropped, not served the next records' bytes");
            assertArrayEquals(Values.make(1), store.get(b("b")));
            assertArrayEquals(Values.make(2), store.get(b("c")));
        }
    }

    /** Where a stray write puts the ring's head or tail. */
    enum PositionDamage {
        TAIL_NEGATIVE, HEAD_FAR_AHEAD, TAIL_AT_HEAD, TAIL_AT_A_MIDDLE_ITEM, HEAD_ZERO, HEAD_MISALIGNED_TAIL_NEGATIVE,
        HEAD_INSIDE_THE_LAST_RECORD
    }

    /**
     * Head or tail overwritten (a stray write; no kill leaves them so). The repair used to empty
     * the ring whenever they were out of range, and to cut every chain that led outside them when
     * they were in range but wrong (a tail moved onto the head, or onto an item in the middle):
     * every item lost, though each record still says where it starts and how long it is. The
     * repair now finds both again from the records ({@link HeaderEvidence}): every item reads its
     * value, the store checks clean, and writes go on lap after lap. In a ring that has gone round
     * (the records behind the tail are the previous lap's, passed and DEAD) and in one that has not.
     */
    @ParameterizedTest
    @EnumSource(PositionDamage.class)
    void theToolsRepairFindsOverwrittenPositionsAgainFromTheRecords(final PositionDamage damage) throws Exception {
        for (final boolean wrapped : new boolean[] {false, true}) {
            final Path file = dir.resolve(damage + "-" + wrapped + ".store");
            final int keys = 300;
            final byte[][] values = new byte[keys][];
            long head;
            try (SharedStore store = SharedStore.create(file, OPTIONS)) {
                // Wrapped: the ring goes round twice, every key rewritten over and over.
                for (int i = 0; i < keys || wrapped && store.stats().get("ring_tail") < 2L << 20; i++) {
                    values[i % keys] = Values.make(i);
                    assertEquals(StoreResult.STORED, store.set(b("k" + (i % keys)), values[i % keys], 0, 0));
                }
                assertEquals(List.of(), store.check());
                final ArenaView v = store.arena().raw();
                final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
                head = v.getLong(header + io.sharena.ipc.layout.StoreLayout.HEAD);
                final int headWord = header + io.sharena.ipc.layout.StoreLayout.HEAD;
                final int tailWord = header + io.sharena.ipc.layout.StoreLayout.TAIL;
                switch (damage) {
                    case TAIL_NEGATIVE -> v.putLong(tailWord, -1);
                    case HEAD_FAR_AHEAD -> v.putLong(headWord, 1L << 62);
                    case TAIL_AT_HEAD -> v.putLong(tailWord, head);
                    case TAIL_AT_A_MIDDLE_ITEM -> v.putLong(tailWord, v.getLong(itemOf(store, "k150") + ItemLayout.POS));
                    case HEAD_ZERO -> v.putLong(headWord, 0);
                    case HEAD_INSIDE_THE_LAST_RECORD -> v.putLong(headWord, head - ItemLayout.ALIGN);
                    case HEAD_MISALIGNED_TAIL_NEGATIVE -> {
                        v.putLong(headWord, head + 8);
                        v.putLong(tailWord, -16);
                    }
                }
            }
            try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
                io.sharena.core.ArenaOptions.defaults())) {
                assertTrue(IpcCheck.check(arena).stream().anyMatch(l -> l.contains("ring positions out of range")
                    || l.contains("chained item outside the live ring") || l.contains("ring records overrun the head")),
                    damage + ": " + IpcCheck.check(arena));
                final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
                assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: ring positions ")
                    && l.endsWith(": found again from the records: head=" + head + ", tail=" + l.substring(
                    l.lastIndexOf('=') + 1))), damage + ", wrapped=" + wrapped + ": " + done);
                assertEquals(List.of(), IpcCheck.check(arena), damage + ", wrapped=" + wrapped + ": " + done);
                assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L), "a second repair finds nothing");
            }
            try (SharedStore store = SharedStore.open(file, OPTIONS)) {
                for (int k = 0; k < keys; k++) {
                    assertArrayEquals(values[k], store.get(b("k" + k)), damage + ", wrapped=" + wrapped + ": k" + k);
                }
                assertEquals((long) keys, store.stats().get("curr_items"));
                final long from = store.stats().get("ring_head");
                for (int i = 0; store.stats().get("ring_tail") < from + (1L << 20); i++) {
                    assertEquals(StoreResult.STORED, store.set(b("k" + (i % keys)), Values.make(i), 0, 0), "i=" + i);
                    final byte[] v = store.get(b("k" + (i % keys)));
                    assertTrue(v != null && Values.check(v, v.length) == null, "k" + (i % keys));
                }
                assertEquals(List.of(), store.check());
            }
        }
    }

    /**
     * Two stray writes: HEAD moved behind TAIL, and one item's POS word a ring's length ahead (or
     * its SIZE word set to -1). The repair, finding the positions again without sound ones to place
     * the items by, took the item a lap ahead for the newest record and kept it alone (or stopped at
     * the record whose SIZE does not parse and kept the items on one side of it): 2,452 of 2,490
     * items lost in the campaign, check clean after. Now the newest item is the latest of the most
     * items that lie within a ring's length, and a LINKED record whose lengths end where the next
     * record starts is walked over by its lengths: every other item is kept (the item whose POS was
     * hit is padded by the repair's walk; the one whose SIZE was hit gets its size back).
     */
    @ParameterizedTest
    @ValueSource(strings = {"POS k100", "SIZE k100", "POS oldest", "POS second", "SIZE oldest"})
    void theToolsRepairKeepsTheItemsWhenHeadAndOneItemWereHit(final String what) throws Exception {
        final String word = what.split(" ")[0];
        for (final boolean wrapped : new boolean[] {false, true}) {
            final Path file = dir.resolve(what.replace(' ', '-') + "-" + wrapped + ".store");
            int hitKey = 100;
            final int keys = 300;
            final byte[][] values = new byte[keys][];
            try (SharedStore store = SharedStore.create(file, OPTIONS)) {
                for (int i = 0; i < keys || wrapped && store.stats().get("ring_tail") < 2L << 20; i++) {
                    values[i % keys] = Values.make(i);
                    assertEquals(StoreResult.STORED, store.set(b("k" + (i % keys)), values[i % keys], 0, 0));
                }
                final ArenaView v = store.arena().raw();
                final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
                final long tail = v.getLong(header + StoreLayout.TAIL);
                v.putLong(header + StoreLayout.HEAD, tail - ItemLayout.ALIGN);
                if (!what.endsWith("k100")) {
                    // The item nearest the tail (or the next one): the oldest a chain reaches.
                    final long[] pos = new long[keys];
                    for (int k = 0; k < keys; k++) {
                        pos[k] = v.getLong(itemOf(store, "k" + k) + ItemLayout.POS);
                    }
                    final long[] sorted = pos.clone();
                    java.util.Arrays.sort(sorted);
                    final long chosen = sorted[what.endsWith("oldest") ? 0 : 1];
                    for (int k = 0; k < keys; k++) {
                        if (pos[k] == chosen) {
                            hitKey = k;
                        }
                    }
                }
                final int hit = itemOf(store, "k" + hitKey);
                if (word.equals("POS")) {
                    v.putLong(hit + ItemLayout.POS, v.getLong(hit + ItemLayout.POS) + v.getLong(header + StoreLayout.RING_BYTES));
                } else {
                    v.putInt(hit + ItemLayout.SIZE, -1);
                }
            }
            try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
                io.sharena.core.ArenaOptions.defaults())) {
                assertFalse(IpcCheck.check(arena).isEmpty());
                final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
                assertEquals(List.of(), IpcCheck.check(arena), word + ", wrapped=" + wrapped + ": " + done);
            }
            try (SharedStore store = SharedStore.open(file, OPTIONS)) {
                for (int k = 0; k < keys; k++) {
                    if (k != hitKey || word.equals("SIZE")) {
                        assertArrayEquals(values[k], store.get(b("k" + k)), word + ", wrapped=" + wrapped + ": k" + k);
                    }
                }
                final long from = store.stats().get("ring_head");
                for (int i = 0; store.stats().get("ring_tail") < from + (1L << 20); i++) {
                    assertEquals(StoreResult.STORED, store.set(b("k" + (i % keys)), Values.make(i), 0, 0), "i=" + i);
                }
                assertEquals(List.of(), store.check());
            }
        }
    }

    /**
     * Head and tail out of range and no record known to be live (every bucket word zeroed too): the
     * repair empties the ring at one position and cuts every chain, so that the store opens again,
     * empty, checks clean and writes lap after lap (it used to leave the file unusable for good).
     */
    @Test
    void theToolsRepairEmptiesARingWhosePositionsNoRecordCanGiveBack() throws Exception {
        final Path file = dir.resolve("positions.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store, 300);
            final ArenaView v = store.arena().raw();
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            v.putLong(header + io.sharena.ipc.layout.StoreLayout.TAIL, -1);
            final int buckets = v.getInt(header + io.sharena.ipc.layout.StoreLayout.BUCKETS_PTR);
            final int count = 1 << v.getInt(header + io.sharena.ipc.layout.StoreLayout.BUCKET_BITS);
            v.fill(buckets, (long) count * io.sharena.ipc.layout.StoreLayout.BUCKET_SIZE, (byte) 0);
        }
        final io.sharena.core.ArenaFormatException refused = assertThrows(io.sharena.core.ArenaFormatException.class,
            () -> SharedStore.open(file, OPTIONS).close());
        assertEquals("store.positions", refused.field());
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: ring positions out of range"
                + " (head=") && l.contains("no record known to be live: the ring emptied")), done.toString());
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
     * A stray write into the CAS counter, lowering it below the items' CAS values or moving it to
     * the edge of wrapping: check said ok, yet new items took CAS values already in use (a client's
     * cas could match another write) and a flush_all left every item above the counter visible (a
     * corrupted-file campaign). Now check names it and the repair sets it to the largest CAS value
     * in use, after which a flush hides every item and new items take new values.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(longs = {0, 1, -1L, 1L << 62})
    void aCasCounterBelowTheItemsOrAboutToWrapIsNamedAndSet(final long damaged) throws Exception {
        final Path file = dir.resolve("cas.store");
        long newest = 0;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store, 50);
            newest = store.gets(b("k49")).cas(); // the last write's
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putLong(header + io.sharena.ipc.layout.StoreLayout.CAS_COUNTER, damaged);
            assertTrue(store.check().stream().anyMatch(v -> v.startsWith("CAS counter")), store.check().toString());
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            final long expected = newest;
            assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: CAS counter")
                && l.endsWith(": set to " + expected + ", the largest CAS value in use")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("new"), b("v"), 0, 0));
            assertTrue(store.gets(b("new")).cas() > newest, "a new item takes a new CAS value");
            store.flushAll(0);
            for (int i = 0; i < 50; i++) {
                assertEquals(null, store.get(b("k" + i)), "k" + i + " flushed");
            }
            assertEquals(null, store.get(b("new")));
        }
    }

    /**
     * A key byte or its length overwritten (within range): the item's key no longer hashes to its
     * HASH word, so no look-up finds it, while check and the repair found nothing. Now check names
     * it and the repair cuts it out (the items after it in its chain are linked again); every other
     * key keeps its value.
     */
    @Test
    void anItemWhoseKeyNoLongerHashesToItsWordIsNamedAndCutOut() throws Exception {
        final Path file = dir.resolve("hash.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store, 200);
            final ArenaView v = store.arena().raw();
            v.putByte(itemOf(store, "k7") + ItemLayout.KEY, (byte) 0);
            v.putInt(itemOf(store, "k42") + ItemLayout.KEY_LEN, 2);
            assertEquals(2, store.check().stream().filter(l -> l.startsWith("item whose key does not hash")).count(),
                store.check().toString());
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.contains("cut 2 chain(s)")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            for (int i = 0; i < 200; i++) {
                if (i != 7 && i != 42) {
                    assertArrayEquals(Values.make(i), store.get(b("k" + i)), "k" + i);
                }
            }
            assertEquals(198L, store.stats().get("curr_items"));
            assertEquals(StoreResult.STORED, store.set(b("k7"), b("again"), 0, 0));
            assertArrayEquals(b("again"), store.get(b("k7")));
        }
    }

    /**
     * The store's root pointing past the end of the arena (a stray write into the roots entry): the
     * store's open read a header field there before checking where the header was, and the
     * JDK's IndexOutOfBoundsException reached the user ("unexpected", from serve). Now the open is
     * refused, naming the header's place.
     */
    @Test
    void aRootPointingPastTheArenaIsRefusedByName() throws Exception {
        final Path file = dir.resolve("root.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            io.sharena.ipc.NamedRoots.of(store.arena()).put(SharedStore.DEFAULT_ROOT, 0xFFFF_F000);
        }
        final io.sharena.core.ArenaFormatException refused = assertThrows(io.sharena.core.ArenaFormatException.class,
            () -> SharedStore.open(file, OPTIONS).close());
        assertEquals("store.header", refused.field(), refused.getMessage());
        assertThrows(io.sharena.core.ArenaFormatException.class, () -> SharedStore.openOrCreate(file, OPTIONS).close());
    }

    /**
     * The store's root set to a pointer that is not a page start (not even 8-aligned): the open's
     * first atomic read of the header threw the JDK's "Misaligned access". Now it is refused by name.
     */
    @Test
    void aRootThatIsNoPageStartIsRefusedByName() throws Exception {
        final Path file = dir.resolve("misaligned.store");
        final int header;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            io.sharena.ipc.NamedRoots.of(store.arena()).put(SharedStore.DEFAULT_ROOT, header + 4);
        }
        final io.sharena.core.ArenaFormatException refused = assertThrows(io.sharena.core.ArenaFormatException.class,
            () -> SharedStore.open(file, OPTIONS).close());
        assertEquals("store.header", refused.field(), refused.getMessage());
    }

    /**
     * The header's max item size lowered by a stray write: every item over the new limit read as
     * damage ("store corrupted" from every get), check blamed the items, and the repair cut every
     * chain at one, dropping nearly every item (a corrupted-file campaign). Now the repair restores
     * the limit (the default, within what the ring allows): every item reads again.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 16, 100})
    void aLoweredMaxItemSizeIsRaisedToTheItemsItHolds(final int lowered) throws Exception {
        final Path file = dir.resolve("max.store");
        int largest = 0;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store, 200);
            for (int i = 0; i < 200; i++) {
                largest = Math.max(largest, Values.make(i).length);
            }
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putInt(header + io.sharena.ipc.layout.StoreLayout.MAX_ITEM, lowered);
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertFalse(store.check().isEmpty());
            assertThrows(ArenaCorruptedException.class, () -> {
                for (int i = 0; i < 200; i++) {
                    store.get(b("k" + i));
                }
            });
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            final int expected = largest;
            assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: max item size below the value a whole"
                + " item holds (maxItemSize=" + lowered + ", value=" + expected + "): restored to ")), done.toString());
            assertFalse(done.stream().anyMatch(l -> l.contains("cut ")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            for (int i = 0; i < 200; i++) {
                assertArrayEquals(Values.make(i), store.get(b("k" + i)), "k" + i);
            }
            // 1 MiB does not fit this 1 MiB ring: the largest value the ring allows.
            assertTrue(store.maxItemSize() >= largest && store.maxItemSize() < (1 << 19), "" + store.maxItemSize());
            final byte[] big = new byte[store.maxItemSize()];
            assertEquals(StoreResult.STORED, store.set(b("big"), big, 0, 0));
        }
    }

    /**
     * The store's root lost (a stray write into the roots entry; here the name removed, its store
     * left whole): {@code openOrCreate} (what {@code serve} does) created a second, empty store
     * beside it without a word, or failed with "no room for the store" when the file had none. Now
     * it is refused, naming the lost store, and the repair names it again with every item.
     */
    @Test
    void aStoreWhoseRootWasLostIsNotReplacedByANewOne() throws Exception {
        final Path file = dir.resolve("lost.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store, 50);
            assertTrue(io.sharena.ipc.NamedRoots.of(store.arena()).remove(SharedStore.DEFAULT_ROOT) != 0);
        }
        final io.sharena.core.ArenaFormatException refused = assertThrows(io.sharena.core.ArenaFormatException.class,
            () -> SharedStore.openOrCreate(file, OPTIONS).close());
        assertEquals("store.root", refused.field(), refused.getMessage());
        assertTrue(refused.getMessage().contains("'arena check --repair' names it again"), refused.getMessage());
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            IpcCheck.repair(arena, 1_000_000_000L);
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.openOrCreate(file, OPTIONS)) {
            for (int i = 0; i < 50; i++) {
                assertArrayEquals(Values.make(i), store.get(b("k" + i)), "k" + i);
            }
        }
    }

    /**
     * The store's header overwritten, magic and all (random bytes over its first page): the file
     * checked clean, since the root no longer named a store, while {@code serve} refused it. Now
     * the check says what serve will meet.
     */
    @Test
    void aDefaultRootNamingAGarbledHeaderFailsTheCheck() throws Exception {
        final Path file = dir.resolve("garbled.store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("k"), b("v"), 0, 0));
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final java.util.SplittableRandom r = new java.util.SplittableRandom(5);
            for (int i = 0; i < 4096; i += 8) {
                store.arena().raw().putLong(header + i, r.nextLong());
            }
        }
        assertThrows(io.sharena.core.ArenaFormatException.class, () -> SharedStore.openOrCreate(file, OPTIONS).close());
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            assertTrue(IpcCheck.check(arena).stream().anyMatch(l -> l.startsWith("store sharena.store: its root names a"
                + " page that holds no store header")), IpcCheck.check(arena).toString());
        }
    }

    /**
     * A stray write into the flush watermark, above the CAS counter: every get missed and every new
     * set answered STORED and then missed too, for good, while check and check --repair found
     * nothing (a corrupted-file campaign on a served store). Then check named it and the repair
     * lowered it to the counter, every item it hid lost (the campaign's 2,490). Now the repair
     * restores the last flush's watermark from its copy: the items the flush hid stay hidden, the
     * ones only the stray write hid show again. With the copy hit too, or none kept (a file made
     * before it: 0), it lowers it to the counter; a copy alone hit above the watermark is named and
     * set back.
     */
    @ParameterizedTest
    @ValueSource(strings = {"COPY_KEPT", "COPY_HIT_TOO", "NO_COPY", "COPY_ALONE_HIT", "FLUSH_LOWERED", "COUNTER_HIT_TOO"})
    void aFlushWatermarkAboveTheCasCounterIsNamedAndRestored(final String copyCase) throws Exception {
        final Path file = dir.resolve("flush-" + copyCase + ".store");
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("flushed"), b("f"), 0, 0));
            store.flushAll(0);
            assertEquals(StoreResult.STORED, store.set(b("k"), b("v"), 0, 0));
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final ArenaView v = store.arena().raw();
            if (!copyCase.equals("COPY_ALONE_HIT") && !copyCase.equals("FLUSH_LOWERED")) {
                v.putLong(header + StoreLayout.FLUSH_CAS, 1L << 60);
            }
            switch (copyCase) {
                case "COPY_HIT_TOO", "COPY_ALONE_HIT" -> v.putLong(header + StoreLayout.FLUSH_CAS_COPY, 1L << 60);
                case "NO_COPY" -> v.putLong(header + StoreLayout.FLUSH_CAS_COPY, 0);
                case "FLUSH_LOWERED" -> v.putLong(header + StoreLayout.FLUSH_CAS, 0); // the flushed item shows again
                case "COUNTER_HIT_TOO" -> v.putLong(header + StoreLayout.CAS_COUNTER, 0);
                default -> {
                }
            }
            if (!copyCase.equals("COPY_ALONE_HIT") && !copyCase.equals("FLUSH_LOWERED")) {
                assertEquals(null, store.get(b("k")));
                assertEquals(StoreResult.STORED, store.set(b("n"), b("1"), 0, 0));
                assertEquals(null, store.get(b("n")), "new writes hidden too");
            }
            assertTrue(store.check().stream().anyMatch(x -> x.startsWith("flush watermark")), store.check().toString());
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            final String said = switch (copyCase) {
                case "COPY_KEPT", "COUNTER_HIT_TOO" -> "(the items it hid show again)";
                case "FLUSH_LOWERED" -> "(no flush lowers it)";
                case "COPY_HIT_TOO" -> "lowered to the counter (its copy is above it too); the items it hid stay flushed,"
                    + " new ones show";
                case "NO_COPY" -> "lowered to the counter (no copy kept); the items it hid stay flushed, new ones show";
                default -> "its copy set to the watermark";
            };
            assertTrue(done.stream().anyMatch(l -> l.contains("flush watermark") && l.endsWith(said)), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertEquals(null, store.get(b("flushed")), "what the flush hid stays hidden");
            if (!copyCase.equals("COPY_HIT_TOO") && !copyCase.equals("NO_COPY")) {
                assertArrayEquals(b("v"), store.get(b("k")), "what the stray write alone hid shows again");
            } else {
                assertEquals(null, store.get(b("k")));
            }
            if (copyCase.equals("COPY_KEPT")) {
                // (With the counter hit too, n was given a CAS value the flush had covered: hidden.)
                assertArrayEquals(b("1"), store.get(b("n")));
            }
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
     * repair sets the size back from the item's header (the record after it is whole), after which
     * the item reads as before and every key writes again.
     */
    @Test
    void aChainedItemWhoseSizeDisagreesWithItsHeaderIsCorruptionAtTheTail() throws Exception {
        for (final int garbage : new int[] {ItemLayout.PAD_HEADER, 48, 4096}) {
            try (SharedStore store = SharedStore.create(dir.resolve("size" + garbage + ".store"), OPTIONS)) {
                assertEquals(StoreResult.STORED, store.set(b("a"), b("1"), 0, 0));
                assertArrayEquals(b("1"), store.get(b("a"))); // used: the tail moves it rather than evicting it
                store.arena().raw().putInt(itemOf(store, "a") + ItemLayout.SIZE, garbage);
                final ArenaCorruptedException met = writeUntilTheTailPassesTheHead(store);
                assertTrue(met != null && met.getMessage().contains("linked record at the tail does not match its header"),
                    "garbage " + garbage + ": " + met);

                // The record after it is whole: the repair sets the size back from the header, and the
                // item stays (it used to be cut from its chain and lost).
                final List<String> done = IpcCheck.repair(store.arena(), 1_000_000_000L);
                assertTrue(done.stream().anyMatch(l -> l.startsWith("store sharena.store: restored the record size of 1")),
                    "garbage " + garbage + ": " + done);
                assertEquals(List.of(), IpcCheck.check(store.arena()), "garbage " + garbage + " after the repair");
                assertArrayEquals(b("1"), store.get(b("a")), "garbage " + garbage + ": the item after the repair");
                writeALap(store);
                assertEquals(List.of(), store.check());
            }
        }
    }

    /**
     * A DEAD record's SIZE grown by a stray write to run over the linked item right after it (found
     * by an audit of the read paths): the tail passed DEAD records by their SIZE unread, so it
     * skipped the item, still chained and readable, and the head then wrote new records over its
     * bytes. The tail now looks inside a record it passes unread whose lengths do not give its size:
     * the write that meets it ends in {@link ArenaCorruptedException}, and the tools' repair walks
     * to the item instead of over it, which reads as before.
     */
    @Test
    void aDeadRecordWhoseSizeRunsOverALinkedItemIsCorruptionAtTheTail() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("dead.store"), OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("d"), b("12345678"), 0, 0));
            assertEquals(StoreResult.STORED, store.set(b("a"), b("1"), 0, 0));
            final ArenaView v = store.arena().raw();
            final int dead = itemOf(store, "d");
            final int live = itemOf(store, "a");
            final int deadSize = v.getInt(dead + ItemLayout.SIZE);
            assertEquals(dead + deadSize, live, "the item right after the deleted one");
            assertEquals(StoreResult.DELETED, store.delete(b("d")));
            v.putInt(dead + ItemLayout.SIZE, deadSize + v.getInt(live + ItemLayout.SIZE));
            final ArenaCorruptedException met = writeUntilTheTailPassesTheHead(store);
            assertTrue(met != null && met.getMessage().contains("runs over a linked record"), String.valueOf(met));
            assertArrayEquals(b("1"), store.get(b("a")), "the item is still read");

            IpcCheck.repair(store.arena(), 1_000_000_000L);
            assertEquals(List.of(), IpcCheck.check(store.arena()), "after the repair");
            assertArrayEquals(b("1"), store.get(b("a")), "the item after the repair");
            writeALap(store);
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Bytes a record passed unread covers (a PAD's are an earlier lap's, a client's value among them)
     * can be made to look like a linked item's header at the place they lie. Taken on its looks,
     * such a header ended every write that reached the tail in "corrupted": a client could stop
     * every writer of the store with one value. A record that looks linked is one only if its
     * bucket's chain leads to it.
     */
    @Test
    void bytesThatLookLikeALinkedItemButAreInNoChainDoNotStopTheTail() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("looks.store"), OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(b("d"), b("12345678"), 0, 0));
            assertEquals(StoreResult.STORED, store.set(b("a"), b("1"), 0, 0));
            final ArenaView v = store.arena().raw();
            final int dead = itemOf(store, "d");
            final int look = itemOf(store, "a");
            final int deadSize = v.getInt(dead + ItemLayout.SIZE);
            assertEquals(dead + deadSize, look, "the item right after the deleted one");
            // Both gone from their chains; the second keeps a LINKED header, as a value's bytes could
            // show one, and the first runs over it as a PAD does.
            assertEquals(StoreResult.DELETED, store.delete(b("d")));
            assertEquals(StoreResult.DELETED, store.delete(b("a")));
            v.putIntRelease(look + ItemLayout.STATE, ItemLayout.LINKED);
            v.putInt(dead + ItemLayout.SIZE, deadSize + v.getInt(look + ItemLayout.SIZE));

            assertNull(writeUntilTheTailPassesTheHead(store), "a write met the look-alike");
            assertNull(store.get(b("a")));
            writeALap(store);
        }
    }

    /**
     * A write that takes its stripe's lock over from a dead holder recounts the stripe, and a chain
     * of the stripe that does not parse makes the recount throw. The record the write had built was
     * left RESERVED by its live process: once the tail reached it, every write of every process
     * waited for it and answered NO_MEMORY, for as long as that process lived, repair or not (a
     * review, 2026-12-06). The write gives its record up now.
     */
    @Test
    void aWriteWhoseLockTakeoverFindsItsStripeBrokenGivesItsRecordUp() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("takeover.store"), OPTIONS)) {
            fill(store, 300);
            final ArenaView v = store.arena().raw();
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final int hash = Index.hash(b("k0"), 2);
            final int buckets = v.getInt(header + StoreLayout.BUCKETS_PTR);
            final int bucketCount = 1 << v.getInt(header + StoreLayout.BUCKET_BITS);
            final int stripeCount = v.getInt(header + StoreLayout.STRIPES);
            final int stripe = hash & (stripeCount - 1);
            // Another bucket of k0's stripe leads to the store's header: no linked item.
            final int other = buckets + (((hash & (bucketCount - 1)) + stripeCount) & (bucketCount - 1)) * StoreLayout.BUCKET_SIZE;
            final int saved = v.getInt(other);
            v.putInt(other, header);
            // The stripe's lock names a holder that is no thread (a stray write): taken over at once.
            final int stripes = v.getInt(header + StoreLayout.STRIPES_PTR);
            v.putLongRelease(stripes + stripe * StoreLayout.STRIPE_SIZE + StoreLayout.STRIPE_LOCK,
                io.sharena.core.internal.ArenaInternals.ownership(store.arena()).process());
            assertThrows(ArenaCorruptedException.class, () -> store.set(b("k0"), Values.make(1), 0, 0));
            v.putInt(other, saved);
            assertEquals(0L, StoreTools.stats(store.arena(), SharedStore.DEFAULT_ROOT).get("ring_reserved"),
                "the write's record was given up");
            writeALap(store);
            writeALap(store);
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * One stray write into the header's fixed fields (the ring's size or place, the bucket bits, the
     * stripe count, the max item size; an 8-byte write over two of them): the store did not open,
     * and {@code check --repair} left it so, every item out of reach for good (a hostile-file
     * campaign, 2026-12-06). The repair now sets the fields back from those that agree, and every
     * item reads again.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
        "16, 8, 0", "16, 8, 2147483647", "16, 8, 4096", "24, 4, 4096", "24, 4, -2147483648", "24, 4, 8",
        "32, 4, 0", "12, 4, 0", "36, 4, -1", "36, 4, 0", "24, 8, 0", "40, 4, 0", "48, 4, 1"})
    void aStrayWriteIntoTheHeadersFixedFieldsIsSetBackByTheRepair(final int offset, final int bytes, final long value)
        throws Exception {
        final Path file = dir.resolve("geometry.store");
        final int header;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fillGoneRound(store);
            final ArenaView v = store.arena().raw();
            header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            // "24, 4, 8": the ring's place moved by 8 bytes (the value is added); others are written as they are.
            final long written = offset == 24 && value == 8 ? v.getInt(header + 24) + 8L : value;
            if (bytes == 8) {
                v.putLong(header + offset, written);
            } else {
                v.putInt(header + offset, (int) written);
            }
        }
        assertThrows(io.sharena.core.ArenaFormatException.class, () -> SharedStore.open(file, OPTIONS).close(),
            "the damaged header is refused");
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.contains("header's fixed fields hit by a stray write, set back")),
                done.toString());
            assertEquals(List.of(), IpcCheck.check(arena), "check after the repair: " + done);
            assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L), "a second repair has nothing to do");
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            for (int i = 0; i < 300; i++) {
                assertArrayEquals(Values.make(i), store.get(b("k" + i)), "k" + i);
            }
            if (offset == StoreLayout.MAX_ITEM) {
                // The size it was made with is nowhere else: the default, within what the ring holds.
                assertTrue(store.maxItemSize() >= OPTIONS.maxItemSize(), "max item size " + store.maxItemSize());
            } else {
                assertEquals(OPTIONS.maxItemSize(), store.maxItemSize());
            }
            writeALap(store);
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * The ring's size one page off (a stray write that leaves the access map's size, and so every
     * place in the region, as it was): the true geometry and the damaged one each disagree with one
     * field. On a ring that has gone round, the record at the tail says which is right.
     */
    @Test
    void aRingSizeOnePageOffIsSetBackByTheRecordAtTheTail() throws Exception {
        final Path file = dir.resolve("near.store");
        final long ring;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fillGoneRound(store);
            final ArenaView v = store.arena().raw();
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            ring = v.getLong(header + StoreLayout.RING_BYTES);
            v.putLong(header + StoreLayout.RING_BYTES, ring + 4096);
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.contains("ringBytes=" + (ring + 4096) + " -> " + ring)), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena), "check after the repair: " + done);
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * Two fields hit apart (the ring's size and the region's pages, which no one write covers): the
     * true geometry is among no candidate, and one the damaged ring size names looked close enough
     * to be written over the sound fields (a review found it: the store then opened on half its
     * ring, or on pages after its region that another owner holds, with check clean). Nothing is
     * written now while the ring has not gone round (its records prove no size), nor for one of the
     * two hit alone then ("1.0, 302"): the store is named as not opening.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"0.5, 0", "1.00390625, 2147483647", "1.0625, 0", "1.0, 302"})
    void twoFieldsHitApartAreLeftAsTheyAre(final double ringFactor, final int regionPages) throws Exception {
        final Path file = dir.resolve("apart.store");
        final byte[] before;
        final int header;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store, 300); // the ring has not gone round: its records prove no size
            final ArenaView v = store.arena().raw();
            header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final long ring = v.getLong(header + StoreLayout.RING_BYTES);
            v.putLong(header + StoreLayout.RING_BYTES, ((long) (ring * ringFactor)) & -4096L);
            v.putInt(header + StoreLayout.REGION_PAGES, regionPages);
            before = new byte[64];
            for (int i = 0; i < 64; i++) {
                before[i] = v.getByte(header + i);
            }
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(l -> l.contains("not repaired")), done.toString());
            assertFalse(done.stream().anyMatch(l -> l.contains("set back")), done.toString());
            for (int i = 0; i < 64; i++) {
                assertEquals(before[i], arena.raw().getByte(header + i), "header byte " + i + " unchanged");
            }
            assertFalse(IpcCheck.check(arena).isEmpty(), "still named");
        }
    }

    /**
     * Writes keys until the tail has passed the head as it reads now, or a write meets damage at the tail.
     *
     * @return what the write met, or null
     */
    private static ArenaCorruptedException writeUntilTheTailPassesTheHead(final SharedStore store) {
        final long head = store.stats().get("ring_head");
        for (int i = 0; store.stats().get("ring_tail") <= head; i++) {
            try {
                assertEquals(StoreResult.STORED, store.set(b("k" + (i % 500)), Values.make(i), 0, 0), "i=" + i);
            } catch (final ArenaCorruptedException e) {
                return e;
            }
        }
        return null;
    }

    /**
     * Stores {@code k0} to {@code k299}, sends the ring round twice (a ring gone round proves its
     * size: the header's ring size and region pages are set back only then), then stores the keys
     * again, so that each holds its own value.
     */
    private static void fillGoneRound(final SharedStore store) {
        fill(store, 300);
        writeALap(store);
        writeALap(store);
        fill(store, 300);
    }

    /** Writes until the tail reaches the head as it reads now: every write stores. */
    private static void writeALap(final SharedStore store) {
        final long after = store.stats().get("ring_head");
        for (int i = 0; store.stats().get("ring_tail") < after; i++) {
            assertEquals(StoreResult.STORED, store.set(b("lap" + (i % 500)), Values.make(i), 0, 0), "lap " + i);
        }
    }
}
