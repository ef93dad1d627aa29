package io.sharena.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ArenaPointersTest {
    private static final long BASE = 0x7F12_0000_0000L;
    private static final int[] EDGES = {
        0, 1, 4095, 4096, 4097, 8191, 8192, 0x7FFF_F000, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_F000, 0xFFFF_FFFF};

    @Test
    void translatesEdgesBothWays() {
        for (final int ptr : EDGES) {
            final long expected = BASE + Integer.toUnsignedLong(ptr);
            assertEquals(expected, ArenaPointers.address(BASE, ptr), ArenaPointers.toHex(ptr));
            assertEquals(ptr, ArenaPointers.pointer(BASE, expected), ArenaPointers.toHex(ptr));
            assertEquals(Integer.toUnsignedLong(ptr), ArenaPointers.offset(ptr));
        }
    }

    @Test
    void sweepAgainstReferenceArithmetic() {
        // Every 4097th pointer over the whole 32-bit space (about a million), plus page edges
        // around each: the formula must equal base + unsigned offset and stay in the window.
        for (long p = 0; p <= 0xFFFF_FFFFL; p += 4097) {
            for (final long q : new long[] {p, p & ~4095L, (p & ~4095L) + 4095}) {
                final int ptr = (int) q;
                final long address = ArenaPointers.address(BASE, ptr);
                assertEquals(BASE + q, address);
                assertEquals(BASE, address & 0xFFFF_FFFF_0000_0000L);
                assertEquals(ptr, ArenaPointers.pointer(BASE, address));
            }
        }
    }

    @Test
    void baseLowBitsAreIgnoredAndForeignAddressesRefused() {
        assertEquals(BASE + 16, ArenaPointers.address(BASE + 123, 16));
        assertEquals("address outside the arena window: address=0x7f1300000010, base=0x7f1200000000",
            assertThrows(IllegalArgumentException.class,
                () -> ArenaPointers.pointer(BASE, BASE + (1L << 32) + 16)).getMessage());
        assertEquals("0xffffffff", ArenaPointers.toHex(-1));
    }
}
