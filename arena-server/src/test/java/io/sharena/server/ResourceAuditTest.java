package io.sharena.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Findings of the resource audit of 2026-12-06 (what one client, or many well-behaved ones, could
 * make the server hold or spend on everyone's behalf): each is bounded now, and each test here
 * failed before its fix.
 */
class ResourceAuditTest {

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
}
