package io.sharena.ipc.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The read path: the zero-copy reader's allocation-free form, and lookups after the ring has wrapped. */
class StoreReaderTest {
    @TempDir
    Path dir;
    SharedStore store;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @BeforeEach
    void create() throws Exception {
        store = SharedStore.create(dir.resolve("r.store"), StoreOptions.defaults().withMemoryLimit(256L << 10)
            .withMaxItemSize(4096));
    }

    @AfterEach
    void checkAndClose() throws Exception {
        assertEquals(List.of(), store.check());
        store.close();
    }

    @Test
    void memoryAtValueOffsetIsTheValueAndReadOnly() {
        final byte[] v = new byte[40];
        for (int i = 0; i < v.length; i++) {
            v[i] = (byte) (3 * i + 1);
        }
        store.set(b("k"), v, 5, 0);
        final StoreReader r = store.reader();
        assertThrows(IllegalStateException.class, r::valueOffset, "no get yet");
        assertTrue(r.get(b("k")));
        final byte[] read = new byte[v.length];
        java.lang.foreign.MemorySegment.copy(r.memory(), ValueLayout.JAVA_BYTE, r.valueOffset(), read, 0, v.length);
        assertArrayEquals(v, read);
        assertEquals(r.value().address(), r.memory().asSlice(r.valueOffset()).address());
        assertTrue(r.validate());
        assertThrows(IllegalArgumentException.class, () -> r.memory().set(ValueLayout.JAVA_BYTE, r.valueOffset(), (byte) 0));
        assertThrows(IllegalArgumentException.class, () -> r.value().set(ValueLayout.JAVA_BYTE, 0, (byte) 0));
        assertFalse(r.get(b("missing")));
        assertThrows(IllegalStateException.class, r::valueOffset, "after a miss");
    }

    /**
     * Thousands of sets through a 256 KiB ring: items' positions are many laps past their
     * physical place, and each lookup checks that every record it walks sits where its position
     * says. Recent keys are all found with their own values; old ones are gone, never wrong.
     */
    @Test
    void lookupsAfterManyLapsOfTheRingFindRecentKeysWithTheirValues() {
        final int n = 20_000;
        final byte[] value = new byte[100];
        for (int i = 0; i < n; i++) {
            Arrays.fill(value, (byte) i);
            value[0] = (byte) (i >>> 8);
            assertEquals(StoreResult.STORED, store.set(b("key-" + i), value, i, 0));
        }
        final long laps = store.stats().get("ring_head") / store.memoryLimit();
        assertTrue(laps >= 10, "the ring wrapped: laps=" + laps);
        final byte[] dst = new byte[128];
        int found = 0;
        for (int i = 0; i < n; i++) {
            final int len = store.get(b("key-" + i), dst);
            if (len < 0) {
                assertTrue(i < n - 500, "a recent key is missing: i=" + i);
                continue;
            }
            found++;
            assertEquals(100, len);
            assertEquals((byte) (i >>> 8), dst[0], "key " + i);
            assertEquals((byte) i, dst[99], "key " + i);
        }
        assertTrue(found >= 500 && found < n / 4, "found=" + found);
    }
}
