package io.sharena.server;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * memcached's {@code stats detail}: while it is on, text gets, storage commands and deletes count per key
 * prefix, the part of the key before its first {@code ':'} (keys without one are not counted).
 * Off by default; when off, a command pays one volatile read. The counts are this process's and
 * live until {@code stats reset}.
 */
final class PrefixStats {
    private static final byte DELIMITER = ':';
    private static final int GETS = 0;
    private static final int HITS = 1;
    private static final int SETS = 2;
    private static final int DELETES = 3;

    private volatile boolean enabled;
    /** Prefix to {gets, hits, sets, deletes}, in the order prefixes were first seen. */
    private final Map<String, long[]> counts = new LinkedHashMap<>();

    boolean enabled() {
        return enabled;
    }

    void enable(final boolean on) {
        enabled = on;
    }

    void recordGet(final byte[] key, final int off, final int len, final boolean hit) {
        record(key, off, len, GETS, hit);
    }

    void recordSet(final byte[] key, final int off, final int len) {
        record(key, off, len, SETS, false);
    }

    void recordDelete(final byte[] key, final int off, final int len) {
        record(key, off, len, DELETES, false);
    }

    private void record(final byte[] key, final int off, final int len, final int field, final boolean hit) {
        final int end = prefixEnd(key, off, len);
        if (end < 0) {
            return;
        }
        synchronized (this) {
            final long[] c = counts.computeIfAbsent(new String(key, off, end - off, StandardCharsets.ISO_8859_1),
                p -> new long[4]);
            c[field]++;
            if (hit) {
                c[HITS]++;
            }
        }
    }

    /** @return memcached's dump: a {@code PREFIX} line per prefix, then {@code END} */
    synchronized String dump() {
        final StringBuilder b = new StringBuilder();
        for (final Map.Entry<String, long[]> e : counts.entrySet()) {
            final long[] c = e.getValue();
            b.append("PREFIX ").append(e.getKey()).append(" get ").append(c[GETS]).append(" hit ").append(c[HITS])
                .append(" set ").append(c[SETS]).append(" del ").append(c[DELETES]).append("\r\n");
        }
        return b.append("END\r\n").toString();
    }

    synchronized void clear() {
        counts.clear();
    }

    private static int prefixEnd(final byte[] key, final int off, final int len) {
        for (int i = off; i < off + len; i++) {
            if (key[i] == DELIMITER) {
                return i;
            }
        }
        return -1;
    }
}
