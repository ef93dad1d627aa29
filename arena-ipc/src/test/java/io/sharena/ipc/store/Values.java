package io.sharena.ipc.store;

/**
 * Self-describing test values: the value for sequence number {@code n} has length
 * {@code 16 + n % 1000}, starts with {@code n} as 8 little-endian bytes and its length as 4, and is
 * filled with {@code (byte) n} after that. A torn value (parts of two writes) fails {@link #check}.
 */
final class Values {
    private Values() {
    }

    static byte[] make(final long n) {
        final byte[] v = new byte[(int) (16 + n % 1000)];
        for (int i = 0; i < 8; i++) {
            v[i] = (byte) (n >>> (8 * i));
        }
        for (int i = 0; i < 4; i++) {
            v[8 + i] = (byte) (v.length >>> (8 * i));
        }
        for (int i = 12; i < v.length; i++) {
            v[i] = (byte) n;
        }
        return v;
    }

    static long seq(final byte[] v) {
        long n = 0;
        for (int i = 0; i < 8; i++) {
            n |= (v[i] & 0xFFL) << (8 * i);
        }
        return n;
    }

    /** @return null if whole, else what is wrong */
    static String check(final byte[] v, final int len) {
        if (len < 16) {
            return "too short: length=" + len;
        }
        final long n = seq(v);
        final byte[] want = make(n);
        if (want.length != len) {
            return "length mismatch: seq=" + n + ", length=" + len + ", expected=" + want.length;
        }
        for (int i = 0; i < len; i++) {
            if (v[i] != want[i]) {
                return "byte mismatch: seq=" + n + ", index=" + i;
            }
        }
        return null;
    }
}
