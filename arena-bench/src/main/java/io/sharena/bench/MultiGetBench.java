package io.sharena.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Multi-key gets side by side with memcached: both servers hold the same items ({@value #ITEMS} in
 * the harness's full and quick modes; 16-byte keys, 100-byte values) in {@value #MEMORY_MIB} MiB, both pinned to the same CPU with
 * one worker thread, and one client process pinned to the other CPU sends {@value #KEYS_PER_GET}
 * uniformly random keys at a time, reading each whole reply before the next batch, in three shapes:
 * <ul>
 *   <li>{@link Shape#LINE}: one {@code get} line of all the keys, the path where
 *       {@code StoreReader.prefetch} starts the look-ups of a line's keys together;</li>
 *   <li>{@link Shape#PIPELINED}: one {@code get} line per key, all of them in one write, as a client
 *       that pipelines its requests without merging them sends them;</li>
 *   <li>{@link Shape#META}: the same with meta gets, {@code mg <key> v}.</li>
 * </ul>
 * In the last two, the server starts the look-ups of up to 16 lines' keys together.
 * Reported for each: keys answered per second, and the server's CPU time per key ({@code
 * /proc/PID/stat} utime + stime over the run); medians of three rounds that alternate between the
 * two servers.
 *
 * <p>{@code main()} runs the comparison and prints it; {@code main("client", PORT, ITEMS, SECONDS)}
 * is the client process ({@code "pipelined"} or {@code "meta"} in place of {@code "client"} sends
 * another shape, {@code "fill"} stores the items).
 */
public final class MultiGetBench {
    public static final int ITEMS = 1_000_000;
    public static final int KEYS_PER_GET = 100;
    static final int MEMORY_MIB = 512;
    private static final int ROUNDS = 3;

    /** How a batch of keys is asked for. */
    public enum Shape {
        /** One {@code get} line naming every key of the batch. */
        LINE("client"),
        /** One {@code get} line per key, the whole batch in one write. */
        PIPELINED("pipelined"),
        /** One {@code mg <key> v} line per key, the whole batch in one write. */
        META("meta");

        /** The client process's first argument for this shape. */
        final String command;

        Shape(final String command) {
            this.command = command;
        }
    }

    /**
     * Indexed [shape ordinal][0 = serve, 1 = memcached]; {@code note} says why nothing was measured,
     * else null.
     */
    public record Result(double[][] keysPerSecond, double[][] cpuMicrosPerKey, String note) {
    }

    private MultiGetBench() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length == 4 && (args[0].equals("fill") || shapeOf(args[0]) != null)) {
            final int port = Integer.parseInt(args[1]);
            final int items = Integer.parseInt(args[2]);
            if (args[0].equals("fill")) {
                fill(port, items);
            } else {
                System.out.println("keys " + run(port, items, Integer.parseInt(args[3]), shapeOf(args[0])));
            }
            return;
        }
        final Result r = measure(ITEMS, args.length > 0 ? Integer.parseInt(args[0]) : 3,
            Path.of(System.getProperty("java.io.tmpdir")));
        if (r.note() != null) {
            System.out.println(r.note());
        } else {
            for (final Shape shape : Shape.values()) {
                final int i = shape.ordinal();
                System.out.printf("%s%nserve:     %.0f keys/s, %.3f us CPU per key%nmemcached: %.0f keys/s, %.3f us CPU per key%n",
                    shape, r.keysPerSecond()[i][0], r.cpuMicrosPerKey()[i][0], r.keysPerSecond()[i][1],
                    r.cpuMicrosPerKey()[i][1]);
            }
        }
    }

    /** @return both servers' figures, or a result whose note says why they could not be measured */
    public static Result measure(final int items, final int seconds, final Path tmp) throws Exception {
        final String missing = ServerBench.ensureTools();
        if (missing != null) {
            return new Result(null, null, missing);
        }
        final Path store = tmp.resolve("multiget-bench-" + ProcessHandle.current().pid() + ".store");
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        final String cp = System.getProperty("java.class.path");
        final int cpus = Runtime.getRuntime().availableProcessors();
        final String serverCpu = Integer.toString(cpus - 1);
        final int[] ports = {ServerBench.freePort(), ServerBench.freePort()};
        final List<String> theirs = new ArrayList<>(List.of("taskset", "-c", serverCpu, "memcached", "-p",
            Integer.toString(ports[1]), "-U", "0", "-l", "127.0.0.1", "-m", Integer.toString(MEMORY_MIB), "-t", "1"));
        if ("root".equals(System.getProperty("user.name"))) {
            theirs.addAll(List.of("-u", "root"));
        }
        final Process[] servers = {
            new ProcessBuilder("taskset", "-c", serverCpu, java, "-XX:+UseSerialGC", ServerBench.SERVE_YOUNG,
                "--enable-native-access=ALL-UNNAMED",
                "-cp", cp, ServerBench.class.getName(), "serve", store.toString(), Integer.toString(ports[0]),
                Integer.toString(MEMORY_MIB)).redirectErrorStream(true).start(),
            new ProcessBuilder(theirs).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start(),
        };
        try {
            final Shape[] shapes = Shape.values();
            for (int s = 0; s < 2; s++) {
                ServerBench.awaitListening(ports[s], servers[s]);
                client(java, cp, "fill", ports[s], items, 0);
                // Warm-up: the JVM's compiler above all, on every request shape.
                for (final Shape shape : shapes) {
                    client(java, cp, shape.command, ports[s], items, 2);
                }
            }
            final double[][] keysPerSecond = new double[shapes.length][2];
            final double[][] cpuPerKey = new double[shapes.length][2];
            for (final Shape shape : shapes) {
                final double[][] rate = new double[2][ROUNDS];
                final double[][] cpu = new double[2][ROUNDS];
                for (int round = 0; round < ROUNDS; round++) {
                    for (int s = 0; s < 2; s++) {
                        final long ticks = ServerBench.cpuTicks(servers[s].pid());
                        final double rateNow = client(java, cp, shape.command, ports[s], items, seconds);
                        final long used = ServerBench.cpuTicks(servers[s].pid()) - ticks;
                        rate[s][round] = rateNow;
                        cpu[s][round] = used * 10_000.0 / (rateNow * seconds); // 100 ticks per second
                    }
                }
                for (int s = 0; s < 2; s++) {
                    keysPerSecond[shape.ordinal()][s] = median(rate[s]);
                    cpuPerKey[shape.ordinal()][s] = median(cpu[s]);
                }
            }
            return new Result(keysPerSecond, cpuPerKey, null);
        } finally {
            for (final Process p : servers) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(store);
        }
    }

    private static Shape shapeOf(final String command) {
        for (final Shape shape : Shape.values()) {
            if (shape.command.equals(command)) {
                return shape;
            }
        }
        return null;
    }

    private static double median(final double[] v) {
        final double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Runs the client process pinned to CPU 0; @return the keys per second it printed (0 for a fill) */
    private static double client(final String java, final String cp, final String what, final int port,
                                 final int items, final int seconds) throws Exception {
        // The output goes to a file, so that the bound below is what ends a client that hangs (a
        // fill waits for its MN with no socket timeout); reading a pipe to its end came first before.
        final Path log = Files.createTempFile("multiget-client-", ".out");
        final String out;
        try {
            final Process p = new ProcessBuilder("taskset", "-c", "0", java, "-XX:+UseSerialGC", "-cp", cp,
                MultiGetBench.class.getName(), what, Integer.toString(port), Integer.toString(items),
                Integer.toString(seconds)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.to(log.toFile()))
                .start();
            final boolean finished = p.waitFor(seconds + 120L, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            out = Files.readString(log, StandardCharsets.UTF_8);
            if (!finished || p.exitValue() != 0) {
                throw new IOException("multi-get client failed: what=" + what + ", port=" + port
                    + (finished ? "" : ", did not finish in " + (seconds + 120) + " s") + ", output=" + out);
            }
        } finally {
            Files.deleteIfExists(log);
        }
        final int at = out.lastIndexOf("keys ");
        return at < 0 ? 0 : Double.parseDouble(out.substring(at + 5).trim());
    }

    private static byte[] key(final int i) {
        return ZipfTrace.key(i, StoreBenchmark.KEY_BYTES);
    }

    /**
     * @return whether each key's reply starts where it should with VALUE (VA for a meta get) and
     * carries the value's bytes, and the reply ends as its shape does
     */
    private static boolean everyKeyAnswered(final byte[] reply, final Shape shape, final int stride) {
        final int header = shape == Shape.META ? "VA 100\r\n".length()
            : "VALUE ".length() + StoreBenchmark.KEY_BYTES + " 0 100\r\n".length();
        for (int k = 0; k < KEYS_PER_GET; k++) {
            final int at = k * stride;
            if (reply[at] != 'V' || reply[at + 1] != 'A' || reply[at + header] != 'v'
                || reply[at + header + StoreBenchmark.VALUE_BYTES - 1] != 'v') {
                return false;
            }
        }
        final int n = reply.length;
        return shape == Shape.META ? reply[n - 2] == '\r' && reply[n - 1] == '\n'
            : reply[n - 5] == 'E' && reply[n - 4] == 'N' && reply[n - 3] == 'D';
    }

    /** Stores every item with noreply sets, pipelined, then waits for a no-op's reply: all are in. */
    static void fill(final int port, final int items) throws IOException {
        final byte[] tail = (" 0 0 " + StoreBenchmark.VALUE_BYTES + " noreply\r\n").getBytes(StandardCharsets.US_ASCII);
        final byte[] value = new byte[StoreBenchmark.VALUE_BYTES + 2];
        Arrays.fill(value, (byte) 'v');
        value[value.length - 2] = '\r';
        value[value.length - 1] = '\n';
        try (Socket s = new Socket("127.0.0.1", port)) {
            final OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 16);
            final InputStream in = new BufferedInputStream(s.getInputStream());
            for (int i = 0; i < items; i++) {
                out.write("set ".getBytes(StandardCharsets.US_ASCII));
                out.write(key(i));
                out.write(tail);
                out.write(value);
            }
            out.write("mn\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            final byte[] mn = in.readNBytes(4);
            if (!Arrays.equals(mn, "MN\r\n".getBytes(StandardCharsets.US_ASCII))) {
                throw new IOException("fill ended without MN: port=" + port + ", got=" + new String(mn, StandardCharsets.US_ASCII));
            }
        }
    }

    /**
     * Sends batches of {@value #KEYS_PER_GET} random keys in the given shape for {@code seconds};
     * every reply must hold every key (the servers have room for all the items).
     *
     * @return keys answered per second
     */
    static double run(final int port, final int items, final int seconds, final Shape shape) throws IOException {
        final int lines = 4096;
        final byte[][] requests = new byte[lines][];
        final SplittableRandom rnd = new SplittableRandom(port);
        for (int l = 0; l < lines; l++) {
            final StringBuilder b = new StringBuilder(shape == Shape.LINE ? "get" : "");
            for (int k = 0; k < KEYS_PER_GET; k++) {
                final String key = new String(key(rnd.nextInt(items)), StandardCharsets.US_ASCII);
                switch (shape) {
                    case LINE -> b.append(' ').append(key);
                    case PIPELINED -> b.append("get ").append(key).append("\r\n");
                    case META -> b.append("mg ").append(key).append(" v\r\n");
                }
            }
            requests[l] = (shape == Shape.LINE ? b.append("\r\n") : b).toString().getBytes(StandardCharsets.US_ASCII);
        }
        // Every hit: "VALUE <key> 0 100\r\n" + 100 bytes + "\r\n"; then "END\r\n" after the line's
        // last key, or after each key's value when each key is a get of its own. A meta get's hit:
        // "VA 100\r\n" + 100 bytes + "\r\n".
        final int hitBytes = "VALUE ".length() + StoreBenchmark.KEY_BYTES + " 0 100\r\n".length()
            + StoreBenchmark.VALUE_BYTES + 2;
        final int endBytes = "END\r\n".length();
        final int stride = switch (shape) {
            case LINE -> hitBytes;
            case PIPELINED -> hitBytes + endBytes;
            case META -> "VA 100\r\n".length() + StoreBenchmark.VALUE_BYTES + 2;
        };
        final int replyBytes = KEYS_PER_GET * stride + (shape == Shape.LINE ? endBytes : 0);
        final byte[] reply = new byte[replyBytes];
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            // A reply short of a key would otherwise leave the read waiting for good.
            s.setSoTimeout(30_000);
            final OutputStream out = s.getOutputStream();
            final InputStream in = s.getInputStream();
            final long t0 = System.nanoTime();
            final long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
            long keys = 0;
            for (int l = 0; System.nanoTime() < end; l = (l + 1) & (lines - 1)) {
                out.write(requests[l]);
                out.flush();
                if (in.readNBytes(reply, 0, replyBytes) != replyBytes || !everyKeyAnswered(reply, shape, stride)) {
                    throw new IOException("a " + shape + " reply was not every key's value: port=" + port);
                }
                keys += KEYS_PER_GET;
            }
            return keys * 1e9 / (System.nanoTime() - t0);
        }
    }
}
