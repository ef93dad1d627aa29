package io.sharena.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@code serve} that cannot listen says why in one line, naming the address, and leaves no store
 * file behind: the address is resolved and bound before the store file is created (a failed bind
 * left a new store file, and an unresolvable --listen was "unexpected UnresolvedAddressException
 * (a bug ...)"). The liveness probe of an existing UNIX socket does not block on a listener whose
 * backlog is full (a stopped server): it blocked forever.
 */
class ServeFailuresTest extends CapturedStreams {
    @TempDir
    Path dir;

    private int serve(final String... extra) {
        final List<String> args = new ArrayList<>(List.of("serve", "--store", dir.resolve("s.store").toString(),
            "--memory", "4M", "--threads", "1"));
        args.addAll(List.of(extra));
        return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> ArenaCli.run(args.toArray(String[]::new)));
    }

    private void assertNoStoreFile() {
        assertFalse(Files.exists(dir.resolve("s.store")), "no store file left behind");
    }

    @Test
    void anUnresolvableListenAddressIsAUsageError() {
        // An IPv6 literal that is not one: unresolvable without asking a name server.
        assertEquals(ArenaCli.EXIT_USAGE, serve("--listen", "[::zz]", "--port", "0"), err());
        assertEquals("arena: cannot resolve --listen [::zz]\n", err());
        assertNoStoreFile();
    }

    @Test
    void aPortInUseNamesTheAddressAndLeavesNoFile() throws Exception {
        // A plain server socket, without SO_REUSEPORT: serve's bind cannot share its port.
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            final int port = taken.getLocalPort();
            assertEquals(ArenaCli.EXIT_FILE, serve("--port", Integer.toString(port)), err());
            assertEquals("arena: 127.0.0.1:" + port + ": Address already in use\n", err());
            assertNoStoreFile();
        }
    }

    @Test
    void anAddressNotOfThisHostNamesTheAddressAndLeavesNoFile() {
        // TEST-NET-1 (RFC 5737): never an address of this machine; the bind fails, nothing is sent.
        assertEquals(ArenaCli.EXIT_FILE, serve("--listen", "192.0.2.1", "--port", "0"), err());
        assertEquals("arena: 192.0.2.1:0: Cannot assign requested address\n", err());
        assertNoStoreFile();
    }

    @Test
    void aUnixSocketPathHoldingARegularFileIsNotReplaced() throws Exception {
        final Path readme = dir.resolve("README.md");
        Files.writeString(readme, "# notes\n");
        assertEquals(ArenaCli.EXIT_FILE, serve("--unix-socket", readme.toString()), err());
        assertEquals("arena: " + readme + ": not a socket: refusing to replace it\n", err());
        assertEquals("# notes\n", Files.readString(readme));
        assertNoStoreFile();
    }

    /** A listener that never accepts, its backlog full: a blocking connect to it waits forever. */
    @Test
    void aUnixSocketWhoseListenerHasAFullBacklogIsInUseAndTheProbeDoesNotBlock() throws Exception {
        final Path socket = dir.resolve("mc.sock");
        final UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        final List<SocketChannel> queued = new ArrayList<>();
        try (ServerSocketChannel stopped = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stopped.bind(address, 1);
            boolean full = false;
            while (!full && queued.size() < 64) {
                final SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                c.configureBlocking(false);
                try {
                    c.connect(address);
                    queued.add(c);
                } catch (final java.io.IOException e) {
                    c.close();
                    full = true; // EAGAIN: the backlog is full
                }
            }
            assertTrue(full, "the backlog filled up: queued=" + queued.size());
            assertEquals(ArenaCli.EXIT_FILE, serve("--unix-socket", socket.toString()), err());
            assertTrue(err().startsWith("arena: " + socket + ": a server is listening on it already ("), err());
            assertTrue(err().endsWith("): not replaced\n"), err());
            assertEquals(1, err().lines().count(), err());
            assertNoStoreFile();
        } finally {
            for (final SocketChannel c : queued) {
                c.close();
            }
        }
    }

    /** A socket file a live listener answers on (not full) is in use too, and a stale one is replaced. */
    @Test
    void aUnixSocketInUseIsRefusedAndAStaleOneReplaced() throws Exception {
        final Path socket = dir.resolve("live.sock");
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(socket), 16);
            assertEquals(ArenaCli.EXIT_FILE, serve("--unix-socket", socket.toString()), err());
            assertEquals("arena: " + socket + ": a server is listening on it already: not replaced\n", err());
            assertNoStoreFile();
        }
        // Closed: the file stays, nobody listens. A serve would replace it; its bind alone shows it.
        assertTrue(Files.exists(socket));
        try (io.sharena.server.Listener l = io.sharena.server.MemcachedServer.bind(io.sharena.server.ServerOptions
            .defaults().withAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).withUnixSocket(socket))) {
            assertTrue(Files.exists(socket));
        }
    }
}
