package io.sharena.server;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreMode;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * memcached's binary protocol, for a connection whose first byte was {@link #REQUEST_MAGIC}: a
 * 24-byte header (magic, opcode, key length, extras length, data type, vbucket, body length,
 * opaque, CAS, big-endian), then extras, key and value. Replies as memcached 1.6 gives them: the
 * same statuses and error texts, the opaque echoed, the quiet opcodes silent on success (and the
 * quiet gets on a miss). Each command goes to the same store calls as its text form, so both
 * protocols see one cache and one set of counters.
 *
 * <p>A request runs once its header, extras and key are in the connection's input (a binary
 * connection's input never grows past its first buffer, {@link Connection#READ_CHUNK} bytes, as
 * memcached's read buffer: a header whose extras and key would not fit ends the connection with no
 * reply, as there). A storage command's value is read next as a text command's data block, a large
 * one from the socket straight into its item; any other request's value is read as the next
 * header, as memcached reads it. Nothing is checked before the extras and key are in; then a
 * header whose lengths are wrong for its opcode (a key past 250 bytes, extras of the wrong length,
 * a value where none belongs) is answered "Invalid arguments", key and extras longer than the body
 * "Unknown command", and the connection closed, as memcached does (another magic byte closes it at
 * once). A set larger than the max item size is answered "Too large." once its value has been
 * dropped as it came, as memcached does; an unknown opcode is answered "Unknown command" once its
 * body has been, memcached's count of it: a body's length after its extras and key. An expiry is
 * an unsigned 32-bit number here (the text protocol's is signed): one of 2^31 or more is a time far
 * ahead, not a past one, as memcached reads it.
 */
final class BinaryCommands {
    static final byte REQUEST_MAGIC = (byte) 0x80;
    static final int HEADER = 24;
    private static final byte RESPONSE_MAGIC = (byte) 0x81;

    static final int GET = 0x00;
    static final int SET = 0x01;
    static final int ADD = 0x02;
    static final int REPLACE = 0x03;
    static final int DELETE = 0x04;
    static final int INCREMENT = 0x05;
    static final int DECREMENT = 0x06;
    static final int QUIT = 0x07;
    static final int FLUSH = 0x08;
    static final int GETQ = 0x09;
    static final int NOOP = 0x0a;
    static final int VERSION = 0x0b;
    static final int GETK = 0x0c;
    static final int GETKQ = 0x0d;
    static final int APPEND = 0x0e;
    static final int PREPEND = 0x0f;
    static final int STAT = 0x10;
    static final int SETQ = 0x11;
    static final int ADDQ = 0x12;
    static final int REPLACEQ = 0x13;
    static final int DELETEQ = 0x14;
    static final int INCREMENTQ = 0x15;
    static final int DECREMENTQ = 0x16;
    static final int QUITQ = 0x17;
    static final int FLUSHQ = 0x18;
    static final int APPENDQ = 0x19;
    static final int PREPENDQ = 0x1a;
    static final int TOUCH = 0x1c;
    static final int GAT = 0x1d;
    static final int GATQ = 0x1e;
    static final int GATK = 0x23;
    static final int GATKQ = 0x24;
    static final int SASL_LIST_MECHS = 0x20;
    static final int SASL_AUTH = 0x21;
    static final int SASL_STEP = 0x22;

    static final int OK = 0x0000;
    static final int KEY_ENOENT = 0x0001;
    static final int KEY_EEXISTS = 0x0002;
    static final int E2BIG = 0x0003;
    static final int EINVAL = 0x0004;
    static final int NOT_STORED = 0x0005;
    static final int DELTA_BADVAL = 0x0006;
    static final int UNKNOWN_COMMAND = 0x0081;
    static final int ENOMEM = 0x0082;
    static final int INTERNAL_ERROR = 0x0084;
    static final int EBUSY = 0x0085;

    /** The error texts memcached 1.6 sends as the value of an error response, encoded once. */
    private static final byte[] EXISTS_TEXT = ascii("Data exists for key.");
    private static final byte[] INVALID_TEXT = ascii("Invalid arguments");
    private static final byte[] NON_NUMERIC_TEXT = ascii("Non-numeric server-side value for incr or decr");
    private static final byte[] NOT_FOUND_TEXT = ascii("Not found");
    private static final byte[] NOT_STORED_TEXT = ascii("Not stored.");
    private static final byte[] NO_MEMORY_TEXT = ascii("Out of memory");
    private static final byte[] BUSY_TEXT = ascii("Busy: a stopped process holds a lock of the store");
    private static final byte[] TOO_LARGE_TEXT = ascii("Too large.");
    private static final byte[] UNKNOWN_TEXT = ascii("Unknown command");

    /** The key of the one response that carries {@code stat detail dump}. */
    private static final byte[] DETAILED = ascii("detailed");

    /** The largest extras of any request (incr and decr: delta, initial value, expiry). */
    private static final int EXTRAS_MAX = 20;
    /** An incr or decr's expiry that says: do not create the item on a miss. */
    private static final long NO_CREATE = 0xffffffffL;

    private BinaryCommands() {
    }

    /**
     * Runs the next request once its header, extras and key have arrived; a storage command goes
     * on to read its value ({@link #beginStore}). A header whose shape is wrong for its opcode is
     * answered once its extras and key are in, as memcached answers it, without waiting for a body.
     *
     * @return whether the connection made progress (a request ran or began, or the connection closed)
     */
    static boolean next(final Connection c) {
        final int avail = c.inLim - c.inPos;
        if (avail < HEADER) {
            return needMore(c);
        }
        final byte[] in = c.in;
        final int p = c.inPos;
        if (in[p] != REQUEST_MAGIC) {
            // memcached hangs up on a header that is not a request, once the replies it has sent
            // are out: those it held (a success's, since the last error, noop or wait for input) go
            // no further.
            c.hangUpAfterFlushPoint();
            return true;
        }
        final int op = in[p + 1] & 0xff;
        final int keyLen = u16(in, p + 2);
        final int extLen = in[p + 4] & 0xff;
        final long bodyLen = u32(in, p + 8);
        final int opaque = i32(in, p + 12);
        final long cas = i64(in, p + 16);
        final SharedStore store = c.worker.server.store();
        final long bodyMax = (long) store.maxItemSize() + TextCommands.KEY_MAX + EXTRAS_MAX;
        // memcached checks nothing until the extras and key are in (a read buffer's worth at most:
        // one that cannot hold them ends the connection, no reply).
        final int keyFirst = HEADER + extLen + keyLen;
        if (avail < keyFirst) {
            if (keyFirst > Connection.READ_CHUNK && avail >= Connection.READ_CHUNK) {
                c.hangUpAfterFlushPoint();
                return true;
            }
            return needMore(c);
        }
        if (keyLen + extLen > bodyLen) {
            // memcached answers so whatever the opcode and the key's length, and hangs up.
            error(c, op, UNKNOWN_COMMAND, opaque, UNKNOWN_TEXT);
            c.quit();
            return true;
        }
        if (keyLen > TextCommands.KEY_MAX) {
            invalid(c, op, opaque);
            return true;
        }
        final long valueLen = bodyLen - extLen - keyLen;
        final int shape = shape(op, extLen, keyLen, valueLen);
        if (shape == INVALID) {
            invalid(c, op, opaque);
            return true;
        }
        if (shape == STORAGE && bodyLen > bodyMax) {
            // The value dropped as it comes, then answered: the connection keeps going.
            c.inPos = p + keyFirst;
            final int keyAt = p + HEADER + extLen;
            final PrefixStats detail = c.worker.server.prefixStats;
            if (detail.enabled()) {
                detail.recordSet(c.in, keyAt, keyLen);
            }
            c.worker.server.storeTooLarge.increment();
            final long held = c.unsentFrom();
            error(c, op, E2BIG, opaque, TOO_LARGE_TEXT);
            if (base(op) == SET) {
                // As memcached: a failed set does not leave the old value readable.
                c.worker.server.store().discard(c.worker.key(c.in, keyAt, keyLen));
            }
            c.beginSwallowThenReply(bodyLen - extLen - keyLen, held, false);
            return true;
        }
        if (!c.takeTurn()) {
            return false;
        }
        c.noreply = false;
        c.inPos = p + keyFirst;
        final int ext = p + HEADER;
        switch (shape) {
            case UNKNOWN -> {
                final long held = c.unsentFrom();
                error(c, op, UNKNOWN_COMMAND, opaque, UNKNOWN_TEXT);
                // Skipped as it comes, not buffered, as memcached skips it: SASL's value, and for an
                // opcode it does not know a whole body's length after the extras and key (counting
                // them twice), so that the next request starts where memcached's does.
                c.beginSwallowThenReply(isSasl(op) ? valueLen : bodyLen, held, isSasl(op));
            }
            case STORAGE -> beginStore(c, op, ext, extLen, keyLen, (int) valueLen, opaque, cas);
            // memcached reads a touch's or a stat's body only as far as its key: value bytes after
            // it are read as the next request's header (a hang-up, unless they make a request), here too.
            default -> run(c, op, ext, extLen, keyLen, opaque, cas);
        }
        return true;
    }

    /**
     * The input holds no whole request: memcached sends the replies it has held before it reads
     * on, so they go out before a hang-up too ({@link Connection#flushPoint()}).
     *
     * @return false: no progress
     */
    private static boolean needMore(final Connection c) {
        c.flushPoint();
        return false;
    }

    /** A request's shape, told by its header alone: not a request of its opcode. */
    private static final int INVALID = 0;
    /** A request that runs once its extras and key have arrived (its value, if any, is read as the next header). */
    private static final int KEY_FIRST = 1;
    /** A storage command: it begins once its extras and key have arrived, its value read after. */
    private static final int STORAGE = 2;
    /** An opcode this server does not serve: answered at once, its body skipped as it comes. */
    private static final int UNKNOWN = 3;

    /**
     * What memcached checks of each opcode's extras, key and value lengths before it reads the
     * body; a request that fails it gets "Invalid arguments" and the connection closes.
     */
    private static int shape(final int op, final int extLen, final int keyLen, final long valueLen) {
        final boolean ok = switch (op) {
            case GET, GETQ, GETK, GETKQ, DELETE, DELETEQ -> extLen == 0 && keyLen != 0 && valueLen == 0;
            case GAT, GATQ, GATK, GATKQ, TOUCH -> extLen == 4 && keyLen != 0;
            case SET, ADD, REPLACE, SETQ, ADDQ, REPLACEQ -> extLen == 8 && keyLen != 0;
            case APPEND, PREPEND, APPENDQ, PREPENDQ -> extLen == 0 && keyLen != 0;
            case INCREMENT, DECREMENT, INCREMENTQ, DECREMENTQ -> extLen == EXTRAS_MAX && keyLen != 0 && valueLen == 0;
            case FLUSH, FLUSHQ -> (extLen == 0 || extLen == 4) && keyLen == 0 && valueLen == 0;
            case NOOP, VERSION, QUIT, QUITQ, STAT -> extLen == 0 && (op == STAT || keyLen == 0 && valueLen == 0);
            // Not served (no SASL here), but memcached checks their shape before it says so.
            case SASL_LIST_MECHS -> extLen == 0 && keyLen == 0 && valueLen == 0;
            case SASL_AUTH, SASL_STEP -> extLen == 0 && keyLen != 0;
            default -> true;
        };
        if (!ok) {
            return INVALID;
        }
        return switch (op) {
            case GET, GETQ, GETK, GETKQ, DELETE, DELETEQ, INCREMENT, DECREMENT, INCREMENTQ, DECREMENTQ, FLUSH, FLUSHQ,
                 NOOP, VERSION, QUIT, QUITQ, STAT, GAT, GATQ, GATK, GATKQ, TOUCH -> KEY_FIRST;
            default -> isSet(op) ? STORAGE : UNKNOWN;
        };
    }

    private static boolean isSasl(final int op) {
        return op == SASL_LIST_MECHS || op == SASL_AUTH || op == SASL_STEP;
    }

    private static boolean isSet(final int op) {
        return switch (op) {
            case SET, ADD, REPLACE, SETQ, ADDQ, REPLACEQ, APPEND, PREPEND, APPENDQ, PREPENDQ -> true;
            default -> false;
        };
    }

    /** A request whose extras and key have arrived and whose shape {@link #shape} found right. */
    private static void run(final Connection c, final int op, final int ext, final int extLen, final int keyLen,
                            final int opaque, final long cas) {
        final int keyAt = ext + extLen;
        c.binaryOp = op;
        c.binaryOpaque = opaque;
        switch (op) {
            case GET, GETQ, GETK, GETKQ -> get(c, op, keyAt, keyLen, opaque, false, 0);
            case GAT, GATQ, GATK, GATKQ, TOUCH -> get(c, op, keyAt, keyLen, opaque, true, u32(c.in, ext));
            case DELETE, DELETEQ -> delete(c, op, keyAt, keyLen, opaque, cas);
            case INCREMENT, DECREMENT, INCREMENTQ, DECREMENTQ -> arithmetic(c, op, keyAt, keyLen, i64(c.in, ext),
                i64(c.in, ext + 8), u32(c.in, ext + 16), opaque, cas);
            case FLUSH, FLUSHQ -> {
                final long delay = extLen == 4 ? u32(c.in, ext) : 0;
                final long fromNow = delay > SharedStore.RELATIVE_EXPIRY_LIMIT
                    ? delay - System.currentTimeMillis() / 1000 : delay;
                // As the text flush_all: memcached hides items from a second before the flush's time.
                c.worker.server.store().flushAll(fromNow - 1);
                if (op == FLUSH) {
                    empty(c, op, opaque, 0);
                }
            }
            case STAT -> stat(c, op, keyAt, keyLen, opaque);
            default -> simple(c, op, opaque); // NOOP, VERSION, QUIT, QUITQ
        }
    }

    private static void simple(final Connection c, final int op, final int opaque) {
        switch (op) {
            case NOOP -> {
                empty(c, op, opaque, 0);
                c.flushPoint(); // memcached sends what it holds at a noop, as at an error
            }
            case VERSION -> {
                final byte[] v = MemcachedServer.VERSION.getBytes(StandardCharsets.US_ASCII);
                header(c, op, OK, 0, 0, v.length, opaque, 0);
                c.put(v);
            }
            case QUIT -> {
                empty(c, op, opaque, 0);
                c.quit();
            }
            default -> c.quit(); // QUITQ
        }
    }

    private static boolean quiet(final int op) {
        return switch (op) {
            case GETQ, GETKQ, GATQ, GATKQ, SETQ, ADDQ, REPLACEQ, DELETEQ, INCREMENTQ, DECREMENTQ, FLUSHQ, APPENDQ,
                 PREPENDQ, QUITQ -> true;
            default -> false;
        };
    }

    private static boolean withKey(final int op) {
        return op == GETK || op == GETKQ || op == GATK || op == GATKQ;
    }

    // ------------------------------------------------------------------ commands

    private static void get(final Connection c, final int op, final int keyAt, final int keyLen, final int opaque,
                            final boolean touch, final long exptime) {
        final byte[] key = c.worker.key(c.in, keyAt, keyLen);
        final StoreReader r = c.worker.reader;
        final boolean withKey = withKey(op);
        final PrefixStats detail = c.worker.server.prefixStats;
        while (touch ? r.getAndTouch(key, exptime, true) == StoreResult.TOUCHED : r.get(key)) {
            final long mark = c.mark();
            try {
                if (hit(c, op, r, key, withKey, opaque, mark)) {
                    if (detail.enabled()) { // as memcached counts binary gets, gats and touches
                        detail.recordGet(key, 0, key.length, true);
                    }
                    c.hold(key, 0, key.length, r.cas()); // memcached holds the item until the reply is sent
                    return;
                }
            } catch (final Connection.BufferLimitException | ArenaCorruptedException | InternalError e) {
                c.dropReply(mark); // no response promising bytes that never come (a cut file faults in the copy)
                throw e;
            }
        }
        if (detail.enabled()) {
            detail.recordGet(key, 0, key.length, false);
        }
        if (quiet(op)) {
            return;
        }
        if (withKey) {
            header(c, op, KEY_ENOENT, keyLen, 0, keyLen, opaque, 0);
            c.put(key);
        } else {
            error(c, op, KEY_ENOENT, opaque, NOT_FOUND_TEXT);
        }
    }

    /**
     * Answers a hit: header, flags, the key for the K forms, the value (a large one straight from
     * the mapping, as a text get sends it).
     *
     * @return false if the item was reclaimed while copied (its reply dropped: read it again)
     */
    private static boolean hit(final Connection c, final int op, final StoreReader r, final byte[] key,
                               final boolean withKey, final int opaque, final long mark) {
        final int len = op == TOUCH ? 0 : r.valueLength();
        final int k = withKey ? key.length : 0;
        header(c, op, OK, k, 4, 4 + k + len, opaque, r.cas());
        putInt(c, r.flags());
        if (withKey) {
            c.put(key);
        }
        if (len == 0 || len >= Connection.IN_PLACE_MIN && c.sendInPlace(r, len, false)) {
            return true;
        }
        final byte[] dst = c.reserve(len);
        MemorySegment.copy(r.memory(), ValueLayout.JAVA_BYTE, r.valueOffset(), dst, c.outLimit(), len);
        if (r.validate()) {
            c.advance(len);
            return true;
        }
        // Reclaimed while copied: drop the reply and read the item again (nothing of it is sent:
        // replies go out only after the command), unless some of it went out (then hang up).
        if (!c.truncate(mark)) {
            c.close();
            return true;
        }
        return false;
    }

    /**
     * set, add, replace (a CAS value in the header makes any of them a compare-and-set, as in
     * memcached), append and prepend, and their quiet forms: the extras and key are read, the value
     * is read next as a data block ({@link Connection#beginData}), which takes a large set's value
     * from the socket into its item, and {@link #completeStore} answers once it is whole.
     */
    private static void beginStore(final Connection c, final int op, final int ext, final int extLen,
                                   final int keyLen, final int valueLen, final int opaque, final long cas) {
        final SharedStore store = c.worker.server.store();
        final int keyAt = ext + extLen;
        final int base = base(op);
        final PrefixStats detail = c.worker.server.prefixStats;
        if (detail.enabled()) { // as memcached counts them, before the size is judged
            detail.recordSet(c.in, keyAt, keyLen);
        }
        if (valueLen > store.maxItemSize()) { // an append or prepend too: memcached says Too large then, not Not stored
            c.worker.server.storeTooLarge.increment();
            final long held = c.unsentFrom();
            error(c, op, E2BIG, opaque, TOO_LARGE_TEXT);
            if (base == SET) {
                store.delete(c.worker.key(c.in, keyAt, keyLen)); // as memcached: a failed set does not leave the old value readable
            }
            c.beginSwallowThenReply(valueLen, held, false);
            return;
        }
        final PendingStore p = c.pending;
        p.kind = switch (base) {
            case APPEND -> op == APPEND || op == APPENDQ ? PendingStore.APPEND : PendingStore.PREPEND;
            default -> cas != 0 ? PendingStore.CAS : base == ADD ? PendingStore.ADD
                : base == REPLACE ? PendingStore.REPLACE : PendingStore.SET;
        };
        p.key = c.worker.takeKey(c.in, keyAt, keyLen);
        p.pooledKey = true;
        p.flags = extLen == 8 ? i32(c.in, ext) : 0;
        p.exptime = extLen == 8 ? u32(c.in, ext + 4) : 0;
        p.cas = cas;
        p.meta = false;
        p.binaryOp = op;
        p.binaryOpaque = opaque;
        c.beginData(valueLen);
    }

    /** The storage command of {@link #beginStore}, its value whole: stored, and answered. */
    static void completeStore(final Connection c) {
        final PendingStore p = c.pending;
        final int op = p.binaryOp;
        final int opaque = p.binaryOpaque;
        c.binaryOp = op;
        c.binaryOpaque = opaque;
        final StoreMode mode = switch (p.kind) {
            case PendingStore.APPEND -> StoreMode.APPEND;
            case PendingStore.PREPEND -> StoreMode.PREPEND;
            case PendingStore.CAS -> StoreMode.CAS;
            case PendingStore.ADD -> StoreMode.ADD;
            case PendingStore.REPLACE -> StoreMode.REPLACE;
            default -> StoreMode.SET;
        };
        final long expected = expectedCas(p.cas);
        final long[] casOut = c.worker.casOut;
        final SharedStore store = c.worker.server.store();
        final StoreResult r = p.inPlace == null
            ? store.store(mode, p.key, p.value, p.flags, p.exptime, expected, false, casOut)
            : store.commit(p.reservation, mode, expected, false, casOut);
        if (r != StoreResult.STORED) {
            storeError(c, op, opaque, r, base(op));
        } else if (!quiet(op)) {
            empty(c, op, opaque, casOut[0]);
        }
    }

    /** @return the loud form of a storage opcode, prepend read as append (their results read alike) */
    private static int base(final int op) {
        return switch (op) {
            case SETQ -> SET;
            case ADDQ -> ADD;
            case REPLACEQ -> REPLACE;
            case PREPEND, APPENDQ, PREPENDQ -> APPEND;
            default -> op;
        };
    }

    private static void storeError(final Connection c, final int op, final int opaque, final StoreResult r,
                                   final int base) {
        switch (r) {
            case NOT_STORED -> {
                // memcached names a failed add by the item that is there, a failed replace by the one that is not.
                if (base == ADD) {
                    error(c, op, KEY_EEXISTS, opaque, EXISTS_TEXT);
                } else if (base == REPLACE) {
                    error(c, op, KEY_ENOENT, opaque, NOT_FOUND_TEXT);
                } else {
                    error(c, op, NOT_STORED, opaque, NOT_STORED_TEXT);
                }
            }
            case EXISTS -> error(c, op, KEY_EEXISTS, opaque, EXISTS_TEXT);
            case NOT_FOUND -> error(c, op, base == APPEND ? NOT_STORED : KEY_ENOENT, opaque,
                base == APPEND ? NOT_STORED_TEXT : NOT_FOUND_TEXT);
            case TOO_LARGE -> {
                if (base == APPEND) {
                    // The value sent was within the limit, the item it would make is not: as memcached says it.
                    error(c, op, NOT_STORED, opaque, NOT_STORED_TEXT);
                } else {
                    c.worker.server.storeTooLarge.increment();
                    error(c, op, E2BIG, opaque, TOO_LARGE_TEXT);
                }
            }
            case BUSY -> error(c, op, EBUSY, opaque, BUSY_TEXT);
            default -> error(c, op, ENOMEM, opaque, NO_MEMORY_TEXT);
        }
    }

    private static void delete(final Connection c, final int op, final int keyAt, final int keyLen, final int opaque,
                               final long cas) {
        final byte[] key = c.worker.key(c.in, keyAt, keyLen);
        final PrefixStats detail = c.worker.server.prefixStats;
        if (detail.enabled()) {
            detail.recordDelete(key, 0, key.length);
        }
        final StoreResult r = c.worker.server.store().delete(key, expectedCas(cas));
        switch (r) {
            case DELETED -> {
                if (op == DELETE) {
                    empty(c, op, opaque, 0);
                }
            }
            case NOT_FOUND -> error(c, op, KEY_ENOENT, opaque, NOT_FOUND_TEXT);
            case EXISTS -> error(c, op, KEY_EEXISTS, opaque, EXISTS_TEXT);
            case BUSY -> error(c, op, EBUSY, opaque, BUSY_TEXT);
            default -> error(c, op, ENOMEM, opaque, NO_MEMORY_TEXT);
        }
    }

    /**
     * A request's CAS as the store compares it: 0 is none ({@link SharedStore#ANY_CAS}); one of
     * 2<sup>63</sup> or more, which no item has, is unmatched ({@link MetaCommands#clientCas}). A CAS
     * of 2<sup>64</sup> - 1 was taken for ANY_CAS (-1): a delete, an incr or an append with it went
     * through, where memcached answers "Data exists".
     */
    static long expectedCas(final long cas) {
        return cas != 0 ? MetaCommands.clientCas(cas) : SharedStore.ANY_CAS;
    }

    private static void arithmetic(final Connection c, final int op, final int keyAt, final int keyLen,
                                   final long delta, final long initial, final long exptime, final int opaque,
                                   final long cas) {
        final SharedStore store = c.worker.server.store();
        final byte[] key = c.worker.key(c.in, keyAt, keyLen);
        final boolean incr = op == INCREMENT || op == INCREMENTQ;
        final long expected = expectedCas(cas);
        final long[] result = c.worker.counter;
        while (true) {
            StoreResult r = store.count(key, delta, incr, expected, SharedStore.KEEP_EXPIRY, c.heldCas(key), result);
            if (r == StoreResult.NON_NUMERIC || r == StoreResult.EXISTS) {
                // The lenient path also answers an empty value NON_NUMERIC before it compares the
                // CAS value, as memcached does (the store's counters compare the CAS value first).
                r = TextCommands.lenientArithmetic(c, key, delta, incr, expected, SharedStore.KEEP_EXPIRY, result);
            }
            if (r == StoreResult.NOT_FOUND && exptime != NO_CREATE) {
                // A miss creates the item with the initial value, which is the answer (whatever the
                // request's CAS value: memcached creates it so too).
                final byte[] digits = Long.toUnsignedString(initial).getBytes(StandardCharsets.US_ASCII);
                final long[] casOut = c.worker.casOut;
                final StoreResult added = store.store(StoreMode.ADD, key, digits, 0, exptime, 0, false, casOut);
                if (added == StoreResult.NOT_STORED) {
                    continue; // another client created it meanwhile: count on it
                }
                if (added != StoreResult.STORED) {
                    storeError(c, op, opaque, added, SET);
                    return;
                }
                result[0] = initial;
                result[1] = casOut[0];
                r = StoreResult.STORED;
            }
            switch (r) {
                case STORED -> {
                    if (!quiet(op)) {
                        header(c, op, OK, 0, 0, 8, opaque, result[1]);
                        putLong(c, result[0]);
                    }
                }
                case NOT_FOUND -> error(c, op, KEY_ENOENT, opaque, NOT_FOUND_TEXT);
                case EXISTS -> error(c, op, KEY_EEXISTS, opaque, EXISTS_TEXT);
                case NON_NUMERIC -> error(c, op, DELTA_BADVAL, opaque, NON_NUMERIC_TEXT);
                case BUSY -> error(c, op, EBUSY, opaque, BUSY_TEXT);
            default -> error(c, op, ENOMEM, opaque, NO_MEMORY_TEXT);
            }
            return;
        }
    }

    /**
     * stat: the text protocol's {@code stats [group]} reply, one response per {@code STAT} line
     * (its name as the key, its value as the value), then an empty response; a group the text
     * protocol does not know is NOT_FOUND_TEXT, as memcached answers.
     */
    private static void stat(final Connection c, final int op, final int keyAt, final int keyLen, final int opaque) {
        String group = new String(c.in, keyAt, keyLen, StandardCharsets.ISO_8859_1);
        // The groups memcached's binary stat serves: the general one, items, slabs, sizes, its
        // enable and disable, and reset as they are, settings whatever follows it, detail with on,
        // off or dump; any other, Not found.
        if (group.startsWith("settings")) {
            group = "settings";
        } else if (!List.of("", "items", "slabs", "sizes", "sizes_enable", "sizes_disable", "reset", "detail on",
            "detail off", "detail dump").contains(group)) {
            error(c, op, KEY_ENOENT, opaque, NOT_FOUND_TEXT);
            return;
        }
        final byte[] line = ("stats" + (group.isEmpty() ? "" : " " + group)).getBytes(StandardCharsets.ISO_8859_1);
        final Tokens t = c.worker.tokens;
        t.split(line, 0, line.length);
        final long mark = c.mark();
        StatsReply.stats(c, t);
        final byte[] text = c.copyFrom(mark);
        if (!c.truncate(mark)) {
            c.close();
            return;
        }
        final String reply = new String(text, StandardCharsets.ISO_8859_1);
        if (group.equals("detail dump")) {
            // The text reply, its END line included, as one value under the key "detailed", as memcached sends it.
            header(c, op, OK, DETAILED.length, 0, DETAILED.length + text.length, opaque, 0);
            c.put(DETAILED);
            c.put(text);
            empty(c, op, opaque, 0);
            return;
        }
        if (!reply.startsWith("STAT ") && !reply.startsWith("END") && !reply.startsWith("RESET")
            && !reply.startsWith("OK")) {
            error(c, op, KEY_ENOENT, opaque, NOT_FOUND_TEXT);
            return;
        }
        for (final String l : reply.split("\r\n")) {
            if (l.startsWith("STAT ")) {
                final int sp = l.indexOf(' ', 5);
                final byte[] name = l.substring(5, sp < 0 ? l.length() : sp).getBytes(StandardCharsets.ISO_8859_1);
                final byte[] value = sp < 0 ? new byte[0] : l.substring(sp + 1).getBytes(StandardCharsets.ISO_8859_1);
                header(c, op, OK, name.length, 0, name.length + value.length, opaque, 0);
                c.put(name);
                c.put(value);
            }
        }
        if (!group.startsWith("sizes_")) { // memcached ends those two without the empty response, as their text has no END
            empty(c, op, opaque, 0);
        }
    }

    // ------------------------------------------------------------------ replies

    /** A storage command whose value the server has no memory for now (its data is dropped as it comes). */
    static void outOfMemory(final Connection c, final int op, final int opaque) {
        error(c, op, ENOMEM, opaque, NO_MEMORY_TEXT);
    }

    /**
     * The request being run met a damaged store, or a store file cut short: an Internal error
     * response to it carrying {@code text} (the text protocol's {@code SERVER_ERROR} line says the
     * same); the caller closes.
     */
    static void storeFailed(final Connection c, final String text) {
        error(c, c.binaryOp, INTERNAL_ERROR, c.binaryOpaque, ascii(text));
    }

    /** EINVAL, then the connection closes once it is written, as memcached does. */
    private static void invalid(final Connection c, final int op, final int opaque) {
        error(c, op, EINVAL, opaque, INVALID_TEXT);
        c.quit();
    }

    /**
     * An error reply. memcached sends it at once, with the replies it held before it (a success's
     * reply waits for the next error, noop or wait for input): a flush point.
     */
    private static void error(final Connection c, final int op, final int status, final int opaque, final byte[] text) {
        header(c, op, status, 0, 0, text.length, opaque, 0);
        c.put(text);
        c.flushPoint();
    }

    private static byte[] ascii(final String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static void empty(final Connection c, final int op, final int opaque, final long cas) {
        header(c, op, OK, 0, 0, 0, opaque, cas);
    }

    private static void header(final Connection c, final int op, final int status, final int keyLen, final int extLen,
                               final int bodyLen, final int opaque, final long cas) {
        final byte[] b = c.reserve(HEADER);
        final int p = c.outLimit();
        b[p] = RESPONSE_MAGIC;
        b[p + 1] = (byte) op;
        b[p + 2] = (byte) (keyLen >>> 8);
        b[p + 3] = (byte) keyLen;
        b[p + 4] = (byte) extLen;
        b[p + 5] = 0; // data type: raw bytes
        b[p + 6] = (byte) (status >>> 8);
        b[p + 7] = (byte) status;
        writeInt(b, p + 8, bodyLen);
        writeInt(b, p + 12, opaque);
        writeInt(b, p + 16, (int) (cas >>> 32));
        writeInt(b, p + 20, (int) cas);
        c.advance(HEADER);
    }

    private static void putInt(final Connection c, final int v) {
        final byte[] b = c.reserve(4);
        writeInt(b, c.outLimit(), v);
        c.advance(4);
    }

    private static void putLong(final Connection c, final long v) {
        putInt(c, (int) (v >>> 32));
        putInt(c, (int) v);
    }

    private static void writeInt(final byte[] b, final int p, final int v) {
        b[p] = (byte) (v >>> 24);
        b[p + 1] = (byte) (v >>> 16);
        b[p + 2] = (byte) (v >>> 8);
        b[p + 3] = (byte) v;
    }

    private static int u16(final byte[] b, final int p) {
        return (b[p] & 0xff) << 8 | b[p + 1] & 0xff;
    }

    private static int i32(final byte[] b, final int p) {
        return (b[p] & 0xff) << 24 | (b[p + 1] & 0xff) << 16 | (b[p + 2] & 0xff) << 8 | b[p + 3] & 0xff;
    }

    private static long u32(final byte[] b, final int p) {
        return Integer.toUnsignedLong(i32(b, p));
    }

    private static long i64(final byte[] b, final int p) {
        return (long) i32(b, p) << 32 | u32(b, p + 4);
    }
}
