package io.sharena.server;

import io.sharena.ipc.store.StoreOptions;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Large values of text and binary storage commands, read from the socket straight into their items in the
 * store: the commands' conditions, a bad data chunk, a client that stops halfway or hangs up, and
 * writers that need the ring's space meanwhile (a reservation is never held across a wait).
 */
class InPlaceSetTest {
    private static final int BIG = 100 << 10;

    private static byte[] value(final int seed) {
        final byte[] v = new byte[BIG];
        new SplittableRandom(seed).nextBytes(v);
        return v;
    }

    private static byte[] piece(final int length) {
        final byte[] v = new byte[length];
        new SplittableRandom(length).nextBytes(v);
        return v;
    }

    private static byte[] command(final String line, final byte[] value, final String end) {
        final byte[] head = Wire.ascii(line + "\r\n");
        final byte[] tail = Wire.ascii(end);
        final byte[] all = Arrays.copyOf(head, head.length + value.length + tail.length);
        System.arraycopy(value, 0, all, head.length, value.length);
        System.arraycopy(tail, 0, all, head.length + value.length, tail.length);
        return all;
    }

    @Test
    void setAddReplaceAndCasOfLargeValuesAnswerAsForSmallOnes() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            assertEquals("STORED\r\n", w.call(command("set k 5 0 " + BIG, value(1), "\r\n")));
            assertArrayEquals(value(1), server.store.get(Wire.ascii("k")));
            assertEquals(5, server.store.gets(Wire.ascii("k")).flags());
            assertEquals("NOT_STORED\r\n", w.call(command("add k 0 0 " + BIG, value(2), "\r\n")));
            assertEquals("NOT_STORED\r\n", w.call(command("replace nothere 0 0 " + BIG, value(2), "\r\n")));
            assertNull(server.store.get(Wire.ascii("nothere")));
            final long cas = server.store.gets(Wire.ascii("k")).cas();
            assertEquals("EXISTS\r\n", w.call(command("cas k 0 0 " + BIG + " " + (cas + 1), value(3), "\r\n")));
            assertArrayEquals(value(1), server.store.get(Wire.ascii("k")));
            assertEquals("STORED\r\n", w.call(command("cas k 0 0 " + BIG + " " + cas, value(3), "\r\n")));
            assertArrayEquals(value(3), server.store.get(Wire.ascii("k")));
            assertEquals("STORED\r\n", w.call(command("replace k 0 0 " + BIG, value(4), "\r\n")));
            assertArrayEquals(value(4), server.store.get(Wire.ascii("k")));
            assertEquals(java.util.List.of(), server.store.check());
            assertEquals(6, server.server.valuesInPlace.sum(), "every one of these values went straight into the store");
        }
    }

    @Test
    void aBadDataChunkStoresNothingAndKeepsTheOldValue() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            assertEquals("STORED\r\n", w.call("set k 0 0 3\r\nold\r\n"));
            assertEquals("CLIENT_ERROR bad data chunk\r\nERROR\r\n", w.call(command("set k 0 0 " + BIG, value(1), "xx\r\n")));
            assertArrayEquals(Wire.ascii("old"), server.store.get(Wire.ascii("k")));
            assertEquals(java.util.List.of(), server.store.check());
        }
    }

    /** A binary request's response: its status and what follows the header. */
    private record Binary(int op, int status, byte[] body) {
    }

    private static Binary response(final java.io.InputStream in) throws java.io.IOException {
        final java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(in.readNBytes(BinaryCommands.HEADER));
        assertEquals((byte) 0x81, h.get(0), "a response's magic byte");
        return new Binary(h.get(1) & 0xff, h.getShort(6) & 0xffff, in.readNBytes(h.getInt(8)));
    }

    private static byte[] binarySet(final int op, final String key, final byte[] value, final long cas) {
        return BinaryProtocolTest.request(op, key, BinaryProtocolTest.ints(7, 0), value, cas);
    }

    /**
     * A binary client's set, add, replace and compare-and-set of large values go into their items
     * as the text commands' do, and answer with the binary statuses; an append of one goes through
     * the heap; a quiet set says nothing; one over the max item size is refused and its value
     * dropped as it comes; a value sent in two pieces, or across its connection's turns, is stored whole.
     */
    @Test
    void binaryStorageCommandsOfLargeValuesGoInPlace() throws Exception {
        try (TestServer server = TestServer.start(); java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            final java.io.OutputStream out = s.getOutputStream();
            final java.io.InputStream in = s.getInputStream();
            out.write(binarySet(BinaryCommands.SET, "b", value(1), 0));
            assertEquals(0, response(in).status());
            assertArrayEquals(value(1), server.store.get(Wire.ascii("b")));
            assertEquals(7, server.store.gets(Wire.ascii("b")).flags());
            out.write(binarySet(BinaryCommands.ADD, "b", value(2), 0));
            assertEquals(BinaryCommands.KEY_EEXISTS, response(in).status());
            out.write(binarySet(BinaryCommands.REPLACE, "nothere", value(2), 0));
            assertEquals(BinaryCommands.KEY_ENOENT, response(in).status());
            assertNull(server.store.get(Wire.ascii("nothere")));
            final long cas = server.store.gets(Wire.ascii("b")).cas();
            out.write(binarySet(BinaryCommands.SET, "b", value(3), cas + 1));
            assertEquals(BinaryCommands.KEY_EEXISTS, response(in).status());
            assertArrayEquals(value(1), server.store.get(Wire.ascii("b")));
            // A quiet set, then a get: only the get answers, with the value the set gave.
            out.write(BinaryProtocolTest.concat(binarySet(BinaryCommands.SETQ, "b", value(4), cas),
                BinaryProtocolTest.request(BinaryCommands.GET, "b")));
            final Binary got = response(in);
            assertEquals(BinaryCommands.GET, got.op());
            assertArrayEquals(value(4), Arrays.copyOfRange(got.body(), 4, got.body().length));
            final long inPlace = server.server.valuesInPlace.sum();
            assertEquals(5, inPlace, "the set, add, replace and both compare-and-sets went straight into the store");
            // Appended through the heap (a concatenation is built from both values).
            out.write(BinaryProtocolTest.request(BinaryCommands.APPEND, "b", new byte[0], value(5), 0));
            assertEquals(0, response(in).status());
            final byte[] both = Arrays.copyOf(value(4), 2 * BIG);
            System.arraycopy(value(5), 0, both, BIG, BIG);
            assertArrayEquals(both, server.store.get(Wire.ascii("b")));
            // Over the max item size (1 MiB by default): refused, its value dropped as it comes.
            out.write(BinaryProtocolTest.concat(binarySet(BinaryCommands.SET, "b", new byte[(1 << 20) + 1], 0),
                BinaryProtocolTest.request(BinaryCommands.NOOP, "")));
            final Binary refused = response(in);
            assertEquals(BinaryCommands.E2BIG, refused.status());
            assertEquals("Too large.", new String(refused.body(), java.nio.charset.StandardCharsets.US_ASCII));
            assertEquals(BinaryCommands.NOOP, response(in).op());
            assertNull(server.store.get(Wire.ascii("b")), "a failed set leaves no old value readable");
            // Sent in two pieces, the second after a pause: stored whole when it ends.
            final byte[] split = binarySet(BinaryCommands.SET, "split", value(6), 0);
            out.write(Arrays.copyOf(split, split.length / 2));
            out.flush();
            Thread.sleep(50);
            out.write(Arrays.copyOfRange(split, split.length / 2, split.length));
            assertEquals(0, response(in).status());
            assertArrayEquals(value(6), server.store.get(Wire.ascii("split")));
            assertEquals(java.util.List.of(), server.store.check());
        }
    }

    /**
     * One client sends half of a large value and waits; meanwhile another fills the ring several
     * times over: none of its sets waits for the first client's item, and that item is stored whole
     * once its value ends. A client that hangs up halfway stores nothing.
     */
    @Test
    void aClientThatStopsHalfwayHoldsNoSpaceOthersNeed() throws Exception {
        final StoreOptions small = StoreOptions.defaults().withMemoryLimit(4L << 20).withLockTimeoutNanos(200_000_000L);
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(2), small);
             Wire slow = new Wire(server.port()); Wire quitter = new Wire(server.port()); Wire fast = new Wire(server.port())) {
            final byte[] all = command("set slow 0 0 " + BIG, value(7), "\r\n");
            slow.send(Arrays.copyOf(all, all.length / 2));
            final byte[] quit = command("set gone 0 0 " + BIG, value(8), "\r\n");
            quitter.send(Arrays.copyOf(quit, quit.length / 2));
            quitter.close();
            Thread.sleep(100);
            for (int i = 0; i < 160; i++) {
                assertEquals("STORED\r\n", fast.call(command("set f" + i + " 0 0 " + BIG, value(i), "\r\n")), "set " + i);
            }
            slow.send(Arrays.copyOfRange(all, all.length / 2, all.length));
            assertEquals("STORED\r\n", slow.call(new byte[0]));
            assertArrayEquals(value(7), server.store.get(Wire.ascii("slow")));
            assertNull(server.store.get(Wire.ascii("gone")));
            // The stopped client's value moved to the heap after the hold; the closed one's too,
            // unless its end of stream came first (then its reservation was given up at the close).
            System.out.println("in place " + server.server.valuesInPlace.sum() + ", spilled " + server.server.valuesSpilled.sum());
            assertTrue(server.server.valuesSpilled.sum() >= 1, "spilled=" + server.server.valuesSpilled.sum());
            assertTrue(server.server.valuesInPlace.sum() >= 160, "inPlace=" + server.server.valuesInPlace.sum());
            assertEquals(java.util.List.of(), server.store.check());
        }
    }

    /**
     * A client that writes a large value in pieces, a few milliseconds apart (as memcached's own
     * t/lru.t does), keeps its reservation while the pieces keep coming: no value moves to the heap,
     * so none takes its ring space twice, and the ring holds as many such items as when each value
     * arrives at once.
     */
    @Test
    void aValueArrivingSteadilyInPiecesStaysInPlace() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            final int len = 256 << 10;
            // A run counts only if this client kept its gaps well under the stall bound: on a loaded
            // machine its own sleep may overrun, and then a spill is what the server must do.
            int counted = 0;
            for (int attempt = 0; attempt < 20 && counted < 2; attempt++) {
                final String key = "piecewise" + attempt;
                final byte[] all = command("set " + key + " 0 0 " + len, piece(len), "\r\n");
                final long spilledBefore = server.server.valuesSpilled.sum();
                long widest = 0;
                long last = System.nanoTime();
                for (int at = 0; at < all.length; at += 16 << 10) {
                    w.send(Arrays.copyOfRange(all, at, Math.min(all.length, at + (16 << 10))));
                    final long now = System.nanoTime();
                    widest = Math.max(widest, now - last);
                    last = now;
                    Thread.sleep(1); // the pieces take several times the old 2 ms hold in all
                }
                assertEquals("STORED\r\n", w.call(new byte[0]));
                assertArrayEquals(piece(len), server.store.get(Wire.ascii(key)));
                if (widest < Worker.HOLD_NANOS * 4 / 5) {
                    counted++;
                    assertEquals(spilledBefore, server.server.valuesSpilled.sum(),
                        "a value still arriving is not moved to the heap (widest gap " + widest / 1000 + " us)");
                }
            }
            // A machine so loaded that a 1 ms sleep never once stayed under 8 ms cannot show it either way.
            assumeTrue(counted > 0, "no attempt kept its gaps under " + Worker.HOLD_NANOS * 4 / 5_000_000 + " ms");
            assertTrue(server.server.valuesInPlace.sum() >= counted);
        }
    }

    /**
     * Many clients begin large sets at once and send only part of each value: every one of them
     * used to reserve its item, so the reservations filled the ring, and each write after them
     * waited the store's lock timeout (1 s) for a reservation the same worker held and could not
     * end while it waited: the worker served one command a second, and connections piled up to
     * the limit. Reservations now hold a quarter of the memory at most (the rest go to the heap),
     * and a worker ends reservations held too long between any two connections it serves. (The
     * bounds below are loose for a loaded machine: stalled, the 60 clients took a second each.)
     */
    @Test
    void manyLargeSetsBegunAtOnceDoNotStallTheWorker() throws Exception {
        final StoreOptions small = StoreOptions.defaults().withMemoryLimit(8L << 20);
        final int clients = 60;
        final int len = 400_000;
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1), small)) {
            final Wire[] partial = new Wire[clients];
            final byte[][] sets = new byte[clients][];
            try {
                for (int i = 0; i < clients; i++) {
                    partial[i] = new Wire(server.port());
                    sets[i] = command("set h" + i + " 0 0 " + len, piece(len), "\r\n");
                }
                final long start = System.nanoTime();
                for (int i = 0; i < clients; i++) {
                    partial[i].send(Arrays.copyOf(sets[i], 50_000));
                }
                try (Wire good = new Wire(server.port())) {
                    assertEquals("STORED\r\n", good.call("set g 0 0 1\r\nx\r\n"));
                    final long millis = (System.nanoTime() - start) / 1_000_000;
                    assertTrue(millis < 10_000, "a small set waited " + millis + " ms behind the partial large ones");
                }
                for (int i = 0; i < clients; i++) {
                    partial[i].send(Arrays.copyOfRange(sets[i], 50_000, sets[i].length));
                }
                for (int i = 0; i < clients; i++) {
                    assertEquals("STORED\r\n", partial[i].call(new byte[0]), "client " + i);
                }
                final long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(millis < 20_000, "the large sets took " + millis + " ms");
                assertEquals(0, server.server.heldInPlace.get(), "every reservation ended");
                assertEquals(java.util.List.of(), server.store.check());
            } finally {
                for (final Wire w : partial) {
                    if (w != null) {
                        w.close();
                    }
                }
            }
        }
    }
}
