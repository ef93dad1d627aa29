package io.sharena.cli;

import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreItem;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code arena stress --store} expects of one <b>lane</b>'s keys: the lane's workers (one at a
 * time; a killed one is replaced by the next) are the only writers of its keys, so every key's
 * value is known from the lane's log.
 *
 * <p><b>Keys</b>: {@code L<lane>s<j>} hold <i>segment values</i>, {@code L<lane>n<j>} decimal
 * numbers (incr and decr on a segment key must answer NON_NUMERIC). A segment is
 * {@code <seq>:<c × (seq % 40)>;} with {@code c = 'a' + seq % 26}; a value is
 * one or more segments (append and prepend add one), so a value made of parts of two writes does
 * not parse: it is counted as torn, whoever reads it.
 *
 * <p><b>The lane's log</b> (one line per record ending in {@value #END}, each written with one
 * {@code write} before the next step, so that a SIGKILL loses nothing written; a line without the
 * end mark was cut by the kill and was never written, as far as the replay is concerned):
 * <ul>
 *   <li>{@code W pid}: a worker starts (after it read the log);</li>
 *   <li>{@code I seq op key flags exp arg}: the worker is about to run an operation. It is
 *       acknowledged once any later record of the same worker exists; the last one before a
 *       {@code W} (or at the end of a killed worker's log) was in flight: the key may hold the
 *       state before it or after it;</li>
 *   <li>{@code S key -} or {@code S key flags exp hex}: the key's state, as read from the store
 *       (a successor resolving what was in flight, or a worker after a violation);</li>
 *   <li>{@code V kind text}: a violation, torn read or lost write the worker found;</li>
 *   <li>{@code D}: the worker ended cleanly.</li>
 * </ul>
 * {@code exp} is {@link #NEVER}, {@link #LATER} (far in the future: nothing expires during a run)
 * or, in an intent, {@link #EXPIRED} (a negative exptime: gone at once).
 */
final class StoreStressModel {
    static final int NEVER = 0;
    static final int LATER = 1;
    static final int EXPIRED = -1;
    /** Ends every complete record. */
    static final String END = " .";

    /** One key's state: absent, or a value with its flags and expiry class. */
    record State(byte[] value, int flags, int exp) {
        static final State ABSENT = new State(null, 0, NEVER);

        boolean present() {
            return value != null;
        }

        boolean same(final State o) {
            return present() == o.present() && (!present() || Arrays.equals(value, o.value) && flags == o.flags
                && exp == o.exp);
        }

        @Override
        public String toString() {
            return present() ? "'" + new String(value, StandardCharsets.ISO_8859_1) + "' flags=" + flags + " exp=" + exp
                : "absent";
        }
    }

    /** An operation: what it was about to do to one key. */
    record Intent(long seq, String op, String key, int flags, int exp, long arg) {
        String line() {
            return "I " + seq + " " + op + " " + key + " " + flags + " " + exp + " " + arg;
        }
    }

    /** A key whose last operation was in flight when its worker died: it holds one of these. */
    record Ambiguous(State before, State after) {
    }

    final int lane;
    final int keys;
    final Map<String, State> states = new HashMap<>();
    final Map<String, Ambiguous> ambiguous = new HashMap<>();
    /** Ring bytes this lane's writes reserved so far (every record built, stored or not). */
    long ringBytes;
    /** The highest sequence number used: a successor goes on from here. */
    long seq;
    long violations;
    long torn;
    long lost;
    final Set<String> reports = new HashSet<>();
    private Intent pending;

    StoreStressModel(final int lane, final int keys) {
        this.lane = lane;
        this.keys = keys;
        for (int j = 0; j < keys; j++) {
            states.put(segmentKey(j), State.ABSENT);
            states.put(numberKey(j), State.ABSENT);
        }
    }

    String segmentKey(final int j) {
        return "L" + lane + "s" + j;
    }

    String numberKey(final int j) {
        return "L" + lane + "n" + j;
    }

    static boolean isNumberKey(final String key) {
        return key.indexOf('n') > 0;
    }

    // ------------------------------------------------------------------ values

    static byte[] segment(final long seq) {
        final int n = (int) (seq % 40);
        final byte[] digits = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
        final byte[] s = new byte[digits.length + n + 2];
        System.arraycopy(digits, 0, s, 0, digits.length);
        s[digits.length] = ':';
        Arrays.fill(s, digits.length + 1, digits.length + 1 + n, (byte) ('a' + seq % 26));
        s[s.length - 1] = ';';
        return s;
    }

    /**
     * @return the value a set, add, replace or cas of {@code in} stores: a segment for a segment
     * key, a decimal number for a number key (so that a number key only ever holds numbers)
     */
    static byte[] value(final Intent in) {
        if (in.op().equals("setn")) {
            return Long.toUnsignedString(in.arg()).getBytes(StandardCharsets.US_ASCII);
        }
        return isNumberKey(in.key()) ? Long.toString(in.seq()).getBytes(StandardCharsets.US_ASCII) : segment(in.seq());
    }

    static byte[] concat(final byte[] a, final byte[] b) {
        final byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** @return whether {@code v} could have been written whole to {@code key}: segments, or a number for a number key */
    static boolean wellFormed(final String key, final byte[] v) {
        if (isNumberKey(key)) {
            return isNumber(v);
        }
        int i = 0;
        if (v.length == 0) {
            return false;
        }
        while (i < v.length) {
            long seq = 0;
            final int start = i;
            while (i < v.length && v[i] >= '0' && v[i] <= '9' && i - start < 18) {
                seq = seq * 10 + (v[i++] - '0');
            }
            if (i == start || i >= v.length || v[i++] != ':') {
                return false;
            }
            final int n = (int) (seq % 40);
            for (int k = 0; k < n; k++, i++) {
                if (i >= v.length || v[i] != 'a' + seq % 26) {
                    return false;
                }
            }
            if (i >= v.length || v[i++] != ';') {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ operations

    /** @return whether {@code op} builds a record (takes ring space) when the key is in state {@code s} */
    static boolean allocates(final String op, final State s) {
        return switch (op) {
            case "set", "add", "rep", "cas", "casbad", "setn", "setc" -> true;
            case "app", "pre", "inval" -> s.present();
            case "incr", "decr" -> s.present() && isNumber(s.value);
            default -> false;
        };
    }

    /** A counter's value: 1 to 20 digits, at most 2^64 - 1, then spaces (a counter keeps its length as it shrinks). */
    static boolean isNumber(final byte[] v) {
        final int digits = digits(v);
        if (digits == 0 || digits > 20) {
            return false;
        }
        for (int i = digits; i < v.length; i++) {
            if (v[i] != ' ') {
                return false;
            }
        }
        return digits < 20 || new String(v, 0, digits, StandardCharsets.US_ASCII).compareTo("18446744073709551615") <= 0;
    }

    private static int digits(final byte[] v) {
        int i = 0;
        while (i < v.length && v[i] >= '0' && v[i] <= '9') {
            i++;
        }
        return i;
    }

    /** @return a counter's number, the digits of {@code v} without the spaces after them */
    static String number(final byte[] v) {
        return new String(v, 0, digits(v), StandardCharsets.US_ASCII);
    }

    /** @return the value an allocating op builds, for its size */
    static int builtLength(final Intent in, final State s) {
        return switch (in.op()) {
            case "set", "add", "rep", "cas", "casbad", "setn", "setc" -> value(in).length;
            case "inval" -> s.value.length;
            case "app", "pre" -> s.value.length + segment(in.seq()).length;
            case "incr", "decr" -> arith(s.value, in).length;
            default -> 0;
        };
    }

    /** incr or decr by memcached's rules: a result no longer than the value is padded with spaces to its length. */
    private static byte[] arith(final byte[] value, final Intent in) {
        final long v = Long.parseUnsignedLong(number(value));
        final long next = in.op().equals("incr") ? v + in.arg() : Long.compareUnsigned(v, in.arg()) <= 0 ? 0 : v - in.arg();
        final byte[] digits = Long.toUnsignedString(next).getBytes(StandardCharsets.US_ASCII);
        if (digits.length >= value.length) {
            return digits;
        }
        final byte[] padded = Arrays.copyOf(digits, value.length);
        Arrays.fill(padded, digits.length, value.length, (byte) ' ');
        return padded;
    }

    /** @return the key's state after {@code in}, from {@code s}, by memcached's rules */
    static State after(final Intent in, final State s) {
        final int exp = in.exp();
        final State stored = new State(value(in), in.flags(), exp);
        final State next = switch (in.op()) {
            case "set", "setn", "setc" -> stored;
            case "add" -> s.present() ? s : stored;
            case "rep", "cas" -> s.present() ? stored : s;
            case "casbad" -> s;
            case "app" -> s.present() ? new State(concat(s.value, segment(in.seq())), s.flags, s.exp) : s;
            case "pre" -> s.present() ? new State(concat(segment(in.seq()), s.value), s.flags, s.exp) : s;
            case "incr", "decr" -> s.present() && isNumber(s.value) ? new State(arith(s.value, in), s.flags, s.exp) : s;
            case "del", "delcas" -> State.ABSENT;
            case "inval" -> s;
            case "touch", "gat" -> s.present() ? new State(s.value, s.flags, exp) : s;
            default -> throw new IllegalArgumentException("unknown stress op: op=" + in.op());
        };
        return next.present() && next.exp == EXPIRED ? State.ABSENT : next;
    }

    /** Applies an acknowledged intent, and counts the ring space it took. */
    void apply(final Intent in) {
        final State s = states.get(in.key());
        if (allocates(in.op(), s)) {
            ringBytes += ItemLayout.recordSize(in.key().length(), builtLength(in, s));
        }
        states.put(in.key(), after(in, s));
    }

    // ------------------------------------------------------------------ the log

    /** Replays the lane's log: the states of its keys, and what is ambiguous now. */
    static StoreStressModel replay(final Path log, final int lane, final int keys) throws IOException {
        final StoreStressModel m = new StoreStressModel(lane, keys);
        if (!Files.exists(log)) {
            return m;
        }
        final String text = Files.readString(log, StandardCharsets.ISO_8859_1);
        for (final String line : text.split("\n")) {
            // A line cut short by a kill was not written: the step after it had not begun.
            if (line.endsWith(END)) {
                m.record(line.substring(0, line.length() - END.length()));
            }
        }
        m.inFlight();
        return m;
    }

    private void record(final String line) {
        final String[] f = line.split(" ", 4);
        switch (f[0]) {
            case "I" -> {
                acknowledge();
                final String[] g = line.split(" ");
                pending = new Intent(Long.parseLong(g[1]), g[2], g[3], Integer.parseInt(g[4]), Integer.parseInt(g[5]),
                    Long.parseLong(g[6]));
                seq = Math.max(seq, pending.seq());
            }
            case "S" -> {
                acknowledge();
                final String[] g = line.split(" ");
                states.put(g[1], g[2].equals("-") ? State.ABSENT
                    : new State(g.length > 4 ? HexFormat.of().parseHex(g[4]) : new byte[0], Integer.parseInt(g[2]),
                        Integer.parseInt(g[3])));
                ambiguous.remove(g[1]);
            }
            case "V" -> {
                acknowledge();
                switch (f[1]) {
                    case "torn" -> torn++;
                    case "lost" -> lost++;
                    default -> violations++;
                }
                reports.add(line);
            }
            case "D" -> acknowledge();
            case "W" -> inFlight();
            default -> throw new IllegalStateException("stress log line does not parse: lane=" + lane + ", line=" + line);
        }
    }

    private void acknowledge() {
        if (pending != null) {
            apply(pending);
            pending = null;
        }
    }

    /** The pending intent's worker died: the key holds the state before or after it. */
    private void inFlight() {
        if (pending != null) {
            final State before = states.get(pending.key());
            if (allocates(pending.op(), before)) {
                ringBytes += ItemLayout.recordSize(pending.key().length(), builtLength(pending, before));
            }
            final Ambiguous earlier = ambiguous.get(pending.key());
            ambiguous.put(pending.key(), new Ambiguous(earlier != null ? earlier.before() : before, after(pending, before)));
            pending = null;
        }
    }

    /** @return the line of an S record for {@code key} in state {@code s} */
    static String stateLine(final String key, final State s) {
        return s.present() ? "S " + key + " " + s.flags + " " + s.exp + " " + HexFormat.of().formatHex(s.value)
            : "S " + key + " -";
    }

    // ------------------------------------------------------------------ reading the store

    /** @return the key's state in the store, {@code now} in Unix seconds deciding the expiry class */
    static State read(final SharedStore store, final String key) {
        final StoreItem it = store.gets(key.getBytes(StandardCharsets.US_ASCII));
        return it == null ? State.ABSENT : new State(it.value(), it.flags(), it.expires() == 0 ? NEVER : LATER);
    }

    /**
     * Compares what the store holds with what it may hold.
     *
     * @return null if {@code got} is one of {@code allowed}, else the kind ("torn", "lost" or
     * "violation") and a description
     */
    static String[] judge(final String key, final State got, final List<State> allowed) {
        for (final State s : allowed) {
            if (s.same(got)) {
                return null;
            }
        }
        final String kind;
        if (got.present() && !wellFormed(key, got.value)) {
            kind = "torn";
        } else if (!got.present() && allowed.stream().allMatch(State::present)) {
            kind = "lost";
        } else {
            kind = "violation";
        }
        return new String[] {kind, "key=" + key + ", got=" + got + ", expected=" + allowed};
    }
}
