package io.sharena.ipc.store;

/**
 * A copy of an item, as {@code gets} returns it: value bytes, client flags, CAS value (compare
 * as unsigned), and expiry (absolute Unix seconds, 0 = never).
 */
public record StoreItem(byte[] value, int flags, long cas, long expires) {
}
