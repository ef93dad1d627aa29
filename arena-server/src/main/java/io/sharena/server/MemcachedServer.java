package io.sharena.server;

import io.sharena.ipc.store.SharedStore;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A memcached-compatible server on a {@link SharedStore}: one acceptor thread,
 * {@link ServerOptions#threads()} selector threads, each owning its connections, and a clock
 * thread that ticks once a second. The listening socket has {@code SO_REUSEPORT}, so several
 * servers (processes) on the same store file can share one port: the kernel spreads new
 * connections over them, and when one dies the others keep accepting. Every item lives in the store, so a server holds no cache state of its own.
 *
 * <pre>{@code
 * try (SharedStore store = SharedStore.open(path, StoreOptions.defaults());
 *      MemcachedServer server = MemcachedServer.start(store, ServerOptions.defaults())) {
 *     server.awaitClose();
 * }
 * }</pre>
 */
public final class MemcachedServer implements AutoCloseable {
    /**
     * What {@code version} answers: the memcached release whose protocol this server matches, as a
     * bare number (clients parse it: node's {@code memcached} 2.2 throws on anything after the
     * third number). The startup line names sharena.
     */
    public static final String VERSION = "1.6.18";

    /** The clock thread's period: the store's clock resolution and the stalled-connection sweep's. */
    private static final long CLOCK_MILLIS = 1000;
    /** Every this many clock ticks, what dead peer processes left is reclaimed ({@link #reclaimDead}). */
    private static final int RECLAIM_TICKS = 5;
    /** How long the clock waits for the allocator's lock to reclaim: briefly, it tries again later. */
    private static final long RECLAIM_WAIT_NANOS = 10_000_000L;
    private static final byte[] TOO_MANY = "ERROR Too many open connections\r\n".getBytes(StandardCharsets.US_ASCII);

    private final SharedStore store;
    private final ServerOptions options;
    private final ServerSocketChannel listener;
    private final Worker[] workers;
    private final Thread acceptor;
    private final Thread clock;
    private final long startedMillis = System.currentTimeMillis();
    private volatile boolean closed;

    final AtomicInteger currConnections = new AtomicInteger();
    final AtomicLong totalConnections = new AtomicLong();
    final AtomicLong rejectedConnections = new AtomicLong();
    /** Storage commands refused: a value over the max item size, or no room in the store (memcached's names). */
    final java.util.concurrent.atomic.LongAdder storeTooLarge = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder storeNoMemory = new java.util.concurrent.atomic.LongAdder();
    /** Turns a connection gave up with commands still queued ({@link ServerOptions#requestsPerEvent()}). */
    final java.util.concurrent.atomic.LongAdder connYields = new java.util.concurrent.atomic.LongAdder();
    /** Connections closed for idling ({@link ServerOptions#idleTimeoutSeconds()}). */
    final java.util.concurrent.atomic.LongAdder idleKicks = new java.util.concurrent.atomic.LongAdder();
    /**
     * Unix seconds, moved by the clock thread once a second (memcached's {@code current_time}):
     * what a connection notes as the time of its last command, with no clock read per command.
     */
    private volatile long nowSeconds = System.currentTimeMillis() / 1000;
    /** Every open connection, for {@code stats conns}; each adds and removes itself. */
    final java.util.Set<Connection> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final AtomicLong connectionIds = new AtomicLong();
    /** {@code lru_crawler}: its setting, its crawls and their counts. */
    final LruCrawler crawler;
    /** {@code stats detail}: per-prefix counts, while on. */
    final PrefixStats prefixStats = new PrefixStats();
    /** Byte counts at the last {@code stats reset}: the workers' own counters are written by them only. */
    private volatile long bytesReadAtReset;
    private volatile long bytesWrittenAtReset;
    /**
     * Heap that connections hold beyond their first buffers (grown buffers, values on their way in),
     * bounded by {@link ServerOptions#connectionBuffers()}.
     */
    final java.util.concurrent.atomic.AtomicLong connectionHeap = new java.util.concurrent.atomic.AtomicLong();
    /** Connections whose buffers would have passed {@link ServerOptions#connectionBuffers()}. */
    final java.util.concurrent.atomic.LongAdder buffersRefused = new java.util.concurrent.atomic.LongAdder();
    /** Values read from the socket straight into the store, and those moved to the heap halfway (tests). */
    final java.util.concurrent.atomic.LongAdder valuesInPlace = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder valuesSpilled = new java.util.concurrent.atomic.LongAdder();
    /** Bytes of value arrays longer than {@link Worker#POOLED_VALUE_MAX} the workers allocated, not taken from their spares (tests). */
    final java.util.concurrent.atomic.LongAdder valueBytesAllocated = new java.util.concurrent.atomic.LongAdder();
    /** Connections closed after a failure no command meant (an exception from the server's own code): tests only. */
    final java.util.concurrent.atomic.LongAdder unexpectedFailures = new java.util.concurrent.atomic.LongAdder();
    /**
     * Bytes of values this server's connections hold reserved in the store at once: at most a
     * quarter of the store's memory ({@link Connection#beginData}). Every write waits for a
     * reservation the ring's tail reaches, and a worker's own reservations cannot end while that
     * worker waits, so many large sets begun together (each reserved, its value still coming)
     * would otherwise fill the ring with reservations and stall every write a lock timeout each.
     */
    final java.util.concurrent.atomic.AtomicLong heldInPlace = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Tests only: run by a worker after it wrote a value from the store's mapping to a socket and
     * before it validates the item ({@link Connection#sendInPlace}), so that a test can reclaim the
     * item in between. Null in service: one field read per value of at least
     * {@value Connection#IN_PLACE_MIN} bytes sent in place. Volatile so that a test may set it
     * while the workers run.
     */
    volatile Runnable inPlacePause;
    /**
     * The {@code verbosity} level last set, at most 2 (memcached's bound), for {@code stats
     * settings}: it changes nothing else, as this server logs nothing per command.
     */
    volatile int verbosity;

    private MemcachedServer(final SharedStore store, final ServerOptions options, final ServerSocketChannel listener)
        throws IOException {
        this.store = store;
        this.options = options;
        this.listener = listener;
        try {
            this.crawler = new LruCrawler(this, options.lruCrawler());
            workers = new Worker[options.threads()];
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(this, i);
            }
        } catch (final IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        acceptor = Thread.ofPlatform().name("memcached-accept").daemon().unstarted(this::accept);
        clock = Thread.ofPlatform().name("memcached-clock").daemon().unstarted(this::clock);
    }

    /**
     * Binds the listening socket alone, before the store is opened: {@code ./arena serve} creates
     * its store file only once the address is its own. Give it to {@link #start(SharedStore,
     * Listener)}, or close it.
     *
     * @throws java.net.BindException if the address cannot be resolved or bound, or a server listens
     *                                on the UNIX socket already; the message names the address
     * @throws java.nio.file.FileAlreadyExistsException if the UNIX socket's path holds a file that is
     *                                not a socket (it is never replaced)
     * @throws IOException            if the socket cannot be made otherwise
     */
    public static Listener bind(final ServerOptions options) throws IOException {
        return Listener.bind(options);
    }

    /**
     * Starts serving on a listener {@link #bind} made, which the server owns from now on (its
     * {@link #close} closes it, and so does a failed start).
     *
     * @throws IllegalStateException if another server took the listener already
     * @throws IOException           if the worker threads' selectors cannot be opened
     */
    public static MemcachedServer start(final SharedStore store, final Listener listener) throws IOException {
        final MemcachedServer s = new MemcachedServer(store, listener.options(), listener.take());
        for (final Worker w : s.workers) {
            w.start();
        }
        s.acceptor.start();
        s.clock.start();
        return s;
    }

    /**
     * Binds ({@link #bind}) and starts serving.
     *
     * @throws IOException if the address cannot be bound
     */
    public static MemcachedServer start(final SharedStore store, final ServerOptions options) throws IOException {
        final Listener listener = bind(options);
        try {
            return start(store, listener);
        } catch (final IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    /**
     * @return the bound address (the actual port when 0 was asked); with a UNIX domain socket, the
     * TCP address it was not asked to listen on, with port 0
     */
    public InetSocketAddress address() {
        if (options.unixSocket() != null) {
            return new InetSocketAddress(options.address().getAddress(), 0);
        }
        try {
            return (InetSocketAddress) listener.getLocalAddress();
        } catch (final IOException e) {
            return options.address();
        }
    }

    /** @return where the server listens, as {@code stats conns} shows it: {@code tcp:IP:PORT} or {@code unix:PATH} */
    String listenAddress() {
        // The address as asked (a JDK socket bound to 0.0.0.0 reports the IPv6 wildcard), the port as bound.
        return options.unixSocket() != null ? "unix:" + options.unixSocket()
            : describe(new InetSocketAddress(options.address().getAddress(), address().getPort()));
    }

    public SharedStore store() {
        return store;
    }

    ServerOptions options() {
        return options;
    }

    long startedMillis() {
        return startedMillis;
    }

    /** @return open connections now */
    public int connections() {
        return currConnections.get();
    }

    private void accept() {
        int next = 0;
        while (!closed) {
            final SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (final ClosedChannelException e) {
                return;
            } catch (final IOException | OutOfMemoryError e) {
                // EMFILE and the like, or no heap for the channel: back off a little rather than spin.
                if (!closed) {
                    sleepQuietly(10);
                }
                continue;
            }
            boolean ours = false; // counted in currConnections and taken by no worker yet
            try {
                awaitRoom();
                if (currConnections.incrementAndGet() > options.maxConnections()) {
                    currConnections.decrementAndGet();
                    rejectedConnections.incrementAndGet();
                    reject(ch);
                    continue;
                }
                // As memcached: a connection refused over the limit counts in rejected_connections only.
                totalConnections.incrementAndGet();
                ours = true;
                // A worker that died takes no more connections: the next live one does, and with
                // none left the client is hung up on (awaitClose reports the server dead).
                for (int tries = 0; ours && tries < workers.length; tries++) {
                    final Worker w = workers[next];
                    next = next + 1 == workers.length ? 0 : next + 1;
                    ours = !w.adopt(ch);
                }
            } catch (final OutOfMemoryError e) {
                // No heap to hand it over: this client is hung up on, and the acceptor goes on.
            }
            if (ours) {
                currConnections.decrementAndGet();
                hangUp(ch);
            }
        }
    }

    /**
     * Once a second, as memcached's clock event: moves the store's coarse clock (which its reads
     * judge items' access times by, and which a reading-only event loop would otherwise leave
     * standing while it idles) and asks every worker for a sweep of stalled connections. The
     * workers' event loops then read no clock at all. Every {@value #RECLAIM_TICKS} seconds it also
     * reclaims what dead peers left ({@link #reclaimDead}).
     */
    private void clock() {
        int failures = 0;
        for (long tick = 1; !closed; tick++) {
            nowSeconds = System.currentTimeMillis() / 1000;
            try {
                if (tick % RECLAIM_TICKS == 0) {
                    reclaimDead();
                }
                store.tick();
                crawler.tick(nowSeconds);
            } catch (final InternalError e) {
                // The store file cut short under the mapping: the clock stands still until it is
                // restored (check --repair); the workers tell each command that meets the cut.
                try {
                    io.sharena.core.ArenaFaultException.of(store.arena(), "clock", e);
                } catch (final RuntimeException | Error again) {
                    // The store closed under the tick (its file too), or an InternalError that is
                    // no mapping fault, which the call throws again: thrown from here, either ended
                    // the clock thread, and with it the idle kicks and write timeouts (seen once in
                    // ResourceAuditTest.theClockGoesOnAfterATickFails, the clock thread gone).
                }
            } catch (final Throwable e) {
                // The store closed or damaged under the running server, no heap for this tick, or
                // any other failure: said (ten times at most), and the clock goes on. Were it to
                // stop, so would the write timeouts, the idle kicks and the reclaim of dead peers,
                // with no word (a full CI run once found the clock thread gone after the store was
                // closed under the server, its first failure said and no other: nothing but a
                // RuntimeException, an OutOfMemoryError or a StackOverflowError was caught then).
                failures = said(failures, "clock tick failed: " + e);
            }
            try {
                for (final Worker w : workers) {
                    w.sweepSoon();
                }
            } catch (final Throwable e) {
                failures = said(failures, "clock could not wake a worker: " + e);
            }
            try {
                Thread.sleep(CLOCK_MILLIS);
            } catch (final InterruptedException e) {
                if (!closed) {
                    said(0, "clock interrupted while the server runs: it stops");
                }
                return; // close() ends us
            }
        }
    }

    /** Prints {@code what} unless ten failures were said already. @return {@code failures} plus one */
    private static int said(final int failures, final String what) {
        if (failures < 10) {
            try {
                System.err.println("arena serve: " + what);
            } catch (final Throwable e) {
                // nothing more to say it with
            }
        }
        return failures + 1;
    }

    /**
     * Reclaims what another process that died attached to the store's file left: its registry slot
     * and the pages in its caches ({@code SharedArena.reclaimDeadProcesses}). Without it a serve
     * killed beside this one stayed registered, and check reported it, until a process opened the
     * file again. Nothing is done, and no lock taken, while every attached process lives.
     */
    private void reclaimDead() {
        try {
            store.arena().reclaimDeadProcesses(RECLAIM_WAIT_NANOS);
        } catch (final RuntimeException e) {
            // A closed or cut file: nothing to reclaim now, and the commands that meet it say why.
        }
    }

    /**
     * How long the acceptor waits, at the connection limit, for a connection to close before it
     * refuses the one in hand. Connections a client resets are counted until their worker sees the
     * reset: a client that connects, sends part of a value and resets, again and again, had them
     * pile up to the limit while the server's code was not yet compiled, and good clients were
     * refused for a moment (memcached's did not pile up). Meanwhile new connections wait in the
     * listen backlog rather than be refused.
     */
    static final long FULL_WAIT_MILLIS = 100;

    /** {@link #FULL_WAIT_MILLIS}, longer in a test that must see a close within it on a slow machine. */
    private static volatile long fullWaitMillis = FULL_WAIT_MILLIS;

    /** Sets the wait at the limit for every server of this JVM (tests); {@link #FULL_WAIT_MILLIS} is the default. */
    static void fullWaitMillis(final long millis) {
        fullWaitMillis = millis;
    }

    /**
     * Whether the acceptor waited {@link #FULL_WAIT_MILLIS} in vain since the connections were last
     * below the limit: then it refuses at once until they are (a client opening thousands would
     * otherwise wait in the backlog a tenth of a second each). The acceptor's alone.
     */
    private boolean waitedInVain;

    /** Waits up to {@link #FULL_WAIT_MILLIS} while the connections are at the limit (only this thread adds to them). */
    private void awaitRoom() {
        if (currConnections.get() < options.maxConnections()) {
            waitedInVain = false;
            return;
        }
        if (waitedInVain) {
            return;
        }
        final long deadline = System.nanoTime() + fullWaitMillis * 1_000_000L;
        while (currConnections.get() >= options.maxConnections() && !closed && System.nanoTime() - deadline < 0) {
            sleepQuietly(1);
        }
        waitedInVain = currConnections.get() >= options.maxConnections();
    }

    /** memcached's answer past its connection limit: one line, then the connection is closed. */
    private static void reject(final SocketChannel ch) {
        try (ch) {
            ch.configureBlocking(false);
            ch.write(ByteBuffer.wrap(TOO_MANY));
        } catch (final IOException e) {
            // the client went away first: nothing to tell it
        }
    }

    private static void hangUp(final SocketChannel ch) {
        try {
            ch.close();
        } catch (final IOException e) {
            // closed anyway
        }
    }

    private static void sleepQuietly(final long millis) {
        try {
            Thread.sleep(millis);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** @return the next connection number: 1, 2, ... (0 is the listener in {@code stats conns}) */
    long nextConnectionId() {
        return connectionIds.incrementAndGet();
    }

    /** @return an address as memcached's {@code stats conns} writes it: {@code tcp:IP:PORT}, {@code tcp6:[IP]:PORT} */
    static String describe(final java.net.SocketAddress address) {
        if (address instanceof java.net.UnixDomainSocketAddress u) {
            return "unix:" + u.getPath();
        }
        if (!(address instanceof InetSocketAddress a) || a.getAddress() == null) {
            return "tcp:unknown";
        }
        return a.getAddress() instanceof java.net.Inet6Address
            ? "tcp6:[" + a.getAddress().getHostAddress() + "]:" + a.getPort()
            : "tcp:" + a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** @return Unix seconds as of the clock thread's last tick (at most a second behind) */
    long nowSeconds() {
        return nowSeconds;
    }

    /**
     * memcached's {@code shutdown} command (when {@link ServerOptions#shutdownCommand()} allows it):
     * the server closes, from a thread of its own (a worker cannot wait for itself to stop), and
     * {@link #awaitClose()} returns. The store stays open: its owner closes it.
     */
    void shutdownByCommand() {
        Thread.ofPlatform().name("memcached-shutdown").start(() -> {
            try {
                close();
            } catch (final IOException e) {
                System.err.println("arena serve: shutdown failed: " + e);
            }
        });
    }

    /**
     * Waits until {@link #close()} was called (by a shutdown hook, or the {@code shutdown} command).
     *
     * @throws IllegalStateException if every worker thread died before the close (each says why on
     *                               stderr): the server serves no connection any more
     */
    public void awaitClose() throws InterruptedException {
        for (final Worker w : workers) {
            w.join();
        }
        if (!closed) {
            throw new IllegalStateException("every worker thread died: workers=" + workers.length
                + " (their failures are on stderr); the server serves no connection");
        }
    }

    /** Stops accepting, closes every connection and stops the threads. The store stays open. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        listener.close();
        if (options.unixSocket() != null) {
            java.nio.file.Files.deleteIfExists(options.unixSocket());
        }
        clock.interrupt();
        for (final Worker w : workers) {
            w.shutdown();
        }
        try {
            acceptor.join(5000);
            clock.join(5000);
            for (final Worker w : workers) {
                w.join(5000);
            }
            crawler.awaitStop(5000);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** @return bytes read from clients since the start or the last {@link #resetStats}, over all workers */
    long bytesRead() {
        return totalBytesRead() - bytesReadAtReset;
    }

    /** @return bytes written to clients since the start or the last {@link #resetStats}, over all workers */
    long bytesWritten() {
        return totalBytesWritten() - bytesWrittenAtReset;
    }

    private long totalBytesRead() {
        long sum = 0;
        for (final Worker w : workers) {
            sum += w.bytesRead();
        }
        return sum;
    }

    private long totalBytesWritten() {
        long sum = 0;
        for (final Worker w : workers) {
            sum += w.bytesWritten();
        }
        return sum;
    }

    /**
     * memcached's {@code stats reset}: the store's counters (every process's), and this server's
     * connection, byte and refusal counts. Current figures (connections open, items, bytes held) stay.
     */
    void resetStats() {
        store.resetStats();
        totalConnections.set(0);
        rejectedConnections.set(0);
        storeTooLarge.reset();
        storeNoMemory.reset();
        connYields.reset();
        idleKicks.reset();
        crawler.reset();
        prefixStats.clear();
        bytesReadAtReset = totalBytesRead();
        bytesWrittenAtReset = totalBytesWritten();
    }

    boolean closed() {
        return closed;
    }
}
