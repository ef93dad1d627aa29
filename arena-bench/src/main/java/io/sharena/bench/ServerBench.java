package io.sharena.bench;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReader;
import io.sharena.server.MemcachedServer;
import io.sharena.server.ServerOptions;
import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.utils.AddrUtil;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server side by side with memcached: both started here, pinned to the same CPU
 * ({@code taskset}), one worker thread each, driven by the same memaslap command (pinned to the
 * other CPU): 32-byte keys, 100-byte values, 90 % get / 10 % set, 4 and 16 connections. Reported:
 * ops/s (memaslap's), server CPU time per operation ({@code /proc/PID/stat} utime + stime over the
 * run, divided by memaslap's operations), and p99 latency from memaslap's log2 histogram (so at a
 * factor-2 resolution: the upper bound of the bucket holding the 99th percentile); medians of three
 * rounds that alternate between the two servers. Then a get
 * through the store API in this JVM vs a get through xmemcached over loopback.
 *
 * <p>{@code main("serve", FILE, PORT[, MEMORY_MIB])} is the server process of the comparison; {@code main([SECONDS])}
 * runs the comparison alone and prints it.
 */
public final class ServerBench {
    /** The young generation the launcher gives {@code ./arena serve} (see the {@code arena} script). */
    static final String SERVE_YOUNG = "-Xmn16m";
    /** One server's figures under one load. */
    public record Run(double opsPerSecond, double cpuMicrosPerOp, double p99Micros) {
    }

    /** Everything measured: runs[connectionsIndex][0 = sharena, 1 = memcached], then the local vs loopback get. */
    public record Result(int[] connections, Run[][] runs, double storeGetNanos, double loopbackGetNanos, String note,
                         int[] largeSizes, double[][] largeOps) {
    }

    /** Value sizes of the large-value rows: 100 KiB and 1 MiB. */
    static final int[] LARGE = {100 << 10, 1 << 20};

    private static final int[] CONNECTIONS = {4, 16};
    private static final int ROUNDS = 3;
    private static final Pattern TPS = Pattern.compile("Run time: [0-9.]+s Ops: (\\d+) TPS: (\\d+)");

    private ServerBench() {
    }

    public static void main(final String[] args) throws Exception {
        if ((args.length == 3 || args.length == 4) && args[0].equals("serve")) {
            final Path file = Path.of(args[1]);
            // An optional fourth argument: the store's memory limit in MiB (64 by default, as memcached's -m).
            final StoreOptions options = args.length > 3
                ? StoreOptions.defaults().withMemoryLimit(Long.parseLong(args[3]) << 20) : StoreOptions.defaults();
            try (SharedStore store = Files.exists(file) ? SharedStore.open(file, options)
                : SharedStore.create(file, options.withMaxItemSize(2 << 20));
                 MemcachedServer server = MemcachedServer.start(store, ServerOptions.defaults().withThreads(1)
                     .withAddress(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]))))) {
                System.out.println("ready " + server.address().getPort());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // runs until the harness closes our stdin or kills us
                }
            }
            return;
        }
        final Result r = measure(args.length > 0 ? Integer.parseInt(args[0]) : 3,
            Path.of(System.getProperty("java.io.tmpdir")));
        if (r.runs() != null) {
            for (int i = 0; i < r.connections().length; i++) {
                System.out.printf("%d connections: serve %s%n              memcached %s%n", r.connections()[i],
                    r.runs()[i][0], r.runs()[i][1]);
            }
            for (int i = 0; i < r.largeSizes().length; i++) {
                System.out.printf("%d KiB set+get ops/s: serve %.0f, memcached %.0f%n", r.largeSizes()[i] >> 10,
                    r.largeOps()[i][0], r.largeOps()[i][1]);
            }
        } else {
            System.out.println(r.note());
        }
        System.out.printf("store API get %.0f ns, xmemcached loopback get %.0f ns%n", r.storeGetNanos(),
            r.loopbackGetNanos());
    }

    /** @return the figures, or a result whose note says why the side-by-side part could not run */
    public static Result measure(final int seconds, final Path tmp) throws Exception {
        final double[] local = localVsLoopback(tmp);
        final String missing = ensureTools();
        if (missing != null) {
            return new Result(CONNECTIONS, null, local[0], local[1], missing, LARGE, null);
        }
        final Path cfg = Files.writeString(Files.createTempFile(tmp, "memaslap-", ".cfg"),
            "key\n32 32 1\nvalue\n100 100 1\ncmd\n0 0.1\n1 0.9\n");
        final Path store = tmp.resolve("server-bench-" + ProcessHandle.current().pid() + ".store");
        final int cpus = Runtime.getRuntime().availableProcessors();
        final String serverCpu = Integer.toString(cpus - 1);
        final String clientCpu = "0";
        if (cpus < 2) {
            System.out.println("server bench: one CPU: the servers and memaslap share CPU 0, not the other CPU");
        }
        final Run[][] runs = new Run[CONNECTIONS.length][2];
        final double[][] large = new double[LARGE.length][2];
        final int ourPort = freePort();
        final int theirPort = freePort();
        final List<String> ours = new ArrayList<>(List.of("taskset", "-c", serverCpu,
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC", SERVE_YOUNG,
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            ServerBench.class.getName(), "serve", store.toString(), Integer.toString(ourPort)));
        final List<String> theirs = new ArrayList<>(List.of("taskset", "-c", serverCpu, "memcached", "-p",
            Integer.toString(theirPort), "-U", "0", "-l", "127.0.0.1", "-m", "64", "-t", "1", "-I", "2m"));
        if ("root".equals(System.getProperty("user.name"))) {
            theirs.addAll(List.of("-u", "root"));
        }
        final Process sharena = new ProcessBuilder(ours).redirectErrorStream(true).start();
        final Process memcached = new ProcessBuilder(theirs).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            awaitListening(ourPort, sharena);
            awaitListening(theirPort, memcached);
            // Warm both (the JVM's compiler above all: a short warm-up leaves C2 compiling during the
            // measurement, which counts in the server's CPU time), then measure them in turn. A short
            // run first: its connections closing is the path the first compiled code never saw (an
            // uncommon trap, then a recompile); the long run that follows gives C2 time to settle again.
            memaslap(theirPort, cfg, 4, 2, clientCpu);
            memaslap(ourPort, cfg, 4, 2, clientCpu);
            memaslap(theirPort, cfg, 16, Math.max(10, 2 * seconds), clientCpu);
            memaslap(ourPort, cfg, 16, Math.max(10, 2 * seconds), clientCpu);
            // Rounds alternate between the two, so that a change of the machine's load falls on both;
            // each figure is the median of its rounds.
            for (int i = 0; i < CONNECTIONS.length; i++) {
                final Run[] mine = new Run[ROUNDS];
                final Run[] other = new Run[ROUNDS];
                for (int round = 0; round < ROUNDS; round++) {
                    mine[round] = measureOne(ourPort, sharena.pid(), cfg, CONNECTIONS[i], seconds, clientCpu);
                    other[round] = measureOne(theirPort, memcached.pid(), cfg, CONNECTIONS[i], seconds, clientCpu);
                }
                runs[i][0] = median(mine);
                runs[i][1] = median(other);
            }
            // The large values' paths (a value read into its item in place, sent from the mapping)
            // are compiled only now: one untimed round of each size first, as for memaslap above,
            // so that C2 compiling on the server's CPU does not fall in the measured rounds.
            for (final int size : LARGE) {
                largeValues(ourPort, size, seconds);
                largeValues(theirPort, size, seconds);
            }
            for (int i = 0; i < LARGE.length; i++) {
                final double[] mine = new double[ROUNDS];
                final double[] other = new double[ROUNDS];
                for (int round = 0; round < ROUNDS; round++) {
                    mine[round] = largeValues(ourPort, LARGE[i], seconds);
                    other[round] = largeValues(theirPort, LARGE[i], seconds);
                }
                java.util.Arrays.sort(mine);
                java.util.Arrays.sort(other);
                large[i][0] = mine[ROUNDS / 2];
                large[i][1] = other[ROUNDS / 2];
            }
        } finally {
            sharena.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            memcached.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(store);
            Files.deleteIfExists(cfg);
        }
        return new Result(CONNECTIONS, runs, local[0], local[1], null, LARGE, large);
    }

    /**
     * One connection setting then getting one key with a value of {@code size} bytes, in turn, for
     * {@code seconds} (after a second of the same as warm-up).
     *
     * @return operations (a set or a get) per second
     */
    static double largeValues(final int port, final int size, final int seconds) throws IOException {
        final byte[] value = new byte[size + 2];
        java.util.Arrays.fill(value, (byte) 'x');
        value[size] = '\r';
        value[size + 1] = '\n';
        final byte[] set = ("set large 0 0 " + size + "\r\n").getBytes(StandardCharsets.US_ASCII);
        final byte[] get = "get large\r\n".getBytes(StandardCharsets.US_ASCII);
        final byte[] stored = "STORED\r\n".getBytes(StandardCharsets.US_ASCII);
        final byte[] header = ("VALUE large 0 " + size + "\r\n").getBytes(StandardCharsets.US_ASCII);
        final byte[] reply = new byte[header.length + size + 7];
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            final java.io.OutputStream out = s.getOutputStream();
            final java.io.InputStream in = s.getInputStream();
            long ops = 0;
            long t0 = System.nanoTime();
            long end = t0 + TimeUnit.SECONDS.toNanos(1);
            boolean warm = true;
            while (true) {
                final long now = System.nanoTime();
                if (now >= end) {
                    if (!warm) {
                        return ops * 1e9 / (now - t0);
                    }
                    warm = false;
                    ops = 0;
                    t0 = now;
                    end = now + TimeUnit.SECONDS.toNanos(seconds);
                }
                out.write(set);
                out.write(value);
                out.flush();
                final byte[] r1 = in.readNBytes(stored.length);
                if (!java.util.Arrays.equals(r1, stored)) {
                    throw new IOException("set failed: port=" + port + ", size=" + size + ", reply="
                        + new String(r1, StandardCharsets.US_ASCII));
                }
                out.write(get);
                out.flush();
                if (in.readNBytes(reply, 0, reply.length) != reply.length
                    || !java.util.Arrays.equals(reply, 0, header.length, header, 0, header.length)
                    || reply[reply.length - 5] != 'E' || reply[header.length + size - 1] != 'x') {
                    throw new IOException("get failed: port=" + port + ", size=" + size);
                }
                ops += 2;
            }
        }
    }

    private static Run measureOne(final int port, final long pid, final Path cfg, final int connections,
                                  final int seconds, final String clientCpu) throws Exception {
        final long cpu0 = cpuTicks(pid);
        final String out = memaslap(port, cfg, connections, seconds, clientCpu);
        final long cpu1 = cpuTicks(pid);
        final Matcher m = TPS.matcher(out);
        if (!m.find()) {
            throw new IOException("memaslap printed no result: " + out);
        }
        final long ops = Long.parseLong(m.group(1));
        final double tps = Double.parseDouble(m.group(2));
        final double cpuMicros = (cpu1 - cpu0) * 10_000.0 / Math.max(1, ops); // 100 ticks per second
        return new Run(tps, cpuMicros, p99FromLog2(out));
    }

    private static Run median(final Run[] runs) {
        return new Run(median(runs, Run::opsPerSecond), median(runs, Run::cpuMicrosPerOp), median(runs, Run::p99Micros));
    }

    private static double median(final Run[] runs, final java.util.function.ToDoubleFunction<Run> f) {
        final double[] v = java.util.Arrays.stream(runs).mapToDouble(f).sorted().toArray();
        return v[v.length / 2];
    }

    private static String memaslap(final int port, final Path cfg, final int connections, final int seconds,
                                   final String clientCpu) throws Exception {
        // The output goes to a file: reading a pipe to its end first would wait as long as memaslap
        // runs, and the bound below would never be reached.
        final Path log = Files.createTempFile("memaslap-", ".out");
        try {
            final Process p = new ProcessBuilder("taskset", "-c", clientCpu, "memcaslap", "-s", "127.0.0.1:" + port,
                "-F", cfg.toString(), "-T", "1", "-c", Integer.toString(connections), "-t", seconds + "s", "-S",
                seconds + "s").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.to(log.toFile())).start();
            if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IOException("memaslap did not finish: port=" + port + ", output="
                    + Files.readString(log, StandardCharsets.UTF_8));
            }
            return Files.readString(log, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /**
     * The 99th percentile from memaslap's "Total Statistics" log2 histogram: rows "k: c_k c_k+1 c_k+2
     * c_k+3", c_i counting latencies in [2^i, 2^(i+1)) microseconds.
     */
    static double p99FromLog2(final String out) {
        final int at = out.lastIndexOf("Total Statistics (");
        if (at < 0) {
            return Double.NaN;
        }
        final long[] counts = new long[64];
        final Matcher row = Pattern.compile("(?m)^\\s+(\\d+):((?:\\s+\\d+)+)\\s*$").matcher(out.substring(at));
        long total = 0;
        while (row.find()) {
            final int base = Integer.parseInt(row.group(1));
            final String[] c = row.group(2).trim().split("\\s+");
            for (int i = 0; i < c.length && base + i < counts.length; i++) {
                counts[base + i] += Long.parseLong(c[i]);
                total += Long.parseLong(c[i]);
            }
        }
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (total > 0 && seen >= 0.99 * total) {
                return Math.pow(2, i + 1);
            }
        }
        return Double.NaN;
    }

    /** @return user + system clock ticks of the process, from /proc/PID/stat */
    static long cpuTicks(final long pid) throws IOException {
        final String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /**
     * memcached and memaslap, installed with apt-get when missing and allowed.
     *
     * @return null when both are there, else why not
     */
    static String ensureTools() throws InterruptedException {
        if (onPath("memcached") && onPath("memcaslap") && onPath("taskset")) {
            return null;
        }
        if (onPath("apt-get")) {
            final boolean root = "root".equals(System.getProperty("user.name"));
            final List<String> cmd = new ArrayList<>(root ? List.of() : List.of("sudo", "-n"));
            cmd.addAll(List.of("apt-get", "install", "-y", "-qq", "memcached", "libmemcached-tools"));
            try {
                final Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                p.waitFor(300, TimeUnit.SECONDS);
            } catch (final IOException e) {
                // reported below
            }
        }
        return onPath("memcached") && onPath("memcaslap") && onPath("taskset") ? null
            : "memcached, memcaslap (libmemcached-tools) or taskset missing and not installable here: "
                + "apt-get install memcached libmemcached-tools; the side-by-side part was skipped";
    }

    /** @return whether {@code tool} is an executable on the PATH */
    static boolean onPath(final String tool) {
        for (final String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Waits up to 30 s for {@code p} to accept connections on {@code port}; fails at once if it exits. */
    static void awaitListening(final int port, final Process p) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (final IOException e) {
                if (!p.isAlive()) {
                    throw new IOException("server exited at start: port=" + port + ", status=" + p.exitValue()
                        + ", output=" + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                }
                Thread.sleep(20);
            }
        }
        throw new IOException("server did not listen within 30 s: port=" + port);
    }

    /** @return {store API get ns, xmemcached loopback get ns}, medians of 5 rounds */
    static double[] localVsLoopback(final Path tmp) throws Exception {
        final Path dir = Files.createTempDirectory(tmp, "server-bench-");
        final Path file = dir.resolve("store");
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(16L << 20));
             MemcachedServer server = MemcachedServer.start(store, ServerOptions.defaults().withThreads(1)
                 .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
            final byte[] key = "k".repeat(32).getBytes(StandardCharsets.US_ASCII);
            store.set(key, new byte[100], 0, 0);
            final StoreReader reader = store.reader();
            final MemcachedClient client = new XMemcachedClientBuilder(
                AddrUtil.getAddresses("127.0.0.1:" + server.address().getPort())).build();
            try {
                final double[] local = new double[5];
                final double[] loop = new double[5];
                final String k = "k".repeat(32);
                long sink = 0;
                for (int round = 0; round < 5; round++) {
                    final int n = 1_000_000;
                    long t0 = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        if (reader.get(key)) {
                            sink += reader.value().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 99);
                        }
                    }
                    local[round] = (System.nanoTime() - t0) / (double) n;
                    final int m = 2_000;
                    t0 = System.nanoTime();
                    for (int i = 0; i < m; i++) {
                        final Object v = client.get(k);
                        sink += v == null ? 0 : 1;
                    }
                    loop[round] = (System.nanoTime() - t0) / (double) m;
                }
                if (sink == 42) {
                    System.out.print("");
                }
                java.util.Arrays.sort(local);
                java.util.Arrays.sort(loop);
                return new double[] {local[2], loop[2]};
            } finally {
                client.shutdown();
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
