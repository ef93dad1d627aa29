package io.sharena.ipc.store;

/** What {@link SharedStore#store} does with the key's current item: memcached's storage commands. */
public enum StoreMode {
    /** Store whatever the key holds. */
    SET,
    /** Store only if the key holds no live item (NOT_STORED otherwise). */
    ADD,
    /** Store only if the key holds a live item (NOT_STORED otherwise). */
    REPLACE,
    /** Add the bytes after the live item's value (NOT_STORED without one). */
    APPEND,
    /** Add the bytes before the live item's value (NOT_STORED without one). */
    PREPEND,
    /** Store only if the live item's CAS value is the expected one (EXISTS, NOT_FOUND otherwise). */
    CAS
}
