package io.sharena.core.lock;

/**
 * A lock a user places in their own shared structure: 8 bytes at an arena pointer, the analogue of
 * the BPF arena's {@code bpf_arena_spin_lock}. Same word, same results and same dead-holder
 * recovery as the allocator's lock (one implementation behind both); the allocator's lock is not
 * for user critical sections.
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
 *
 * <p>Only {@code SharedArena.lockAt} makes them; the interface is not meant to be implemented.
 */
public interface SharedLock {
    /** Tries once; checks the holder's liveness if the lock is held. Never waits. */
    LockResult tryLock();

    /**
     * Takes the lock within {@code timeoutNanos} (0: try once).
     *
     * @return ACQUIRED; RECOVERED (taken over from a dead holder: the caller must repair what the
     * lock guards, then unlock); DEADLOCK (the calling thread already holds it: nothing changed,
     * do not unlock for this call); or TIMEOUT
     */
    LockResult lock(long timeoutNanos);

    /**
     * Releases the lock: a release store of 0, which publishes every write made while holding it.
     *
     * @throws IllegalMonitorStateException if the calling thread does not hold the lock
     */
    void unlock();

    /** @return whether the calling thread holds the lock through this attachment */
    boolean isHeldByCurrentThread();

    /** @return whether the lock is held by a live holder (read without taking it) */
    boolean isLocked();

    /** @return the lock word: 0, or the holder's owner token (for messages and tools) */
    long ownerWord();

    /** @return the arena pointer of the lock word */
    int pointer();
}
