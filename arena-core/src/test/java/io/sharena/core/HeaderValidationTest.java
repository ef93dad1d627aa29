package io.sharena.core;

import io.sharena.core.layout.HeaderLayout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way a file can fail validation, each named by its field; never a crash. The header is kept
 * twice: damage to one copy is reported and repaired, damage to both names the field.
 */
class HeaderValidationTest {
    private static final int PAGES = 64;
    private static final int PRIMARY = HeaderLayout.MAGIC;
    private static final int BACKUP = HeaderLayout.BACKUP;

    @TempDir
    Path dir;
    Path file;

    @BeforeEach
    void createArena() throws IOException {
        file = dir.resolve("v.arena");
        SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults()).close();
    }

    private ArenaFormatException openFails() {
        return assertThrows(ArenaFormatException.class, () -> SharedArena.open(file, ArenaOptions.defaults()));
    }

    private void putLong(final int copy, final int offset, final long value, final boolean fixCrc) throws IOException {
        write(copy, offset, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, value), fixCrc);
    }

    private void putInt(final int copy, final int offset, final int value, final boolean fixCrc) throws IOException {
        write(copy, offset, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0, value), fixCrc);
    }

    private void write(final int copy, final int offset, final ByteBuffer b, final boolean fixCrc) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(b, copy + offset);
            if (fixCrc) {
                final ByteBuffer head = ByteBuffer.allocate(HeaderLayout.CHECKSUMMED_LENGTH);
                ch.read(head, copy);
                final CRC32C crc = new CRC32C();
                crc.update(head.array());
                ch.write(ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0, (int) crc.getValue()),
                    copy + HeaderLayout.CHECKSUM);
            }
        }
    }

    private void corrupt(final int copy, final String corruption) throws IOException {
        switch (corruption) {
            case "magic" -> putLong(copy, HeaderLayout.MAGIC, 0x1234, false);
            case "formatVersion" -> putInt(copy, HeaderLayout.FORMAT_VERSION, 3, true);
            case "formatVersionZero" -> putInt(copy, HeaderLayout.FORMAT_VERSION, 0, false);
            case "formatVersionOne" -> putInt(copy, HeaderLayout.FORMAT_VERSION, 1, true);
            case "pageSize" -> putInt(copy, HeaderLayout.PAGE_SIZE, 8192, false);
            case "capacityHuge" -> putLong(copy, HeaderLayout.CAPACITY_PAGES, 1L << 40, false);
            case "capacityPlausible" -> putLong(copy, HeaderLayout.CAPACITY_PAGES, PAGES + 1, false);
            case "metaPages" -> putInt(copy, HeaderLayout.META_PAGES, 99, false);
            case "flags" -> putInt(copy, HeaderLayout.FLAGS, 0x80, false);
            case "fixedAddress" -> putLong(copy, HeaderLayout.FIXED_ADDRESS, 0x1000, false);
            case "arenaId" -> putLong(copy, HeaderLayout.ARENA_ID, 42, false);
            case "createdMillis" -> putLong(copy, HeaderLayout.CREATED_MILLIS, 42, false);
            case "checksum" -> putInt(copy, HeaderLayout.CHECKSUM, 0xBAD, false);
            default -> throw new AssertionError(corruption);
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "magic, magic",
        "formatVersion, formatVersion",
        "formatVersionZero, formatVersion",
        "formatVersionOne, formatVersion",
        "pageSize, pageSize",
        "capacityHuge, capacity",
        "capacityPlausible, capacity",
        "metaPages, metaPages",
        "flags, flags",
        "fixedAddress, fixedAddress",
        "arenaId, checksum",
        "createdMillis, checksum",
        "checksum, checksum"})
    void corruptingAFieldInBothCopiesNamesIt(final String corruption, final String field) throws IOException {
        corrupt(PRIMARY, corruption);
        corrupt(BACKUP, corruption);
        final ArenaFormatException e = openFails();
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains("="), "message carries name=value context: " + e.getMessage());
        assertEquals(field, assertThrows(ArenaFormatException.class, () -> SharedArena.repairFile(file)).field(),
            "nothing to repair from");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"magic", "formatVersion", "formatVersionZero", "pageSize", "capacityHuge",
        "capacityPlausible", "metaPages", "flags", "fixedAddress", "arenaId", "createdMillis", "checksum"})
    void oneDamagedCopyIsReportedAndRepaired(final String corruption) throws IOException {
        for (final int copy : new int[] {PRIMARY, BACKUP}) {
            final String which = copy == PRIMARY ? "primary" : "backup";
            corrupt(copy, corruption);
            try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
                assertEquals(PAGES, arena.capacityPages());
                final List<String> problems = arena.checkFile();
                assertEquals(1, problems.size(), problems.toString());
                assertTrue(problems.getFirst().startsWith(which + " header copy damaged: "), problems.toString());
                assertTrue(arena.info().headerDamage().startsWith(which + " header copy damaged"));
            }
            assertEquals(1, SharedArena.checkFile(file).size());
            final List<String> done = SharedArena.repairFile(file);
            assertEquals(1, done.size(), done.toString());
            assertTrue(done.getFirst().startsWith("rewrote the header copies: " + which + " header copy damaged"), done.toString());
            assertEquals(List.of(), SharedArena.checkFile(file), "clean after the repair");
            assertEquals(List.of(), SharedArena.repairFile(file), "nothing left to repair");
        }
    }

    @Test
    void forgedCopyWithItsChecksumLosesToTheOneThatMatchesTheFile() throws IOException {
        putLong(PRIMARY, HeaderLayout.CAPACITY_PAGES, PAGES * 2, true);
        putInt(PRIMARY, HeaderLayout.META_PAGES, io.sharena.core.layout.Geometry.metaPages(PAGES * 2), true);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(PAGES, arena.capacityPages(), "the backup matches the file size");
            final String problem = arena.checkFile().getFirst();
            assertTrue(problem.startsWith("header copies disagree: primary capacityPages=128"), problem);
            assertTrue(problem.endsWith("(using the backup)"), problem);
        }
        SharedArena.repairFile(file);
        assertEquals(List.of(), SharedArena.checkFile(file));
    }

    @Test
    void aStrayWriteAtPointerZeroLeavesTheArenaOpenable() throws IOException {
        // Issue: one raw write at pointer 0 made the arena unopenable for ever (magic destroyed).
        final int ptr;
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            ptr = arena.allocPages(1);
            arena.raw().putLong(ptr, 99);
            arena.raw().putLong(0, 0);
            arena.raw().segment().asSlice(0, HeaderLayout.PAGE_SIZE_VALUE).fill((byte) 0xFF);
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(99, arena.raw().getLong(ptr));
            assertTrue(arena.checkFile().getFirst().startsWith("primary header copy damaged: not a sharena arena: magic=0xffffffffffffffff"),
                arena.checkFile().toString());
        }
        // The page of 0xFF also garbled the header's record of a cut: named, and cleared.
        final List<String> repaired = SharedArena.repairFile(file);
        assertEquals(2, repaired.size(), repaired.toString());
        assertTrue(repaired.getFirst().startsWith("cleared the header's garbled record of a cut"), repaired.toString());
        assertEquals(List.of(), SharedArena.checkFile(file));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            final ByteBuffer magic = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
            ch.read(magic, 0);
            assertEquals(HeaderLayout.MAGIC_VALUE, magic.getLong(0), "the primary is back");
        }
    }

    @Test
    void newerFormatSaysSo() throws IOException {
        putInt(PRIMARY, HeaderLayout.FORMAT_VERSION, 7, true);
        putInt(BACKUP, HeaderLayout.FORMAT_VERSION, 7, true);
        assertEquals("arena written by a newer sharena: formatVersion=7, newest supported=2", openFails().getMessage());
    }

    @Test
    void olderFormatSaysSo() throws IOException {
        // A format-1 file has no backup copy: its page-table entries are zero there.
        putInt(PRIMARY, HeaderLayout.FORMAT_VERSION, 1, true);
        write(BACKUP, 0, ByteBuffer.allocate(HeaderLayout.COPY_BYTES), false);
        assertEquals("arena written by an older sharena (no backup header): formatVersion=1, supported=2 (recreate it)",
            openFails().getMessage());
    }

    @Test
    void truncatedFileIsNamedReportedAndRestored() throws IOException {
        final int ptr;
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            ptr = arena.allocPagesAt((PAGES - 2) * 4096, 2);
            assertEquals((PAGES - 2) * 4096, ptr);
            arena.raw().putLong(ptr, 5);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate((PAGES - 1) * 4096L);
        }
        final ArenaFormatException e = openFails();
        assertEquals("fileSize", e.field());
        assertEquals("arena file truncated: file is " + (PAGES - 1) * 4096L + " bytes, capacity " + PAGES * 4096L
            + " (check --repair restores the size; what was past the end is lost)", e.getMessage());
        assertEquals(List.of("file is " + (PAGES - 1) * 4096L + " bytes, capacity " + PAGES * 4096L
            + ": truncated (check --repair restores the size; what was past the end is lost)"), SharedArena.checkFile(file));
        assertEquals(List.of("restored the file size: file is " + (PAGES - 1) * 4096L + " bytes, capacity "
            + PAGES * 4096L + "; pages 63..63 read as zeros now (their contents are lost); 1 of them allocated"
            + " (still allocated, now zero)"), SharedArena.repairFile(file));
        assertEquals(PAGES * 4096L, Files.size(file));
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(5, arena.raw().getLong(ptr), "the page before the cut kept its data");
            assertEquals(0, arena.raw().getLong(ptr + 4096), "the lost page reads zero");
            assertEquals(List.of(), arena.checkFile());
        }
    }

    @Test
    void extendedFileOpensAndIsCutBackByRepair() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1}), PAGES * 4096L + 10);
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(PAGES * 4096L + 11, arena.info().fileSize());
            assertEquals(List.of("file is " + (PAGES * 4096L + 11) + " bytes, capacity " + PAGES * 4096L
                + ": extended while mapped (the bytes past the capacity are not part of the arena; check --repair"
                + " cuts them off)"), arena.checkFile());
            assertTrue(arena.allocPages(1) != 0);
        }
        assertEquals(1, SharedArena.repairFile(file).size());
        assertEquals(PAGES * 4096L, Files.size(file));
        assertEquals(List.of(), SharedArena.checkFile(file));
    }

    @Test
    void emptyAndTinyFilesAreNotArenas() throws IOException {
        Files.write(file, new byte[0]);
        assertEquals("not an arena or truncated: fileSize=0 is less than one header page (4096 bytes)",
            openFails().getMessage());
        Files.write(file, new byte[100]);
        assertEquals("fileSize", openFails().field());
    }

    @Test
    void randomBytesAreNotAnArena() throws IOException {
        final byte[] junk = new byte[PAGES * 4096];
        new java.util.Random(7).nextBytes(junk);
        Files.write(file, junk);
        assertEquals("magic", openFails().field());
        Files.writeString(file, "hello, I am a text file\n".repeat(1000));
        assertEquals("magic", openFails().field());
    }

    @Test
    void interruptedCreationIsNotAnArena() throws IOException {
        // A creator killed before its release store of the backup's magic leaves no copy with a magic.
        putLong(PRIMARY, HeaderLayout.MAGIC, 0, false);
        putLong(BACKUP, HeaderLayout.MAGIC, 0, false);
        assertEquals("not a sharena arena: magic=0x0, expected=0x414e4552414853", openFails().getMessage());
    }
}
