package io.sharena.server;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreMode;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;

import java.util.Base64;

/**
 * memcached's meta commands: {@code mg}, {@code ms}, {@code md}, {@code ma}, {@code me}, {@code mn}.
 * Replies are built as memcached builds them: status code, then the requested flags in the order
 * the request gave them, then (mg) {@code Z}, {@code X}, {@code W}, then the value. Quiet mode
 * ({@code q}) hides the nominal reply (a miss for {@code mg}, success for the others); errors are
 * always sent.
 *
 * <p>What a command changes is one store step: the CAS {@code ms c} returns is the stored item's,
 * {@code md C} and {@code ma C} compare and act at once, {@code ma T} sets the TTL in the same
 * step, {@code mg W} is an atomic claim of the item's token bit (one winner per item version,
 * across processes). Two answers are read apart from the step, and a writer in between can make
 * them another item's:
 * <ul>
 *   <li>when a {@code t} or {@code R} comes before {@code T} in an mg or ma, memcached shows (or
 *       compares) the TTL as it was before {@code T}, which is read just before
 *       ({@link #expiryBeforeTouch});</li>
 *   <li>{@code mg N} vivifies, then reads what it created.</li>
 * </ul>
 *
 * <p>A client's CAS of 2<sup>63</sup> or more (no item has one) is compared as
 * {@link Long#MAX_VALUE}: unmatched, and newer than every item's, as memcached's unsigned compare
 * finds it.
 */
final class MetaCommands {
    private static final int MAX_OPT_TOKENS = 20;
    static final int MAX_OPAQUE = 32;
    /** mg gives up vivifying after this many lost races (a miss is answered). */
    private static final int VIVIFY_TRIES = 4;

    private MetaCommands() {
    }

    static void dispatch(final Connection c, final Tokens t, final byte which) {
        switch (which) {
            case 'g' -> get(c, t);
            case 's' -> set(c, t);
            case 'd' -> delete(c, t);
            case 'a' -> arithmetic(c, t);
            case 'e' -> debug(c, t);
            case 'n' -> {
                c.putAscii("MN\r\n");
                c.flushPoint();
            }
            default -> c.reply("ERROR");
        }
    }

    /** An error reply: sent whatever the quiet flag says. */
    private static void error(final Connection c, final String line) {
        c.noreply = false;
        c.reply(line);
    }

    private static void putKey(final Connection c, final byte[] key, final boolean binary) {
        c.putAscii(" k");
        if (binary) {
            c.put(Base64.getEncoder().encode(key));
            c.putAscii(" b");
        } else {
            c.put(key);
        }
    }

    /** Echoes O and k flags (a miss or a failure). */
    private static void echoOpaqueAndKey(final Connection c, final Tokens t, final MetaFlags f) {
        for (int i = 2; i < t.count - 1; i++) {
            final byte o = t.first(i);
            if (o == 'O') {
                c.putByte(' ');
                c.put(t.buf, t.off[i], t.len[i]);
            } else if (o == 'k') {
                putKey(c, f.key, f.binaryKey);
            }
        }
    }

    private static boolean opaqueTooLong(final Tokens t, final int from) {
        for (int i = from; i < t.count - 1; i++) {
            if (t.first(i) == 'O' && t.len[i] > MAX_OPAQUE) {
                return true;
            }
        }
        return false;
    }

    /** @return the index of the first token from 2 that starts with {@code flag}, or {@code t.count} */
    private static int indexOf(final Tokens t, final byte flag) {
        for (int i = 2; i < t.count - 1; i++) {
            if (t.first(i) == flag) {
                return i;
            }
        }
        return t.count;
    }

    /** A client's CAS as the store compares it (see the class comment). */
    static long clientCas(final long cas) {
        return cas < 0 ? Long.MAX_VALUE : cas;
    }

    /** The second relative exptimes count from, and TTLs are shown against ({@link SharedStore#relativeBase}). */
    static long now() {
        return SharedStore.relativeBase(System.currentTimeMillis());
    }

