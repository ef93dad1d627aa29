package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A heap page's magic word or key, or one of a large object's two page-count words, hit by a stray write
 * (found by a damage fuzz of the heap's page headers): the page stopped being the heap's with
 * {@code check} clean (its objects could no longer be freed), or the repair dropped the large
 * object, left allocated for good. Both of the page's marks (its metadata pointer and the heap's
 * key, which only the arena's processes know) still say whose it is, and a large object's count is
 * encoded in its check word too: the check names each, and the repair restores it, every object
 * kept and freed after.
 */
class HeapIdentityDamageTest {
    @TempDir
    Path dir;
    SharedArena arena;
    ArenaView v;
    ObjectHeap heap;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("h.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
        v = arena.raw();
        heap = ObjectHeap.of(arena);
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    private long allocatedPages() {
        return ChannelCreationCrashTest.allocatedPages(arena);
    }

    private void assertRepairedWith(final String check, final String repair) {
        final List<String> found = IpcCheck.check(arena);
        assertTrue(found.stream().anyMatch(f -> f.contains(check)), found.toString());
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().anyMatch(d -> d.contains(repair)), done.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    @Test
    void aSlabPagesMagicHitIsNamedAndRestoredWithItsObjects() {
        final long before = allocatedPages();
        for (final int value : new int[] {0, -1, HeapLayout.MAGIC_SLAB + 8}) {
            final List<Integer> live = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                final int obj = heap.allocate(64);
                v.putLong(obj, 1000L + i);
                live.add(obj);
            }
            final int page = live.get(0) & ~(Geometry.PAGE_SIZE - 1);
            heap.free(live.remove(5)); // a free object on the stack, on the page
            v.putIntRelease(page + HeapLayout.MAGIC, value);
            assertRepairedWith("slab page: its magic was hit", "slab page's magic restored");
            for (int i = 0; i < live.size(); i++) {
                assertEquals(1000L + (i < 5 ? i : i + 1), v.getLong(live.get(i)));
            }
            live.forEach(heap::free);
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        final int obj = heap.allocate(64);
        heap.free(obj);
        assertTrue(allocatedPages() <= before + 2, "the slab pages are the heap's again: " + (allocatedPages() - before));
    }

    /**
     * A slab page's key hit, free objects of it on the heap's stack: the page stopped being the
     * heap's (its metadata pointer alone is easy to guess), its live objects could not be freed, and
     * the repair rebuilt the stacks without it, check clean. The heap's own stack leading into it
     * says whose it is: check names it, the repair gives the key back.
     */
    @Test
    void aSlabPagesKeyHitIsRestoredWhenTheHeapsStackLeadsIntoIt() {
        final List<Integer> live = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            final int obj = heap.allocate(64);
            v.putLong(obj, 500L + i);
            live.add(obj);
        }
        final int page = live.get(0) & ~(Geometry.PAGE_SIZE - 1);
        heap.free(live.remove(7));
        v.putLongRelease(page + HeapLayout.KEY, v.getLong(page + HeapLayout.KEY) ^ 0x10);
        assertRepairedWith("heap slab page's key hit", "heap slab page's key restored");
        for (int i = 0; i < live.size(); i++) {
            assertEquals(500L + (i < 7 ? i : i + 1), v.getLong(live.get(i)));
        }
        live.forEach(heap::free);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * Live objects' in-use bits cleared by a stray write (found by the damage fuzz): such an object
     * looked like one a free was killed between clearing its bit and pushing it, and the repair put
     * it on the free stack while its owner held it; the next allocations handed it out again. A free
     * writes the object's freed mark before it clears the bit, so one without the mark is in use:
     * the check names it and the repair sets its bit again, and no allocation gets it.
     */
    @Test
    void liveObjectsWhoseBitsWereClearedAreNeverHandedOutAgain() {
        final List<Integer> live = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            final int obj = heap.allocate(16);
            v.putLong(obj, 0x4000L + i);
            live.add(obj);
        }
        final int page = live.get(0) & ~(Geometry.PAGE_SIZE - 1);
        heap.free(live.remove(3)); // a freed object beside them: its bit is clear, its mark written
        v.putLongRelease(page + HeapLayout.BITMAP, 0); // the first 64 objects' bits
        assertRepairedWith("carry no free object's mark", "in-use bits set again");
        final java.util.Set<Integer> handed = new java.util.HashSet<>();
        for (int i = 0; i < 200; i++) {
            handed.add(heap.allocate(16));
        }
        for (int i = 0; i < live.size(); i++) {
            assertTrue(!handed.contains(live.get(i)), "a live object handed out again: " + live.get(i));
            assertEquals(0x4000L + (i < 3 ? i : i + 1), v.getLong(live.get(i)));
        }
        live.forEach(heap::free);
        handed.forEach(heap::free);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * Free objects' in-use bits set by a stray write: the repair trusted the bitmap, and the objects
     * were lost to the heap for good (check clean after it). They carry the freed mark, which no
     * object in use does (an allocation zeroes it): the repair frees them again.
     */
    @Test
    void freeObjectsWhoseBitsWereSetAreFreedAgain() {
        final List<Integer> live = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            live.add(heap.allocate(16));
        }
        final int page = live.get(0) & ~(Geometry.PAGE_SIZE - 1);
        final List<Integer> freed = new ArrayList<>(live.subList(10, 20));
        freed.forEach(heap::free);
        live.removeAll(freed);
        v.putLongRelease(page + HeapLayout.BITMAP, -1L); // the first 64 objects' bits, the freed ones' too
        assertRepairedWith("in use that carry a free object's mark", "carried a free object's mark freed");
        final java.util.Set<Integer> got = new java.util.HashSet<>();
        for (int i = 0; i < 10; i++) {
            got.add(heap.allocate(16));
        }
        assertEquals(new java.util.HashSet<>(freed), got, "the freed objects handed out again, once each");
        got.forEach(heap::free);
        live.forEach(heap::free);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    @Test
    void aLargeObjectsMagicHitIsNamedAndRestored() {
        final long before = allocatedPages();
        final int obj = heap.allocate(3 * Geometry.PAGE_SIZE);
        v.putLong(obj + 3 * Geometry.PAGE_SIZE - 8, 77L);
        final int page = obj & ~(Geometry.PAGE_SIZE - 1);
        v.putIntRelease(page + HeapLayout.MAGIC, 0);
        assertRepairedWith("large object: its magic was hit", "large object's magic restored");
        assertEquals(77L, v.getLong(obj + 3 * Geometry.PAGE_SIZE - 8));
        heap.free(obj);
        assertEquals(before, allocatedPages(), "every page of it given back");
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /** A large object's key hit: its page-count check, keyed with the heap's key, says whose it is. */
    @Test
    void aLargeObjectsKeyHitIsRestoredFromItsKeyedCheck() {
        final long before = allocatedPages();
        final int obj = heap.allocate(3 * Geometry.PAGE_SIZE);
        final int page = obj & ~(Geometry.PAGE_SIZE - 1);
        v.putLongRelease(page + HeapLayout.LARGE_KEY, 0);
        assertRepairedWith("large object: its key was hit", "large object's key restored");
        heap.free(obj);
        assertEquals(before, allocatedPages());
    }

    /**
     * The count (PAGES) hit to a value out of range, or past the object's pages into free ones, and
     * its check word hit: only the other word's count can be the object's, so it is restored, the
     * object keeps every page and gives back exactly those when freed. A count hit to one page,
     * which could be the object's as well as the check's four, is not guessed at: the object is
     * dropped, left allocated, as before.
     */
    @Test
    void aLargeObjectsPageCountHitIsRestoredFromItsOtherWord() {
        final long before = allocatedPages();
        final int[][] hits = {
            {HeapLayout.PAGES, 0}, {HeapLayout.PAGES, 5}, {HeapLayout.PAGES, -1},
            {HeapLayout.PAGES_CHECK, 0}, {HeapLayout.PAGES_CHECK, -1}, {HeapLayout.PAGES_CHECK, 0x1234},
        };
        for (final int[] hit : hits) {
            final int obj = heap.allocate(3 * Geometry.PAGE_SIZE);
            final int page = obj & ~(Geometry.PAGE_SIZE - 1);
            v.putLong(obj + 3 * Geometry.PAGE_SIZE - 8, 99L);
            final int pages = v.getInt(page + HeapLayout.PAGES); // 4: the header's 64 bytes take a fourth
            v.putIntRelease(page + hit[0], hit[1]);
            assertRepairedWith("heap large object page count out of range or disagreeing with its check",
                "page count restored from its other word");
            assertEquals(pages, v.getInt(page + HeapLayout.PAGES), java.util.Arrays.toString(hit));
            assertEquals(99L, v.getLong(obj + 3 * Geometry.PAGE_SIZE - 8));
            heap.free(obj);
            assertEquals(before, allocatedPages(), "exactly its pages given back: " + java.util.Arrays.toString(hit));
        }
    }

    @Test
    void aLargeObjectsCountHitToOneThatCouldBeItsOwnIsNotGuessedAt() {
        final int obj = heap.allocate(3 * Geometry.PAGE_SIZE);
        final int page = obj & ~(Geometry.PAGE_SIZE - 1);
        v.putIntRelease(page + HeapLayout.PAGES, 1);
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().anyMatch(d -> d.startsWith("heap large object with a corrupted page count dropped")),
            done.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /** A page the repair dropped (its header could not be mended) is not taken back by the next repair. */
    @Test
    void aSlabPageTheRepairDroppedStaysOut() {
        final List<Integer> live = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            live.add(heap.allocate(64));
        }
        final int page = live.get(0) & ~(Geometry.PAGE_SIZE - 1);
        v.putInt(page + HeapLayout.CLASS, 4); // 48-byte objects: the bits fit both classes, nothing tells
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().anyMatch(d -> d.startsWith("heap slab page dropped from the heap")), done.toString());
        assertEquals(0, v.getInt(page + HeapLayout.MAGIC));
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L));
        assertEquals(0, v.getInt(page + HeapLayout.MAGIC));
    }
}
