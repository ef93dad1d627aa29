package io.sharena.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What is not a regular file is refused without blocking, naming its type: open (read-write and
 * read-only), checkFile and repairFile each. A FIFO without a writer would block {@code open(2)} for ever.
 */
class NonRegularFileTest {
    @TempDir
    Path dir;

    private static void refused(final Path path, final String type) {
        for (final boolean readOnly : new boolean[] {false, true}) {
            expect(path, type, () -> SharedArena.open(path, ArenaOptions.defaults().withReadOnly(readOnly)));
        }
        expect(path, type, () -> SharedArena.checkFile(path));
        expect(path, type, () -> SharedArena.repairFile(path));
    }

    private static void expect(final Path path, final String type, final Executable call) {
        final ArenaFormatException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
            () -> assertThrows(ArenaFormatException.class, call));
        assertEquals("fileType", e.field(), e.getMessage());
        assertEquals("not a regular file: type=" + type + ", path=" + path + " (an arena is a regular file)",
            e.getMessage());
    }

    @Test
    void fifoIsRefusedWithoutBlocking() throws Exception {
        final Path fifo = dir.resolve("pipe");
        final Process p = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, p.waitFor());
        refused(fifo, "FIFO (named pipe)");
    }

    @Test
    void directoryIsRefused() {
        refused(dir, "directory");
    }

    @Test
    void procEntryIsRefused() {
        refused(Path.of("/proc/self/status"), "proc file system entry");
    }

    @Test
    void deviceIsRefused() {
        // /dev/null belongs to root: the type is checked before the owner.
        for (final boolean readOnly : new boolean[] {false, true}) {
            expect(Path.of("/dev/null"), "character device",
                () -> SharedArena.open(Path.of("/dev/null"), ArenaOptions.defaults().withReadOnly(readOnly)));
        }
        expect(Path.of("/dev/null"), "character device", () -> SharedArena.checkFile(Path.of("/dev/null")));
    }

    @Test
    void socketIsRefused() throws IOException {
        final Path sock = dir.resolve("sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            assertTrue(Files.exists(sock));
            refused(sock, "socket");
        }
    }
}
