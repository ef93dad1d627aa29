package io.sharena.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file cut short under a live mapping: each allocator entry point, check and repair report it as
 * an {@link ArenaFaultException} naming the file and its size, never an {@link InternalError};
 * {@link SharedArena#repairFile} gives the size back and the same mapping works again.
 */
class FileResizeTest {
    private static final long CAPACITY = 256 * 4096L;

    @TempDir
    Path dir;

    private static void truncate(final Path file, final long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    @Test
    void everyEntryPointSaysTheFileWasTruncatedWhileMapped() throws IOException {
        final Path file = dir.resolve("t.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int kept = arena.allocPages(1);
            truncate(file, 4096);
            final String expected = "file is 4096 bytes, capacity " + CAPACITY
                + ": truncated while mapped (check --repair restores the size): path=" + file;
            final List<org.junit.jupiter.api.function.ThrowingSupplier<?>> calls = List.of(
                () -> arena.allocPages(1),
                () -> arena.allocPagesUninitialized(1),
                () -> arena.allocPagesAt(kept + 4096, 1),
                () -> arena.allocPagesInto(1, kept + 64),
                () -> arena.freePagesFrom(kept + 64, 1),
                () -> arena.purge(),
                () -> arena.reservePages(kept + 8192, 1),
                () -> {
                    arena.freePages(kept, 1);
                    return null;
                },
                () -> arena.pageStateCode(kept >>> 12),
                () -> arena.repair(1_000_000_000L),
                () -> arena.guarded("check", () -> arena.raw().getLong(kept)));
            final String[] names = {"allocPages", "allocPagesUninitialized", "allocPagesAt", "allocPagesInto",
                "freePagesFrom", "purge", "reservePages", "freePages", "pageState", "repair", "check"};
            for (int i = 0; i < calls.size(); i++) {
                final var call = calls.get(i);
                final ArenaFaultException e = assertThrows(ArenaFaultException.class, call::get, names[i]);
                assertEquals(names[i] + ": " + expected, e.getMessage());
                assertEquals(4096, e.fileSize());
            }
            assertEquals(List.of("backup header copy damaged: header copy past the end of the file: fileSize=4096",
                "file is 4096 bytes, capacity " + CAPACITY + ": truncated while mapped (check --repair"
                + " restores the size; what was past the end is lost)"), arena.checkFile());
            final List<String> done = SharedArena.repairFile(file);
            assertEquals(2, done.size(), done.toString());
            assertTrue(done.get(1).startsWith("rewrote the header copies: backup header copy damaged: not a sharena arena"), done.get(1));
            assertEquals("restored the file size: file is 4096 bytes, capacity " + CAPACITY
                + "; pages 1..255 read as zeros now (their contents are lost); that includes metadata pages 1..4"
                + " (control words, process registry or page-table entries: the lock, counters and registered"
                + " processes are reset, and pages whose entries were lost read as FREE)", done.getFirst());
            // The same mapping works again; the metadata that was lost reads as zeros, which the
            // allocator's repair rebuilds from.
            assertEquals(List.of(), arena.checkFile());
            assertTrue(arena.repair(1_000_000_000L));
            assertNotEquals(0, arena.allocPages(1));
        }
    }

    /**
     * A file cut inside its header page, the primary header copy whole: it was "not an arena" for
     * good. Opening it says what check --repair does, and the repair gives it back, empty.
     */
    @Test
    void aFileCutInsideItsHeaderPageComesBackEmptyFromTheRepair() throws IOException {
        final Path file = dir.resolve("stub.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            assertNotEquals(0, arena.allocPages(3));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        final ArenaFormatException refused = assertThrows(ArenaFormatException.class,
            () -> SharedArena.open(file, ArenaOptions.defaults()));
        assertTrue(refused.getMessage().startsWith("arena file truncated inside its header page (its header copy survived:"
            + " check --repair restores the size, the arena then empty)"), refused.getMessage());
        final List<String> done = SharedArena.repairFile(file);
        assertTrue(done.getFirst().startsWith("restored the file size: file is 100 bytes"), done.toString());
        assertTrue(done.stream().anyMatch(l -> l.startsWith("rewrote the header copies")), done.toString());
        assertEquals(List.of(), SharedArena.checkFile(file));
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            // check --repair's next step: the free structures rebuilt from the page states (all FREE).
            assertTrue(io.sharena.core.internal.ArenaInternals.repair(arena, 1_000_000_000L));
            assertNotEquals(0, arena.allocPages(3), "an empty arena, usable");
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena));
        }
    }

    @Test
    void closeAfterATruncationUnmapsAndSaysSo() throws IOException {
        final Path file = dir.resolve("c.arena");
        final SharedArena arena = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults());
        truncate(file, 8192);
        final IOException e = assertThrows(IOException.class, arena::close);
        assertEquals("arena file is 8192 bytes, capacity " + CAPACITY + ": truncated while mapped; unmapped without"
            + " giving back this process's cached pages: path=" + file, e.getMessage());
        assertThrows(IllegalStateException.class, () -> arena.raw().getLong(4096));
    }
}
