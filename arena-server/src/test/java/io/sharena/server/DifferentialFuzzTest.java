package io.sharena.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded differential fuzzer: random sequences of text and meta requests (valid, borderline and
 * malformed) go to memcached 1.6 and to this server, each sequence on fresh keys and fresh
 * connections, and the reply streams are compared byte for byte after normalising what must
 * differ: CAS values (renumbered by first appearance, per server), the version string, TTL and
 * last-access seconds (one apart at most: the clocks tick apart), and the space padding memcached
 * leaves after a number an incr or decr shortened in place (docs/server.md).
 *
 * <p>Every request carries its own resync: a data block is never shorter than its declared length
 * plus two, so a bad chunk leaves the rest of the bytes to be read as commands, as both servers do,
 * and the {@code mn} that ends each exchange is never eaten as data. Half of the sequences send
 * several requests in one write.
 *
 * <p>The seeds are fixed; {@code -Dsharena.fuzz.seeds=N} and {@code -Dsharena.fuzz.first=S} run
 * others (a failure prints the seed and the sequence, and the requests to replay it).
 */
class DifferentialFuzzTest {
    private static final int SEQUENCES = Integer.getInteger("sharena.fuzz.seeds", 1500);
    private static final long FIRST_SEED = Long.getLong("sharena.fuzz.first", 1);
    private static final int REQUESTS = 24;
    private static final int REPORTED = 40;
    private static final boolean VERBOSE = Boolean.getBoolean("sharena.fuzz.verbose");

    private static BothServers both;

    @BeforeAll
    static void start() throws Exception {
        both = BothServers.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (both != null) {
            both.close();
        }
    }

