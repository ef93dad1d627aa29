package io.sharena.ipc.store;

/** What a store command came to; the names are memcached's replies where it has one. */
public enum StoreResult {
    /** The value was stored (set, add, replace, append, prepend, cas, incr, decr). */
    STORED,
    /** add found the key, or replace/append/prepend did not. */
    NOT_STORED,
    /** cas: the item was changed since the CAS value was read. */
    EXISTS,
    /** The key is not there (cas, delete, touch, incr, decr). */
    NOT_FOUND,
    /** delete removed the item. */
    DELETED,
    /** touch or get-and-touch changed the expiry. */
    TOUCHED,
    /** The value (after append/prepend, if any) is over the store's maximum item size. */
    TOO_LARGE,
    /** No room could be made in time (every record at the tail is being written by a live process). */
    NO_MEMORY,
    /** incr/decr on a value that is not a decimal unsigned 64-bit number. */
    NON_NUMERIC,
    /** The key's stripe lock is held by a live process that did not let go in time (a stopped process). */
    BUSY
}
