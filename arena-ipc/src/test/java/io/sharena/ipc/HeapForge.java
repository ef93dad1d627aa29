package io.sharena.ipc;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;

/** Crash leftovers forged in a heap for tests: what a process killed between two steps leaves. */
final class HeapForge {
    private HeapForge() {
    }

    /** @return the page key of the arena's heap */
    static long key(final SharedArena arena) {
        return arena.raw().getLong(NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME) + HeapLayout.META_KEY);
    }

    /**
     * Leaves small object {@code obj}, in use, as a free killed between clearing its in-use bit and
     * pushing it does: its freed mark written, its bit clear, on no stack.
     */
    static void lostInTransit(final SharedArena arena, final int obj) {
        final ArenaView v = arena.raw();
        final int page = obj & ~4095;
        final int index = HeapLayout.index(obj - page - HeapLayout.SLAB_HEADER, v.getInt(page + HeapLayout.CLASS));
        v.putInt(obj + HeapLayout.FREED_MARK, HeapLayout.freedMark(obj, key(arena)));
        v.getAndBitwiseAndLong(page + HeapLayout.bitmapWord(index), ~HeapLayout.bit(index));
    }
}
