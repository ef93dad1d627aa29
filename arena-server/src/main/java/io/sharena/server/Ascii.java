package io.sharena.server;

/**
 * Numbers in command lines, parsed as memcached's {@code safe_strto*} parse them (C's
 * {@code strtoul}/{@code strtol} then its checks): optional leading white space and sign, decimal
 * digits, then the end of the token or a white-space byte; out of range is a failure; a minus sign
 * on an unsigned number is a failure unless the value is 0; a 32-bit unsigned value wraps from a
 * 64-bit parse as it does on a 64-bit build. Failures return {@link #BAD}, a value no caller accepts.
 */
final class Ascii {
    /** Parse failure marker for the {@code long}-returning parsers of 32-bit values. */
    static final long BAD = Long.MIN_VALUE;

    private Ascii() {
    }

    private static boolean space(final byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000b' || c == '\f' || c == '\r';
    }

    /** The parse of C's strtoull: value and where it stopped; overflow flagged. */
    private static final class Parsed {
        long value;
        boolean negative;
        boolean overflow;
        int end;
        int digitsFrom;
    }

    private static boolean strtoull(final byte[] b, final int from, final int to, final Parsed p) {
        int i = from;
        while (i < to && space(b[i])) {
            i++;
        }
        p.negative = false;
        if (i < to && (b[i] == '+' || b[i] == '-')) {
            p.negative = b[i] == '-';
            i++;
        }
        p.digitsFrom = i;
        long v = 0;
        boolean overflow = false;
        while (i < to && b[i] >= '0' && b[i] <= '9') {
            final int d = b[i] - '0';
            if (Long.compareUnsigned(v, Long.divideUnsigned(-1L - d, 10)) > 0) {
                overflow = true;
            }
            v = v * 10 + d;
            i++;
        }
        if (i == p.digitsFrom) {
            return false; // no digits: str == endptr
        }
        p.value = v;
        p.overflow = overflow;
        p.end = i;
        // what follows must end the token or be white space
        return i == to || space(b[i]);
    }

    /** safe_strtoull: an unsigned 64-bit number, or {@code null} semantics through {@code ok[0]}. */
    static boolean parseU64(final byte[] b, final int from, final int len, final long[] out) {
        final Parsed p = new Parsed();
        if (len == 0 || !strtoull(b, from, from + len, p) || p.overflow) {
            return false;
        }
        long v = p.negative ? -p.value : p.value;
        if (v < 0 && p.negative) {
            return false; // "-5": a huge unsigned value with a minus sign
        }
        out[0] = v;
        return true;
    }

    /** safe_strtoul on a 64-bit build: as {@link #parseU64}, then truncated to 32 bits. */
    static long parseU32(final byte[] b, final int from, final int len) {
        final long[] v = new long[1];
        return parseU64(b, from, len, v) ? v[0] & 0xFFFF_FFFFL : BAD;
    }

    /**
     * safe_strtol as memcached 1.6 builds it: C's strtol on a 64-bit long (out of that range fails),
     * then stored into a 32-bit int, so larger values wrap (4000000000 becomes -294967296).
     */
    static long parseI32(final byte[] b, final int from, final int len) {
        final Parsed p = new Parsed();
        if (len == 0 || !strtoull(b, from, from + len, p)) {
            return BAD;
        }
        if (p.overflow || p.value < 0 && !(p.negative && p.value == Long.MIN_VALUE)) {
            return BAD; // beyond a signed long: ERANGE
        }
        final long v = p.negative ? -p.value : p.value;
        return (int) v;
    }
}
