package io.sharena.core.lock;

/** What an attempt to take a cross-process lock (a {@link SharedLock}, or the allocator's) came to. */
public enum LockResult {
    /** Taken; the caller must unlock. */
    ACQUIRED,
    /** Not taken within the time allowed (zero for {@code tryLock}). */
    TIMEOUT,
    /** Not taken: the calling thread already holds it (through the same arena). */
    DEADLOCK,
    /** Taken over from an owner whose process has died; the caller must repair, then unlock. */
    RECOVERED;

    /** @return whether the caller now holds the lock */
    public boolean acquired() {
        return this == ACQUIRED || this == RECOVERED;
    }
}
