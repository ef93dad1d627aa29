package io.sharena.server;

import io.sharena.ipc.store.StoreOptions;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What this server's stats say where they cannot be compared with memcached's byte for byte:
 * cachedump's listing (memcached lists only its cold LRU), the refusal counters, what a reset
 * clears and what it keeps. The forms and errors are compared with memcached in {@link SideBySideTest}.
 */
class StatsCommandsTest {
    private static final Pattern STAT = Pattern.compile("STAT (\\S+) ([^\r\n]*)\r\n");

    private static Map<String, String> stats(final Wire w, final String which) throws Exception {
        final String reply = w.call("stats" + which + "\r\n");
        assertTrue(reply.endsWith("END\r\n"), reply);
        final Map<String, String> s = new HashMap<>();
        final Matcher m = STAT.matcher(reply);
        while (m.find()) {
            s.put(m.group(1), m.group(2));
        }
        return s;
    }

    @Test
    void cachedumpListsLiveKeysWithLengthAndExpiryAndCountsNoGets() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            final long now = System.currentTimeMillis() / 1000;
            assertEquals("STORED\r\nSTORED\r\nSTORED\r\nDELETED\r\n", w.call(
                "set forever 0 0 5\r\nhello\r\nset soon 0 100 2\r\nhi\r\nset gone 0 0 1\r\nx\r\ndelete gone\r\n"));
            server.store.set(new byte[] {'b', 0, 'n'}, new byte[1], 0, 0); // a key no text client could send
            final String dump = w.call("stats cachedump 1 0\r\n");
            assertTrue(dump.contains("ITEM forever [5 b; 0 s]\r\n"), dump);
            final Matcher soon = Pattern.compile("ITEM soon \\[2 b; (\\d+) s]\r\n").matcher(dump);
            assertTrue(soon.find(), dump);
            final long expires = Long.parseLong(soon.group(1));
            assertTrue(expires >= now + 99 && expires <= now + 102, "absolute expiry: " + expires + ", now " + now);
            assertTrue(!dump.contains("gone") && !dump.contains("ITEM b"), "no deleted or binary key: " + dump);
            assertTrue(dump.endsWith("END\r\n"), dump);
            assertEquals(3, dump.split("\r\n").length, dump);
            assertEquals(2, w.call("stats cachedump 1 1\r\n").split("\r\n").length, "limit 1: one line and END");
            assertEquals("END\r\n", w.call("stats cachedump 2 0\r\n"), "the store has one class: 1");
            assertEquals("0", stats(w, "").get("cmd_get"), "listing looked keys up without counting gets");
        }
    }

    /**
     * Found by the real-client campaign of 2026-12-05 (python-memcached, php-memcached's
     * getAllKeys, memcdump): the limit counted the index's entries before the dead ones were left
     * out, so {@code stats cachedump 1 2} could list nothing while live keys were there
     * (memcached 1.6.18 lists up to the limit from its cold LRU).
     */
    @Test
    void cachedumpLimitCountsListedKeysNotDeadEntries() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            final StringBuilder sets = new StringBuilder();
            for (int i = 0; i < 200; i++) {
                sets.append("set dead").append(i).append(" 0 0 1 noreply\r\nx\r\n");
            }
            w.call(sets + "flush_all\r\n");
            assertEquals("STORED\r\nSTORED\r\n", w.call("set live1 0 0 1\r\nx\r\nset live2 0 0 1\r\nx\r\n"));
            final String dump = w.call("stats cachedump 1 2\r\n");
            assertEquals(3, dump.split("\r\n").length, "two live keys, limit 2: two ITEM lines and END, got " + dump);
        }
    }

    /**
     * memcached 1.6.18 lists a key of non-ASCII bytes (UTF-8 {@code kée}) in cachedump as it
     * is; the printable check read Java's signed bytes, so every byte from 0x80 up counted as a
     * control character and the key was left out.
     */
    @Test
    void cachedumpListsKeysWithBytesAbove0x7f() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            assertEquals("STORED\r\n", w.call("set k\u00c3\u00a9e 0 0 1\r\nx\r\n"));
            assertEquals("ITEM k\u00c3\u00a9e [1 b; 0 s]\r\n", w.call("stats cachedump 1 0\r\n").replace("END\r\n", ""));
        }
    }

    @Test
    void refusalsCountAndResetClearsCountsButNotTheCache() throws Exception {
        final StoreOptions small = StoreOptions.defaults().withMaxItemSize(1024);
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1), small);
             Wire w = new Wire(server.port())) {
            final String big = "v".repeat(2048);
            assertEquals("STORED\r\n", w.call("set big 0 0 1\r\nx\r\n"));
            assertEquals("SERVER_ERROR object too large for cache\r\n", w.call("set big 0 0 2048\r\n" + big + "\r\n"));
            assertEquals("SERVER_ERROR object too large for cache\r\n", w.call("ms big 2048\r\n" + big + "\r\n"));
            assertEquals("END\r\n", w.call("get big\r\n"), "the refused set took the old value away");
            assertEquals("STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\nEND\r\n", w.call("set k 0 0 1\r\nx\r\nget k\r\nget nokey\r\n"));
            Map<String, String> s = stats(w, "");
            assertEquals("2", s.get("store_too_large"));
            assertEquals("0", s.get("store_no_memory"));
            assertEquals("3", s.get("cmd_get"));
            assertEquals("1", s.get("get_hits"));
            assertEquals("2", s.get("total_items"));
            // memcached unlinks the old value of a refused set without counting a delete.
            assertEquals("0", s.get("delete_hits"));
            assertEquals("0", s.get("delete_misses"));
            assertEquals("1", s.get("accepting_conns"));
            assertTrue(Long.parseLong(s.get("bytes_read")) > 4096, s.get("bytes_read"));

            assertEquals("RESET\r\n", w.call("stats reset\r\n"));
            s = stats(w, "");
            for (final String counter : new String[] {"cmd_get", "get_hits", "get_misses", "cmd_set", "total_items",
                "store_too_large", "total_connections"}) {
                assertEquals("0", s.get(counter), counter + " after reset");
            }
            assertEquals("1", s.get("curr_items"), "items stay");
            assertEquals("1", s.get("curr_connections"), "open connections stay");
            assertTrue(Long.parseLong(s.get("bytes_read")) < 100, "bytes counted since the reset: " + s.get("bytes_read"));
            assertEquals("VALUE k 0 1\r\nx\r\nEND\r\n", w.call("get k\r\n"), "the cache is untouched");
            assertEquals("1", stats(w, "").get("get_hits"));

            final Map<String, String> items = stats(w, " items");
            assertEquals("1", items.get("items:1:number"));
            assertTrue(Long.parseLong(items.get("items:1:mem_requested")) > 0, items.toString());
            final Map<String, String> settings = stats(w, " settings");
            assertEquals("NULL", settings.get("domain_socket"));
            assertEquals("no", settings.get("detail_enabled"));
            assertEquals("1024", settings.get("item_size_max"));
        }
    }

    @Test
    void connsListsTheListenerAndEveryConnectionWithItsState() throws Exception {
        try (TestServer server = TestServer.start(); Wire asking = new Wire(server.port());
             Wire midValue = new Wire(server.port()); Wire idle = new Wire(server.port())) {
            assertTrue(idle.call("version\r\n").startsWith("VERSION"));
            midValue.send(Wire.ascii("set foo 0 0 6\r\nab"));
            Map<String, String> s = stats(asking, " conns");
            for (final long end = System.nanoTime() + 10_000_000_000L;
                 !s.containsValue("conn_nread") && System.nanoTime() < end; s = stats(asking, " conns")) {
                Thread.sleep(20); // until the worker has read it
            }
            final String listen = "tcp:127.0.0.1:" + server.port();
            assertEquals(listen, s.get("0:addr"));
            assertEquals("conn_listening", s.get("0:state"));
            final Map<String, String> byState = new HashMap<>();
            for (final Map.Entry<String, String> e : s.entrySet()) {
                if (e.getKey().endsWith(":state") && !e.getKey().startsWith("0:")) {
                    final String n = e.getKey().substring(0, e.getKey().indexOf(':'));
                    byState.put(e.getValue(), n);
                    assertEquals(listen, s.get(n + ":listen_addr"));
                    assertTrue(s.get(n + ":addr").matches("tcp:127\\.0\\.0\\.1:\\d+"), s.get(n + ":addr"));
                    assertTrue(Long.parseLong(s.get(n + ":secs_since_last_cmd")) <= 2, s.toString());
                }
            }
            assertEquals(java.util.Set.of("conn_parse_cmd", "conn_nread", "conn_waiting"), byState.keySet(), s.toString());
            assertEquals("tcp:127.0.0.1:" + asking.socket.getLocalPort(), s.get(byState.get("conn_parse_cmd") + ":addr"));
            assertEquals("tcp:127.0.0.1:" + midValue.socket.getLocalPort(), s.get(byState.get("conn_nread") + ":addr"));
            idle.close();
            midValue.close();
            long listed = 3;
            for (final long end = System.nanoTime() + 10_000_000_000L; listed > 1 && System.nanoTime() < end; ) {
                Thread.sleep(20); // until the worker has seen both closes
                listed = stats(asking, " conns").keySet().stream().filter(k -> k.endsWith(":listen_addr")).count();
            }
            assertEquals(1, listed, "closed connections leave the list");
            assertEquals("STAT sizes_status disabled\r\nEND\r\n", asking.call("stats sizes\r\n"));
        }
    }

    @Test
    void withoutEvictionsAFullStoreAnswersOutOfMemoryAndKeepsEveryItem() throws Exception {
        final StoreOptions noEvict = StoreOptions.defaults().withMemoryLimit(256 << 10).withMaxItemSize(16 << 10)
            .withEvictions(false);
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1), noEvict);
             Wire w = new Wire(server.port())) {
            assertTrue(w.call("stats settings\r\n").contains("STAT evictions off\r\n"));
            final String value = "B".repeat(8192);
            int stored = 0;
            String reply;
            while ((reply = w.call("set dash" + stored + " 0 0 8192\r\n" + value + "\r\n")).equals("STORED\r\n")) {
                stored++;
            }
            assertEquals("SERVER_ERROR out of memory storing object\r\n", reply);
            assertEquals("SERVER_ERROR out of memory storing object\r\n",
                w.call("set dash" + stored + " 0 0 8192\r\n" + value + "\r\n"));
            assertEquals("2", stats(w, "").get("store_no_memory"));
            assertEquals("0", stats(w, "").get("evictions"));
            for (int i = 0; i < stored; i++) {
                assertEquals("VALUE dash" + i + " 0 8192\r\n" + value + "\r\nEND\r\n", w.call("get dash" + i + "\r\n"));
            }
        }
    }

    /**
     * After a flush_all takes effect, the server crawls by itself, so curr_items and bytes fall
     * within seconds, as memcached's do (its crawler clears them in about 2 s); before, they stayed
     * until a command met each item or an explicit {@code lru_crawler crawl} (found by the
     * real-client campaign, 2026-12-05: memcstat and monitoring read a full cache of dead items).
     * A delayed flush's crawl comes when its time does; a crawl command meanwhile is not BUSY.
     */
    @Test
    void itemsAFlushTookAreCrawledAwaySoonAfter() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            final StringBuilder sets = new StringBuilder();
            for (int i = 0; i < 1000; i++) {
                sets.append("set k").append(i).append(" 0 0 10 noreply\r\n0123456789\r\n");
            }
            w.call(sets + "version\r\n");
            assertEquals("1000", stats(w, "").get("curr_items"));
            assertEquals("OK\r\n", w.call("flush_all\r\n"));
            assertEquals("OK\r\n", w.call("lru_crawler crawl all\r\n"), "a crawl command while the server's own may run");
            awaitItems(w, "0", 5_000);
            assertEquals("0", stats(w, "").get("bytes"));

            w.call(sets + "version\r\n");
            assertEquals("OK\r\n", w.call("flush_all 2\r\n"));
            assertEquals("1000", stats(w, "").get("curr_items"), "nothing taken before the delay");
            awaitItems(w, "0", 6_000);
        }
    }

    private static void awaitItems(final Wire w, final String want, final long millis) throws Exception {
        final long end = System.currentTimeMillis() + millis;
        String items = stats(w, "").get("curr_items");
        while (!items.equals(want) && System.currentTimeMillis() < end) {
            Thread.sleep(100);
            items = stats(w, "").get("curr_items");
        }
        assertEquals(want, items, "curr_items within " + millis + " ms");
    }
}
