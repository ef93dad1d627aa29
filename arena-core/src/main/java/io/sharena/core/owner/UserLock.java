package io.sharena.core.owner;

import io.sharena.core.lock.SharedLock;

import java.lang.foreign.MemorySegment;

/**
 * The {@link SharedLock} that {@code SharedArena.lockAt} hands out: a {@link CrossProcessLock} on
 * the 8 bytes at a user's arena pointer, with no hooks of its own (no counters, no repair flag; the
 * caller repairs its own structure after {@code RECOVERED}).
 */
public final class UserLock extends CrossProcessLock implements SharedLock {
    private final int ptr;

    /** Made by {@code SharedArena.lockAt}, which validates the pointer. */
    public UserLock(final MemorySegment arena, final int ptr, final Ownership ownership) {
        super(arena, Integer.toUnsignedLong(ptr), ownership);
        this.ptr = ptr;
    }

    @Override
    public int pointer() {
        return ptr;
    }

    @Override
    String describe() {
        return "shared lock at ptr=0x" + Integer.toHexString(ptr);
    }

    @Override
    public String toString() {
        return "SharedLock[ptr=0x" + Integer.toHexString(ptr) + ", owner=0x" + Long.toHexString(ownerWord()) + "]";
    }
}
