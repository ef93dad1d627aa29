package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObjectHeapTest {
    @TempDir
    Path dir;
    SharedArena arena;
    ObjectHeap heap;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("h.arena"), Capacity.parse("64M"), ArenaOptions.defaults());
        heap = ObjectHeap.of(arena);
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(List.of(), heap.check());
        assertEquals(List.of(), ArenaChecker.check(arena));
        arena.close();
    }

    private long allocatedPages() {
        return ArenaStats.read(arena).pages().get("ALLOCATED");
    }

    @Test
    void everySizeGetsTheSmallestClassThatFits() {
        // Exhaustive over the small range, against a linear scan of the class table.
        for (int size = 1; size <= HeapLayout.MAX_SMALL; size++) {
            int expected = 0;
            while (HeapLayout.SIZES[expected] < size) {
                expected++;
            }
            final int ptr = heap.allocate(size);
            assertEquals(HeapLayout.SIZES[expected], heap.usableSize(ptr), "size=" + size);
            heap.free(ptr);
        }
        for (int i = 1; i < HeapLayout.SIZES.length; i++) {
            final int step = HeapLayout.SIZES[i] - HeapLayout.SIZES[i - 1];
            assertTrue(HeapLayout.SIZES[i - 1] >= 64 ? step * 4 <= HeapLayout.SIZES[i - 1] : step <= 16,
                "step at class " + i);
        }
    }

    @Test
    void theReciprocalIndexIsExactForEveryOffsetOfEveryClass() {
        for (int c = 0; c < HeapLayout.SIZES.length; c++) {
            for (int offset = 0; offset < 4096; offset++) {
                assertEquals(offset / HeapLayout.SIZES[c], HeapLayout.index(offset, c), "class=" + c + ", offset=" + offset);
            }
        }
    }

    @Test
    void objectsAreZeroedDistinctAndReused() {
        final Set<Integer> seen = new HashSet<>();
        final List<Integer> objs = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            final int p = heap.allocate(40);
            assertTrue(seen.add(p), "handed out twice: " + p);
            for (int b = 0; b < 48; b += 8) {
                assertEquals(0, arena.raw().getLong(p + b));
            }
            arena.raw().fill(p, 48, (byte) -1);
            objs.add(p);
        }
        objs.forEach(heap::free);
        final int again = heap.allocate(48);
        assertTrue(seen.contains(again), "a freed object is reused");
        assertEquals(0, arena.raw().getLong(again), "and zeroed");
        heap.free(again);
    }

    @Test
    void largeObjectsTakePageRuns() {
        final int p = heap.allocate(10_000);
        assertEquals(64, p & 4095, "64 bytes into its first page");
        assertEquals(3 * 4096 - 64, heap.usableSize(p));
        arena.strict().putLong(p + 9_992, 1);
        final long before = allocatedPages();
        heap.free(p);
        assertEquals(before - 3, allocatedPages());
        assertEquals(0, heap.allocate(Integer.MAX_VALUE), "more than the arena");
    }

    @Test
    void misuseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> heap.allocate(0));
        assertThrows(IllegalArgumentException.class, () -> heap.allocate(-5));
        final int p = heap.allocate(64);
        assertEquals("not an object of this heap: ptr=0x" + Integer.toHexString(p + 8),
            assertThrows(IllegalArgumentException.class, () -> heap.free(p + 8)).getMessage());
        final int page = arena.allocPages(1);
        assertThrows(IllegalArgumentException.class, () -> heap.free(page + 64), "a page that is not the heap's");
        assertThrows(IllegalArgumentException.class, () -> heap.free(-8), "past the arena");
        heap.free(0);
        heap.free(p);
        arena.freePages(page, 1);
    }

    @Test
    void overheadOf64ByteObjectsIsAtMostOneEighth() {
        final long before = allocatedPages();
        final int n = 10_000;
        final List<Integer> objs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            objs.add(heap.allocate(64));
        }
        final long bytes = (allocatedPages() - before) * 4096;
        final double overhead = (double) bytes / ((long) n * 64) - 1;
        System.out.printf("64-byte objects: %d pages for %d objects, overhead %.2f %%%n", allocatedPages() - before, n,
            overhead * 100);
        assertTrue(overhead <= 0.125, "overhead " + overhead);
        objs.forEach(heap::free);
    }

    @Test
    void emptyPagesGoBackToThePageAllocator() {
        final long before = allocatedPages();
        final List<Integer> objs = new ArrayList<>();
        for (int i = 0; i < (4096 - HeapLayout.SLAB_HEADER) / 64 * 20; i++) {
            objs.add(heap.allocate(64));
        }
        assertEquals(before + 20, allocatedPages());
        objs.forEach(heap::free);
        assertTrue(allocatedPages() <= before + 2, "kept at most one empty page (and a few in flight): "
            + (allocatedPages() - before));
    }

    @Test
    void aKeptEmptyPageThatAnAllocationTookFromIsNotCountedAsEmpty() {
        // Two pages of 64-byte objects, all in use; then page A empties (kept: the class's hint).
        final int perPage = (4096 - HeapLayout.SLAB_HEADER) / 64;
        final List<Integer> a = new ArrayList<>();
        final List<Integer> b = new ArrayList<>();
        for (int i = 0; i < 2 * perPage; i++) {
            final int p = heap.allocate(64);
            (i < perPage ? a : b).add(p);
        }
        final int pageA = a.get(0) & ~4095;
        final int pageB = b.get(0) & ~4095;
        assertTrue(pageA != pageB && a.stream().allMatch(p -> (p & ~4095) == pageA)
            && b.stream().allMatch(p -> (p & ~4095) == pageB), "one page per list");
        final long before = allocatedPages();
        a.forEach(heap::free);
        // An allocation takes from A (the top of the stack is A's last freed object): the hint is now stale.
        final int again = heap.allocate(64);
        assertEquals(pageA, again & ~4095);
        // B empties: A is not empty, so no trim; B is kept instead.
        b.forEach(heap::free);
        assertEquals(before, allocatedPages(), "no page given back while only one is empty");
        // A empties too: now two empty pages, one goes back.
        heap.free(again);
        assertEquals(before - 1, allocatedPages(), "a second empty page is given back");
    }

    @Test
    void threadsAllocatingAndFreeingNeverShareAnObject() throws Exception {
        final List<Thread> threads = new ArrayList<>();
        final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        // Allocations that failed fast are skipped below: without a count, a heap whose every
        // allocation failed would pass, never having shared anything.
        final java.util.concurrent.atomic.AtomicLong allocated = new java.util.concurrent.atomic.AtomicLong();
        for (int t = 0; t < 4; t++) {
            final long id = t + 1;
            threads.add(new Thread(() -> {
                final SplittableRandom random = new SplittableRandom(id);
                final List<int[]> mine = new ArrayList<>();
                try {
                    for (int i = 0; i < 20_000; i++) {
                        if (mine.isEmpty() || random.nextBoolean()) {
                            final int size = 8 + random.nextInt(300);
                            final int p = heap.allocate(size);
                            if (p == 0) {
                                continue; // the lock stayed busy past its bound: allocation failed fast
                            }
                            allocated.incrementAndGet();
                            arena.raw().putLong(p, id << 32 | i);
                            mine.add(new int[] {p, i});
                        } else {
                            final int[] o = mine.remove(random.nextInt(mine.size()));
                            if (arena.raw().getLong(o[0]) != (id << 32 | o[1])) {
                                throw new AssertionError("object overwritten: ptr=" + o[0]);
                            }
                            heap.free(o[0]);
                        }
                    }
                    mine.forEach(o -> heap.free(o[0]));
                } catch (final Throwable e) {
                    failures.add(e);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (final Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), failures);
        // About half of the 4 x 20,000 steps allocate; a quarter of them is a floor a loaded machine keeps.
        assertTrue(allocated.get() > 10_000, "allocations that succeeded: " + allocated.get());
    }
}
