package io.sharena.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Seeded sequences of binary requests, sent in one write to memcached 1.6 and to this server, the
 * responses compared as {@link BinaryProtocolTest} compares them. The requests mix every opcode
 * with a few keys (one of 250 bytes), values that are and are not numbers, CAS values that match
 * nothing, random flags and expiry words (a word of 2^31 or more is a time far ahead), and quiet
 * forms; each sequence ends with a noop, whose response says all came back. A counter's trailing
 * spaces are not compared (see {@link #padless}). A second run of sequences ends in a header that
 * is not a request instead, on which both hang up: which replies before it go out first is
 * memcached's rule of when it sends what it holds (at an error, a noop, a wait for input).
 * {@code -Dsharena.binaryfuzz.first=S -Dsharena.binaryfuzz.seeds=N} replays other seeds.
 */
class BinaryFuzzTest {
    private static BothServers both;

    /**
     * Every opcode but flush: a flush hides what was stored before the second it runs in, and the
     * two servers' clocks tick at different instants, so a flush just after a second began would
     * now and then hide an item in one and not in the other ({@link BinaryProtocolTest} covers it).
     */
    private static final int[] OPS = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
        0x0e, 0x0f, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1c, 0x1d, 0x1e, 0x23, 0x24};
    /** Key names; each sequence puts its seed before them, so no sequence sees another's items. */
    private static final String[] KEYS = {"k1", "k2", "n1", "num", ""};
    private static final String[] VALUES = {"", "5", "hello", "18446744073709551615", " 7", "0", "-1"};
    private static final long[] CAS = {0, 0, 0, 1, 123456789};

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

    private static int extras(final int op) {
        return switch (op) {
            case 0x01, 0x02, 0x03, 0x11, 0x12, 0x13 -> 8;
            case 0x05, 0x06, 0x15, 0x16 -> 20;
            case 0x1c, 0x1d, 0x1e, 0x23, 0x24 -> 4;
            default -> 0;
        };
    }

    private static boolean storesAValue(final int op) {
        return switch (op) {
            case 0x01, 0x02, 0x03, 0x11, 0x12, 0x13, 0x0e, 0x0f, 0x19, 0x1a -> true;
            default -> false;
        };
    }

    private static boolean keyless(final int op) {
        return op == 0x0a || op == 0x0b;
    }

    static byte[] request(final SplittableRandom r, final long seed, final boolean longValues) {
        final int op = OPS[r.nextInt(OPS.length)];
        String key = "";
        if (!keyless(op)) {
            final String name = KEYS[r.nextInt(KEYS.length)];
            key = seed + ":" + name;
            if (name.isEmpty()) {
                key = key + "x".repeat(250 - key.length()); // the longest key
            }
        }
        final ByteBuffer ext = ByteBuffer.allocate(extras(op));
        switch (extras(op)) {
            case 8 -> ext.putInt(r.nextInt()).putInt(r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(3) * 100);
            case 20 -> ext.putLong(new long[] {0, 1, 5, -1, Long.MIN_VALUE}[r.nextInt(5)])
                .putLong(new long[] {0, 7, -1}[r.nextInt(3)]).putInt(new int[] {0, -1, 100}[r.nextInt(3)]);
            case 4 -> ext.putInt(r.nextInt(3) == 0 ? r.nextInt() : 100);
            default -> {
            }
        }
        byte[] value = new byte[0];
        if (storesAValue(op)) {
            value = longValues && r.nextInt(8) == 0 ? "x".repeat(r.nextInt(3000)).getBytes(java.nio.charset.StandardCharsets.US_ASCII)
                : VALUES[r.nextInt(VALUES.length)].getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        }
        final byte[] req = BinaryProtocolTest.request(op, key, ext.array(), value, CAS[r.nextInt(CAS.length)]);
        ByteBuffer.wrap(req).putInt(12, r.nextInt()); // a random opaque
        return req;
    }

    /** Sends {@code bytes} and a last noop of opaque 0 on a new connection; reads until that noop's response, or the close. */
    static BinaryProtocolTest.Exchange exchange(final int port, final byte[] bytes) throws IOException {
        final byte[] noop = BinaryProtocolTest.request(0x0a, "");
        ByteBuffer.wrap(noop).putInt(12, 0);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(BinaryProtocolTest.concat(bytes, noop));
            final InputStream in = s.getInputStream();
            final ByteArrayOutputStream got = new ByteArrayOutputStream();
            final byte[] buf = new byte[1 << 16];
            while (true) {
                final byte[] sofar = got.toByteArray();
                if (endsWithTheLastNoop(sofar)) {
                    return new BinaryProtocolTest.Exchange(BinaryProtocolTest.parse(sofar), false);
                }
                final int n = in.read(buf);
                if (n < 0) {
                    return new BinaryProtocolTest.Exchange(BinaryProtocolTest.parse(sofar), true);
                }
                got.write(buf, 0, n);
            }
        }
    }

    private static boolean endsWithTheLastNoop(final byte[] b) {
        if (b.length < 24) {
            return false;
        }
        final ByteBuffer last = ByteBuffer.wrap(b, b.length - 24, 24);
        return last.get() == (byte) 0x81 && last.get() == 0x0a && last.getShort() == 0 && last.get() == 0
            && last.get() == 0 && last.getShort() == 0 && last.getInt() == 0 && last.getInt() == 0;
    }

    /**
     * The exchange with trailing spaces taken off each value: memcached pads a counter that got
     * shorter in place with spaces (a documented difference, docs/server.md; no value generated
     * here ends in a space otherwise).
     */
    private static BinaryProtocolTest.Exchange padless(final BinaryProtocolTest.Exchange e) {
        return new BinaryProtocolTest.Exchange(e.responses().stream().map(x -> new BinaryProtocolTest.Response(x.magic(),
            x.op(), x.status(), x.keyLen(), x.extLen(), x.opaque(), x.cas(), x.body().stripTrailing())).toList(),
            e.closed());
    }

    /** @return seed's sequence: 1 to 8 requests, values long now and then if {@code longValues} */
    private static List<byte[]> sequence(final long seed, final boolean longValues) {
        final SplittableRandom r = new SplittableRandom(seed);
        final int n = 1 + r.nextInt(8);
        final List<byte[]> requests = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            requests.add(request(r, seed, longValues));
        }
        return requests;
    }

    @Test
    void seededSequencesAnswerAsMemcachedDoes() throws IOException {
        final long first = Long.getLong("sharena.binaryfuzz.first", 1);
        final int seeds = Integer.getInteger("sharena.binaryfuzz.seeds", 400);
        int compared = 0;
        int hits = 0;
        for (long seed = first; seed < first + seeds; seed++) {
            final byte[] bytes = BinaryProtocolTest.concat(sequence(seed, true).toArray(new byte[0][]));
            final BinaryProtocolTest.Exchange theirs = exchange(both.memcached.port, bytes);
            final BinaryProtocolTest.Exchange mine = exchange(both.ours.port(), bytes);
            assertEquals(List.of(), theirs.closed() ? List.of("memcached closed the connection") : List.of(),
                "seed " + seed + ": a sequence memcached hangs up on is not one this test means to send");
            assertEquals(padless(theirs), padless(mine), "seed " + seed);
            compared += theirs.responses().size();
            hits += (int) theirs.responses().stream().filter(x -> x.status() == 0 && x.extLen() == 4).count();
        }
        // Not vacuous: the sequences got answers, hits among them (a value with its flags).
        assertEquals(true, compared > 2 * seeds && hits > seeds / 20,
            "responses compared: " + compared + ", hits: " + hits + ", seeds: " + seeds);
    }

    /**
     * Sequences as above, sent in one write, ending in a header that is not a request (magic 0):
     * memcached sends an error's reply and a noop's with what it held before them, and drops what
     * it holds at the hang-up (a success's reply since). This server sent every reply before it.
     * Values stay short here: a sequence of several long ones is read in pieces, at places that
     * differ between the two servers.
     */
    @Test
    void sequencesEndingInAHangUpAnswerAsMemcachedDoes() throws IOException {
        final long first = Long.getLong("sharena.binaryfuzz.first", 1);
        final int seeds = Integer.getInteger("sharena.binaryfuzz.seeds", 400);
        int kept = 0;
        int dropped = 0;
        for (long seed = first; seed < first + seeds; seed++) {
            final List<byte[]> requests = new java.util.ArrayList<>(sequence(seed, false));
            final int n = requests.size();
            requests.add(new byte[24]);
            final byte[] bytes = BinaryProtocolTest.concat(requests.toArray(new byte[0][]));
            final BinaryProtocolTest.Exchange theirs = BinaryProtocolTest.exchange(both.memcached.port, bytes);
            final BinaryProtocolTest.Exchange mine = BinaryProtocolTest.exchange(both.ours.port(), bytes);
            assertEquals(padless(theirs), padless(mine), "seed " + seed);
            kept += theirs.responses().size();
            dropped += n - theirs.responses().size();
        }
        // Not vacuous: replies went out before the hang-up, and others were dropped (or never made: quiet hits).
        assertEquals(true, kept > seeds / 2 && dropped > seeds / 2,
            "replies sent: " + kept + ", requests without one: " + dropped + ", seeds: " + seeds);
    }
}
