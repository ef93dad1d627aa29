package io.sharena.ipc.store;

/**
 * Whether a non-negative number is a multiple of a fixed divisor, without a division: the
 * lock-free reader asks whether an item sits where its ring position says at every hop, and a
 * 64-bit division costs tens of cycles and dozens of micro-ops there, enough to keep the next
 * lookup's cache misses from overlapping this one's.
 *
 * <p>With the divisor {@code d = odd << shift}: {@code x} is a multiple of {@code d} when its low
 * {@code shift} bits are zero and {@code x >>> shift} is a multiple of {@code odd}. An odd number
 * has an inverse modulo 2^64; multiplying by it maps the multiples {@code 0, odd, 2 odd, ...} to
 * their quotients {@code 0, 1, 2, ...}, all at most {@code (2^64 - 1) / odd}, and (the map being a
 * bijection) every other number above that.
 */
final class Multiples {
    private final int shift;
    private final long lowMask;
    private final long inverse;
    private final long limit;

    /** @param divisor at least 1 */
    Multiples(final long divisor) {
        if (divisor < 1) {
            throw new IllegalArgumentException("divisor must be positive: divisor=" + divisor);
        }
        this.shift = Long.numberOfTrailingZeros(divisor);
        this.lowMask = (1L << shift) - 1;
        final long odd = divisor >>> shift;
        // Newton's iteration: each step doubles the low bits in which odd * inv == 1; odd * odd == 1 mod 8.
        long inv = odd;
        for (int i = 0; i < 5; i++) {
            inv *= 2 - odd * inv;
        }
        this.inverse = inv;
        this.limit = Long.divideUnsigned(-1L, odd);
    }

    /** @return whether {@code x} (non-negative) is a multiple of the divisor */
    boolean divides(final long x) {
        return (x & lowMask) == 0 && Long.compareUnsigned((x >>> shift) * inverse, limit) <= 0;
    }
}
