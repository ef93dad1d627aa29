package io.sharena.bench;

import java.util.SplittableRandom;

/**
 * Key-index traces for the store benchmarks: uniform, or Zipf with exponent {@code s} over
 * {@code n} keys (rank r drawn with probability proportional to 1 / r^s), the ranks scattered over
 * the key indexes by a fixed permutation so that hot keys are not neighbours.
 */
final class ZipfTrace {
    private ZipfTrace() {
    }

    static int[] uniform(final int n, final int length, final long seed) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final int[] trace = new int[length];
        for (int i = 0; i < length; i++) {
            trace[i] = rnd.nextInt(n);
        }
        return trace;
    }

    static int[] zipf(final int n, final double s, final int length, final long seed) {
        final double[] cdf = new double[n];
        double sum = 0;
        for (int r = 0; r < n; r++) {
            sum += 1.0 / Math.pow(r + 1, s);
            cdf[r] = sum;
        }
        final int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        final SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            final int j = rnd.nextInt(i + 1);
            final int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        final int[] trace = new int[length];
        for (int i = 0; i < length; i++) {
            final double u = rnd.nextDouble() * sum;
            int lo = 0;
            int hi = n - 1;
            while (lo < hi) {
                final int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            trace[i] = perm[lo];
        }
        return trace;
    }

    /** @return key {@code i}: {@code len} bytes, "key" then the index in decimal, zero-padded */
    static byte[] key(final int i, final int len) {
        final String s = "k" + "0".repeat(Math.max(0, len - 1 - Integer.toString(i).length())) + i;
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
