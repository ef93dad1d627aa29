package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.ItemLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SharedStore#prefetch}: a hint that changes nothing. Gets after it answer as gets without
 * it, it counts no get, it refuses what a get refuses, and it reads garbled links (a hostile file)
 * without an exception: it trusts nothing it loads.
 */
class StorePrefetchTest {
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(4L << 20).withMaxItemSize(4096);
    private static final int ITEMS = 3_000;

    @TempDir
    Path dir;

    private static byte[] key(final int i) {
        return ("key-" + i).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] value(final int i) {
        return ("value-" + i + "-" + "x".repeat(i % 97)).getBytes(StandardCharsets.UTF_8);
    }

    /** Every other key stored, so that the batch holds hits and misses, and chains of several items. */
    private static SharedStore filled(final Path file) throws Exception {
        final SharedStore store = SharedStore.create(file, OPTIONS);
        for (int i = 0; i < ITEMS; i += 2) {
            assertEquals(StoreResult.STORED, store.set(key(i), value(i), i, 0));
        }
        return store;
    }

    private static byte[][] keys(final int from, final int to) {
        final byte[][] keys = new byte[to - from][];
        for (int i = from; i < to; i++) {
            keys[i - from] = key(i);
        }
        return keys;
    }

    private static void assertGets(final SharedStore store, final byte[][] keys, final int first) {
        for (int i = 0; i < keys.length; i++) {
            final int k = first + i;
            if (k % 2 == 0) {
                assertArrayEquals(value(k), store.get(keys[i]), "key " + k);
            } else {
                assertNull(store.get(keys[i]), "key " + k);
            }
        }
    }

    @Test
    void getsAfterAPrefetchAnswerAsWithoutItAndNoGetIsCounted() throws Exception {
        try (SharedStore store = filled(dir.resolve("hint.store"))) {
            final byte[][] keys = keys(0, ITEMS);
            final Map<String, Long> before = store.stats();
            store.prefetch(keys, 0, keys.length);
            store.prefetch(keys, 17, 17);
            store.prefetch(keys, 5, 40);
            store.reader().prefetch(keys, 100, 2_000);
            final Map<String, Long> after = store.stats();
            for (final String name : new String[] {"cmd_get", "get_hits", "get_misses", "curr_items", "bytes"}) {
                assertEquals(before.get(name), after.get(name), name);
            }
            assertGets(store, keys, 0);
            assertEquals(before.get("cmd_get") + ITEMS, store.stats().get("cmd_get"));

            final StoreItem[] items = store.getMulti(keys(1_000, 1_040));
            for (int i = 0; i < items.length; i++) {
                final int k = 1_000 + i;
                if (k % 2 == 0) {
                    assertArrayEquals(value(k), items[i].value(), "key " + k);
                    assertEquals(k, items[i].flags());
                } else {
                    assertNull(items[i], "key " + k);
                }
            }
            final StoreReader r = store.reader();
            r.prefetch(keys, 0, 64);
            assertTrue(r.get(keys[32]));
            assertEquals(value(32).length, r.valueLength());
        }
    }

