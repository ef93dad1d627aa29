package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A heap repair rebuilds the free stacks from the pages and needs a quiet heap: it refuses while
 * other processes are attached, but a process could attach once that check had passed, and its
 * allocations met the rebuild (an object it took could be linked into a rebuilt stack as well).
 * The repair now records itself in the heap's metadata before it checks, and a process asking for
 * the heap while a live repairer is recorded waits until it is done.
 */
class HeapRepairExclusionTest {
    @TempDir
    Path dir;

    @Test
    void aProcessThatAttachesDuringARepairWaitsForItBeforeItAllocates() throws Exception {
        final Path file = dir.resolve("x.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final List<Integer> objects = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                objects.add(heap.allocate(16 << (i % 4)));
            }
            for (int i = 0; i < objects.size(); i += 2) {
                heap.free(objects.get(i));
            }
            // Every free stack dropped (a stray write): the freed objects are on none, so the
            // repair has stacks to rebuild.
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            for (int c = 0; c < HeapLayout.SIZES.length; c++) {
                arena.raw().putLongRelease(meta + c * HeapLayout.CLASS_STRIDE + HeapLayout.FREE_HEAD, 0L);
            }
            assertFalse(ObjectHeap.check(arena).isEmpty(), "objects on no stack");
            final Throwable[] failure = new Throwable[1];
            final Thread repairer;
            try (PointPause pause = new PointPause(HeapPoint.REPAIR_CLASS)) {
                repairer = PointPause.start(() -> ObjectHeap.repair(arena), failure);
                assertTrue(pause.awaitReached(), "the repair reached its rebuild");
                try (ChildJvm child = IpcChild.start("heapof", file.toString())) {
                    // The child attaches to the arena (after the repair's check), then asks for the heap.
                    final long deadline = System.nanoTime() + 60_000_000_000L;
                    while (!ArenaInternals.otherLiveProcesses(arena).contains(child.pid())) {
                        assertTrue(System.nanoTime() < deadline, "the child attached: " + child.output());
                        Thread.sleep(10);
                    }
                    Thread.sleep(1_000);
                    assertFalse(child.output().stream().anyMatch(l -> l.startsWith("heap at")),
                        "the child allocated while the repair ran: " + child.output());
                    pause.release();
                    repairer.join(30_000);
                    assertNull(failure[0]);
                    assertTrue(child.await("heap at").length() > "heap at ".length());
                    assertEquals(0, child.waitFor(60), String.valueOf(child.output()));
                }
            }
            assertEquals(List.of(), ObjectHeap.check(arena));
            for (int i = 1; i < objects.size(); i += 2) {
                heap.free(objects.get(i));
            }
            assertEquals(List.of(), ObjectHeap.check(arena));
        }
    }
}
