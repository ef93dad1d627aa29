package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreMode;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReservation;
import io.sharena.ipc.store.StoreResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An arena holding an object heap and a shared store. The heap's check and repair scan every
 * allocated page for its page headers (a magic and the heap's metadata pointer); a store's ring
 * pages hold whatever values clients store, so a value can carry those bytes at a page start.
 * The heap used to take such a page for its own: the check reported it ("heap page retired but not
 * given back"), and the repair freed the store's ring page (or, for a slab header, put ring memory
 * on its free stacks): memory the store still uses handed out again, and the store refused to
 * open ("store region page not allocated").
 */
class HeapAndStoreTest {
    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aStoredValueThatReadsAsAHeapPageHeaderStaysTheStores() throws Exception {
        try (SharedArena arena = SharedArena.create(dir.resolve("both.arena"), Capacity.parse("32M"),
            ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            assertTrue(heap.allocate(64) != 0);
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            final MemorySegment whole = arena.raw().segment();
            for (final int magic : new int[] {HeapLayout.MAGIC_RETIRED, HeapLayout.MAGIC_LARGE_FREED}) {
                try (SharedStore store = SharedStore.of(arena, "s" + magic, StoreOptions.defaults()
                    .withMemoryLimit(1L << 20).withMaxItemSize(16 << 10))) {
                    // A 12 KiB value, written in place: at every page start inside it, the magic, a page
                    // count of 1 and, where the heap keeps it, the heap's metadata pointer.
                    final StoreReservation r = new StoreReservation();
                    assertTrue(store.reserve(b("v"), 12 << 10, 0, 0, r));
                    final MemorySegment value = r.value();
                    final long at = value.address() - whole.address();
                    for (long page = (at + Geometry.PAGE_SIZE - 1) & -Geometry.PAGE_SIZE;
                         page + 64 <= at + value.byteSize(); page += Geometry.PAGE_SIZE) {
                        final long off = page - at;
                        value.set(ValueLayout.JAVA_INT_UNALIGNED, off + HeapLayout.MAGIC, magic);
                        value.set(ValueLayout.JAVA_INT_UNALIGNED, off + HeapLayout.PAGES, 1);
                        value.set(ValueLayout.JAVA_INT_UNALIGNED, off + HeapLayout.LARGE_HEAP, meta);
                        value.set(ValueLayout.JAVA_INT_UNALIGNED, off + HeapLayout.HEAP, meta);
                    }
                    final byte[] stored = value.toArray(ValueLayout.JAVA_BYTE);
                    assertEquals(StoreResult.STORED, store.commit(r, StoreMode.SET, SharedStore.ANY_CAS, false, null));

                    assertEquals(List.of(), IpcCheck.check(arena), "magic 0x" + Integer.toHexString(magic));
                    // Nothing to repair: the value's page is the store's, not a retired or freed heap page.
                    assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L), "magic 0x" + Integer.toHexString(magic));
                    assertEquals(List.of(), IpcCheck.check(arena), "magic 0x" + Integer.toHexString(magic));
                    assertEquals(List.of(), store.check());
                    org.junit.jupiter.api.Assertions.assertArrayEquals(stored, store.get(b("v")));
                }
            }
        }
    }

    /**
     * The ranges the heap's scans skip are the stores' regions exactly, and a page count that
     * disagrees with the header's ring (one stray write) widens nothing: a store header claiming
     * the whole arena would hide the heap's own pages from its check and repair.
     */
    @Test
    void theStoreRegionsSkippedAreExactAndAStrayPageCountWidensNothing() throws Exception {
        try (SharedArena arena = SharedArena.create(dir.resolve("regions.arena"), Capacity.parse("32M"),
            ArenaOptions.defaults())) {
            ObjectHeap.of(arena);
            try (SharedStore store = SharedStore.of(arena, "s", StoreOptions.defaults().withMemoryLimit(1L << 20)
                .withMaxItemSize(4096))) {
                assertEquals(StoreResult.STORED, store.set(b("k"), b("v"), 0, 0));
            }
            final int header = NamedRoots.of(arena).get("s");
            final int pages = arena.raw().getInt(header + io.sharena.ipc.layout.StoreLayout.REGION_PAGES);
            final long first = Integer.toUnsignedLong(header) / Geometry.PAGE_SIZE;
            final List<long[]> regions = Pages.storeRegions(arena);
            assertEquals(1, regions.size());
            org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {first, first + pages}, regions.getFirst());
            arena.raw().putInt(header + io.sharena.ipc.layout.StoreLayout.REGION_PAGES, (int) arena.capacityPages() - 300);
            assertEquals(List.of(), Pages.storeRegions(arena));
        }
    }
}