    @Test
    void aPrefetchRefusesWhatAGetRefuses() throws Exception {
        try (SharedStore store = filled(dir.resolve("refuse.store"))) {
            final byte[][] withNull = {key(0), null, key(2)};
            assertThrows(IllegalArgumentException.class, () -> store.prefetch(withNull, 0, 3));
            final byte[][] tooLong = {new byte[SharedStore.MAX_KEY + 1]};
            assertThrows(IllegalArgumentException.class, () -> store.prefetch(tooLong, 0, 1));
            final byte[][] empty = {new byte[0]};
            assertThrows(IllegalArgumentException.class, () -> store.reader().prefetch(empty, 0, 1));
            final byte[][] keys = keys(0, 10);
            assertThrows(IndexOutOfBoundsException.class, () -> store.prefetch(keys, 0, 11));
            assertThrows(IndexOutOfBoundsException.class, () -> store.prefetch(keys, 6, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> store.prefetch(keys, -1, 5));
            // Keys before the bad one were looked at, nothing was changed: every key reads as stored.
            assertGets(store, keys, 0);
        }
    }

    /** Keys as ranges of one buffer (a server's request line): the same hint, the same refusals. */
    @Test
    void keysAsRangesOfOneBuffer() throws Exception {
        try (SharedStore store = filled(dir.resolve("ranges.store"))) {
            final StringBuilder line = new StringBuilder("get");
            final int[] offsets = new int[40];
            final int[] lengths = new int[40];
            for (int i = 0; i < 40; i++) {
                line.append(' ');
                offsets[i] = line.length();
                lengths[i] = key(i).length;
                line.append(new String(key(i), StandardCharsets.UTF_8));
            }
            final byte[] buf = line.toString().getBytes(StandardCharsets.UTF_8);
            final StoreReader r = store.reader();
            final long gets = store.stats().get("cmd_get");
            r.prefetch(buf, offsets, lengths, 40);
            r.prefetch(buf, offsets, lengths, 0);
            assertEquals(gets, store.stats().get("cmd_get"));
            assertGets(store, keys(0, 40), 0);
            // The hash of a key in the middle of a buffer is the hash of the same bytes alone.
            for (int i = 0; i < 40; i++) {
                assertEquals(Index.hash(key(i), key(i).length), Index.hash(buf, offsets[i], lengths[i]), "key " + i);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> r.prefetch(buf, offsets, lengths, 41));
            assertThrows(IndexOutOfBoundsException.class, () -> r.prefetch(buf, offsets, lengths, -1));
            final int[] past = {buf.length - 2};
            assertThrows(IndexOutOfBoundsException.class, () -> r.prefetch(buf, past, new int[] {3}, 1));
            assertThrows(IllegalArgumentException.class, () -> r.prefetch(buf, new int[] {0}, new int[] {0}, 1));
            assertThrows(IllegalArgumentException.class,
                () -> r.prefetch(new byte[300], new int[] {0}, new int[] {SharedStore.MAX_KEY + 1}, 1));
        }
    }

    /**
     * Garbage in bucket words and in an item's HASH and NEXT (another process's stray writes): the
     * prefetch loads only inside the ring and throws nothing. The store's own gets then find the
     * damage and say so, as without a prefetch.
     */
    @Test
    void garbledLinksAreReadWithoutAnException() throws Exception {
        try (SharedStore store = filled(dir.resolve("garbled.store"))) {
            final ArenaView v = store.arena().raw();
            final int ringPtr = store.ring.ringPtr();
            final long ringEnd = Integer.toUnsignedLong(ringPtr) + store.ring.ringBytes();
            final int[] garbage = {
                1, 0xFFFF_FFF0, Integer.MIN_VALUE, ringPtr - ItemLayout.ALIGN, ringPtr + 8,
                // The last place a record header fits: its later lines would be past the ring's end.
                (int) (ringEnd - ItemLayout.HEADER), (int) (ringEnd - ItemLayout.ALIGN), (int) ringEnd,
            };
            final byte[][] keys = keys(0, ITEMS);
            for (final int g : garbage) {
                for (int i = 0; i < 64; i++) {
                    v.putInt(store.index.bucketWord(Index.hash(keys[i], keys[i].length)), g);
                }
                store.prefetch(keys, 0, keys.length);
            }
            // An item whose HASH is not its key's: the prefetch follows its NEXT, garbled too.
            final StoreReader r = store.reader();
            for (int k = 200; k < 264; k += 2) {
                assertTrue(r.get(key(k)));
                final int item = (int) r.valueOffset() - ItemLayout.KEY - key(k).length;
                v.putInt(item + ItemLayout.HASH, ~v.getInt(item + ItemLayout.HASH));
                v.putInt(item + ItemLayout.NEXT, garbage[(k / 2) % garbage.length]);
            }
            store.prefetch(keys, 0, keys.length);
            store.reader().prefetch(keys, 190, 280);
            // Keys of untouched buckets still read as stored.
            for (int k = 2_000; k < 2_100; k++) {
                final int bucket = store.index.bucketWord(Index.hash(key(k), key(k).length));
                boolean untouched = true;
                for (int i = 0; i < 64; i++) {
                    untouched &= bucket != store.index.bucketWord(Index.hash(keys[i], keys[i].length));
                }
                for (int j = 200; j < 264 && untouched; j += 2) {
                    untouched = bucket != store.index.bucketWord(Index.hash(key(j), key(j).length));
                }
                if (untouched) {
                    assertEquals(k % 2 == 0 ? value(k).length : -1, store.get(key(k), new byte[4096]), "key " + k);
                }
            }
        }
    }
}
