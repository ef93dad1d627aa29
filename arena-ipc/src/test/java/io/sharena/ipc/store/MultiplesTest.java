package io.sharena.ipc.store;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MultiplesTest {
    @Test
    void agreesWithTheRemainderForRingSizesAndPositions() {
        final SplittableRandom rnd = new SplittableRandom(10);
        final long[] divisors = {1, 2, 3, 4096, 4096L * 3, 192L << 20, (1L << 20) * 4096 * 7, 268_435_456L,
            201_330_688L, Long.MAX_VALUE};
        for (final long d : divisors) {
            final Multiples m = new Multiples(d);
            for (int i = 0; i < 20_000; i++) {
                final long x = switch (i % 4) {
                    case 0 -> rnd.nextLong(Long.MAX_VALUE);
                    case 1 -> d * rnd.nextLong(Math.max(1, Long.MAX_VALUE / d));
                    case 2 -> d * rnd.nextLong(Math.max(1, Long.MAX_VALUE / d)) + 1 + rnd.nextLong(Math.max(1, d - 1));
                    default -> rnd.nextLong(1 << 20);
                };
                assertEquals(x % d == 0, m.divides(x), "d=" + d + ", x=" + x);
            }
            assertEquals(true, m.divides(0));
        }
        for (long x = 0; x < 100_000; x++) {
            assertEquals(x % 12288 == 0, new Multiples(12288).divides(x), "x=" + x);
        }
    }

    @Test
    void refusesANonPositiveDivisor() {
        assertThrows(IllegalArgumentException.class, () -> new Multiples(0));
    }
}
