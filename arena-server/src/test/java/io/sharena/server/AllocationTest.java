package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Meta, text and binary commands on plain keys allocate nothing on the worker thread: the key is
 * the worker's array of its length, a stored key or value one the worker lends, values are copied
 * from the mapping with no slice, numbers are written digit by digit and error texts are encoded
 * once.
 * Measured with the JVM's per-thread allocation counter over many pipelined commands, after a
 * warm-up; base64 keys, which do allocate, show that the counter sees the worker's allocations.
 */
class AllocationTest {
    private static final int ROUNDS = 20;

    /**
     * 500 commands: ms, mg (hit, no-bump hit, quiet miss), md, ma (created once, then counted), and
     * the text set, get and gets.
     */
    private static String batch(final boolean base64) {
        final StringBuilder b = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            final String plain = "key" + i % 8;
            final String k = base64 ? java.util.Base64.getEncoder().encodeToString(plain.getBytes()) + " b" : plain;
            b.append("ms ").append(k.replace(" b", "")).append(" 10 T100 c F5 Oab").append(base64 ? " b" : "")
                .append("\r\n0123456789\r\n");
            b.append("mg ").append(k).append(" v c f t s h l k Oab\r\n");
            b.append("mg ").append(k).append(" u s\r\n");
            b.append("mg ").append(plain).append("x s q\r\n");
            b.append("md ").append(k).append(" q\r\n");
            b.append("ma ").append(plain).append("n N0 J7 v t c\r\n");
            b.append("ma ").append(plain).append("n D3 MD\r\n");
            b.append("set ").append(plain).append("t 3 0 10\r\n0123456789\r\n");
            b.append("get ").append(plain).append("t\r\n");
            b.append("gets ").append(plain).append("t ").append(plain).append("\r\n");
        }
        return b.toString();
    }

    /**
     * 500 binary requests: set, setq, get (hit and miss), getk, add over an item (an error with a
     * text), delete of a missing key (another), incr of a number, appendq, then a noop that ends
     * the batch.
     */
    private static byte[] binaryBatch() {
        final java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        final byte[] setExtras = BinaryProtocolTest.ints(3, 0);
        final byte[] none = new byte[0];
        for (int i = 0; i < 50; i++) {
            final String k = "bkey" + i % 8;
            final byte[] value = BinaryProtocolTest.bytes("0123456789");
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.SET, k, setExtras, value, 0));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.SETQ, k + "q", setExtras, value, 0));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.GET, k));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.GET, k + "x"));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.GETK, k + "q"));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.ADD, k, setExtras, value, 0));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.DELETE, k + "x"));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.INCREMENT, "bcount",
                BinaryProtocolTest.counter(1, 0, 0), none, 0));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.APPENDQ, k + "q", none,
                BinaryProtocolTest.bytes("!"), 0));
            b.writeBytes(BinaryProtocolTest.request(BinaryCommands.SETQ, k + "q", setExtras, value, 0));
        }
        b.writeBytes(BinaryProtocolTest.request(BinaryCommands.NOOP, ""));
        return b.toByteArray();
    }

    /** Sends the batch and reads responses up to the noop's. */
    private static void binaryCall(final Wire w, final byte[] batch) throws java.io.IOException {
        w.send(batch);
        final byte[] header = new byte[BinaryCommands.HEADER];
        while (true) {
            w.in.readNBytes(header, 0, header.length);
            assertEquals((byte) 0x81, header[0], "a response's magic byte");
            final int body = java.nio.ByteBuffer.wrap(header).getInt(8);
            w.in.readNBytes(body);
            if (header[1] == BinaryCommands.NOOP) {
                return;
            }
        }
    }

    /** A batch of requests and how to send it and wait for its end. */
    private interface Batch {
        void run() throws Exception;
    }

    /** @return bytes the worker thread allocated per command over {@link #ROUNDS} rounds of the batch */
    private static double allocatedPerCommand(final Batch batch, final int commands) throws Exception {
        // The JDK's per-thread allocation counter, reached by reflection: this module's tests are
        // compiled as part of io.sharena.server, which does not read java.management.
        final Object mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        final Method allocated = Class.forName("com.sun.management.ThreadMXBean")
            .getMethod("getThreadAllocatedBytes", long.class);
        final long worker = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().equals("memcached-worker-0")).findFirst().orElseThrow().threadId();
        for (int i = 0; i < ROUNDS; i++) { // warm-up: compiled code, lent arrays in place
            batch.run();
        }
        final long before = (long) allocated.invoke(mx, worker);
        for (int i = 0; i < ROUNDS; i++) {
            batch.run();
        }
        final long after = (long) allocated.invoke(mx, worker);
        return (double) (after - before) / ((long) ROUNDS * commands);
    }

    private static double allocatedPerCommand(final Wire w, final String batch) throws Exception {
        return allocatedPerCommand(() -> assertTrue(w.call(batch).startsWith("HD c")), 500);
    }

    @Test
    void commandsOnPlainKeysAllocateNothing() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            assertEquals("HD c1 Oab\r\n", w.call("ms k 1 c Oab\r\nx\r\n").replaceAll("c\\d+", "c1"));
            final double plain = allocatedPerCommand(w, batch(false));
            final double base64 = allocatedPerCommand(w, batch(true));
            // A key array alone is at least 16 bytes; what is left is the selector's own per
            // wake-up bookkeeping, shared by the batch's commands.
            assertTrue(plain < 4, "plain keys: " + plain + " B per command");
            assertTrue(base64 >= 16, "base64 keys (decoded into new arrays): " + base64 + " B per command");
        }
    }

    @Test
    void binaryRequestsAllocateNothing() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            final byte[] batch = binaryBatch();
            final double perRequest = allocatedPerCommand(() -> binaryCall(w, batch), 501);
            assertTrue(perRequest < 4, "binary requests: " + perRequest + " B per request");
            // The batch did what it says: the counter created at 0 by the first incr, then counted on.
            try (Wire text = new Wire(server.port())) {
                assertEquals("VALUE bkey0q 3 10\r\n0123456789\r\nEND\r\n", text.call("get bkey0q\r\n"));
                assertEquals(2L * ROUNDS * 50 - 1, Long.parseLong(text.call("get bcount\r\n").split("\r\n")[1]));
            }
        }
    }
}
