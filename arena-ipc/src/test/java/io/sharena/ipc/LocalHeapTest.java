package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.LocalHeap;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link LocalHeap}: what a thread keeps, what the shared heap, check and repair see of it, and a keeper's death. */
class LocalHeapTest {
    private static final int SIZE = 64;
    private static final int PER_PAGE = HeapLayout.objectsPerSlab(5);

    @TempDir
    Path dir;
    Path file;
    SharedArena arena;
    ObjectHeap heap;

    @BeforeEach
    void open() throws IOException {
        file = dir.resolve("l.arena");
        arena = SharedArena.create(file, Capacity.parse("64M"), ArenaOptions.defaults());
        heap = ObjectHeap.of(arena);
        assertEquals(SIZE, HeapLayout.SIZES[5]);
    }

    @AfterEach
    void close() throws IOException {
        if (arena != null) {
            assertEquals(List.of(), heap.check());
            assertEquals(List.of(), ArenaChecker.check(arena));
            arena.close();
        }
    }

    private List<Integer> allocate(final int count) {
        final List<Integer> objects = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            objects.add(heap.allocate(SIZE));
        }
        return objects;
    }

    @Test
    void aFreedObjectComesBackZeroedToTheNextAllocationOfItsClass() {
        try (LocalHeap local = heap.local()) {
            final int obj = local.allocate(SIZE);
            for (int i = 0; i < SIZE; i += 8) {
                arena.raw().putLong(obj + i, -1L);
            }
            local.free(obj);
            assertEquals(obj, local.allocate(SIZE - 7), "the same class (57 bytes round up to 64)");
            for (int i = 0; i < SIZE; i += 8) {
                assertEquals(0L, arena.raw().getLong(obj + i), "offset " + i);
            }
            local.free(obj);
        }
    }

    @Test
    void aSecondFreeIsDetectedWhicheverWayEachCame() {
        try (LocalHeap local = heap.local()) {
            final int a = local.allocate(SIZE);
            local.free(a);
            local.free(a);
            assertEquals(1, heap.doubleFrees());
            heap.free(a);
            assertEquals(2, heap.doubleFrees(), "a shared free of an object a local heap keeps");
            final int b = heap.allocate(SIZE);
            heap.free(b);
            local.free(b);
            assertEquals(3, heap.doubleFrees(), "a local free of an object on the shared stack");
            // Each was kept or pushed once: two allocations get two objects.
            final int x = local.allocate(SIZE);
            final int y = local.allocate(SIZE);
            assertTrue(x != y && Set.of(a, b).containsAll(Set.of(x, y)), "x=" + x + ", y=" + y);
            local.free(x);
            local.free(y);
        }
    }

    @Test
    void aFullClassGivesItsOlderHalfBackToTheSharedStack() {
        final List<Integer> objects = allocate(LocalHeap.PER_CLASS + 1);
        try (LocalHeap local = heap.local()) {
            objects.forEach(local::free);
            // The 33rd free found the class full: the 16 freed first went to the shared stack.
            final Set<Integer> givenBack = new HashSet<>(objects.subList(0, LocalHeap.PER_CLASS / 2));
            final Set<Integer> fromShared = new HashSet<>(allocate(givenBack.size()));
            assertEquals(givenBack, fromShared);
            // The rest, newest first, from the local heap.
            for (int i = objects.size() - 1; i >= givenBack.size(); i--) {
                assertEquals(objects.get(i), local.allocate(SIZE), "kept object " + i);
            }
            final int fresh = local.allocate(SIZE);
            assertFalse(objects.contains(fresh), "nothing more kept: a fresh object");
            for (final int obj : objects) {
                heap.free(obj);
            }
            heap.free(fresh);
        }
    }

    @Test
    void closingGivesEverythingBackAndEndsIt() {
        final List<Integer> objects = allocate(10);
        final LocalHeap local = heap.local();
        objects.forEach(local::free);
        local.close();
        local.close(); // idempotent
        assertEquals(new HashSet<>(objects), new HashSet<>(allocate(10)), "the shared stack has them");
        objects.forEach(heap::free);
        assertThrows(IllegalStateException.class, () -> local.allocate(SIZE));
        assertThrows(IllegalStateException.class, () -> local.free(objects.get(0)));
    }

    @Test
    void aLocalHeapDroppedUnclosedGivesBackWhatItKeptOnceUnreachable() throws Exception {
        final List<Integer> objects = allocate(10);
        final Thread thread = new Thread(() -> {
            final LocalHeap local = heap.local();
            objects.forEach(local::free);
            // The thread ends without closing it.
        });
        thread.start();
        thread.join();
        // Kept, each object's first 8 bytes hold the mark (the page key's high half in its own);
        // linked onto the shared stack, a link and its freed mark.
        final long key = HeapForge.key(arena);
        final long deadline = System.nanoTime() + 30_000_000_000L;
        while (objects.stream().anyMatch(obj -> (int) (arena.raw().getLongAcquire(obj) >>> 32) != HeapLayout.freedMark(obj, key))) {
            assertTrue(System.nanoTime() < deadline, "given back within 30 s of garbage collections");
            System.gc();
            Thread.sleep(10);
        }
        assertEquals(new HashSet<>(objects), new HashSet<>(allocate(10)), "the shared stack has them");
        objects.forEach(heap::free);
    }

    @Test
    void anotherThreadIsRefused() throws Exception {
        try (LocalHeap local = heap.local()) {
            final int obj = local.allocate(SIZE);
            final AtomicReference<Throwable> thrown = new AtomicReference<>();
            final Thread other = new Thread(() -> {
                try {
                    local.free(obj);
                } catch (final Throwable t) {
                    thrown.set(t);
                }
            });
            other.start();
            other.join();
            assertInstanceOf(WrongThreadException.class, thrown.get());
            local.free(obj);
        }
    }

    @Test
    void misuseIsRefusedAndLargeObjectsGoToTheSharedHeap() {
        try (LocalHeap local = heap.local()) {
            assertThrows(IllegalArgumentException.class, () -> local.allocate(0));
            final int obj = local.allocate(SIZE);
            assertThrows(IllegalArgumentException.class, () -> local.free(obj + 8), "not an object start");
            final int page = arena.allocPages(1);
            assertThrows(IllegalArgumentException.class, () -> local.free(page), "not the heap's");
            arena.freePages(page, 1);
            local.free(0);
            final long pagesBefore = ArenaStats.read(arena).pages().get("ALLOCATED");
            final int large = local.allocate(20_000);
            assertTrue(heap.usableSize(large) >= 20_000);
            assertEquals(pagesBefore + 5, ArenaStats.read(arena).pages().get("ALLOCATED"), "five pages of its own");
            local.free(large);
            assertEquals(pagesBefore, ArenaStats.read(arena).pages().get("ALLOCATED"), "given back at once");
            local.free(large);
            assertEquals(1, heap.doubleFrees(), "a large object freed twice");
            local.free(obj);
        }
    }

    @Test
    void pagesEmptiedThroughALocalHeapAreTrimmedWhenItGivesThemBack() {
        final long pagesBefore = ArenaStats.read(arena).pages().get("ALLOCATED");
        final List<Integer> objects = allocate(4 * PER_PAGE);
        assertEquals(pagesBefore + 4, ArenaStats.read(arena).pages().get("ALLOCATED"));
        try (LocalHeap local = heap.local()) {
            objects.forEach(local::free);
        }
        // The class keeps one empty page; the rest went back to the page allocator.
        assertTrue(ArenaStats.read(arena).pages().get("ALLOCATED") <= pagesBefore + 1,
            "allocated pages: before=" + pagesBefore + ", now=" + ArenaStats.read(arena).pages().get("ALLOCATED"));
    }

    @Test
    void whatALiveProcessKeepsIsNeitherLostToCheckNorTakenByRepair() {
        final List<Integer> page = allocate(PER_PAGE);
        try (LocalHeap local = heap.local()) {
            final Set<Integer> kept = new HashSet<>(page.subList(0, 10));
            kept.forEach(local::free);
            assertEquals(List.of(), heap.check(), "kept by this live process: not lost");
            // One object lost in transit (its bit cleared, on no stack), which repair must reclaim.
            final int lost = page.get(20);
            HeapForge.lostInTransit(arena, lost);
            assertEquals(1, heap.check().size(), heap.check().toString());
            heap.repair();
            assertEquals(List.of(), heap.check());
            final int first = heap.allocate(SIZE);
            final int second = heap.allocate(SIZE);
            assertEquals(lost, first, "the lost object is back on the stack");
            assertFalse(kept.contains(second), "and nothing the local heap keeps: second=" + second);
            heap.free(first);
            heap.free(second);
        }
        page.stream().filter(p -> p != page.get(20) && !page.subList(0, 10).contains(p)).forEach(heap::free);
    }

    /**
     * An allocation from a local heap killed after it wrote its kept object's freed mark back, or
     * after it set the object's in-use bit (before the zeroing): the object, returned to no one, is
     * found by check and freed by repair with the rest the process kept. Before the freed mark was
     * written back, a kill after the bit left the object in use under the kept mark: lost.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = HeapPoint.class, names = {"LOCAL_TAKING", "LOCAL_TAKEN"})
    void aLocalAllocationKilledHalfwayLosesNoObject(final HeapPoint point) throws Exception {
        final int count = 20;
        arena.close();
        arena = null;
        final Set<Integer> kept;
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point.id(),
            "-Dsharena.crashpoint.action=kill"), "localtake", file.toString(), String.valueOf(SIZE), String.valueOf(count))) {
            final String line = child.await("kept");
            kept = Arrays.stream(line.substring("kept ".length()).split(" ")).map(Integer::valueOf).collect(Collectors.toSet());
            assertEquals(128 + 9, child.waitFor(60), "killed at " + point.id() + ": " + child.output());
            assertTrue(child.output().contains("crashpoint: " + point.id() + " kill"), child.output().toString());
        }
        try (SharedArena reopened = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap h = ObjectHeap.of(reopened);
            final List<String> found = h.check();
            assertFalse(found.isEmpty(), "check finds what the killed process held");
            repairedHandsOutEachOnce(reopened, h, kept);
        }
    }

    @Test
    void whatAKilledProcessKeptIsReportedAndReclaimedByRepair() throws Exception {
        final int count = 20;
        arena.close();
        arena = null;
        final Set<Integer> kept;
        try (ChildJvm child = IpcChild.start("localkeep", file.toString(), String.valueOf(SIZE), String.valueOf(count))) {
            final String line = child.await("kept");
            kept = Arrays.stream(line.substring("kept ".length()).split(" ")).map(Integer::valueOf).collect(Collectors.toSet());
            child.kill9();
        }
        assertEquals(count, kept.size());
        try (SharedArena reopened = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap h = ObjectHeap.of(reopened);
            final List<String> found = h.check();
            assertEquals(1, found.size(), found.toString());
            assertTrue(found.get(0).contains("neither in use nor on the free stack") && found.get(0).contains("objects=" + count),
                found.get(0));
            repairedHandsOutEachOnce(reopened, h, kept);
        }
    }

    /**
     * Repairs the heap, then allocates a page's worth of objects: every one of {@code kept} is handed
     * out once, and only once; all are freed again and the heap checks clean.
     */
    private static void repairedHandsOutEachOnce(final SharedArena reopened, final ObjectHeap h, final Set<Integer> kept) {
        ObjectHeap.repair(reopened);
        assertEquals(List.of(), h.check());
        final Set<Integer> got = new HashSet<>();
        for (int i = 0; i < PER_PAGE; i++) {
            assertTrue(got.add(h.allocate(SIZE)), "handed out twice");
        }
        assertTrue(got.containsAll(kept), "the kept objects are back: " + kept + " in " + got);
        got.forEach(h::free);
        assertEquals(List.of(), h.check());
    }
}
