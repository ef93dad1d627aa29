package io.sharena.ipc.store;

/**
 * incr/decr's numbers: a value is a number when it is 1 to 20 decimal digits, optionally followed
 * by spaces (a counter that shrinks keeps its length, padded with spaces, as in memcached), and at most
 * 2^64 - 1. No sign, no leading spaces.
 */
final class Numbers {
    private static final long MAX_DIV_10 = Long.divideUnsigned(-1L, 10);
    /** The longest decimal {@link #format} writes: 2^64 - 1 has 20 digits. */
    static final int MAX_DIGITS = 20;

    private Numbers() {
    }

    static boolean isUnsigned(final byte[] b, final int len) {
        final int digits = digits(b, len);
        if (digits == 0 || digits > 20) {
            return false;
        }
        for (int i = digits; i < len; i++) {
            if (b[i] != ' ') {
                return false;
            }
        }
        long v = 0;
        for (int i = 0; i < digits; i++) {
            final int d = b[i] - '0';
            if (Long.compareUnsigned(v, MAX_DIV_10) > 0
                || (v == MAX_DIV_10 && d > Long.remainderUnsigned(-1L, 10))) {
                return false;
            }
            v = v * 10 + d;
        }
        return true;
    }

    /** @return the value of a number that {@link #isUnsigned} accepted */
    static long parseUnsigned(final byte[] b, final int len) {
        long v = 0;
        for (int i = 0, n = digits(b, len); i < n; i++) {
            v = v * 10 + (b[i] - '0');
        }
        return v;
    }

    private static int digits(final byte[] b, final int len) {
        int i = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
        return i;
    }

    /**
     * Writes {@code v} (unsigned) right-aligned at the end of {@code out} (20 bytes).
     *
     * @return the number of digits
     */
    static int format(final long v, final byte[] out) {
        long x = v;
        int i = out.length;
        do {
            out[--i] = (byte) ('0' + Long.remainderUnsigned(x, 10));
            x = Long.divideUnsigned(x, 10);
        } while (x != 0);
        return out.length - i;
    }
}
