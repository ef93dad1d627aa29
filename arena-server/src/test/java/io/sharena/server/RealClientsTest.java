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
 * the server did through the store itself.
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
        final MemcachedClient c = new XMemcachedClientBuilder(AddrUtil.getAddresses("127.0.0.1:" + server.port())).build();
        try {
            assertTrue(c.set("x:a", 0, "alpha"));
            assertEquals("alpha", c.get("x:a"));
            assertArrayEquals("alpha".getBytes(StandardCharsets.UTF_8), inStore("x:a"));
            assertTrue(c.set("x:b", 0, "beta"));
            final Map<String, Object> many = c.get(List.of("x:a", "x:b", "x:none"));
            assertEquals(Map.of("x:a", "alpha", "x:b", "beta"), many);
            final GetsResponse<String> gets = c.gets("x:a");
            assertTrue(c.cas("x:a", 0, "gamma", gets.getCas()));
            assertFalse(c.cas("x:a", 0, "delta", gets.getCas()), "a stale CAS is refused");
            assertEquals("gamma", c.get("x:a"));
            assertEquals(10, c.incr("x:n", 1, 10)); // missing: created with the initial value
            assertEquals(15, c.incr("x:n", 5));
            assertEquals(12, c.decr("x:n", 3));
            assertTrue(c.set("x:s", 0, "mid"));
            assertTrue(c.append("x:s", "-end"));
            assertTrue(c.prepend("x:s", "start-"));
            assertEquals("start-mid-end", c.get("x:s"));
            assertTrue(c.touch("x:s", 100));
            assertFalse(c.touch("x:none", 100));
            assertTrue(c.delete("x:b"));
            assertNull(c.get("x:b"));
            c.flushAll();
            assertNull(c.get("x:a"));
            assertNull(inStore("x:s"));
        } finally {
            c.shutdown();
        }
    }

    @Test
    void spymemcached() throws Exception {
        final net.spy.memcached.MemcachedClient c =
            new net.spy.memcached.MemcachedClient(new InetSocketAddress("127.0.0.1", server.port()));
        try {
            assertTrue(c.set("s:a", 0, "alpha").get(5, TimeUnit.SECONDS));
            assertEquals("alpha", c.get("s:a"));
            assertTrue(c.set("s:b", 0, "beta").get(5, TimeUnit.SECONDS));
            assertEquals(Map.of("s:a", "alpha", "s:b", "beta"), c.getBulk("s:a", "s:b", "s:none"));
            final CASValue<Object> cv = c.gets("s:a");
            assertEquals(CASResponse.OK, c.cas("s:a", cv.getCas(), "gamma"));
            assertEquals(CASResponse.EXISTS, c.cas("s:a", cv.getCas(), "delta"));
            assertEquals(CASResponse.NOT_FOUND, c.cas("s:none", 1, "x"));
            assertTrue(c.set("s:n", 0, "10").get(5, TimeUnit.SECONDS));
            assertEquals(15, c.incr("s:n", 5));
            assertEquals(12, c.decr("s:n", 3));
            assertEquals(-1, c.incr("s:none", 1));
            assertTrue(c.set("s:s", 0, "mid").get(5, TimeUnit.SECONDS));
            assertTrue(c.append("s:s", "-end").get(5, TimeUnit.SECONDS));
            assertTrue(c.prepend("s:s", "start-").get(5, TimeUnit.SECONDS));
            assertEquals("start-mid-end", c.get("s:s"));
            assertTrue(c.touch("s:s", 100).get(5, TimeUnit.SECONDS));
            assertTrue(c.delete("s:b").get(5, TimeUnit.SECONDS));
            assertNull(c.get("s:b"));
            assertTrue(c.flush().get(5, TimeUnit.SECONDS));
            assertNull(c.get("s:a"));
            assertNull(inStore("s:s"));
        } finally {
            c.shutdown(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void folsom() throws Exception {
        final com.spotify.folsom.AsciiMemcacheClient<String> c = MemcacheClientBuilder.newStringClient()
            .withAddress("127.0.0.1", server.port()).connectAscii();
        try {
            c.awaitConnected(10, TimeUnit.SECONDS);
            assertEquals(MemcacheStatus.OK, get(c.set("f:a", "alpha", 0)));
            assertEquals("alpha", get(c.get("f:a")));
            assertEquals(MemcacheStatus.OK, get(c.set("f:b", "beta", 0)));
            final List<String> many = get(c.get(List.of("f:a", "f:none", "f:b")));
            assertEquals(java.util.Arrays.asList("alpha", null, "beta"), many);
            final GetResult<String> gr = get(c.casGet("f:a"));
            assertEquals(MemcacheStatus.OK, get(c.set("f:a", "gamma", 0, gr.getCas())));
            assertEquals(MemcacheStatus.KEY_EXISTS, get(c.set("f:a", "delta", 0, gr.getCas())));
            assertEquals("gamma", get(c.get("f:a")));
            assertEquals(MemcacheStatus.OK, get(c.set("f:n", "10", 0)));
            assertEquals(15L, get(c.incr("f:n", 5)));
            assertEquals(12L, get(c.decr("f:n", 3)));
            assertEquals(MemcacheStatus.OK, get(c.set("f:s", "mid", 0)));
            assertEquals(MemcacheStatus.OK, get(c.append("f:s", "-end")));
            assertEquals(MemcacheStatus.OK, get(c.prepend("f:s", "start-")));
            assertEquals("start-mid-end", get(c.get("f:s")));
            assertEquals(MemcacheStatus.OK, get(c.touch("f:s", 100)));
            assertEquals(MemcacheStatus.OK, get(c.delete("f:b")));
            assertNull(get(c.get("f:b")));
            assertEquals(MemcacheStatus.OK, get(c.flushAll(0)));
            assertNull(get(c.get("f:a")));
            assertNull(inStore("f:s"));
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
}
