package io.sharena.core.owner;

import io.sharena.core.crash.CrashPoint;

/**
 * The step boundaries of the ownership primitive, the registry and the lock: where a process may
 * die, or a thread stall, between two changes to shared words.
 */
public enum LockPoint implements CrashPoint {
    /** Attach: a free registry slot has just been claimed (one CAS); the informational fields follow. */
    ATTACH_CLAIMED,
    /** Attach, every slot taken: a dead process's slot has just been taken over (one CAS). */
    SLOT_TAKEN_OVER,
    /** Detach or recovery: a slot's counters are retired, its identity word not yet cleared. */
    SLOT_RELEASING,
    /** A waiter has judged the lock's owner dead and is about to take the word over. */
    LOCK_TAKEOVER,
    /** The lock has just been taken over from a dead owner (one CAS); repair not yet flagged. */
    LOCK_TAKEN_OVER,
    /**
     * Attach: the allocator's lock word names this new attachment (a stray write); repair flagged,
     * the word not yet cleared ({@code ArenaLock.clearStrayOwnToken}).
     */
    STRAY_TOKEN_MARKED
}
