package io.sharena.ipc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The IPC layer with its structures at arena pointers of 2 GiB and above (negative as a Java int),
 * one process: named roots found by an entry pointer of -1 for "none" lost every name whose entry
 * sat there, and owner words claimed at such a pointer threw the JDK's IndexOutOfBoundsException
 * (the int sign-extended into a segment offset). The low half of a 4 GiB arena is reserved (costs no
 * memory), so everything the IPC layer allocates lands above 2 GiB, as it does in any 4 GiB arena
 * once its low half is in use. Each structure is made in a fresh arena so that one defect does not
 * hide the next.
 */
class TopHalfPointerTest {
    @TempDir
    Path dir;

    private SharedArena highArena(final String name) throws Exception {
        final SharedArena a = SharedArena.create(dir.resolve(name), Capacity.parse("4G"), ArenaOptions.defaults());
        final long first = a.firstUserPage();
        assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) ((1L << 19) - first)));
        return a;
    }

    @Test
    void namedRootsPutThenGetAboveTwoGiB() throws Exception {
        try (SharedArena a = highArena("roots.arena")) {
            final NamedRoots roots = NamedRoots.of(a);
            final int p = a.allocPages(1);
            assertTrue(Integer.toUnsignedLong(p) >= 1L << 31);
            roots.put("x", p);
            assertTrue(roots.contains("x"), "contains after put");
            assertEquals(p, roots.get("x"), "get after put");
        }
    }

    @Test
    void objectHeapAllocateAboveTwoGiB() throws Exception {
        try (SharedArena a = highArena("heap.arena")) {
            final int o = ObjectHeap.of(a).allocate(16);
            assertTrue(Integer.toUnsignedLong(o) >= 1L << 31, "0x" + Integer.toHexString(o));
            ObjectHeap.of(a).free(o);
        }
    }

    @Test
    void channelSendReceiveAboveTwoGiB() throws Exception {
        try (SharedArena a = highArena("chan.arena")) {
            final Channel ch = Channel.create(a, "c", 1, 1 << 14, 256);
            try (ChannelConsumer in = ch.consumer(); ChannelProducer out = ch.producer()) {
                final byte[] msg = "hello".getBytes(StandardCharsets.UTF_8);
                assertTrue(out.offer(1, msg, 0, msg.length));
                final byte[][] got = {null};
                assertEquals(1, in.poll((view, type, ptr, length) -> {
                    got[0] = new byte[length];
                    view.getBytes(ptr, got[0], 0, length);
                }, 16));
                assertArrayEquals(msg, got[0]);
            }
        }
    }

    @Test
    void sharedStoreInAnArenaAboveTwoGiB() throws Exception {
        try (SharedArena a = highArena("store.arena");
             SharedStore s = SharedStore.of(a, "s", StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16))) {
            final byte[] k = "k".getBytes(StandardCharsets.UTF_8);
            final byte[] v = "v".getBytes(StandardCharsets.UTF_8);
            s.set(k, v, 0, 0);
            assertArrayEquals(v, s.get(k));
        }
    }

    /** The roots directory below 2 GiB (made first), the store's region above: the store's own pointer handling alone. */
    @Test
    void sharedStoreRegionAboveTwoGiBWithItsRootsBelow() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("store2.arena"), Capacity.parse("4G"), ArenaOptions.defaults())) {
            NamedRoots.of(a);
            final long first = a.firstUserPage();
            final int from = a.allocPages(1);
            a.freePages(from, 1);
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first + 64), (int) ((1L << 19) - first - 64)));
            try (SharedStore s = SharedStore.of(a, "s", StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16))) {
                assertTrue(Integer.toUnsignedLong(NamedRoots.of(a).get("s")) >= 1L << 31,
                    "region at 0x" + Integer.toHexString(NamedRoots.of(a).get("s")));
                for (int i = 0; i < 2000; i++) {
                    final byte[] k = ("k" + i).getBytes(StandardCharsets.UTF_8);
                    s.set(k, ("value-" + i).getBytes(StandardCharsets.UTF_8), i, 0);
                }
                for (int i = 0; i < 2000; i++) {
                    final byte[] got = s.get(("k" + i).getBytes(StandardCharsets.UTF_8));
                    if (got != null) {
                        assertEquals("value-" + i, new String(got, StandardCharsets.UTF_8));
                    }
                }
                assertArrayEquals("value-1999".getBytes(StandardCharsets.UTF_8), s.get("k1999".getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    /** The roots directory below 2 GiB, the heap's pages above. */
    @Test
    void objectHeapAboveTwoGiBWithItsRootsBelow() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("heap2.arena"), Capacity.parse("4G"), ArenaOptions.defaults())) {
            NamedRoots.of(a);
            final long first = a.firstUserPage();
            for (long pg = first; pg < first + 64; pg++) {
                if (a.pageState(pg) == io.sharena.core.PageState.FREE) {
                    assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(pg), 1));
                }
            }
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first + 64), (int) ((1L << 19) - first - 64)));
            final ObjectHeap heap = ObjectHeap.of(a);
            final int o = heap.allocate(16);
            assertTrue(Integer.toUnsignedLong(o) >= 1L << 31, "0x" + Integer.toHexString(o));
            heap.free(o);
            assertEquals(java.util.List.of(), heap.check());
        }
    }
}
