package io.sharena.bench.harness;

import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Runs one suite's JMH pairs in one JMH invocation (both sides of every pair in the same run, forks
 * as their annotations say, JVM flags included), with {@code -prof gc}, and turns the results into
 * rows. Each benchmark's figure is the median of all its measurement iterations over all forks.
 */
final class JmhSuiteRunner {
    private JmhSuiteRunner() {
    }

    static List<Row> run(final Suite suite, final Mode mode, final PrintStream progress) throws RunnerException {
        final Set<String> methods = new LinkedHashSet<>();
        for (final Suite.JmhPair p : suite.pairs()) {
            methods.add(p.sharena());
            methods.add(p.baseline());
        }
        final String regex = "^" + Pattern.quote(suite.jmhClass().getName()) + "\\.("
            + String.join("|", methods) + ")$";
        final ChainedOptionsBuilder options = new OptionsBuilder().include(regex)
            .forks(mode.forks())
            .warmupIterations(mode.warmupIterations()).warmupTime(TimeValue.milliseconds(mode.warmupMillis()))
            .measurementIterations(mode.iterations()).measurementTime(TimeValue.milliseconds(mode.millis()))
            .addProfiler(GCProfiler.class)
            .shouldFailOnError(true);
        if (!mode.allParams()) {
            suite.params().forEach(options::param);
        }
        final int paramCombos = mode.allParams() ? Math.max(1, suite.params().size() * 2) : 1;
        final int total = methods.size() * paramCombos;
        final Collection<RunResult> results = new Runner(options.build(),
            new ProgressFormat(progress, suite.name(), total, mode.benchmarkMillis())).run();
        final Map<String, Figure> figures = new TreeMap<>();
        for (final RunResult rr : results) {
            final String method = rr.getParams().getBenchmark().substring(rr.getParams().getBenchmark().lastIndexOf('.') + 1);
            final String key = method + paramSuffix(rr);
            final List<Double> scores = new ArrayList<>();
            for (final BenchmarkResult br : rr.getBenchmarkResults()) {
                for (final IterationResult ir : br.getIterationResults()) {
                    scores.add(ir.getPrimaryResult().getScore());
                }
            }
            final double[] s = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            final Result<?> gc = rr.getSecondaryResults().get("gc.alloc.rate.norm");
            figures.put(key, new Figure(key, rr.getPrimaryResult().getScoreUnit(), median(s), s[0], s[s.length - 1],
                s.length, gc == null ? Double.NaN : gc.getScore()));
        }
        final List<Row> rows = new ArrayList<>();
        for (final String suffix : suffixes(figures)) {
            for (final Suite.JmhPair p : suite.pairs()) {
                final Figure a = figures.get(p.sharena() + suffix);
                final Figure b = figures.get(p.baseline() + suffix);
                if (a == null || b == null) {
                    throw new IllegalStateException("a side of a pair was not measured: suite=" + suite.name()
                        + ", sharena=" + p.sharena() + suffix + ", baseline=" + p.baseline() + suffix);
                }
                rows.add(new Row(suite.name(), p.label() + suffix, a, b, p.target()));
            }
        }
        return rows;
    }

    private static String paramSuffix(final RunResult rr) {
        final Collection<String> keys = rr.getParams().getParamsKeys();
        if (keys.isEmpty()) {
            return "";
        }
        return " " + keys.stream().map(k -> k + "=" + rr.getParams().getParam(k)).toList();
    }

    private static Set<String> suffixes(final Map<String, Figure> figures) {
        final Set<String> out = new LinkedHashSet<>();
        for (final String key : figures.keySet()) {
            final int space = key.indexOf(' ');
            out.add(space < 0 ? "" : key.substring(space));
        }
        return out;
    }

    static double median(final double[] sorted) {
        final double[] v = sorted.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
