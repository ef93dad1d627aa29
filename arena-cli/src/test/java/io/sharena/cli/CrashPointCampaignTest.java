package io.sharena.cli;

import io.sharena.core.crash.CrashPoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every crash point, killed and stopped in a real worker JVM while other workers run, through
 * {@code arena stress --crash-point}: the arena then checks clean (no violation, nothing handed out
 * twice, nothing leaked).
 *
 * <p>This is the random-workload complement of the targeted per-point tests of each module
 * ({@code AllocCrashPointTest}, {@code AllocPausePointTest}, {@code LockPointTest},
 * {@code IpcCrashPointTest}, {@code StoreCrashTest}), whose scenarios are built to reach every point
 * and assert that they do. The stress workers do pages, heap objects, named roots and channel
 * messages, so some points (a registry full of dead processes, a lock holder dying while another
 * waits, the store's eviction) are not reached here; a run that did not reach its point is listed
 * as such and proves nothing, and only a run that reached it and left a violation fails the test.
 * The store's points run in {@code stress --store} workers, whose summary also counts torn and
 * lost values.
 *
 * <p>The points are found on the class path: every enum implementing {@link CrashPoint}. The
 * README's test command runs a seeded sample of {@value #SAMPLE} point/action pairs; the whole
 * campaign runs with {@code -Dsharena.campaign=all} (the second step of {@code .ci/run}). One point
 * alone: {@code -Dsharena.campaign=AllocPoint.DRAIN_LIST_TAKEN}, or from the command line
 * {@code ./arena stress FILE --crash-point AllocPoint.DRAIN_LIST_TAKEN --crash-action kill}.
 */
class CrashPointCampaignTest {
    private static final int SAMPLE = 4;
    private static final Pattern POINT = Pattern.compile("stress: crash_point=(\\S+) action=(\\S+) reached=(\\S+)");
    private static final Pattern LAST = Pattern.compile(
        "stress: kills=(\\d+) ops=(\\d+) recoveries=(\\d+) violations=(\\d+) double_handed=(\\d+) leaked=(\\d+)");
    /** The store stress's summary: violations, torn, lost and leaked are groups 3 to 6. */
    private static final Pattern STORE_LAST = Pattern.compile(
        "stress: kills=(\\d+) ops=(\\d+) violations=(\\d+) torn=(\\d+) lost=(\\d+) leaked=(\\d+)");

    @TempDir
    Path dir;

    /** @return the id of every constant of every {@link CrashPoint} enum on the class path, sorted */
    static List<String> allPoints() {
        final TreeSet<String> ids = new TreeSet<>();
        for (final String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            for (final String className : classNames(Path.of(entry))) {
                if (!className.endsWith("Point")) {
                    continue;
                }
                try {
                    final Class<?> c = Class.forName(className, false, CrashPointCampaignTest.class.getClassLoader());
                    if (c.isEnum() && CrashPoint.class.isAssignableFrom(c)) {
                        for (final Object constant : c.getEnumConstants()) {
                            ids.add(((CrashPoint) constant).id());
                        }
                    }
                } catch (final ClassNotFoundException | LinkageError e) {
                    // not loadable from here: not one of ours
                }
            }
        }
        return new ArrayList<>(ids);
    }

    private static List<String> classNames(final Path entry) {
        try {
            if (Files.isDirectory(entry)) {
                try (Stream<Path> files = Files.walk(entry)) {
                    return files.map(p -> entry.relativize(p).toString()).filter(n -> n.endsWith(".class"))
                        .map(n -> n.substring(0, n.length() - 6).replace(File.separatorChar, '.')).toList();
                }
            }
            if (entry.toString().endsWith(".jar") && Files.isRegularFile(entry)
                && entry.getFileName().toString().startsWith("arena-")) {
                try (JarFile jar = new JarFile(entry.toFile())) {
                    return jar.stream().map(e -> e.getName()).filter(n -> n.endsWith(".class"))
                        .map(n -> n.substring(0, n.length() - 6).replace('/', '.')).toList();
                }
            }
            return List.of();
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void everyPointLeavesAConsistentArena() throws IOException {
        final List<String> points = allPoints();
        System.out.println("crash points: " + points.size() + " " + points);
        assertFalse(points.isEmpty(), "no crash point enum on the class path");
        final List<String[]> runs = new ArrayList<>();
        for (final String p : points) {
            runs.add(new String[] {p, "kill"});
            runs.add(new String[] {p, "stop"});
        }
        final String which = System.getProperty("sharena.campaign", "sample");
        final long seed = Long.getLong("sharena.campaign.seed", System.nanoTime());
        System.out.println("campaign=" + which + " seed=" + seed);
        final List<String[]> chosen;
        if (which.equals("all")) {
            chosen = runs;
        } else if (which.equals("sample")) {
            final List<String[]> shuffled = new ArrayList<>(runs);
            Collections.shuffle(shuffled, new Random(seed));
            chosen = shuffled.subList(0, Math.min(SAMPLE, shuffled.size()));
        } else {
            assertTrue(points.contains(which), "no crash point " + which + " among " + points);
            chosen = List.of(new String[] {which, "kill"}, new String[] {which, "stop"});
        }
        final List<String> failures = new ArrayList<>();
        final List<String> unreached = new ArrayList<>();
        for (final String[] run : chosen) {
            final String result = runOne(run[0], run[1], seed);
            System.out.println(result);
            if (result.startsWith("unreached ")) {
                unreached.add(run[0] + " " + run[1]);
            } else if (!result.startsWith("ok ")) {
                failures.add(result);
            }
        }
        System.out.printf("crash-point campaign: %d runs, %d reached and clean, %d not reached, %d failed%n",
            chosen.size(), chosen.size() - unreached.size() - failures.size(), unreached.size(), failures.size());
        if (!unreached.isEmpty()) {
            System.out.println("not reached by the stress workload: " + unreached);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** @return "ok ...", "unreached ..." (clean, but the point was never met) or "FAILED ..." with the summary, for the log */
    private String runOne(final String point, final String action, final long seed) throws IOException {
        final boolean store = point.startsWith("StorePoint.");
        final Path file = dir.resolve(point.replace('.', '-') + "-" + action + ".arena");
        final PrintStream saved = System.out;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        final int exit;
        try {
            exit = store
                ? ArenaCli.run("stress", file.toString(), "--store", "--processes", "2", "--seconds", "4", "--memory",
                    "8M", "--keys", "16", "--seed", Long.toString(seed), "--crash-point", point, "--crash-action", action)
                : ArenaCli.run("stress", file.toString(), "--processes", "2", "--seconds", "4", "--size", "8M",
                    "--seed", Long.toString(seed), "--crash-point", point, "--crash-action", action);
        } finally {
            System.setOut(saved);
        }
        Files.deleteIfExists(file);
        final String text = out.toString(StandardCharsets.UTF_8).strip();
        final String[] lines = text.split("\n");
        final Matcher last = (store ? STORE_LAST : LAST).matcher(lines[lines.length - 1]);
        // The point line comes before the check's own lines (repairs made, violations, leaks).
        String pointLine = "";
        for (final String line : lines) {
            if (POINT.matcher(line).matches()) {
                pointLine = line;
            }
        }
        final Matcher reached = POINT.matcher(pointLine);
        final String summary = point + " " + action + ": " + pointLine + " | " + lines[lines.length - 1];
        final boolean clean = last.matches() && reached.matches() && (!store || last.group(3).equals("0"))
            && last.group(4).equals("0") && last.group(5).equals("0") && last.group(6).equals("0");
        if (clean && reached.group(3).equals("no")) {
            return "unreached " + summary;
        }
        final boolean ok = clean && exit == 0;
        return (ok ? "ok " : "FAILED ") + summary + (ok ? "" : "\n" + text);
    }
}
