package io.sharena.cli;

import io.sharena.core.ArenaFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/** Entry point of {@code ./arena}. */
@Command(name = "arena", mixinStandardHelpOptions = true, version = "sharena 0.1.0",
    description = "A shared-memory arena for JVM processes.",
    subcommands = {CreateCommand.class, StatCommand.class, CheckCommand.class, DemoCommand.class, StressCommand.class,
        DeleteCommand.class},
    footer = {"", "Also (launcher): ./arena bench [SUITE...] [--quick] [--out DIR] [--update-readme]   the benchmark harness",
        "                 ./arena jmh [JMH options]   JMH itself on the benchmark jar",
        "                 ./arena test   the test suite"})
public final class ArenaCli implements Runnable {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(final String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status; for tests and the launcher. */
    public static int run(final String... args) {
        final CommandLine cli = new CommandLine(new ArenaCli());
        cli.setParameterExceptionHandler((ex, arguments) -> {
            final PrintWriter err = ex.getCommandLine().getErr();
            if (ex instanceof CommandLine.UnmatchedArgumentException u && ex.getCommandLine() == cli
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().getFirst().startsWith("-")) {
                err.println("arena: unknown command '" + u.getUnmatched().getFirst() + "'");
            } else {
                err.println("arena: " + ex.getMessage());
            }
            err.println("Try 'arena " + (ex.getCommandLine() == cli ? "" : ex.getCommandLine().getCommandName() + " ")
                + "--help'.");
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("arena: " + describe(ex));
            if (isUserError(ex)) {
                return EXIT_FAILURE;
            }
            ex.printStackTrace(commandLine.getErr());
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }

    private static boolean isUserError(final Exception e) {
        return e instanceof IllegalArgumentException || e instanceof IOException;
    }

    static String describe(final Exception e) {
        return switch (e) {
            case ArenaFormatException f -> "not a valid arena: " + f.getMessage() + " (field " + f.field() + ")";
            case NoSuchFileException f -> "no such file: " + f.getFile();
            case FileAlreadyExistsException f -> "file exists: " + f.getFile();
            case AccessDeniedException f -> f.getFile() + ": " + (f.getReason() == null ? "access denied" : f.getReason());
            default -> e.getMessage() == null ? e.toString() : e.getMessage();
        };
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
