package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server options memcached has as {@code -R} (commands per turn), {@code -o idle_timeout} and
 * {@code -A} (the shutdown command): what each does and counts.
 */
class TurnsAndTimeoutsTest {


    private static String sets(final String prefix, final int n) {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("set ").append(prefix).append(i).append(" 0 0 ").append(Integer.toString(i).length())
                .append("\r\n").append(i).append("\r\n");
        }
        return sb.toString();
    }

    @Test
    void pipelinedCommandsTakeTurnsAndAllAreAnswered() throws Exception {
        final int n = 500;
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withRequestsPerEvent(1));
             Wire a = new Wire(server.port()); Wire b = new Wire(server.port()); Wire stats = new Wire(server.port())) {
            assertEquals(1, stats.stat(" settings", "reqs_per_event"));
            // Two clients on one worker, each sending its whole pipeline in one write.
            final CompletableFuture<String> ra = CompletableFuture.supplyAsync(() -> call(a, sets("a", n)));
            final CompletableFuture<String> rb = CompletableFuture.supplyAsync(() -> call(b, sets("b", n)));
            assertEquals("STORED\r\n".repeat(n), ra.get());
            assertEquals("STORED\r\n".repeat(n), rb.get());
            // One command per turn: a turn given up for nearly every command a read brought.
            final long yields = stats.stat("", "conn_yields");
            assertTrue(yields >= n / 2, "conn_yields=" + yields);
            final StringBuilder gets = new StringBuilder("get");
            for (int i = 0; i < n; i += 7) {
                gets.append(" a").append(i).append(" b").append(i);
            }
            final String got = a.call(gets + "\r\n");
            for (int i = 0; i < n; i += 7) {
                assertTrue(got.contains("VALUE a" + i + " 0 " + Integer.toString(i).length() + "\r\n" + i + "\r\n"), "a" + i);
                assertTrue(got.contains("VALUE b" + i + " 0 " + Integer.toString(i).length() + "\r\n" + i + "\r\n"), "b" + i);
            }
            assertEquals(0, stats.stat("", "curr_connections") - 3, "no connection lost");
            assertEquals("RESET", stats.call("stats reset\r\n").trim());
            // Counted again from zero: only the turn the reset's own trailing "mn" waited for.
            assertEquals(1, stats.stat("", "conn_yields"));
        }
    }

    private static String call(final Wire w, final String request) {
        try {
            return w.call(request);
        } catch (final java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aClientThatStopsSendingGetsEveryReplyBeforeTheClose() throws Exception {
        final int n = 200;
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withRequestsPerEvent(1));
             Wire w = new Wire(server.port())) {
            w.send(Wire.ascii(sets("k", n)));
            w.socket.shutdownOutput(); // its end of stream comes with the commands
            assertEquals("STORED\r\n".repeat(n), w.untilClosed());
        }
    }

    /**
     * A client that shuts down its sending side ({@code printf 'get k\r\n...' | nc -N}) still
     * reads: memcached answers every command it sent before closing. The replies here are far more
     * than the sockets hold, so the server must keep writing after the end of stream (it used to
     * write what the socket took at once, then close: 38 of 100 values came).
     */
    @Test
    void aClientThatStopsSendingGetsRepliesLargerThanTheSocketsHold() throws Exception {
        final int n = 100;
        final String value = "v".repeat(100_000);
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            assertEquals("STORED\r\n", w.call("set big 0 0 " + value.length() + "\r\n" + value + "\r\n"));
            // a last line without its newline is never run
            w.send(Wire.ascii("get big\r\n".repeat(n) + "mn\r\nget big"));
            w.socket.shutdownOutput();
            Thread.sleep(300); // the server sees the end of stream while the sockets are full
            final String one = "VALUE big 0 100000\r\n" + value + "\r\nEND\r\n";
            final String all = w.untilClosed();
            assertEquals(n * one.length() + 4, all.length(), "bytes before the close");
            assertEquals(one.repeat(n) + "MN\r\n", all);
        }
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            // a data block cut short by the end of stream: nothing stored, the connection closes
            w.send(Wire.ascii("mn\r\nset cut 0 0 10\r\nabc"));
            w.socket.shutdownOutput();
            assertEquals("MN\r\n", w.untilClosed());
            try (Wire other = new Wire(server.port())) {
                assertEquals("END\r\n", other.call("get cut\r\n"));
            }
        }
    }

    @Test
    void idleConnectionsAreClosedAndCountedBusyOnesAreNot() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withIdleTimeoutSeconds(1));
             Wire idle = new Wire(server.port()); Wire partial = new Wire(server.port());
             Wire midValue = new Wire(server.port()); Wire active = new Wire(server.port())) {
            assertEquals(0, active.stat("", "idle_kicks"));
            assertEquals(1, active.stat(" settings", "idle_timeout"));
            assertTrue(idle.call("version\r\n").startsWith("VERSION "));
            partial.send(Wire.ascii("get half")); // a line begun is still waiting for a command, as memcached counts it
            midValue.send(Wire.ascii("set v 0 0 10\r\n12345")); // a value arriving is not idle
            final long end = System.nanoTime() + 3_500_000_000L;
            while (System.nanoTime() < end) {
                assertTrue(active.call("version\r\n").startsWith("VERSION "), "an active connection stays");
                Thread.sleep(250);
            }
            assertEquals("", idle.untilClosed(), "closed with no reply");
            assertEquals("", partial.untilClosed());
            assertEquals(2, active.stat("", "idle_kicks"));
            midValue.send(Wire.ascii("67890\r\n"));
            assertEquals("STORED\r\n", midValue.call(""));
        }
    }

    @Test
    void withoutATimeoutNothingIsKickedAndNoCounterShows() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            assertFalse(w.call("stats\r\n").contains("idle_kicks"), "memcached shows idle_kicks only with a timeout");
            assertEquals(0, w.stat(" settings", "idle_timeout"));
        }
    }

    @Test
    void theShutdownCommandStopsTheServerOnlyWhenEnabled() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            assertEquals("ERROR: shutdown not enabled\r\n", w.call("shutdown\r\n"));
            assertEquals("ERROR: shutdown not enabled\r\n", w.call("shutdown graceful\r\n"));
            assertTrue(w.call("stats settings\r\n").contains("STAT shutdown_command no\r\n"));
        }
        for (final String command : List.of("shutdown\r\n", "shutdown graceful\r\n")) {
            try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(2).withShutdownCommand(true));
                 Wire w = new Wire(server.port()); Wire other = new Wire(server.port())) {
                assertTrue(w.call("stats settings\r\n").contains("STAT shutdown_command yes\r\n"));
                assertEquals("CLIENT_ERROR invalid shutdown mode\r\n", w.call("shutdown now\r\n"));
                assertEquals("CLIENT_ERROR invalid shutdown mode\r\n", w.call("shutdown graceful x\r\n"));
                assertEquals("STORED\r\n", w.call("set kept 0 0 1\r\nx\r\n"));
                w.send(Wire.ascii(command));
                assertEquals("", w.untilClosed(), "no reply, then the close");
                final CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> {
                    try {
                        server.server.awaitClose();
                    } catch (final InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
                closed.get(10, java.util.concurrent.TimeUnit.SECONDS);
                final String rest = other.untilClosed();
                assertTrue(rest.isEmpty() || rest.equals("<reset>"), "other connections closed too: " + rest);
                final List<String> refused = new ArrayList<>();
                try (Wire again = new Wire(server.port())) {
                    refused.add(again.untilClosed());
                } catch (final java.io.IOException e) {
                    refused.add("refused");
                }
                assertTrue(refused.getFirst().equals("refused") || refused.getFirst().isEmpty(), refused.toString());
                assertEquals("x", new String(server.store.get(Wire.ascii("kept")), java.nio.charset.StandardCharsets.US_ASCII),
                    "the store stays open and keeps its items");
            }
        }
    }
}
