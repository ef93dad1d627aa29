package io.sharena.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regression tests for the differences {@link DifferentialFuzzTest} found, each request sent to
 * memcached 1.6 and to this server on one connection each and the replies compared byte for byte
 * (CAS values masked, TTLs within a second), as {@link SideBySideTest} does.
 */
class FuzzFindingsTest {
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

    private static final String LONG_OPAQUE = "O" + "o".repeat(33);


    /** memcached hangs up on an HTTP request line (t/malicious-commands.t), but not on a known command's. */
    @Test
    void anHttpRequestLineClosesTheConnection() throws Exception {
        both.assertSameReplies(List.of("GET / HTTP/1.0\r\n", "PUT /asdf/asd/fasdfasdf/sadf HTTP/1.1\r\n", "DELETE HTTP/1.1\r\n",
            "HTTP/1.0\r\n", "xyz HTTP/\r\n", "mxx HTTP/1.0\r\n", "misbehave 1 HTTP/1.1\r\n",
            "xyz HTTP/ x\r\n", "xyz http/1.1\r\n", "sxt a HTTP/1.0\r\n", "gxt a HTTP/1.0\r\n", "mx a HTTP/1.0\r\n",
            "flush_all 1 2 3 HTTP/1.1\r\n", "verbosity 1 2 3 4 HTTP/1.1\r\n", "lru 1 2 3 4 5 HTTP/1.1\r\n",
            "bget HTTP/1.1\r\n", "replace HTTP/1.1\r\n", "incr HTTP/1.0\r\n", "version\r\n"));
        try (Wire mine = new Wire(both.ours.port())) {
            mine.send(Wire.ascii("GET / HTTP/1.0\r\n"));
            assertEquals("", mine.untilClosed());
        }
    }

    /**
     * An HTTP request line after other commands in the same write: memcached hangs up having sent
     * the replies up to its last get (or gets, gat, gats) or mn, as at a line too long to be a
     * command (below), and dropped the ones after it. This server dropped them all (a difference
     * docs/server.md listed; the differential fuzz sent such a line alone for it).
     */
    @Test
    void anHttpLineAfterOtherCommandsHangsUpAfterTheRepliesUpToTheLastGetOrMn() throws Exception {
        for (final String request : List.of("set a 0 0 1\r\n1\r\nget a\r\nGET / HTTP/1.1\r\n",
            "version\r\nget a\r\nversion\r\nPUT /x HTTP/1.0\r\n", "mn\r\nversion\r\nGET / HTTP/1.1\r\n",
            "set a 0 0 1\r\n1\r\nversion\r\nGET / HTTP/1.1\r\n", "gat 0 a\r\nmg a v\r\nxyz HTTP/1.1\r\n")) {
            final byte[] bytes = Wire.ascii(request);
            final String theirs = SideBySideTest.masked(raw(both.memcached.port, bytes));
            final String mine = SideBySideTest.masked(raw(both.ours.port(), bytes));
            assertEquals(theirs, mine, Wire.shorten(request));
        }
        assertTrue(raw(both.ours.port(), Wire.ascii("set a 0 0 1\r\n1\r\nget a\r\nGET / HTTP/1.1\r\n"))
            .startsWith("STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\n"), "the replies up to the get went out before the hang-up");
    }

    /**
     * A get with a key over 250 bytes, after other commands in the same write: memcached answers
     * {@code CLIENT_ERROR bad command line format} having dropped every reply it had not sent, those
     * since its last get (or gets, gat, gats), mn or wait for input: a set's STORED before it is
     * lost, a get's value is not. This server dropped only the get line's own replies.
     */
    @Test
    void aGetWithATooLongKeyDropsTheRepliesMemcachedHadNotSent() throws Exception {
        final String k = "k".repeat(251);
        for (final String request : List.of("version\r\nget " + k + "\r\n", "set a 0 0 1\r\n1\r\nget a " + k + "\r\n",
            "get a\r\nversion\r\nget a " + k + "\r\n", "mn\r\nversion\r\nget a " + k + "\r\nversion\r\n",
            "mg a v\r\ngets " + k + " a\r\n", "set b 0 0 1\r\n2\r\nget a b " + k + " a\r\nversion\r\n")) {
            final byte[] bytes = Wire.ascii(request);
            final String theirs = SideBySideTest.masked(raw(both.memcached.port, bytes));
            final String mine = SideBySideTest.masked(raw(both.ours.port(), bytes));
            assertEquals(theirs, mine, Wire.shorten(request));
        }
        assertEquals("CLIENT_ERROR bad command line format\r\n",
            raw(both.ours.port(), Wire.ascii("set a 0 0 1\r\n1\r\nget a " + k + "\r\n")), "STORED dropped, as memcached drops it");
    }

