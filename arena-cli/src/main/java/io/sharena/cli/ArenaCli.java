package io.sharena.cli;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFaultException;
import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaFullException;
import io.sharena.core.ArenaInUseException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.Callable;

/**
 * Entry point of {@code ./arena}. Every failure is one line on stderr, {@code arena: <message>},
 * with an exit status that says which kind it was (listed in {@code --help}); no JDK exception's
 * raw message reaches the user without its type, and no stack trace unless {@code ARENA_DEBUG} is set.
 */
@Command(name = "arena", mixinStandardHelpOptions = true, version = "sharena 0.1.0",
    description = "A shared-memory arena for JVM processes.",
    subcommands = {CreateCommand.class, StatCommand.class, CheckCommand.class, DemoCommand.class, StressCommand.class,
        DumpCommand.class, DeleteCommand.class, ServeCommand.class},
    exitCodeListHeading = "%nExit status (every command):%n",
    exitCodeList = {
        "  0:success (check: consistent)",
        "  1:check found violations (listed one per line), or a run failed",
        "  2:usage: unknown command or option, or a bad argument value",
        "  3:file: no such file, file exists, access denied, or a system call failed",
        "  4:format: not a valid arena (not a regular file, no valid header, truncated, other format)",
        "  5:fault: the arena file was cut short while mapped (check --repair restores it), or a strict access faulted",
        "  6:corrupted: arena metadata found corrupted during use (check --repair rebuilds it)",
        "  7:busy: a lock could not be taken in time, or live processes hold the file (delete, create --replace, stress)",
        "  8:full: no room in the arena for what the command must make (a larger --size or --memory)",
        " 70:internal error: a bug (the message names the exception; ARENA_DEBUG=1 prints its stack trace)",
        "130:serve ended by SIGINT, after its clean close (128 + 2, as shells report it)",
        "143:serve ended by SIGTERM, after its clean close (128 + 15)"},
    footer = {"", "Also (launcher): ./arena bench [SUITE...] [--quick] [--out DIR] [--update-readme]   the benchmark harness",
        "                 ./arena jmh [JMH options]   JMH itself on the benchmark jar",
        "                 ./arena test   the test suite",
        "                 ./arena test-long   the long campaigns (the harness on every suite, every crash point in stress workers)"})
public final class ArenaCli implements Callable<Integer> {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_FILE = 3;
    static final int EXIT_FORMAT = 4;
    static final int EXIT_FAULT = 5;
    static final int EXIT_CORRUPTED = 6;
    static final int EXIT_BUSY = 7;
    static final int EXIT_FULL = 8;
    static final int EXIT_INTERNAL = 70;

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
                err.println("arena: " + oneLine(ex.getMessage()));
            }
            err.println("Try 'arena " + (ex.getCommandLine() == cli ? "" : ex.getCommandLine().getCommandName() + " ")
                + "--help'.");
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> report(ex, commandLine.getErr()));
        try {
            return cli.execute(args);
        } catch (final Error e) {
            // picocli hands only Exceptions to the handler; an Error (the JVM's report of a fault on
            // the mapping, above all) would otherwise end the process with a stack trace.
            final PrintWriter err = cli.getErr();
            final int status = report(e, err);
            err.flush();
            return status;
        }
    }

    /** Prints {@code e} as one line and returns the exit status of its kind. */
    static int report(final Throwable e, final PrintWriter err) {
        err.println("arena: " + describe(e));
        final int status = exitStatus(e);
        if (status == EXIT_INTERNAL && System.getenv("ARENA_DEBUG") != null) {
            e.printStackTrace(err);
        }
        return status;
    }

    /** @return the exit status for a failure of {@code e}'s kind */
    static int exitStatus(final Throwable e) {
        return switch (e) {
            case ArenaFormatException f -> EXIT_FORMAT;
            case ArenaFaultException f -> EXIT_FAULT;
            case ArenaCorruptedException c -> EXIT_CORRUPTED;
            case ArenaBusyException b -> EXIT_BUSY;
            case ArenaInUseException u -> EXIT_BUSY;
            case ArenaFullException f -> EXIT_FULL;
            case IllegalArgumentException i -> EXIT_USAGE;
            case UncheckedIOException u -> exitStatus(u.getCause());
            case IOException i -> EXIT_FILE;
            case InternalError i when isMappingFault(i) -> EXIT_FAULT;
            default -> EXIT_INTERNAL;
        };
    }

    /** @return {@code e} as one line: the message of a documented kind, else its type and message */
    static String describe(final Throwable e) {
        return oneLine(switch (e) {
            case ArenaFormatException f -> "not a valid arena: " + f.getMessage() + " (field " + f.field() + ")";
            case ArenaFaultException f -> f.getMessage();
            case ArenaCorruptedException c -> c.getMessage() + "; 'arena check' names the damage, 'check --repair' repairs what it can";
            case ArenaBusyException b -> b.getMessage();
            case ArenaFullException f -> f.getMessage();
            case NoSuchFileException f -> "no such file: " + f.getFile();
            case FileAlreadyExistsException f when f.getReason() != null -> f.getFile() + ": " + f.getReason();
            case FileAlreadyExistsException f -> "file exists: " + f.getFile();
            case AccessDeniedException f -> f.getFile() + ": " + (f.getReason() == null ? "access denied" : f.getReason());
            case UncheckedIOException u -> describe(u.getCause());
            case IllegalArgumentException i when i.getMessage() != null -> i.getMessage();
            // A bind that failed: the server names the address in the message.
            case java.net.BindException b when b.getMessage() != null -> b.getMessage();
            // sharena's own I/O failures (a system call that failed, a full registry) carry
            // one-line name=value messages; the JDK's are named by their type.
            case IOException i when i.getMessage() != null && (i.getClass() == IOException.class
                || i.getClass().getName().startsWith("io.sharena.")) -> i.getMessage();
            case IOException i -> "I/O error (" + i.getClass().getSimpleName() + ")"
                + (i.getMessage() == null ? "" : ": " + i.getMessage());
            case InternalError i when isMappingFault(i) -> "fault on the arena mapping: the file was probably cut short"
                + " while mapped (check --repair restores its size)";
            default -> "unexpected " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                + " (a bug, or damage that check does not detect yet: try 'arena check'; ARENA_DEBUG=1 for the stack trace)";
        });
    }

    private static boolean isMappingFault(final InternalError e) {
        return e.getMessage() != null && e.getMessage().contains("unsafe memory access");
    }

    private static String oneLine(final String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }

    /** No command given: the usage, on standard error, and the usage status. */
    @Override
    public Integer call() {
        final PrintWriter err = spec.commandLine().getErr();
        err.println("arena: no command given");
        spec.commandLine().usage(err);
        err.flush();
        return EXIT_USAGE;
    }
}
