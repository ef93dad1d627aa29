package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.LocalHeap;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LocalHeap} against damage: corruption met while it gives objects back, stray writes into
 * what it keeps, and the repairs that follow. Nothing kept is lost for good, and nothing is handed
 * out of memory the heap no longer owns.
 */
class LocalHeapDamageTest {
    private static final int SIZE = 64;
    private static final int PER_PAGE = HeapLayout.objectsPerSlab(5);
    /** The largest class: one object per slab page, so each page is trimmed on its own. */
    private static final int BIG = HeapLayout.MAX_SMALL;

    @TempDir
    Path dir;
    SharedArena arena;
    ArenaView v;
    ObjectHeap heap;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("d.arena"), Capacity.parse("64M"), ArenaOptions.defaults());
        v = arena.raw();
        heap = ObjectHeap.of(arena);
        assertEquals(SIZE, HeapLayout.SIZES[5]);
        assertEquals(1, HeapLayout.objectsPerSlab(HeapLayout.SIZES.length - 1));
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    private static int page(final int ptr) {
        return ptr & ~(Geometry.PAGE_SIZE - 1);
    }

    private List<Integer> allocate(final int size, final int count) {
        final List<Integer> objects = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            objects.add(heap.allocate(size));
        }
        return objects;
    }

    /**
     * Two full pages of class 64: the second freed through the shared heap (the class's empty page)
     * and the link at the bottom of the stack garbled by a stray write, the first's objects from
     * {@code sharedFrom} on freed through the shared heap too. A trim of the class now meets the
     * garbled link.
     */
    private List<Integer> twoPagesAndAGarbledStack(final int sharedFrom) {
        final List<Integer> objects = allocate(SIZE, 2 * PER_PAGE);
        final int a = page(objects.get(0));
        final int b = page(objects.get(PER_PAGE));
        for (int i = 0; i < 2 * PER_PAGE; i++) {
            assertEquals(i < PER_PAGE ? a : b, page(objects.get(i)), "object " + i);
        }
        objects.subList(PER_PAGE, 2 * PER_PAGE).forEach(heap::free);
        v.putInt(objects.get(PER_PAGE), 0x10); // the first pushed: the stack's bottom
        objects.subList(sharedFrom, PER_PAGE).forEach(heap::free);
        return objects;
    }

    @Test
    void aFreeWhoseGiveBackMeetsACorruptedStackStillKeepsItsObject() {
        final List<Integer> objects = twoPagesAndAGarbledStack(LocalHeap.PER_CLASS + 1);
        final int last = objects.get(LocalHeap.PER_CLASS);
        try (LocalHeap local = heap.local()) {
            objects.subList(0, LocalHeap.PER_CLASS).forEach(local::free);
            // The 33rd free empties the first page and gives 16 back; the trim that starts meets the garbled link.
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> local.free(last));
            assertEquals("heap free stack", x.structure());
        }
        assertFalse(ObjectHeap.repair(arena).isEmpty());
        assertEquals(List.of(), heap.check());
        final Set<Integer> got = new HashSet<>(allocate(SIZE, 2 * PER_PAGE));
        assertTrue(got.contains(last), "the object whose free threw is back on the stack: ptr=0x" + Integer.toHexString(last));
        got.forEach(heap::free);
        assertEquals(List.of(), heap.check());
    }

    @Test
    void aCloseThatMeetsACorruptedStackStillGivesBackEveryOtherClass() {
        final List<Integer> objects = twoPagesAndAGarbledStack(LocalHeap.PER_CLASS);
        final int other = heap.allocate(80);
        final LocalHeap local = heap.local();
        objects.subList(0, LocalHeap.PER_CLASS).forEach(local::free);
        local.free(other);
        // Class 64 first: its give-back empties the first page, and the trim meets the garbled link.
        assertThrows(ArenaCorruptedException.class, local::close);
        assertFalse(ObjectHeap.repair(arena).isEmpty());
        assertEquals(List.of(), heap.check());
        final Set<Integer> got = new HashSet<>(allocate(80, HeapLayout.objectsPerSlab(6)));
        assertTrue(got.contains(other), "the 80-byte object kept is back on its stack: ptr=0x" + Integer.toHexString(other));
        got.forEach(heap::free);
        assertEquals(List.of(), heap.check());
    }

    /**
     * Writes after free (a stray pointer) wipe two kept objects' marks, the freed marks with them:
     * nothing says they are free any more, so the repair sets their in-use bits again (leaked, never
     * handed out to two owners: before, it relinked them and a trim gave their pages away while the
     * local heap still listed them). The local heap refuses them, and its give-back leaves them out.
     */
    @Test
    void aKeptObjectAStrayWriteUnmarkedIsNeitherHandedOutNorGivenBack() {
        final int x1 = heap.allocate(BIG);
        final int x2 = heap.allocate(BIG);
        final int y = heap.allocate(BIG);
        try (LocalHeap local = heap.local()) {
            local.free(x1);
            local.free(x2);
            v.putLong(x1, 0L);
            v.putLong(x2, 0L);
            assertEquals(2, heap.check().size(), heap.check().toString());
            assertTrue(heap.check().get(0).contains("carry no free object's mark"), heap.check().toString());
            ObjectHeap.repair(arena);
            assertEquals(List.of(), heap.check());
            heap.free(y); // empties its page: a trim may follow, which must not take x1's or x2's
            for (final int p : List.of(page(x1), page(x2))) {
                assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(p) / Geometry.PAGE_SIZE));
            }
            for (int i = 0; i < 2; i++) {
                assertEquals("heap object kept by a local heap written while kept",
                    assertThrows(ArenaCorruptedException.class, () -> local.allocate(BIG)).structure());
            }
        }
        // The refusals marked the heap for repair; x1 and x2 are still in use, as the repair left them.
        assertEquals(List.of("heap marked for repair (corruption was found during use)"), heap.check());
        ObjectHeap.repair(arena);
        heap.free(x1);
        heap.free(x2);
        assertEquals(List.of(), heap.check());
        final Set<Integer> got = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            assertTrue(got.add(heap.allocate(BIG)), "handed out once");
        }
        got.forEach(heap::free);
        assertEquals(List.of(), heap.check());
    }

    /** Kept objects given back: one whose mark a stray write changed is left out of the push. */
    @Test
    void aGiveBackLeavesOutAKeptObjectWhoseMarkWasChanged() {
        final List<Integer> objects = allocate(SIZE, 3);
        final LocalHeap local = heap.local();
        objects.forEach(local::free);
        v.putLong(objects.get(1), 0L);
        local.close(); // gives back the two still marked
        assertEquals(1, heap.check().size(), heap.check().toString());
        ObjectHeap.repair(arena); // the third's bit set again: nothing said it was free
        final Set<Integer> got = new HashSet<>(allocate(SIZE, 40));
        assertTrue(got.containsAll(List.of(objects.get(0), objects.get(2))));
        assertFalse(got.contains(objects.get(1)), "not handed out: it may still be someone's");
        got.forEach(heap::free);
        heap.free(objects.get(1));
        assertEquals(List.of(), heap.check());
    }

    @Test
    void aRepairWaitsForTheCleanerOfALocalHeapDroppedUnclosed() throws Exception {
        final List<Integer> objects = allocate(SIZE, 12);
        // One object lost in transit (its bit cleared, on no stack): the repair has work to do.
        final int lost = objects.get(11);
        HeapForge.lostInTransit(arena, lost);
        final Thread dropper = new Thread(() -> {
            final LocalHeap local = heap.local();
            objects.subList(0, 10).forEach(local::free);
            // The thread ends without closing it: the cleaner gives the 10 back.
        });
        dropper.start();
        dropper.join();
        // The cleaner's give-back stops once its objects are linked (their marks gone), before its push.
        final CountDownLatch linked = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch pushed = new CountDownLatch(1);
        CrashPoints.install(p -> {
            if (!Thread.currentThread().getName().startsWith("Cleaner")) {
                return;
            }
            if (p == HeapPoint.LOCAL_LINKED && linked.getCount() > 0) {
                linked.countDown();
                try {
                    release.await();
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            } else if (p == HeapPoint.FREE_PUSHED) {
                pushed.countDown();
            }
        });
        try {
            final long deadline = System.nanoTime() + 30_000_000_000L;
            while (!linked.await(10, TimeUnit.MILLISECONDS)) {
                assertTrue(System.nanoTime() < deadline, "the cleaner ran within 30 s of garbage collections");
                System.gc();
            }
            final Thread repair = new Thread(() -> ObjectHeap.repair(arena));
            repair.start();
            // Until the repair ends, or waits (for the cleaner's give-back to end).
            while (repair.isAlive() && repair.getState() != Thread.State.BLOCKED && repair.getState() != Thread.State.WAITING) {
                Thread.onSpinWait();
            }
            release.countDown();
            repair.join();
            assertTrue(pushed.await(30, TimeUnit.SECONDS), "the cleaner pushed");
        } finally {
            release.countDown();
            CrashPoints.install(null);
        }
        assertEquals(List.of(), heap.check());
        final Set<Integer> free = new HashSet<>(objects);
        free.remove(objects.get(10)); // still in use
        final Set<Integer> got = new HashSet<>(allocate(SIZE, free.size()));
        assertEquals(free, got, "each handed out once");
        got.forEach(heap::free);
        heap.free(objects.get(10));
        assertEquals(List.of(), heap.check());
    }

    @Test
    void aLostObjectAStrayWriteGaveThisProcesssMarkIsStillReportedAndReclaimed() {
        final List<Integer> objects = allocate(SIZE, 2);
        final int lost = objects.get(1);
        try (LocalHeap local = heap.local()) {
            local.free(objects.get(0));
            // Lost in transit (its bit cleared, on no stack), then a stray copy of a kept object's first 8 bytes.
            HeapForge.lostInTransit(arena, lost);
            v.putLong(lost, v.getLong(objects.get(0)));
            assertEquals(1, heap.check().size(), "the lost object is reported: " + heap.check());
            ObjectHeap.repair(arena);
            assertEquals(List.of(), heap.check());
            assertEquals(lost, heap.allocate(SIZE), "the lost object is back on the stack");
            heap.free(lost);
        }
        assertEquals(List.of(), heap.check());
    }
}