    /**
     * TTL left as memcached prints it: -1 for never, else the seconds left as an unsigned 32-bit
     * number (a TTL already past, on an item a T in the same request moved into the past, wraps).
     */
    private static void putTtl(final Connection c, final long expires, final long now) {
        if (expires == 0) {
            c.putSigned(-1);
        } else {
            c.putUnsigned((expires - now) & 0xFFFF_FFFFL);
        }
    }

    /** An exptime as the absolute second the store gives the item ({@link SharedStore#expiresAt}). */
    static long absoluteExpiry(final long exptime, final long now) {
        return SharedStore.expiresAt(exptime, now);
    }

    /**
     * The expiry before an mg/ma's T applies, when memcached would show or compare it: a {@code t}
     * (or, for mg, {@code R}) before the {@code T}. Read with no bump; 0 when absent or not needed.
     */
    private static long expiryBeforeTouch(final Connection c, final Tokens t, final MetaFlags f, final boolean recache) {
        if (!f.hasTtl) {
            return 0;
        }
        final int before = Math.min(indexOf(t, (byte) 't'), recache ? indexOf(t, (byte) 'R') : t.count);
        if (before > f.ttlAt) {
            return 0;
        }
        final StoreReader r = c.worker.reader;
        return r.peek(f.key) ? r.expires() : 0; // memcached's own look-up: no get in the figures
    }

    // ------------------------------------------------------------------ mg

    private static void get(final Connection c, final Tokens t) {
        if (t.count < 3) {
            c.reply("ERROR");
            return;
        }
        if (t.len[1] > TextCommands.KEY_MAX) {
            error(c, TextCommands.BAD_FORMAT);
            return;
        }
        if (t.count > MAX_OPT_TOKENS) {
            error(c, "CLIENT_ERROR options flags are too long");
            return;
        }
        final MetaFlags f = c.worker.meta;
        if (!f.parse(c.worker, t, 2)) {
            error(c, f.error);
            return;
        }
        if (!f.binaryKey) {
            TextCommands.prefetchLines(c, t.off[1], t.len[1]);
        }
        c.noreply = f.quiet;
        final SharedStore store = c.worker.server.store();
        final StoreReader r = c.worker.reader;
        final int badOpaque = firstLongOpaque(t);
        if (badOpaque > 0) {
            lookUpUntil(store, r, t, f, badOpaque);
            error(c, "CLIENT_ERROR opaque token too long");
            return;
        }
        final long before = expiryBeforeTouch(c, t, f, true);
        boolean created = false;
        boolean touch = f.hasTtl;
        int tries = 0;
        while (true) {
            final boolean hit;
            if (touch && !r.peek(f.key) && !r.get(f.key, false)) {
                // memcached counts an mg T that misses as a get miss, and only a hit as a touch (an
                // item stored between the two look-ups is touched below).
                hit = false;
            } else if (touch) {
                hit = r.getAndTouch(f.key, f.ttl, !f.noBump) == StoreResult.TOUCHED; // BUSY: answered as a miss
            } else {
                hit = r.get(f.key, !f.noBump);
            }
            if (!hit) {
                if (f.vivify && !created && tries++ < VIVIFY_TRIES) {
                    // Of T and N, memcached applies the later one to a created item.
                    final long exptime = f.hasTtl && f.ttlAt > f.vivifyAt ? f.ttl : f.vivifyTtl;
                    final long[] casOut = c.worker.casOut;
                    final StoreResult v = store.vivify(f.key, exptime, casOut);
                    if (v == StoreResult.STORED && expiredOnArrival(exptime)) {
                        // memcached answers the item it created, though its TTL is past: nobody
                        // else ever sees it, and here nobody can read it back either.
                        expiredCreation(c, t, f, casOut[0]);
                        return;
                    }
                    if (v == StoreResult.STORED || v == StoreResult.NOT_STORED) {
                        created = v == StoreResult.STORED;
                        // A created item has its TTL already; one another client created is touched.
                        touch &= !created;
                        continue;
                    }
                }
                miss(c, t, f);
                return;
            }
            final long mark = c.mark();
            final int len = r.valueLength();
            try {
                hitHeader(c, t, f, r, len, created, before);
                if (f.value && len >= Connection.IN_PLACE_MIN && c.sendInPlace(r, len)
                    || (f.value ? TextCommands.copyValue(c, r, len) : r.validate())) {
                    c.hold(f.key, 0, f.key.length, r.cas()); // memcached holds the item until the reply is sent
                    return;
                }
            } catch (final Connection.BufferLimitException | io.sharena.core.ArenaCorruptedException | InternalError e) {
                c.dropReply(mark); // no VA line whose data never comes (a cut file faults in the copy)
                throw e;
            }
            // The item was replaced while read: read it again, unless some of this reply went out
            // already (it cannot be taken back: hang up).
            if (!c.truncate(mark)) {
                c.close();
                return;
            }
        }
    }

