package io.sharena.server;

/**
 * A meta command's base64 key ({@code b} flag), decoded as memcached 1.6 decodes it, which is
 * looser and stricter than {@link java.util.Base64} in places a client can reach:
 * bytes outside the alphabet ({@code A-Z a-z 0-9 + /} and {@code =}) are skipped, not errors;
 * the alphabet bytes must come in whole groups of four (an unpadded {@code YQ} is an error);
 * {@code =} in a group counts as a zero digit and ends the key with that group, whatever
 * follows it; a group with three or four {@code =} is an error.
 */
final class Base64Key {
    private static final byte[] DIGIT = new byte[256];

    static {
        java.util.Arrays.fill(DIGIT, (byte) -1);
        final String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.length(); i++) {
            DIGIT[alphabet.charAt(i)] = (byte) i;
        }
        DIGIT['='] = 0;
    }

    private Base64Key() {
    }

    /** @return the key {@code b[off, off + len)} encodes, or null if it does not decode (an empty key does not) */
    static byte[] decode(final byte[] b, final int off, final int len) {
        int digits = 0;
        for (int i = off; i < off + len; i++) {
            if (DIGIT[b[i] & 0xFF] >= 0) {
                digits++;
            }
        }
        if (digits == 0 || digits % 4 != 0) {
            return null;
        }
        final byte[] out = new byte[digits / 4 * 3];
        int n = 0;
        int group = 0;
        int inGroup = 0;
        int padding = 0;
        for (int i = off; i < off + len; i++) {
            final int d = DIGIT[b[i] & 0xFF];
            if (d < 0) {
                continue;
            }
            if (b[i] == '=') {
                padding++;
            }
            group = group << 6 | d;
            if (++inGroup < 4) {
                continue;
            }
            out[n++] = (byte) (group >> 16);
            out[n++] = (byte) (group >> 8);
            out[n++] = (byte) group;
            group = 0;
            inGroup = 0;
            if (padding > 0) {
                if (padding > 2) {
                    return null;
                }
                n -= padding;
                break;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
