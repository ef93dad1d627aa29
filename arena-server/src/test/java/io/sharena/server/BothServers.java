package io.sharena.server;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real memcached and this server side by side, for the differential tests; closing stops both.
 * Starting skips the test (saying why) when memcached is not installed.
 */
final class BothServers implements AutoCloseable {
    final Memcached memcached;
    final TestServer ours;

    private BothServers(final Memcached memcached, final TestServer ours) {
        this.memcached = memcached;
        this.ours = ours;
    }

    static BothServers start() throws Exception {
        final Memcached m = Memcached.start();
        try {
            return new BothServers(m, TestServer.start());
        } catch (final Exception | Error e) {
            m.close();
            throw e;
        }
    }

    /** A script line "#sleep MILLIS" sleeps between requests (both servers see the same pause). */
    static final String SLEEP = "#sleep ";

    /**
     * Sends each request to both servers, one connection each, and fails with every reply that
     * differs (CAS values masked, TTLs within a second); a connection a server closed is reopened.
     */
    void assertSameReplies(final List<String> script) throws Exception {
        final List<String> failures = new ArrayList<>();
        Wire theirs = new Wire(memcached.port);
        Wire mine = new Wire(ours.port());
        try {
            assertEquals(theirs.call("flush_all\r\n"), mine.call("flush_all\r\n"));
            for (final String request : script) {
                if (request.startsWith(SLEEP)) {
                    Thread.sleep(Long.parseLong(request.substring(SLEEP.length())));
                    continue;
                }
                final String expected = SideBySideTest.masked(theirs.call(request));
                final String actual = SideBySideTest.masked(mine.call(request));
                if (!expected.equals(actual) && !SideBySideTest.sameWithinASecond(expected, actual)) {
                    failures.add("request " + Wire.shorten(request) + "\n  memcached: " + Wire.shorten(expected)
                        + "\n  ours:      " + Wire.shorten(actual));
                }
                if (expected.endsWith("<closed>")) {
                    theirs.close();
                    theirs = new Wire(memcached.port);
                }
                if (actual.endsWith("<closed>")) {
                    mine.close();
                    mine = new Wire(ours.port());
                }
            }
        } finally {
            theirs.close();
            mine.close();
        }
        assertTrue(failures.isEmpty(), failures.size() + " of " + script.size() + " replies differ:\n"
            + String.join("\n", failures));
    }

    @Override
    public void close() throws Exception {
        try {
            memcached.close();
        } finally {
            ours.close();
        }
    }
}
