package io.sharena.core.lock;

import java.lang.foreign.MemorySegment;

/**
 * A lock a user places in their own shared structure: 8 bytes at an arena pointer, the analogue of
 * the BPF arena's {@code bpf_arena_spin_lock}. Same word, same results and same dead-holder
 * recovery as the allocator's lock (one implementation, {@link CrossProcessLock}); the allocator's
 * lock is not for user critical sections.
 *
 * <pre>{@code
 * int node = arena.allocPages(1);            // zeroed: the lock word starts unlocked
 * SharedLock lock = arena.lockAt(node);      // in every process, the same pointer
 * switch (lock.lock(TimeUnit.MILLISECONDS.toNanos(10))) {
 *     case ACQUIRED -> { try { update(node); } finally { lock.unlock(); } }
 *     case RECOVERED -> { try { repair(node); update(node); } finally { lock.unlock(); } }
 *     case DEADLOCK -> throw new IllegalStateException("already held by this thread");
 *     case TIMEOUT -> retryLater();
 * }
 * }</pre>
 *
 * <p>The word must be 8-byte aligned, inside an ALLOCATED page, and zero when the structure is
 * first shared (allocated pages are). A holder that dies (kill -9 included), or closes its arena
 * while holding the lock, is detected by the next waiter, who gets {@link LockResult#RECOVERED}:
 * the structure may be half-changed and the caller repairs it before unlocking. A stopped or paused
 * holder keeps the lock. The lock is held by a thread through one attachment: DEADLOCK is reported
 * for the same thread through the same open arena; a second {@code SharedArena} on the same file in
 * the same process is another holder. Instances are cheap flyweights, usable from any thread of the
 * attachment that made them.
 */
public final class SharedLock extends CrossProcessLock {
    private final int ptr;

    /** Made by {@code SharedArena.lockAt}, which validates the pointer. */
    public SharedLock(final MemorySegment arena, final int ptr, final Ownership ownership) {
        super(arena, Integer.toUnsignedLong(ptr), ownership);
        this.ptr = ptr;
    }

    /** @return the arena pointer of the lock word */
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
