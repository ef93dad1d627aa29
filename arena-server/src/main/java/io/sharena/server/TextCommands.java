package io.sharena.server;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreMode;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * memcached's classic text commands, with memcached's checks in memcached's order, so that every
 * malformed line gets the reply memcached gives it: token counts first ({@code ERROR}), then
 * {@code noreply}, key length, numbers ({@code CLIENT_ERROR ...}), sizes.
 */
final class TextCommands {
    static final int KEY_MAX = SharedStore.MAX_KEY;
    static final String BAD_FORMAT = "CLIENT_ERROR bad command line format";

    private TextCommands() {
    }

    static void dispatch(final Connection c, final int from, final int end) {
        final Tokens t = c.worker.tokens;
        t.split(c.in, from, end);
        c.noreply = false;
        final int n = t.count;
        if (n < 2 || t.len[0] < 2) {
            c.reply("ERROR");
            return;
        }
        final byte first = t.first(0);
        if (first == 'm' && t.len[0] == 2) {
            MetaCommands.dispatch(c, t, t.buf[t.off[0] + 1]);
            return;
        }
        switch (first) {
            case 'g' -> {
                if (n < 3) {
                    c.reply("ERROR");
                } else if (t.is(0, "get")) {
                    startGet(c, t, false, false);
                } else if (t.is(0, "gets")) {
                    startGet(c, t, true, false);
                } else if (t.is(0, "gat")) {
                    startGet(c, t, false, true);
                } else if (t.is(0, "gats")) {
                    startGet(c, t, true, true);
                } else {
                    c.reply("ERROR");
                }
            }
            case 's' -> {
                if (t.is(0, "set")) {
                    update(c, t, PendingStore.SET, 6, 7);
                } else if (t.is(0, "stats")) {
                    StatsReply.stats(c, t);
                } else if (t.is(0, "shutdown")) {
                    shutdown(c, t);
                } else if (t.is(0, "slabs")) {
                    StatsReply.slabs(c, t);
                } else {
                    c.reply("ERROR");
                }
            }
            case 'a' -> {
                if (t.is(0, "add")) {
                    update(c, t, PendingStore.ADD, 6, 7);
                } else if (t.is(0, "append")) {
                    update(c, t, PendingStore.APPEND, 6, 7);
                } else {
                    c.reply("ERROR");
                }
            }
            case 'c' -> {
                if (t.is(0, "cas")) {
                    update(c, t, PendingStore.CAS, 7, 8);
                } else if (t.is(0, "cache_memlimit") && (n == 3 || n == 4)) {
                    StatsReply.memLimit(c, t);
                } else {
                    c.reply("ERROR");
                }
            }
            case 'i' -> {
                if (t.is(0, "incr") && (n == 4 || n == 5)) {
                    arithmetic(c, t, true);
                } else {
                    c.reply("ERROR");
                }
            }
            case 'd' -> {
                if (t.is(0, "delete") && n >= 3 && n <= 5) {
                    delete(c, t);
                } else if (t.is(0, "decr") && (n == 4 || n == 5)) {
                    arithmetic(c, t, false);
                } else {
                    c.reply("ERROR");
                }
            }
            case 't' -> {
                if (t.is(0, "touch") && (n == 4 || n == 5)) {
                    touch(c, t);
                } else {
                    c.reply("ERROR");
                }
            }
            default -> other(c, t, n);
        }
    }

