package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.ItemLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One item header garbled by another process of the user (a stray write into a live store): the
 * damage stays that item's. A read or write of its key ends in {@link ArenaCorruptedException},
 * never in a value longer than the store holds; no other key is touched.
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
}
