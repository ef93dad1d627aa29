package io.sharena.cli;

import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.server.Listener;
import io.sharena.server.MemcachedServer;
import io.sharena.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code arena serve}: a memcached-compatible server on a store file, until SIGINT or SIGTERM.
 * Several serve processes may run on the same file and port at once (SO_REUSEPORT).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve a shared store over memcached's text and meta protocol (until SIGINT/SIGTERM). "
        + "Several serve processes may share one file and one port.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--store", paramLabel = "FILE",
        description = "the store file, created if missing (default: sharena-memcached.store under $XDG_RUNTIME_DIR or the temp directory)")
    Path store;

    @Option(names = "--port", defaultValue = "11211", description = "TCP port (default: ${DEFAULT-VALUE}; 0 picks one)")
    int port;

    @Option(names = "--listen", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--memory", defaultValue = "64M", description = "memory limit of a new store (default: ${DEFAULT-VALUE})")
    String memory;

    @Option(names = "--max-item-size", paramLabel = "SIZE",
        description = "largest value of a new store (default: 1M, or what --memory holds twice if less)")
    String maxItemSize;

    @Option(names = "--max-connections", defaultValue = "1024", description = "open connections at most (default: ${DEFAULT-VALUE})")
    int maxConnections;

    @Option(names = "--threads", defaultValue = "4", description = "selector threads (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--requests-per-event", defaultValue = "20", paramLabel = "N",
        description = "commands a connection runs before the others get a turn (memcached's -R; default: ${DEFAULT-VALUE})")
    int requestsPerEvent;

    @Option(names = "--idle-timeout", defaultValue = "0", paramLabel = "SECONDS",
        description = "close a connection that sends no command for this long (memcached's -o idle_timeout; default: 0, never)")
    int idleTimeout;

    @Option(names = "--evictions", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "make room for a write by evicting live items; --no-evictions answers 'out of memory' instead "
            + "(memcached's -M; on by default)")
    boolean evictions;

    @Option(names = "--huge-pages", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "advise 2 MiB pages for the store's memory in this server's mapping (madvise; memcached's -L "
            + "asks for large pages too; on by default, no effect where the kernel or file system has none)")
    boolean hugePages;

    @Option(names = "--lru-crawler", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "allow the lru_crawler crawl and metadump commands (memcached's lru_crawler setting; on by default)")
    boolean lruCrawler;

    @Option(names = "--protocol", paramLabel = "auto|ascii|binary", defaultValue = "auto",
        converter = ProtocolConverter.class,
        description = "what a connection may speak (memcached's -B): auto, the text and meta protocols or the binary "
            + "protocol by its first byte (default); ascii, text and meta only; binary, binary only")
    io.sharena.server.ServerOptions.Protocol protocol;

    /** memcached's spelling of -B's values, in either case. */
    static final class ProtocolConverter implements picocli.CommandLine.ITypeConverter<io.sharena.server.ServerOptions.Protocol> {
        @Override
        public io.sharena.server.ServerOptions.Protocol convert(final String value) {
            return switch (value.toLowerCase(java.util.Locale.ROOT)) {
                case "auto" -> io.sharena.server.ServerOptions.Protocol.AUTO;
                case "ascii" -> io.sharena.server.ServerOptions.Protocol.ASCII;
                case "binary" -> io.sharena.server.ServerOptions.Protocol.BINARY;
                default -> throw new picocli.CommandLine.TypeConversionException(
                    "expected auto, ascii or binary: --protocol=" + value);
            };
        }
    }

    @Option(names = "--unix-socket", paramLabel = "PATH",
        description = "listen on this UNIX domain socket instead of TCP (memcached's -s; owner-only access)")
    Path unixSocket;

    @Option(names = "--enable-shutdown",
        description = "let the shutdown command stop the server (memcached's -A; off by default)")
    boolean enableShutdown;

    static final long MIN_ITEM_SIZE = 1024;
    static final long MAX_ITEM_SIZE = 512 << 20;
    private static final java.util.regex.Pattern BYTES =
        java.util.regex.Pattern.compile("(\\d{1,12})\\s*([kKmMgG]?)(?:i?[bB])?");

    /**
     * @return the bytes a size such as {@code 1024}, {@code 512k} or {@code 1M} names: a bare number
     *     is bytes, as memcached's {@code -I} reads it (an arena capacity would round it to pages)
     */
    static long byteCount(final String text) {
        final java.util.regex.Matcher m = BYTES.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: size=" + text + " (examples: 1048576, 512k, 1M)");
        }
        final int shift = switch (Character.toUpperCase(m.group(2).isEmpty() ? ' ' : m.group(2).charAt(0))) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 0;
        };
        return Long.parseLong(m.group(1)) << shift;
    }

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range: port=" + port + ", min=0, max=65535");
        }
        final long memoryBytes;
        try {
            memoryBytes = Capacity.parse(memory).bytes();
        } catch (final IllegalArgumentException e) {
            throw new IllegalArgumentException("bad --memory " + memory + ": " + e.getMessage(), e);
        }
        // memcached's bounds: at least 1 KiB, and at most about half the memory (the ring holds two,
        // with their headers, and the slack new writes leave free).
        final long itemMax = Math.min(SharedStore.largestItemSize(memoryBytes), MAX_ITEM_SIZE);
        final long itemBytes = maxItemSize != null ? byteCount(maxItemSize) : Math.min(1 << 20, itemMax);
        if (itemBytes < MIN_ITEM_SIZE || itemBytes > itemMax) {
            throw new IllegalArgumentException("max item size out of range: maxItemSize=" + maxItemSize + ", min="
                + MIN_ITEM_SIZE + ", max=" + itemMax + " (what --memory=" + memory + " holds twice, at most 512 MiB)");
        }
        final StoreOptions storeOptions = StoreOptions.defaults().withMemoryLimit(memoryBytes)
            .withMaxItemSize((int) itemBytes).withEvictions(evictions).withHugePages(hugePages);
        final InetSocketAddress address = new InetSocketAddress(listen, port);
        if (unixSocket == null && address.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve --listen " + listen);
        }
        final ServerOptions serverOptions = ServerOptions.defaults().withAddress(address)
            .withThreads(threads).withMaxConnections(maxConnections).withRequestsPerEvent(requestsPerEvent)
            .withIdleTimeoutSeconds(idleTimeout).withShutdownCommand(enableShutdown).withLruCrawler(lruCrawler)
            .withUnixSocket(unixSocket).withProtocol(protocol);
        final Path file = store != null ? store : defaultPath();
        // The address first: a serve that cannot listen leaves no store file behind.
        final Listener listener = MemcachedServer.bind(serverOptions);
        final boolean[] created = new boolean[1];
        final SharedStore shared;
        final MemcachedServer server;
        try {
            shared = openOrCreate(file, storeOptions, created);
        } catch (final Throwable e) {
            listener.close();
            throw e;
        }
        try {
            server = MemcachedServer.start(shared, listener);
        } catch (final IOException | RuntimeException e) {
            try {
                shared.close();
            } catch (final IOException | RuntimeException closing) {
                e.addSuppressed(closing);
            }
            if (created[0]) {
                deleteQuietly(file, e);
            }
            throw e;
        }
        // Closed once, by whichever comes first: SIGINT/SIGTERM (the hook) or the shutdown command
        // (the server's threads end, and call() goes on).
        final Runnable closeAll = new Runnable() {
            private boolean done;

            @Override
            public synchronized void run() {
                if (done) {
                    return;
                }
                done = true;
                try {
                    server.close();
                    shared.close();
                } catch (final IOException e) {
                    System.err.println("arena serve: close failed: " + e);
                }
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(closeAll, "serve-shutdown"));
        final InetSocketAddress a = server.address();
        final String where = unixSocket != null ? "unix socket " + unixSocket
            : a.getAddress().getHostAddress() + ":" + a.getPort();
        System.out.printf("arena serve: listening on %s (memcached text, meta and binary protocols), store %s (%s, %s, max item %s), pid %d%n",
            where, file, created[0] ? "created" : "opened",
            Format.bytes(shared.memoryLimit()), Format.bytes(shared.maxItemSize()), ProcessHandle.current().pid());
        System.out.flush();
        server.awaitClose();
        closeAll.run();
        return 0;
    }

    static Path defaultPath() {
        final String runtime = System.getenv("XDG_RUNTIME_DIR");
        final Path dir = runtime != null && Files.isDirectory(Path.of(runtime)) ? Path.of(runtime)
            : Path.of(System.getProperty("java.io.tmpdir"));
        return dir.resolve("sharena-memcached.store");
    }

    /**
     * Opens the file, or creates it; two servers starting at once on a new file both end up opening
     * it, and a file whose creator was killed before its store was made gets the store made in place.
     * A file this call created is deleted again if the store cannot be made in it (unless another
     * live process opened it meanwhile).
     */
    static SharedStore openOrCreate(final Path file, final StoreOptions options, final boolean[] created)
        throws IOException {
        final boolean existed = Files.exists(file, LinkOption.NOFOLLOW_LINKS);
        try {
            final SharedStore s = SharedStore.openOrCreate(file, options);
            created[0] = !existed;
            return s;
        } catch (final IOException | RuntimeException | Error e) {
            if (!existed && !(e instanceof FileAlreadyExistsException)) {
                deleteQuietly(file, e);
            }
            throw e;
        }
    }

    /** Deletes a store file this run created, as {@code delete} would: never one another live process holds. */
    private static void deleteQuietly(final Path file, final Throwable failure) {
        try {
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                SharedArena.delete(file, false);
            }
        } catch (final IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }
}
