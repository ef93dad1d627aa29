package io.sharena.cli;

import io.sharena.core.layout.Geometry;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaPointers;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.server.MemcachedServer;
import io.sharena.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code arena demo}: one arena, four JVM processes. This process creates it and consumes a
 * channel; a writer builds a list on the shared heap and sends messages, one of them 64 KiB
 * zero-copy; a reader, mapped at another address, walks the list through the same 32-bit arena
 * pointers; a victim sends ticks until this process kills it with SIGKILL; the others carry on,
 * and the arena, checked at the end, is consistent. Then the memcached-compatible server on a store
 * file: a client sets items over TCP, and another JVM reads them through the store API from shared
 * memory, with no network hop.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Show several JVM processes sharing one arena: a heap list, channel messages (one zero-copy), "
        + "a process killed, a consistent arena; then the memcached server and a JVM beside it reading the same items "
        + "from shared memory.")
final class DemoCommand implements Callable<Integer> {
    private static final long CHILD_TIMEOUT_SECONDS = 120;

    @Option(names = "--adds", defaultValue = "1000000", description = "get-and-adds per process on the shared counter")
    int adds;

    @Option(names = "--keep", description = "keep the arena file instead of deleting it")
    boolean keep;

    private int texts;
    private long bigSum = -1;
    private long ticks;

    /** A demo's directory: {@value}, its process id, then a random part. */
    static final String DIR_PREFIX = "sharena-demo-";
    /** In a directory a demo run with {@code --keep} made: never removed as a leftover. */
    static final String KEPT_MARK = "kept";

    @Override
    public Integer call() throws Exception {
        if (adds < 0) {
            // Checked before anything starts: a negative count ran the demo and reported a false MISMATCH.
            throw new IllegalArgumentException("--adds must not be negative: adds=" + adds);
        }
        final Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        removeLeftovers(tmp);
        final Path dir = Files.createTempDirectory(tmp, DIR_PREFIX + ProcessHandle.current().pid() + "-");
        if (keep) {
            Files.createFile(dir.resolve(KEPT_MARK));
        }
        final Path file = dir.resolve("demo.arena");
        try {
            return run(file);
        } finally {
            if (!keep) {
                deleteTree(dir);
            } else {
                say("main", "kept %s", file);
            }
        }
    }

