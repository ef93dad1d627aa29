package io.sharena.bench;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.server.MemcachedServer;
import io.sharena.server.ServerOptions;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The Zipf(0.99) trace of {@link StoreHitRatio} replayed over a plain socket against the server
 * and against memcached at the same memory limit ({@code withMemoryLimit} as {@code serve
 * --memory} sets it, memcached's {@code -m}): get, and on a miss set (16-byte keys, 100-byte
 * values). Requests go in pipelined batches of {@value #BATCH}; a key repeated inside a batch is
 * sent once and its repeats count as hits (as they would be one request later). Prints both hit
 * ratios and what each server says it holds ({@code stats}: curr_items, bytes; memcached's chunk
 * size for these items from {@code stats slabs}).
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.ServerHitRatio [keys] [requests] [memoryMiB]} (defaults 1,000,000, 10,000,000
 * and 20).
 */
public final class ServerHitRatio {
    private static final int BATCH = 64;

    /** One server's replay: hits over requests, and its own stats after it. */
    public record Replay(double hitRatio, long items, long bytes, long evictions, String note) {
    }

    /** Both replays; {@code memcached} is null when memcached is not installed. */
    public record Result(int keys, int requests, int memoryMiB, Replay serve, Replay memcached) {
    }

    private ServerHitRatio() {
    }

    public static void main(final String[] args) throws Exception {
        final int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        final int requests = args.length > 1 ? Integer.parseInt(args[1]) : 10_000_000;
        final int mib = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        final Result r = measure(keys, requests, mib, Path.of(System.getProperty("java.io.tmpdir")));
        System.out.printf("keys=%d requests=%d zipf=0.99 memory=%d MiB%n", r.keys(), r.requests(), r.memoryMiB());
        System.out.println("serve:     " + r.serve());
        System.out.println("memcached: " + r.memcached());
    }

    /** @return both hit ratios on the same trace at the same memory limit */
    public static Result measure(final int keys, final int requests, final int mib, final Path tmp) throws Exception {
        final int[] trace = ZipfTrace.zipf(keys, 0.99, requests, 7);
        final byte[][] k = new byte[keys][];
        for (int i = 0; i < keys; i++) {
            k[i] = ZipfTrace.key(i, StoreBenchmark.KEY_BYTES);
        }
        final Path dir = Files.createTempDirectory(tmp, "server-hit-ratio-");
        final Path file = dir.resolve("store");
        final Replay ours;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit((long) mib << 20));
             MemcachedServer server = MemcachedServer.start(store, ServerOptions.defaults().withThreads(1)
                 .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
            ours = replay(server.address().getPort(), trace, k);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        if (!ServerBench.onPath("memcached")) {
            return new Result(keys, requests, mib, ours, null);
        }
        final int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        final List<String> cmd = new ArrayList<>(List.of("memcached", "-p", Integer.toString(port), "-U", "0", "-l",
            "127.0.0.1", "-m", Integer.toString(mib), "-t", "1"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "root"));
        }
        final Process memcached = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            ServerBench.awaitListening(port, memcached);
            return new Result(keys, requests, mib, ours, replay(port, trace, k));
        } finally {
            memcached.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static Replay replay(final int port, final int[] trace, final byte[][] k) throws IOException {
        final byte[] setTail = (" 0 0 " + StoreBenchmark.VALUE_BYTES + " noreply\r\n").getBytes(StandardCharsets.US_ASCII);
        final byte[] value = new byte[StoreBenchmark.VALUE_BYTES + 2];
        java.util.Arrays.fill(value, (byte) 'v');
        value[value.length - 2] = '\r';
        value[value.length - 1] = '\n';
        long hits = 0;
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            final InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 16);
            final OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 16);
            final int[] sent = new int[BATCH];
            final Map<Integer, Boolean> inBatch = new HashMap<>();
            for (int from = 0; from < trace.length; from += BATCH) {
                final int to = Math.min(trace.length, from + BATCH);
                inBatch.clear();
                int n = 0;
                for (int i = from; i < to; i++) {
                    if (inBatch.putIfAbsent(trace[i], Boolean.TRUE) == null) {
                        out.write('g');
                        out.write('e');
                        out.write('t');
                        out.write(' ');
                        out.write(k[trace[i]]);
                        out.write('\r');
                        out.write('\n');
                        sent[n++] = trace[i];
                    } else {
                        hits++;
                    }
                }
                out.flush();
                int missed = 0;
                for (int j = 0; j < n; j++) {
                    if (readGet(in)) {
                        hits++;
                    } else {
                        out.write("set ".getBytes(StandardCharsets.US_ASCII));
                        out.write(k[sent[j]]);
                        out.write(setTail);
                        out.write(value);
                        missed++;
                    }
                }
                if (missed > 0) {
                    out.flush();
                }
            }
            out.write("stats\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            final Map<String, String> stats = new HashMap<>();
            for (String line = readLine(in); !line.equals("END"); line = readLine(in)) {
                final String[] f = line.split(" ");
                if (f.length == 3 && f[0].equals("STAT")) {
                    stats.put(f[1], f[2]);
                }
            }
            String note = "";
            out.write("stats slabs\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (String line = readLine(in); !line.equals("END"); line = readLine(in)) {
                final String[] f = line.split(" ");
                if (f.length == 3 && f[1].contains(":chunk_size")) {
                    note += "slab class " + f[1].substring(0, f[1].indexOf(':')) + " chunk " + f[2] + " B; ";
                } else if (f.length == 3 && f[1].contains(":total_pages")) {
                    note += "pages " + f[2] + "; ";
                }
            }
            return new Replay((double) hits / trace.length, Long.parseLong(stats.getOrDefault("curr_items", "-1")),
                Long.parseLong(stats.getOrDefault("bytes", "-1")), Long.parseLong(stats.getOrDefault("evictions", "-1")),
                note);
        }
    }

    /** @return true for a VALUE ... END reply, false for END alone */
    private static boolean readGet(final InputStream in) throws IOException {
        final String line = readLine(in);
        if (line.equals("END")) {
            return false;
        }
        if (!line.startsWith("VALUE ")) {
            throw new IOException("unexpected reply to get: " + line);
        }
        final int bytes = Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1));
        in.skipNBytes(bytes + 2L);
        final String end = readLine(in);
        if (!end.equals("END")) {
            throw new IOException("unexpected end of get: " + end);
        }
        return true;
    }

    private static String readLine(final InputStream in) throws IOException {
        final StringBuilder b = new StringBuilder(64);
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }
}