    /** @return the index of the first opaque token over {@value #MAX_OPAQUE} bytes, or 0 */
    private static int firstLongOpaque(final Tokens t) {
        for (int i = 2; i < t.count - 1; i++) {
            if (t.first(i) == 'O' && t.len[i] > MAX_OPAQUE) {
                return i;
            }
        }
        return 0;
    }

    /**
     * What an mg whose opaque at token {@code stop} is too long still does, as memcached does it:
     * memcached finds that error while it walks the flags to build the reply, after the lookup
     * (which vivifies the item with no TTL if N is given), and the flags before it have acted (T
     * touches; on a created item N and T set the TTL in turn). The lookup marks the item fetched
     * unless one of T, N, R, h, l is given: those make memcached look up under the item's lock and
     * bump it after the walk, which the error cuts short.
     */
    private static void lookUpUntil(final SharedStore store, final StoreReader r, final Tokens t, final MetaFlags f,
                                    final int stop) {
        final boolean touchBefore = f.hasTtl && f.ttlAt < stop;
        final boolean bumpLater = f.hasTtl || f.vivify || f.recache || indexOf(t, (byte) 'h') < t.count
            || indexOf(t, (byte) 'l') < t.count;
        if (r.get(f.key, !bumpLater && !f.noBump)) {
            if (touchBefore) {
                store.touch(f.key, f.ttl);
            }
            return;
        }
        if (f.vivify) {
            final boolean vivifyBefore = f.vivifyAt < stop;
            final long exptime = touchBefore && (!vivifyBefore || f.ttlAt > f.vivifyAt) ? f.ttl
                : vivifyBefore ? f.vivifyTtl : 0;
            // An item with no token sent: memcached marks the token when it answers W, which
            // this reply does not reach.
            store.add(f.key, new byte[0], 0, exptime);
        }
    }

    /**
     * The expiry a created item has at token {@code i}: memcached creates it with no TTL, then N
     * and T set theirs where they stand.
     */
    private static long createdExpiry(final MetaFlags f, final int i, final long now) {
        final boolean n = f.vivifyAt < i;
        final boolean tt = f.hasTtl && f.ttlAt < i;
        if (n && (!tt || f.vivifyAt > f.ttlAt)) {
            return absoluteExpiry(f.vivifyTtl, now);
        }
        return tt ? absoluteExpiry(f.ttl, now) : 0;
    }

    /** Whether an item stored now with {@code exptime} would be expired at once. */
    private static boolean expiredOnArrival(final long exptime) {
        final long expires = absoluteExpiry(exptime, now());
        return expires != 0 && expires <= System.currentTimeMillis() / 1000;
    }

    /** The reply to an mg that created an empty item whose TTL was already past. */
    private static void expiredCreation(final Connection c, final Tokens t, final MetaFlags f, final long cas) {
        header(c, t, f, null, 0, true, 0, cas);
        if (f.value) {
            c.crlf();
        }
    }

