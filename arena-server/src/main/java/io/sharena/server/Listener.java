package io.sharena.server;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A server's listening socket, bound before anything else is opened ({@link MemcachedServer#bind}):
 * a TCP address, with {@code SO_REUSEADDR} and {@code SO_REUSEPORT} so that several servers share
 * one port, or a UNIX domain socket file for its owner only. A caller that binds first
 * ({@code ./arena serve}) creates its store file only once the address is its own, so a bind that
 * fails leaves nothing behind. A failed bind names the address: {@code "127.0.0.1:11211: Address
 * already in use"}.
 *
 * <p>Until a server takes it ({@link MemcachedServer#start(io.sharena.ipc.store.SharedStore,
 * Listener)}), {@link #close} gives the address back; after, the server closes it. One owner at a
 * time: not for sharing between threads.
 */
public final class Listener implements AutoCloseable {
    /** Connections the kernel queues before the acceptor takes them. */
    private static final int BACKLOG = 1024;

    private final ServerOptions options;
    private final ServerSocketChannel channel;
    private boolean taken;

    private Listener(final ServerOptions options, final ServerSocketChannel channel) {
        this.options = options;
        this.channel = channel;
    }

    /** {@link MemcachedServer#bind}. */
    static Listener bind(final ServerOptions options) throws IOException {
        return new Listener(options, options.unixSocket() != null ? unix(options.unixSocket()) : tcp(options.address()));
    }

    /** @return the options it was bound with */
    ServerOptions options() {
        return options;
    }

    /**
     * @return the bound channel, which the caller (a starting server) now owns
     * @throws IllegalStateException if a server took it already
     */
    ServerSocketChannel take() {
        if (taken) {
            throw new IllegalStateException("listener already taken by a server: address=" + where(options));
        }
        taken = true;
        return channel;
    }

    /** Gives the address back, unless a server took the socket (the server closes it then). */
    @Override
    public void close() throws IOException {
        if (!taken) {
            taken = true;
            channel.close();
        }
    }

    /** @return the address as asked, for messages: {@code 127.0.0.1:11211}, {@code [::1]:11211} or the socket's path */
    static String where(final ServerOptions options) {
        return options.unixSocket() != null ? options.unixSocket().toString() : where(options.address());
    }

    private static String where(final InetSocketAddress address) {
        final String host = address.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    private static ServerSocketChannel tcp(final InetSocketAddress address) throws IOException {
        final String where = where(address);
        if (address.isUnresolved()) {
            // The JDK's bind would throw UnresolvedAddressException, a bare RuntimeException.
            throw new BindException("cannot resolve " + where);
        }
        final ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            ch.bind(address, BACKLOG);
            return ch;
        } catch (final BindException e) {
            ch.close();
            throw named(where, e);
        } catch (final IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * A listener on a UNIX domain socket file, for its owner only. A socket file left by a server
     * that is gone is replaced (as memcached does); one a live server still answers on is not, and
     * neither is a file that is not a socket.
     */
    private static ServerSocketChannel unix(final Path path) throws IOException {
        final UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (!isSocket(path)) {
                throw new FileAlreadyExistsException(path.toString(), null, "not a socket: refusing to replace it");
            }
            final String listening = listenerOn(address);
            if (listening != null) {
                throw new BindException(path + ": " + listening + ": not replaced");
            }
            Files.deleteIfExists(path); // stale: nobody listens on it
        }
        final ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(address, BACKLOG);
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
            return ch;
        } catch (final BindException e) {
            ch.close();
            throw named(path.toString(), e);
        } catch (final IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Asks whether a server listens on the socket file, without blocking: a blocking connect to a
     * server stopped with its backlog full waits forever.
     *
     * @return why the socket is taken, or null if nobody listens on it (refused, or the file gone)
     */
    private static String listenerOn(final UnixDomainSocketAddress address) throws IOException {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.configureBlocking(false);
            // Connected, or pending: a listener accepted it or queued it.
            probe.connect(address);
            return "a server is listening on it already";
        } catch (final ConnectException | NoSuchFileException e) {
            return null;
        } catch (final SocketException e) {
            // EAGAIN: a listener whose backlog is full, a server stopped or too busy to accept;
            // still a listener (anything else the connect says is named as it is).
            return "a server is listening on it already (" + e.getMessage() + ")";
        }
    }

    private static boolean isSocket(final Path path) throws IOException {
        final int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000; // S_IFSOCK
    }

    /** @return {@code e} with the address in front of its message: "127.0.0.1:11211: Address already in use" */
    private static BindException named(final String where, final BindException e) {
        final BindException b = new BindException(where + ": " + e.getMessage());
        b.initCause(e);
        return b;
    }
}
