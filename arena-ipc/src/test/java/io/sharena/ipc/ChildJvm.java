package io.sharena.ipc;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real child JVM running {@link IpcChild} on this test's class path. */
final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final Writer in;
    private final List<String> lines = new ArrayList<>();

    private ChildJvm(final Process process) {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    }

    static ChildJvm start(final String... args) throws IOException {
        return start(List.of(), args);
    }

    /** Starts a child with extra JVM options first ({@code -Dsharena.crashpoint=...}, say). */
    static ChildJvm start(final List<String> jvmOptions, final String... args) throws IOException {
        final List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
            "-ea", "-Xmx256m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), IpcChild.class.getName()));
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    String await(final String prefix) throws IOException {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            lines.add(line);
            if (line.startsWith(prefix)) {
                return line;
            }
        }
        throw new IOException("child ended before printing '" + prefix + "'; output: " + lines);
    }

    void send(final String line) throws IOException {
        in.write(line + "\n");
        in.flush();
    }

    void kill9() throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-9", Long.toString(process.pid())).start().waitFor();
    }

    long pid() {
        return process.pid();
    }

    int waitFor(final long seconds) throws IOException, InterruptedException {
        try {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
        } catch (final IOException closed) {
            // gone
        }
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("child did not exit in " + seconds + " s; output: " + lines);
        }
        return process.exitValue();
    }

    List<String> output() {
        return lines;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
