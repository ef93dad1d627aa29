package io.sharena.ipc.store;

import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.layout.StoreLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StoreOptions#hugePages()}: the advice reaches the kernel for the region's whole 2 MiB
 * blocks of this opener's mapping (the VMA's {@code hg} flag in {@code /proc/self/smaps}), not for
 * an opener that said no, and changes no byte either sees.
 */
class StoreHugePagesTest {
    private static final long BLOCK = 2L << 20;

    @TempDir
    Path dir;

    @Test
    void theRegionIsAdvisedTwoMegabytePagesInTheMappingOfEachOpenerThatAsks() throws IOException {
        final boolean kernelHasThp = Files.isDirectory(Path.of("/sys/kernel/mm/transparent_hugepage"));
        final Path file = dir.resolve("huge.store");
        try (SharedStore on = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(16L << 20));
             SharedStore off = SharedStore.open(file, StoreOptions.defaults().withHugePages(false))) {
            assertEquals(kernelHasThp, on.hugePages, "advice taken where the kernel has transparent huge pages");
            assertFalse(off.hugePages);
            if (kernelHasThp) {
                assertTrue(vmFlags(blockInRegion(on)).contains("hg"), "the advised opener's region: " + vmFlags(blockInRegion(on)));
            }
            assertFalse(vmFlags(blockInRegion(off)).contains("hg"), "the other opener's mapping: " + vmFlags(blockInRegion(off)));

            // Both mappings show the same bytes, written through either.
            for (int i = 0; i < 20_000; i++) {
                final SharedStore writer = (i & 1) == 0 ? on : off;
                assertEquals(StoreResult.STORED, writer.set(key(i), Values.make(i), i, 0));
            }
            for (int i = 0; i < 20_000; i++) {
                final SharedStore reader = (i & 1) == 0 ? off : on;
                assertArrayEquals(Values.make(i), reader.get(key(i)), "key " + i);
            }
        }
    }

    @Test
    void aRegionHoldingNoWholeBlockIsNotAdvised() throws IOException {
        try (SharedStore small = SharedStore.create(dir.resolve("small.store"),
            StoreOptions.defaults().withMemoryLimit(StoreOptions.MIN_MEMORY_LIMIT).withMaxItemSize(4096))) {
            assertTrue(regionBytes(small) < BLOCK, "region " + regionBytes(small));
            assertFalse(small.hugePages);
            assertEquals(StoreResult.STORED, small.set(key(1), Values.make(1), 0, 0));
        }
    }

    private static byte[] key(final int i) {
        return ("hp-" + i).getBytes(StandardCharsets.US_ASCII);
    }

    private static long regionBytes(final SharedStore s) {
        return (long) s.view.getInt(s.header + StoreLayout.REGION_PAGES) * Geometry.PAGE_SIZE;
    }

    /** @return the address of the first whole 2 MiB block of the store's region in its opener's mapping */
    private static long blockInRegion(final SharedStore s) {
        final long from = ArenaInternals.address(s.arena, s.header);
        final long block = (from + BLOCK - 1) & -BLOCK;
        assertTrue(block + BLOCK <= from + regionBytes(s), "no whole block in the region");
        return block;
    }

    /** @return the VmFlags line of the mapping holding {@code address}, from /proc/self/smaps */
    private static String vmFlags(final long address) throws IOException {
        final List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (final String line : lines) {
            final int dash = line.indexOf('-');
            final int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                final long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                final long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                return line;
            }
        }
        throw new AssertionError("no mapping holds 0x" + Long.toHexString(address));
    }
}
