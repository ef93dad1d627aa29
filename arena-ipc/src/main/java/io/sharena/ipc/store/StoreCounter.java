package io.sharena.ipc.store;

/**
 * The call counters each process keeps in its own block of the store header, summed over every
 * process for {@link SharedStore#stats()}. Names are memcached's {@code stats} names.
 */
enum StoreCounter {
    GET_HITS("get_hits"),
    GET_MISSES("get_misses"),
    GET_EXPIRED("get_expired"),
    GET_FLUSHED("get_flushed"),
    CMD_SET("cmd_set"),
    CMD_TOUCH("cmd_touch"),
    TOUCH_HITS("touch_hits"),
    TOUCH_MISSES("touch_misses"),
    CMD_FLUSH("cmd_flush"),
    DELETE_HITS("delete_hits"),
    DELETE_MISSES("delete_misses"),
    INCR_HITS("incr_hits"),
    INCR_MISSES("incr_misses"),
    DECR_HITS("decr_hits"),
    DECR_MISSES("decr_misses"),
    CAS_HITS("cas_hits"),
    CAS_MISSES("cas_misses"),
    CAS_BADVAL("cas_badval"),
    TOTAL_ITEMS("total_items"),
    EVICTIONS("evictions"),
    EVICTED_UNFETCHED("evicted_unfetched"),
    EXPIRED_UNFETCHED("expired_unfetched"),
    RECLAIMED("reclaimed"),
    REINSERTED("reinserted"),
    READ_RETRIES("read_retries"),
    OUT_OF_MEMORY("outofmemory"),
    /** Reservations placed in a record given up earlier ({@link Ring#abandon}) instead of at the head. */
    HOLES_FILLED("holes_filled"),
    /** Turns of the ring lock a write ended after moving items for their time, to go on after the writers waiting ({@link Ring#reserve}). */
    MOVES_CUT("moves_cut");

    final String statName;

    StoreCounter(final String statName) {
        this.statName = statName;
    }
}
