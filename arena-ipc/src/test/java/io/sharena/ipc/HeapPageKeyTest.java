package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.PageState;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The heap knows its pages by their headers: a magic, its metadata pointer and its page key. The
 * first two are predictable; bytes that came from outside the arena's processes (a user's own
 * pages, a channel's messages) could carry them at a page start. Without the key, the heap's check
 * reported such a page and its repair put the page's "free objects" on the heap's stacks, or gave
 * the page back: memory its owner still uses handed out a second time.
 */
class HeapPageKeyTest {
    /** The 64-byte class. */
    private static final int CLASS = 5;

    @TempDir
    Path dir;

    private SharedArena arena(final String name) throws Exception {
        return SharedArena.create(dir.resolve(name), Capacity.parse("32M"), ArenaOptions.defaults());
    }

    /** Writes, at {@code page}, a slab header of class {@link #CLASS} naming the heap at {@code meta}, no object in use. */
    private static void forgeSlab(final ArenaView view, final int page, final int magic, final int meta) {
        view.putInt(page + HeapLayout.CLASS, CLASS);
        view.putInt(page + HeapLayout.OBJECTS, HeapLayout.objectsPerSlab(CLASS));
        view.putInt(page + HeapLayout.HEAP, meta);
        view.putInt(page + HeapLayout.MAGIC, magic);
    }

