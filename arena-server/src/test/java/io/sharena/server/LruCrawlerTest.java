package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** memcached's {@code lru_crawler} commands: a crawl reclaims what expired, a metadump lists what lives. */
class LruCrawlerTest {
    private static final Pattern LINE = Pattern.compile(
        "key=(\\S+) exp=(-1|\\d+) la=(\\d+) cas=(\\d+) fetch=(yes|no) cls=1 size=(\\d+)\n");


    /**
     * One metadump or crawl at a time, as memcached's crawler serves them: a second metadump, or a
     * crawl, while a client's dump is in progress is told BUSY (eight clients each got a whole dump
     * at once); the client's close frees the crawler.
     */
    @Test
    void aMetadumpHoldsTheCrawlerUntilItEndsOrItsClientGoes() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            final StringBuilder sets = new StringBuilder();
            for (int i = 0; i < 200_000; i++) {
                sets.append("set dumped-key-").append(i).append(" 0 0 1 noreply\r\nx\r\n");
            }
            assertEquals("", w.call(sets.toString()));
            try (java.net.Socket slow = new java.net.Socket()) {
                // Its reader never reads, and its window is small: the dump (16 MB) stops at the
                // output bound and waits there.
                slow.setReceiveBufferSize(4096);
                slow.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()), 2000);
                slow.getOutputStream().write(Wire.ascii("lru_crawler metadump all\r\n"));
                slow.getOutputStream().flush();
                String busy = "";
                for (int i = 0; i < 100 && !busy.startsWith("BUSY"); i++) {
                    Thread.sleep(20);
                    busy = w.call("lru_crawler metadump all\r\n");
                }
                assertEquals("BUSY currently processing crawler request\r\n", busy);
                assertEquals("BUSY currently processing crawler request\r\n", w.call("lru_crawler crawl all\r\n"));
            }
            String dump = "";
            for (int i = 0; i < 500 && !dump.endsWith("END\r\n"); i++) {
                Thread.sleep(20);
                dump = w.call("lru_crawler metadump all\r\n");
            }
            assertTrue(dump.endsWith("END\r\n") && dump.contains("key=dumped-key-199999 "), "the crawler is free again");
            assertEquals("OK\r\n", w.call("lru_crawler crawl all\r\n"));
        }
    }

    @Test
    void aCrawlReclaimsExpiredItemsAndAMetadumpListsTheLiveOnes() throws Exception {
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            final long now = System.currentTimeMillis() / 1000;
            final StringBuilder sets = new StringBuilder();
            for (int i = 0; i < 20; i++) {
                sets.append("set live").append(i).append(" 0 0 2\r\nok\r\n");
                sets.append("set brief").append(i).append(" 0 1 2\r\nok\r\n");
            }
            sets.append("set odd/key:\u00e9 5 3600 3\r\nabc\r\nget live3\r\n");
            assertTrue(w.call(sets.toString()).startsWith("STORED\r\n".repeat(41)));
            Thread.sleep(2100);
            assertEquals("OK\r\n", w.call("lru_crawler crawl 1\r\n"));
            for (int i = 0; i < 100 && w.stat("", "lru_crawler_running") == 1; i++) {
                Thread.sleep(50);
            }
            assertEquals(20, w.stat("", "crawler_reclaimed"));
            assertEquals(41, w.stat(" items", "items:1:crawler_items_checked"));
            assertEquals(21, w.stat("", "curr_items"));
            assertEquals(1, w.stat("", "lru_crawler_starts"));

            final String dump = w.call("lru_crawler metadump all\r\n");
            assertTrue(dump.endsWith("END\r\n"), dump);
            final Matcher m = LINE.matcher(dump);
            final Set<String> keys = new HashSet<>();
            while (m.find()) {
                keys.add(m.group(1));
                final long la = Long.parseLong(m.group(3));
                assertTrue(la >= now - 1 && la <= now + 5, "last access in Unix seconds: " + m.group());
                if (m.group(1).equals("live3")) {
                    assertEquals("yes", m.group(5), "fetched");
                    assertEquals("-1", m.group(2), "no expiry");
                } else if (m.group(1).startsWith("odd")) {
                    assertEquals("odd%2Fkey%3A%E9", m.group(1), "URI-encoded as memcached does");
                    assertTrue(Math.abs(Long.parseLong(m.group(2)) - (now + 3600)) <= 2, m.group());
                    assertEquals("no", m.group(5));
                }
            }
            assertEquals(21, keys.size(), dump);
            assertEquals("END\r\n", dump.replaceAll(LINE.pattern(), ""), "nothing but item lines and END");
            assertEquals(0, w.stat("", "cmd_get") - 1, "a metadump counts no gets (the one get above only)");
            assertEquals("END\r\n", w.call("lru_crawler metadump 2\r\n"), "class 2 holds nothing");
            assertEquals("OK\r\n", w.call("lru_crawler crawl 2\r\n"));
            assertEquals("BADCLASS invalid class id\r\n", w.call("lru_crawler metadump 0\r\n"));
            assertEquals("BADCLASS invalid class id\r\n", w.call("lru_crawler crawl 1,x\r\n"));
            // Empty pieces of a class list are skipped, as memcached's strtok_r skips them (it said
            // BADCLASS here); a list of none crawls nothing (memcached 1.6.18's answers, probed).
            assertEquals("OK\r\n", w.call("lru_crawler crawl 2,,3,\r\n"));
            assertEquals("NOTSTARTED no items to crawl\r\n", w.call("lru_crawler crawl ,\r\n"));
            assertEquals("NOTSTARTED no items to crawl\r\n", w.call("lru_crawler metadump ,,\r\n"));
            assertEquals("END\r\n", w.call("lru_crawler metadump 2,\r\n"));
            assertEquals("BADCLASS invalid class id\r\n", w.call("lru_crawler crawl ,64\r\n"));
            assertTrue(w.call("lru_crawler metadump ,1\r\n").contains("key=live3 "), "class 1 after an empty piece");
            assertEquals("EN\r\nERROR cannot pipeline other commands before metadump\r\n",
                w.call("mg nothing v\r\nlru_crawler metadump all\r\n"));
        }
    }

    @Test
    void disabledTheCommandsAreRefusedAndTheSettingSaysSo() throws Exception {
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withLruCrawler(false));
             Wire w = new Wire(server.port())) {
            assertTrue(w.call("stats settings\r\n").contains("STAT lru_crawler no\r\n"));
            assertEquals("CLIENT_ERROR lru crawler disabled\r\n", w.call("lru_crawler crawl all\r\n"));
            assertEquals("CLIENT_ERROR lru crawler disabled\r\n", w.call("lru_crawler metadump all\r\n"));
            assertEquals("OK\r\n", w.call("lru_crawler enable\r\n"));
            assertTrue(w.call("stats settings\r\n").contains("STAT lru_crawler yes\r\n"));
            assertEquals("OK\r\n", w.call("lru_crawler crawl all\r\n"), "an empty store is crawled too");
            for (int i = 0; i < 100 && w.stat("", "lru_crawler_running") == 1; i++) {
                Thread.sleep(50); // a metadump while it runs is told BUSY
            }
            assertEquals("END\r\n", w.call("lru_crawler metadump hash\r\n"));
            assertEquals("OK\r\nOK\r\n", w.call("lru_crawler tocrawl 10\r\nlru_crawler sleep 100\r\n"));
            assertEquals("CLIENT_ERROR sleep must be one second or less\r\n", w.call("lru_crawler sleep 1000001\r\n"));
            assertEquals("ERROR\r\n", w.call("lru_crawler\r\n"));
            assertEquals("ERROR\r\n", w.call("lru_crawler frobnicate\r\n"));
            assertEquals("OK\r\n", w.call("lru_crawler disable\r\n"));
        }
    }

    @Test
    void aLargeDumpStreamsEveryKeyOnce() throws Exception {
        final int n = 30_000;
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1).withOutputHighWater(8192));
             Wire w = new Wire(server.port())) {
            for (int i = 0; i < n; i++) {
                server.store.set(Wire.ascii("k" + i), Wire.ascii("v"), 0, 0);
            }
            final String dump = w.call("lru_crawler metadump hash\r\n");
            final Matcher m = LINE.matcher(dump);
            final Set<String> keys = new HashSet<>();
            int lines = 0;
            while (m.find()) {
                keys.add(m.group(1));
                lines++;
            }
            assertEquals(n, lines);
            assertEquals(n, keys.size());
            assertTrue(dump.endsWith("END\r\n"));
            assertEquals("VERSION ", w.call("version\r\n").substring(0, 8), "commands after the dump are served");
        }
    }
}
