package io.sharena.server;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreItem;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;

import java.util.Base64;

/**
 * memcached's meta commands: {@code mg}, {@code ms}, {@code md}, {@code ma}, {@code me}, {@code mn}.
 * Replies are built as memcached builds them: status code, then the requested flags in the order
 * the request gave them, then the value. Quiet mode ({@code q}) hides the nominal reply (a miss
 * for {@code mg}, success for the others); errors are always sent.
 *
 * <p>Where the store has no single call for what a flag asks, the answer is composed of two calls
 * and may see another writer's change in between: the CAS returned by {@code ms c} and
 * {@code ma c}/{@code ma t} is read right after the write; {@code md C} and {@code ma C} compare
 * the CAS and then delete or add.
 */
final class MetaCommands {
    private static final int MAX_OPT_TOKENS = 20;
    private static final int MAX_OPAQUE = 32;

    private MetaCommands() {
    }

    static void dispatch(final Connection c, final Tokens t, final byte which) {
        switch (which) {
            case 'g' -> get(c, t);
            case 's' -> set(c, t);
            case 'd' -> delete(c, t);
            case 'a' -> arithmetic(c, t);
            case 'e' -> debug(c, t);
            case 'n' -> c.putAscii("MN\r\n");
            default -> c.reply("ERROR");
        }
    }