    @Test
    void aUserPageForgingASlabHeaderIsNotTheHeaps() throws Exception {
        try (SharedArena arena = arena("slab.arena")) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            assertTrue(heap.allocate(64) != 0);
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            final int page = arena.allocPages(1);
            forgeSlab(arena.raw(), page, HeapLayout.MAGIC_SLAB, meta);

            assertEquals(List.of(), IpcCheck.check(arena));
            assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L));
            assertThrows(IllegalArgumentException.class, () -> heap.free(page + HeapLayout.SLAB_HEADER));
            assertThrows(IllegalArgumentException.class, () -> heap.usableSize(page + HeapLayout.SLAB_HEADER));
            // Twice a page's worth of objects of the class: none of them from the user's page.
            for (int i = 0; i < 2 * HeapLayout.objectsPerSlab(CLASS); i++) {
                final int obj = heap.allocate(64);
                assertTrue(obj != 0);
                assertNotEquals(page, obj & -Geometry.PAGE_SIZE, "an object handed out of the user's page");
            }
            assertEquals(PageState.ALLOCATED, arena.pageState(Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE));
        }
    }

    @Test
    void userPagesForgingARetiredPageOrAFreedLargeObjectAreNotGivenBack() throws Exception {
        try (SharedArena arena = arena("given.arena")) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            assertTrue(heap.allocate(64) != 0);
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            final ArenaView view = arena.raw();
            final int retired = arena.allocPages(1);
            forgeSlab(view, retired, HeapLayout.MAGIC_RETIRED, meta);
            final int freed = arena.allocPages(1);
            view.putInt(freed + HeapLayout.PAGES, 1);
            view.putInt(freed + HeapLayout.LARGE_HEAP, meta);
            view.putInt(freed + HeapLayout.MAGIC, HeapLayout.MAGIC_LARGE_FREED);

            assertEquals(List.of(), IpcCheck.check(arena));
            assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L));
            for (final int page : new int[] {retired, freed}) {
                assertEquals(PageState.ALLOCATED, arena.pageState(Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE));
            }
            assertThrows(IllegalArgumentException.class, () -> heap.free(freed + HeapLayout.LARGE_HEADER));
            assertEquals(0, heap.doubleFrees());
        }
    }

    /** Objects of several classes and a large one: the pages a key has to be found on. */
    private static List<Integer> fill(final ObjectHeap heap) {
        final List<Integer> objects = new ArrayList<>();
        for (final int size : new int[] {8, 64, 64, 200, 2048, 3 * Geometry.PAGE_SIZE}) {
            final int obj = heap.allocate(size);
            assertTrue(obj != 0);
            objects.add(obj);
        }
        return objects;
    }

    private static void assertStillTheHeaps(final ObjectHeap heap, final List<Integer> objects) {
        for (final int obj : objects) {
            assertTrue(heap.usableSize(obj) > 0);
            heap.free(obj);
        }
        assertEquals(0, heap.doubleFrees());
        assertTrue(heap.allocate(64) != 0);
    }

    @Test
    void aStrayWriteToTheKeyOrItsCheckIsSeenAndTheKeyRestoredFromThePages() throws Exception {
        for (final int word : new int[] {HeapLayout.META_KEY, HeapLayout.META_KEY_CHECK}) {
            try (SharedArena arena = arena("key" + word + ".arena")) {
                final List<Integer> objects = fill(ObjectHeap.of(arena));
                final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
                final long key = arena.raw().getLong(meta + HeapLayout.META_KEY);
                assertNotEquals(0L, key);
                arena.raw().putLong(meta + word, 0x1234_5678L);

                final ArenaCorruptedException e = assertThrows(ArenaCorruptedException.class, () -> ObjectHeap.of(arena));
                assertTrue(e.getMessage().contains("page key damaged"), e.getMessage());
                assertTrue(IpcCheck.check(arena).stream().anyMatch(v -> v.contains("page key damaged")),
                    IpcCheck.check(arena).toString());

                final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
                assertTrue(done.contains("heap page key restored from its pages: 5 of 5 page headers agree"), done.toString());
                assertEquals(key, arena.raw().getLong(meta + HeapLayout.META_KEY));
                assertEquals(List.of(), IpcCheck.check(arena));
                assertStillTheHeaps(ObjectHeap.of(arena), objects);
            }
        }
    }

    @Test
    void aMetadataPageFormattedAnewKeepsItsPages() throws Exception {
        try (SharedArena arena = arena("anew.arena")) {
            final List<Integer> objects = fill(ObjectHeap.of(arena));
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            arena.raw().putInt(meta + HeapLayout.META_MAGIC, 0x0bad_0bad);

            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(d -> d.startsWith("heap metadata page formatted anew")), done.toString());
            assertTrue(done.contains("heap page key restored from its pages: 5 of 5 page headers agree"), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
            assertStillTheHeaps(ObjectHeap.of(arena), objects);
        }
    }

    @Test
    void everyHeapDrawsItsOwnKey() throws Exception {
        final List<Long> keys = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            try (SharedArena arena = arena("own" + i + ".arena")) {
                ObjectHeap.of(arena);
                final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
                final long key = arena.raw().getLong(meta + HeapLayout.META_KEY);
                assertEquals(~key, arena.raw().getLong(meta + HeapLayout.META_KEY_CHECK));
                keys.add(key);
            }
        }
        assertNotEquals(0L, keys.get(0));
        assertNotEquals(keys.get(0), keys.get(1));
    }
    /**
     * A page the heap gave back keeps its header, its key included: handed out again without
     * zeroing, it looked to a repair like a retired page the heap still had to give back (or a
     * large object half freed), and the repair freed it under its new owner.
     */
    @Test
    void pagesTheHeapGaveBackAndHandedOutUninitializedStayTheirNewOwners() throws Exception {
        try (SharedArena arena = arena("reused.arena")) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final int perPage = HeapLayout.objectsPerSlab(CLASS);
            final List<Integer> objects = new ArrayList<>();
            for (int i = 0; i < 3 * perPage; i++) {
                objects.add(heap.allocate(64));
            }
            for (final int obj : objects) {
                heap.free(obj);
            }
            // The last page the trim gave back is the first a 1-page allocation gets back.
            final int page = arena.allocPagesUninitialized(1);
            final int large = heap.allocate(3 * Geometry.PAGE_SIZE);
            assertTrue(large != 0);
            heap.free(large);
            final int span = arena.allocPagesUninitialized(4);
            assertTrue(page != 0 && span != 0);
            assertEquals(List.of(), IpcCheck.check(arena));
            IpcCheck.repair(arena, 1_000_000_000L);
            assertEquals(PageState.ALLOCATED, arena.pageState(Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE));
            for (int i = 0; i < 4; i++) {
                assertEquals(PageState.ALLOCATED,
                    arena.pageState(Integer.toUnsignedLong(span) / Geometry.PAGE_SIZE + i), "page " + i + " of the span");
            }
            assertEquals(0, arena.raw().getInt(page + HeapLayout.MAGIC));
            assertEquals(0, arena.raw().getInt(span + HeapLayout.MAGIC));
        }
    }
}
