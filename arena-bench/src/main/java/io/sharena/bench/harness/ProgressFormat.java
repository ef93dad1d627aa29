package io.sharena.bench.harness;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.format.OutputFormat;

import java.io.PrintStream;
import java.util.Collection;

/**
 * JMH's output, shortened to one progress line per benchmark: which suite, which benchmark, how
 * many are left and about how long that takes.
 */
final class ProgressFormat implements OutputFormat {
    private final PrintStream out;
    private final String suite;
    private final int total;
    private final long millisEach;
    private int done;

    ProgressFormat(final PrintStream out, final String suite, final int total, final long millisEach) {
        this.out = out;
        this.suite = suite;
        this.total = total;
        this.millisEach = millisEach;
    }

    @Override
    public void startBenchmark(final BenchmarkParams params) {
        final String name = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        final String p = params.getParamsKeys().isEmpty() ? "" : " " + params.getParamsKeys().stream()
            .map(k -> k + "=" + params.getParam(k)).toList();
        out.printf("  [%s %d/%d] %s%s (about %d s left in this suite)%n", suite, done + 1, total, name, p,
            (total - done) * millisEach / 1000);
        out.flush();
    }

    @Override
    public void endBenchmark(final BenchmarkResult result) {
        done++;
    }

    @Override
    public void iteration(final BenchmarkParams benchParams, final IterationParams params, final int iteration) {
    }

    @Override
    public void iterationResult(final BenchmarkParams benchParams, final IterationParams params, final int iteration,
                                final IterationResult data) {
    }

    @Override
    public void startRun() {
    }

    @Override
    public void endRun(final Collection<RunResult> result) {
    }

    @Override
    public void print(final String s) {
    }

    @Override
    public void println(final String s) {
        // JMH's own warnings and errors start with these; the rest is its verbose report.
        if (s.startsWith("<failure>") || s.contains("Exception") || s.startsWith("WARNING")) {
            out.println("  jmh: " + s);
        }
    }

    @Override
    public void flush() {
        out.flush();
    }

    @Override
    public void close() {
    }

    @Override
    public void verbosePrintln(final String s) {
    }

    @Override
    public void write(final int b) {
    }

    @Override
    public void write(final byte[] b) {
    }
}