    private static void hitHeader(final Connection c, final Tokens t, final MetaFlags f, final StoreReader r,
                                  final int len, final boolean created, final long expiresBefore) {
        header(c, t, f, r, len, created, expiresBefore, 0);
    }

    /**
     * An mg's VA or HD line: of the item {@code r} read, or with {@code r} null, of an empty item
     * this request created already expired, whose CAS value is {@code createdCas}.
     */
    private static void header(final Connection c, final Tokens t, final MetaFlags f, final StoreReader r,
                               final int len, final boolean created, final long expiresBefore,
                               final long createdCas) {
        if (f.value) {
            c.putAscii("VA ");
            c.putUnsigned(len);
        } else {
            c.putAscii("HD");
        }
        final long now = now();
        final long expires = r == null ? createdExpiry(f, t.count, now) : r.expires();
        // The TTL at token i, as memcached sees it while it walks the flags in order: T (and, on a
        // created item, N) apply where they stand.
        final int setAt = created ? Math.max(f.vivifyAt, f.hasTtl ? f.ttlAt : 0) : f.hasTtl ? f.ttlAt : 0;
        final long seenBefore = created ? 0 : expiresBefore;
        boolean tokenSent = !created && r.tokenSent();
        boolean win = created;
        for (int i = 2; i < t.count - 1; i++) {
            switch (t.first(i)) {
                case 'R' -> {
                    final long e = i > setAt ? expires : created ? createdExpiry(f, i, now) : seenBefore;
                    if (!tokenSent && !created && e != 0 && e < absoluteExpiry(f.recacheTtl, now)) {
                        win = true;
                    }
                }
                case 's' -> {
                    c.putAscii(" s");
                    c.putUnsigned(len);
                }
                case 't' -> {
                    c.putAscii(" t");
                    putTtl(c, i > setAt ? expires : created ? createdExpiry(f, i, now) : seenBefore, now);
                }
                case 'c' -> {
                    c.putAscii(" c");
                    c.putUnsigned(r == null ? createdCas : r.cas());
                }
                case 'f' -> {
                    c.putAscii(" f");
                    c.putUnsigned(r == null ? 0 : Integer.toUnsignedLong(r.flags()));
                }
                case 'l' -> {
                    c.putAscii(" l");
                    c.putUnsigned(r == null ? 0 : r.secondsSinceAccess());
                }
                case 'h' -> c.putAscii(r != null && r.fetchedBefore() ? " h1" : " h0");
                case 'O' -> {
                    c.putByte(' ');
                    c.put(t.buf, t.off[i], t.len[i]);
                }
                // memcached echoes the key as the item was stored: base64 if an ms with b wrote it
                // (whatever form this request used); one mg created is not marked, its key goes back raw.
                case 'k' -> putKey(c, f.key, !created && r.binaryKey());
                default -> {
                }
            }
        }
        final boolean stale = r != null && r.stale();
        if (stale && !tokenSent) {
            win = true; // a stale item's first reader is sent to recache it
        }
        if (win && !created && !r.claimToken()) {
            // Another client claimed it first (or the item was just replaced): as if it had come
            // before this one, this reader sees the token already sent.
            win = false;
            tokenSent = true;
        }
        if (tokenSent) {
            c.putAscii(" Z");
        }
        if (stale) {
            c.putAscii(" X");
        }
        if (win) {
            c.putAscii(" W");
        }
        c.crlf();
    }

    private static void miss(final Connection c, final Tokens t, final MetaFlags f) {
        if (c.noreply) {
            return;
        }
        c.putAscii("EN");
        echoOpaqueAndKey(c, t, f);
        c.crlf();
    }

    // ------------------------------------------------------------------ ms

