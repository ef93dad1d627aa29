package io.sharena.server;

/**
 * A command line split the way memcached's text protocol splits it: on single spaces only (a tab
 * is part of a token), at most {@value #MAX_TOKENS} - 1 tokens, then a terminal token. As in
 * memcached, {@link #count} includes the terminal token, whose offset is where the unsplit rest of
 * the line starts, or -1 if the whole line was split. Offsets index the connection's input buffer;
 * one instance per worker thread, reused for every line.
 */
final class Tokens {
    static final int MAX_TOKENS = 24;

    final int[] off = new int[MAX_TOKENS];
    final int[] len = new int[MAX_TOKENS];
    /** Tokens, counting the terminal one. */
    int count;
    byte[] buf;
    /** Where the line ends (exclusive). */
    int lineEnd;

    /** Splits {@code buf[from, to)}. */
    void split(final byte[] b, final int from, final int to) {
        buf = b;
        lineEnd = to;
        int n = 0;
        int s = from;
        int e = from;
        for (; e < to; e++) {
            if (b[e] == ' ') {
                if (s != e) {
                    off[n] = s;
                    len[n] = e - s;
                    n++;
                    if (n == MAX_TOKENS - 1) {
                        e++;
                        s = e;
                        break;
                    }
                }
                s = e + 1;
            }
        }
        if (s != e) {
            off[n] = s;
            len[n] = e - s;
            n++;
        }
        off[n] = e < to ? e : -1;
        len[n] = 0;
        count = n + 1;
    }

    boolean is(final int i, final String word) {
        if (len[i] != word.length()) {
            return false;
        }
        for (int k = 0; k < len[i]; k++) {
            if (buf[off[i] + k] != word.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    byte first(final int i) {
        return len[i] == 0 ? 0 : buf[off[i]];
    }

    byte[] bytes(final int i) {
        return java.util.Arrays.copyOfRange(buf, off[i], off[i] + len[i]);
    }

    String string(final int i) {
        return new String(buf, off[i], len[i], java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
