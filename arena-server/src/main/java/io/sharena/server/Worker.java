package io.sharena.server;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFaultException;
import io.sharena.ipc.store.StoreReader;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One selector thread and the connections it owns. Connections never move between workers, so a
 * connection's buffers and state are touched by one thread only. The worker's {@link StoreReader},
 * tokenizer and scratch arrays are shared by its connections, one command at a time.
 */
final class Worker {
    private static final int IO_BYTES = 128 << 10;

    final MemcachedServer server;
    final StoreReader reader;
    /** The keys of a multi-key get whose look-ups start together (the store's batch, 16): ranges of the input line. */
    final int[] prefetchOffsets = new int[16];
    final int[] prefetchLengths = new int[16];
    /** Values up to this length have a spare array per length; a longer one, one spare in all. */
    static final int POOLED_VALUE_MAX = 1024;

    /** One key array per length, reused by gets on this thread (the store API takes keys as whole arrays). */
    private final byte[][] keys = new byte[TextCommands.KEY_MAX + 1][];
    /**
     * Arrays for the key and value of a storage command while its data block arrives: taken by a
     * connection, given back once the store call is done (or its connection closes mid-block), so
     * that a set allocates nothing. At most one spare array per length up to
     * {@value #POOLED_VALUE_MAX} (512 KiB if every length was used) and one larger one, of at most
     * the store's max item size (a power of two's length goes with the growing arrays below).
     */
    private final byte[][] spareKeys = new byte[TextCommands.KEY_MAX + 1][];
    private final byte[][] spareValues = new byte[POOLED_VALUE_MAX + 1][];
    private byte[] spareLarge;
    /**
     * Arrays a large value on the heap grows through as it arrives ({@link Connection#roomInValue}):
     * powers of two from {@link Connection#VALUE_GROW_FROM} up, below the value's length, up to
     * {@value #GROWING_PER_SIZE} of each and {@value #GROWING_KEPT_BYTES} bytes in all, given back
     * when the value is stored or its connection closes mid-block. Without them a client that
     * declared large values and hung up partway, over and over on new connections, had each
     * connection allocate and drop its arrays: the young collections promoted the ones in flight,
     * the old generation grew to the heap's limit (1.1 GB of RSS that stayed), the workers spent
     * their time in the collector, and connections piled up to the limit, every other client refused.
     */
    private final byte[][][] growing = new byte[32][GROWING_PER_SIZE][];
    private final int[] growingCount = new int[32];
    private long growingBytes;
    private static final int GROWING_PER_SIZE = 64;
    static final long GROWING_KEPT_BYTES = 16L << 20;
    /**
     * The one buffer this thread's socket reads and writes go through: a direct buffer, so the JDK
     * neither wraps the connection's arrays nor copies them into a temporary direct buffer per call.
     */
    final ByteBuffer io = ByteBuffer.allocateDirect(IO_BYTES);
    /**
     * Spare buffers of idle connections: a connection holds input and output buffers only while
     * it has bytes in them, so thousands of idle ones cost no buffer each, and a busy one takes
     * and gives back the same few (at most {@value #SPARE_BUFFERS} of each kept here).
     */
    private static final int SPARE_BUFFERS = 64;
    private final byte[][] spareInputs = new byte[SPARE_BUFFERS][];
    private int spareInputCount;
    private final byte[][] spareOutputs = new byte[SPARE_BUFFERS][];
    private int spareOutputCount;
    /** One drained output buffer larger than {@link Connection#OUT_INITIAL}, for the next connection whose queue grows. */
    private byte[] spareGrown;
    /** The two buffers of a gathering write (queued replies, then a value in place). */
    final ByteBuffer[] pair = new ByteBuffer[2];
    /** The two buffers of a scattering read: the rest of a value in place, then the input after it. */
    final ByteBuffer[] scatter = new ByteBuffer[2];
    final Tokens tokens = new Tokens();
    final long[] number = new long[1];
    /** The CAS of the item a meta store wrote. */
    final long[] casOut = new long[1];
    /** ma's answer: the new value, the item's CAS, its expiry. */
    final long[] counter = new long[3];
    final MetaFlags meta = new MetaFlags();
    private final Selector selector;
    /** The select action, made once: a method reference per select would be an object per wake-up. */
    private final java.util.function.Consumer<SelectionKey> dispatcher = this::dispatch;
    private final Thread thread;
    private final Queue<SocketChannel> adopted = new ConcurrentLinkedQueue<>();
    /**
     * Connections waiting for the rest of a value they read straight into the store: a reservation
     * is held while the value keeps arriving, but no longer than {@link #HOLD_NANOS} without a byte
     * nor {@link #HOLD_MAX_NANOS} in all (the ring's tail would wait for it, and every writer with
     * it); then what came moves to the heap ({@link Connection#spill}). A spill costs ring space
     * (the given-up record is passed over, and the value is written again), so a client sending a
     * large value steadily keeps its reservation however many readiness events the value takes.
     */
    private final java.util.ArrayDeque<Connection> holders = new java.util.ArrayDeque<>();
    /**
     * Connections that ran their {@link ServerOptions#requestsPerEvent()} commands with more input
     * left: they go on after the worker has looked at its other connections (a select that does not
     * wait), since no readiness event will come for input already read.
     */
    private final java.util.ArrayDeque<Connection> yielded = new java.util.ArrayDeque<>();
    static final long HOLD_NANOS = 10_000_000;
    static final long HOLD_MAX_NANOS = 100_000_000;
    private volatile boolean stopping;
    /** Cleared as the thread ends, whether by {@link #shutdown} or by a failure it could not survive. */
    private volatile boolean running = true;
    /**
     * Tests only: run as each adopted connection is registered, so that a test can make that step
     * fail (as an {@link OutOfMemoryError} would). Null in service: one field read per connection.
     */
    volatile Runnable adoptPause;
    /** Set by the server's clock thread once a second: look for stalled connections at the next wake-up. */
    private volatile boolean sweepDue;
    /**
     * Bytes this worker's connections read and wrote, for {@code stats}. Only this thread writes
     * them (opaque stores, plain reads of its own writes); a stats command on another worker reads
     * them opaque: a whole, recent value, with no atomic instruction per socket call.
     */
    private long bytesRead;
    private long bytesWritten;
    private static final VarHandle BYTES_READ;
    private static final VarHandle BYTES_WRITTEN;

