package io.sharena.server;

import com.spotify.folsom.GetResult;
import com.spotify.folsom.MemcacheClientBuilder;
import com.spotify.folsom.MemcacheStatus;
import net.rubyeye.xmemcached.GetsResponse;
import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.utils.AddrUtil;
import net.spy.memcached.CASResponse;
import net.spy.memcached.CASValue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real memcached clients against the server: xmemcached, spymemcached and folsom (Maven), and
 * libmemcached's command-line tools (skipped, saying why, where they are not installed). Each does
 * set, get, multi-get, cas, incr, decr, append, prepend, touch, delete and flush, and checks what
 * the server did through the store itself. The three Java clients run the same session twice: over
 * the text protocol, and over the binary protocol.
 */
class RealClientsTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws IOException {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() throws IOException {
        server.close();
    }

    private static byte[] inStore(final String key) {
        return server.store.get(key.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void xmemcached() throws Exception {
        xmemcachedSession(new XMemcachedClientBuilder(AddrUtil.getAddresses("127.0.0.1:" + server.port())).build(), "x:");
    }

    @Test
    void xmemcachedBinary() throws Exception {
        final XMemcachedClientBuilder b = new XMemcachedClientBuilder(AddrUtil.getAddresses("127.0.0.1:" + server.port()));
        b.setCommandFactory(new net.rubyeye.xmemcached.command.BinaryCommandFactory());
        xmemcachedSession(b.build(), "xb:");
    }

    private static void xmemcachedSession(final MemcachedClient c, final String prefix) throws Exception {
        try {
            assertTrue(c.set(prefix + "a", 0, "alpha"));
            assertEquals("alpha", c.get(prefix + "a"));
            assertArrayEquals("alpha".getBytes(StandardCharsets.UTF_8), inStore(prefix + "a"));
            assertTrue(c.set(prefix + "b", 0, "beta"));
            final Map<String, Object> many = c.get(List.of(prefix + "a", prefix + "b", prefix + "none"));
            assertEquals(Map.of(prefix + "a", "alpha", prefix + "b", "beta"), many);
            final GetsResponse<String> gets = c.gets(prefix + "a");
            assertTrue(c.cas(prefix + "a", 0, "gamma", gets.getCas()));
            assertFalse(c.cas(prefix + "a", 0, "delta", gets.getCas()), "a stale CAS is refused");
            assertEquals("gamma", c.get(prefix + "a"));
            assertEquals(10, c.incr(prefix + "n", 1, 10)); // missing: created with the initial value
            assertEquals(15, c.incr(prefix + "n", 5));
            assertEquals(12, c.decr(prefix + "n", 3));
            assertTrue(c.set(prefix + "s", 0, "mid"));
            assertTrue(c.append(prefix + "s", "-end"));
            assertTrue(c.prepend(prefix + "s", "start-"));
            assertEquals("start-mid-end", c.get(prefix + "s"));
            assertTrue(c.touch(prefix + "s", 100));
            assertFalse(c.touch(prefix + "none", 100));
            assertTrue(c.delete(prefix + "b"));
            assertNull(c.get(prefix + "b"));
            c.flushAll();
            assertNull(c.get(prefix + "a"));
            assertNull(inStore(prefix + "s"));
        } finally {
            c.shutdown();
        }
    }

    @Test
    void spymemcached() throws Exception {
        spymemcachedSession(new net.spy.memcached.MemcachedClient(new InetSocketAddress("127.0.0.1", server.port())), "s:");
    }

    @Test
    void spymemcachedBinary() throws Exception {
        spymemcachedSession(new net.spy.memcached.MemcachedClient(new net.spy.memcached.BinaryConnectionFactory(),
            List.of(new InetSocketAddress("127.0.0.1", server.port()))), "sb:");
    }

    private static void spymemcachedSession(final net.spy.memcached.MemcachedClient c, final String prefix)
        throws Exception {
        try {
            assertTrue(c.set(prefix + "a", 0, "alpha").get(5, TimeUnit.SECONDS));
            assertEquals("alpha", c.get(prefix + "a"));
            assertTrue(c.set(prefix + "b", 0, "beta").get(5, TimeUnit.SECONDS));
            assertEquals(Map.of(prefix + "a", "alpha", prefix + "b", "beta"), c.getBulk(prefix + "a", prefix + "b", prefix + "none"));
            final CASValue<Object> cv = c.gets(prefix + "a");
            assertEquals(CASResponse.OK, c.cas(prefix + "a", cv.getCas(), "gamma"));
            assertEquals(CASResponse.EXISTS, c.cas(prefix + "a", cv.getCas(), "delta"));
            assertEquals(CASResponse.NOT_FOUND, c.cas(prefix + "none", 1, "x"));
            assertTrue(c.set(prefix + "n", 0, "10").get(5, TimeUnit.SECONDS));
            assertEquals(15, c.incr(prefix + "n", 5));
            assertEquals(12, c.decr(prefix + "n", 3));
            assertEquals(-1, c.incr(prefix + "none", 1));
            assertTrue(c.set(prefix + "s", 0, "mid").get(5, TimeUnit.SECONDS));
            assertTrue(c.append(prefix + "s", "-end").get(5, TimeUnit.SECONDS));
            assertTrue(c.prepend(prefix + "s", "start-").get(5, TimeUnit.SECONDS));
            assertEquals("start-mid-end", c.get(prefix + "s"));
            assertTrue(c.touch(prefix + "s", 100).get(5, TimeUnit.SECONDS));
            assertTrue(c.delete(prefix + "b").get(5, TimeUnit.SECONDS));
            assertNull(c.get(prefix + "b"));
            assertTrue(c.flush().get(5, TimeUnit.SECONDS));
            assertNull(c.get(prefix + "a"));
            assertNull(inStore(prefix + "s"));
        } finally {
            c.shutdown(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void folsom() throws Exception {
        final com.spotify.folsom.AsciiMemcacheClient<String> c = MemcacheClientBuilder.newStringClient()
            .withAddress("127.0.0.1", server.port()).connectAscii();
        folsomSession(c, "f:", c::incr, c::decr);
    }

    @Test
    void folsomBinary() throws Exception {
        final com.spotify.folsom.BinaryMemcacheClient<String> c = MemcacheClientBuilder.newStringClient()
            .withAddress("127.0.0.1", server.port()).connectBinary();
        // The binary counters take an initial value and a TTL: the item is set first, as for the text client.
        folsomSession(c, "fb:", (k, by) -> c.incr(k, by, 0, 0), (k, by) -> c.decr(k, by, 0, 0));
    }

    private static void folsomSession(final com.spotify.folsom.MemcacheClient<String> c, final String prefix,
                                      final java.util.function.BiFunction<String, Long, java.util.concurrent.CompletionStage<Long>> incr,
                                      final java.util.function.BiFunction<String, Long, java.util.concurrent.CompletionStage<Long>> decr)
        throws Exception {
        try {
            c.awaitConnected(10, TimeUnit.SECONDS);
            assertEquals(MemcacheStatus.OK, get(c.set(prefix + "a", "alpha", 0)));
            assertEquals("alpha", get(c.get(prefix + "a")));
            assertEquals(MemcacheStatus.OK, get(c.set(prefix + "b", "beta", 0)));
            final List<String> many = get(c.get(List.of(prefix + "a", prefix + "none", prefix + "b")));
            assertEquals(java.util.Arrays.asList("alpha", null, "beta"), many);
            final GetResult<String> gr = get(c.casGet(prefix + "a"));
            assertEquals(MemcacheStatus.OK, get(c.set(prefix + "a", "gamma", 0, gr.getCas())));
            assertEquals(MemcacheStatus.KEY_EXISTS, get(c.set(prefix + "a", "delta", 0, gr.getCas())));
            assertEquals("gamma", get(c.get(prefix + "a")));
            assertEquals(MemcacheStatus.OK, get(c.set(prefix + "n", "10", 0)));
            assertEquals(15L, get(incr.apply(prefix + "n", 5L)));
            assertEquals(12L, get(decr.apply(prefix + "n", 3L)));
            assertEquals(MemcacheStatus.OK, get(c.set(prefix + "s", "mid", 0)));
            assertEquals(MemcacheStatus.OK, get(c.append(prefix + "s", "-end")));
            assertEquals(MemcacheStatus.OK, get(c.prepend(prefix + "s", "start-")));
            assertEquals("start-mid-end", get(c.get(prefix + "s")));
            assertEquals(MemcacheStatus.OK, get(c.touch(prefix + "s", 100)));
            assertEquals(MemcacheStatus.OK, get(c.delete(prefix + "b")));
            assertNull(get(c.get(prefix + "b")));
            assertEquals(MemcacheStatus.OK, get(c.flushAll(0)));
            assertNull(get(c.get(prefix + "a")));
            assertNull(inStore(prefix + "s"));
        } finally {
            c.shutdown();
        }
    }

    private static <T> T get(final java.util.concurrent.CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------ libmemcached's tools

    private static String tool(final String name, final String... args) throws Exception {
        final Path binary = Path.of("/usr/bin", name);
        Assumptions.assumeTrue(Files.isExecutable(binary), name
            + " is not installed (apt-get install libmemcached-tools): libmemcached tool test skipped");
        final List<String> cmd = new ArrayList<>(List.of(binary.toString()));
        cmd.addAll(List.of(args));
        // The output goes to a file, so that the wait below is what bounds a hung tool (reading a
        // pipe to its end first would wait for as long as the tool runs).
        final Path log = Files.createTempFile("memc-tool-", ".out");
        try {
            final Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile())).start();
            final boolean finished = p.waitFor(60, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            final String out = Files.readString(log, StandardCharsets.UTF_8);
            assertTrue(finished, name + " did not finish in 60 s: " + out);
            assertEquals(0, p.exitValue(), name + " " + String.join(" ", args) + " failed: " + out);
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @Test
    void libmemcachedTools() throws Exception {
        final String servers = "--servers=127.0.0.1:" + server.port();
        final Path dir = Files.createTempDirectory("memc-tools-");
        try {
            final Path one = Files.writeString(dir.resolve("t-one"), "first file");
            final Path two = Files.writeString(dir.resolve("t-two"), "second file");
            tool("memccp", servers, one.toString(), two.toString());
            assertEquals("first file", tool("memccat", servers, "t-one").trim());
            final String both = tool("memccat", servers, "t-one", "t-two");
            assertTrue(both.contains("first file") && both.contains("second file"), both);
            assertArrayEquals("second file".getBytes(StandardCharsets.UTF_8), inStore("t-two"));
            tool("memctouch", servers, "--expire=100", "t-one");
            tool("memcrm", servers, "t-two");
            assertNull(inStore("t-two"));
            final String stat = tool("memcstat", servers);
            assertTrue(stat.contains("curr_items") && stat.contains("cmd_get"), stat);
            tool("memcflush", servers);
            assertNull(inStore("t-one"));
        } finally {
            try (var s = Files.list(dir)) {
                for (final Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void memccapableAsciiPasses() throws Exception {
        final String out = tool("memccapable", "-a", "-h", "127.0.0.1", "-p", Integer.toString(server.port()));
        assertTrue(out.contains("All tests passed"), out);
        assertFalse(out.contains("[FAIL]"), out);
    }

    @Test
    void memccapableBinaryPasses() throws Exception {
        final String out = tool("memccapable", "-b", "-h", "127.0.0.1", "-p", Integer.toString(server.port()));
        assertTrue(out.contains("All tests passed"), out);
        assertFalse(out.contains("[FAIL]"), out);
    }
}
