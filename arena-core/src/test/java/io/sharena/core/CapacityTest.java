package io.sharena.core;

import io.sharena.core.layout.Geometry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CapacityTest {
    @ParameterizedTest
    @CsvSource({
        "4096, 1", "64K, 16", "64k, 16", "64M, 16384", "64MiB, 16384", "64MB, 16384", "4G, 1048576",
        "100p, 100", "40961, 11", "1G, 262144"})
    void parsesSizesToPages(final String text, final long pages) {
        if (pages < Geometry.MIN_CAPACITY_PAGES) {
            assertThrows(IllegalArgumentException.class, () -> Capacity.parse(text));
        } else {
            assertEquals(pages, Capacity.parse(text).pages());
        }
    }

    @Test
    void bytesRoundUpToWholePages() {
        assertEquals(6, Capacity.ofBytes(5 * 4096 + 1).pages());
        assertEquals(6 * 4096, Capacity.ofPages(6).bytes());
    }

    @Test
    void rejectsZeroNegativeAndTooLargeWithContext() {
        assertEquals("capacity must be positive: bytes=0",
            assertThrows(IllegalArgumentException.class, () -> Capacity.ofBytes(0)).getMessage());
        assertEquals("capacity must be positive: pages=-3",
            assertThrows(IllegalArgumentException.class, () -> Capacity.ofPages(-3)).getMessage());
        assertEquals("capacity exceeds the 4 GiB pointer space: pages=1048577, max=1048576",
            assertThrows(IllegalArgumentException.class, () -> Capacity.ofPages(1048577)).getMessage());
        assertEquals("capacity exceeds the 4 GiB pointer space: bytes=4294967297, max=4294967296",
            assertThrows(IllegalArgumentException.class, () -> Capacity.ofBytes((1L << 32) + 1)).getMessage());
        assertEquals("capacity too small for header, metadata and one page: pages=5, min=6",
            assertThrows(IllegalArgumentException.class, () -> Capacity.ofPages(5)).getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "abc", "12X", "-5M", "5G", "99999999999999999999", "9223372036854775807G", "M"})
    void rejectsGarbageAndTooLarge(final String text) {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Capacity.parse(text));
        assertEquals(true, e.getMessage().contains("size=") || e.getMessage().contains("bytes=")
            || e.getMessage().contains("pages="), e.getMessage());
    }

    @Test
    void metadataGeometry() {
        assertEquals(3 + 4096, Geometry.metaPages(Geometry.MAX_CAPACITY_PAGES));
        assertEquals(4, Geometry.metaPages(6));
        assertEquals(5, Geometry.firstUserPage(6));
    }
}