    static {
        try {
            final MethodHandles.Lookup l = MethodHandles.lookup();
            BYTES_READ = l.findVarHandle(Worker.class, "bytesRead", long.class);
            BYTES_WRITTEN = l.findVarHandle(Worker.class, "bytesWritten", long.class);
        } catch (final ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    Worker(final MemcachedServer server, final int index) throws IOException {
        this.server = server;
        this.reader = server.store().reader();
        this.selector = Selector.open();
        this.thread = Thread.ofPlatform().name("memcached-worker-" + index).unstarted(this::run);
    }

    /** Counts bytes a connection of this worker read: this worker's thread only. */
    void countRead(final long n) {
        BYTES_READ.setOpaque(this, bytesRead + n);
    }

    /** Counts bytes a connection of this worker wrote: this worker's thread only. */
    void countWritten(final long n) {
        BYTES_WRITTEN.setOpaque(this, bytesWritten + n);
    }

    /** @return bytes read by this worker's connections so far; any thread */
    long bytesRead() {
        return (long) BYTES_READ.getOpaque(this);
    }

    /** @return bytes written by this worker's connections so far; any thread */
    long bytesWritten() {
        return (long) BYTES_WRITTEN.getOpaque(this);
    }

    void start() {
        thread.start();
    }

    void join() throws InterruptedException {
        thread.join();
    }

    void join(final long millis) throws InterruptedException {
        thread.join(millis);
    }

    /**
     * Hands {@code ch} to this worker.
     *
     * @return false if the worker has stopped (it died): {@code ch} is not taken, the caller keeps it
     */
    boolean adopt(final SocketChannel ch) {
        adopted.add(ch);
        // The worker's last act is to drain the queue (after clearing running): a channel added
        // after that drain is taken back here, so none is left in a queue nobody reads. A channel
        // the drain took first was closed and counted out there.
        if (!running && adopted.remove(ch)) {
            return false;
        }
        selector.wakeup();
        return true;
    }

    /** @return whether the worker's thread still serves (false once it stopped, by close or by failure) */
    boolean running() {
        return running;
    }

    /**
     * Asks for a sweep at the next wake-up, and wakes the selector for it: the server's clock
     * thread does so once a second, so that the event loop itself waits with no timeout and reads
     * no clock per wake-up.
     */
    void sweepSoon() {
        sweepDue = true;
        selector.wakeup();
    }

    void shutdown() {
        stopping = true;
        selector.wakeup();
    }

    private void run() {
        server.store().onTailWait(this::spillHolders);
        try {
            while (!stopping) {
                // The action form: no selected-key set to fill, iterate and clear on every wake-up.
                // No timeout: a timed select reads the clock on every call (the JDK's, to resume
                // after an interrupt, and the kernel's, to arm the timer); the sweep's wake-up
                // comes from the server's clock thread instead. Only while a connection holds a
                // reservation for a value still arriving does the worker wake up every millisecond.
                try {
                    if (!yielded.isEmpty()) {
                        selector.selectNow(dispatcher);
                        resumeYielded();
                    } else if (holders.isEmpty()) {
                        selector.select(dispatcher);
                    } else {
                        selector.select(dispatcher, 1);
                    }
                    if (!holders.isEmpty()) {
                        expireHolds();
                    }
                    registerAdopted();
                    if (sweepDue) {
                        sweepDue = false;
                        sweep(System.currentTimeMillis());
                    }
                } catch (final InternalError e) {
                    // A cut store file met outside a command: reported, and the worker goes on.
                    report("", faultOf(e, "serve"));
                } catch (final RuntimeException e) {
                    // A corrupted store met outside a command (a hold expired, a sweep): the same.
                    report("", e);
                } catch (final OutOfMemoryError | StackOverflowError e) {
                    // Each step closes the connection it failed for; one that escaped is reported
                    // and the worker goes on: its connections are served by no other thread.
                    report("out of memory or stack outside a command: ", e);
                }
            }
        } catch (final IOException e) {
            System.err.println("arena serve: worker " + thread.getName() + " stopped: " + e);
        } catch (final RuntimeException | Error e) {
            // A failure no step could survive (an error of the JVM's own, a bug in the loop):
            // said, and the worker stops; the acceptor gives it no more connections, and once
            // every worker is gone the server says so (awaitClose).
            System.err.println("arena serve: worker " + thread.getName() + " died: " + e);
        } finally {
            running = false;
            for (final SelectionKey key : selector.keys()) {
                ((Connection) key.attachment()).close();
            }
            SocketChannel ch;
            while ((ch = adopted.poll()) != null) {
                closeQuietly(ch);
                server.currConnections.decrementAndGet();
            }
            try {
                selector.close();
            } catch (final IOException e) {
                // closing anyway
            }
        }
    }

    private void dispatch(final SelectionKey key) {
        run((Connection) key.attachment(), key.readyOps());
    }

    /** Called by a connection that stopped at its commands' share with input left. */
    void yielded(final Connection c) {
        yielded.add(c);
        server.connYields.increment();
    }

    /** Gives every connection that yielded before this call its next turn (those yielding again wait for the next). */
    private void resumeYielded() {
        for (int n = yielded.size(); n > 0; n--) {
            final Connection c = yielded.poll();
            if (c.resume()) {
                run(c, 0);
            }
        }
    }

    private void run(final Connection c, final int readyOps) {
        try {
            c.ready(readyOps);
            if (!holders.isEmpty()) {
                // Within a long round of ready connections too: a reservation is not held past
                // its time while the worker serves the others.
                expireHolds();
            }
        } catch (final IOException | CancelledKeyException e) {
            c.close();
        } catch (final ArenaCorruptedException e) {
            // A damaged store met by this connection's command: it is told so and ends, the others go on.
            failed(c, e, "store corrupted (check --repair mends it): ");
        } catch (final InternalError e) {
            // The store file cut short under the mapping by another process: the same, each
            // command that meets the cut told so, until the file is restored.
            failed(c, faultOf(e, "serve"), "store file fault: ");
        } catch (final Connection.BufferLimitException e) {
            server.buffersRefused.increment();
            try {
                c.failedOutOfMemory();
            } catch (final IOException | RuntimeException again) {
                c.close();
            }
        } catch (final RuntimeException e) {
            // A bug: this connection ends, the others go on.
            reportOnce(e);
            c.close();
        } catch (final OutOfMemoryError | StackOverflowError e) {
            // The heap ran out all the same (the bound counts only connections' buffers), or a
            // command recursed too deep: this connection's go with it, and the worker lives on to
            // serve the others.
            c.close();
            report("a connection was closed: ", e);
        }
    }

    private void failed(final Connection c, final RuntimeException e, final String what) {
        // The store's own damage or fault: its message says what, the class name adds nothing.
        report("a connection was closed: " + what, e.getMessage());
        try {
            c.failed(what + e.getMessage());
        } catch (final IOException | RuntimeException | InternalError again) {
            c.close();
        }
    }

    /** @return the fault {@code e} reports on the store's mapping (any other error is rethrown) */
    private ArenaFaultException faultOf(final InternalError e, final String operation) {
        return ArenaFaultException.of(server.store().arena(), operation, e);
    }

    /** Called by a connection that still holds a reservation when its readiness event ends. */
    void holding(final Connection c) {
        holders.add(c);
    }

    /**
     * Run when a write of this thread waits on a reserved record at the store ring's tail: every
     * reservation held here is this worker's, and none of them can end while it waits (with one
     * worker, the write would answer NO_MEMORY after the store's lock timeout). What came of each
     * value moves to the heap.
     */
    private void spillHolders() {
        for (final Connection c : holders) {
            c.spillNow();
        }
        holders.clear();
    }

    private void expireHolds() {
        final long now = System.nanoTime();
        for (final java.util.Iterator<Connection> it = holders.iterator(); it.hasNext(); ) {
            final Connection c = it.next();
            try {
                if (c.spillIfHeldSince(now)) {
                    it.remove();
                }
            } catch (final OutOfMemoryError e) {
                // No heap for what came of its value: that connection ends (its reservation given
                // up by the close), the other holders and connections go on.
                it.remove();
                c.close();
                report("a connection was closed: ", e);
            }
        }
    }

    private void registerAdopted() {
        SocketChannel ch;
        while ((ch = adopted.poll()) != null) {
            Connection c = null;
            boolean registered = false;
            try {
                ch.configureBlocking(false);
                if (ch.getLocalAddress() instanceof java.net.InetSocketAddress) {
                    // TCP only. Keepalive as memcached sets it: a client whose host vanished is
                    // found by the kernel's probes and its slot freed, where without them it is
                    // held until the server stops (no idle timeout by default).
                    ch.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
                    ch.setOption(java.net.StandardSocketOptions.SO_KEEPALIVE, true);
                }
                final Runnable pause = adoptPause;
                if (pause != null) {
                    pause.run(); // tests only
                }
                c = new Connection(this, ch);
                c.register(ch.register(selector, SelectionKey.OP_READ, c));
                registered = true;
                server.open.add(c);
            } catch (final IOException | OutOfMemoryError e) {
                // No heap for the connection (or the client went first): that one is closed, and
                // the worker goes on with the rest of the queue.
                drop(ch, registered ? c : null);
                if (e instanceof OutOfMemoryError oom) {
                    report("a new connection was closed: ", oom);
                }
            } catch (final RuntimeException | Error e) {
                drop(ch, registered ? c : null); // not left open with no one to serve it
                throw e;
            }
        }
    }

    /** Closes an adopted channel that did not become a served connection ({@code c}: the one it became, if registered). */
    private void drop(final SocketChannel ch, final Connection c) {
        if (c != null) {
            c.close(); // its key, its count and its entry in the open set
        } else {
            closeQuietly(ch);
            server.currConnections.decrementAndGet();
        }
    }

    /**
     * Closes connections whose queued replies have not moved for the write timeout, those whose
     * client stopped sending halfway through a command for as long (what they hold for it is
     * counted out), and those waiting for a command for longer than the idle timeout, if there is one.
     */
    private void sweep(final long now) {
        final long timeout = server.options().writeTimeoutMillis();
        final int idleTimeout = server.options().idleTimeoutSeconds();
        final long seconds = server.nowSeconds();
        for (final SelectionKey key : selector.keys()) {
            final Connection c = (Connection) key.attachment();
            if (c.stalledSince(now) > timeout || c.stalledMidCommand(seconds) * 1000 > timeout) {
                c.close();
            } else if (idleTimeout > 0 && c.idleFor(seconds) > idleTimeout) {
                server.idleKicks.increment();
                c.close();
            }
        }
    }

    private long reported;

    /** One line on stderr per failure kind and worker, so a failing store cannot flood the log. */
    private void reportOnce(final RuntimeException e) {
        server.unexpectedFailures.increment();
        report("a connection was closed after an unexpected failure: ", e);
    }

    /**
     * Prints {@code what} and {@code e} on stderr, for the first ten failures of this worker. The
     * line is built on the heap: with none left for it, the failure goes unsaid rather than ending
     * the worker from its own handler.
     */
    private void report(final String what, final Object e) {
        if (reported++ < 10) {
            try {
                System.err.println("arena serve: " + what + e);
            } catch (final OutOfMemoryError again) {
                // unsaid
            }
        }
    }

    private static void closeQuietly(final SocketChannel ch) {
        try {
            ch.close();
        } catch (final IOException e) {
            // nothing left to do
        }
    }

    /** @return {@code in[from, from + len)} in this thread's array of that length, valid until the next call */
    byte[] key(final byte[] in, final int from, final int len) {
        byte[] k = keys[len];
        if (k == null) {
            k = new byte[len];
            keys[len] = k;
        }
        System.arraycopy(in, from, k, 0, len);
        return k;
    }

    /** @return {@code in[from, from + len)} in an array the caller owns until {@link #giveBackKey} */
    byte[] takeKey(final byte[] in, final int from, final int len) {
        byte[] k = spareKeys[len];
        if (k == null) {
            k = new byte[len];
        } else {
            spareKeys[len] = null;
        }
        System.arraycopy(in, from, k, 0, len);
        return k;
    }

    /** @return an input buffer of {@link Connection#READ_CHUNK} bytes (contents undefined) for a connection that reads */
    byte[] takeInput() {
        return spareInputCount > 0 ? spareInputs[--spareInputCount] : new byte[Connection.READ_CHUNK];
    }

    /** Keeps an idle connection's input buffer for the next connection that reads (or drops it). */
    void giveBackInput(final byte[] b) {
        if (spareInputCount < SPARE_BUFFERS) {
            spareInputs[spareInputCount++] = b;
        }
    }

    /** @return an output buffer of {@link Connection#OUT_INITIAL} bytes (contents undefined) for a connection that replies */
    byte[] takeOutput() {
        return spareOutputCount > 0 ? spareOutputs[--spareOutputCount] : new byte[Connection.OUT_INITIAL];
    }

    /**
     * @return the spare grown output buffer (contents undefined) if it holds {@code n} bytes, for a
     * connection whose queue grows; null otherwise
     */
    byte[] takeGrownOutput(final int n) {
        final byte[] b = spareGrown;
        if (b == null || b.length < n) {
            return null;
        }
        spareGrown = null;
        return b;
    }

    /**
     * Keeps a drained grown output buffer as the spare (the larger of the two, up to
     * {@link Connection#OUT_KEEP}), or drops it: a worker holds one such buffer at most, outside the
     * connections' bound, where each connection used to keep its own.
     */
    void giveBackGrownOutput(final byte[] b) {
        if (b.length <= Connection.OUT_KEEP && (spareGrown == null || spareGrown.length < b.length)) {
            spareGrown = b;
        }
    }

    /** Keeps a drained connection's output buffer for the next connection that replies (or drops it). */
    void giveBackOutput(final byte[] b) {
        if (spareOutputCount < SPARE_BUFFERS) {
            spareOutputs[spareOutputCount++] = b;
        }
    }

    void giveBackKey(final byte[] k) {
        spareKeys[k.length] = k;
    }

    /** @return an array of exactly {@code len} bytes (contents undefined) the caller owns until {@link #giveBackValue} */
    byte[] takeValue(final int len) {
        if (growingSize(len)) {
            return takeGrowing(len);
        }
        final byte[] v;
        if (len <= POOLED_VALUE_MAX) {
            v = spareValues[len];
            spareValues[len] = null;
        } else {
            v = spareLarge != null && spareLarge.length == len ? spareLarge : null;
            if (v != null) {
                spareLarge = null;
            }
        }
        if (v == null && len > POOLED_VALUE_MAX) {
            server.valueBytesAllocated.add(len);
        }
        return v != null ? v : new byte[len];
    }

    /** @return whether {@link #takeValue} has a spare array of exactly {@code len} bytes */
    boolean hasSpareValue(final int len) {
        if (growingSize(len)) {
            return growingCount[Integer.numberOfTrailingZeros(len)] > 0;
        }
        return len <= POOLED_VALUE_MAX ? spareValues[len] != null : spareLarge != null && spareLarge.length == len;
    }

    void giveBackValue(final byte[] v) {
        if (v.length <= POOLED_VALUE_MAX) {
            spareValues[v.length] = v;
        } else if (!giveBackGrowing(v)) {
            spareLarge = v;
        }
    }

    /**
     * @return an array of {@code size} bytes (a power of two of at least {@link Connection#VALUE_GROW_FROM};
     * contents undefined) the caller owns until it gives it back ({@link #giveBackValue})
     */
    byte[] takeGrowing(final int size) {
        final int shift = Integer.numberOfTrailingZeros(size);
        if (growingCount[shift] > 0) {
            final byte[] b = growing[shift][--growingCount[shift]];
            growing[shift][growingCount[shift]] = null;
            growingBytes -= b.length;
            return b;
        }
        server.valueBytesAllocated.add(size);
        return new byte[size];
    }

    /** @return whether {@code len} is a size of the growing arrays: a power of two of at least {@link Connection#VALUE_GROW_FROM} */
    private static boolean growingSize(final int len) {
        return len >= Connection.VALUE_GROW_FROM && Integer.bitCount(len) == 1;
    }

    /**
     * @return whether {@code v} is of a growing array's size: then kept with them, or, when they
     * are full, left to the collector
     */
    private boolean giveBackGrowing(final byte[] v) {
        if (!growingSize(v.length)) {
            return false;
        }
        final int shift = Integer.numberOfTrailingZeros(v.length);
        if (growingCount[shift] < GROWING_PER_SIZE && growingBytes + v.length <= GROWING_KEPT_BYTES) {
            growing[shift][growingCount[shift]++] = v;
            growingBytes += v.length;
        }
        return true;
    }
}