    private static void set(final Connection c, final Tokens t) {
        if (t.count < 3) {
            c.reply("ERROR");
            return;
        }
        if (t.len[1] > TextCommands.KEY_MAX || t.count == 3) {
            error(c, TextCommands.BAD_FORMAT);
            return;
        }
        if (t.count > MAX_OPT_TOKENS) {
            error(c, "CLIENT_ERROR options flags too long");
            return;
        }
        final long vlen = Ascii.parseI32(t.buf, t.off[2], t.len[2]);
        if (vlen == Ascii.BAD || vlen < 0 || vlen > Integer.MAX_VALUE - 2) {
            error(c, TextCommands.BAD_FORMAT);
            return;
        }
        final MetaFlags f = c.worker.meta;
        if (!f.parse(c.worker, t, 3)) {
            swallowWith(c, vlen, f.error);
            return;
        }
        c.noreply = f.quiet;
        final PendingStore p = c.pending;
        p.clear();
        String err = null;
        for (int i = 3; i < t.count - 1; i++) {
            switch (t.first(i)) {
                case 'O' -> {
                    if (t.len[i] > MAX_OPAQUE) {
                        err = "CLIENT_ERROR opaque token too long";
                    } else {
                        p.echo.append('O');
                        System.arraycopy(t.buf, t.off[i], p.opaque, 0, t.len[i]);
                        p.opaqueLength = t.len[i];
                    }
                }
                case 'k' -> p.echo.append('k');
                case 'c' -> p.echo.append('c');
                default -> {
                }
            }
        }
        int kind = switch (f.mode) {
            case 0, 'S' -> PendingStore.SET;
            case 'E' -> PendingStore.ADD;
            case 'A' -> PendingStore.APPEND;
            case 'P' -> PendingStore.PREPEND;
            case 'R' -> PendingStore.REPLACE;
            default -> -1;
        };
        if (kind < 0) {
            swallowWith(c, vlen, "CLIENT_ERROR invalid mode for ms M token");
            return;
        }
        if (f.hasCas && (kind == PendingStore.SET || kind == PendingStore.REPLACE)) {
            kind = PendingStore.CAS;
        }
        if (err != null) {
            swallowWith(c, vlen, err);
            return;
        }
        final SharedStore store = c.worker.server.store();
        if (vlen > store.maxItemSize()) {
            c.worker.server.storeTooLarge.increment();
            store.discard(f.key); // as memcached: a failed store leaves no stale value, and counts no delete
            swallowWith(c, vlen, "SERVER_ERROR object too large for cache");
            return;
        }
        p.kind = kind;
        if (f.binaryKey) {
            p.key = f.key;
        } else {
            p.key = c.worker.takeKey(t.buf, t.off[1], t.len[1]);
            p.pooledKey = true;
        }
        p.binaryKey = f.binaryKey;
        p.flags = (int) f.clientFlags;
        p.exptime = f.hasTtl ? f.ttl : 0;
        // memcached's CAS check: a C0 is "no CAS" to append/prepend (and so proceeds) but matches
        // no item in CAS mode; ms I applies in CAS mode only, and not to C0, which matches nothing.
        if (!f.hasCas || kind == PendingStore.ADD || f.cas == 0 && kind != PendingStore.CAS) {
            p.expectedCas = SharedStore.ANY_CAS;
        } else {
            p.expectedCas = clientCas(f.cas);
        }
        p.invalidate = f.invalidate && kind == PendingStore.CAS && f.cas != 0;
        p.meta = true;
        c.beginData((int) vlen);
    }

    /** Answers {@code error} once the data block has been skipped, as memcached does. */
    private static void swallowWith(final Connection c, final long vlen, final String error) {
        final long held = c.unsentFrom();
        error(c, error);
        c.beginSwallowThenReply(vlen + 2, held, false);
    }

    static StoreMode mode(final int kind) {
        return switch (kind) {
            case PendingStore.SET -> StoreMode.SET;
            case PendingStore.ADD -> StoreMode.ADD;
            case PendingStore.REPLACE -> StoreMode.REPLACE;
            case PendingStore.APPEND -> StoreMode.APPEND;
            case PendingStore.PREPEND -> StoreMode.PREPEND;
            default -> StoreMode.CAS;
        };
    }

