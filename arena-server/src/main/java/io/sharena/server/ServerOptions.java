package io.sharena.server;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * How a {@link MemcachedServer} listens and what it bounds. Immutable; each {@code with} returns a copy.
 *
 * <ul>
 *   <li>address: where it listens (127.0.0.1:11211 by default); port 0 picks a free port.</li>
 *   <li>threads: selector threads, each serving its share of the connections (default: 4, at most the CPUs).</li>
 *   <li>maxConnections: open connections at most (1024); one more is told
 *       {@code ERROR Too many open connections} and closed, as memcached does.</li>
 *   <li>maxGetLine: the longest {@code get}/{@code gets} line, in bytes (2 GiB less one by default;
 *       memcached has no bound); beyond it the connection is closed. A long line's keys are
 *       answered as they arrive: its input holds the key arriving, or up to 2 MiB of the line while
 *       its replies wait for the client to read.</li>
 *   <li>outputHighWater: replies queued for a connection beyond which it is not read any further until
 *       they drain (256 KiB), so a client that sends but does not read holds that much and one value.</li>
 *   <li>writeTimeoutMillis: a connection with replies queued that takes none of them for this long is
 *       closed (30 s), and so is one whose client stopped sending halfway through a command (a data
 *       block, a line) for as long.</li>
 *   <li>connectionBuffers: the heap all connections together may hold beyond their first buffers
 *       (grown input and output buffers, values on their way to the store); a connection that would
 *       pass it is told {@code SERVER_ERROR out of memory} and closed, as memcached does when it cannot
 *       allocate for a connection (256 MiB, or half the JVM's heap if less, by default: 200 clients
 *       each sending a 4 MiB get line with no newline had a bound of half a 6 GiB heap let the process
 *       grow past 1.2 GiB and keep it).</li>
 *   <li>requestsPerEvent: commands one connection runs before the worker turns to its other
 *       connections (20, memcached's {@code -R}); a client pipelining thousands of commands takes
 *       its turn like the others, and each turn it gives up counts in {@code conn_yields}. A
 *       multi-key get or a dump takes 50 keys per command of the turn, then yields likewise.</li>
 *   <li>idleTimeoutSeconds: a connection waiting for a command longer than this is closed and
 *       counted in {@code idle_kicks} (0, the default: never; memcached's {@code -o idle_timeout}).</li>
 *   <li>shutdownCommand: whether the {@code shutdown} command stops the server (off, memcached's
 *       {@code -A}).</li>
 *   <li>unixSocket: a UNIX domain socket file to listen on instead of TCP (memcached's {@code -s}),
 *       created with access for its owner only (memcached's default {@code -a 0700}); a stale
 *       socket file is replaced, one a live server answers on is not.</li>
 *   <li>lruCrawler: whether the {@code lru_crawler crawl} and {@code metadump} commands are allowed
 *       at the start (on, as memcached's {@code lru_crawler} setting; {@code lru_crawler enable} and
 *       {@code disable} change it while the server runs).</li>
 *   <li>protocol: which protocols a connection may speak (memcached's {@code -B}): {@link Protocol#AUTO},
 *       the text and meta protocols or the binary protocol, by the connection's first byte; or one of
 *       them only.</li>
 * </ul>
 */
public final class ServerOptions {
    /** memcached's {@code -B}: the protocols a connection may speak. */
    public enum Protocol {
        /** Binary if the connection's first byte is the binary protocol's request magic (0x80), else text and meta. */
        AUTO,
        /** The text and meta protocols only: a binary request is text garbage. */
        ASCII,
        /** The binary protocol only: a connection whose first byte is not a binary request is closed. */
        BINARY
    }

    private InetSocketAddress address;
    private int threads;
    private int maxConnections;
    /** The default bound on {@link #connectionBuffers()}, unless half the heap is less. */
    static final long DEFAULT_CONNECTION_BUFFERS = 256L << 20;
    private int maxGetLine;
    private int outputHighWater;
    private long writeTimeoutMillis;
    private long connectionBuffers;
    private int requestsPerEvent;
    private int idleTimeoutSeconds;
    private boolean shutdownCommand;
    private boolean lruCrawler;
    private java.nio.file.Path unixSocket;
    private Protocol protocol;

    private ServerOptions() {
    }

    private ServerOptions copy() {
        final ServerOptions o = new ServerOptions();
        o.address = address;
        o.threads = threads;
        o.maxConnections = maxConnections;
        o.maxGetLine = maxGetLine;
        o.outputHighWater = outputHighWater;
        o.writeTimeoutMillis = writeTimeoutMillis;
        o.connectionBuffers = connectionBuffers;
        o.requestsPerEvent = requestsPerEvent;
        o.idleTimeoutSeconds = idleTimeoutSeconds;
        o.shutdownCommand = shutdownCommand;
        o.lruCrawler = lruCrawler;
        o.unixSocket = unixSocket;
        o.protocol = protocol;
        return o;
    }

    public static ServerOptions defaults() {
        final ServerOptions o = new ServerOptions();
        o.address = new InetSocketAddress("127.0.0.1", 11211);
        o.threads = Math.min(4, Runtime.getRuntime().availableProcessors());
        o.maxConnections = 1024;
        o.maxGetLine = Integer.MAX_VALUE;
        o.outputHighWater = 256 << 10;
        o.writeTimeoutMillis = 30_000;
        o.connectionBuffers = Math.min(Runtime.getRuntime().maxMemory() / 2, DEFAULT_CONNECTION_BUFFERS);
        o.requestsPerEvent = 20;
        o.lruCrawler = true;
        o.protocol = Protocol.AUTO;
        return o;
    }

    public ServerOptions withAddress(final InetSocketAddress a) {
        final ServerOptions o = copy();
        o.address = Objects.requireNonNull(a, "address");
        return o;
    }

    /** @throws IllegalArgumentException if not 1 to 256 */
    public ServerOptions withThreads(final int n) {
        if (n < 1 || n > 256) {
            throw new IllegalArgumentException("threads out of range: threads=" + n + ", min=1, max=256");
        }
        final ServerOptions o = copy();
        o.threads = n;
        return o;
    }

    /** @throws IllegalArgumentException if not 1 to 1,000,000 */
    public ServerOptions withMaxConnections(final int n) {
        if (n < 1 || n > 1_000_000) {
            throw new IllegalArgumentException("max connections out of range: maxConnections=" + n
                + ", min=1, max=1000000");
        }
        final ServerOptions o = copy();
        o.maxConnections = n;
        return o;
    }

    /** @throws IllegalArgumentException if below 4 KiB */
    public ServerOptions withMaxGetLine(final int bytes) {
        if (bytes < 4096) {
            throw new IllegalArgumentException("max get line out of range: maxGetLine=" + bytes);
        }
        final ServerOptions o = copy();
        o.maxGetLine = bytes;
        return o;
    }

    /** @throws IllegalArgumentException if below 4 KiB or above 256 MiB */
    public ServerOptions withOutputHighWater(final int bytes) {
        if (bytes < 4096 || bytes > (256 << 20)) {
            throw new IllegalArgumentException("output high water out of range: outputHighWater=" + bytes);
        }
        final ServerOptions o = copy();
        o.outputHighWater = bytes;
        return o;
    }

    /** @throws IllegalArgumentException if not positive */
    public ServerOptions withWriteTimeoutMillis(final long millis) {
        if (millis <= 0) {
            throw new IllegalArgumentException("write timeout must be positive: writeTimeoutMillis=" + millis);
        }
        final ServerOptions o = copy();
        o.writeTimeoutMillis = millis;
        return o;
    }

    /** @throws IllegalArgumentException if not positive */
    public ServerOptions withConnectionBuffers(final long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("connection buffers must be positive: connectionBuffers=" + bytes);
        }
        final ServerOptions o = copy();
        o.connectionBuffers = bytes;
        return o;
    }

    /** @throws IllegalArgumentException if not 1 to 1,000,000 */
    public ServerOptions withRequestsPerEvent(final int n) {
        if (n < 1 || n > 1_000_000) {
            throw new IllegalArgumentException("requests per event out of range: requestsPerEvent=" + n
                + ", min=1, max=1000000");
        }
        final ServerOptions o = copy();
        o.requestsPerEvent = n;
        return o;
    }

    /** @throws IllegalArgumentException if negative or over a year */
    public ServerOptions withIdleTimeoutSeconds(final int seconds) {
        if (seconds < 0 || seconds > 366 * 86_400) {
            throw new IllegalArgumentException("idle timeout out of range: idleTimeoutSeconds=" + seconds
                + ", min=0 (never), max=" + 366 * 86_400);
        }
        final ServerOptions o = copy();
        o.idleTimeoutSeconds = seconds;
        return o;
    }

    public ServerOptions withShutdownCommand(final boolean enabled) {
        final ServerOptions o = copy();
        o.shutdownCommand = enabled;
        return o;
    }

    public ServerOptions withProtocol(final Protocol p) {
        if (p == null) {
            throw new IllegalArgumentException("protocol must not be null: protocol=null");
        }
        final ServerOptions o = copy();
        o.protocol = p;
        return o;
    }

    public Protocol protocol() {
        return protocol;
    }

    public ServerOptions withLruCrawler(final boolean enabled) {
        final ServerOptions o = copy();
        o.lruCrawler = enabled;
        return o;
    }

    /** Listen on this UNIX domain socket instead of TCP (null: TCP at {@link #address()}). */
    public ServerOptions withUnixSocket(final java.nio.file.Path path) {
        final ServerOptions o = copy();
        o.unixSocket = path;
        return o;
    }

    public InetSocketAddress address() {
        return address;
    }

    public int threads() {
        return threads;
    }

    public int maxConnections() {
        return maxConnections;
    }

    public int maxGetLine() {
        return maxGetLine;
    }

    public int outputHighWater() {
        return outputHighWater;
    }

    public long writeTimeoutMillis() {
        return writeTimeoutMillis;
    }

    /** @return bytes of heap all connections may hold beyond their first buffers */
    public long connectionBuffers() {
        return connectionBuffers;
    }

    public int requestsPerEvent() {
        return requestsPerEvent;
    }

    /** @return seconds, 0 for never */
    public int idleTimeoutSeconds() {
        return idleTimeoutSeconds;
    }

    public boolean shutdownCommand() {
        return shutdownCommand;
    }

    public boolean lruCrawler() {
        return lruCrawler;
    }

    /** @return the UNIX domain socket listened on instead of TCP, or null */
    public java.nio.file.Path unixSocket() {
        return unixSocket;
    }
}
