package io.sharena.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code serve --unix-socket}: memcached's {@code -s}, a UNIX domain socket instead of TCP. */
class UnixSocketTest {
    @TempDir
    Path dir;

    /** Sends the request and "mn"; @return the replies before "MN". */
    private static String call(final SocketChannel ch, final String request) throws IOException {
        ch.write(ByteBuffer.wrap((request + "mn\r\n").getBytes(StandardCharsets.ISO_8859_1)));
        final StringBuilder sb = new StringBuilder();
        final ByteBuffer b = ByteBuffer.allocate(65536);
        while (!sb.toString().endsWith("MN\r\n")) {
            b.clear();
            if (ch.read(b) < 0) {
                throw new IOException("closed after: " + sb);
            }
            sb.append(new String(b.array(), 0, b.position(), StandardCharsets.ISO_8859_1));
        }
        return sb.substring(0, sb.length() - 4);
    }

    @Test
    void servesOnTheSocketForItsOwnerOnlyAndRemovesItWhenClosed() throws Exception {
        final Path socket = dir.resolve("mc.sock");
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withUnixSocket(socket))) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            try (SocketChannel a = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                 SocketChannel b = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                assertEquals("STORED\r\n", call(a, "set foo 0 0 6\r\nfooval\r\n"));
                assertEquals("VALUE foo 0 6\r\nfooval\r\nEND\r\n", call(b, "get foo\r\n"));
                final String settings = call(a, "stats settings\r\n");
                assertTrue(settings.contains("STAT domain_socket " + socket + "\r\n"), settings);
                final String conns = call(a, "stats conns\r\n");
                assertTrue(conns.contains("STAT 0:addr unix:" + socket + "\r\n"), conns);
                assertTrue(conns.contains(":listen_addr unix:" + socket + "\r\n"), conns);
                assertFalse(conns.contains("tcp:"), conns);
                // A second server on the same live socket is refused; the first keeps it.
                assertThrows(java.net.BindException.class,
                    () -> new TestServer(ServerOptions.defaults().withThreads(1).withUnixSocket(socket)).close());
                assertEquals("VALUE foo 0 6\r\nfooval\r\nEND\r\n", call(a, "get foo\r\n"));
            }
        }
        assertFalse(Files.exists(socket), "the socket file goes with the server");
    }

    @Test
    void aStaleSocketIsReplacedAndAnotherFileIsNot() throws Exception {
        final Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel gone = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            gone.bind(UnixDomainSocketAddress.of(stale)); // a server that died leaves its file behind
        }
        assertTrue(Files.exists(stale));
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withUnixSocket(stale));
             SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(stale))) {
            assertTrue(call(ch, "version\r\n").startsWith("VERSION "));
        }
        final Path regular = Files.writeString(dir.resolve("notes.txt"), "keep me");
        assertThrows(java.nio.file.FileAlreadyExistsException.class,
            () -> new TestServer(ServerOptions.defaults().withThreads(1).withUnixSocket(regular)).close());
        assertEquals("keep me", Files.readString(regular));
    }
}
