package io.sharena.cli;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several servers, one store: two real {@code arena serve} JVMs on the same file and port
 * (SO_REUSEPORT) answer with the same data; one is killed with SIGKILL while a client connects
 * in a loop: no connection is refused and no item is lost; restarted, it finds the cache warm; a
 * SIGTERM closes a server cleanly.
 */
class ServeCommandTest {
    private static final int ITEMS = 2000;

    /** One request on a new connection; @return the reply up to its last line (END or a status). */
    static String request(final int port, final String req, final String last) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(req.getBytes(StandardCharsets.ISO_8859_1));
            final InputStream in = s.getInputStream();
            final StringBuilder sb = new StringBuilder();
            final byte[] buf = new byte[8192];
            while (!sb.toString().endsWith(last)) {
                final int n = in.read(buf);
                if (n < 0) {
                    throw new IOException("closed after: " + sb);
                }
                sb.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            }
            return sb.toString();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }

    private static long pidOf(final int port) throws IOException {
        final String stats = request(port, "stats\r\n", "END\r\n");
        final int at = stats.indexOf("STAT pid ");
        return Long.parseLong(stats.substring(at + 9, stats.indexOf('\r', at)));
    }

    private static ChildJvm serve(final Path file, final int port) throws IOException {
        final ChildJvm child = ChildJvm.start(ArenaCli.class, List.of(), "serve", "--store", file.toString(), "--port",
            Integer.toString(port), "--memory", "16M", "--threads", "2");
        final String line = child.await("arena serve: listening on 127.0.0.1:" + port);
        assertTrue(line.contains("store " + file), line);
        return child;
    }

    @Test
    void twoServersOneStoreSurviveAKillAndRestartWarm(@TempDir final Path dir) throws Exception {
        final Path file = dir.resolve("cache.store");
        final int port = freePort();
        try (ChildJvm a = serve(file, port); ChildJvm b = serve(file, port)) {
            assertTrue(a.output().getFirst().contains("(created,"), a.output().toString());
            assertTrue(b.output().getFirst().contains("(opened,"), b.output().toString());
            for (int i = 0; i < ITEMS; i += 100) {
                final StringBuilder batch = new StringBuilder();
                for (int k = i; k < i + 100; k++) {
                    batch.append("set key").append(k).append(" 0 0 ").append(Integer.toString(k).length() + 1)
                        .append("\r\nv").append(k).append("\r\n");
                }
                final String r = request(port, batch.toString(), "STORED\r\n".repeat(100));
                assertEquals("STORED\r\n".repeat(100), r);
            }
            // Both answer, each with every item, whoever stored it.
            final Set<Long> pids = new HashSet<>();
            for (int i = 0; i < 200 && pids.size() < 2; i++) {
                pids.add(pidOf(port));
            }
            assertEquals(Set.of(a.pid(), b.pid()), pids, "the kernel spreads connections over both servers");

            // Kill one while a client connects in a loop.
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicInteger served = new AtomicInteger();
            final AtomicInteger refused = new AtomicInteger();
            final AtomicInteger reset = new AtomicInteger();
            // A reply that is not the item (a miss, another value) and a server that answers
            // nothing within the socket timeout are failures, not uncounted tries.
            final List<String> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
            final Thread connector = Thread.ofPlatform().start(() -> {
                for (int i = 0; !stop.get(); i++) {
                    final int k = i % ITEMS;
                    try {
                        final String r = request(port, "get key" + k + "\r\n", "END\r\n");
                        if (r.equals("VALUE key" + k + " 0 " + (Integer.toString(k).length() + 1) + "\r\nv" + k + "\r\nEND\r\n")) {
                            served.incrementAndGet();
                        } else {
                            wrong.add("key" + k + ": " + r);
                        }
                    } catch (final ConnectException e) {
                        refused.incrementAndGet();
                    } catch (final java.net.SocketTimeoutException e) {
                        wrong.add("key" + k + ": no reply within the socket timeout");
                    } catch (final IOException e) {
                        // accepted into the killed server's backlog, then reset by its death: a retry finds the other
                        reset.incrementAndGet();
                    }
                }
            });
            Thread.sleep(300);
            a.kill9();
            Thread.sleep(700);
            stop.set(true);
            connector.join();
            assertEquals(0, refused.get(), "no new connection refused; served=" + served + ", reset=" + reset);
            assertEquals(List.of(), wrong, "every reply during the kill was the item; served=" + served);
            assertTrue(served.get() > 0);
            for (int k = 0; k < ITEMS; k++) {
                assertEquals("VALUE key" + k + " 0 " + (Integer.toString(k).length() + 1) + "\r\nv" + k + "\r\nEND\r\n",
                    request(port, "get key" + k + "\r\n", "END\r\n"), "no item lost: key" + k);
            }
            assertEquals(b.pid(), pidOf(port), "only the survivor answers");
            // The survivor reclaims the dead server's registry slot and caches within seconds (its
            // clock does, every 5 s): check, which opens read-only and reclaims nothing itself,
            // is clean with no new opener.
            final long deadline = System.nanoTime() + 15_000_000_000L;
            int checked;
            while ((checked = ArenaCli.run("check", file.toString())) != 0 && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            assertEquals(0, checked, "check clean once the survivor reclaimed the dead server's slot");

            // Restarted on the same file: the cache is warm.
            try (ChildJvm again = serve(file, port)) {
                assertTrue(again.output().getFirst().contains("(opened,"), again.output().toString());
                final Set<Long> now = new HashSet<>();
                for (int i = 0; i < 200 && now.size() < 2; i++) {
                    now.add(pidOf(port));
                }
                assertEquals(Set.of(again.pid(), b.pid()), now);
                final String stats = request(port, "stats\r\n", "END\r\n");
                assertTrue(stats.contains("STAT curr_items " + ITEMS + "\r\n"), stats);
                for (int i = 0; i < 50; i++) {
                    final int k = i * 37 % ITEMS;
                    assertTrue(request(port, "get key" + k + "\r\n", "END\r\n").startsWith("VALUE key" + k + " "));
                }
                // SIGTERM: the shutdown hook closes the server and the store; the process ends.
                terminate(again);
                terminate(b);
            }
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals(List.of(), store.check());
            assertEquals("v1999", new String(store.get("key1999".getBytes(StandardCharsets.US_ASCII)), StandardCharsets.US_ASCII));
        }
    }

    /**
     * check while a server writes (sets that evict, so that head and tail move): it used to report
     * items "outside the live ring" and stripe counts that writes published between its reads, and
     * exit 1 on a sound store. With other processes attached a finding now counts only when each
     * of three checks makes it, and the output says so.
     */
    @Test
    void checkWhileAServerWritesReportsNothingThatIsNotThere(@TempDir final Path dir) throws Exception {
        final Path file = dir.resolve("busy.store");
        final int port = freePort();
        try (ChildJvm server = serve(file, port)) {
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicInteger stored = new AtomicInteger();
            final String value = "x".repeat(1000);
            final Thread writer = Thread.ofPlatform().start(() -> {
                for (int i = 0; !stop.get(); i++) {
                    final StringBuilder batch = new StringBuilder();
                    for (int k = 0; k < 50; k++) {
                        batch.append("set w").append(i * 50 + k).append(" 0 0 1000\r\n").append(value).append("\r\n");
                    }
                    try {
                        request(port, batch.toString(), "STORED\r\n".repeat(50));
                        stored.addAndGet(50);
                    } catch (final IOException e) {
                        return;
                    }
                }
            });
            try {
                while (stored.get() < 20_000) { // past the 16 MiB ring: the writes evict
                    Thread.sleep(50);
                }
                final java.io.PrintStream out = System.out;
                for (int round = 0; round < 3; round++) {
                    final java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
                    System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
                    final int status;
                    try {
                        status = ArenaCli.run("check", file.toString());
                    } finally {
                        System.setOut(out);
                    }
                    final String said = captured.toString(StandardCharsets.UTF_8);
                    assertEquals(0, status, said);
                    assertTrue(said.contains("note: 1 other process(es) attached, pids [" + server.pid() + "]"), said);
                }
            } finally {
                stop.set(true);
                writer.join(10_000);
            }
            assertTrue(stored.get() > 20_000);
            terminate(server);
        }
        assertEquals(0, ArenaCli.run("check", file.toString()), "quiet: clean, read once");
    }

    private static void terminate(final ChildJvm child) throws Exception {
        final Process kill = new ProcessBuilder("kill", "-TERM", Long.toString(child.pid())).start();
        assertEquals(0, kill.waitFor());
        final int status = child.waitFor(30);
        assertEquals(143, status, "ended by SIGTERM after its shutdown hook: " + child.output());
    }

    @Test
    void theShutdownCommandEndsTheProcessCleanlyWhenEnabled(@TempDir final Path dir) throws Exception {
        final Path file = dir.resolve("cache.store");
        final int port = freePort();
        try (ChildJvm child = ChildJvm.start(ArenaCli.class, List.of(), "serve", "--store", file.toString(), "--port",
            Integer.toString(port), "--memory", "16M", "--threads", "1", "--enable-shutdown", "--idle-timeout", "60",
            "--requests-per-event", "5")) {
            child.await("arena serve: listening on 127.0.0.1:" + port);
            final String settings = request(port, "stats settings\r\n", "END\r\n");
            assertTrue(settings.contains("STAT shutdown_command yes\r\n") && settings.contains("STAT idle_timeout 60\r\n")
                && settings.contains("STAT reqs_per_event 5\r\n"), settings);
            assertEquals("STORED\r\n", request(port, "set kept 0 0 2\r\nok\r\n", "\r\n"));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                s.setSoTimeout(10_000);
                s.getOutputStream().write("shutdown\r\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals(-1, s.getInputStream().read(), "closed with no reply");
            }
            assertEquals(0, child.waitFor(30), "the server closed and the process ended: " + child.output());
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals(List.of(), store.check());
            assertEquals("ok", new String(store.get("kept".getBytes(StandardCharsets.US_ASCII)), StandardCharsets.US_ASCII));
        }
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("d").toString(),
            "--requests-per-event", "0", "--port", "0"));
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("e").toString(),
            "--idle-timeout", "-1", "--port", "0"));
    }

    @Test
    void theStoresMemoryIsAdvisedHugePagesUnlessTheServerIsToldNot(@TempDir final Path dir) throws Exception {
        final Path file = dir.resolve("cache.store");
        final boolean kernelHasThp = java.nio.file.Files.isDirectory(Path.of("/sys/kernel/mm/transparent_hugepage"));
        final int advised = freePort();
        final int plain = freePort();
        try (ChildJvm a = ChildJvm.start(ArenaCli.class, List.of(), "serve", "--store", file.toString(), "--port",
            Integer.toString(advised), "--memory", "16M", "--threads", "1");
             ChildJvm b = ChildJvm.start(ArenaCli.class, List.of(), "serve", "--store", file.toString(), "--port",
                 Integer.toString(plain), "--no-huge-pages", "--threads", "1")) {
            a.await("arena serve: listening on 127.0.0.1:" + advised);
            b.await("arena serve: listening on 127.0.0.1:" + plain);
            assertTrue(request(advised, "set k 0 0 2\r\nhi\r\n", "STORED\r\n").endsWith("STORED\r\n"));
            assertEquals("VALUE k 0 2\r\nhi\r\nEND\r\n", request(plain, "get k\r\n", "END\r\n"));
            assertEquals(kernelHasThp, hugePageMappings(a.pid(), file) > 0, "the default server's mappings of the file");
            assertEquals(0, hugePageMappings(b.pid(), file), "the --no-huge-pages server's mappings of the file");
            terminate(a);
            terminate(b);
        }
    }

    /** @return how many of process {@code pid}'s mappings of {@code file} carry the huge-page advice ({@code hg}) */
    private static int hugePageMappings(final long pid, final Path file) throws IOException {
        int count = 0;
        boolean ofFile = false;
        for (final String line : java.nio.file.Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                ofFile = line.endsWith(" " + file.toAbsolutePath());
            } else if (ofFile && line.startsWith("VmFlags:") && line.contains(" hg")) {
                count++;
            }
        }
        return count;
    }

    @Test
    void aUnixSocketServesInsteadOfTcpAndGoesWithTheServer(@TempDir final Path dir) throws Exception {
        final Path file = dir.resolve("cache.store");
        final Path socket = dir.resolve("mc.sock");
        try (ChildJvm child = ChildJvm.start(ArenaCli.class, List.of(), "serve", "--store", file.toString(),
            "--unix-socket", socket.toString(), "--memory", "16M", "--threads", "1")) {
            child.await("arena serve: listening on unix socket " + socket);
            try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
                java.net.UnixDomainSocketAddress.of(socket))) {
                final String request = "set k 0 0 2\r\nhi\r\nget k\r\n";
                ch.write(java.nio.ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
                final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1024);
                final String want = "STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n";
                while (b.position() < want.length() && ch.read(b) >= 0) {
                    // until the two replies are in
                }
                assertEquals(want, new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
            }
            terminate(child);
        }
        assertTrue(!java.nio.file.Files.exists(socket), "the socket file is removed at the close");
    }

    @Test
    void badArgumentsAreOneLineAndAUsageStatus(@TempDir final Path dir) throws Exception {
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("a").toString(), "--port", "70000"));
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("b").toString(), "--memory", "1K",
            "--port", "0"));
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("c").toString(), "--threads", "0",
            "--port", "0"));
        final Path notAStore = java.nio.file.Files.writeString(dir.resolve("text"), "not an arena");
        assertEquals(ArenaCli.EXIT_FORMAT, ArenaCli.run("serve", "--store", notAStore.toString(), "--port", "0"));
    }
}
