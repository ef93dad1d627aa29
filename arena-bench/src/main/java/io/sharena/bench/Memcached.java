package io.sharena.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real memcached for the store's baselines: started on a free loopback port with a memory limit,
 * driven through its text protocol on one plain socket, stopped on close.
 */
final class Memcached implements AutoCloseable {
    /** Where Debian's package puts it; {@code -Dsharena.memcached=PATH} points elsewhere. */
    static final String DEFAULT_BINARY = "/usr/bin/memcached";

    private final Process process;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] line = new byte[4096];

    private Memcached(final Process process, final Socket socket) throws IOException {
        this.process = process;
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    static Path binary() {
        return Path.of(System.getProperty("sharena.memcached", DEFAULT_BINARY));
    }

    static boolean available() {
        return Files.isExecutable(binary());
    }

    /** Starts memcached with {@code -m megabytes} (its item memory), one worker thread. */
    static Memcached start(final int megabytes) throws IOException, InterruptedException {
        if (!available()) {
            throw new IOException("memcached not found: path=" + binary());
        }
        final int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        final List<String> cmd = new ArrayList<>(List.of(binary().toString(), "-l", "127.0.0.1", "-p",
            Integer.toString(port), "-U", "0", "-t", "1", "-c", "64", "-m", Integer.toString(megabytes)));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "root")); // memcached refuses to run as root without it
        }
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                final Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                s.setTcpNoDelay(true);
                return new Memcached(p, s);
            } catch (final IOException e) {
                if (!p.isAlive() || System.nanoTime() - deadline > 0) {
                    p.destroyForcibly();
                    throw new IOException("memcached did not start: port=" + port + ", alive=" + p.isAlive(), e);
                }
                Thread.sleep(20);
            }
        }
    }

    long pid() {
        return process.pid();
    }

    /** @return whether the key is there (its value is read and dropped) */
    boolean get(final byte[] key) throws IOException {
        out.write("get ".getBytes(StandardCharsets.US_ASCII));
        out.write(key);
        out.write('\r');
        out.write('\n');
        out.flush();
        boolean hit = false;
        while (true) {
            final int n = readLine();
            if (startsWith(n, "END")) {
                return hit;
            }
            if (!startsWith(n, "VALUE ")) {
                throw new IOException("memcached get: unexpected reply: " + new String(line, 0, n, StandardCharsets.US_ASCII));
            }
            final int len = Integer.parseInt(lastField(n));
            in.skipNBytes(len + 2L);
            hit = true;
        }
    }

    /** Stores without waiting for the reply ({@code noreply}); {@link #sync} waits for all of them. */
    void setNoReply(final byte[] key, final byte[] value) throws IOException {
        out.write("set ".getBytes(StandardCharsets.US_ASCII));
        out.write(key);
        out.write((" 0 0 " + value.length + " noreply\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(value);
        out.write('\r');
        out.write('\n');
    }

    /** Sends what is buffered and waits until memcached has processed it (one round trip behind it). */
    void sync() throws IOException {
        out.write("version\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        final int n = readLine();
        if (!startsWith(n, "VERSION")) {
            throw new IOException("memcached: unexpected reply: " + new String(line, 0, n, StandardCharsets.US_ASCII));
        }
    }

    /** @return memcached's {@code stats} */
    Map<String, String> stats() throws IOException {
        out.write("stats\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        final Map<String, String> s = new LinkedHashMap<>();
        while (true) {
            final int n = readLine();
            final String l = new String(line, 0, n, StandardCharsets.US_ASCII);
            if (l.equals("END")) {
                return s;
            }
            final String[] f = l.split(" ");
            if (f.length >= 3 && f[0].equals("STAT")) {
                s.put(f[1], f[2]);
            }
        }
    }

    /** @return the server process's resident set, bytes (from /proc) */
    long rssBytes() throws IOException {
        for (final String l : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for memcached: pid=" + process.pid());
    }

    private int readLine() throws IOException {
        int n = 0;
        while (true) {
            final int b = in.read();
            if (b < 0) {
                throw new IOException("memcached closed the connection");
            }
            if (b == '\n') {
                return n > 0 && line[n - 1] == '\r' ? n - 1 : n;
            }
            if (n < line.length) {
                line[n++] = (byte) b;
            }
        }
    }

    private boolean startsWith(final int n, final String prefix) {
        if (n < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (line[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private String lastField(final int n) {
        int i = n;
        while (i > 0 && line[i - 1] != ' ') {
            i--;
        }
        return new String(line, i, n - i, StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        try {
            socket.close();
        } finally {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (final InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
