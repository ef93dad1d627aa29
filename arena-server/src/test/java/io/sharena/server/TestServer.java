package io.sharena.server;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** An in-process server on a fresh store in a temporary directory; closing removes both. */
final class TestServer implements AutoCloseable {
    final Path dir;
    final SharedStore store;
    final MemcachedServer server;

    TestServer(final ServerOptions options) throws IOException {
        this(options, StoreOptions.defaults());
    }

    TestServer(final ServerOptions options, final StoreOptions storeOptions) throws IOException {
        dir = Files.createTempDirectory("sharena-server-test-");
        store = SharedStore.create(dir.resolve("store"), storeOptions);
        server = MemcachedServer.start(store, options.withAddress(new InetSocketAddress("127.0.0.1", 0)));
    }

    static TestServer start() throws IOException {
        return new TestServer(ServerOptions.defaults().withThreads(2));
    }

    int port() {
        return server.address().getPort();
    }

    @Override
    public void close() throws IOException {
        server.close();
        store.close();
        removeFiles();
    }

    /** Removes the temporary directory and the store file in it (the store closed already). */
    void removeFiles() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (final Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
