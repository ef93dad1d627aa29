package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.layout.HeapLayout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One stray write into a slab page's class word, naming another valid class: the repair must not
 * take the class for the truth and rewrite the object count from it (objects carved at the wrong
 * size were then handed out over live ones, or live objects' in-use bits cleared as "past the last
 * object"). The in-use bits tell which word was hit when an object in use lies past one class's
 * last object; when nothing tells, the page leaves the heap with its objects still allocated.
 */
class SlabHeaderMendTest {
    private static final int OBJECT = 64; // class 5: 62 objects a slab page
    private static final int LIVE = 40;

    @TempDir
    Path dir;

    /**
     * @param hitClass 9 (128-byte objects, 31 a page: object 39 lies past its last, so the class was
     *                 hit and is restored), or 4 (48-byte objects, 84 a page: the bits fit both,
     *                 nothing tells, the page is left out)
     */
    @ParameterizedTest
    @ValueSource(ints = {9, 4})
    void aClassWordHitToAnotherClassHandsOutNoLiveObject(final int hitClass) throws Exception {
        try (SharedArena arena = SharedArena.create(dir.resolve("x.arena"), Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final ObjectHeap heap = ObjectHeap.of(arena);
            final List<Integer> live = new ArrayList<>();
            int page = 0;
            while (live.size() < LIVE) {
                final int obj = heap.allocate(OBJECT);
                page = page == 0 ? obj & ~(Geometry.PAGE_SIZE - 1) : page;
                assertEquals(page, obj & ~(Geometry.PAGE_SIZE - 1), "one slab page");
                live.add(obj);
                v.fill(obj, OBJECT, (byte) 0x5A);
            }
            assertEquals(5, v.getInt(page + HeapLayout.CLASS));
            assertEquals(List.of(), IpcCheck.check(arena));

            v.putInt(page + HeapLayout.CLASS, hitClass);
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertEquals(List.of(), IpcCheck.check(arena), "repair said " + done);
            final String said = String.join("\n", done);
            if (hitClass == 9) {
                assertTrue(said.contains("class from its object count"), said);
                assertEquals(5, v.getInt(page + HeapLayout.CLASS));
            } else {
                assertTrue(said.contains("heap slab page dropped from the heap"), said);
            }

            // Nothing handed out over a live object, whatever size is asked for.
            for (final int size : new int[] {OBJECT, HeapLayout.SIZES[hitClass]}) {
                for (int n = 0; n < 200; n++) {
                    final int got = heap.allocate(size);
                    for (final int obj : live) {
                        assertTrue(got >= obj + OBJECT || obj >= got + size,
                            "allocate(" + size + ") = 0x" + Integer.toHexString(got) + " over live 0x" + Integer.toHexString(obj));
                    }
                }
            }
            for (final int obj : live) {
                for (int b = 0; b < OBJECT; b++) {
                    assertEquals((byte) 0x5A, v.getByte(obj + b), "live object 0x" + Integer.toHexString(obj) + " written over");
                }
                if (hitClass == 9) {
                    heap.free(obj);
                } else {
                    // Left out of the heap: its objects stay allocated, and a free of one is refused.
                    assertThrows(IllegalArgumentException.class, () -> heap.free(obj));
                }
            }
            assertEquals(List.of(), IpcCheck.check(arena));
        }
    }
}