    private static void other(final Connection c, final Tokens t, final int n) {
        if (t.is(0, "replace")) {
            update(c, t, PendingStore.REPLACE, 6, 7);
        } else if (t.is(0, "prepend")) {
            update(c, t, PendingStore.PREPEND, 6, 7);
        } else if (t.is(0, "bget") && n >= 3) {
            startGet(c, t, false, false);
        } else if (t.is(0, "flush_all") && n >= 2 && n <= 4) {
            flushAll(c, t);
        } else if (t.is(0, "lru_crawler")) {
            LruCrawler.command(c, t);
        } else if (t.is(0, "lru") && n >= 3) {
            StatsReply.lru(c, t);
        } else if (t.is(0, "version")) {
            c.reply("VERSION " + MemcachedServer.VERSION);
        } else if (t.is(0, "quit")) {
            c.quit();
        } else if (t.is(0, "verbosity") && (n == 3 || n == 4)) {
            setNoreplyMaybe(c, t);
            final long level = Ascii.parseU32(t.buf, t.off[1], t.len[1]);
            if (level != Ascii.BAD) {
                c.worker.server.verbosity = (int) Math.min(level, 2);
            }
            c.reply(level == Ascii.BAD ? BAD_FORMAT : "OK");
        } else if (t.len[n - 2] >= 5 && startsWith(t, n - 2, "HTTP/") && !known(t)) {
            // As memcached: an HTTP request line is not a client that will ever speak the
            // protocol. The connection closes once the replies memcached would have sent by then
            // are out (up to its last get, mn or wait for input), the others dropped.
            c.hangUpAfterFlushPoint();
        } else {
            c.reply("ERROR");
        }
    }

    /** @return whether the command is one memcached knows (with a wrong number of tokens) */
    private static boolean known(final Tokens t) {
        return t.is(0, "flush_all") || t.is(0, "verbosity") || t.is(0, "bget") || t.is(0, "lru_crawler")
            || t.is(0, "watch") || t.is(0, "lru");
    }

