package io.sharena.server;


/**
 * The flags of a meta command, checked as memcached's flag pre-parse checks them: a repeated or
 * unknown flag fails at once; a bad number or key encoding is noted and the scan goes on (the last
 * error found is the one reported). Every flag memcached's pre-parse knows is accepted by every
 * meta command, as there, and ignored where it means nothing.
 *
 * <p>The key is the worker's array of the key's length ({@link Worker#key}): valid until the
 * worker's next command, so a command that keeps it longer (ms, across its data block) copies it.
 * With {@code b} it is base64-decoded into a new array.
 */
final class MetaFlags {
    String error;
    byte[] key;
    boolean binaryKey;
    boolean vivify;
    boolean value;
    boolean quiet;
    boolean hasCas;
    boolean hasTtl;
    /** u: no LRU bump (no fetched mark, no access time update). */
    boolean noBump;
    /** I: md marks stale; ms stores as stale when its CAS is older. */
    boolean invalidate;
    /** R: a win when the item's remaining TTL is below {@link #recacheTtl}. */
    boolean recache;
    long ttl;
    long vivifyTtl;
    long recacheTtl;
    long clientFlags;
    long cas;
    long delta;
    long initial;
    byte mode;
    /** The token index of T and of N, 0 if absent: memcached applies them in token order. */
    int ttlAt;
    int vivifyAt;

    private final boolean[] seen = new boolean[128];
    private final long[] number = new long[1];

    /**
     * Scans tokens from {@code start}.
     *
     * @return false on a failure ({@link #error} says which)
     */
    boolean parse(final Worker w, final Tokens t, final int start) {
        java.util.Arrays.fill(seen, false);
        error = null;
        key = w.key(t.buf, t.off[1], t.len[1]);
        binaryKey = false;
        vivify = false;
        value = false;
        quiet = false;
        hasCas = false;
        hasTtl = false;
        noBump = false;
        invalidate = false;
        recache = false;
        ttl = 0;
        vivifyTtl = 0;
        recacheTtl = 0;
        clientFlags = 0;
        cas = 0;
        delta = 1;
        initial = 0;
        mode = 0;
        ttlAt = 0;
        vivifyAt = 0;
        boolean failed = false;
        for (int i = start; i < t.count - 1; i++) {
            final int o = t.first(i) & 0xFF;
            if (o >= 127 || seen[o]) {
                error = "CLIENT_ERROR duplicate flag";
                return false;
            }
            seen[o] = true;
            final int from = t.off[i] + 1;
            final int len = t.len[i] - 1;
            switch (o) {
                case 'b' -> {
                    key = Base64Key.decode(t.buf, t.off[1], t.len[1]);
                    if (key == null) {
                        error = "CLIENT_ERROR error decoding key";
                        failed = true;
                        key = w.key(t.buf, t.off[1], t.len[1]);
                    }
                    binaryKey = true;
                }
                case 'N' -> {
                    vivify = true;
                    vivifyAt = i;
                    vivifyTtl = seconds(t.buf, from, len);
                    failed |= vivifyTtl == Ascii.BAD;
                }
                case 'T' -> {
                    ttl = seconds(t.buf, from, len);
                    hasTtl = ttl != Ascii.BAD;
                    ttlAt = hasTtl ? i : 0;
                    failed |= !hasTtl;
                }
                case 'R' -> {
                    recacheTtl = seconds(t.buf, from, len);
                    recache = recacheTtl != Ascii.BAD;
                    failed |= !recache;
                }
                case 'u' -> noBump = true;
                case 'I' -> invalidate = true;
                case 'O', 'P', 'L', 'k', 's', 't', 'c', 'f', 'h', 'l' -> {
                    // known; echoed or answered while the reply is built
                }
                case 'v' -> value = true;
                case 'q' -> quiet = true;
                case 'F' -> {
                    clientFlags = Ascii.parseU32(t.buf, from, len);
                    if (clientFlags == Ascii.BAD) {
                        failed = true;
                    }
                }
                case 'C' -> {
                    if (Ascii.parseU64(t.buf, from, len, number)) {
                        cas = number[0];
                        hasCas = true;
                    } else {
                        error = "CLIENT_ERROR bad token in command line format";
                        failed = true;
                    }
                }
                case 'M' -> {
                    if (t.len[i] != 2) {
                        error = "CLIENT_ERROR incorrect length for M token";
                        failed = true;
                    } else {
                        mode = t.buf[t.off[i] + 1];
                    }
                }
                case 'J' -> {
                    if (Ascii.parseU64(t.buf, from, len, number)) {
                        initial = number[0];
                    } else {
                        error = "CLIENT_ERROR invalid numeric initial value";
                        failed = true;
                    }
                }
                case 'D' -> {
                    if (Ascii.parseU64(t.buf, from, len, number)) {
                        delta = number[0];
                    } else {
                        error = "CLIENT_ERROR invalid numeric delta value";
                        failed = true;
                    }
                }
                default -> {
                    error = "CLIENT_ERROR invalid flag";
                    return false;
                }
            }
        }
        if (failed && error == null) {
            error = TextCommands.BAD_FORMAT;
        }
        return !failed;
    }

    /** A TTL-like number (N, T, R) as memcached's strtol reads it; a bad one notes the error. */
    private long seconds(final byte[] b, final int from, final int len) {
        final long v = Ascii.parseI32(b, from, len);
        if (v == Ascii.BAD) {
            error = "CLIENT_ERROR bad token in command line format";
        }
        return v;
    }
}
