package io.sharena.core;

import io.sharena.core.layout.HeaderLayout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every way a file can fail validation, each named by its field; never a crash. */
class HeaderValidationTest {
    private static final int PAGES = 64;

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

    private void putLong(final int offset, final long value, final boolean fixCrc) throws IOException {
        final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, value);
        write(offset, b, fixCrc);
    }

    private void putInt(final int offset, final int value, final boolean fixCrc) throws IOException {
        final ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0, value);
        write(offset, b, fixCrc);
    }

    private void write(final int offset, final ByteBuffer b, final boolean fixCrc) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(b, offset);
            if (fixCrc) {
                final ByteBuffer head = ByteBuffer.allocate(HeaderLayout.CHECKSUMMED_LENGTH);
                ch.read(head, 0);
                final CRC32C crc = new CRC32C();
                crc.update(head.array());
                ch.write(ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0, (int) crc.getValue()),
                    HeaderLayout.CHECKSUM);
            }
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "magic, magic",
        "formatVersion, formatVersion",
        "formatVersionZero, formatVersion",
        "pageSize, pageSize",
        "capacityHuge, capacity",
        "capacityPlausible, capacity",
        "metaPages, metaPages",
        "flags, flags",
        "fixedAddress, fixedAddress",
        "arenaId, checksum",
        "createdMillis, checksum",
        "checksum, checksum"})
    void corruptingEachFieldNamesIt(final String corruption, final String field) throws IOException {
        switch (corruption) {
            case "magic" -> putLong(HeaderLayout.MAGIC, 0x1234, false);
            case "formatVersion" -> putInt(HeaderLayout.FORMAT_VERSION, 2, true);
            case "formatVersionZero" -> putInt(HeaderLayout.FORMAT_VERSION, 0, false);
            case "pageSize" -> putInt(HeaderLayout.PAGE_SIZE, 8192, false);
            case "capacityHuge" -> putLong(HeaderLayout.CAPACITY_PAGES, 1L << 40, false);
            case "capacityPlausible" -> putLong(HeaderLayout.CAPACITY_PAGES, PAGES + 1, false);
            case "metaPages" -> putInt(HeaderLayout.META_PAGES, 99, false);
            case "flags" -> putInt(HeaderLayout.FLAGS, 0x80, false);
            case "fixedAddress" -> putLong(HeaderLayout.FIXED_ADDRESS, 0x1000, false);
            case "arenaId" -> putLong(HeaderLayout.ARENA_ID, 42, false);
            case "createdMillis" -> putLong(HeaderLayout.CREATED_MILLIS, 42, false);
            case "checksum" -> putInt(HeaderLayout.CHECKSUM, 0xBAD, false);
            default -> throw new AssertionError(corruption);
        }
        final ArenaFormatException e = openFails();
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains("="), "message carries name=value context: " + e.getMessage());
    }

    @Test
    void newerFormatSaysSo() throws IOException {
        putInt(HeaderLayout.FORMAT_VERSION, 7, true);
        assertEquals("arena written by a newer sharena: formatVersion=7, newest supported=1", openFails().getMessage());
    }

    @Test
    void truncatedFileIsNamed() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate((PAGES - 1) * 4096L);
        }
        final ArenaFormatException e = openFails();
        assertEquals("fileSize", e.field());
        assertEquals("arena file truncated: fileSize=" + (PAGES - 1) * 4096L + ", capacityBytes=" + PAGES * 4096L,
            e.getMessage());
    }

    @Test
    void grownFileIsNamed() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1}), PAGES * 4096L + 10);
        }
        assertEquals("fileSize", openFails().field());
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
        // A creator killed before its release store of the magic leaves a zero magic word.
        putLong(HeaderLayout.MAGIC, 0, false);
        assertEquals("not a sharena arena: magic=0x0, expected=0x414e4552414853", openFails().getMessage());
    }
}