    static void completeSet(final Connection c, final boolean good) {
        final PendingStore p = c.pending;
        if (!good) {
            error(c, "CLIENT_ERROR bad data chunk");
            return;
        }
        final long[] casOut = c.worker.casOut;
        casOut[0] = 0;
        final StoreResult r = TextCommands.concatenated(p.kind, c.worker.server.store().store(mode(p.kind), p.key,
            p.value, p.flags, p.exptime, p.expectedCas, p.invalidate, p.binaryKey, casOut));
        final String code = code(r);
        if (code == null) {
            error(c, TextCommands.storeFailure(c, r));
            return;
        }
        if (r == StoreResult.STORED && c.noreply) {
            return;
        }
        c.putAscii(code);
        for (int i = 0; i < p.echo.length(); i++) {
            switch (p.echo.charAt(i)) {
                case 'O' -> {
                    c.putByte(' ');
                    c.put(p.opaque, 0, p.opaqueLength);
                }
                case 'k' -> putKey(c, p.key, p.binaryKey);
                default -> {
                    // c: the CAS of the item this command stored (0 when it stored none), as memcached
                    c.putAscii(" c");
                    c.putUnsigned(r == StoreResult.STORED ? casOut[0] : 0);
                }
            }
        }
        c.crlf();
    }

    /** @return a store outcome's meta status code, or null for one answered as a SERVER_ERROR */
    private static String code(final StoreResult r) {
        return switch (r) {
            case STORED, DELETED -> "HD";
            case EXISTS -> "EX";
            case NOT_FOUND -> "NF";
            case NOT_STORED -> "NS";
            default -> null;
        };
    }

    // ------------------------------------------------------------------ md

    /**
     * The checks md and ma share, in memcached's order.
     *
     * @return the parsed flags, or null when the reply (an error) was given
     */
    private static MetaFlags deleteOrArithmeticFlags(final Connection c, final Tokens t) {
        if (t.count < 3) {
            c.reply("ERROR");
            return null;
        }
        if (t.len[1] > TextCommands.KEY_MAX) {
            c.reply(TextCommands.BAD_FORMAT);
            return null;
        }
        if (t.count > MAX_OPT_TOKENS) {
            c.reply("CLIENT_ERROR options flags too long");
            return null;
        }
        final MetaFlags f = c.worker.meta;
        if (!f.parse(c.worker, t, 2)) {
            error(c, "CLIENT_ERROR invalid or duplicate flag");
            return null;
        }
        c.noreply = f.quiet;
        return f;
    }

    private static void delete(final Connection c, final Tokens t) {
        final MetaFlags f = deleteOrArithmeticFlags(c, t);
        if (f == null) {
            return;
        }
        if (opaqueTooLong(t, 2)) {
            error(c, "CLIENT_ERROR opaque token too long");
            return;
        }
        final SharedStore store = c.worker.server.store();
        // md C compares whatever C says: a C0 matches no item (EX), as in memcached.
        final long cas = f.hasCas ? clientCas(f.cas) : SharedStore.ANY_CAS;
        final StoreResult r = f.invalidate
            ? store.invalidate(f.key, cas, f.hasTtl ? f.ttl : SharedStore.KEEP_EXPIRY)
            : store.delete(f.key, cas);
        final String code = code(r);
        if (code == null) {
            error(c, TextCommands.serverError(r));
            return;
        }
        if (r != StoreResult.NOT_FOUND && r != StoreResult.EXISTS && c.noreply) {
            return;
        }
        c.putAscii(code);
        echoOpaqueAndKey(c, t, f);
        c.crlf();
    }

    // ------------------------------------------------------------------ ma

