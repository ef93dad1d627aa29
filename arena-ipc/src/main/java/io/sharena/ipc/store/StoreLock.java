package io.sharena.ipc.store;

import io.sharena.core.lock.LockResult;

/**
 * A cross-process lock placed in the store's own memory (a stripe's or the ring's lock word), with
 * the arena lock's results: ACQUIRED, TIMEOUT, DEADLOCK (the calling thread holds it already) and
 * RECOVERED (taken over from a dead owner; the caller repairs what the owner may have left
 * half-done, then unlocks).
 *
 * <p>The store uses locks only through this interface, so that the arena's user-placeable lock can
 * take the place of {@link OwnerWordLock} by changing {@link #at}.
 */
sealed interface StoreLock permits OwnerWordLock {
    LockResult lock(long timeoutNanos);

    void unlock();

    /** @return a lock whose word is the 8 aligned bytes at {@code wordPtr} */
    static StoreLock at(final io.sharena.core.SharedArena arena, final int wordPtr) {
        return new OwnerWordLock(arena, wordPtr);
    }
}