    /**
     * A line too long to be a command, after others in the same write: memcached hangs up, having
     * sent the replies up to the last get (or gets, gat, gats) or mn, and dropped the ones after
     * it. This server dropped them all (found by a differential fuzz).
     */
    @Test
    void aTooLongLineHangsUpAfterTheRepliesUpToTheLastGetOrMn() throws Exception {
        final String junk = "x".repeat(3000);
        // Each on a connection of its own, sent in one write, read until the server hangs up.
        for (final String request : List.of("set k 0 0 1\r\nx\r\n" + junk, "get k\r\n" + junk,
            "set k 0 0 1\r\nx\r\nget k\r\nset j 0 0 1\r\ny\r\n" + junk, "mn\r\n" + junk,
            "gets k\r\nversion\r\n" + junk, "delete zz\r\n" + junk, "mg k v\r\n" + junk,
            "get k\r\nmn\r\nmg k v\r\n" + junk, "gat 0 k\r\nincr n 1\r\n" + junk)) {
            final byte[] bytes = Wire.ascii(request);
            final String theirs = SideBySideTest.masked(raw(both.memcached.port, bytes));
            final String mine = SideBySideTest.masked(raw(both.ours.port(), bytes));
            assertEquals(theirs, mine, Wire.shorten(request));
        }
        assertTrue(raw(both.ours.port(), Wire.ascii("get k\r\n" + junk)).startsWith("VALUE k 0 1"),
            "the get's value went out before the hang-up");
        // memcached writes a metadump straight to the socket: all of it goes out before the hang-up.
        final String dump = raw(both.ours.port(), Wire.ascii("lru_crawler metadump all\r\n" + junk));
        assertTrue(dump.startsWith("key=") && dump.contains("key=k ") && dump.endsWith("END\r\n\u00c1"), dump);
    }

    /**
     * A storage command whose data block ends in a later write than its line, then a line too long
     * to be a command: memcached reads the rest of a block from the socket exactly, answers it with
     * its input empty and sends the reply then, before it reads the long line and hangs up. This
     * server read the line with the block's end and dropped the reply (left from the differential
     * fuzz of 2026-12-07, which sent each request in one write).
     */
    @Test
    void aValueEndingInALaterWriteIsAnsweredBeforeATooLongLineHangsUp() throws Exception {
        final String junk = "x".repeat(3000);
        final String large = "v".repeat(100_000);
        for (final String[] writes : List.of(
            new String[] {"set k 0 0 100000\r\n" + large.substring(0, 1000), large.substring(1000) + "\r\n" + junk},
            new String[] {"set k 0 0 10\r\nabc", "defghij\r\n" + junk},
            new String[] {"get k\r\nms m 10 T0\r\n01234", "56789\r\nmn\r\n" + junk},
            new String[] {"set k 0 0 10\r\nabcdefghij", "\r\nget k\r\n" + junk},
            new String[] {"set k 0 0 10\r\nabcdefghij\r\nversion\r\n", junk},
            new String[] {"set big 0 0 2000000\r\n" + large, "v".repeat(1_900_000) + "\r\n" + junk})) {
            final String theirs = SideBySideTest.masked(rawInTwo(both.memcached.port, writes));
            final String mine = SideBySideTest.masked(rawInTwo(both.ours.port(), writes));
            assertEquals(theirs, mine, Wire.shorten(writes[0]) + " | " + Wire.shorten(writes[1]));
        }
        assertEquals("STORED\r\n\u00c1", rawInTwo(both.ours.port(), new String[] {"set k 0 0 10\r\nabc", "defghij\r\n" + junk}));
    }

    /**
     * Replies to commands before a get line too long to wait for whole (past 2,048 bytes, no newline
     * yet): memcached sends them before it reads on; this server held them until the line's newline,
     * and dropped them when the client ended its sending first (found by a split-write probe).
     */
    @Test
    void repliesBeforeAnOpenGetLineGoOutAtOnceAndSurviveAHalfClose() throws Exception {
        final StringBuilder line = new StringBuilder("delete a\r\nmn\r\nget");
        for (int i = 0; i < 600; i++) {
            line.append(" key").append(i);
        }
        for (final boolean halfClose : new boolean[] {false, true}) {
            final String theirs = openGetLine(both.memcached.port, line.toString(), halfClose);
            final String mine = openGetLine(both.ours.port(), line.toString(), halfClose);
            assertEquals("NOT_FOUND\r\nMN\r\n|" + (halfClose ? "\u00c1" : "END\r\n"), theirs, "memcached, halfClose=" + halfClose);
            assertEquals(theirs, mine, "halfClose=" + halfClose);
        }
    }