    private static void arithmetic(final Connection c, final Tokens t) {
        final MetaFlags f = deleteOrArithmeticFlags(c, t);
        if (f == null) {
            return;
        }
        if (f.mode != 0 && "ID+-".indexOf(f.mode) < 0) {
            error(c, "CLIENT_ERROR invalid mode for ma M token");
            return;
        }
        final boolean incr = f.mode == 0 || f.mode == 'I' || f.mode == '+';
        final SharedStore store = c.worker.server.store();
        final long[] result = c.worker.counter;
        // memcached's counters take a C0 as "no CAS".
        final long cas = f.hasCas && f.cas != 0 ? clientCas(f.cas) : SharedStore.ANY_CAS;
        // memcached reports a too-long opaque while it walks the flags, after the counter moved:
        // of T and N, only those before that opaque have acted (a counter created without either
        // never expires).
        final int badOpaque = firstLongOpaque(t);
        final boolean ttlActs = f.hasTtl && (badOpaque == 0 || f.ttlAt < badOpaque);
        final boolean vivifyTtlActs = badOpaque == 0 || f.vivifyAt < badOpaque;
        final long exptime = ttlActs ? f.ttl : SharedStore.KEEP_EXPIRY;
        final long before = expiryBeforeTouch(c, t, f, false);
        StoreResult r = store.count(f.key, f.delta, incr, cas, exptime, c.heldCas(f.key), result);
        if (r == StoreResult.NON_NUMERIC) {
            r = TextCommands.lenientArithmetic(c, f.key, f.delta, incr, cas, exptime, result);
        } else if (r == StoreResult.EXISTS) {
            // memcached finds an empty value not a number before it compares the CAS.
            final StoreReader reader = c.worker.reader;
            if (reader.peek(f.key) && reader.valueLength() == 0) {
                r = StoreResult.NON_NUMERIC;
            }
        }
        boolean created = false;
        if (r == StoreResult.NOT_FOUND && f.vivify) {
            // A created counter: of T and N, memcached applies the later one.
            final long[] casOut = c.worker.casOut;
            final long createTtl = ttlActs && (f.ttlAt > f.vivifyAt || !vivifyTtlActs) ? f.ttl
                : vivifyTtlActs ? f.vivifyTtl : 0;
            final StoreResult add = store.store(StoreMode.ADD, f.key, digits(f.initial), 0, createTtl,
                SharedStore.ANY_CAS, false, casOut);
            if (add == StoreResult.STORED) {
                created = true;
                result[0] = f.initial;
                result[1] = casOut[0];
                result[2] = absoluteExpiry(createTtl, now());
                r = StoreResult.STORED;
            } else if (add == StoreResult.NOT_STORED) {
                r = store.count(f.key, f.delta, incr, cas, exptime, c.heldCas(f.key), result); // another client created it first
            } else {
                r = add;
            }
        }
        switch (r) {
            case STORED -> {
            }
            case NON_NUMERIC -> {
                error(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
                return;
            }
            case NO_MEMORY -> {
                error(c, "SERVER_ERROR out of memory");
                return;
            }
            case NOT_FOUND, EXISTS -> {
                if (opaqueTooLong(t, 2)) {
                    error(c, "CLIENT_ERROR opaque token too long");
                    return;
                }
                c.putAscii(r == StoreResult.NOT_FOUND ? "NF" : "EX");
                echoOpaqueAndKey(c, t, f);
                c.crlf();
                return;
            }
            default -> {
                error(c, TextCommands.serverError(r));
                return;
            }
        }
        if (opaqueTooLong(t, 2)) {
            error(c, "CLIENT_ERROR opaque token too long");
            return;
        }
        if (c.noreply && !created) {
            return; // as memcached, which answers a counter it created even in quiet mode
        }
        final long value = result[0];
        if (f.value) {
            c.putAscii("VA ");
            c.putUnsigned(digitCount(value));
        } else {
            c.putAscii("HD");
        }
        final long now = now();
        final int setAt = created ? Math.max(f.vivifyAt, f.hasTtl ? f.ttlAt : 0) : f.hasTtl ? f.ttlAt : 0;
        for (int i = 2; i < t.count - 1; i++) {
            switch (t.first(i)) {
                case 'c' -> {
                    c.putAscii(" c");
                    c.putUnsigned(result[1]);
                }
                case 't' -> {
                    c.putAscii(" t");
                    putTtl(c, created ? createdTtlAt(f, i, now) : i > setAt ? result[2] : before, now);
                }
                case 'O' -> {
                    c.putByte(' ');
                    c.put(t.buf, t.off[i], t.len[i]);
                }
                case 'k' -> putKey(c, f.key, f.binaryKey);
                default -> {
                }
            }
        }
        c.crlf();
        if (f.value) {
            c.putUnsigned(value);
            c.crlf();
        }
    }

    /**
     * The TTL an ma's {@code t} at token {@code i} shows for a counter the ma created: memcached
     * creates it with none, then sets N's TTL and T's as it walks the flags, so {@code t} shows
     * the later of those two that come before it.
     *
     * @return the expiry as {@link #absoluteExpiry} gives it, 0 for none
     */
    private static long createdTtlAt(final MetaFlags f, final int i, final long now) {
        final int vivifyAt = f.vivifyAt > 0 && f.vivifyAt < i ? f.vivifyAt : 0;
        final int ttlAt = f.hasTtl && f.ttlAt < i ? f.ttlAt : 0;
        if (vivifyAt == 0 && ttlAt == 0) {
            return 0;
        }
        return absoluteExpiry(ttlAt > vivifyAt ? f.ttl : f.vivifyTtl, now);
    }

    private static final long TEN_TO_THE_19 = Long.parseUnsignedLong("10000000000000000000");

    /** @return the decimal digits of an unsigned value */
    static int digitCount(final long v) {
        if (v < 0) {
            // 2^63 and above: 19 digits below 10^19, 20 from there
            return Long.compareUnsigned(v, TEN_TO_THE_19) < 0 ? 19 : 20;
        }
        int n = 1;
        for (long x = v; x >= 10; x /= 10) {
            n++;
        }
        return n;
    }

    /** @return the decimal form of an unsigned value (a new array: only a created counter needs one) */
    private static byte[] digits(final long v) {
        final byte[] out = new byte[digitCount(v)];
        long x = v;
        for (int i = out.length - 1; i >= 0; i--) {
            out[i] = (byte) ('0' + Long.remainderUnsigned(x, 10));
            x = Long.divideUnsigned(x, 10);
        }
        return out;
    }

    // ------------------------------------------------------------------ me

    private static void debug(final Connection c, final Tokens t) {
        if (t.count < 3 || t.len[1] > TextCommands.KEY_MAX) {
            c.reply(TextCommands.BAD_FORMAT);
            return;
        }
        byte[] key = c.worker.key(t.buf, t.off[1], t.len[1]);
        if (t.count >= 4 && t.len[2] == 1 && t.first(2) == 'b') {
            key = Base64Key.decode(t.buf, t.off[1], t.len[1]);
            if (key == null) {
                c.reply(TextCommands.BAD_FORMAT);
                return;
            }
        }
        final StoreReader r = c.worker.reader;
        if (key.length == 0 || !r.peek(key)) { // memcached counts no get for me
            c.reply("EN");
            return;
        }
        final long expires = r.expires();
        final long cas = r.cas();
        final int len = r.valueLength();
        final long idle = r.secondsSinceAccess();
        final boolean fetched = r.fetchedBefore();
        c.putAscii("ME ");
        // memcached prints the key as it was stored: base64 if an ms with b stored it.
        c.put(r.binaryKey() ? Base64.getEncoder().encode(key) : key);
        // exp as memcached prints it (now - expiry, -1 for never); cls and size are this store's
        // stand-ins for memcached's slab class and item size.
        c.putAscii(" exp=");
        c.putSigned(expires == 0 ? -1 : now() - expires);
        c.putAscii(" la=");
        c.putUnsigned(idle);
        c.putAscii(" cas=");
        c.putUnsigned(cas);
        c.putAscii(fetched ? " fetch=yes cls=1 size=" : " fetch=no cls=1 size=");
        c.putUnsigned(64 + key.length + len);
        c.crlf();
    }
}
