package io.sharena.server;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

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

    /**
     * safe_strtod: C's strtod as glibc parses in the C locale (decimal and hexadecimal forms,
     * {@code inf}, {@code infinity}, {@code nan} and {@code nan(...)} in any case), then memcached's
     * checks: digits were found, they end the token or are followed by white space, and the value
     * neither overflowed nor underflowed (glibc's ERANGE: an infinite result, or one below the
     * smallest normal value that is not exact: {@code 1e-310} fails, {@code 0x1p-1070} does not). Java's own parse differs from it in places a client reaches
     * ({@code 1d}, {@code inf}, {@code 0x10}, {@code 1e999}).
     *
     * @return false if it is not one; else the value is in {@code out[0]}
     */
    static boolean parseDouble(final byte[] b, final int from, final int len, final double[] out) {
        final int to = from + len;
        int i = from;
        while (i < to && space(b[i])) {
            i++;
        }
        boolean negative = false;
        if (i < to && (b[i] == '+' || b[i] == '-')) {
            negative = b[i] == '-';
            i++;
        }
        final double v;
        final int end;
        boolean rangeError = false; // glibc's ERANGE
        boolean nonZero = false;
        if (word(b, i, to, "inf")) {
            end = i + (word(b, i, to, "infinity") ? 8 : 3);
            v = Double.POSITIVE_INFINITY;
        } else if (word(b, i, to, "nan")) {
            int e = i + 3;
            if (e < to && b[e] == '(') {
                int k = e + 1;
                while (k < to && (Character.isLetterOrDigit(b[k]) && b[k] > 0 || b[k] == '_')) {
                    k++;
                }
                if (k < to && b[k] == ')') {
                    e = k + 1;
                }
            }
            end = e;
            v = Double.NaN;
        } else {
            final boolean hex = i + 2 < to && b[i] == '0' && (b[i + 1] == 'x' || b[i + 1] == 'X')
                && (digit(b[i + 2], 16) || b[i + 2] == '.' && i + 3 < to && digit(b[i + 3], 16));
            final int radix = hex ? 16 : 10;
            int k = hex ? i + 2 : i;
            final StringBuilder sb = new StringBuilder(hex ? "0x" : "");
            int digits = 0;
            while (k < to && digit(b[k], radix)) {
                nonZero |= b[k] != '0';
                sb.append((char) b[k++]);
                digits++;
            }
            if (k < to && b[k] == '.') {
                final int dot = k++;
                int fraction = 0;
                while (k < to && digit(b[k], radix)) {
                    nonZero |= b[k] != '0';
                    sb.append(fraction == 0 ? "." : "").append((char) b[k++]);
                    fraction++;
                }
                digits += fraction;
                if (fraction == 0) {
                    k = digits == 0 ? dot : k; // "5." is 5; a lone "." is no number
                }
            }
            if (digits == 0) {
                return false; // no conversion: strtod's end is its start
            }
            final byte mark = hex ? (byte) 'p' : (byte) 'e';
            String exponent = hex ? "p0" : "";
            if (k < to && (b[k] | 0x20) == mark) {
                int e = k + 1;
                if (e < to && (b[e] == '+' || b[e] == '-')) {
                    e++;
                }
                if (e < to && digit(b[e], 10)) {
                    while (e < to && digit(b[e], 10)) {
                        e++;
                    }
                    exponent = (hex ? "p" : "e") + new String(b, k + 1, e - k - 1, StandardCharsets.ISO_8859_1);
                    k = e;
                }
            }
            end = k;
            v = Double.parseDouble(sb + exponent);
            rangeError = Double.isInfinite(v) || nonZero && v <= Double.MIN_NORMAL && inexactTiny(sb, exponent, v);
        }
        if (end < to && !space(b[end]) || rangeError) {
            return false;
        }
        out[0] = negative ? -v : v;
        return true;
    }

    /**
     * glibc's underflow test (tininess before rounding): is the exact value of the digits below the
     * smallest normal double, and not the double they rounded to?
     *
     * @param digits  the digits as read, {@code 0x} first when hexadecimal, with one point at most
     * @param exponent {@code e} or {@code p} and the exponent, or empty
     */
    private static boolean inexactTiny(final CharSequence digits, final String exponent, final double rounded) {
        if (rounded == 0.0) {
            // Nonzero digits that round to zero are below every double: no exact arithmetic needed
            // (with an exponent such as p-300000000 it would take minutes and hundreds of MB).
            return true;
        }
        final BigDecimal exact;
        try {
            final String d = digits.toString();
            if (d.startsWith("0x")) {
                final int point = d.indexOf('.');
                final String hexDigits = point < 0 ? d.substring(2) : d.substring(2, point) + d.substring(point + 1);
                final int power = Integer.parseInt(exponent.substring(1)) - (point < 0 ? 0 : 4 * (d.length() - point - 1));
                final BigInteger m = new BigInteger(hexDigits, 16);
                exact = power >= 0 ? new BigDecimal(m.shiftLeft(power))
                    : new BigDecimal(m.multiply(BigInteger.valueOf(5).pow(-power)), -power); // m / 2^k = m 5^k / 10^k
            } else {
                exact = new BigDecimal(d + exponent);
            }
        } catch (final NumberFormatException | ArithmeticException e) {
            return true; // an exponent past an int's range: the digits were far below the normal range
        }
        return exact.compareTo(new BigDecimal(Double.MIN_NORMAL)) < 0 && exact.compareTo(new BigDecimal(rounded)) != 0;
    }

    /** @return whether {@code b[i, to)} starts with {@code w}, in any case */
    private static boolean word(final byte[] b, final int i, final int to, final String w) {
        if (to - i < w.length()) {
            return false;
        }
        for (int k = 0; k < w.length(); k++) {
            if ((b[i + k] | 0x20) != w.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** @return whether {@code b[p, lim)} starts with the ASCII {@code word} */
    static boolean startsWith(final byte[] b, final int p, final int lim, final String word) {
        if (lim - p < word.length()) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            if (b[p + i] != word.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean digit(final byte c, final int radix) {
        return c >= '0' && c <= '9' || radix == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f';
    }
}
