package io.sharena.ipc;

import io.sharena.core.SharedArena;
import io.sharena.core.internal.HeldPages;

import java.util.BitSet;

/**
 * The IPC structures' pages ({@link IpcCheck#heldPages}) for every repair of the allocator, the
 * opener's included: found through the named roots, never through the page table.
 */
public final class StructurePages implements HeldPages {
    @Override
    public BitSet of(final SharedArena arena) {
        return IpcCheck.heldPages(arena);
    }
}
