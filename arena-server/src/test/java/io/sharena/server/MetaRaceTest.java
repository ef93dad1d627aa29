package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Meta commands that compare and act, raced by several clients on one key: each is one store
 * step, so a CAS is handed to one writer only, a compared CAS is acted on once, and one reader per
 * item version wins the recache token.
 */
class MetaRaceTest {
    private static final int CLIENTS = 6;
    private static final int ROUNDS = 40;
    private static final Pattern CAS = Pattern.compile(" c(\\d+)");

    /** Runs {@code body(client index)} on every client at once, each with its own connection. */
    private static List<List<String>> race(final TestServer server, final Client body) throws Exception {
        final ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        final CyclicBarrier start = new CyclicBarrier(CLIENTS);
        try {
            final List<Future<List<String>>> all = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                final int id = i;
                all.add(pool.submit(() -> {
                    try (Wire w = new Wire(server.port())) {
                        return body.run(id, w, start);
                    }
                }));
            }
            final List<List<String>> replies = new ArrayList<>();
            for (final Future<List<String>> f : all) {
                replies.add(f.get());
            }
            return replies;
        } finally {
            pool.shutdownNow();
        }
    }

    private interface Client {
        List<String> run(int id, Wire w, CyclicBarrier start) throws Exception;
    }

    private static long cas(final String reply) {
        final Matcher m = CAS.matcher(reply);
        assertTrue(m.find(), reply);
        return Long.parseLong(m.group(1));
    }

    @Test
    void everyMsCIsTheCasOfTheItemThatCommandStored() throws Exception {
        try (TestServer server = TestServer.start()) {
            final List<List<String>> replies = race(server, (id, w, start) -> {
                start.await();
                final List<String> mine = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    mine.add(w.call("ms hot 4 c\r\nv" + id + "-" + i % 10 + "\r\n"));
                }
                return mine;
            });
            final Set<Long> seen = new HashSet<>();
            for (final List<String> client : replies) {
                for (final String r : client) {
                    assertTrue(r.startsWith("HD c"), r);
                    assertTrue(seen.add(cas(r)), "one CAS answered to two writers: " + r);
                }
            }
            // and the last one is the item's
            try (Wire w = new Wire(server.port())) {
                final long stored = cas(w.call("ms hot 1 c\r\nz\r\n"));
                assertEquals("HD c" + stored + "\r\n", w.call("mg hot c\r\n"));
            }
        }
    }

    @Test
    void maCActsOncePerComparedCas() throws Exception {
        try (TestServer server = TestServer.start(); Wire setup = new Wire(server.port())) {
            for (int round = 0; round < ROUNDS; round++) {
                assertEquals("HD\r\n", setup.call("ms n 1\r\n0\r\n"));
                final long cas = cas(setup.call("mg n c\r\n"));
                final List<List<String>> replies = race(server, (id, w, start) -> {
                    start.await();
                    return List.of(w.call("ma n C" + cas + " v\r\n"));
                });
                int won = 0;
                for (final List<String> r : replies) {
                    if (r.getFirst().equals("VA 1\r\n1\r\n")) {
                        won++;
                    } else {
                        assertEquals("EX\r\n", r.getFirst());
                    }
                }
                assertEquals(1, won, "round " + round + ": " + replies);
                assertEquals("VA 1\r\n1\r\n", setup.call("mg n v\r\n"));
            }
        }
    }

    @Test
    void mdCDeletesOnlyTheItemWhoseCasItCompared() throws Exception {
        try (TestServer server = TestServer.start(); Wire setup = new Wire(server.port())) {
            for (int round = 0; round < ROUNDS; round++) {
                assertEquals("HD\r\n", setup.call("ms d 1\r\n0\r\n"));
                final long cas = cas(setup.call("mg d c\r\n"));
                // Half the clients delete with the CAS they read, half store a new value: a delete
                // answers HD only for the item it compared, so a new value stored after it stays.
                final List<List<String>> replies = race(server, (id, w, start) -> {
                    start.await();
                    return List.of(id % 2 == 0 ? w.call("md d C" + cas + "\r\n") : w.call("ms d 1 c\r\n" + id + "\r\n"));
                });
                int deleted = 0;
                for (final List<String> r : replies) {
                    deleted += r.getFirst().equals("HD\r\n") ? 1 : 0;
                }
                assertTrue(deleted <= 1, "round " + round + ": " + replies);
                // A delete that answered HD removed the item it compared, before any of the stores
                // (which all succeed): so the key holds a stored value, never nothing.
                if (deleted == 1) {
                    final String now = setup.call("mg d v\r\n");
                    assertTrue(now.matches("VA 1\r\n[135]\r\n"), "round " + round + ": " + replies + " then " + now);
                }
            }
        }
    }

    @Test
    void oneClientWinsAVivifiedKeyAndOneWinsAnInvalidatedItem() throws Exception {
        try (TestServer server = TestServer.start(); Wire setup = new Wire(server.port())) {
            for (int round = 0; round < ROUNDS; round++) {
                final String key = "viv" + round;
                List<List<String>> replies = race(server, (id, w, start) -> {
                    start.await();
                    return List.of(w.call("mg " + key + " N30 s\r\n"));
                });
                assertEquals(1, count(replies, "HD s0 W\r\n"), "round " + round + ": " + replies);
                assertEquals(CLIENTS - 1, count(replies, "HD s0 Z\r\n"), "round " + round + ": " + replies);

                assertEquals("HD\r\n", setup.call("ms " + key + " 2\r\nok\r\n"));
                assertEquals("HD\r\n", setup.call("md " + key + " I\r\n"));
                replies = race(server, (id, w, start) -> {
                    start.await();
                    return List.of(w.call("mg " + key + " s\r\n"));
                });
                assertEquals(1, count(replies, "HD s2 X W\r\n"), "round " + round + ": " + replies);
                assertEquals(CLIENTS - 1, count(replies, "HD s2 Z X\r\n"), "round " + round + ": " + replies);
            }
        }
    }

    private static int count(final List<List<String>> replies, final String reply) {
        int n = 0;
        for (final List<String> r : replies) {
            n += r.getFirst().equals(reply) ? 1 : 0;
        }
        return n;
    }
}
