package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Meta and text commands on plain keys allocate nothing on the worker thread: the key is the
 * worker's array of its length, a stored key one the worker lends, values are copied from the
 * mapping with no slice, and numbers are written digit by digit.
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

    /** @return bytes the worker thread allocated per command over {@link #ROUNDS} rounds of the batch */
    private static double allocatedPerCommand(final TestServer server, final Wire w, final String batch) throws Exception {
        // The JDK's per-thread allocation counter, reached by reflection: this module's tests are
        // compiled as part of io.sharena.server, which does not read java.management.
        final Object mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        final Method allocated = Class.forName("com.sun.management.ThreadMXBean")
            .getMethod("getThreadAllocatedBytes", long.class);
        final long worker = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().equals("memcached-worker-0")).findFirst().orElseThrow().threadId();
        final int commands = 500;
        for (int i = 0; i < ROUNDS; i++) { // warm-up: compiled code, lent arrays in place
            assertTrue(w.call(batch).startsWith("HD c"));
        }
        final long before = (long) allocated.invoke(mx, worker);
        for (int i = 0; i < ROUNDS; i++) {
            w.call(batch);
        }
        final long after = (long) allocated.invoke(mx, worker);
        return (double) (after - before) / ((long) ROUNDS * commands);
    }

    @Test
    void commandsOnPlainKeysAllocateNothing() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            assertEquals("HD c1 Oab\r\n", w.call("ms k 1 c Oab\r\nx\r\n").replaceAll("c\\d+", "c1"));
            final double plain = allocatedPerCommand(server, w, batch(false));
            final double base64 = allocatedPerCommand(server, w, batch(true));
            // A key array alone is at least 16 bytes; what is left is the selector's own per
            // wake-up bookkeeping, shared by the batch's commands.
            assertTrue(plain < 4, "plain keys: " + plain + " B per command");
            assertTrue(base64 >= 16, "base64 keys (decoded into new arrays): " + base64 + " B per command");
        }
    }
}
