package io.sharena.cli;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts another JVM running a main class of this module, the way this JVM was started: on the
 * module path with native access for the core module alone, or on the class path when that is
 * how we run (tests).
 */
final class JavaCommand {
    private JavaCommand() {
    }

    /** The exit status of a worker whose parent ended first ({@link #endWithParent}). */
    static final int PARENT_GONE = 75;

    /**
     * Ends this worker JVM, at once, as a kill would, when the process that started it ends (a
     * parent killed with SIGKILL included): a stress or demo worker left behind ran on unwatched for
     * seconds, holding the file open, and a {@code check --repair} run meanwhile met its writes. The
     * arena's crash safety covers a worker ended anywhere.
     */
    static void endWithParent() {
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit()
            .thenRun(() -> Runtime.getRuntime().halt(PARENT_GONE)));
    }

    /** A worker's body: what its {@code main} runs ({@link #runWorker}). */
    interface WorkerBody {
        void run(String[] args) throws Exception;
    }

    /**
     * Runs a worker JVM's {@code body}, ended with its parent ({@link #endWithParent}). A failure (a
     * damaged file the worker cannot open, say) ends it with one line on standard error and the exit
     * status of its kind, as every command ends ({@link ArenaCli#report}), not with a stack trace.
     */
    static void runWorker(final String[] args, final WorkerBody body) {
        endWithParent();
        try {
            body.run(args);
        } catch (final Exception | InternalError e) {
            System.exit(ArenaCli.report(e, new java.io.PrintWriter(System.err, true)));
        }
    }

    static Process start(final Class<?> main, final String... args) throws IOException {
        return start(List.of(), main, args);
    }

    /** As {@link #start(Class, String...)}, with extra JVM options ({@code -Dsharena.crashpoint=...}, say). */
    static Process start(final List<String> jvmOptions, final Class<?> main, final String... args) throws IOException {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("-XX:+UseSerialGC");
        command.add("-Xshare:auto");
        command.addAll(jvmOptions);
        final String modulePath = System.getProperty("jdk.module.path");
        if (main.getModule().isNamed() && modulePath != null) {
            command.addAll(List.of("--enable-native-access=io.sharena.core", "-p", modulePath,
                "-m", main.getModule().getName() + "/" + main.getName()));
        } else {
            command.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                main.getName()));
        }
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }
}
