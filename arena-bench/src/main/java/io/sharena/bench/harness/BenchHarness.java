package io.sharena.bench.harness;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code arena bench [SUITE...] [--quick] [--out DIR] [--update-readme]}: runs the chosen suites
 * ({@link Suites#NAMES}, all by default), each measurement a pair of sharena's operation and the
 * baseline a user would otherwise write, in the same JMH invocation, plus the multi-process
 * scenarios; writes {@code results.json}, {@code results.md} and PNG charts to DIR
 * ({@code bench-results} by default), prints the table, and with {@code --update-readme} rewrites
 * README's results section: all of it after a run of every suite, only the rows of the suites
 * that ran otherwise (each group of rows keeps the run line it came from), and copies the charts
 * of the suites that ran to {@code docs/charts}, where README shows them.
 */
public final class BenchHarness {
    /** Where {@code --update-readme} puts the charts README shows (relative to README's folder). */
    static final Path CHARTS = Path.of("docs", "charts");

    private BenchHarness() {
    }

    public static void main(final String[] args) throws Exception {
        System.exit(commandLine(args, System.out, System.err));
    }

    /**
     * {@link #run}, with a bad argument or a failed write as one line on {@code err}:
     * {@code arena bench: <what went wrong>}.
     *
     * @return the exit status: 0 done, 2 a bad argument (an unusable --out among them: nothing ran),
     * 3 an I/O error
     */
    static int commandLine(final String[] args, final PrintStream out, final PrintStream err) throws Exception {
        try {
            return run(args, out);
        } catch (final IllegalArgumentException e) {
            err.println("arena bench: " + e.getMessage());
            return 2;
        } catch (final IOException e) {
            err.println("arena bench: " + describe(e));
            return 3;
        }
    }

    /** @return an I/O failure as one line: its message, named by its type when the JDK's says only a path */
    static String describe(final IOException e) {
        final String m = e.getMessage() == null ? "" : e.getMessage().replace('\n', ' ');
        return e.getClass() == IOException.class ? m : e.getClass().getSimpleName() + ": " + m;
    }

    /** @return the exit status: 0 when every suite ran (targets met or not: that is in the table) */
    public static int run(final String[] args, final PrintStream out) throws Exception {
        final List<String> suites = new ArrayList<>();
        Mode mode = Mode.FULL;
        Path dir = Path.of("bench-results");
        boolean updateReadme = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> mode = Mode.QUICK;
                case "--tiny" -> mode = Mode.TINY;
                case "--update-readme" -> updateReadme = true;
                case "--out" -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--out needs a directory");
                    }
                    dir = Path.of(args[++i]);
                }
                case "-h", "--help" -> {
                    out.println("usage: arena bench [SUITE...] [--quick] [--out DIR] [--update-readme]");
                    out.println("suites: " + String.join(", ", Suites.NAMES) + " (default: all)");
                    return 0;
                }
                default -> {
                    if (args[i].startsWith("-") || !Suites.NAMES.contains(args[i])) {
                        throw new IllegalArgumentException("unknown suite or option: " + args[i] + " (suites: "
                            + String.join(", ", Suites.NAMES) + ")");
                    }
                    suites.add(args[i]);
                }
            }
        }
        if (suites.isEmpty()) {
            suites.addAll(Suites.NAMES);
        }
        checkOut(dir);
        if (updateReadme && !Files.isWritable(Path.of("README.md"))) {
            throw new IllegalArgumentException("--update-readme: no writable README.md in the working directory");
        }
        final long start = System.nanoTime();
        final List<Row> rows = new ArrayList<>();
        final List<Path> charts = new ArrayList<>();
        for (int s = 0; s < suites.size(); s++) {
            final Suite suite = Suites.byName(suites.get(s));
            out.printf("suite %d/%d: %s (%s mode)%n", s + 1, suites.size(), suite.name(), mode.name());
            if (!suite.pairs().isEmpty()) {
                rows.addAll(JmhSuiteRunner.run(suite, mode, out));
            }
            if (suite.scenario() != null) {
                out.printf("  [%s] multi-process scenarios (about %d s)%n", suite.name(), 6L * mode.seconds() + 10);
                final Suite.ScenarioResult r = suite.scenario().run(mode);
                rows.addAll(r.rows());
                if (!r.latencies().isEmpty()) {
                    charts.add(Reports.latencyChart(suite.name(), r.latencies(), dir));
                }
            }
        }
        final Map<String, String> about = about(mode, args);
        Files.writeString(dir.resolve("results.json"), Reports.json(rows, about));
        final String table = Reports.markdown(rows, about);
        Files.writeString(dir.resolve("results.md"), table);
        charts.addAll(Reports.ratioCharts(rows, dir));
        out.println();
        out.print(table);
        out.printf("%nwrote %s, %s and %d chart(s) in %d s%n", dir.resolve("results.json"), dir.resolve("results.md"),
            charts.size(), (System.nanoTime() - start) / 1_000_000_000L);
        if (updateReadme) {
            final Path readme = Path.of("README.md");
            // A run of some suites replaces their rows only; the other suites' rows and run line stay.
            Reports.updateReadme(readme, suites.containsAll(Suites.NAMES) ? table
                : Reports.mergeSection(Reports.readmeSection(readme), table, suites, Suites.NAMES));
            // The charts of the suites that ran replace theirs where README shows them; the other
            // suites' stay, as their rows do.
            Reports.publishCharts(charts, CHARTS);
            out.println("updated README.md and " + charts.size() + " chart(s) in " + CHARTS);
        }
        return 0;
    }

    /**
     * Makes sure the results can be written to {@code dir} before any suite runs (they are written
     * at the end, after minutes of measuring): an existing directory, or one that can be created,
     * in which a file can be created.
     *
     * @throws IllegalArgumentException if {@code dir} exists and is not a directory
     * @throws IOException              if it cannot be created or written to (the message says which)
     */
    static void checkOut(final Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--out " + dir + ": exists and is not a directory (the results are"
                + " written to a directory: give a new or an existing one)");
        }
        try {
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".bench-write-check-", ".tmp"));
        } catch (final IOException e) {
            throw new IOException("--out " + dir + ": cannot write the results there: " + describe(e)
                + "; nothing was run", e);
        }
    }

    private static Map<String, String> about(final Mode mode, final String[] args) throws IOException {
        final Map<String, String> about = new LinkedHashMap<>();
        about.put("command", ("./arena bench " + String.join(" ", args)).trim());
        about.put("mode", mode.name());
        about.put("date", Instant.now().toString());
        about.put("machine", machine());
        about.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        return about;
    }

    private static String machine() throws IOException {
        String cpu = "unknown CPU";
        final Path cpuinfo = Path.of("/proc/cpuinfo");
        if (Files.isReadable(cpuinfo)) {
            for (final String line : Files.readAllLines(cpuinfo)) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        }
        long memKb = 0;
        final Path meminfo = Path.of("/proc/meminfo");
        if (Files.isReadable(meminfo)) {
            for (final String line : Files.readAllLines(meminfo)) {
                if (line.startsWith("MemTotal:")) {
                    memKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        }
        return String.format("%s, %d cores, %d GiB, %s %s", cpu, Runtime.getRuntime().availableProcessors(),
            (memKb + (1 << 19)) >> 20, System.getProperty("os.name"), System.getProperty("os.version"));
    }
}
