package io.sharena.bench;

import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.util.regex.Pattern;

/** The {@code main} every JMH benchmark class of this package shares. */
final class BenchmarkMain {
    private BenchmarkMain() {
    }

    /**
     * Runs {@code benchmark} with its annotated defaults plus {@code -prof gc}. Takes JMH's own
     * command line options ({@code -f 1 -i 3 -rf json ...}); any given there wins, and giving a
     * benchmark regex or a profiler replaces the default one.
     */
    static void run(final Class<?> benchmark, final String[] args)
        throws RunnerException, CommandLineOptionException, IOException {
        final CommandLineOptions cli = new CommandLineOptions(args);
        if (cli.shouldHelp()) {
            cli.showHelp();
            return;
        }
        final ChainedOptionsBuilder options = new OptionsBuilder().parent(cli);
        if (cli.getIncludes().isEmpty()) {
            options.include(Pattern.quote(benchmark.getName() + "."));
        }
        if (cli.getProfilers().isEmpty()) {
            options.addProfiler(GCProfiler.class);
        }
        new Runner(options.build()).run();
    }
}