    private static boolean startsWith(final Tokens t, final int i, final String prefix) {
        for (int k = 0; k < prefix.length(); k++) {
            if (t.buf[t.off[i] + k] != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** memcached's set_noreply_maybe: the last real token is "noreply". */
    /**
     * memcached's {@code shutdown [graceful]}: refused unless enabled; else the connection closes
     * with no reply and the server stops (both modes alike: every item is already in the store file).
     */
    private static void shutdown(final Connection c, final Tokens t) {
        if (!c.worker.server.options().shutdownCommand()) {
            c.reply("ERROR: shutdown not enabled");
        } else if (t.count == 2 || t.count == 3 && t.is(1, "graceful")) {
            c.quit();
            c.worker.server.shutdownByCommand();
        } else {
            c.reply("CLIENT_ERROR invalid shutdown mode");
        }
    }

    static void setNoreplyMaybe(final Connection c, final Tokens t) {
        final int i = t.count - 2;
        if (i >= 0 && t.is(i, "noreply")) {
            c.noreply = true;
        }
    }

    // ------------------------------------------------------------------ storage

    private static void update(final Connection c, final Tokens t, final int kind, final int a, final int b) {
        if (t.count != a && t.count != b) {
            c.reply("ERROR");
            return;
        }
        setNoreplyMaybe(c, t);
        if (t.len[1] > KEY_MAX) {
            c.reply(BAD_FORMAT);
            return;
        }
        final long flags = Ascii.parseU32(t.buf, t.off[2], t.len[2]);
        final long exptime = flags == Ascii.BAD ? Ascii.BAD : Ascii.parseI32(t.buf, t.off[3], t.len[3]);
        final long vlen = exptime == Ascii.BAD ? Ascii.BAD : Ascii.parseI32(t.buf, t.off[4], t.len[4]);
        if (vlen == Ascii.BAD) {
            c.reply(BAD_FORMAT);
            return;
        }
        final long[] cas = c.worker.number;
        cas[0] = 0;
        if (kind == PendingStore.CAS && !Ascii.parseU64(t.buf, t.off[5], t.len[5], cas)) {
            c.reply(BAD_FORMAT);
            return;
        }
        if (vlen < 0 || vlen > Integer.MAX_VALUE - 2) {
            c.reply(BAD_FORMAT);
            return;
        }
        final PrefixStats detail = c.worker.server.prefixStats;
        if (detail.enabled()) {
            detail.recordSet(t.buf, t.off[1], t.len[1]);
        }
        final SharedStore store = c.worker.server.store();
        if (vlen > store.maxItemSize()) {
            c.worker.server.storeTooLarge.increment();
            final long held = c.unsentFrom();
            c.reply("SERVER_ERROR object too large for cache");
            c.beginSwallowThenReply(vlen + 2, held, false); // answered once the value has been skipped, as memcached does
            if (kind == PendingStore.SET) {
                // As memcached: a failed set must not leave the old value readable.
                store.discard(c.worker.key(t.buf, t.off[1], t.len[1]));
            }
            return;
        }
        final PendingStore p = c.pending;
        p.kind = kind;
        p.key = c.worker.takeKey(t.buf, t.off[1], t.len[1]);
        p.pooledKey = true;
        p.flags = (int) flags;
        p.exptime = exptime;
        p.cas = cas[0];
        p.meta = false;
        c.beginData((int) vlen);
    }

    static void completeStore(final Connection c, final boolean good) {
        if (!good) {
            c.reply("CLIENT_ERROR bad data chunk"); // a reservation held is given up by the release that follows
            return;
        }
        final PendingStore p = c.pending;
        final StoreResult r = concatenated(p.kind, p.inPlace == null ? store(c, p)
            : c.worker.server.store().commit(p.reservation, MetaCommands.mode(p.kind),
                p.kind == PendingStore.CAS ? p.cas : SharedStore.ANY_CAS, false, null));
        c.reply(switch (r) {
            case STORED -> "STORED";
            case NOT_STORED -> "NOT_STORED";
            case EXISTS -> "EXISTS";
            case NOT_FOUND -> "NOT_FOUND";
            default -> storeFailure(c, r);
        });
    }

    /**
     * An append or prepend whose result would be larger than the largest item is not stored, and
     * memcached says so as it says it for a miss ({@code NOT_STORED}, meta's {@code NS}): the
     * value sent was within the limit, only the item it would make is not. The old item stays.
     */
    static StoreResult concatenated(final int kind, final StoreResult r) {
        return r == StoreResult.TOO_LARGE && (kind == PendingStore.APPEND || kind == PendingStore.PREPEND)
            ? StoreResult.NOT_STORED : r;
    }

    static StoreResult store(final Connection c, final PendingStore p) {
        final SharedStore s = c.worker.server.store();
        return switch (p.kind) {
            case PendingStore.SET -> s.set(p.key, p.value, p.flags, p.exptime);
            case PendingStore.ADD -> s.add(p.key, p.value, p.flags, p.exptime);
            case PendingStore.REPLACE -> s.replace(p.key, p.value, p.flags, p.exptime);
            case PendingStore.APPEND -> s.append(p.key, p.value);
            case PendingStore.PREPEND -> s.prepend(p.key, p.value);
            default -> s.cas(p.key, p.value, p.flags, p.exptime, p.cas);
        };
    }

    /** {@link #serverError}, for a storage command: a refusal counts in {@code store_too_large} or {@code store_no_memory}. */
    static String storeFailure(final Connection c, final StoreResult r) {
        if (r == StoreResult.TOO_LARGE) {
            c.worker.server.storeTooLarge.increment();
        } else if (r == StoreResult.NO_MEMORY) {
            c.worker.server.storeNoMemory.increment();
        }
        return serverError(r);
    }

    /** The SERVER_ERROR line for a store outcome that is not a protocol answer. */
    static String serverError(final StoreResult r) {
        return switch (r) {
            case TOO_LARGE -> "SERVER_ERROR object too large for cache";
            case NO_MEMORY -> "SERVER_ERROR out of memory storing object";
            case BUSY -> "SERVER_ERROR busy: a stopped process holds a lock of the store";
            default -> "SERVER_ERROR unexpected store result " + r;
        };
    }

    // ------------------------------------------------------------------ retrieval

    private static void startGet(final Connection c, final Tokens t, final boolean cas, final boolean touch) {
        int keyToken = 1;
        long exptime = 0;
        if (touch) {
            exptime = Ascii.parseI32(t.buf, t.off[1], t.len[1]);
            if (exptime == Ascii.BAD) {
                c.reply("CLIENT_ERROR invalid exptime argument");
                return;
            }
            keyToken = 2;
        }
        c.getPos = t.off[keyToken - 1] + t.len[keyToken - 1];
        c.getEnd = lineEnd(t);
        c.getCas = cas;
        c.getTouch = touch;
        c.getExptime = exptime;
        c.getMark = c.mark();
        c.prefetchedTo = c.getPos;
        c.state = Connection.State.GET;
        if (!touch && t.count == 3 && !c.getOpen) {
            prefetchLines(c, t.off[1], t.len[1]);
        }
    }

    /**
     * A read of one key ({@code get} or {@code gets} of one key, or {@code mg}): when the input that
     * has arrived holds more whole lines of those commands after it (a client pipelining its reads
     * without merging them into one line), starts the store look-ups of their first keys together
     * with this one, up to a batch, as {@link #prefetchKeys} does for the keys of one line. A hint
     * only: each line is still answered by its own command, whatever the look-ahead saw (a base64
     * key is looked up as written, which finds nothing and costs only the look-up).
     */
    static void prefetchLines(final Connection c, final int keyOff, final int keyLen) {
        if (keyOff < c.linesPrefetchedTo || keyLen > KEY_MAX) {
            return; // this line was in the last batch, or its get refuses its key
        }
        final byte[] in = c.in;
        final int lim = c.inLim;
        final Worker w = c.worker;
        final int[] offsets = w.prefetchOffsets;
        final int[] lengths = w.prefetchLengths;
        offsets[0] = keyOff;
        lengths[0] = keyLen;
        int n = 1;
        int p = c.inPos; // the next line's start
        while (n < offsets.length) {
            final int k = Ascii.startsWith(in, p, lim, "get ") ? p + 4 : Ascii.startsWith(in, p, lim, "gets ") ? p + 5
                : Ascii.startsWith(in, p, lim, "mg ") ? p + 3 : -1;
            if (k < 0) {
                break;
            }
            int e = k;
            while (e < lim && in[e] != ' ' && in[e] != '\r' && in[e] != '\n') {
                e++;
            }
            int nl = e;
            while (nl < lim && in[nl] != '\n') {
                nl++;
            }
            if (nl == lim || e == k || e - k > KEY_MAX) {
                break; // not a whole line with a key: its own dispatch will see what it is
            }
            offsets[n] = k;
            lengths[n] = e - k;
            n++;
            p = nl + 1;
        }
        c.linesPrefetchedTo = p;
        if (n > 1) {
            w.reader.prefetch(in, offsets, lengths, n);
        }
    }

    private static int lineEnd(final Tokens t) {
        // Keys past the tokenizer's 23 tokens are split as they come, as memcached re-tokenizes the rest.
        return t.lineEnd;
    }

    /**
     * Answers keys of the get in progress until the line ends, the output is over its bound or the
     * turn's share of keys is spent ({@link Connection#keysLeft}).
     *
     * @return whether it made progress (false: paused until the output drains)
     */
    static boolean continueGet(final Connection c) {
        final byte[] in = c.in;
        final int highWater = c.worker.server.options().outputHighWater();
        int answered = 0;
        while (c.pendingOutput() < highWater && !c.isClosed()) {
            int p = c.getPos;
            while (p < c.getEnd && in[p] == ' ') {
                p++;
            }
            if (p >= c.getEnd) {
                if (!c.getOpen) {
                    c.putAscii("END\r\n");
                    c.flushPoint();
                }
                c.state = Connection.State.LINE; // an open line goes on as the rest of it comes
                return true;
            }
            if (!c.keysLeft()) {
                // The turn's share is spent: the rest of the line is answered in the next turn.
                c.getPos = p;
                return answered > 0;
            }
            if (p >= c.prefetchedTo) {
                c.prefetchedTo = prefetchKeys(c, p);
            }
            int e = p;
            while (e < c.getEnd && in[e] != ' ') {
                e++;
            }
            c.getPos = e;
            if (e - p > KEY_MAX) {
                return c.badGetKey();
            }
            final byte[] key = c.worker.key(in, p, e - p);
            final boolean hit = getOne(c, key, c.getCas, c.getTouch, c.getExptime);
            final PrefixStats detail = c.worker.server.prefixStats;
            if (detail.enabled()) {
                detail.recordGet(in, p, e - p, hit);
            }
            answered++;
            c.spend(1);
        }
        return answered > 0;
    }

    /**
     * Starts the store look-ups of the next keys of a multi-key get together (up to a batch of
     * them, see {@code StoreReader.prefetch}), so that their cache misses overlap instead of
     * coming one key after another. A lone key is left to its get.
     *
     * @return where the keys prefetched end in the line (the line's end when nothing more will be)
     */
    private static int prefetchKeys(final Connection c, final int from) {
        final byte[] in = c.in;
        final Worker w = c.worker;
        final int[] offsets = w.prefetchOffsets;
        final int[] lengths = w.prefetchLengths;
        int n = 0;
        int p = from;
        while (n < offsets.length) {
            while (p < c.getEnd && in[p] == ' ') {
                p++;
            }
            int e = p;
            while (e < c.getEnd && in[e] != ' ') {
                e++;
            }
            if (e == p || e - p > KEY_MAX) {
                // The line's end, or a key its get will refuse: the look-ahead stops before it.
                break;
            }
            offsets[n] = p;
            lengths[n] = e - p;
            n++;
            p = e;
        }
        if (n < 2) {
            return c.getEnd;
        }
        w.reader.prefetch(in, offsets, lengths, n);
        return p;
    }

    /**
     * One key of a get, or of a gat ({@code touch}): that one sets the expiry and reads the item in
     * one store step, counted as memcached counts gat, as a touch and not as a get. A busy lock (a
     * stopped process holds it) is answered as a miss, as on a timeout.
     *
     * @return whether the key was a hit
     */
    private static boolean getOne(final Connection c, final byte[] key, final boolean withCas, final boolean touch,
                                  final long exptime) {
        final StoreReader r = c.worker.reader;
        while (touch ? r.getAndTouch(key, exptime, true) == StoreResult.TOUCHED : r.get(key)) {
            final long mark = c.mark();
            final int len = r.valueLength();
            try {
                valueHeader(c, key, r.flags(), len, r.cas(), withCas);
                if (len >= Connection.IN_PLACE_MIN && c.sendInPlace(r, len)) {
                    return true;
                }
                if (copyValue(c, r, len)) {
                    return true;
                }
            } catch (final Connection.BufferLimitException | io.sharena.core.ArenaCorruptedException | InternalError e) {
                c.dropReply(mark); // no VALUE line whose data never comes (a cut file faults in the copy)
                throw e;
            }
            // The item was reclaimed while copied: drop its header and read it again, unless some of
            // the header went out already (the reply cannot be taken back: hang up).
            if (!c.truncate(mark)) {
                c.close();
                return true;
            }
        }
        return false;
    }

    /**
     * Copies the value the reader found, and CR LF, into the output.
     *
     * @return false if the item was reclaimed while copied (nothing was committed; read it again)
     */
    static boolean copyValue(final Connection c, final StoreReader r, final int len) {
        final byte[] dst = c.reserve(len + 2);
        // From the whole mapping at the value's offset: no slice object per value.
        MemorySegment.copy(r.memory(), ValueLayout.JAVA_BYTE, r.valueOffset(), dst, c.outLimit(), len);
        if (!r.validate()) {
            return false;
        }
        c.advance(len);
        c.crlf();
        return true;
    }

    static void valueHeader(final Connection c, final byte[] key, final int flags, final int len, final long cas,
                            final boolean withCas) {
        c.putAscii("VALUE ");
        c.put(key);
        c.putByte(' ');
        c.putUnsigned(Integer.toUnsignedLong(flags));
        c.putByte(' ');
        c.putUnsigned(len);
        if (withCas) {
            c.putByte(' ');
            c.putUnsigned(cas);
        }
        c.crlf();
    }

    // ------------------------------------------------------------------ the rest

    private static void arithmetic(final Connection c, final Tokens t, final boolean incr) {
        setNoreplyMaybe(c, t);
        if (t.len[1] > KEY_MAX) {
            c.reply(BAD_FORMAT);
            return;
        }
        final long[] delta = c.worker.number;
        if (!Ascii.parseU64(t.buf, t.off[2], t.len[2], delta)) {
            c.reply("CLIENT_ERROR invalid numeric delta argument");
            return;
        }
        final SharedStore s = c.worker.server.store();
        final byte[] key = c.worker.key(t.buf, t.off[1], t.len[1]);
        StoreResult r = s.count(key, delta[0], incr, SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY, c.heldCas(key), delta);
        if (r == StoreResult.NON_NUMERIC) {
            r = lenientArithmetic(c, key, delta[0], incr, SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY, delta);
        }
        c.reply(switch (r) {
            case STORED -> Long.toUnsignedString(delta[0]);
            case NOT_FOUND -> "NOT_FOUND";
            case NON_NUMERIC -> "CLIENT_ERROR cannot increment or decrement non-numeric value";
            case NO_MEMORY -> "SERVER_ERROR out of memory";
            default -> serverError(r);
        });
    }

    /**
     * incr, decr and ma on a value the store's counters do not take for a number but memcached
     * does: memcached reads the value with {@code strtoull}, so leading white space, a sign
     * ({@code +5}, {@code -0}, and a minus on a number of 2^63 or more, which wraps), and anything
     * after white space or a NUL that follows the digits are accepted. Such a value is counted here
     * by a compare-and-set loop on the item's CAS, keeping its flags and expiry (or setting
     * {@code exptime}, unless {@link SharedStore#KEEP_EXPIRY}). A value of white space only is not
     * a number here: memcached's parse runs past the value's end into whatever memory follows it.
     *
     * @param result as the store's counters fill it: the new value, and with three longs, the new
     *               CAS and expiry
     * @return STORED, NOT_FOUND, EXISTS (only when {@code expectedCas} is not ANY_CAS), NON_NUMERIC,
     *     or the store's error
     */
    static StoreResult lenientArithmetic(final Connection c, final byte[] key, final long delta, final boolean incr,
                                         final long expectedCas, final long exptime, final long[] result) {
        final SharedStore s = c.worker.server.store();
        final StoreReader reader = c.worker.reader;
        final long[] number = new long[1];
        final long[] casOut = new long[1];
        while (true) {
            // Not bumped, not counted as a get: memcached's counters leave the fetched mark and access
            // time alone, and count only their own hit or miss.
            if (!reader.peek(key)) {
                return StoreResult.NOT_FOUND;
            }
            final byte[] v = new byte[reader.valueLength()];
            if (!reader.copyValue(v, 0)) {
                continue; // replaced while copied
            }
            final int flags = reader.flags();
            final long itemCas = reader.cas();
            final long itemExpires = reader.expires();
            if (v.length == 0) {
                return StoreResult.NON_NUMERIC; // before the CAS, as memcached checks
            }
            if (expectedCas != SharedStore.ANY_CAS && itemCas != expectedCas) {
                return StoreResult.EXISTS;
            }
            int end = 0;
            while (end < v.length && v[end] != 0) {
                end++;
            }
            if (!Ascii.parseU64(v, 0, end, number)) {
                return StoreResult.NON_NUMERIC;
            }
            final long value = number[0];
            final long next = incr ? value + delta : Long.compareUnsigned(value, delta) <= 0 ? 0 : value - delta;
            final long expires = exptime == SharedStore.KEEP_EXPIRY ? itemExpires : exptime;
            final byte[] digits = padded(Long.toUnsignedString(next).getBytes(StandardCharsets.US_ASCII), v.length);
            final StoreResult r = s.store(StoreMode.CAS, key, digits, flags, expires, itemCas, false, casOut);
            if (r == StoreResult.STORED) {
                result[0] = next;
                if (result.length >= 3) {
                    result[1] = casOut[0];
                    result[2] = exptime == SharedStore.KEEP_EXPIRY ? itemExpires
                        : MetaCommands.absoluteExpiry(exptime, MetaCommands.now());
                }
                return r;
            }
            if (r != StoreResult.EXISTS && r != StoreResult.NOT_FOUND) {
                return r;
            }
            // Replaced or deleted meanwhile: read it again.
        }
    }

    /** {@code digits}, padded with spaces to {@code length} if shorter: a counter keeps its length, as in the store. */
    private static byte[] padded(final byte[] digits, final int length) {
        if (digits.length >= length) {
            return digits;
        }
        final byte[] out = Arrays.copyOf(digits, length);
        Arrays.fill(out, digits.length, length, (byte) ' ');
        return out;
    }

    private static void delete(final Connection c, final Tokens t) {
        final int n = t.count;
        if (n > 3) {
            final boolean holdIsZero = t.is(2, "0");
            setNoreplyMaybe(c, t);
            final boolean valid = (n == 4 && (holdIsZero || c.noreply)) || (n == 5 && holdIsZero && c.noreply);
            if (!valid) {
                c.reply("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
                return;
            }
        }
        if (t.len[1] > KEY_MAX) {
            c.reply(BAD_FORMAT);
            return;
        }
        final PrefixStats detail = c.worker.server.prefixStats;
        if (detail.enabled()) {
            detail.recordDelete(t.buf, t.off[1], t.len[1]);
        }
        final StoreResult r = c.worker.server.store().delete(c.worker.key(t.buf, t.off[1], t.len[1]));
        c.reply(r == StoreResult.DELETED ? "DELETED" : r == StoreResult.NOT_FOUND ? "NOT_FOUND" : serverError(r));
    }

    private static void touch(final Connection c, final Tokens t) {
        setNoreplyMaybe(c, t);
        if (t.len[1] > KEY_MAX) {
            c.reply(BAD_FORMAT);
            return;
        }
        final long exptime = Ascii.parseI32(t.buf, t.off[2], t.len[2]);
        if (exptime == Ascii.BAD) {
            c.reply("CLIENT_ERROR invalid exptime argument");
            return;
        }
        // Through the reader, which marks the item fetched: memcached's touch bumps it as a read does
        // (a later mg h answers h1).
        final StoreResult r = c.worker.reader.getAndTouch(c.worker.key(t.buf, t.off[1], t.len[1]), exptime, true);
        c.reply(r == StoreResult.TOUCHED ? "TOUCHED" : r == StoreResult.NOT_FOUND ? "NOT_FOUND" : serverError(r));
    }

    private static void flushAll(final Connection c, final Tokens t) {
        setNoreplyMaybe(c, t);
        long exptime = 0;
        if (t.count != (c.noreply ? 3 : 2)) {
            exptime = Ascii.parseI32(t.buf, t.off[1], t.len[1]);
            if (exptime == Ascii.BAD) {
                c.reply("CLIENT_ERROR invalid exptime argument");
                return;
            }
        }
        final long delay = exptime > SharedStore.RELATIVE_EXPIRY_LIMIT
            ? exptime - System.currentTimeMillis() / 1000 // an absolute time
            : exptime;
        // memcached hides items from its oldest_live on, which it sets to the flush's time less
        // one second: a delay of N flushes N - 1 seconds from now, so a delay of 1, like 0, flushes
        // at once, and so does an absolute time less than two seconds ahead or already past.
        c.worker.server.store().flushAll(delay - 1);
        c.reply("OK");
    }
}