    private int run(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("64M"), ArenaOptions.defaults())) {
            final int counter = ObjectHeap.of(arena).allocate(8); // a fresh arena: no contention yet
            NamedRoots.of(arena).put(DemoLayout.COUNTER, counter);
            final Channel events = Channel.create(arena, DemoLayout.EVENTS, 4, 1 << 16, 1024);
            say("main", "created %s (64 MiB, sparse), mapped at 0x%x; shared counter at %s, channel \"%s\"",
                file, ArenaInternals.base(arena), ArenaPointers.toHex(counter), DemoLayout.EVENTS);
            try (ChannelConsumer inbox = events.consumer()) {
                say("main", "starting a writer, a reader and a victim, each a JVM process of its own");
                final Process victim = JavaCommand.start(DemoWorker.class, "victim", file.toString());
                final Thread victimOut = relay("victim", victim);
                final Process writer = JavaCommand.start(DemoWorker.class, "writer", file.toString(), Integer.toString(adds));
                final Process reader = JavaCommand.start(DemoWorker.class, "reader", file.toString(), Integer.toString(adds));
                final Thread writerOut = relay("writer", writer);
                final Thread readerOut = relay("reader", reader);
                final ArenaView v = arena.strict();
                for (int i = 0; i < adds; i++) {
                    v.getAndAddLong(counter, 1);
                }
                boolean killed = false;
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CHILD_TIMEOUT_SECONDS);
                while ((texts == 0 || bigSum < 0 || !killed || inbox.deadProducers() == 0)
                    && System.nanoTime() < deadline) {
                    inbox.poll((view, type, ptr, length) -> receive(arena, view, type, ptr, length), 64);
                    if (!killed && ticks >= 2000) {
                        say("main", "received %,d ticks from the victim; killing it with SIGKILL (pid %d)", ticks,
                            victim.pid());
                        victim.destroyForcibly();
                        victim.waitFor();
                        killed = true;
                    }
                    Thread.onSpinWait();
                }
                victimOut.join();
                say("main", "the channel reported %d dead producer(s), last pid %d; the other processes go on",
                    inbox.deadProducers(), inbox.lastDeadPid());
                final int writerExit = waitFor(writer, writerOut);
                final int readerExit = waitFor(reader, readerOut);
                if (writerExit != 0 || readerExit != 0 || bigSum < 0 || texts == 0) {
                    say("main", "something failed: writer exit %d, reader exit %d, messages %d, big %s", writerExit,
                        readerExit, texts, bigSum >= 0);
                    return ArenaCli.EXIT_FAILURE;
                }
            }
            final long count = arena.strict().getLongVolatile(counter);
            say("main", "shared counter = %,d (3 processes x %,d get-and-adds: %s)", count, adds,
                count == 3L * adds ? "none lost" : "MISMATCH, expected " + 3L * adds);
            ArenaInternals.repair(arena, TimeUnit.SECONDS.toNanos(5)); // what an opener does: reclaim the victim's leftovers
            final List<String> violations = ArenaChecker.check(arena);
            say("main", "check after the kill: %s", violations.isEmpty() ? "consistent" : violations);
            say("main", "the arena now:");
            StatCommand.printText(arena.info(), System.out);
            StatCommand.printStats(ArenaStats.read(arena), System.out);
            if (count != 3L * adds || !violations.isEmpty()) {
                return ArenaCli.EXIT_FAILURE;
            }
        }
        return serverBeside(file.resolveSibling("cache.store"));
    }

    /**
     * The memcached-compatible server on a store file, and another JVM reading the same items
     * through the store API, from shared memory: no network hop.
     */
    private int serverBeside(final Path storeFile) throws Exception {
        try (SharedStore store = SharedStore.create(storeFile, StoreOptions.defaults().withMemoryLimit(16L << 20));
             MemcachedServer server = MemcachedServer.start(store, ServerOptions.defaults().withThreads(1)
                 .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
            final int port = server.address().getPort();
            say("main", "started the memcached-compatible server on 127.0.0.1:%d, store %s", port, storeFile);
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(10_000);
                final String sets = "set user:1 0 0 5\r\nalice\r\nset user:2 7 0 3\r\nbob\r\nset hits 0 0 2\r\n41\r\n"
                    + "incr hits 1\r\n";
                final String reply = roundTrip(s, sets, "42\r\n");
                say("main", "a memcached client set user:1, user:2 and hits over TCP: %s", reply.replace("\r\n", " ").trim());
                final Process reader = JavaCommand.start(DemoWorker.class, "store-reader", storeFile.toString(),
                    "user:1", "user:2", "hits");
                final Thread readerOut = relay("store-reader", reader);
                final int exit = waitFor(reader, readerOut);
                final int n = 5_000;
                final long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    roundTrip(s, "get user:1\r\n", "END\r\n");
                }
                final long loopback = (System.nanoTime() - t0) / n;
                say("main", "the same get over loopback TCP from this JVM: %,d ns per get (%d gets)", loopback, n);
                return exit == 0 ? 0 : ArenaCli.EXIT_FAILURE;
            }
        }
    }

    private static String roundTrip(final Socket s, final String request, final String end) throws IOException {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        final StringBuilder sb = new StringBuilder();
        final byte[] buf = new byte[Geometry.PAGE_SIZE];
        while (!sb.toString().endsWith(end)) {
            final int r = s.getInputStream().read(buf);
            if (r < 0) {
                throw new IOException("the server closed the connection after: " + sb);
            }
            sb.append(new String(buf, 0, r, StandardCharsets.US_ASCII));
        }
        return sb.toString();
    }

    private void receive(final SharedArena arena, final ArenaView view, final int type, final int ptr, final int length) {
        switch (type) {
            case DemoLayout.TYPE_TEXT -> {
                final byte[] b = new byte[length];
                view.getBytes(ptr, b, 0, length);
                texts++;
                say("main", "message: \"%s\"", new String(b, StandardCharsets.UTF_8));
            }
            case DemoLayout.TYPE_PAGES -> {
                final int pages = view.getInt(ptr);
                final int n = view.getInt(ptr + 4);
                long sum = 0;
                for (int off = 0; off < n * Geometry.PAGE_SIZE; off += 8) {
                    sum += arena.strict().getLong(pages + off); // read in place: no copy
                }
                bigSum = sum;
                arena.freePages(pages, n);
                say("main", "zero-copy message: read %d KiB in place at %s (checksum %d), then freed the pages",
                    n * 4, ArenaPointers.toHex(pages), sum);
            }
            default -> ticks++;
        }
    }

    private static int waitFor(final Process p, final Thread relay) throws InterruptedException {
        if (!p.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            relay.join();
            return -1;
        }
        relay.join();
        return p.exitValue();
    }

    private static Thread relay(final String who, final Process p) {
        final Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    say(who + " pid " + p.pid(), "%s", line);
                }
            } catch (final IOException e) {
                if (p.isAlive()) {
                    say(who, "output lost: %s", e.getMessage());
                }
                // else: the process was killed and its pipe went with it
            }
        }, "relay-" + who);
        t.start();
        return t;
    }

    private static synchronized void say(final String who, final String format, final Object... args) {
        System.out.println(String.format("%-18s ", "[" + who + "]") + String.format(format, args));
    }

    /**
     * Removes what demos killed before their cleanup left in {@code tmp}: a directory of theirs whose
     * process is gone and that no {@code --keep} run made (its 64 MiB sparse arena and store file
     * stayed behind otherwise). Only names this command makes are looked at.
     */
    static void removeLeftovers(final Path tmp) {
        final java.util.regex.Pattern name = java.util.regex.Pattern.compile(
            java.util.regex.Pattern.quote(DIR_PREFIX) + "(\\d+)-\\d+");
        try (Stream<Path> dirs = Files.list(tmp)) {
            for (final Path d : dirs.toList()) {
                final java.util.regex.Matcher m = name.matcher(d.getFileName().toString());
                if (m.matches() && Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && !Files.exists(d.resolve(KEPT_MARK))
                    && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
                    deleteTree(d);
                }
            }
        } catch (final IOException | RuntimeException e) {
            // A leftover not removed is only disk: the demo goes on.
        }
    }

    private static void deleteTree(final Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (final Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
