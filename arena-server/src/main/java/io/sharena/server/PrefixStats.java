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
        final int end = prefixEnd(key, off, len);
        if (end >= 0) {
            synchronized (this) {
                final long[] c = of(key, off, end);
                c[0]++;
                if (hit) {
                    c[1]++;
                }
            }
        }
    }

    void recordSet(final byte[] key, final int off, final int len) {
        final int end = prefixEnd(key, off, len);
        if (end >= 0) {
            synchronized (this) {
                of(key, off, end)[2]++;
            }
        }
    }

    void recordDelete(final byte[] key, final int off, final int len) {
        final int end = prefixEnd(key, off, len);
        if (end >= 0) {
            synchronized (this) {
                of(key, off, end)[3]++;
            }
        }
    }

    /** @return memcached's dump: a {@code PREFIX} line per prefix, then {@code END} */
    synchronized String dump() {
        final StringBuilder b = new StringBuilder();
        for (final Map.Entry<String, long[]> e : counts.entrySet()) {
            final long[] c = e.getValue();
            b.append("PREFIX ").append(e.getKey()).append(" get ").append(c[0]).append(" hit ").append(c[1])
                .append(" set ").append(c[2]).append(" del ").append(c[3]).append("\r\n");
        }
        return b.append("END\r\n").toString();
    }

    synchronized void clear() {
        counts.clear();
    }

    private long[] of(final byte[] key, final int off, final int end) {
        return counts.computeIfAbsent(new String(key, off, end - off, StandardCharsets.ISO_8859_1), p -> new long[4]);
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
