package io.sharena.ipc;

import io.sharena.core.crash.CrashPoint;

/**
 * The step boundaries of the named roots' multi-step changes (see {@link NamedRoots}): where a
 * process may die or stall between two stores, or between finding an entry and acting on it.
 */
public enum RootsPoint implements CrashPoint {
    /**
     * A fresh directory's zeroed pages are allocated straight into the control page's word (one
     * crash-safe step of the allocator), its magic not yet written: whoever attaches next writes it.
     */
    DIRECTORY_ALLOCATED,
    /** Under the lock, creating: the name's entry is LIVE with no pointer and CREATING names it; nothing allocated yet. */
    CREATE_RECORDED,
    /** Under the lock, creating: the structure is allocated into the entry, formatted, and CREATING says so; not yet cleared. */
    CREATE_FORMATTED,
    /** Under the lock, in repair: an unfinished creation's pages are freed from its entry; the entry not yet dropped. */
    CREATE_UNDONE,
    /** An entry was found for a name; its value is about to be read or compare-and-set. */
    FOUND,
    /**
     * A lock-free put or compare-and-set read the entry's value and found the entry still LIVE
     * under its name; its CAS of the value not yet made. A remove under the lock may mark the entry
     * WRITING meanwhile: the CAS still lands until the remove bumps the value's version.
     */
    PUT_CHECKED,
    /** Under the lock: an entry is claimed WRITING, its name not yet written. */
    INSERT_CLAIMED,
    /** Under the lock: the name is written, the value not yet. */
    INSERT_NAMED,
    /** Under the lock: the value is written (version bumped), the entry not yet LIVE. */
    INSERT_VALUED,
    /**
     * Under the lock: the entry being removed is WRITING (readers skip it), its name still whole:
     * a repair restores it if its pointer leads to a made structure no other root leads to.
     */
    REMOVE_WRITING,
    /** Under the lock: the entry being removed is WRITING with its name length 0 (readers skip it); not yet REMOVED. */
    REMOVE_MARKED,
    /**
     * Under the lock: the removed entry is REMOVED, its value's version not yet bumped (or, giving a
     * structure back, its pointer freed out of the entry while the entry is still LIVE).
     */
    REMOVE_CLEARED,
    /** Under the lock, in repair: an entry is about to be changed. */
    REPAIR_ENTRY
}
