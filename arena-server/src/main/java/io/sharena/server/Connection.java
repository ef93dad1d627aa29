package io.sharena.server;

import io.sharena.ipc.store.StoreReader;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One client connection: its input and output buffers and where it is in the protocol. Owned by
 * one {@link Worker} thread.
 *
 * <p>Bounds: input is read 16 KiB at a time, into a buffer the connection holds only while it has
 * input (the worker keeps spares; so for its output); a line with no newline after 2,048 bytes closes the
 * connection unless it is a {@code get}/{@code gets} (memcached's rule), and those are answered a
 * whole key at a time as they arrive ({@link #openGetLine}), up to {@link ServerOptions#maxGetLine()}.
 * A value being stored is read into an array of its declared
 * length (at most the store's max item size: longer ones are swallowed, not stored), borrowed from
 * the worker ({@link Worker#takeValue}), or, past {@link #VALUE_GROW_FROM} bytes, into one grown as
 * the value arrives; a text set, add, replace or cas of {@link #IN_PLACE_MIN}
 * bytes or more is read straight into its item, reserved in the store, instead. Replies queue
 * in one growable array, and what the socket does not take of a large value stays in the store's
 * mapping ({@link #sendInPlace}); beyond {@link ServerOptions#outputHighWater()} the connection is not read
 * (nor its {@code get} continued) until they drain, and replies that do not move for
 * {@link ServerOptions#writeTimeoutMillis()} close it.
 */
final class Connection {
    static final int READ_CHUNK = 16 << 10;
    /** memcached's limit for a line without a newline before it hangs up (unless get/gets). */
    static final int NO_NEWLINE_LIMIT = 2048;
    /**
     * How much of an open get line is kept while its replies wait for a client that writes the
     * whole line before it reads (the bound a get line had when it was kept whole; memcached has none).
     */
    static final int GET_LINE_KEPT = 2 << 20;
    /**
     * Values at least this long go to the socket from the store's mapping when nothing is queued
     * before them, and come from the socket straight into it ({@link #beginData}).
     */
    static final int IN_PLACE_MIN = 16 << 10;
    static final int OUT_INITIAL = 4 << 10;
    /** Values on the heap longer than this start at this many bytes and grow as they arrive ({@link #heapValue}). */
    static final int VALUE_GROW_FROM = 16 << 10;
    /** The largest drained output buffer a worker keeps as its spare ({@link Worker#giveBackGrownOutput}). */
    static final int OUT_KEEP = 1 << 20;
    /** An idle connection's input and output: it holds no buffer (the worker keeps spares). */
    private static final byte[] NO_BYTES = new byte[0];

    enum State { LINE, DATA, SWALLOW, GET, DUMP, CLOSING, BINARY }

    final Worker worker;
    final SocketChannel ch;
    private SelectionKey key;
    /** The interest set last given to the key: it changes rarely, and setting it is an atomic swap. */
    private int interest = SelectionKey.OP_READ;
    private final int highWater;

    /** Input read and not yet run; {@link #NO_BYTES} while the connection waits with nothing in it. */
    byte[] in = NO_BYTES;
    int inPos;
    int inLim;
    /** Where the search for the current line's newline goes on: the bytes before it hold none. */
    private int scannedTo;

    /** Replies not yet written; {@link #NO_BYTES} while none are queued. */
    private byte[] out = NO_BYTES;
    private int outPos;
    private int outLim;
    /** Absolute stream position of out[0]: positions survive compaction. */
    private long outBase;
    private long lastProgressMillis;
    /** Whether replies were left queued by the last write: {@link #lastProgressMillis} then counts. */
    private boolean waiting;
    /**
     * The rest of a large value that the socket did not take ({@link #sendInPlace}), sent from the
     * store's mapping as the socket drains, with no copy to the heap: the store keeps the item's
     * bytes until its ring's tail passes them or a write is placed in their space once the item is
     * replaced, and each write is validated by {@link #mappedMark} and {@link #mappedCas}.
     * While it is set, nothing else is queued or run.
     */
    private ByteBuffer mapped;
    private long mappedMark;
    private long mappedCas;
    /** Whether a CR LF follows the value in {@link #mapped} (a binary reply has none). */
    private boolean mappedCrlf;

    State state = State.LINE;
    /**
     * Whether the connection's first byte was read: as memcached does, a first byte of
     * {@link BinaryCommands#REQUEST_MAGIC} makes it a binary protocol connection for good.
     */
    private boolean negotiated;
    /** A binary protocol connection ({@link BinaryCommands}). */
    boolean binary;
    /** The opcode and opaque of the binary request being run: {@link #failed} answers it. */
    int binaryOp;
    int binaryOpaque;
    private boolean closed;
    /** The client's end of stream was read: what it sent is run and answered, then the connection closes. */
    private boolean inputEnded;
    /** Commands begun in this turn, against {@link ServerOptions#requestsPerEvent()}. */
    private int commandsThisTurn;
    private final int requestsPerEvent;
    /**
     * Keys a multi-key get may answer, and keys (or buckets) a dump may list, per turn, for each
     * command of {@link ServerOptions#requestsPerEvent()}: about 50 µs of work each.
     */
    static final int KEYS_PER_REQUEST = 50;
    /** Keys of long commands (multi-key gets, dumps) looked at in this turn, against {@link #keysPerTurn}. */
    private int keysThisTurn;
    private final int keysPerTurn;
    /** In the worker's list of connections that gave up their turn with input left. */
    private boolean yielding;
    /** When the last command began, in the server's coarse Unix seconds (for the idle timeout). */
    private long lastCommandSeconds;
    /** When a read last brought bytes, in the server's coarse Unix seconds (for {@link #stalledMidCommand}). */
    private long lastInputSeconds;

    /** The current command's noreply (text protocol) or q flag (meta): nominal replies are not sent. */
    boolean noreply;

    // A storage command waiting for its data block.
    final PendingStore pending = new PendingStore();
    private int tailSeen;
    /** In the worker's list of connections holding a reservation ({@link Worker#holding}). */
    private boolean holding;
    private final byte[] tail = new byte[2];
    private long swallowLeft;
    /** The reply to the request being swallowed, sent once it is ({@link #beginSwallowThenReply}); null if none waits. */
    private byte[] heldReply;
    /** Whether {@link #heldReply} is a flush point once queued. */
    private boolean heldReplySent;
    /**
     * Heap bytes this connection holds beyond its first buffers (a grown input or output buffer, a
     * value on its way to the store), counted in {@link MemcachedServer#connectionHeap}.
     */
    private long heapCharged;

    // A metadump ({@link LruCrawler#continueDump}) or cachedump ({@link StatsReply#continueCachedump}) in
    // progress: the next bucket, and a list for its keys; a cachedump's limit, lines and bytes so far.
    int dumpBucket;
    java.util.List<byte[]> dumpKeys;
    boolean dumpCache;
    /** Whether this connection's metadump holds the server's crawler ({@link LruCrawler#beginDump}). */
    private boolean holdsCrawler;
    long dumpLimit;
    long dumpListed;
    int dumpBytes;

    // A get in progress: keys from getPos to getEnd of the input buffer.
    int getPos;
    int getEnd;
    /**
     * The get in progress is a long line whose newline has not come ({@link #openGetLine}): its
     * keys are answered as they arrive, a whole key at a time, and the input holds only the one
     * still arriving, so a line of any length costs one input buffer (more, up to
     * {@link #GET_LINE_KEPT}, only while its replies wait for the client to read).
     */
    boolean getOpen;
    /** Bytes of the open get line consumed so far, against {@link ServerOptions#maxGetLine()}. */
    private long getLineBytes;
    /** The rest of the current line, up to its newline, is dropped (it ended early: a NUL byte, a refused key). */
    boolean discardingLine;
    boolean getCas;
    boolean getTouch;
    long getExptime;
    long getMark;
    /** Where the keys whose look-ups were started together ({@code StoreReader.prefetch}) end. */
    int prefetchedTo;
    /**
     * Where in {@link #in} the pipelined get lines whose look-ups were started together end
     * ({@code TextCommands.prefetchLines}); a hint's bookkeeping only: a stale value costs a
     * look-ahead or skips one, and changes no reply.
     */
    int linesPrefetchedTo;

    /** This connection's number in {@code stats conns} (memcached shows its fd there). */
    final long id;
    /** The client's address as {@code stats conns} shows it: {@code tcp:IP:PORT}. */
    final String peer;

    Connection(final Worker worker, final SocketChannel ch) {
        this.worker = worker;
        this.ch = ch;
        this.id = worker.server.nextConnectionId();
        String remote;
        try {
            remote = MemcachedServer.describe(ch.getRemoteAddress());
        } catch (final IOException e) {
            remote = "tcp:unknown";
        }
        // A UNIX domain client has no name of its own: memcached shows the socket's path.
        this.peer = remote.equals("unix:") ? worker.server.listenAddress() : remote;
        this.highWater = worker.server.options().outputHighWater();
        this.requestsPerEvent = worker.server.options().requestsPerEvent();
        this.keysPerTurn = requestsPerEvent * KEYS_PER_REQUEST;
        this.lastCommandSeconds = worker.server.nowSeconds();
        this.lastInputSeconds = lastCommandSeconds;
    }

    void register(final SelectionKey k) {
        this.key = k;
    }

    // ------------------------------------------------------------------ events

    void ready(final int ops) throws IOException {
        commandsThisTurn = 0;
        keysThisTurn = 0;
        if ((ops & SelectionKey.OP_WRITE) != 0) {
            flush();
        }
        final boolean readable = (ops & SelectionKey.OP_READ) != 0;
        // A value's data block that was already arriving when this turn began: its read above
        // drained the socket, and another would most likely find nothing.
        final boolean valueWasArriving = state == State.DATA;
        for (int turn = 0; turn < 2; turn++) {
            if (readable && wantsRead()) {
                final int n = read();
                if (n > 0) {
                    lastInputSeconds = worker.server.nowSeconds();
                } else if (n < 0) {
                    // The client has sent all it will (it may have shut down only its sending side and
                    // still read): the commands it sent are answered in full, as memcached does, and the
                    // connection closes once nothing is left to run and every reply is written.
                    inputEnded = true;
                }
            }
            // A get paused at the output bound goes on as soon as its output drained, even if it
            // drained completely within this call (no write event would come for it), until the
            // turn's share is spent (a client that reads as fast as a long get is answered would
            // otherwise keep the worker here to its end).
            boolean bounded;
            do {
                process();
                bounded = outputFull();
                flush();
            } while (bounded && !closed && !yielding && !outputFull());
            if (!readable || valueWasArriving || !awaitsValueInPlace()) {
                break;
            }
            // This read brought a large value's line and the start of its data block, which went
            // into the item: the rest is most likely in the socket already, and reading it now, as
            // memcached reads an item's data right after its line, saves a return to the selector.
        }
        if (inputEnded && getOpen && state != State.GET && !closed) {
            // The client ended its sending inside a get line: the line never comes whole, and
            // memcached answers none of it (its held replies are dropped), but sends the replies
            // before it.
            getOpen = false;
            hangUpAfter(getMark);
            return;
        }
        if (inputEnded && !closed && !outputQueued() && !yielding && state != State.GET && state != State.DUMP) {
            // Nothing more can come: a line without its newline or a data block cut short stays so.
            close();
            return;
        }
        if (pending.inPlace != null && !closed && !holding) {
            holding = true;
            worker.holding(this);
        }
        if (!closed) {
            final int want = (wantsRead() ? SelectionKey.OP_READ : 0)
                | (outputQueued() && (!holdsReplies() || getMark > outBase + outPos) ? SelectionKey.OP_WRITE : 0);
            if (want != interest) {
                interest = want;
                key.interestOps(want);
            }
            releaseIdleBuffers();
        }
    }

    /**
     * A connection waiting for its next command with nothing read or queued gives its buffers to
     * the worker: an idle connection costs no buffer, as memcached's give theirs back.
     */
    private void releaseIdleBuffers() {
        if (inPos == inLim && in.length == READ_CHUNK && (state == State.LINE || state == State.BINARY) && !yielding) {
            worker.giveBackInput(in);
            in = NO_BYTES;
            inPos = 0;
            inLim = 0;
            scannedTo = 0;
            linesPrefetchedTo = 0;
        }
        if (outPos == outLim && out.length == OUT_INITIAL && mapped == null) {
            worker.giveBackOutput(out);
            out = NO_BYTES;
            outBase += outLim;
            outPos = 0;
            outLim = 0;
        }
    }

    /** @return whether replies are queued: in the output array, or a value's rest in the mapping */
    private boolean outputQueued() {
        return outLim > outPos || mapped != null;
    }

    /** @return whether no more commands run until the output drains (past its bound, or a value's rest in the mapping) */
    private boolean outputFull() {
        return mapped != null || outLim - outPos >= highWater;
    }

    /**
     * @return whether the replies queued wait for the rest of a get line, one whose newline has not
     * come ({@link #openGetLine}) or whose keys take more than a turn, while under the output bound:
     * a key over 250 bytes further on drops them, as memcached drops a line's values then, which it
     * can only while none has gone out
     */
    private boolean holdsReplies() {
        return (getOpen && state != State.CLOSING || state == State.GET) && mapped == null && !outputFull();
    }

    /** @return whether all input is consumed and the value read into its item in place is not whole yet */
    private boolean awaitsValueInPlace() {
        return !closed && !inputEnded && state == State.DATA && pending.inPlace != null && inPos == inLim
            && pending.filled < pending.length;
    }

    /** @return whether this yielded connection is still open for its next turn ({@link Worker#yielded}) */
    boolean resume() {
        yielding = false;
        return !closed;
    }

    /**
     * @return seconds this connection has waited for a command by {@code nowSeconds}, or 0 while it
     * is busy: a command's data arriving, a get going on, replies waiting to be written (memcached
     * times out only a connection waiting for a command)
     */
    long idleFor(final long nowSeconds) {
        return (state == State.LINE || state == State.BINARY) && !outputQueued() && !closed && !getOpen && !discardingLine
            ? nowSeconds - lastCommandSeconds : 0;
    }

    /**
     * @return seconds this connection has waited, by {@code nowSeconds}, for the rest of a command
     * its client began (a data block, a value being swallowed, a line without its newline) with no
     * byte coming, or 0 when it is not waiting for one (memcached waits for ever, with the
     * command's buffers held: a client that stops halfway through a 1 MiB set held its megabyte,
     * counted against the connections' bound, until it went)
     */
    long stalledMidCommand(final long nowSeconds) {
        final boolean midCommand = state == State.DATA || state == State.SWALLOW
            || (state == State.LINE || state == State.BINARY) && (inLim > inPos || getOpen || discardingLine);
        return midCommand && !closed && !yielding && wantsRead() ? nowSeconds - lastInputSeconds : 0;
    }

    private boolean wantsRead() {
        if (inputEnded || state == State.DUMP || state == State.CLOSING) {
            return false;
        }
        if (getOpen && (state == State.GET || outputFull())) {
            // The rest of an open get line is read while its replies wait for the client (one that
            // sends a whole line before it reads would wait on the server), and kept, up to
            // GET_LINE_KEPT: the buffer has room, or space to compact, or may still grow.
            return inLim < in.length || keptFrom() > 0 || in.length < GET_LINE_KEPT;
        }
        return state != State.GET && !outputFull();
    }

    /** @return where the input still needed begins: a get's unanswered keys, else the next command */
    private int keptFrom() {
        return state == State.GET ? Math.min(getPos, inPos) : inPos;
    }

    private int read() throws IOException {
        final PendingStore p = pending;
        if (state == State.DATA && inPos == inLim && p.filled < p.length) {
            final int n = readValue(p);
            if (n <= 0 || p.filled < p.length || inLim > inPos) {
                return n;
            }
            // The value is whole and nothing came after it yet: its CR LF, and maybe the next
            // commands, are most likely in the socket already; reading them now saves a return to
            // the selector. (An end of stream seen here is seen again by the next read.)
            return n + Math.max(0, readInput());
        }
        return readInput();
    }

    /** Makes the input buffer empty and of its usual size: the caller has consumed it all. */
    private void resetInput() {
        inPos = 0;
        inLim = 0;
        scannedTo = 0;
        linesPrefetchedTo = 0;
        if (in.length > READ_CHUNK) {
            charge(READ_CHUNK - in.length);
            in = NO_BYTES; // a long get line is done: give its buffer back
        }
        if (in.length == 0) {
            in = worker.takeInput();
        }
    }

    private int readInput() throws IOException {
        if (inPos == inLim && state != State.GET) {
            resetInput();
        }
        if (inLim == in.length) {
            final int from = keptFrom();
            if (from > 0) {
                System.arraycopy(in, from, in, 0, inLim - from);
                inLim -= from;
                inPos -= from;
                linesPrefetchedTo = Math.max(0, linesPrefetchedTo - from);
                scannedTo = Math.max(0, scannedTo - from);
                if (state == State.GET) {
                    getPos -= from;
                    getEnd -= from;
                    prefetchedTo = Math.max(0, prefetchedTo - from);
                }
            } else {
                // A full buffer from its first byte: the rest of an open get line whose replies
                // wait for the client to read (wantsRead), or a line read further while it waited for
                // its turn. Kept, as memcached keeps a whole line, up to GET_LINE_KEPT.
                final int grown = (int) Math.min(2L * in.length, GET_LINE_KEPT);
                if (grown <= in.length) {
                    return 0; // at the bound: read again once the replies drain
                }
                charge(grown - in.length);
                in = java.util.Arrays.copyOf(in, grown);
            }
        }
        final ByteBuffer b = worker.io;
        b.clear().limit(Math.min(b.capacity(), in.length - inLim));
        final int n = ch.read(b);
        if (n > 0) {
            b.flip().get(in, inLim, n);
            inLim += n;
            worker.countRead(n);
        }
        return n;
    }

    /**
     * The rest of a data block goes from the socket into its value, as much as the socket holds now
     * (not one input buffer per readiness event), and what follows the value in the same read (its
     * CR LF, the next commands) into the input: one system call where the block ends, as memcached
     * reads an item's data and its CR LF together. A value in place is read straight into the
     * store's mapping, the input after it by a scattering read.
     */
    private int readValue(final PendingStore p) throws IOException {
        final ByteBuffer direct = p.inPlace;
        final ByteBuffer b = worker.io;
        int total = 0;
        while (p.filled < p.length) {
            resetInput(); // the caller saw it empty
            b.clear().limit(Math.min(b.capacity(), in.length));
            final int want = p.length - p.filled;
            final int requested = b.limit() + (direct != null ? want : 0);
            final int n;
            final int intoValue;
            if (direct != null) {
                direct.limit(p.length).position(p.filled);
                final ByteBuffer[] two = worker.scatter;
                two[0] = direct;
                two[1] = b;
                n = (int) ch.read(two);
                two[0] = null;
                intoValue = direct.position() - p.filled;
                b.flip();
                if (intoValue > 0) {
                    p.progressAt = System.nanoTime();
                }
            } else {
                // Room first for what this read may bring of the value (the input buffer's worth).
                if (!roomInValue(Math.min(want, b.limit()))) {
                    return total; // refused: the block's rest is swallowed from the input
                }
                n = ch.read(b);
                intoValue = Math.min(Math.max(n, 0), want);
                b.flip().get(p.value, p.filled, intoValue);
            }
            if (n <= 0) {
                return total > 0 ? total : n;
            }
            p.filled += intoValue;
            final int after = n - intoValue;
            b.get(in, 0, after);
            inLim = after;
            total += n;
            worker.countRead(n);
            if (after > 0 || n < requested) {
                break; // the value is whole, or the socket is drained
            }
        }
        return total;
    }

    /** Runs every complete command in the input, as far as the output bound allows. */
    private void process() {
        while (!closed && !outputFull()) {
            final boolean progressed = switch (state) {
                case LINE -> line();
                case BINARY -> BinaryCommands.next(this);
                case DATA -> data();
                case SWALLOW -> swallow();
                case GET -> TextCommands.continueGet(this);
                case DUMP -> dumpCache ? StatsReply.continueCachedump(this) : LruCrawler.continueDump(this);
                case CLOSING -> false;
            };
            if (!progressed) {
                return;
            }
        }
    }

    private boolean line() {
        if (!negotiated && inPos < inLim) {
            negotiated = true;
            final ServerOptions.Protocol allowed = worker.server.options().protocol();
            if (allowed == ServerOptions.Protocol.BINARY
                || allowed == ServerOptions.Protocol.AUTO && in[inPos] == BinaryCommands.REQUEST_MAGIC) {
                // A binary-only server closes a connection that starts otherwise (BinaryCommands.next).
                binary = true;
                state = State.BINARY;
                return true;
            }
        }
        if (discardingLine) {
            final int nl = indexOf(in, (byte) '\n', inPos, inLim);
            if (nl < 0) {
                inPos = inLim;
                return false;
            }
            inPos = nl + 1;
            scannedTo = inPos;
            discardingLine = false;
        }
        if (getOpen) {
            return moreGetLine();
        }
        // The search goes on where the last one ended: a line arriving a read at a time is
        // searched once, not once per read.
        final int nl = indexOf(in, (byte) '\n', Math.max(inPos, scannedTo), inLim);
        if (nl < 0) {
            scannedTo = inLim;
            if (inLim - inPos > NO_NEWLINE_LIMIT) {
                int p = inPos;
                while (p < inLim && in[p] == ' ') {
                    p++;
                }
                if (p - inPos > 100 || !(startsWith(p, "get ") || startsWith(p, "gets "))) {
                    hangUpAfterFlushPoint(); // memcached hangs up: this cannot be a command
                    return false;
                }
                return openGetLine(p);
            }
            // Out of whole lines: memcached sends what it has queued before it reads on.
            flushPoint();
            return false;
        }
        int end = nl;
        if (nl - inPos > 1 && in[nl - 1] == '\r') {
            end = nl - 1;
        }
        // The line is a C string to memcached: it ends at a NUL byte.
        final int nul = indexOf(in, (byte) 0, inPos, end);
        if (nul >= 0) {
            end = nul;
        }
        if (!takeTurn()) {
            return false;
        }
        final int from = inPos;
        inPos = nl + 1;
        TextCommands.dispatch(this, from, end);
        return true;
    }

    /**
     * A {@code get} or {@code gets} line longer than {@link #NO_NEWLINE_LIMIT} with no newline yet
     * (memcached's multi-get of many keys): its whole keys are answered now, and the rest of the
     * line as it comes ({@link #moreGetLine}). memcached keeps such a line whole, grown for as long
     * as it runs; here the input keeps only the key still arriving, and the replies go out as
     * those of any get do. What a client sees is the same: the values of the keys in order, then
     * {@code END} once the newline comes. A key over 250 bytes is refused as memcached refuses it,
     * with {@code CLIENT_ERROR bad command line format} (the values before it dropped if none has
     * gone out yet, else the connection closed: {@link #badGetKey}), and the line's rest is dropped.
     *
     * @param p where the command's name begins (after leading spaces)
     * @return whether the line was begun
     */
    private boolean openGetLine(final int p) {
        final int keysFrom = p + (in[p + 3] == 's' ? 4 : 3); // the space after the command's name
        final int nul = indexOf(in, (byte) 0, inPos, inLim);
        final int end = nul >= 0 ? nul : lastIndexOf(in, (byte) ' ', keysFrom, inLim);
        int k = keysFrom;
        while (k < end && in[k] == ' ') {
            k++;
        }
        if (k == end) {
            // No whole key yet: the name, spaces and the start of one key.
            if (nul >= 0 || keyTooLong(end + 1)) {
                if (!takeTurn()) {
                    return false;
                }
                // A line of spaces up to its NUL (memcached: a get of no key), or a key too long.
                reply(nul >= 0 ? "ERROR" : TextCommands.BAD_FORMAT);
                inPos = inLim;
                discardingLine = true;
                return true;
            }
            // The spaces are dropped: the name is moved up to the last one, before the key.
            final int nameLength = keysFrom - p;
            System.arraycopy(in, p, in, end - nameLength, nameLength);
            inPos = end - nameLength;
            return false;
        }
        if (!takeTurn()) {
            return false;
        }
        final int from = inPos;
        inPos = nul >= 0 ? inLim : end + 1;
        discardingLine = nul >= 0; // the line ends at its NUL byte, a C string to memcached
        getLineBytes = 0;
        if (!withinGetLine(inPos - from)) {
            return false;
        }
        getOpen = nul < 0;
        TextCommands.dispatch(this, from, end); // a get of its whole keys (it has one at least)
        return true;
    }

    /**
     * The next part of an open get line ({@link #openGetLine}): its keys up to the last space that
     * has come, or up to the line's end once its newline (or a NUL byte) is there.
     *
     * @return whether a part was begun (false: the key arriving is not whole yet)
     */
    private boolean moreGetLine() {
        final int nl = indexOf(in, (byte) '\n', inPos, inLim);
        final int nul = indexOf(in, (byte) 0, inPos, nl >= 0 ? nl : inLim);
        final int end;
        final int next;
        if (nul >= 0) {
            end = nul;
            next = nl >= 0 ? nl + 1 : inLim;
            discardingLine = nl < 0;
        } else if (nl >= 0) {
            end = nl > inPos && in[nl - 1] == '\r' ? nl - 1 : nl;
            next = nl + 1;
        } else {
            final int cut = lastIndexOf(in, (byte) ' ', inPos, inLim);
            if (cut < 0) {
                if (keyTooLong(inPos)) {
                    inPos = inLim; // a key too long, arriving still: refused, the line's rest dropped
                    badGetKey();
                    return true;
                }
                return false;
            }
            end = cut;
            next = cut + 1;
        }
        if (!withinGetLine(next - inPos)) {
            return false;
        }
        getOpen = nl < 0 && nul < 0;
        getPos = inPos;
        getEnd = end;
        prefetchedTo = inPos;
        state = State.GET;
        inPos = next;
        scannedTo = next;
        return true;
    }

    /** @return whether the key arriving from {@code from} to the input's end is over 250 bytes already (its CR may come before its LF) */
    private boolean keyTooLong(final int from) {
        // The last byte is read only when there are more than 250 (none when the input is used up:
        // an open get line ending in a space, then the client gone, read in[-1]; found by a fuzz).
        final int n = inLim - from;
        return n > TextCommands.KEY_MAX && n - (in[inLim - 1] == '\r' ? 1 : 0) > TextCommands.KEY_MAX;
    }

    /** Counts {@code bytes} more of the open get line; @return false if that passes {@link ServerOptions#maxGetLine()} (closed) */
    private boolean withinGetLine(final long bytes) {
        getLineBytes += bytes;
        if (getLineBytes > worker.server.options().maxGetLine()) {
            close();
            return false;
        }
        return true;
    }

    /**
     * A key over 250 bytes in a get line: memcached answers {@code CLIENT_ERROR bad command line
     * format} and drops every reply it has not sent, the line's values and those of the commands
     * before it since its last {@link #flushPoint}; when some of the line's values went out already,
     * the client cannot tell the error from a value, and the connection closes. The rest of an open
     * line is dropped up to its newline.
     *
     * @return whether the connection is still open
     */
    boolean badGetKey() {
        state = State.LINE;
        discardingLine |= getOpen;
        getOpen = false;
        final long unsent = unsentFrom();
        if (mapped == null && unsent <= getMark && truncate(unsent)) {
            reply(TextCommands.BAD_FORMAT);
            return true;
        }
        if (mapped != null || !truncate(getMark)) {
            drainThenClose(); // the values that went out are whole; nothing after them
            return false;
        }
        reply(TextCommands.BAD_FORMAT);
        return true;
    }

    /**
     * Counts a command against this connection's share of the turn.
     *
     * @return false if the share is run (the other connections go first; the command waits)
     */
    boolean takeTurn() {
        if (commandsThisTurn == requestsPerEvent) {
            yieldTurn();
            return false;
        }
        commandsThisTurn++;
        lastCommandSeconds = worker.server.nowSeconds();
        return true;
    }

    /**
     * Whether a long command (a multi-key get, a dump) may look at more keys in this turn: a get
     * line of a million missing keys, or a dump of a large store, used to run to its end in one
     * turn (a second and more), every other connection of the worker waiting. Counted with
     * {@link #spend}.
     *
     * @return false if the turn's share is spent (the command goes on in the connection's next turn)
     */
    boolean keysLeft() {
        if (keysThisTurn >= keysPerTurn) {
            yieldTurn();
            return false;
        }
        return true;
    }

    /** Counts {@code keys} looked at by a long command against the turn's share ({@link #keysLeft}). */
    void spend(final int keys) {
        keysThisTurn += keys;
    }

    /** Gives up the turn: the worker turns to its other connections, then gives this one its next. */
    private void yieldTurn() {
        if (!yielding) {
            yielding = true;
            worker.yielded(this);
        }
    }

    private boolean startsWith(final int p, final String s) {
        return Ascii.startsWith(in, p, inLim, s);
    }

    private static int lastIndexOf(final byte[] b, final byte v, final int from, final int to) {
        for (int i = to - 1; i >= from; i--) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(final byte[] b, final byte v, final int from, final int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Reads the data block into the pending value; for a text command, the two bytes after it must
     * be CR LF (a binary request's value ends the request).
     */
    private boolean data() {
        int avail = inLim - inPos;
        final PendingStore p = pending;
        if (avail == 0 && (p.filled < p.length || tailSeen < 2)) {
            p.awaited = true;
            return false;
        }
        if (p.filled < p.length) {
            final int n = Math.min(avail, p.length - p.filled);
            if (p.inPlace != null) {
                p.inPlace.put(p.filled, in, inPos, n);
                p.progressAt = System.nanoTime();
            } else {
                if (!roomInValue(n)) {
                    return true; // refused: swallowing the block now
                }
                System.arraycopy(in, inPos, p.value, p.filled, n);
            }
            p.filled += n;
            inPos += n;
            avail -= n;
        }
        while (p.filled == p.length && tailSeen < 2 && avail > 0) {
            tail[tailSeen++] = in[inPos++];
            avail--;
        }
        if (p.filled < p.length || tailSeen < 2) {
            p.awaited = true;
            return false;
        }
        state = binary ? State.BINARY : State.LINE;
        final boolean good = tail[0] == '\r' && tail[1] == '\n';
        if (binary) {
            BinaryCommands.completeStore(this);
        } else if (p.meta) {
            MetaCommands.completeSet(this, good);
        } else {
            TextCommands.completeStore(this, good);
        }
        if (p.awaited) {
            flushPoint();
        }
        if (p.value != null) {
            charge(-p.value.length);
        }
        p.release(worker);
        giveBackInPlaceBudget();
        return true;
    }

    private boolean swallow() {
        final int n = (int) Math.min(swallowLeft, inLim - inPos);
        inPos += n;
        swallowLeft -= n;
        if (swallowLeft == 0) {
            state = binary ? State.BINARY : State.LINE;
            if (heldReply != null) {
                put(heldReply);
                heldReply = null;
                if (heldReplySent) {
                    flushPoint();
                }
            }
            return true;
        }
        return false;
    }

    /**
     * Expects a data block of {@code valueLength} bytes. A text or binary set, add, replace or cas of a value
     * of {@link #IN_PLACE_MIN} bytes or more reserves its item in the store and reads the value into
     * it, with no copy through the heap; if the store has no room now, the value goes to the heap
     * and the store answers when it is whole.
     */
    void beginData(final int valueLength) {
        final PendingStore p = pending;
        p.length = valueLength;
        p.filled = 0;
        tailSeen = binary ? 2 : 0; // a binary request's value ends it: no CR LF follows
        state = State.DATA;
        if (valueLength >= IN_PLACE_MIN && !p.meta && p.kind != PendingStore.APPEND && p.kind != PendingStore.PREPEND
            && takeInPlaceBudget(valueLength)) {
            if (!worker.server.store().reserve(p.key, valueLength, p.flags, p.exptime, p.reservation)) {
                giveBackInPlaceBudget();
                heapValue(valueLength);
                return;
            }
            p.inPlace = p.reservation.value().asByteBuffer();
            p.reservedAt = System.nanoTime();
            p.progressAt = p.reservedAt;
            p.value = null;
            worker.server.valuesInPlace.increment();
            return;
        }
        heapValue(valueLength);
    }

    /**
     * Starts a value on the heap: an array of its length if it is short (at most
     * {@link #VALUE_GROW_FROM}) or the worker has a spare one of that length; else a first
     * {@value #VALUE_GROW_FROM} bytes, grown as the value arrives ({@link #roomInValue}). So a
     * command that declares a large value and sends none of it holds little: 256 clients each
     * declaring 1 MiB and stopping there held the connections' whole bound of 256 MiB, and every
     * other client's set was refused.
     */
    private void heapValue(final int valueLength) {
        final boolean whole = valueLength <= VALUE_GROW_FROM || worker.hasSpareValue(valueLength);
        final int first = whole ? valueLength : VALUE_GROW_FROM;
        if (chargeValue(first, valueLength)) {
            pending.value = whole ? worker.takeValue(valueLength) : worker.takeGrowing(first);
        }
    }

    /**
     * Makes room in the heap value for its next {@code n} bytes, growing it (at least doubling, at
     * most to the value's length) and counting what it grows by against the connections' bound.
     *
     * @return false if the bound refused it: the command is answered as one the value could not
     * be kept for ({@link #chargeValue}), what came of it dropped, and the rest of the block is
     * swallowed as it comes
     */
    private boolean roomInValue(final int n) {
        final PendingStore p = pending;
        final int need = p.filled + n;
        final int had = p.value.length;
        if (had >= need) {
            return true;
        }
        // A power of two below the value's length (the worker keeps those for the next value), or
        // the length itself: the value that is stored is an array of exactly its length.
        final long wanted = Math.max(need, 2L * had);
        final long power = Long.highestOneBit(wanted - 1) << 1;
        final int grown = (int) Math.min(p.length, power);
        if (!chargeValue(grown - had, p.length - p.filled)) {
            charge(-had); // released, and the block's rest swallowed, by chargeValue
            return false;
        }
        final byte[] next = grown == p.length ? worker.takeValue(grown) : worker.takeGrowing(grown);
        System.arraycopy(p.value, 0, next, 0, p.filled);
        worker.giveBackValue(p.value);
        p.value = next;
        return true;
    }

    /**
     * Counts a value coming to the heap against the connections' bound. When it would pass the
     * bound, the command is answered as memcached answers a value it has no memory for (text and
     * meta: {@code SERVER_ERROR out of memory storing object}; binary: {@code Out of memory}), its
     * data is read and dropped as it comes, and the connection goes on.
     *
     * @param bytes    what the value's array takes now (or grows by)
     * @param unread   bytes of the value still to come, swallowed if refused
     * @return whether the value may be kept
     */
    private boolean chargeValue(final int bytes, final int unread) {
        try {
            charge(bytes);
            return true;
        } catch (final BufferLimitException e) {
            worker.server.buffersRefused.increment();
            worker.server.storeNoMemory.increment();
            final PendingStore p = pending;
            final long held = unsentFrom();
            if (binary) {
                BinaryCommands.outOfMemory(this, p.binaryOp, p.binaryOpaque);
            } else {
                if (p.meta) {
                    noreply = false; // a meta command's error goes out in quiet mode too, as its store failures do
                }
                reply("SERVER_ERROR out of memory storing object");
            }
            p.release(worker);
            beginSwallowThenReply(unread + (binary ? 0 : 2L), held, false); // answered once the value has been skipped
            return false;
        }
    }

    /** Bytes of {@link MemcachedServer#heldInPlace} this connection's reservation counts for. */
    private long inPlaceBudget;

    private boolean takeInPlaceBudget(final long bytes) {
        final java.util.concurrent.atomic.AtomicLong held = worker.server.heldInPlace;
        final long limit = worker.server.store().memoryLimit() / 4;
        if (held.addAndGet(bytes) > limit) {
            held.addAndGet(-bytes);
            return false;
        }
        inPlaceBudget = bytes;
        return true;
    }

    /** Called wherever a reservation ends: its commit, its abandon, its spill, the close. */
    private void giveBackInPlaceBudget() {
        if (inPlaceBudget != 0) {
            worker.server.heldInPlace.addAndGet(-inPlaceBudget);
            inPlaceBudget = 0;
        }
    }

    /**
     * @return whether this connection is done holding: its value ended, or it closed, or by
     * {@code now} no byte of the value came for {@link Worker#HOLD_NANOS}, or it held its
     * reservation {@link Worker#HOLD_MAX_NANOS} (what came then moved to the heap)
     */
    boolean spillIfHeldSince(final long now) {
        if (pending.inPlace == null || closed) {
            holding = false;
            return true;
        }
        if (now - pending.progressAt < Worker.HOLD_NANOS && now - pending.reservedAt < Worker.HOLD_MAX_NANOS) {
            return false;
        }
        spill();
        holding = false;
        return true;
    }

    /** Gives the reservation up now, what came of the value moving to the heap ({@link Worker}'s tail wait). */
    void spillNow() {
        if (pending.inPlace != null && !closed) {
            spill();
        }
        holding = false;
    }

    /**
     * The client stopped sending before its value was whole: what came so far moves to the heap
     * and the reservation is given up, so that no item waits on a slow client (the ring's tail
     * would wait for it, and with it every writer).
     */
    private void spill() {
        final PendingStore p = pending;
        // What came, and room to grow as the rest comes (roomInValue), not the whole declared length.
        final int size = Math.max(p.filled, Math.min(p.length, VALUE_GROW_FROM));
        try {
            charge(size);
        } catch (final BufferLimitException e) {
            worker.server.buffersRefused.increment();
            close(); // no room to keep what came: the reservation is given up, the connection ends
            return;
        }
        final byte[] v = size == p.length ? worker.takeValue(size) : new byte[size];
        MemorySegment.copy(p.reservation.value(), ValueLayout.JAVA_BYTE, 0, v, 0, p.filled);
        worker.server.store().abandon(p.reservation);
        giveBackInPlaceBudget();
        p.inPlace = null;
        p.value = v;
        worker.server.valuesSpilled.increment();
    }

    void beginSwallow(final long bytes) {
        swallowLeft = bytes;
        state = bytes > 0 ? State.SWALLOW : binary ? State.BINARY : State.LINE;
    }

    /**
     * @return where the replies memcached would still hold begin: those queued since its last
     * {@link #flushPoint} (the ones this server sent already excepted: they cannot be held)
     */
    long unsentFrom() {
        return Math.max(flushPoint, outBase + outPos);
    }

    /**
     * {@link #beginSwallow}, the replies queued since {@code mark} ({@link #unsentFrom()}, taken
     * before the command's reply was written) held back until the last byte swallowed is in:
     * memcached answers a request whose data it skips (a value over the limit, a binary unknown
     * command) once it has read it all, and sends nothing it holds meanwhile (it reads the data
     * without sending), so a client that stops short of its end gets none of them. memcached sends
     * them then if it had to read for the data (it reads no further than the data's end, and sends
     * what it holds before it reads on), or if {@code sent} (SASL's reply); otherwise they are held
     * with the replies after them, to the next {@link #flushPoint}.
     */
    void beginSwallowThenReply(final long bytes, final long mark, final boolean sent) {
        if (bytes > 0 && mark() > mark) {
            final byte[] reply = copyFrom(mark);
            if (truncate(mark)) {
                heldReply = reply;
                heldReplySent = sent || bytes > inLim - inPos;
                flushPoint = Math.min(flushPoint, mark); // not sent: a hang-up before it ends drops it
            }
        }
        beginSwallow(bytes);
    }

    /** Starts a metadump: it goes on a bucket at a time as the output drains, commands after it wait. */
    void beginDump() {
        beginDump(false, 0);
    }

    /** Starts a metadump or (cache) a cachedump of at most {@code limit} lines (0: no limit). */
    void beginDump(final boolean cache, final long limit) {
        dumpCache = cache;
        holdsCrawler = !cache; // a metadump's caller claimed the crawler for it
        dumpLimit = limit;
        dumpListed = 0;
        dumpBytes = 0;
        dumpBucket = 0;
        if (dumpKeys == null) {
            dumpKeys = new java.util.ArrayList<>();
        }
        state = State.DUMP;
    }

    void endDump() {
        dumpKeys = null;
        state = State.LINE;
        releaseCrawler();
    }

    /** Gives the crawler back if this connection's metadump holds it ({@link LruCrawler#beginDump}). */
    private void releaseCrawler() {
        if (holdsCrawler) {
            holdsCrawler = false;
            worker.server.crawler.endDump();
        }
    }

    void quit() {
        state = State.CLOSING;
    }

    /**
     * Where the replies queued end after the last get (get, gets, gat, gats), {@code mn} or metadump,
     * a storage command whose data block came in later reads, or when the input ran out of whole
     * lines: the replies memcached has sent for certain when it
     * hangs up on a line it cannot take (it sends a batch of replies at those points, and drops the
     * ones queued after them).
     */
    private long flushPoint;

    /** Marks the replies queued so far as sent before a hang-up ({@link #flushPoint}). */
    void flushPoint() {
        flushPoint = mark();
        heldCount = 0; // memcached lets go of the items its sent replies held
    }

    /**
     * Items a reply memcached would still hold names (a meta get's hit, a binary get's or touch's),
     * until the next {@link #flushPoint}: memcached counts such an item's number into a new item,
     * not in place ({@code SharedStore.count}). A hash of the key and the item's CAS value each, up
     * to {@link #HELD_MAX} (past them, a count may rewrite an item memcached would hold in place).
     */
    private static final int HELD_MAX = 64;
    private final long[] heldKeys = new long[HELD_MAX];
    private final long[] heldCas = new long[HELD_MAX];
    private int heldCount;

    /** Notes that a reply not sent yet holds the item {@code key[off, off + len)} names, of CAS value {@code cas}. */
    void hold(final byte[] key, final int off, final int len, final long cas) {
        if (heldCount < HELD_MAX) {
            heldKeys[heldCount] = keyHash(key, off, len);
            heldCas[heldCount] = cas;
            heldCount++;
        }
    }

    /** @return the CAS value of the latest held item of {@code key}, or {@code SharedStore.NONE_HELD} */
    long heldCas(final byte[] key) {
        if (heldCount == 0) {
            return io.sharena.ipc.store.SharedStore.NONE_HELD;
        }
        final long h = keyHash(key, 0, key.length);
        for (int i = heldCount - 1; i >= 0; i--) {
            if (heldKeys[i] == h) {
                return heldCas[i];
            }
        }
        return io.sharena.ipc.store.SharedStore.NONE_HELD;
    }

    /** 64-bit FNV-1a: two keys of one connection's held replies colliding is not a concern. */
    private static long keyHash(final byte[] key, final int off, final int len) {
        long h = 0xcbf29ce484222325L;
        for (int i = off; i < off + len; i++) {
            h = (h ^ (key[i] & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    /**
     * Hangs up as memcached does on a line too long to be a command: the replies up to the last
     * {@link #flushPoint} go out first (a client that pipelined {@code get k} or {@code mn} before
     * it has them), the ones after it are dropped. Found by a differential fuzz: they all were.
     */
    void hangUpAfterFlushPoint() {
        if (mapped != null || flushPoint <= outBase + outPos || !truncate(flushPoint)) {
            close();
            return;
        }
        drainThenClose();
    }

    /**
     * Hangs up once the replies queued before {@code mark} have gone out, those after it dropped;
     * if some after it went out already (a get line's values past the output bound, or one sent
     * from the mapping), once the queue has gone out whole, so that no value is cut.
     */
    private void hangUpAfter(final long mark) {
        if (mapped == null && truncate(mark)) {
            if (mark == outBase + outPos) {
                close();
                return;
            }
        }
        drainThenClose();
    }

    /** Sends what is queued, then closes; no command runs meanwhile. */
    private void drainThenClose() {
        state = State.CLOSING;
        try {
            flush();
        } catch (final IOException e) {
            close();
            return;
        }
        if (!closed && interest != SelectionKey.OP_WRITE) {
            interest = SelectionKey.OP_WRITE;
            key.interestOps(interest);
        }
    }

    /** Takes back the reply begun at {@code mark}, or, if some of it went out, hangs up. */
    void dropReply(final long mark) {
        if (!truncate(mark)) {
            close();
        }
    }

    /**
     * This connection's buffers would pass the bound on the heap all connections hold
     * ({@link BufferLimitException}): memcached's reply for a connection it cannot allocate for, when
     * it fits as the buffers are, then the close, without waiting for what it has queued.
     */
    void failedOutOfMemory() throws IOException {
        if (closed) {
            return;
        }
        // Out of memory for its buffers: memcached's reply when it fits as they are, then the close.
        final byte[] line = "SERVER_ERROR out of memory\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (out.length == 0 && mapped == null) {
            out = worker.takeOutput(); // an output buffer of the usual size, not counted against the bound
        }
        if (!binary && mapped == null && out.length - outLim >= line.length) {
            System.arraycopy(line, 0, out, outLim, line.length);
            outLim += line.length;
        }
        state = State.CLOSING;
        flush();
        if (!closed) {
            close(); // what it has queued is not waited for: the heap it holds is wanted
        }
    }

    /**
     * The command being run met a damaged store (its walk found a link or record that cannot be,
     * {@code ArenaCorruptedException}) or a store file cut short under the mapping
     * ({@code ArenaFaultException}): a text client gets the replies queued before it, then
     * {@code SERVER_ERROR} and {@code why} (what was found), and the connection closes, since the
     * command it was in cannot go on. A binary client gets the same text as an Internal error
     * response to the request that met it ({@link BinaryCommands#storeFailed}).
     */
    void failed(final String why) throws IOException {
        if (closed) {
            return;
        }
        final String text = why.replace('\r', ' ').replace('\n', ' ');
        if (binary) {
            BinaryCommands.storeFailed(this, text);
        } else {
            putAscii("SERVER_ERROR " + text);
            crlf();
        }
        state = State.CLOSING;
        flush();
        if (!closed && interest != SelectionKey.OP_WRITE) {
            interest = SelectionKey.OP_WRITE;
            key.interestOps(interest);
        }
    }

    // ------------------------------------------------------------------ output

    /** @return the bytes of replies queued; {@link Integer#MAX_VALUE} while a value's rest waits in the mapping */
    int pendingOutput() {
        return mapped != null ? Integer.MAX_VALUE : outLim - outPos;
    }

    /** @return the absolute output position: a mark to {@link #truncate} back to */
    long mark() {
        return outBase + outLim;
    }

    /** @return a copy of the output queued since {@code mark} (not yet sent: see {@link #truncate}) */
    byte[] copyFrom(final long mark) {
        final int from = (int) Math.max(mark - outBase, outPos);
        return java.util.Arrays.copyOfRange(out, from, outLim);
    }

    /** @return whether the output since {@code mark} was dropped (false: some of it was sent already) */
    boolean truncate(final long mark) {
        if (mark < outBase + outPos) {
            return false;
        }
        outLim = (int) (mark - outBase);
        return true;
    }

    private void ensure(final int n) {
        if (out.length - outLim >= n) {
            return;
        }
        if (out.length == 0) {
            out = worker.takeOutput(); // the first buffer, not counted against the bound
            if (out.length - outLim >= n) {
                return;
            }
        }
        if (outPos > 0) {
            System.arraycopy(out, outPos, out, 0, outLim - outPos);
            outBase += outPos;
            outLim -= outPos;
            outPos = 0;
            if (out.length - outLim >= n) {
                return;
            }
        }
        final int grown = Math.max(out.length * 2, outLim + n);
        // The worker's spare grown buffer if it is large enough: a client whose replies grow the
        // queue each time (multi-key gets) does not allocate the same steps again per command.
        final byte[] spare = worker.takeGrownOutput(grown);
        try {
            charge((spare != null ? spare.length : grown) - out.length);
        } catch (final BufferLimitException e) {
            if (spare != null) {
                worker.giveBackGrownOutput(spare);
            }
            throw e;
        }
        final byte[] next = spare != null ? spare : new byte[grown];
        System.arraycopy(out, 0, next, 0, outLim); // outPos is 0: compacted above
        if (out.length == OUT_INITIAL) {
            worker.giveBackOutput(out);
        }
        out = next;
    }

    /**
     * Counts {@code bytes} more (or, negative, fewer) of heap against the server's bound on what all
     * connections hold beyond their first buffers ({@link ServerOptions#connectionBuffers()}).
     *
     * @throws BufferLimitException if growing by {@code bytes} would pass the bound (nothing counted)
     */
    private void charge(final long bytes) {
        if (closed) {
            return; // all it held was counted out at the close
        }
        final java.util.concurrent.atomic.AtomicLong held = worker.server.connectionHeap;
        final long limit = worker.server.options().connectionBuffers();
        if (held.addAndGet(bytes) > limit && bytes > 0) {
            held.addAndGet(-bytes);
            throw new BufferLimitException(bytes, limit);
        }
        heapCharged += bytes;
    }

    /**
     * A connection's buffers would pass the server's bound on the heap all connections hold:
     * memcached's "out of memory" for a connection, which ends it. Thrown before anything is allocated.
     */
    static final class BufferLimitException extends RuntimeException {
        BufferLimitException(final long bytes, final long limit) {
            super("out of memory for connection buffers: wanted=" + bytes + ", limit=" + limit, null, false, false);
        }
    }

    /** @return the output array, with room for {@code n} bytes at {@link #outLimit()}; commit them with {@link #advance}. */
    byte[] reserve(final int n) {
        ensure(n);
        return out;
    }

    int outLimit() {
        return outLim;
    }

    void advance(final int n) {
        outLim += n;
    }

    void put(final byte[] b, final int off, final int len) {
        ensure(len);
        System.arraycopy(b, off, out, outLim, len);
        outLim += len;
    }

    void put(final byte[] b) {
        put(b, 0, b.length);
    }

    void putAscii(final String s) {
        final int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            out[outLim++] = (byte) s.charAt(i);
        }
    }

    void putByte(final int b) {
        ensure(1);
        out[outLim++] = (byte) b;
    }

    void putUnsigned(final long v) {
        if (v < 0) {
            putAscii(Long.toUnsignedString(v));
            return;
        }
        int digits = 1;
        for (long t = v; t >= 10; t /= 10) {
            digits++;
        }
        ensure(digits);
        long t = v;
        for (int i = outLim + digits - 1; i >= outLim; i--) {
            out[i] = (byte) ('0' + t % 10);
            t /= 10;
        }
        outLim += digits;
    }

    void putSigned(final long v) {
        if (v < 0) {
            putByte('-');
            putUnsigned(-v); // Long.MIN_VALUE prints through the unsigned path, correctly
            return;
        }
        putUnsigned(v);
    }

    void crlf() {
        ensure(2);
        out[outLim++] = '\r';
        out[outLim++] = '\n';
    }

    /** A one-line reply, unless the command asked for none. */
    void reply(final String line) {
        if (!noreply) {
            putAscii(line);
            crlf();
        }
    }

    /**
     * Sends a value the reader found, and its CR LF, straight from the store's mapping (no copy
     * through the heap), after every reply queued before it, its header included. What the socket
     * takes now goes in one gathering write; a short rest is then copied into the output queue, a
     * long one ({@link #IN_PLACE_MIN} or more) stays in the mapping and goes out as the socket
     * drains ({@link #writeMapped}), with nothing else queued or run meanwhile. The reader validates
     * after every write: the kernel has copied the bytes written, so if the item was still valid,
     * every byte sent or queued was its own. If it was reclaimed meanwhile, what went out may be
     * another item's bytes and the reply cannot be taken back: the connection is closed, so the
     * client never receives it as a value (a reclaim during a send needs the store's ring to wrap
     * around over the item, which only a client that reads slowly gives it time for). For that the
     * value's last byte never goes from the mapping: it is read and validated, then queued, so no
     * write from reused space can complete a reply (a write that sent the whole value used to, and
     * a binary reply, which ends with its value, was then whole to its client).
     *
     * @return true: the value is sent or queued (or the connection closed)
     */
    boolean sendInPlace(final StoreReader r, final int len) {
        return sendInPlace(r, len, true);
    }

    /** {@link #sendInPlace(StoreReader, int)}, with the CR LF after the value or (binary protocol) without. */
    boolean sendInPlace(final StoreReader r, final int len, final boolean crlfAfter) {
        if (closed) {
            return true;
        }
        final long at = r.valueOffset();
        // Its last byte is held back from the mapping (see above): queued after a validation.
        final ByteBuffer v = r.memory().asSlice(at, len).asByteBuffer().limit(len - 1);
        final ByteBuffer head = worker.io;
        final int queued = outLim - outPos;
        if (queued <= head.capacity()) {
            try {
                // One gathering write: the queued replies (this value's header last) and the value.
                head.clear();
                head.put(out, outPos, queued).flip();
                final ByteBuffer[] both = worker.pair;
                both[0] = head;
                both[1] = v;
                long written = 0;
                while (v.hasRemaining()) {
                    final long n = ch.write(both);
                    if (n <= 0) {
                        break;
                    }
                    written += n;
                }
                both[1] = null;
                worker.countWritten(written);
                outPos += head.position();
            } catch (final IOException e) {
                close();
                return true;
            }
        }
        if (outPos == outLim) {
            waiting = false; // the queue drained: a later write that leaves some starts the stall clock
            outBase += outLim;
            outPos = 0;
            outLim = 0;
        }
        final Runnable pause = worker.server.inPlacePause;
        if (pause != null) {
            pause.run(); // tests only: reclaim the item between the send and the validation
        }
        final int rest = v.remaining() + 1; // the last byte with it
        if (rest < IN_PLACE_MIN && outPos == outLim) {
            final byte[] dst = reserve(rest + 2);
            MemorySegment.copy(r.memory(), ValueLayout.JAVA_BYTE, at + v.position(), dst, outLim, rest);
            if (!r.validate()) {
                close();
                return true;
            }
            outLim += rest;
            if (crlfAfter) {
                crlf();
            }
            return true;
        }
        // The rest (or, behind replies the socket did not take, all of the value) stays in the
        // mapping: a client that reads slowly, or not at all, holds no copy of it.
        if (!r.validate()) {
            close();
            return true;
        }
        mapped = v;
        mappedMark = r.itemMark();
        mappedCas = r.cas();
        // As memcached keeps an item whole until its send ends: no write of this server is placed
        // in its space meanwhile, though it be replaced or deleted (memcached's multiversioning.t).
        worker.server.store().keepInPlace(mappedMark);
        mappedCrlf = crlfAfter;
        lastProgressMillis = System.currentTimeMillis();
        waiting = true;
        return true;
    }

    /** Writes what the socket takes of the queue: the output array, then a value's rest in the mapping. */
    private void flush() throws IOException {
        if (closed) {
            return;
        }
        if (holdsReplies()) {
            // The replies queued before the get line began go out (memcached sends them before it
            // waits for the rest of a line); the line's own wait for it.
            if (getMark > outBase + outPos) {
                writeOut(getMark);
            }
            waiting = false;
            return;
        }
        boolean moved = writeOut(Long.MAX_VALUE);
        if (mapped != null && outPos == outLim && !closed) {
            moved |= writeMapped();
            if (closed) {
                return;
            }
            if (mapped == null) {
                moved |= writeOut(Long.MAX_VALUE); // the value's last byte and CR LF
            }
        }
        if (outPos == outLim && mapped == null && state == State.CLOSING) {
            close();
        }
        // The stall clock runs only while replies wait for the socket: it starts when a write
        // leaves some queued and restarts when a write moves some. A write that drains the queue,
        // the usual case, reads no clock.
        if (outputQueued()) {
            if (moved || !waiting) {
                lastProgressMillis = System.currentTimeMillis();
                waiting = true;
            }
        } else {
            waiting = false;
        }
    }

    /** @return whether any byte of the output array was written */
    private boolean writeOut(final long upTo) throws IOException {
        boolean moved = false;
        final ByteBuffer b = worker.io;
        final int end = (int) Math.min(outLim, upTo - outBase);
        while (outPos < end) {
            final int chunk = Math.min(b.capacity(), end - outPos);
            b.clear();
            b.put(out, outPos, chunk).flip();
            final int n = ch.write(b);
            if (n == 0) {
                break;
            }
            outPos += n;
            moved = true;
            worker.countWritten(n);
            if (n < chunk) {
                break; // the socket is full: wait for a write event
            }
        }
        if (outPos == outLim) {
            outBase += outPos;
            outPos = 0;
            outLim = 0;
            if (out.length > OUT_INITIAL) {
                // A grown queue is given back as it drains (to the worker, which keeps one, else to
                // the collector), and counted out of the connections' bound: a connection that
                // waits holds no buffer, however large its last replies were. It was kept up to
                // 1 MiB, and 510 idle clients whose last get grew it to 512 KiB held the whole bound.
                charge(OUT_INITIAL - out.length);
                worker.giveBackGrownOutput(out);
                out = NO_BYTES;
            }
        }
        return moved;
    }

    /**
     * Writes what the socket takes of the value's rest in the mapping, then validates: the kernel
     * has copied what was written, so if the item is still valid every byte sent was its own. If
     * it was reclaimed meanwhile (the ring's tail passed it while the client was slow), what went
     * out may be another item's bytes, and the connection closes, so the client never takes them
     * for a value. The CR LF after a text reply's value is queued once the value is out.
     *
     * @return whether any byte was written
     */
    private boolean writeMapped() throws IOException {
        final ByteBuffer v = mapped;
        long written = 0;
        while (v.hasRemaining()) {
            final int n = ch.write(v);
            if (n <= 0) {
                break;
            }
            written += n;
        }
        worker.countWritten(written);
        if (!worker.reader.validate(mappedMark, mappedCas)) {
            close();
            return written > 0;
        }
        if (!v.hasRemaining()) {
            // All but the last byte went out, each write validated after it: the last byte is
            // read, validated after the read, and queued.
            final byte last = v.limit(v.capacity()).get(v.capacity() - 1);
            if (!worker.reader.validate(mappedMark, mappedCas)) {
                close();
                return written > 0;
            }
            mapped = null;
            worker.server.store().releaseInPlace(mappedMark);
            ensure(1);
            out[outLim++] = last;
            if (mappedCrlf) {
                crlf();
            }
        }
        return written > 0;
    }

    /** @return how long queued replies have not moved, 0 if none are queued */
    long stalledSince(final long now) {
        return outputQueued() && waiting ? now - lastProgressMillis : 0;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (mapped != null) {
            mapped = null;
            worker.server.store().releaseInPlace(mappedMark);
        }
        releaseCrawler(); // a metadump cut short: the crawler is free again
        worker.server.connectionHeap.addAndGet(-heapCharged);
        heapCharged = 0;
        if (pending.reservation.held()) {
            worker.server.store().abandon(pending.reservation);
            pending.inPlace = null;
        }
        if (state == State.DATA && pending.value != null) {
            worker.giveBackValue(pending.value); // a value cut short: its array serves the next one
            pending.value = null;
        }
        giveBackInPlaceBudget();
        if (key != null) {
            key.cancel();
        }
        try {
            ch.close();
        } catch (final IOException e) {
            // closing anyway
        }
        worker.server.currConnections.decrementAndGet();
        worker.server.open.remove(this);
    }

    /**
     * memcached's name for what this connection is doing, for {@code stats conns}. Read by any
     * worker while this one's runs: a snapshot of plain fields, right at some recent instant.
     */
    String stateName() {
        if (closed || state == State.CLOSING) {
            return "conn_closing";
        }
        if (state == State.DATA) {
            return "conn_nread";
        }
        if (state == State.SWALLOW) {
            return "conn_swallow";
        }
        if (state == State.GET || state == State.DUMP || outputQueued()) {
            return "conn_mwrite";
        }
        return inLim > inPos ? "conn_read" : "conn_waiting";
    }

    /** @return when the last command began, in Unix seconds (see {@link #stateName()} on reading it) */
    long lastCommandSeconds() {
        return lastCommandSeconds;
    }

    boolean isClosed() {
        return closed;
    }
}
