package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoint;

/** The step boundaries of the store's multi-step mutations (see the package's crash argument). */
public enum StorePoint implements CrashPoint {
    /** Ring lock held, new record's header written at the head, head not yet advanced. */
    RESERVE_HEADER_WRITTEN,
    /** Head advanced: the record is RESERVED and owned by the writer. */
    RESERVE_HEAD_ADVANCED,
    /**
     * Ring lock held, a reservation placed in a hole (a large record given up, replaced or deleted
     * earlier): the store's reuse count raised (lock-free readers read again), the hole unchanged.
     */
    HOLE_REUSE_COUNTED,
    /** Ring lock held, a reservation placed in a hole: the hole record's CAS word cleared (readers of its item's value read again), the hole unchanged else. */
    HOLE_CAS_CLEARED,
    /** Ring lock held, a reservation placed in a hole: the hole's rest written as a PAD, the DEAD record still covering it. */
    HOLE_REST_PADDED,
    /** Ring lock held: the hole's DEAD record shrunk to the new record's size; the PAD follows it. */
    HOLE_SHRUNK,
    /** Ring lock held: the record in the hole RESERVED and owned by the writer, as at the head. */
    HOLE_RESERVED,
    /** Record body (key and value) written, stripe lock not yet taken. */
    SET_BUILT,
    /**
     * Stripe lock held, new record marked LINKED (the tail now needs the stripe lock to pass it), its
     * CAS word still its owner's token and NEXT not yet written; unpublished.
     */
    SET_MARKED_LINKED,
    /** Stripe lock held, new record LINKED but not yet published. */
    SET_LINKED,
    /** New record published by the link store; old record still LINKED. */
    SET_PUBLISHED,
    /** Old record marked DEAD, stripe counters not yet updated. */
    SET_OLD_DEAD,
    /** incr/decr: new number's record built, stripe lock not yet taken. */
    INCR_BUILT,
    /** incr/decr: new number published, old record still LINKED. */
    INCR_PUBLISHED,
    /** delete: item unlinked, still LINKED, counters not updated. */
    DELETE_UNLINKED,
    /** eviction: tail item unlinked under its stripe lock, tail not yet advanced. */
    EVICT_UNLINKED,
    /** eviction: a hot item copied to the head (the copy still RESERVED, its owner word ours), not yet linked. */
    EVICT_COPIED,
    /** eviction: a hot item's copy marked LINKED, its CAS word still its owner's token; not yet published. */
    EVICT_COPY_LINKED,
    /** eviction: a hot item's copy published in its place, tail not yet advanced. */
    EVICT_REINSERTED,
    /** eviction: tail advanced past one record. */
    EVICT_TAIL_ADVANCED,
    /** flush_all with no delay: the CAS watermark raised (every item flushed), a pending delayed flush not yet cleared. */
    FLUSH_CAS_RAISED,
    /** flush_all with no delay: the watermark's copy raised too (the repair's evidence); a pending delayed flush not yet cleared. */
    FLUSH_CAS_COPIED
}
