package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Findings of the resource audit of 2026-12-06 (what one client, or many well-behaved ones, could
 * make the server hold or spend on everyone's behalf): each is bounded now, and each test here
 * failed before its fix.
 */
class ResourceAuditTest {

    /** @return the reply to {@code request}, or {@code <closed>} if the server hung up instead */
    private static String callOrHangUp(final Wire w, final String request) {
        try {
            final String r = w.call(request);
            return r.endsWith("<closed>") ? "<closed>" : r;
        } catch (final IOException e) {
            return "<closed>"; // reset
        }
    }

    /**
     * {@code stats detail on} counted every prefix it was shown, in a map with no bound (as
     * memcached does, until its malloc fails): a client sending keys of millions of distinct
     * prefixes filled the heap, and the OutOfMemoryError killed the threads. Now at most
     * {@link PrefixStats#MAX_PREFIXES} are counted; the ones seen go on counting, and the dump is
     * bounded with them.
     */
    @Test
    void detailStatsCountABoundedNumberOfPrefixes() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            assertEquals("OK\r\n", w.call("stats detail on\r\n"));
            assertEquals("STORED\r\n", w.call("set first:k 0 0 1\r\nx\r\n"));
            final int prefixes = 3 * PrefixStats.MAX_PREFIXES;
            for (int from = 0; from < prefixes; from += 500) {
                final StringBuilder get = new StringBuilder("get");
                for (int i = from; i < from + 500; i++) {
                    get.append(" p").append(i).append(":k");
                }
                assertEquals("END\r\n", w.call(get.append("\r\n").toString()));
            }
            assertEquals("VALUE first:k 0 1\r\nx\r\nEND\r\n", w.call("get first:k\r\n"), "a prefix seen first");
            final String dump = w.call("stats detail dump\r\n");
            assertTrue(dump.endsWith("END\r\n"), Wire.shorten(dump));
            assertEquals(PrefixStats.MAX_PREFIXES, dump.split("PREFIX ", -1).length - 1, "prefixes listed");
            assertTrue(dump.startsWith("PREFIX first get 1 hit 1 set 1 del 0\r\nPREFIX p0 get 1 hit 0 set 0 del 0\r\n"),
                Wire.shorten(dump));
            assertFalse(dump.contains("PREFIX p" + (PrefixStats.MAX_PREFIXES - 1) + " "), "the first beyond the bound");
            assertEquals(PrefixStats.MAX_PREFIXES, server.server.prefixStats.prefixes());
            // A reset empties the table: new prefixes are counted again.
            assertEquals("RESET\r\n", w.call("stats reset\r\n"));
            assertEquals("END\r\n", w.call("get again:k\r\n"));
            assertEquals("PREFIX again get 1 hit 0 set 0 del 0\r\nEND\r\n", w.call("stats detail dump\r\n"));
        }
    }

    /**
     * An OutOfMemoryError while a worker registered a new connection (or spilled a held value)
     * was caught by nothing: the worker died, every connection it served hung, and the acceptor
     * went on handing it new ones no one ever served. Now the connection it failed for is closed,
     * and the worker goes on.
     */
    @Test
    void noHeapForANewConnectionClosesThatConnectionOnly() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire before = new Wire(server.port())) {
            HostileClientTest.assertServed(before, "before");
            final Worker worker = server.server.open.iterator().next().worker;
            final AtomicInteger failures = new AtomicInteger(1);
            worker.adoptPause = () -> {
                if (failures.getAndDecrement() > 0) {
                    throw new OutOfMemoryError("test: no heap for a connection");
                }
            };
            try (Wire victim = new Wire(server.port())) {
                assertTrue(HostileClientTest.closedWithin(victim.socket, 5000), "the connection it failed for is hung up on");
            }
            HostileClientTest.assertServed(before, "during");
            try (Wire after = new Wire(server.port())) {
                HostileClientTest.assertServed(after, "after");
            }
            assertTrue(worker.running());
        }
    }

    /**
     * A worker that died all the same (here by an error no step survives) was still handed every
     * n-th new connection, which hung; and once every worker was gone the process lived on, and
     * {@code serve} exited 0 when it was stopped. Now the acceptor passes a dead worker over, and
     * {@link MemcachedServer#awaitClose()} fails once no worker is left, so {@code serve} exits non-zero.
     */
    @Test
    void deadWorkersAreGivenNoConnectionsAndTheLastOneEndsTheWait() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(2));
             Wire a = new Wire(server.port()); Wire b = new Wire(server.port())) {
            HostileClientTest.assertServed(a, "a");
            HostileClientTest.assertServed(b, "b");
            final Worker first = workerOf(server, 0);
            final Worker second = workerOf(server, 1);
            assertTrue(first != second, "two workers");
            final CompletableFuture<Void> wait = CompletableFuture.runAsync(() -> {
                try {
                    server.server.awaitClose();
                } catch (final InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            first.adoptPause = () -> {
                throw new InternalError("test: a failure no worker survives");
            };
            int hungUp = 0;
            for (int i = 0; i < 6; i++) {
                try (Wire c = new Wire(server.port())) {
                    final String r = callOrHangUp(c, "version\r\n");
                    if (r.equals("<closed>")) {
                        hungUp++;
                        final long deadline = System.nanoTime() + 5_000_000_000L;
                        while (first.running() && System.nanoTime() < deadline) {
                            Thread.sleep(1);
                        }
                    } else {
                        assertEquals("VERSION " + MemcachedServer.VERSION + "\r\n", r, "connection " + i);
                    }
                }
            }
            assertEquals(1, hungUp, "only the connection the worker died on is hung up on");
            assertFalse(first.running());
            assertFalse(wait.isDone(), "a worker is left");
            second.adoptPause = first.adoptPause;
            try (Wire c = new Wire(server.port())) {
                assertEquals("<closed>", callOrHangUp(c, "version\r\n"));
            }
            final ExecutionException dead = assertThrows(ExecutionException.class, () -> wait.get(10, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, dead.getCause());
            assertTrue(dead.getCause().getMessage().startsWith("every worker thread died"), dead.getCause().getMessage());
            try (Wire c = new Wire(server.port())) {
                assertTrue(HostileClientTest.closedWithin(c.socket, 5000), "with no worker left a client is hung up on");
            }
        }
    }

    /**
     * A connection kept the output buffer its last replies grew (up to 1 MiB), counted against
     * the connections' bound while it waited: a 40-key get of a 10 KB value grew it to 512 KiB, so
     * 510 well-behaved clients doing one each then idling held the whole 256 MiB, and every other
     * client's set was refused. Here the bound is 4 MiB and 20 such clients come and stay: each is
     * answered whole, and once they wait they hold nothing.
     */
    @Test
    void idleConnectionsHoldNoGrownOutputBuffer() throws Exception {
        final ServerOptions options = ServerOptions.defaults().withThreads(2).withConnectionBuffers(4L << 20);
        try (TestServer server = new TestServer(options); Wire good = new Wire(server.port())) {
            final String value = "v".repeat(10_000);
            assertEquals("STORED\r\n", good.call("set v 0 0 " + value.length() + "\r\n" + value + "\r\n"));
            final String one = "VALUE v 0 " + value.length() + "\r\n" + value + "\r\n";
            final java.util.List<Wire> clients = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    final Wire c = new Wire(server.port());
                    clients.add(c);
                    final String reply = c.call("get" + " v".repeat(40) + "\r\n");
                    assertEquals(one.repeat(40) + "END\r\n", reply, "client " + i + ": " + Wire.shorten(reply));
                }
                final long deadline = System.nanoTime() + 2_000_000_000L;
                while (server.server.connectionHeap.get() != 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(0, server.server.connectionHeap.get(), "held by waiting connections");
                assertEquals(0, server.server.buffersRefused.sum());
                // A set whose value comes to the heap finds room.
                assertEquals("STORED\r\n", good.call("set w 0 0 " + value.length() + "\r\n" + value + "\r\n"));
                for (final Wire c : clients) {
                    assertEquals(one + "END\r\n", c.call("get v\r\n"), "each served again");
                }
            } finally {
                for (final Wire c : clients) {
                    c.close();
                }
            }
        }
    }

    /**
     * A get line's keys, and a dump's buckets, were answered in one turn: a 2 MiB line of 400,000
     * missing keys kept the worker for half a second and more (misses add no output, so the output
     * bound never paused it), line after line, while every other connection of the worker waited;
     * a cachedump or metadump of a large store did the same for a client that read as fast as it
     * came. Now each takes its share of the turn ({@link Connection#keysLeft}) and goes on in the
     * next. A good connection's get round trips beside such a hog, measured on the 2-core
     * development machine under a load average of 4 to 6: before, a median of 90 ms to 5 s (2 to
     * 14 round trips in two seconds); now 0 to 2 ms (165 to 595). The bound is on the median: a
     * single round trip still meets the machine's own stalls (up to 283 ms seen, with the fix).
     */
    @Test
    void longGetLinesAndDumpsTakeTheirTurnLikeTheOthers() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1),
            io.sharena.ipc.store.StoreOptions.defaults().withMemoryLimit(64L << 20));
             Wire good = new Wire(server.port())) {
            HostileClientTest.assertServed(good, "x");
            final StringBuilder line = new StringBuilder("get");
            for (int i = 0; line.length() < (2 << 20) - 16; i++) {
                line.append(' ').append(Integer.toString(i, 36));
            }
            final byte[] value = new byte[8];
            for (int i = 0; i < 150_000; i++) {
                server.store.set(("key" + i).getBytes(java.nio.charset.StandardCharsets.US_ASCII), value, 0, 0);
            }
            final StringBuilder seen = new StringBuilder();
            boolean fast = true;
            for (final String request : java.util.List.of(line.append("\r\n").toString(), "stats cachedump 1 0\r\n",
                "lru_crawler metadump all\r\n")) {
                final long[] sorted = roundTripsBeside(server, good, request);
                java.util.Arrays.sort(sorted);
                final long median = sorted[sorted.length / 2];
                final long p90 = sorted[sorted.length * 9 / 10];
                fast &= median < 50; // the starved rounds measured 90 ms to 5 s
                seen.append(request, 0, 20).append(": n=").append(sorted.length).append(" median=").append(median)
                    .append(" p90=").append(p90).append(" max=").append(sorted[sorted.length - 1]).append(" ms; ");
            }
            assertTrue(fast, "round trips beside " + seen);
        }
    }

    /**
     * @return {@code good}'s get round trips, in milliseconds and in order, over two seconds while
     * another connection sends {@code request} again and again (one thread writing, one reading the
     * replies), so that the server always has the next one
     */
    private static long[] roundTripsBeside(final TestServer server, final Wire good, final String request)
        throws Exception {
        final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        final AtomicInteger replies = new AtomicInteger();
        final byte[] bytes = Wire.ascii(request);
        final java.util.List<Long> millis = new java.util.ArrayList<>();
        // Threads of their own: the common pool may have one thread only (two CPUs), and the writer
        // blocks in it.
        try (Wire h = new Wire(server.port());
             java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            final CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    while (!stop.get()) {
                        h.send(bytes);
                    }
                } catch (final IOException e) {
                    // closed at the end
                }
            }, threads);
            final CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                final byte[] buf = new byte[1 << 16];
                final byte[] tail = new byte[5];
                try {
                    for (int n; (n = h.in.read(buf)) >= 0; ) {
                        for (int i = 0; i < n; i++) { // the last five bytes read: an END line ends a reply
                            System.arraycopy(tail, 1, tail, 0, 4);
                            tail[4] = buf[i];
                            if (tail[4] == '\n' && Wire.text(tail, 5).equals("END\r\n")) {
                                replies.incrementAndGet();
                            }
                        }
                    }
                } catch (final IOException e) {
                    // closed at the end
                }
            }, threads);
            try {
                Thread.sleep(50);
                final long end = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < end) {
                    final long t0 = System.nanoTime();
                    assertEquals("VALUE good 0 1\r\nx\r\nEND\r\n", good.call("get good\r\n"));
                    millis.add((System.nanoTime() - t0) / 1_000_000);
                    Thread.sleep(2);
                }
                // One hog reply at least before it stops (a long line takes a while on a slow machine).
                final long hogEnd = System.nanoTime() + 30_000_000_000L;
                while (replies.get() == 0 && System.nanoTime() < hogEnd) {
                    Thread.sleep(10);
                }
            } finally {
                stop.set(true);
                h.close();
            }
            writer.get(30, TimeUnit.SECONDS);
            reader.get(30, TimeUnit.SECONDS);
        }
        assertTrue(replies.get() > 0, "the hog was answered too");
        return millis.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * A client that vanished (its host gone, no FIN) held its connection slot for good: accepted
     * sockets had no keepalive (memcached sets it), and a connection in the middle of a data block
     * is never idle, so even an idle timeout passed it over, with the value's memory counted
     * against the connections' bound. Now the sockets have SO_KEEPALIVE, and a client that stops
     * sending halfway through a command (a data block, a value being swallowed, a line) for the
     * write timeout (1 s here, 30 s by default) is closed and what it held counted out; one that
     * keeps sending, however slowly, is not.
     */
    @Test
    void aClientThatStopsHalfwayThroughACommandIsClosed() throws Exception {
        final ServerOptions options = ServerOptions.defaults().withThreads(1).withWriteTimeoutMillis(1000);
        try (TestServer server = new TestServer(options); Wire good = new Wire(server.port());
             Wire data = new Wire(server.port()); Wire swallow = new Wire(server.port());
             Wire line = new Wire(server.port()); Wire slow = new Wire(server.port())) {
            HostileClientTest.assertServed(good, "x");
            for (final Connection c : server.server.open) {
                assertTrue(c.ch.getOption(java.net.StandardSocketOptions.SO_KEEPALIVE), "keepalive on connection " + c.id);
            }
            data.send(Wire.ascii("set d 0 0 100000\r\n" + "d".repeat(5000)));
            swallow.send(Wire.ascii("set s 0 0 5000000\r\n" + "s".repeat(5000)));
            line.send(Wire.ascii("get" + " k".repeat(50_000)));
            slow.send(Wire.ascii("set slow 0 0 20\r\n"));
            final long deadline = System.nanoTime() + 4_000_000_000L;
            int sent = 0;
            while (sent < 20 || System.nanoTime() < deadline) { // all 20 bytes, however slow the machine
                if (sent < 20) {
                    slow.send(Wire.ascii("z"));
                    sent++;
                }
                HostileClientTest.assertServed(good, "t" + sent);
                Thread.sleep(200);
            }
            assertTrue(server.server.connectionHeap.get() < 100_000, "held " + server.server.connectionHeap.get());
            // The value being skipped is answered only once it has all come, as in memcached: this
            // client, stalled halfway, is closed with nothing, as the others are.
            for (final Wire w : java.util.List.of(swallow, data, line)) {
                assertEquals("", w.untilClosed());
            }
            assertEquals("STORED\r\n", slow.call("\r\n"), "a slow client that keeps sending stays");
            assertEquals(0, server.server.connectionHeap.get(), "what the closed ones held is counted out");
            assertEquals(2, server.server.connections(), "the good and the slow client");
        }
    }

    /**
     * A storage command's value on the heap was an array of its declared length, counted against
     * the connections' bound at once: 256 clients each sending {@code set k 0 0 1048576} and no
     * data (a set of 16 KiB or more moves to the heap after 10 ms without a byte) held the whole
     * 256 MiB, and every other client's set was refused. Now such a value starts at 16 KiB and
     * grows as its bytes come; here 30 stalled declarations of 1 MB (text sets and meta sets) sit
     * within a bound of 4 MiB, a 100 KB set beside them is stored, each stalled value completes
     * intact, and a value the bound cannot hold as it grows is refused as memcached refuses it,
     * its rest swallowed and its connection going on.
     */
    @Test
    void aDeclaredValueIsCountedAsItArrives() throws Exception {
        final ServerOptions options = ServerOptions.defaults().withThreads(2).withConnectionBuffers(4L << 20);
        try (TestServer server = new TestServer(options,
            io.sharena.ipc.store.StoreOptions.defaults().withMemoryLimit(64L << 20)); Wire good = new Wire(server.port())) {
            final int length = 1_000_000;
            final byte[] value = new byte[length];
            for (int i = 0; i < length; i++) {
                value[i] = (byte) ('a' + (i * 7 + i / 1000) % 26);
            }
            final java.util.List<Wire> stalled = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 30; i++) {
                    final Wire w = new Wire(server.port());
                    stalled.add(w);
                    final String line = i % 2 == 0 ? "set s" + i + " 0 0 " + length : "ms s" + i + " " + length;
                    w.send(concat(Wire.ascii(line + "\r\n"), java.util.Arrays.copyOf(value, 100)));
                }
                Thread.sleep(200); // the text sets' reservations move to the heap meanwhile
                assertEquals(0, server.server.buffersRefused.sum(), "no stalled declaration refused");
                assertTrue(server.server.connectionHeap.get() <= 30 * (16 << 10), "held " + server.server.connectionHeap.get());
                final String big = "b".repeat(100_000);
                assertEquals("HD\r\n", good.call("ms big " + big.length() + "\r\n" + big + "\r\n"));
                // Each completes, in pieces, and is stored whole.
                for (int i = 0; i < stalled.size(); i++) {
                    final Wire w = stalled.get(i);
                    for (int at = 100; at < length; at += 300_000) {
                        w.send(java.util.Arrays.copyOfRange(value, at, Math.min(length, at + 300_000)));
                    }
                    assertEquals(i % 2 == 0 ? "STORED\r\n" : "HD\r\n", w.call("\r\n"), "stalled " + i);
                    w.close();
                    good.send(Wire.ascii("get s" + i + "\r\n"));
                    final byte[] got = good.in.readNBytes(("VALUE s" + i + " 0 " + length + "\r\n").length() + length + 7);
                    assertTrue(java.util.Arrays.equals(concat(Wire.ascii("VALUE s" + i + " 0 " + length + "\r\n"), value,
                        Wire.ascii("\r\nEND\r\n")), got), "value " + i + " intact");
                }
            } finally {
                for (final Wire w : stalled) {
                    w.close();
                }
            }
            final long deadline = System.nanoTime() + 5_000_000_000L;
            while (server.server.connectionHeap.get() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, server.server.connectionHeap.get());
        }
        // A bound the growing value cannot fit in: refused as memcached refuses it, the connection goes on.
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withConnectionBuffers(256 << 10));
             Wire w = new Wire(server.port())) {
            final String v = "v".repeat(600_000);
            assertEquals("SERVER_ERROR out of memory storing object\r\n", w.call("ms k " + v.length() + "\r\n" + v + "\r\n"));
            assertEquals("EN\r\n", w.call("mg k v\r\n"));
            assertEquals("HD\r\n", w.call("ms k 5\r\nhello\r\n"));
            assertEquals(0, server.server.connectionHeap.get());
        }
    }

    private static byte[] concat(final byte[]... parts) {
        final java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (final byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    /** @return the worker of the {@code n}-th connection opened (counting from 0), by its number */
    private static Worker workerOf(final TestServer server, final int n) {
        for (final Connection c : server.server.open) {
            if (c.id == n + 1) {
                return c.worker;
            }
        }
        throw new AssertionError("no connection number " + (n + 1));
    }

    /**
     * The clock thread returned at the first failure of a tick (a store closed or damaged under the
     * server) and died on any Error: the write timeouts, idle kicks, the coarse clock and the
     * reclaim of dead peers stopped with it, with no word. Now a failed tick is said and the clock
     * goes on: here the store is closed under the running server, and an idle connection is still
     * kicked.
     */
    @Test
    void theClockGoesOnAfterATickFails() throws Exception {
        final TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withIdleTimeoutSeconds(1));
        try {
            server.store.close(); // every tick's store step now fails
            Thread.sleep(1500);
            try (Wire idle = new Wire(server.port())) {
                // Kicked within about 3 s (two ticks of the coarse clock); 15 s for a loaded machine
                // (this waited 6 s once in a full CI run, its clock's failure said once: the message
                // then shows where the server's threads were).
                assertTrue(HostileClientTest.closedWithin(idle.socket, 15_000),
                    () -> "an idle connection is kicked; the server's threads:\n" + serverThreads());
            }
        } finally {
            server.server.close();
            server.removeFiles();
        }
    }

    /** @return the stacks of the server threads of this JVM, for a failure's message */
    private static String serverThreads() {
        final StringBuilder sb = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, stack) -> {
            if (t.getName().startsWith("memcached-")) {
                sb.append(t.getName()).append(' ').append(t.getState()).append('\n');
                for (final StackTraceElement e : stack) {
                    sb.append("    at ").append(e).append('\n');
                }
            }
        });
        return sb.toString();
    }
}