    /**
     * @return what came before the line's end, "|", then what came after it: the newline sent, or
     * the sending side shut down (then 0xC1 if the server hung up)
     */
    private static String openGetLine(final int port, final String start, final boolean halfClose) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.getOutputStream().write(Wire.ascii(start));
            s.getOutputStream().flush();
            final String before = readFor(s, QUIET_MILLIS);
            if (halfClose) {
                s.shutdownOutput();
            } else {
                s.getOutputStream().write(Wire.ascii("\r\n"));
                s.getOutputStream().flush();
            }
            return before + "|" + readFor(s, QUIET_MILLIS);
        }
    }

    /** Quiet this long ends a reading: a loaded machine stalls either server for hundreds of ms. */
    private static final int QUIET_MILLIS = 1000;

    /** @return what the socket gave within {@code millis} of quiet, then 0xC1 if it ended */
    private static String readFor(final java.net.Socket s, final int millis) throws Exception {
        s.setSoTimeout(millis);
        final java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        final byte[] buf = new byte[1 << 16];
        try {
            for (int n; (n = s.getInputStream().read(buf)) >= 0; ) {
                got.write(buf, 0, n);
            }
            got.write(0xC1);
        } catch (final java.net.SocketTimeoutException e) {
            // quiet: still open
        }
        final byte[] bytes = got.toByteArray();
        return Wire.text(bytes, bytes.length);
    }

    /** @return what the server sent for two writes a moment apart, then 0xC1 if it hung up */
    private static String rawInTwo(final int port, final String[] writes) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            s.getOutputStream().write(Wire.ascii(writes[0]));
            s.getOutputStream().flush();
            Thread.sleep(300); // the server reads and answers what it has before the rest comes
            s.getOutputStream().write(Wire.ascii(writes[1]));
            s.getOutputStream().flush();
            return readFor(s, QUIET_MILLIS);
        }
    }

    /**
     * memcached rewrites a counter in place only when nothing else holds its item, and a reply not
     * sent yet holds it (an mg hit's, until the next get line, mn or wait for input): a decr after
     * an mg of its key in the same write makes a new item of the number's length, with none of the
     * old item's marks. This server counted in place (a padded value, the marks kept).
     */
    @Test
    void aCounterAfterAReadNotYetSentIsANewItem() throws Exception {
        final String set = "set q 0 0 2\r\n10\r\n";
        for (final String request : List.of(set + "mg q v\r\ndecr q 1\r\nmg q s v\r\n",
            set + "mg q s\r\ndecr q 1\r\ndecr q 1\r\nmg q s v\r\n", set + "mg q v\r\nmn\r\ndecr q 1\r\nmg q s v\r\n",
            set + "mg q v\r\ntouch q 10\r\nma q MD v\r\nmg q s v\r\n", set + "get q\r\ndecr q 1\r\nmg q s v\r\n",
            set + "mg zz v\r\ndecr q 1\r\nmg q s v\r\n", set + "set r 0 0 1\r\n1\r\nmg r v\r\ndecr q 1\r\nmg q s v\r\n",
            set + "mg q v\r\nincr q 1\r\nmg q s v\r\n")) {
            final byte[] bytes = Wire.ascii(request);
            final String theirs = SideBySideTest.masked(raw(both.memcached.port, bytes));
            final String mine = SideBySideTest.masked(raw(both.ours.port(), bytes));
            assertEquals(theirs, mine, Wire.shorten(request));
        }
        assertTrue(raw(both.ours.port(), Wire.ascii(set + "mg q v\r\ndecr q 1\r\nmg q s v\r\n")).endsWith("VA 1 s1\r\n9\r\n"),
            "a new item of the number's length");
        assertTrue(raw(both.ours.port(), Wire.ascii(set + "mg q v\r\nmn\r\ndecr q 1\r\nmg q s v\r\n")).endsWith("VA 2 s2\r\n9 \r\n"),
            "in place once the read's reply is sent");
    }

    /**
     * A value over the item size, or a meta set refused by its flags: memcached skips the data
     * block, then answers, and sends nothing it holds while it skips (the replies before the
     * command in the same write included), so a client that stops halfway gets none of them. This
     * server answered at the command line, with the replies before it.
     */
    @Test
    void aRefusedValueIsAnsweredOnceItHasBeenSkipped() throws Exception {
        final String big = "x".repeat(2_000_000);
        for (final String[] writes : List.of(
            new String[] {"version\r\nset k 0 0 2000000\r\n" + big.substring(0, 1000), big.substring(1000) + "\r\nversion\r\n"},
            new String[] {"mg k v\r\nversion\r\nms k 2000000 T0\r\n" + big.substring(0, 1000), big.substring(1000) + "\r\nmn\r\n"},
            new String[] {"version\r\nms k 10 MZ\r\n01234", "56789\r\nversion\r\n"},
            new String[] {"set k 0 0 2000000 noreply\r\n" + big.substring(0, 10), big.substring(10) + "\r\nversion\r\n"})) {
            final String theirs = SideBySideTest.masked(beforeAndAfter(both.memcached.port, writes));
            final String mine = SideBySideTest.masked(beforeAndAfter(both.ours.port(), writes));
            assertEquals(theirs, mine, Wire.shorten(writes[0]));
        }
        assertEquals("| SERVER_ERROR object too large for cache\r\nVERSION " + MemcachedServer.VERSION + "\r\n",
            beforeAndAfter(both.ours.port(), new String[] {"set k 0 0 2000000\r\n" + big.substring(0, 1000),
                big.substring(1000) + "\r\nversion\r\n"}));
    }

    /** @return what the server sent within 300 ms of the first write, "| ", then what it sent after the second */
    private static String beforeAndAfter(final int port, final String[] writes) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            s.getOutputStream().write(Wire.ascii(writes[0]));
            s.getOutputStream().flush();
            final String before = readFor(s, 300);
            s.getOutputStream().write(Wire.ascii(writes[1]));
            s.getOutputStream().flush();
            return before + "| " + readFor(s, QUIET_MILLIS);
        }
    }

    /** @return what the server sent on a connection of its own, then 0xC1 if it hung up ({@link BinaryProtocolTest#raw}) */
    private static String raw(final int port, final byte[] bytes) throws java.io.IOException {
        final byte[] got = BinaryProtocolTest.raw(port, bytes);
        return Wire.text(got, got.length);
    }

    /** memcached's touch reads the item as a get does: a later mg h says it was fetched. */
    @Test
    void touchMarksTheItemFetched() throws Exception {
        both.assertSameReplies(List.of("set t 0 0 2\r\n99\r\n", "touch t 100\r\n", "mg t h t\r\n", "mg t h\r\n",
            "set t2 0 0 2\r\n99\r\n", "touch t2 100 noreply\r\n", "mg t2 h\r\n",
            "set t3 0 0 2\r\n99\r\n", "gat 100 t3\r\n", "mg t3 h\r\n", "touch nokey 100\r\n"));
    }

    /** memcached reads a counter with strtoull: white space, a sign, and what follows a space are taken. */
    @Test
    void countersTakeWhatStrtoullTakes() throws Exception {
        final List<String> script = new ArrayList<>();
        final String[] values = {" 5", "+5", "-0", "5 x", "\t7\t", "\u000b9", "00012", "-9223372036854775809",
            "5\u0000x", " x", "5x", "- 5", "+", " -1", "-1", "18446744073709551616", "", "1 2"};
        int i = 0;
        for (final String v : values) {
            final String key = "v" + i++;
            script.add("set " + key + " 7 0 " + v.length() + "\r\n" + v + "\r\n");
            script.add("incr " + key + " 1\r\n");
            script.add("decr " + key + " 3\r\n");
            script.add("mg " + key + " f t\r\n");
            script.add("set " + key + "m 0 100 " + v.length() + "\r\n" + v + "\r\n");
            script.add("ma " + key + "m v t\r\n");
            script.add("ma " + key + "m MD D2 v c\r\n");
        }
        script.addAll(List.of("set e 0 0 0\r\n\r\n", "ma e C1\r\n", "ma e\r\n", "incr e 1\r\n",
            "set f 0 0 2\r\n 5\r\n", "gets f\r\n", "ma f C{cas}\r\n", "ma f C1\r\n"));
        both.assertSameReplies(script.stream().map(s -> s.replace("{cas}", "1")).toList());
    }

    /** An ma VA line gives the number's length: 19 digits from 2^63 to 10^19 - 1. */
    @Test
    void largeCounterLengths() throws Exception {
        both.assertSameReplies(List.of("ms dd 20\r\n18446744073709551615\r\n", "ma dd v\r\n", "ma dd v D9223372036854775810\r\n",
            "ma dd v\r\n", "ma dd v D999999999999999999\r\n", "ma dd v D1\r\n", "ma dd v D18446744073709551615\r\n",
            "ma dd MD v D1\r\n"));
    }

    /** mg reports a too-long opaque while it builds the reply: the lookup, vivify and touch before it stand. */
    @Test
    void mgWithATooLongOpaqueStillLooksUp() throws Exception {
        both.assertSameReplies(List.of("mg nk N30 " + LONG_OPAQUE + "\r\n", "mg nk v t\r\n",
            "ms x 2\r\nab\r\n", "mg x T100 " + LONG_OPAQUE + "\r\n", "mg x t h\r\n",
            "ms y 2\r\nab\r\n", "mg y " + LONG_OPAQUE + " T100\r\n", "mg y t h\r\n",
            "ms y2 2\r\nab\r\n", "mg y2 " + LONG_OPAQUE + " v\r\n", "mg y2 h\r\n",
            "mg nn " + LONG_OPAQUE + " N30 T60\r\n", "mg nn t\r\n", "mg nn2 N30 T60 " + LONG_OPAQUE + "\r\n",
            "mg nn2 t\r\n", "mg nn3 T60 N30 " + LONG_OPAQUE + "\r\n", "mg nn3 t\r\n",
            "mg nn4 T60 " + LONG_OPAQUE + " N30\r\n", "mg nn4 t\r\n",
            "md x " + LONG_OPAQUE + "\r\n", "mg x v\r\n", "ms n 1\r\n5\r\n", "ma n " + LONG_OPAQUE + "\r\n",
            "mg n v\r\n", "ms s 1\r\nx\r\n", "ma s " + LONG_OPAQUE + "\r\n", "ms x3 2 " + LONG_OPAQUE + "\r\nab\r\n",
            "mg x3 v\r\n",
            "ms z1 2\r\nab\r\n", "mg z1 " + LONG_OPAQUE + " l\r\n", "mg z1 h\r\n",
            "ms z2 2\r\nab\r\n", "mg z2 " + LONG_OPAQUE + " R30\r\n", "mg z2 h\r\n",
            "ms z3 2\r\nab\r\n", "mg z3 h " + LONG_OPAQUE + "\r\n", "mg z3 h\r\n",
            "ms z4 2\r\nab\r\n", "mg z4 " + LONG_OPAQUE + " N30\r\n", "mg z4 h\r\n",
            "ms z5 2\r\nab\r\n", "mg z5 " + LONG_OPAQUE + " t c f s k\r\n", "mg z5 h\r\n",
            "ms z6 2\r\nab\r\n", "mg z6 " + LONG_OPAQUE + " u\r\n", "mg z6 h\r\n"));
    }

    /** ma counts before it reports a too-long opaque: only the T and N before the opaque have acted. */
    @Test
    void maWithATooLongOpaqueStillCounts() throws Exception {
        both.assertSameReplies(List.of("ma nv1 N1000 " + LONG_OPAQUE + "\r\n", "mg nv1 t v\r\n",
            "ma nv2 " + LONG_OPAQUE + " N1000 J5\r\n", "mg nv2 t v\r\n",
            "ma nv3 N1000 T50 " + LONG_OPAQUE + "\r\n", "mg nv3 t v\r\n",
            "ms e1 2\r\n10\r\n", "ma e1 T50 " + LONG_OPAQUE + "\r\n", "mg e1 t v\r\n",
            "ma e1 " + LONG_OPAQUE + " T70\r\n", "mg e1 t v\r\n", "ms s 1\r\nx\r\n", "ma s " + LONG_OPAQUE + "\r\n"));
    }

    /** A created item's TTL, as t shows it between N and T: memcached applies them where they stand. */
    @Test
    void createdItemTtlInTokenOrder() throws Exception {
        both.assertSameReplies(List.of("mg c1 h N100 t f T30 c\r\n", "mg c1 t\r\n", "mg c2 t N100 t T30 t\r\n", "mg c2 t\r\n",
            "mg c3 T30 t N100 t\r\n", "mg c3 t\r\n", "mg c4 N100 R200 t v\r\n", "mg c5 t N100\r\n", "mg c5 t\r\n"));
    }
}
