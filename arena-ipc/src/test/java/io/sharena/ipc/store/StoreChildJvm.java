package io.sharena.ipc.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real child JVM running {@link StoreChild} on this test's class path, stdout and stderr merged. */
final class StoreChildJvm implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final List<String> lines = new ArrayList<>();

    private StoreChildJvm(final Process process) {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    static StoreChildJvm start(final List<String> jvmOptions, final String... args) throws IOException {
        final List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
            "-ea", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), StoreChild.class.getName()));
        command.addAll(List.of(args));
        return new StoreChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    static StoreChildJvm start(final String... args) throws IOException {
        return start(List.of(), args);
    }

    /** @return the first line starting with {@code prefix} */
    String await(final String prefix) throws IOException {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            lines.add(line);
            if (line.startsWith(prefix)) {
                return line;
            }
        }
        throw new IOException("child ended before printing '" + prefix + "'; output: " + lines);
    }

    void kill9() throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-9", Long.toString(process.pid())).start().waitFor();
    }

    /** Reads the rest of the output and waits for the exit. @return the exit status */
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