    @Test
    void randomSequencesAnswerAsMemcached() throws Exception {
        final List<String> failures = new ArrayList<>();
        int exchanges = 0;
        for (long seed = FIRST_SEED; seed < FIRST_SEED + SEQUENCES; seed++) {
            final Generator g = new Generator(new Random(seed), "f" + seed + "_");
            final List<List<String>> batches = g.sequence(REQUESTS);
            exchanges += batches.size();
            final Outcome first = run(batches, g.prefix);
            if (first.diff() != null) {
                // The same requests on fresh keys (a prefix as long), up to three times: memcached
                // 1.6.18 answers seed 914's `ma` on 2^63 with "non-numeric" for the number it has
                // just stored now and then, and as a number otherwise (its parse of a number of 2^63
                // or more looks for a '-' past the value's end, in whatever memory follows:
                // docs/server.md). A difference passes only if every reply of ours, in every run,
                // is one memcached gave to the same request in some run: its answer varied, not
                // this server's.
                final String memcachedVaried = bigNumberCalledNonNumeric(first) ? "memcached called a number of 2^63"
                    + " or more non-numeric in the same reply that shows it"
                    : nonNumericAfterABigNumber(first) ? "memcached called a value non-numeric after the sequence"
                    + " stored a number of 2^63 or more" : memcachedVariedAlone(seed, first);
                if (memcachedVaried == null) {
                    failures.add("seed " + seed + ": " + first.diff());
                } else {
                    System.err.println("seed " + seed + " differed where memcached's own answers varied: "
                        + first.diff() + "\n  " + memcachedVaried);
                    continue;
                }
                if (failures.size() >= REPORTED) {
                    break;
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " sequences differ (" + exchanges + " exchanges):\n"
            + String.join("\n", failures));
    }

    /**
     * One run of a sequence: the replies of both servers to each request sent (keys' run prefix
     * replaced, so that runs on fresh keys compare), up to the first that differs, and that
     * difference, or null.
     */
    private record Outcome(List<String> theirs, List<String> ours, String diff, boolean bigNumberSent) {
    }

    /**
     * Replays seed's sequence on fresh keys, up to three times, until every reply of ours in every
     * run so far is a reply memcached gave to the same request in some run.
     *
     * @return the reply of memcached's that varied, when that happened; null when some reply of
     * ours is none that memcached gave (a difference of this server's)
     */
    private static String memcachedVariedAlone(final long seed, final Outcome first) throws Exception {
        final List<Outcome> runs = new ArrayList<>(List.of(first));
        for (final String prefix : new String[] {"r", "s", "t"}) {
            final Generator again = new Generator(new Random(seed), prefix + seed + "_");
            runs.add(run(again.sequence(REQUESTS), again.prefix));
            if (everyReplyOfOursIsMemcacheds(runs)) {
                final int at = first.ours().size() - 1;
                for (final Outcome other : runs) {
                    if (other.theirs().size() > at && !other.theirs().get(at).equals(first.theirs().get(at))) {
                        return "memcached, another run: " + Wire.shorten(other.theirs().get(at));
                    }
                }
                return "memcached's replies in the runs matched ours";
            }
        }
        return null;
    }

    private static final Pattern BIG_NUMBER_VALUE = Pattern.compile("VALUE \\S+ \\d+ (?:19|20)\r\n(\\d{19,20})\r\n");
    private static final java.math.BigInteger TWO_TO_63 = java.math.BigInteger.ONE.shiftLeft(63);

    /**
     * memcached 1.6.18's bug behind seed 914 seen in one reply, whatever the runs (under load all
     * three replays once met it too): {@code CLIENT_ERROR ... non-numeric value} to an arithmetic
     * command, and in the same reply a get showing that key's value as a number of 2^63 or more,
     * which it stored as such.
     */
    private static boolean bigNumberCalledNonNumeric(final Outcome o) {
        final String theirs = o.theirs().get(o.theirs().size() - 1);
        if (!theirs.contains("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")) {
            return false;
        }
        return holdsABigNumber(BIG_NUMBER_VALUE, theirs);
    }

    private static final Pattern BIG_NUMBER_DATA = Pattern.compile("\r\n(\\d{19,20})\r\n");

    /** @return whether {@code request} carries a data block that is a number of 2^63 or more that fits 64 bits */
    private static boolean sendsABigNumber(final String request) {
        return holdsABigNumber(BIG_NUMBER_DATA, request);
    }

    /** @return whether a match of {@code digits} (its group 1) in {@code text} is a number of 2^63 or more that fits 64 bits */
    private static boolean holdsABigNumber(final Pattern digits, final String text) {
        final java.util.regex.Matcher m = digits.matcher(text);
        while (m.find()) {
            final java.math.BigInteger n = new java.math.BigInteger(m.group(1));
            if (n.compareTo(TWO_TO_63) >= 0 && n.bitLength() <= 64) {
                return true;
            }
        }
        return false;
    }

    /**
     * The same memcached bug as {@link #bigNumberCalledNonNumeric} where the reply does not show the
     * number (an {@code incr}, a {@code decr} or an {@code ma} right after the number was stored):
     * memcached answered {@code non-numeric value}, this server did not, and the sequence had stored
     * a number of 2^63 or more. Under load, every replay met the bug (seeds 979 and 1013, once).
     */
    private static boolean nonNumericAfterABigNumber(final Outcome o) {
        final int last = o.theirs().size() - 1;
        return o.bigNumberSent() && o.theirs().get(last).contains("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
            && !o.ours().get(last).contains("non-numeric");
    }

    private static boolean everyReplyOfOursIsMemcacheds(final List<Outcome> runs) {
        for (final Outcome run : runs) {
            for (int i = 0; i < run.ours().size(); i++) {
                boolean seen = false;
                for (final Outcome other : runs) {
                    if (other.theirs().size() > i) {
                        final String expected = other.theirs().get(i);
                        seen |= expected.equals(run.ours().get(i))
                            || SideBySideTest.sameWithinASecond(expected, run.ours().get(i));
                    }
                }
                if (!seen) {
                    return false;
                }
            }
        }
        return true;
    }

    /** @return one run of a sequence on fresh connections, stopped after the first request whose replies differ */
    private static Outcome run(final List<List<String>> batches, final String prefix)
        throws Exception {
        final List<String> theirReplies = new ArrayList<>();
        final List<String> ourReplies = new ArrayList<>();
        try (Side theirs = new Side(both.memcached.port); Side mine = new Side(both.ours.port())) {
            final List<String> sent = new ArrayList<>();
            boolean bigNumberSent = false;
            for (final List<String> batch : batches) {
                final String request = String.join("", batch);
                bigNumberSent |= sendsABigNumber(request);
                sent.add(Wire.shorten(request));
                final String expected = theirs.normalised(theirs.call(request));
                final String actual = mine.normalised(mine.call(request));
                theirReplies.add(expected.replace(prefix, "<run>"));
                ourReplies.add(actual.replace(prefix, "<run>"));
                if (!expected.equals(actual) && !SideBySideTest.sameWithinASecond(expected, actual)) {
                    int at = 0;
                    final int common = Math.min(expected.length(), actual.length());
                    while (at < common && expected.charAt(at) == actual.charAt(at)) {
                        at++;
                    }
                    // From the start of the first line that differs.
                    final int from = Math.max(0, expected.lastIndexOf('\n', Math.max(0, at - 1)) + 1);
                    final int shown = VERBOSE ? 30 : 4;
                    return new Outcome(theirReplies, ourReplies, "request " + Wire.shorten(request)
                        + "\n  memcached: " + Wire.shorten(expected.substring(from))
                        + "\n  ours:      " + Wire.shorten(actual.substring(Math.min(from, actual.length())))
                        + (from > 0 ? "\n  (replies differ from byte " + from + ")" : "")
                        + "\n  before:    " + String.join(" | ", sent.subList(Math.max(0, sent.size() - shown),
                        sent.size() - 1)), bigNumberSent);
                }
            }
            // Nothing left for the next sequence (which has keys of its own).
            theirs.call("flush_all\r\n");
            mine.call("flush_all\r\n");
        }
        return new Outcome(theirReplies, ourReplies, null, false);
    }

    // ------------------------------------------------------------------ one server's view

    private static final Pattern VALUE_CAS = Pattern.compile("(?m)^(VALUE [^ \r\n]+ \\d+ \\d+) (\\d+)(?=\r\n)");
    private static final Pattern META_CAS = Pattern.compile("(?m)^((?:HD|VA|NS|EX|NF|EN)\\b[^\r\n]*? c)(\\d+)");
    /** A number an incr or decr shortened in place: memcached pads it with spaces (docs/server.md). */
    private static final Pattern PADDED_VALUE =
        Pattern.compile("(?m)^(VALUE [^ \r\n]+ \\d+ )(\\d+)([^\r\n]*\r\n)(\\d+)( +)(?=\r\n)");
    private static final Pattern PADDED_VA = Pattern.compile("(?m)^VA (\\d+)([^\r\n]*\r\n)(\\d+)( +)(?=\r\n)");

    /** A client's view of one server: its connection, the CAS values it saw and their renumbering. */
    private static final class Side implements AutoCloseable {
        final int port;
        Wire wire;
        String lastCas = "0";
        final Map<String, Integer> casNumbers = new HashMap<>();

        Side(final int port) throws IOException {
            this.port = port;
            connect();
        }

        private void connect() throws IOException {
            wire = new Wire(port);
            wire.socket.setSoTimeout(3000);
        }

        String call(final String request) throws IOException {
            String reply;
            try {
                reply = wire.call(Wire.ascii(request.replace("{cas}", lastCas)));
            } catch (final IOException e) {
                reply = "<no reply: " + e.getMessage() + ">";
                wire.close();
                connect();
                return reply;
            }
            remember(VALUE_CAS.matcher(reply));
            remember(META_CAS.matcher(reply));
            if (reply.endsWith("<closed>")) {
                wire.close();
                connect();
            }
            return reply;
        }

        private void remember(final Matcher m) {
            while (m.find()) {
                lastCas = m.group(2);
                casNumbers.putIfAbsent(lastCas, casNumbers.size());
            }
        }

        String normalised(final String reply) {
            String r = renumber(VALUE_CAS.matcher(reply));
            String before;
            do {
                before = r;
                r = renumber(META_CAS.matcher(r));
            } while (!r.equals(before));
            r = r.replaceAll("VERSION [^\r]*", "VERSION <version>");
            r = unpad(PADDED_VALUE.matcher(r), true);
            return unpad(PADDED_VA.matcher(r), false);
        }

        private String renumber(final Matcher m) {
            final StringBuilder sb = new StringBuilder();
            while (m.find()) {
                final Integer n = casNumbers.get(m.group(2));
                m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + " <cas" + n + ">"));
            }
            m.appendTail(sb);
            return sb.toString().replace(" c <cas", " c<cas");
        }

        private static String unpad(final Matcher m, final boolean text) {
            final StringBuilder sb = new StringBuilder();
            while (m.find()) {
                final int length = m.group(text ? 4 : 3).length();
                m.appendReplacement(sb, Matcher.quoteReplacement(text
                    ? m.group(1) + length + m.group(3) + m.group(4)
                    : "VA " + length + m.group(2) + m.group(3)));
            }
            m.appendTail(sb);
            return sb.toString();
        }

        @Override
        public void close() throws IOException {
            wire.close();
        }
    }

    // ------------------------------------------------------------------ requests

    /** Random requests on one sequence's keys. */
    static final class Generator {
        private final Random r;
        private final String prefix;
        private final String[] plain;
        /** A key only ever named in base64 by meta commands (memcached echoes a key as it was stored). */
        private final String binary;
        /**
         * Keys memcached may have changed in place (an incr, decr or ma; an md I), where this server
         * writes a new item: memcached pads a shortened number and keeps the item's size
         * (docs/server.md). Appends and mg s and h leave them alone.
         */
        private final Set<String> inPlace = new HashSet<>();
        /**
         * Keys an md I or ms I may have made stale: memcached's counters keep the stale mark (they
         * count in place), as this server's do, but not its counters on a value only memcached's
         * lenient parse takes for a number (`5 x`), which write a new item (docs/server.md); no
         * counting on them.
         */
        private final Set<String> stale = new HashSet<>();
        private boolean pipelined;

        Generator(final Random r, final String prefix) {
            this.r = r;
            this.prefix = prefix;
            this.plain = new String[] {prefix + "a", prefix + "b", prefix + "n"};
            this.binary = Base64.getEncoder()
                .encodeToString((prefix + "\u0001bin").getBytes(StandardCharsets.ISO_8859_1));
        }

        /** @return the sequence as exchanges, each one or several requests sent in one write */
        List<List<String>> sequence(final int requests) {
            pipelined = r.nextBoolean();
            final List<List<String>> out = new ArrayList<>();
            int left = requests;
            while (left > 0) {
                final int k = pipelined ? 1 + r.nextInt(Math.min(5, left)) : 1;
                final List<String> batch = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    batch.add(mutated(request()));
                }
                out.add(batch);
                left -= k;
            }
            return out;
        }

        /**
         * The command line, sometimes with memcached's tokenizer's edge cases: runs of spaces, a
         * leading or trailing space, a bare LF ending (the data block, if any, is left alone).
         */
        private String mutated(final String request) {
            final int eol = request.indexOf("\r\n");
            if (eol < 0 || !chance(10)) {
                return request;
            }
            String line = request.substring(0, eol);
            final String rest = request.substring(eol + 2);
            String end = "\r\n";
            switch (r.nextInt(4)) {
                case 0 -> line = line.replaceFirst(" ", "   ");
                case 1 -> line = " " + line;
                case 2 -> line = line + " ";
                default -> end = "\n";
            }
            return line + end + rest;
        }

        private <T> T pick(final T[] a) {
            return a[r.nextInt(a.length)];
        }

        private boolean chance(final int percent) {
            return r.nextInt(100) < percent;
        }

        private String request() {
            final int w = r.nextInt(100);
            if (w < 18) {
                return storage();
            } else if (w < 30) {
                return retrieval();
            } else if (w < 38) {
                return arithmetic();
            } else if (w < 43) {
                return delete();
            } else if (w < 48) {
                return touch();
            } else if (w < 52) {
                return misc();
            } else if (w < 57) {
                return garbage();
            } else if (w < 70) {
                return metaGet();
            } else if (w < 80) {
                return metaSet();
            } else if (w < 85) {
                return metaDelete();
            } else if (w < 95) {
                return metaArithmetic();
            } else {
                return metaOther();
            }
        }

        /** A key for a text command: mostly the pool, sometimes borderline or malformed. */
        private String key() {
            final int w = r.nextInt(100);
            if (w < 80) {
                return pick(plain);
            } else if (w < 84) {
                return prefix + "missing";
            } else if (w < 88) {
                return pad(prefix + "L", 250);
            } else if (w < 91) {
                return pad(prefix + "L", 251);
            } else if (w < 94) {
                return prefix + "c\u0001t\u007f";
            } else if (w < 96) {
                return prefix + "t\tab";
            } else if (w < 98) {
                return prefix + "\u00e9\u00ff";
            } else {
                return pad(prefix + "L", 300 + r.nextInt(200));
            }
        }

        private static String pad(final String s, final int length) {
            return s + "k".repeat(Math.max(0, length - s.length()));
        }

        private static final String[] FLAGS = {"0", "0", "0", "1", "65535", "4294967295", "4294967296", "-1", "-0",
            "+5", "abc", "1x", "99999999999999999999", " 7"};
        private static final String[] EXPTIMES = {"0", "0", "0", "100", "1000", "-1", "-100", "2592000", "2592001",
            "4000000000", "4294967296", "abc", "99999999999", "+50", "-0", "9223372036854775807",
            "9223372036854775808", "-9223372036854775808"};
        private static final String[] DATA = {"x", "", "hello", "10", "0", "9", "99", "007", "abc", "1a", " 5", "5 ",
            "18446744073709551615", "18446744073709551614", "18446744073709551616", "-1", "12345678901234567890",
            "a b", "a\r\nb", "\r\nx", "get x", "\tx", "+5", "-0", "5 x", "\t7\t"};

        private String data() {
            return chance(5) ? "z".repeat(100 + r.nextInt(3000)) : pick(DATA);
        }

        /** A data block for a declared length: usually right, sometimes with a bad length or terminator. */
        private String block(final String header, final String data, final boolean good) {
            if (good) {
                return header + data.length() + "%TAIL%\r\n" + data + "\r\n";
            }
            final String[] terms = {"\r\n", "\n", "", "xx", "\r", "\n\r"};
            final String term = pick(terms);
            final String body = data + term + (term.equals("\r\n") ? "" : "\r\n");
            // Never more than the bytes sent minus two: the next mn is never eaten as data.
            final int declared = Math.max(0, data.length() - r.nextInt(3));
            return header + declared + "%TAIL%\r\n" + body;
        }

        private String storage() {
            final String[] cmds = {"set", "set", "add", "replace", "append", "prepend", "cas"};
            String cmd = pick(cmds);
            final String key = chance(90) ? key() : pick(plain);
            if ((cmd.equals("append") || cmd.equals("prepend")) && inPlace.contains(key)) {
                cmd = "set";
            }
            final String flags = chance(80) ? "0" : pick(FLAGS);
            final String exptime = chance(75) ? "0" : pick(EXPTIMES);
            final String data = data();
            final boolean good = chance(85);
            String tail = "";
            if (cmd.equals("cas")) {
                final String[] cas = {"{cas}", "{cas}", "{cas}", "1", "0", "abc", "-1", "18446744073709551615",
                    "18446744073709551616", ""};
                final String c = pick(cas);
                tail += c.isEmpty() ? "" : " " + c;
            }
            if (chance(20)) {
                tail += " noreply";
            }
            if (chance(5)) {
                tail += " extra";
            }
            if (chance(4)) {
                // A line with a token missing: what follows is read as commands.
                return cmd + " " + key + " " + flags + " " + data.length() + "\r\n" + data + "\r\n";
            }
            String req = block(cmd + " " + key + " " + flags + " " + exptime + " ", data, good);
            if (chance(3)) {
                // "+1" is a length of 1 to both: on an empty value the block is two bytes, and the mn after
                // it was eaten as data (seed 88817); "+0" there.
                final String odd = pick(new String[] {"-1", "abc", "4294967295", "2147483647", "2147483646", "1x", "+1"});
                req = req.replaceFirst(" \\d+%TAIL%", " " + (odd.equals("+1") && data.isEmpty() ? "+0" : odd) + "%TAIL%");
            }
            return req.replace("%TAIL%", tail);
        }

        private String retrieval() {
            final String[] cmds = {"get", "get", "gets", "gets", "bget", "gat", "gats"};
            final String cmd = pick(cmds);
            final StringBuilder sb = new StringBuilder(cmd);
            if (cmd.startsWith("gat")) {
                sb.append(' ').append(chance(80) ? pick(new String[] {"0", "100", "1000"}) : pick(EXPTIMES));
            }
            final int keys = chance(5) ? 0 : 1 + r.nextInt(chance(10) ? 30 : 3);
            for (int i = 0; i < keys; i++) {
                sb.append(chance(5) ? "  " : " ").append(key());
            }
            if (chance(5)) {
                sb.append(' ');
            }
            return sb.append("\r\n").toString();
        }

        private static final String[] DELTAS = {"1", "1", "5", "0", "00", "+3", "-1", "abc", "18446744073709551615",
            "18446744073709551616", "9223372036854775808", "1x", "", "99999999999999999999999"};

        private String arithmetic() {
            final String cmd = chance(50) ? "incr" : "decr";
            final String key = unlessStale(chance(70) ? prefix + "n" : key());
            inPlace.add(key);
            final String delta = chance(50) ? "1" : pick(DELTAS);
            final StringBuilder sb = new StringBuilder(cmd).append(' ').append(key);
            if (!delta.isEmpty()) {
                sb.append(' ').append(delta);
            }
            if (chance(20)) {
                sb.append(" noreply");
            }
            if (chance(5)) {
                sb.append(" x");
            }
            return sb.append("\r\n").toString();
        }

        private String delete() {
            final String[] forms = {"", "", " 0", " noreply", " 0 noreply", " 5", " 0 0", " x", " noreply x", " 0 0 0"};
            return "delete " + key() + pick(forms) + "\r\n";
        }

        private String touch() {
            final String[] forms = {"", "", " noreply", " x", " noreply x"};
            final String exptime = chance(70) ? pick(new String[] {"0", "100", "1000"}) : pick(EXPTIMES);
            return chance(5) ? "touch " + key() + "\r\n" : "touch " + key() + " " + exptime + pick(forms) + "\r\n";
        }

        private String misc() {
            // No flush that flushes: it hides the items stored before the server's current second,
            // and the two servers' seconds begin at different instants, so an item stored near a
            // second's turn could be hidden in one only (two sequences of 1,500 once differed so on a
            // loaded machine). SideBySideTest covers flush_all; malformed ones stay here.
            final String[] lines = {"version", "version x", "verbosity 1", "verbosity 0 noreply", "verbosity",
                "verbosity abc", "verbosity 1 2 3", "verbosity -1", "flush_all abc", "flush_all 1 2 3", "flush_all noreply x",
                "stats nosuch", "shutdown", "quit x", "lru_crawler", "slabs", "cache_memlimit", "misbehave", "me",
                "me " + prefix + "none",
                "me " + prefix + "none x", "lru", "GET / HTTP/1.0", "PUT /x HTTP/1.1", "HTTP/1.1", "xyz HTTP/ x",
                "mxx HTTP/1.0", "flush_all 1 2 3 HTTP/1.1", "misbehave 1 HTTP/1.1", "lru 1 2 3 4 5 HTTP/1.1"};
            // An HTTP line closes the connection, in a pipeline too: both have sent the replies
            // before it up to their last get, mn or wait for input.
            return pick(lines) + "\r\n";
        }

        private String garbage() {
            final int w = r.nextInt(10);
            if (w == 0) {
                return "\r\n";
            } else if (w == 1) {
                return "   \r\n";
            } else if (w == 2) {
                return pick(new String[] {"GET ", "Set ", "gett ", "sets ", "m ", "mgx ", "get\t", "ms", "mz "}) + key()
                    + "\r\n";
            } else if (w == 3) {
                return "get" + (" " + pick(plain)).repeat(20 + r.nextInt(10)) + "\r\n";
            } else if (w == 4) {
                return "\n";
            } else {
                final StringBuilder sb = new StringBuilder();
                final int n = 1 + r.nextInt(chance(10) ? 1500 : 40);
                sb.append((char) ('a' + r.nextInt(26)));
                for (int i = 1; i < n; i++) {
                    final int c = r.nextInt(96);
                    sb.append(c == 0 ? ' ' : c < 5 ? (char) r.nextInt(32) : (char) (' ' + c - 1));
                }
                return sb.toString().replace("\n", " ").replace("MN", "mn") + "\r\n";
            }
        }

        // ------------------------------------------------------------------ meta

        /** A meta key, with " b" after it when it is base64: the caller moves the b among the flags. */
        private String metaKey() {
            final int w = r.nextInt(100);
            if (w < 70) {
                return pick(plain);
            } else if (w < 80) {
                return binary + " b";
            } else if (w < 83) {
                return prefix + "missing";
            } else if (w < 86) {
                return pad(prefix + "L", 250);
            } else if (w < 88) {
                return pad(prefix + "L", 251);
            } else if (w < 90) {
                return "!!!! b";
            } else if (w < 92) {
                return "Zm9v=x b";
            } else if (w < 94) {
                return prefix + "c\u0001t";
            } else if (w < 96) {
                return binary;
            } else {
                return pad(binary, 252) + " b";
            }
        }

        private static final String[] TTLS = {"0", "30", "100", "1000", "-1", "abc", "2592000", "2592001", "",
            "4000000000", "99999999999999999999", "+5"};
        private static final String[] CASES = {"{cas}", "{cas}", "{cas}", "1", "0", "abc", "", "-1",
            "18446744073709551615", "18446744073709551616"};
        private static final String[] OPAQUES = {"O1", "Oabc", "O", "O" + "o".repeat(32), "O" + "o".repeat(33), "Oq"};

        /** Flags as tokens, some repeated or unknown, in random order. */
        private String flags(final String simple, final String numeric, final boolean quietOften) {
            final List<String> out = new ArrayList<>();
            for (final char f : simple.toCharArray()) {
                if (chance(f == 'q' && quietOften ? 30 : 25)) {
                    out.add(String.valueOf(f));
                }
            }
            for (final char f : numeric.toCharArray()) {
                if (!chance(20)) {
                    continue;
                }
                switch (f) {
                    case 'O' -> out.add(pick(OPAQUES));
                    case 'C' -> out.add(f + pick(CASES));
                    case 'F' -> out.add("F" + (chance(70) ? "0" : pick(FLAGS).trim()));
                    case 'M' -> out.add("M" + pick(new String[] {"S", "E", "A", "P", "R", "I", "+", "D", "-", "s", "i",
                        "X", "", "SS"}));
                    case 'D', 'J' -> out.add(f + pick(DELTAS));
                    default -> out.add(f + pick(TTLS)); // N, R, T
                }
            }
            if (chance(4)) {
                out.add(pick(new String[] {"x", "z", "P", "L", "!", "0", "qq", "kk", "é", "S5", "w"}));
            }
            if (chance(4) && !out.isEmpty()) {
                out.add(out.get(r.nextInt(out.size())));
            }
            Collections.shuffle(out, r);
            if (chance(3)) {
                for (int i = 0; i < 20; i++) {
                    out.add("O" + i);
                }
            }
            return out.isEmpty() ? "" : " " + String.join(" ", out);
        }

        private String metaGet() {
            final String key = metaKey();
            String flags = flags("cfhklqstuv", "ONRT", true);
            if (inPlace.contains(key.split(" ")[0])) {
                // memcached counts in place: the size stays, and so does the fetched mark.
                flags = flags.replace(" s", " f").replace(" h", " f");
            }
            flags = inFuture(flags);
            return "mg " + key + flags + "\r\n";
        }

        private String metaSet() {
            final String key = metaKey();
            String flags = flags("cIkqs", "CFMOT", true);
            if (inPlace.contains(key.split(" ")[0]) && flags.matches(".* M[AaPp].*")) {
                flags = flags.replaceAll(" M[AaPp]", " MS");
            }
            if (flags.contains(" I")) {
                stale.add(key.split(" ")[0]);
            }
            final String data = data();
            final boolean good = chance(85);
            final String[] kb = key.split(" ", 2);
            if (kb.length == 2) {
                flags = " b" + flags;
            }
            String req = block("ms " + kb[0] + " ", data, good);
            if (chance(4)) {
                req = req.replaceFirst(" \\d+%TAIL%", " " + pick(new String[] {"-1", "abc", "", "2147483647", "1x"})
                    + "%TAIL%");
            }
            return req.replace("%TAIL%", flags);
        }

        private String unlessStale(final String key) {
            return stale.contains(key.split(" ")[0]) ? prefix + "missing" : key;
        }

        /** A TTL already past on mg or ma: memcached answers a wrapped TTL (docs/server.md). */
        private static String inFuture(final String flags) {
            return flags.replaceAll(" ([NT])(-|2592001|4000000000)", " $1" + "1000");
        }

        private String metaDelete() {
            final String key = metaKey();
            final String flags = flags("Ikqx", "COT", true);
            if (flags.contains(" I")) {
                inPlace.add(key.split(" ")[0]); // memcached keeps the fetched mark of an invalidated item
                stale.add(key.split(" ")[0]);
            }
            return "md " + key + flags + "\r\n";
        }

        private String metaArithmetic() {
            final String key = unlessStale(chance(60) ? prefix + "n" : metaKey());
            inPlace.add(key.split(" ")[0]);
            // No T: when memcached's number grows it writes a new item and sets the TTL on the
            // old one (docs/server.md).
            String flags = flags("cktqv", "CDJMNO", false);
            flags = inFuture(flags);
            return "ma " + key + flags + "\r\n";
        }

        private String metaOther() {
            final String[] lines = {"me " + prefix + "none", "mg", "ms", "md", "ma", "me", "mg  " + pick(plain),
                "ms " + pick(plain), "ms " + pick(plain) + " 1 " + "x".repeat(300),
                "mg " + pick(plain) + " " + "v ".repeat(30)};
            final String line = pick(lines);
            return line + "\r\n" + (line.startsWith("ms " + prefix) && line.contains(" 1 ") ? "x\r\n" : "");
        }
    }
}
