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

    // What C's strtoull found, packed in one long so that a parse allocates nothing: where the
    // digits start and end, from the token's start (bits 0-29 and 30-59: a line is at most
    // 2 x 256 MiB, the largest get line bound), then two flags.
    private static final int POS_BITS = 30;
    private static final long POS_MASK = (1L << POS_BITS) - 1;
    private static final long NEGATIVE = 1L << 60;
    private static final long OVERFLOW = 1L << 61;

    /**
     * C's strtoull over {@code b[from, to)}, without its value.
     *
     * @return -1 if there are no digits or the digits are followed by a byte that is not white
     *     space; else the digits' start and end, and whether a minus sign came first and the value
     *     overflowed 64 bits
     */
    private static long scan(final byte[] b, final int from, final int to) {
        int i = from;
        while (i < to && space(b[i])) {
            i++;
        }
        long flags = 0;
        if (i < to && (b[i] == '+' || b[i] == '-')) {
            flags = b[i] == '-' ? NEGATIVE : 0;
            i++;
        }
        final int digitsFrom = i;
        long v = 0;
        while (i < to && b[i] >= '0' && b[i] <= '9') {
            final int d = b[i] - '0';
            if (Long.compareUnsigned(v, Long.divideUnsigned(-1L - d, 10)) > 0) {
                flags |= OVERFLOW;
            }
            v = v * 10 + d;
            i++;
        }
        if (i == digitsFrom || i < to && !space(b[i])) {
            return -1; // no digits (str == endptr), or what follows does not end the token
        }
        return flags | (long) (i - from) << POS_BITS | digitsFrom - from;
    }

    /** @return the digits a successful {@link #scan} found, as an unsigned 64-bit value */
    private static long value(final byte[] b, final int from, final long scanned) {
        final int end = from + (int) (scanned >>> POS_BITS & POS_MASK);
        long v = 0;
        for (int i = from + (int) (scanned & POS_MASK); i < end; i++) {
            v = v * 10 + (b[i] - '0');
        }
        return (scanned & NEGATIVE) != 0 ? -v : v;
    }

    /** safe_strtoull: an unsigned 64-bit number into {@code out[0]}. @return false if it is not one */
    static boolean parseU64(final byte[] b, final int from, final int len, final long[] out) {
        final long s = len == 0 ? -1 : scan(b, from, from + len);
        if (s < 0 || (s & OVERFLOW) != 0) {
            return false;
        }
        final long v = value(b, from, s);
        if (v < 0 && (s & NEGATIVE) != 0) {
            return false; // "-5": a huge unsigned value with a minus sign
        }
        out[0] = v;
        return true;
    }

    /** safe_strtoul on a 64-bit build: as {@link #parseU64}, then truncated to 32 bits. */
    static long parseU32(final byte[] b, final int from, final int len) {
        final long s = len == 0 ? -1 : scan(b, from, from + len);
        if (s < 0 || (s & OVERFLOW) != 0) {
            return BAD;
        }
        final long v = value(b, from, s);
        return v < 0 && (s & NEGATIVE) != 0 ? BAD : v & 0xFFFF_FFFFL;
    }

    /**
     * safe_strtol as memcached 1.6 builds it: C's strtol on a 64-bit long (out of that range fails),
     * then stored into a 32-bit int, so larger values wrap (4000000000 becomes -294967296).
     */
    static long parseI32(final byte[] b, final int from, final int len) {
        final long s = len == 0 ? -1 : scan(b, from, from + len);
        if (s < 0 || (s & OVERFLOW) != 0) {
            return BAD; // beyond an unsigned long: ERANGE
        }
        final long magnitude = value(b, from, s & ~NEGATIVE);
        if (magnitude < 0 && !((s & NEGATIVE) != 0 && magnitude == Long.MIN_VALUE)) {
            return BAD; // beyond a signed long: ERANGE
        }
        return (int) ((s & NEGATIVE) != 0 ? -magnitude : magnitude);
    }
}