    private static MetaFlags flags(final Connection c) {
        return c.worker.meta;
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

    /** Echoes O and k flags (a miss or a failure); @return false if an opaque was too long */
    private static boolean echoOpaqueAndKey(final Connection c, final Tokens t, final int from, final MetaFlags f) {
        for (int i = from; i < t.count - 1; i++) {
            final byte o = t.first(i);
            if (o == 'O') {
                if (t.len[i] > MAX_OPAQUE) {
                    return false;
                }
                c.putByte(' ');
                c.put(t.buf, t.off[i], t.len[i]);
            } else if (o == 'k') {
                putKey(c, f.key, f.binaryKey);
            }
        }
        return true;
    }

    private static boolean opaqueTooLong(final Tokens t, final int from) {
        for (int i = from; i < t.count - 1; i++) {
            if (t.first(i) == 'O' && t.len[i] > MAX_OPAQUE) {
                return true;
            }
        }
        return false;
    }

    private static long secondsLeft(final long expires) {
        return expires == 0 ? -1 : expires - System.currentTimeMillis() / 1000;
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
        final MetaFlags f = flags(c);
        if (!f.parse(t, 2, false)) {
            error(c, f.error);
            return;
        }
        c.noreply = f.quiet;
        if (opaqueTooLong(t, 2)) {
            error(c, "CLIENT_ERROR opaque token too long");
            return;
        }
        final SharedStore store = c.worker.server.store();
        if (f.hasTtl) {
            StoreItem item;
            try {
                item = store.getAndTouch(f.key, f.ttl);
            } catch (final IllegalStateException busy) {
                item = null;
            }
            if (item == null) {
                miss(c, t, f);
                return;
            }
            final byte[] v = item.value();
            hitHeader(c, t, f, v.length, item.flags(), item.cas(), item.expires());
            if (f.value) {
                c.put(v);
                c.crlf();
            }
            return;
        }
        final StoreReader r = c.worker.reader;
        while (true) {
            if (!r.get(f.key)) {
                miss(c, t, f);
                return;
            }
            final long mark = c.mark();
            final int len = r.valueLength();
            hitHeader(c, t, f, len, r.flags(), r.cas(), r.expires());
            if (f.value ? TextCommands.copyValue(c, r, len) : r.validate()) {
                return;
            }
            c.truncate(mark); // the item was replaced while read: read it again
        }
    }

    private static void hitHeader(final Connection c, final Tokens t, final MetaFlags f, final int len,
                                  final int clientFlags, final long cas, final long expires) {
        if (f.value) {
            c.putAscii("VA ");
            c.putUnsigned(len);
        } else {
            c.putAscii("HD");
        }
        for (int i = 2; i < t.count - 1; i++) {
            switch (t.first(i)) {
                case 's' -> {
                    c.putAscii(" s");
                    c.putUnsigned(len);
                }
                case 't' -> {
                    c.putAscii(" t");
                    c.putAscii(Long.toString(secondsLeft(expires)));
                }
                case 'c' -> {
                    c.putAscii(" c");
                    c.putUnsigned(cas);
                }
                case 'f' -> {
                    c.putAscii(" f");
                    c.putUnsigned(Integer.toUnsignedLong(clientFlags));
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
    }

    private static void miss(final Connection c, final Tokens t, final MetaFlags f) {
        if (c.noreply) {
            return;
        }
        c.putAscii("EN");
        echoOpaqueAndKey(c, t, 2, f);
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
        final MetaFlags f = flags(c);
        if (!f.parse(t, 3, false)) {
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
                        p.opaque = t.bytes(i);
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
            store.delete(f.key); // as memcached: a failed store leaves no stale value
            swallowWith(c, vlen, "SERVER_ERROR object too large for cache");
            return;
        }
        p.kind = kind;
        p.key = f.key;
        p.binaryKey = f.binaryKey;
        p.flags = (int) f.clientFlags;
        p.exptime = f.hasTtl ? f.ttl : 0;
        p.cas = f.cas;
        p.meta = true;
        c.beginData((int) vlen);
    }

    private static void swallowWith(final Connection c, final long vlen, final String error) {
        error(c, error);
        c.beginSwallow(vlen + 2);
    }

    static void completeSet(final Connection c, final boolean good) {
        final PendingStore p = c.pending;
        if (!good) {
            error(c, "CLIENT_ERROR bad data chunk");
            return;
        }
        final StoreResult r = TextCommands.store(c, p);
        final String code = switch (r) {
            case STORED -> "HD";
            case EXISTS -> "EX";
            case NOT_FOUND -> "NF";
            case NOT_STORED -> "NS";
            default -> null;
        };
        if (code == null) {
            error(c, TextCommands.serverError(r));
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
                    c.put(p.opaque);
                }
                case 'k' -> putKey(c, p.key, p.binaryKey);
                default -> {
                    // c: the new item's CAS, read right after the store (see the class comment)
                    final StoreItem now = r == StoreResult.STORED ? c.worker.server.store().gets(p.key) : null;
                    c.putAscii(" c");
                    c.putUnsigned(now == null ? 0 : now.cas());
                }
            }
        }
        c.crlf();
    }

    // ------------------------------------------------------------------ md

    /**
     * The checks md and ma share, in memcached's order.
     *
     * @return the parsed flags, or null when the reply (an error) was given
     */
    private static MetaFlags deleteOrArithmeticFlags(final Connection c, final Tokens t, final boolean vivifyAllowed) {
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
        final MetaFlags f = flags(c);
        if (!f.parse(t, 2, vivifyAllowed)) {
            error(c, "CLIENT_ERROR invalid or duplicate flag");
            return null;
        }
        c.noreply = f.quiet;
        return f;
    }

    private static void delete(final Connection c, final Tokens t) {
        final MetaFlags f = deleteOrArithmeticFlags(c, t, false);
        if (f == null) {
            return;
        }
        if (opaqueTooLong(t, 2)) {
            error(c, "CLIENT_ERROR opaque token too long");
            return;
        }
        final SharedStore store = c.worker.server.store();
        final String code;
        if (f.hasCas) {
            final StoreItem item = store.gets(f.key);
            if (item == null) {
                code = "NF";
            } else if (item.cas() != f.cas) {
                code = "EX";
            } else {
                code = store.delete(f.key) == StoreResult.DELETED ? "HD" : "NF";
            }
        } else {
            final StoreResult r = store.delete(f.key);
            if (r == StoreResult.BUSY) {
                error(c, TextCommands.serverError(r));
                return;
            }
            code = r == StoreResult.DELETED ? "HD" : "NF";
        }
        if (code.equals("HD") && c.noreply) {
            return;
        }
        c.putAscii(code);
        echoOpaqueAndKey(c, t, 2, f);
        c.crlf();
    }

    // ------------------------------------------------------------------ ma

    private static void arithmetic(final Connection c, final Tokens t) {
        final MetaFlags f = deleteOrArithmeticFlags(c, t, true);
        if (f == null) {
            return;
        }
        if (f.mode != 0 && "ID+-".indexOf(f.mode) < 0) {
            error(c, "CLIENT_ERROR invalid mode for ma M token");
            return;
        }
        final boolean incr = f.mode == 0 || f.mode == 'I' || f.mode == '+';
        final SharedStore store = c.worker.server.store();
        final long[] result = c.worker.number;
        StoreResult r;
        boolean created = false;
        if (f.hasCas) {
            final StoreItem item = store.gets(f.key);
            r = item == null ? StoreResult.NOT_FOUND : item.cas() != f.cas ? StoreResult.EXISTS : null;
        } else {
            r = null;
        }
        if (r == null) {
            r = incr ? store.incr(f.key, f.delta, result) : store.decr(f.key, f.delta, result);
            if (r == StoreResult.NOT_FOUND && f.vivify) {
                final byte[] initial = Long.toUnsignedString(f.initial).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                if (store.add(f.key, initial, 0, f.vivifyTtl) == StoreResult.STORED) {
                    created = true;
                    result[0] = f.initial;
                    r = StoreResult.STORED;
                } else {
                    r = incr ? store.incr(f.key, f.delta, result) : store.decr(f.key, f.delta, result);
                }
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
                echoOpaqueAndKey(c, t, 2, f);
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
        final String number = Long.toUnsignedString(result[0]);
        if (f.hasTtl) {
            store.touch(f.key, f.ttl);
        }
        if (c.noreply) {
            return;
        }
        StoreItem now = null;
        if (f.value) {
            c.putAscii("VA ");
            c.putUnsigned(number.length());
        } else {
            c.putAscii("HD");
        }
        for (int i = 2; i < t.count - 1; i++) {
            switch (t.first(i)) {
                case 'c', 't' -> {
                    if (now == null) {
                        now = store.gets(f.key); // read right after the write (see the class comment)
                    }
                    if (t.first(i) == 'c') {
                        c.putAscii(" c");
                        c.putUnsigned(now == null ? 0 : now.cas());
                    } else {
                        c.putAscii(" t");
                        c.putAscii(Long.toString(now == null ? -1 : secondsLeft(now.expires())));
                    }
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
            c.putAscii(number);
            c.crlf();
        }
        assert !created || result[0] == f.initial : "a created counter answers its initial value";
    }

    // ------------------------------------------------------------------ me

    private static void debug(final Connection c, final Tokens t) {
        if (t.count < 3 || t.len[1] > TextCommands.KEY_MAX) {
            c.reply(TextCommands.BAD_FORMAT);
            return;
        }
        byte[] key = t.bytes(1);
        boolean binary = false;
        if (t.count >= 4 && t.len[2] == 1 && t.first(2) == 'b') {
            try {
                key = Base64.getDecoder().decode(key);
                binary = true;
            } catch (final IllegalArgumentException e) {
                c.reply(TextCommands.BAD_FORMAT);
                return;
            }
        }
        final StoreItem item = key.length == 0 ? null : c.worker.server.store().gets(key);
        if (item == null) {
            c.reply("EN");
            return;
        }
        c.putAscii("ME ");
        c.put(binary ? Base64.getEncoder().encode(key) : key);
        // exp as memcached prints it (now - expiry, -1 for never); la and fetch are not tracked.
        c.putAscii(" exp=" + (item.expires() == 0 ? -1 : System.currentTimeMillis() / 1000 - item.expires())
            + " la=0 cas=" + Long.toUnsignedString(item.cas()) + " fetch=no cls=1 size="
            + (64 + key.length + item.value().length) + "\r\n");
    }
}
