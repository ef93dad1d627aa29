package io.sharena.server;

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

    @Override
    public void close() throws Exception {
        try {
            memcached.close();
        } finally {
            ours.close();
        }
    }
}
