package io.sharena.ipc.store;

import io.sharena.core.internal.ArenaInternals;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several JVM processes on one store file, including ones killed with kill -9. */
class StoreProcessTest {
    @TempDir
    Path dir;

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private SharedStore create(final Path file) throws Exception {
        return SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(16L << 20));
    }

    @Test
    void oneProcessWritesAnotherReadsZeroCopy() throws Exception {
        final Path file = dir.resolve("w.store");
        try (SharedStore store = create(file)) {
            try (ChildJvm writer = StoreChild.start("write", file.toString(), "2000")) {
                writer.await("written");
                assertEquals(0, writer.waitFor(30), writer.output().toString());
            }
            try (ChildJvm reader = StoreChild.start("read", file.toString(), "2000")) {
                assertEquals("read 2000 ok", reader.await("read"), reader.output().toString());
                assertEquals(0, reader.waitFor(30));
            }
            assertArrayEquals(Values.make(1999), store.get(b("key1999")), "and this process reads them too");
            assertEquals(List.of(), store.check());
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(store.arena()), "the store file is an arena");
        }
    }

    @Test
    void processesIncrementingOneCounterLoseNothing() throws Exception {
        final Path file = dir.resolve("c.store");
        try (SharedStore store = create(file)) {
            store.set(b("n"), b("0"), 0, 0);
            final List<ChildJvm> children = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    children.add(StoreChild.start("incr", file.toString(), "n", "2000"));
                }
                // This process takes part too.
                final long[] r = new long[1];
                for (int i = 0; i < 2000; i++) {
                    assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
                }
                for (final ChildJvm c : children) {
                    c.await("incremented");
                    assertEquals(0, c.waitFor(60), c.output().toString());
                }
            } finally {
                children.forEach(ChildJvm::close);
            }
            assertEquals("8000", new String(store.get(b("n")), StandardCharsets.US_ASCII));
            assertEquals(List.of(), store.check());
        }
    }

    @Test
    void aProcessKilledMidSetLeavesTheOldOrTheNewValue() throws Exception {
        final long seed = System.nanoTime();
        final SplittableRandom rnd = new SplittableRandom(seed);
        final Path file = dir.resolve("k.store");
        try (SharedStore store = SharedStore.create(file,
            StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(4096))) {
            long next = 1;
            for (int round = 0; round < 4; round++) {
                try (ChildJvm child = StoreChild.start("setloop", file.toString(), "k", Long.toString(next))) {
                    child.await("acked " + (next + 200));
                    Thread.sleep(rnd.nextInt(50));
                    child.kill9();
                    child.waitFor(30);
                    long acked = next - 1;
                    for (final String line : child.output()) {
                        if (line.startsWith("acked ")) {
                            acked = Long.parseLong(line.substring(6));
                        }
                    }
                    final byte[] v = store.get(b("k"));
                    assertNotNull(v, "seed=" + seed);
                    assertNull(Values.check(v, v.length), "seed=" + seed);
                    final long seq = Values.seq(v);
                    assertTrue(seq == acked || seq == acked + 1, "seq=" + seq + ", acked=" + acked + ", seed=" + seed);
                    // The dead writer's lock and records are taken over: this process writes on.
                    assertEquals(StoreResult.STORED, store.set(b("k"), Values.make(seq + 1), 0, 0));
                    next = seq + 2;
                }
            }
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * A child does random sets, deletes and incrs on 40 keys and is killed with kill -9 at a random
     * moment, four times: every key then holds what the last acknowledged operation left, or what
     * the one operation in flight would leave; nothing else.
     */
    @Test
    void randomOperationsKilledAtRandomMomentsLoseNoAcknowledgedWrite() throws Exception {
        final long seed = System.nanoTime();
        final SplittableRandom rnd = new SplittableRandom(seed);
        final Path file = dir.resolve("rk.store");
        try (SharedStore store = create(file)) {
            final long[] counters = new long[8];
            for (int i = 0; i < 8; i++) {
                store.set(b("n" + i), b("0"), 0, 0);
            }
            long start = 0;
            for (int round = 0; round < 4; round++) {
                final String[] expected = new String[32];
                final String[] inFlight = new String[32];
                final boolean[] known = new boolean[32];
                for (int i = 0; i < 32; i++) {
                    final byte[] v = store.get(b("s" + i));
                    expected[i] = v == null ? null : new String(v, StandardCharsets.UTF_8);
                    known[i] = true;
                }
                int incrInFlight = -1;
                try (ChildJvm child = StoreChild.start("random", file.toString(), Long.toString(rnd.nextLong()),
                    Long.toString(start))) {
                    child.await("ack");
                    Thread.sleep(50 + rnd.nextInt(300));
                    child.kill9();
                    child.waitFor(30);
                    for (final String line : child.output()) {
                        final String[] f = line.split(" ");
                        if (f[0].equals("try") && f[1].equals("s")) {
                            final int i = Integer.parseInt(f[2]);
                            inFlight[i] = f[4].equals("del") ? "<deleted>" : "s" + i + ":" + f[3];
                            start = Math.max(start, Long.parseLong(f[3]) + 1);
                        } else if (f[0].equals("ack") && f[1].equals("s")) {
                            final int i = Integer.parseInt(f[2]);
                            expected[i] = f[4].equals("del") ? null : "s" + i + ":" + f[3];
                            inFlight[i] = null;
                        } else if (f[0].equals("try") && f[1].equals("n")) {
                            incrInFlight = Integer.parseInt(f[2]);
                        } else if (f[0].equals("ack") && f[1].equals("n")) {
                            counters[Integer.parseInt(f[2])] = Long.parseLong(f[3]);
                            incrInFlight = -1;
                        } else if (f[0].endsWith("failed:") || f[0].equals("op")) {
                            throw new AssertionError("child: " + line + ", seed=" + seed);
                        }
                    }
                }
                for (int i = 0; i < 32; i++) {
                    final byte[] v = store.get(b("s" + i));
                    final String got = v == null ? null : new String(v, StandardCharsets.UTF_8);
                    final boolean ok = java.util.Objects.equals(got, expected[i]) || (inFlight[i] != null
                        && (inFlight[i].equals("<deleted>") ? got == null : inFlight[i].equals(got)));
                    assertTrue(ok, "s" + i + ": got=" + got + ", acked=" + expected[i] + ", inFlight=" + inFlight[i]
                        + ", seed=" + seed);
                }
                for (int i = 0; i < 8; i++) {
                    final long got = Long.parseLong(new String(store.get(b("n" + i)), StandardCharsets.US_ASCII));
                    assertTrue(got == counters[i] || (i == incrInFlight && got == counters[i] + 1),
                        "n" + i + ": got=" + got + ", acked=" + counters[i] + ", inFlight=" + (i == incrInFlight)
                            + ", seed=" + seed);
                    counters[i] = got;
                }
            }
            store.repair();
            assertEquals(List.of(), store.check());
            // The killed children's registry slots are the arena's to reclaim.
            assertTrue(ArenaInternals.repair(store.arena(), 1_000_000_000L));
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(store.arena()));
        }
    }

    /**
     * Warm restart: a child writes items with no expiry, a relative one, an absolute one two seconds
     * ahead and a negative one, and exits; with no process attached the wall clock passes the
     * absolute time; the next opener finds the unexpired items and not the others.
     */
    @Test
    void aWarmRestartKeepsUnexpiredItemsAndExpiresByTheWallClock() throws Exception {
        final Path file = dir.resolve("w.store");
        create(file).close();
        // Relative times count from the nearest second (SharedStore.relativeBase), which only grows.
        final long started = SharedStore.relativeBase(System.currentTimeMillis());
        final long at = System.currentTimeMillis() / 1000 + 2;
        final long written;
        try (ChildJvm writer = StoreChild.start("expiring", file.toString(), Long.toString(at))) {
            assertEquals("written", writer.await("writ"), writer.output().toString());
            // The child wrote between these two instants (its start-up may take longer than 2 s here).
            written = SharedStore.relativeBase(System.currentTimeMillis());
            assertEquals(0, writer.waitFor(30));
        }
        while (System.currentTimeMillis() / 1000 < at) {
            Thread.sleep(50);
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertArrayEquals(b("1"), store.get(b("keep")));
            final StoreItem rel = store.gets(b("rel"));
            assertArrayEquals(b("2"), rel.value());
            assertTrue(rel.expires() >= started + 3600 && rel.expires() <= written + 3600,
                "relative expiry kept as a wall-clock time: expires=" + rel.expires() + ", written in [" + started
                    + ", " + written + "] + 3600");
            assertNull(store.get(b("abs")), "its time passed while no process had the store open");
            assertNull(store.get(b("gone")));
            // Expired items stay counted until reclaimed (by a write of their key, or the ring's tail).
            assertEquals(4L, store.stats().get("curr_items"));
            assertEquals(2L, store.stats().get("get_expired"));
            assertEquals(StoreResult.STORED, store.add(b("abs"), b("again"), 0, 0), "the key is free again");
            assertEquals(List.of(), store.check());
        }
    }

    @Test
    void itemsSurviveEveryProcessClosingAndAreThereForTheNext() throws Exception {
        final Path file = dir.resolve("r.store");
        create(file).close();
        try (ChildJvm writer = StoreChild.start("write", file.toString(), "500")) {
            writer.await("written");
            assertEquals(0, writer.waitFor(30));
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            for (int i = 0; i < 500; i++) {
                assertArrayEquals(Values.make(i), store.get(b("key" + i)), "key" + i);
            }
            assertEquals(500L, store.stats().get("curr_items"));
            assertEquals(List.of(), store.check());
        }
    }
}
