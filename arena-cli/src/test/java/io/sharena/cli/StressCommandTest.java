package io.sharena.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The short crash campaigns: at least 5 SIGKILLs of page workers, then a clean check; and the
 * store's, workers killed in the middle of random store operations, every key then verified.
 */
class StressCommandTest {
    private static final Pattern STORE_LAST = Pattern.compile(
        "stress: kills=(\\d+) ops=(\\d+) violations=(\\d+) torn=(\\d+) lost=(\\d+) leaked=(\\d+)");
    private static final Pattern LAST = Pattern.compile(
        "stress: kills=(\\d+) ops=(\\d+) recoveries=(\\d+) violations=(\\d+) double_handed=(\\d+) leaked=(\\d+)");

    @TempDir
    Path dir;

    /** Runs the command, echoes what it printed and returns it; {@code exit[0]} gets its status. */
    private static String run(final int[] exit, final String... args) {
        final PrintStream saved = System.out;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            exit[0] = ArenaCli.run(args);
        } finally {
            System.setOut(saved);
        }
        final String text = out.toString(StandardCharsets.UTF_8);
        System.out.println(text);
        return text;
    }

    @Test
    void killedWorkersLeaveAConsistentArena() {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final int[] exit = new int[1];
        final String text = run(exit, "stress", dir.resolve("s.arena").toString(), "--processes", "3", "--seconds", "14",
            "--kill-every", "250", "--size", "8M", "--seed", Long.toString(seed));
        final String[] lines = text.strip().split("\n");
        final Matcher m = LAST.matcher(lines[lines.length - 1]);
        assertTrue(m.matches(), "last line: " + lines[lines.length - 1]);
        assertTrue(Long.parseLong(m.group(1)) >= 5, "kills: " + m.group(1));
        // A floor that shows the workers worked, low enough for a loaded machine (832 ops at load 6.7).
        assertTrue(Long.parseLong(m.group(2)) > 200, "ops: " + m.group(2));
        assertTrue(Long.parseLong(m.group(3)) >= 1, "recoveries: " + m.group(3));
        assertEquals("0", m.group(4), "violations; seed=" + seed + "\n" + text);
        assertEquals("0", m.group(5), "double handed; seed=" + seed);
        assertEquals("0", m.group(6), "leaked; seed=" + seed);
        assertEquals(0, exit[0]);

        // Again on the file the run made (which --help says stress takes): the pages the first run's
        // killed workers left are that run's, not leaks of this one (it reported each as leaked).
        final String again = run(exit, "stress", dir.resolve("s.arena").toString(), "--processes", "2", "--seconds", "5",
            "--kill-every", "400", "--seed", Long.toString(seed + 1));
        final String[] againLines = again.strip().split("\n");
        final Matcher m2 = LAST.matcher(againLines[againLines.length - 1]);
        assertTrue(m2.matches(), "last line: " + againLines[againLines.length - 1]);
        assertEquals("0", m2.group(4), "violations, second run; seed=" + seed + "\n" + again);
        assertEquals("0", m2.group(5), "double handed, second run");
        assertEquals("0", m2.group(6), "leaked, second run\n" + again);
        assertEquals(0, exit[0]);
    }

    @Test
    void killedStoreWorkersLoseNoAcknowledgedWrite() {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final int[] exit = new int[1];
        final String text = run(exit, "stress", dir.resolve("s.store").toString(), "--store", "--processes", "3",
            "--seconds", "12", "--kill-every", "300", "--memory", "16M", "--keys", "16", "--seed", Long.toString(seed));
        final String[] lines = text.strip().split("\n");
        final Matcher m = STORE_LAST.matcher(lines[lines.length - 1]);
        assertTrue(m.matches(), "last line: " + lines[lines.length - 1]);
        // Kills land only on workers under way, so each one interrupted store operations; how many
        // there are depends on how fast this machine starts JVMs (seconds, when it is loaded).
        assertTrue(Long.parseLong(m.group(1)) >= 1, "kills: " + m.group(1));
        assertTrue(Long.parseLong(m.group(2)) > 100, "ops: " + m.group(2));
        assertEquals("0", m.group(3), "violations; seed=" + seed + "\n" + text);
        assertEquals("0", m.group(4), "torn; seed=" + seed);
        assertEquals("0", m.group(5), "lost; seed=" + seed);
        assertEquals("0", m.group(6), "leaked; seed=" + seed);
        assertTrue(text.contains("stress: store curr_items="), text);
        assertTrue(text.contains(" evictions=0 "), text);
        assertEquals(0, exit[0]);

        // Again on the store the run made: its dead records, which fill the ring, take no lane's room
        // (the second run was refused: "store too small for 3 lane(s)").
        final String again = run(exit, "stress", dir.resolve("s.store").toString(), "--store", "--processes", "3",
            "--seconds", "5", "--kill-every", "400", "--keys", "16", "--seed", Long.toString(seed + 1));
        final String[] againLines = again.strip().split("\n");
        final Matcher m2 = STORE_LAST.matcher(againLines[againLines.length - 1]);
        assertTrue(m2.matches(), "last line: " + againLines[againLines.length - 1]);
        for (int g = 3; g <= 6; g++) {
            assertEquals("0", m2.group(g), "second run, group " + g + "\n" + again);
        }
        assertEquals(0, exit[0]);
    }

    /**
     * The stress parent killed with SIGKILL: its workers end within seconds, and the file is then
     * repaired to a clean check. Found by a kill probe: the workers ran on unwatched until their
     * deadline (11 to 18 s), and a check --repair run meanwhile met their writes.
     */
    @Test
    void workersEndWhenTheStressParentIsKilled() throws Exception {
        final Path file = dir.resolve("orphans.arena");
        try (io.sharena.testing.ChildJvm parent = io.sharena.testing.ChildJvm.start(ArenaCli.class, java.util.List.of(),
            "stress", file.toString(), "--processes", "2", "--seconds", "60", "--kill-every", "100000", "--seed", "7")) {
            final long deadline = System.nanoTime() + 30_000_000_000L;
            java.util.List<ProcessHandle> workers = java.util.List.of();
            while (workers.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                workers = ProcessHandle.of(parent.pid()).map(h -> h.children().toList()).orElse(java.util.List.of());
            }
            assertEquals(2, workers.size(), "two workers running");
            Thread.sleep(1_000);
            parent.kill9();
            for (final ProcessHandle w : workers) {
                w.onExit().get(15, java.util.concurrent.TimeUnit.SECONDS);
                assertTrue(!w.isAlive(), "worker " + w.pid() + " ended with its parent");
            }
        }
        final int[] exit = new int[1];
        final String repaired = run(exit, "check", "--repair", file.toString());
        assertEquals(0, exit[0], repaired);
        assertTrue(repaired.endsWith("check: ok\n"), repaired);
    }
}
