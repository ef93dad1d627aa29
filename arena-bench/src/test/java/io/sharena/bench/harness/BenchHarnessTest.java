package io.sharena.bench.harness;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness on tiny settings: every suite starts, measures both sides of every pair and writes
 * all three outputs. No timing is asserted: these are benchmarks, not tests.
 */
class BenchHarnessTest {
    @TempDir
    Path dir;

    @Test
    @Tag("long")
    void everySuiteRunsMeasuresBothSidesAndWritesJsonMarkdownAndCharts() throws Exception {
        System.setProperty("java.awt.headless", "true");
        final ByteArrayOutputStream progress = new ByteArrayOutputStream();
        final int exit = BenchHarness.run(new String[] {"--tiny", "--out", dir.toString()},
            new PrintStream(progress, true, StandardCharsets.UTF_8));
        final String out = progress.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, exit);
        for (final String suite : Suites.NAMES) {
            assertTrue(out.contains("suite ") && out.contains(": " + suite + " (tiny mode)"), "progress for " + suite);
            assertTrue(Files.size(dir.resolve("ratios-" + suite + ".png")) > 1000, "chart for " + suite);
        }
        assertTrue(Files.size(dir.resolve("latency-ipc.png")) > 1000);
        final String json = Files.readString(dir.resolve("results.json"));
        final String md = Files.readString(dir.resolve("results.md"));
        // Every pair of every suite has a row in both outputs, with both sides measured (> 0).
        final Matcher medians = Pattern.compile("\"median\": ([0-9.]+)").matcher(json);
        int sides = 0;
        while (medians.find()) {
            assertTrue(Double.parseDouble(medians.group(1)) > 0, "a side measured nothing: " + medians.group());
            sides++;
        }
        final long rows = md.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| suite")).count();
        assertEquals(rows * 2, sides, "two sides per row");
        for (final String suite : Suites.NAMES) {
            assertTrue(md.contains("| " + suite + " |"), "rows for " + suite);
        }
        for (final String pair : List.of("getLong by pointer", "1-page alloc+free vs mmap", "tryLock+unlock",
            "100-byte offer+poll", "cross-process round trip, median", "1 MiB zero-copy", "handed over by a shared flag",
            "vs its hand-over floor", "2 processes vs 1",
            "get hit into a buffer vs ConcurrentHashMap", "set vs Chronicle Map put", "hit ratio vs exact LRU")) {
            assertTrue(md.contains(pair), "row " + pair);
        }
        assertTrue(json.contains("\"machine\": ") && json.contains("\"jvm\": ") && json.contains("\"runs\": "));
    }

    @Test
    void badArgumentsAreRefusedClearly() {
        final PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals("unknown suite or option: nope (suites: pointers, alloc, lock, ipc, store, server)",
            assertThrows(IllegalArgumentException.class, () -> BenchHarness.run(new String[] {"nope"}, sink))
                .getMessage());
        assertEquals("--out needs a directory",
            assertThrows(IllegalArgumentException.class, () -> BenchHarness.run(new String[] {"--out"}, sink))
                .getMessage());
    }

    /**
     * An --out that is a file, or a directory nothing can be written to, is refused before any suite
     * runs, in one line: the file ended in an uncaught exception, and an unwritable directory failed
     * only after every suite had run, losing the results.
     */
    @Test
    void anUnusableOutIsRefusedBeforeAnythingRuns() throws Exception {
        final Path readme = Files.writeString(dir.resolve("README.md"), "# notes\n");
        final ByteArrayOutputStream progress = new ByteArrayOutputStream();
        final ByteArrayOutputStream errors = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(progress, true, StandardCharsets.UTF_8);
        final PrintStream err = new PrintStream(errors, true, StandardCharsets.UTF_8);
        assertEquals(2, BenchHarness.commandLine(new String[] {"pointers", "--tiny", "--out", readme.toString()}, out, err));
        assertEquals("arena bench: --out " + readme + ": exists and is not a directory (the results are written to a"
            + " directory: give a new or an existing one)\n", errors.toString(StandardCharsets.UTF_8));
        assertEquals("# notes\n", Files.readString(readme));
        errors.reset();
        // /proc/self: a directory in which no file can be made, root or not.
        assertEquals(3, BenchHarness.commandLine(new String[] {"pointers", "--tiny", "--out", "/proc/self"}, out, err));
        final String e = errors.toString(StandardCharsets.UTF_8);
        assertTrue(e.startsWith("arena bench: --out /proc/self: cannot write the results there: "), e);
        assertTrue(e.endsWith("; nothing was run\n") && e.indexOf('\n') == e.length() - 1, e);
        assertEquals("", progress.toString(StandardCharsets.UTF_8), "no suite started");
    }
}
