package io.sharena.server;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A real memcached (Debian's /usr/bin/memcached) on a free loopback port, for side-by-side tests. */
final class Memcached implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/memcached");

    final Process process;
    final int port;

    private Memcached(final Process process, final int port) {
        this.process = process;
        this.port = port;
    }

    /** Starts one, or skips the test (with the reason) when memcached is not installed. */
    static Memcached start(final String... extra) throws IOException, InterruptedException {
        Assumptions.assumeTrue(Files.isExecutable(BINARY),
            "memcached is not installed at /usr/bin/memcached (apt-get install memcached): side-by-side test skipped");
        final int port = freePort();
        final List<String> cmd = new ArrayList<>(List.of(BINARY.toString(), "-p", Integer.toString(port), "-U", "0",
            "-l", "127.0.0.1", "-m", "64", "-t", "2"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "root")); // memcached refuses to run as root without it
        }
        cmd.addAll(List.of(extra));
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return new Memcached(p, port);
            } catch (final IOException e) {
                if (!p.isAlive()) {
                    throw new IOException("memcached exited at start: status=" + p.exitValue());
                }
                Thread.sleep(20);
            }
        }
        p.destroyForcibly();
        throw new IOException("memcached did not listen within 10 s: port=" + port);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
