package io.sharena.server;

import java.util.Base64;

/**
 * The flags of a meta command, checked as memcached's flag pre-parse checks them: a repeated or
 * unknown flag fails at once; a bad number or key encoding is noted and the scan goes on (the last
 * error found is the one reported). The key is base64-decoded here when {@code b} is given.
 *
 * <p>Flags that need per-item state the shared store does not keep are refused as unknown flags
 * ({@code CLIENT_ERROR invalid flag}): {@code h} (hit before), {@code l} (last access), {@code I}
 * (invalidate: mark stale), {@code R} (recache win), and {@code N} (vivify) on {@code mg}, whose
 * win/stale tokens ({@code W}, {@code Z}, {@code X}) would need an item's token-sent bit. {@code N}
 * on {@code ma} (create the counter) is supported.
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
    long ttl;
    long vivifyTtl;
    long clientFlags;
    long cas;
    long delta;
    long initial;
    byte mode;

    private final boolean[] seen = new boolean[128];
    private final long[] number = new long[1];

    /**
     * Scans tokens from {@code start}.
     *
     * @return false on a failure ({@link #error} says which)
     */
    boolean parse(final Tokens t, final int start, final boolean vivifyAllowed) {
        java.util.Arrays.fill(seen, false);
        error = null;
        key = t.bytes(1);
        binaryKey = false;
        vivify = false;
        value = false;
        quiet = false;
        hasCas = false;
        hasTtl = false;
        ttl = 0;
        vivifyTtl = 0;
        clientFlags = 0;
        cas = 0;
        delta = 1;
        initial = 0;
        mode = 0;
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
                    try {
                        key = Base64.getDecoder().decode(t.bytes(1));
                        if (key.length == 0) {
                            throw new IllegalArgumentException("empty");
                        }
                    } catch (final IllegalArgumentException e) {
                        error = "CLIENT_ERROR error decoding key";
                        failed = true;
                        key = t.bytes(1);
                    }
                    binaryKey = true;
                }
                case 'N' -> {
                    if (!vivifyAllowed) {
                        error = "CLIENT_ERROR invalid flag";
                        return false;
                    }
                    vivify = true;
                    vivifyTtl = Ascii.parseI32(t.buf, from, len);
                    if (vivifyTtl == Ascii.BAD) {
                        error = "CLIENT_ERROR bad token in command line format";
                        failed = true;
                    }
                }
                case 'T' -> {
                    ttl = Ascii.parseI32(t.buf, from, len);
                    if (ttl == Ascii.BAD) {
                        error = "CLIENT_ERROR bad token in command line format";
                        failed = true;
                    } else {
                        hasTtl = true;
                    }
                }
                case 'O', 'P', 'L', 'k', 's', 't', 'c', 'f', 'u' -> {
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
                    // h, l, I, R: per-item state the store does not keep (see the class comment)
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
}
