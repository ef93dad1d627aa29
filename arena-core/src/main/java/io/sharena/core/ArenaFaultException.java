package io.sharena.core;

import io.sharena.core.layout.PageEntry;

/**
 * An access through the strict view touched a page that is not ALLOCATED: the
 * {@code BPF_F_SEGV_ON_FAULT} analogue, as a Java exception.
 */
public final class ArenaFaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int pointer;

    ArenaFaultException(final int pointer, final long length, final int state) {
        super("access to a page that is not allocated: ptr=" + ArenaPointers.toHex(pointer) + ", length=" + length
            + ", state=" + (state < 0 ? "OUT_OF_RANGE" : PageEntry.stateName(state)));
        this.pointer = pointer;
    }

    /** @return the arena pointer of the faulting access */
    public int pointer() {
        return pointer;
    }
}
