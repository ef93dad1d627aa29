package io.sharena.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real child JVM running a test's {@code main} class on the current test class path, with
 * {@code -ea -Xmx256m -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED} and then the caller's JVM
 * options (a later {@code -Xmx} wins; {@code -Dsharena.crashpoint=...} arms a crash point). Its
 * stdout and stderr are one stream of lines: the test reads them ({@link #readLine}, {@link #await}),
 * writes lines to its stdin ({@link #send}), signals it ({@link #kill9}, {@link #stop}, {@link #cont})
 * and waits for its exit ({@link #waitFor}). Every line it printed stays in {@link #output} for
 * assertions and failure messages.
 *
 * <p>A daemon thread reads the output as it comes, so a child never blocks on a full pipe, and every
 * wait is bounded: a child that is silent, stuck or slow to exit fails the test with its output
 * instead of hanging it. {@link #close} kills the child with SIGKILL and waits for it to be gone.
 * One test thread drives a child; only {@link #output} may be called from any thread.
 */
public final class ChildJvm implements AutoCloseable {
    /** How long {@link #readLine} and {@link #await} wait for the line they want, in seconds. */
    public static final long LINE_TIMEOUT_SECONDS = 120;

    private static final List<String> JVM_OPTIONS =
        List.of("-ea", "-Xmx256m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED");
    private static final long EXIT_TIMEOUT_SECONDS = 30;

    /** Queued after the last line; compared by identity, so no line the child prints can equal it. */
    private static final String END = new String("<end of output>");

    private final Process process;
    private final String name;
    private final Writer in;
    private final List<String> lines = new ArrayList<>();
    private final BlockingQueue<String> unread = new LinkedBlockingQueue<>();
    private final Thread reader;
    private boolean ended;

    private ChildJvm(final Process process, final String mainClass) {
        this.process = process;
        this.name = mainClass + " pid=" + process.pid();
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.reader = Thread.ofPlatform().daemon().name("child-output-" + process.pid()).unstarted(this::pump);
    }

    /** Starts {@code mainClass} with {@code args}, after the fixed JVM options and then {@code jvmOptions}. */
    public static ChildJvm start(final Class<?> mainClass, final List<String> jvmOptions, final String... args)
        throws IOException {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass.getName()));
        command.addAll(List.of(args));
        final ChildJvm child = new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start(),
            mainClass.getSimpleName());
        child.reader.start();
        return child;
    }

    private void pump() {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                synchronized (lines) {
                    lines.add(line);
                }
                unread.add(line);
            }
        } catch (final IOException closed) {
            // close() destroyed the process and closed the pipe under this thread: the output ends here
        } finally {
            unread.add(END);
        }
    }

    /**
     * @return the next line the child prints, or null once its output has ended
     * @throws IOException if no line comes within {@link #LINE_TIMEOUT_SECONDS}
     */
    public String readLine() throws IOException {
        final String line = next(System.nanoTime() + TimeUnit.SECONDS.toNanos(LINE_TIMEOUT_SECONDS));
        if (line == null) {
            throw new IOException("child " + name + " printed no line in " + LINE_TIMEOUT_SECONDS + " s; output: "
                + output());
        }
        return line == END ? null : line;
    }

    /**
     * Reads lines until one starts with {@code prefix}.
     *
     * @return that line
     * @throws IOException if the output ends first, or no such line comes within {@link #LINE_TIMEOUT_SECONDS}
     */
    public String await(final String prefix) throws IOException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LINE_TIMEOUT_SECONDS);
        for (String line = next(deadline); line != null; line = next(deadline)) {
            if (line == END) {
                throw new IOException("child " + name + " ended before printing '" + prefix + "'; output: " + output());
            }
            if (line.startsWith(prefix)) {
                return line;
            }
        }
        throw new IOException("child " + name + " did not print '" + prefix + "' in " + LINE_TIMEOUT_SECONDS
            + " s; output: " + output());
    }

    /** @return the next unread line, {@link #END} once the output has ended, null at the deadline */
    private String next(final long deadline) throws InterruptedIOException {
        if (ended) {
            return END;
        }
        final String line;
        try {
            line = unread.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading child " + name);
        }
        ended = line == END;
        return line;
    }

    /** Writes {@code line} and a newline to the child's stdin. */
    public void send(final String line) throws IOException {
        in.write(line + "\n");
        in.flush();
    }

    /**
     * Waits for the child to exit and for the rest of its output, which lands in {@link #output}.
     *
     * @return its exit status (137 after SIGKILL)
     * @throws IOException if it has not exited within {@code seconds}; it is killed then
     */
    public int waitFor(final long seconds) throws IOException, InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            close();
            throw new IOException("child " + name + " did not exit in " + seconds + " s; output: " + output());
        }
        // The pipe ends with the process, so this is short; bounded all the same, as the pipe is
        // shared with any process the child started.
        reader.join(TimeUnit.SECONDS.toMillis(EXIT_TIMEOUT_SECONDS));
        if (reader.isAlive()) {
            throw new IOException("child " + name + " exited with " + process.exitValue()
                + " but its output did not end in " + EXIT_TIMEOUT_SECONDS + " s; output: " + output());
        }
        return process.exitValue();
    }

    /** Sends SIGKILL, as {@code kill -9} does; nothing if the child has already exited. */
    public void kill9() throws IOException, InterruptedException {
        signal("KILL");
    }

    /** Sends SIGSTOP: the child stops where it is, holding whatever it holds, until {@link #cont}. */
    public void stop() throws IOException, InterruptedException {
        signal("STOP");
    }

    /**
     * Sends SIGCONT once the child has stopped: a stopped child runs on. A child stopping itself at
     * a crash point prints its line before it raises SIGSTOP, so a SIGCONT sent as soon as the line
     * is read could come first, be lost, and leave the child stopped for good.
     *
     * @throws IOException if the child has not stopped within {@value #EXIT_TIMEOUT_SECONDS} s
     */
    public void cont() throws IOException, InterruptedException {
        awaitStopped();
        signal("CONT");
    }

    /** Waits until the child's state in {@code /proc/PID/stat} is stopped, while it lives. */
    private void awaitStopped() throws IOException, InterruptedException {
        final Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(EXIT_TIMEOUT_SECONDS);
        while (process.isAlive()) {
            final String s;
            try {
                s = Files.readString(stat);
            } catch (final NoSuchFileException e) {
                return; // gone: signal() says so
            }
            final char state = s.charAt(s.lastIndexOf(')') + 2);
            if (state == 'T' || state == 't') {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("child " + name + " did not stop within " + EXIT_TIMEOUT_SECONDS
                    + " s (state " + state + "); output: " + output());
            }
            Thread.sleep(1);
        }
    }

    private void signal(final String signal) throws IOException, InterruptedException {
        // Checked first so that a pid the system may have reused after the child's exit is not signalled.
        if (!process.isAlive()) {
            if (signal.equals("KILL")) {
                return;
            }
            throw new IOException("cannot send SIG" + signal + " to child " + name + ": it exited with "
                + process.exitValue() + "; output: " + output());
        }
        final int status = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor();
        // A kill that lost the race with the child's own exit is no failure for SIGKILL.
        if (status != 0 && !(signal.equals("KILL") && !process.isAlive())) {
            throw new IOException("kill -" + signal + " " + process.pid() + " failed with status " + status);
        }
    }

    /** @return the child's process id */
    public long pid() {
        return process.pid();
    }

    /** @return a copy of every line the child has printed so far, read or not */
    public List<String> output() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    /** Kills the child with SIGKILL if it still runs, and waits for it to be gone. */
    @Override
    public void close() {
        process.destroyForcibly(); // SIGKILL on Linux; it also ends a stopped child
        try {
            if (!process.waitFor(EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("child " + name + " still runs " + EXIT_TIMEOUT_SECONDS
                    + " s after SIGKILL");
            }
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
