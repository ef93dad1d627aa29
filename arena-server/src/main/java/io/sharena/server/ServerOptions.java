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
 *   <li>maxGetLine: the longest {@code get}/{@code gets} line without a newline that is kept
 *       (memcached keeps them unbounded; 2 MiB here); beyond it the connection is closed.</li>
 *   <li>outputHighWater: replies queued for a connection beyond which it is not read any further until
 *       they drain (256 KiB), so a client that sends but does not read holds that much and one value.</li>
 *   <li>writeTimeoutMillis: a connection with replies queued that takes none of them for this long is
 *       closed (30 s).</li>
 * </ul>
 */
public final class ServerOptions {
    private final InetSocketAddress address;
    private final int threads;
    private final int maxConnections;
    private final int maxGetLine;
    private final int outputHighWater;
    private final long writeTimeoutMillis;

    private ServerOptions(final InetSocketAddress address, final int threads, final int maxConnections,
                          final int maxGetLine, final int outputHighWater, final long writeTimeoutMillis) {
        this.address = address;
        this.threads = threads;
        this.maxConnections = maxConnections;
        this.maxGetLine = maxGetLine;
        this.outputHighWater = outputHighWater;
        this.writeTimeoutMillis = writeTimeoutMillis;
    }

    public static ServerOptions defaults() {
        return new ServerOptions(new InetSocketAddress("127.0.0.1", 11211),
            Math.min(4, Runtime.getRuntime().availableProcessors()), 1024, 2 << 20, 256 << 10, 30_000);
    }

    public ServerOptions withAddress(final InetSocketAddress a) {
        return new ServerOptions(Objects.requireNonNull(a, "address"), threads, maxConnections, maxGetLine,
            outputHighWater, writeTimeoutMillis);
    }

    /** @throws IllegalArgumentException if not 1 to 256 */
    public ServerOptions withThreads(final int n) {
        if (n < 1 || n > 256) {
            throw new IllegalArgumentException("threads out of range: threads=" + n + ", min=1, max=256");
        }
        return new ServerOptions(address, n, maxConnections, maxGetLine, outputHighWater, writeTimeoutMillis);
    }

    /** @throws IllegalArgumentException if not 1 to 1,000,000 */
    public ServerOptions withMaxConnections(final int n) {
        if (n < 1 || n > 1_000_000) {
            throw new IllegalArgumentException("max connections out of range: maxConnections=" + n
                + ", min=1, max=1000000");
        }
        return new ServerOptions(address, threads, n, maxGetLine, outputHighWater, writeTimeoutMillis);
    }

    /** @throws IllegalArgumentException if below 4 KiB or above 256 MiB */
    public ServerOptions withMaxGetLine(final int bytes) {
        if (bytes < 4096 || bytes > (256 << 20)) {
            throw new IllegalArgumentException("max get line out of range: maxGetLine=" + bytes);
        }
        return new ServerOptions(address, threads, maxConnections, bytes, outputHighWater, writeTimeoutMillis);
    }

    /** @throws IllegalArgumentException if below 4 KiB or above 256 MiB */
    public ServerOptions withOutputHighWater(final int bytes) {
        if (bytes < 4096 || bytes > (256 << 20)) {
            throw new IllegalArgumentException("output high water out of range: outputHighWater=" + bytes);
        }
        return new ServerOptions(address, threads, maxConnections, maxGetLine, bytes, writeTimeoutMillis);
    }

    /** @throws IllegalArgumentException if not positive */
    public ServerOptions withWriteTimeoutMillis(final long millis) {
        if (millis <= 0) {
            throw new IllegalArgumentException("write timeout must be positive: writeTimeoutMillis=" + millis);
        }
        return new ServerOptions(address, threads, maxConnections, maxGetLine, outputHighWater, millis);
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
}
