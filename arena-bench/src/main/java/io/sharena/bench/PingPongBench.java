package io.sharena.bench;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.channel.MessageHandler;
import org.HdrHistogram.Histogram;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Cross-process round trip between two busy-spinning processes: this one and a child JVM it
 * starts. Reports the median, p99, p99.9 and maximum round trip in ns, for
 * <ul>
 *   <li>{@code channel}: an 8-byte message out on a one-lane {@link Channel} ("ping": this process
 *       produces, the child consumes), echoed back on another ("pong": the child produces, this
 *       process consumes), written in place with {@link ChannelProducer#claim}/{@link
 *       ChannelProducer#commit} and read in place with {@link ChannelConsumer#poll};</li>
 *   <li>{@code bare}: the floor, one long word of the same arena: this process stores an odd value
 *       with a release store, the child, spinning on acquire loads, answers with the next (even)
 *       value, and this process spins until it sees it. One cache line crosses each way: nothing
 *       between two processes can be cheaper.</li>
 * </ul>
 * and the ratio channel / bare of the medians and of the p99s.
 *
 * <p>Target: {@code channel / bare ≤ 1.3} at the median.
 *
 * <p>Both modes spin the same way: a bare loop, no {@link Thread#onSpinWait()}, on both ends; each
 * round trip is timed with two {@link System#nanoTime()} calls (about 20 ns, in both modes) and
 * recorded in an {@link Histogram} (no allocation). Each mode gets a fresh child, a warm-up of
 * {@value #WARMUP_SECONDS} s from its first round trip on, then the measured seconds; the modes
 * alternate for the given number of rounds and each mode's rounds are merged. With two cores the
 * two spinners take both, so the JIT and GC threads preempt them now and then: that shows in the
 * tail, for both modes alike.
 *
 * <p>The arena file is created in a fresh directory under {@code java.io.tmpdir} and deleted at
 * the end.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.PingPongBench [seconds] [rounds]}.
 */
public final class PingPongBench {
    static final int WARMUP_SECONDS = 2;
    private static final String PING = "ping";
    private static final String PONG = "pong";
    private static final int RING_BYTES = 4096;
    private static final int MESSAGE = 8;
    private static final int TYPE_PING = 1;
    private static final int TYPE_STOP = 2;
    /** Odd, so the bare child cannot take it for an answer; never a ping (pings stay far below). */
    private static final long BARE_STOP = Long.MAX_VALUE;
    /** Round trips above this (10 s) are recorded as this. */
    private static final long HIGHEST_NANOS = 10_000_000_000L;

    private PingPongBench() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(Path.of(args[1]), args[2], Integer.parseInt(args[3]));
            return;
        }
        final int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        final int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        final Histogram[] both = measure(seconds, rounds, true);
        final Histogram channelAll = both[0];
        final Histogram bareAll = both[1];
        report("channel", channelAll);
        report("bare   ", bareAll);
        final long cm = channelAll.getValueAtPercentile(50);
        final long bm = bareAll.getValueAtPercentile(50);
        final long c99 = channelAll.getValueAtPercentile(99);
        final long b99 = bareAll.getValueAtPercentile(99);
        System.out.printf("round trip channel/bare: median %d/%d ns = %.2f (target <= 1.3), p99 %d/%d ns = %.2f%n",
            cm, bm, (double) cm / bm, c99, b99, (double) c99 / b99);
        final long timer = timerMedian();
        System.out.printf("timer: two back-to-back System.nanoTime() calls, median %d ns (in every round trip above); "
            + "without it, median channel/bare = %.2f%n", timer, (double) (cm - timer) / (bm - timer));
    }

    /**
     * Alternates {@code rounds} rounds of channel and bare ping-pong, {@code seconds} each.
     *
     * @return {channel, bare} round-trip histograms in ns
     */
    public static Histogram[] measure(final int seconds, final int rounds, final boolean print) throws Exception {
        final Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "sharena-pp-");
        final Path file = dir.resolve("ping-pong.arena");
        final Histogram channelAll = new Histogram(HIGHEST_NANOS, 3);
        final Histogram bareAll = new Histogram(HIGHEST_NANOS, 3);
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("64M"), ArenaOptions.defaults().withReplace(true))) {
            final Channel ping = Channel.create(arena, PING, 1, RING_BYTES, MESSAGE);
            final Channel pong = Channel.create(arena, PONG, 1, RING_BYTES, MESSAGE);
            final int word = arena.allocPages(1);
            if (word == 0) {
                throw new IllegalStateException("no room for the ping-pong word: path=" + file);
            }
            for (int r = 0; r < rounds; r++) {
                final Histogram c = channel(arena, ping, pong, file, seconds);
                if (print) {
                    report("channel round " + (r + 1), c);
                }
                channelAll.add(c);
                final Histogram b = bare(arena, word, file, seconds);
                if (print) {
                    report("bare    round " + (r + 1), b);
                }
                bareAll.add(b);
            }
            arena.freePages(word, 1);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        return new Histogram[] {channelAll, bareAll};
    }

    /** @return the median of {@code nanoTime() - nanoTime()}: the timing's own share of each round trip */
    private static long timerMedian() {
        final Histogram h = new Histogram(HIGHEST_NANOS, 3);
        for (int i = 0; i < 10_000_000; i++) {
            final long t0 = System.nanoTime();
            final long t1 = System.nanoTime();
            h.recordValue(Math.min(t1 - t0, HIGHEST_NANOS));
        }
        return h.getValueAtPercentile(50);
    }

    private static void report(final String what, final Histogram h) {
        System.out.printf("%s: %d round trips, median %d ns, p99 %d ns, p99.9 %d ns, max %d ns, mean %.1f ns%n", what,
            h.getTotalCount(), h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getValueAtPercentile(99.9),
            h.getMaxValue(), h.getMean());
    }

    private static Process startChild(final Path file, final String mode, final int word) throws Exception {
        return new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            PingPongBench.class.getName(), "child", file.toString(), mode, Integer.toString(word))
            .inheritIO().start();
    }

    private static void awaitChild(final Process child, final String mode) throws InterruptedException {
        if (child.waitFor() != 0) {
            throw new IllegalStateException("ping-pong child failed: mode=" + mode + ", exit=" + child.exitValue());
        }
    }

    /** Keeps the last value echoed back. */
    private static final class Echoed implements MessageHandler {
        long value = -1;

        @Override
        public void onMessage(final ArenaView view, final int type, final int ptr, final int length) {
            value = view.getLong(ptr);
        }
    }

    private static Histogram channel(final SharedArena arena, final Channel ping, final Channel pong, final Path file,
                                     final int seconds) throws Exception {
        final Histogram h = new Histogram(HIGHEST_NANOS, 3);
        final ArenaView view = arena.raw();
        final Echoed echoed = new Echoed();
        final Process child;
        try (ChannelProducer out = ping.producer();
             ChannelConsumer in = pong.consumer()) {
            child = startChild(file, "channel", 0);
            long seq = 0;
            long warmEnd = Long.MAX_VALUE;
            long end = Long.MAX_VALUE;
            while (true) {
                final long t0 = System.nanoTime();
                final int p = out.claim(TYPE_PING, MESSAGE);
                if (p == 0) {
                    throw new IllegalStateException("ping lane full with one message in flight: seq=" + seq);
                }
                view.putLong(p, seq);
                out.commit();
                while (in.poll(echoed, 1) == 0) {
                    // busy spin: the answer is a few hundred ns away
                }
                final long t1 = System.nanoTime();
                if (echoed.value != seq) {
                    throw new IllegalStateException("pong out of step: seq=" + seq + ", echoed=" + echoed.value);
                }
                if (seq++ == 0) {
                    // The first round trip waited for the child JVM to start: warm up from here.
                    warmEnd = t1 + WARMUP_SECONDS * 1_000_000_000L;
                    end = warmEnd + seconds * 1_000_000_000L;
                } else if (t1 >= end) {
                    break;
                } else if (t0 >= warmEnd) {
                    h.recordValue(Math.min(t1 - t0, HIGHEST_NANOS));
                }
            }
            while (out.claim(TYPE_STOP, 0) == 0) {
                Thread.onSpinWait();
            }
            out.commit();
            awaitChild(child, "channel");
        }
        return h;
    }

    private static Histogram bare(final SharedArena arena, final int word, final Path file, final int seconds)
        throws Exception {
        final Histogram h = new Histogram(HIGHEST_NANOS, 3);
        final ArenaView view = arena.raw();
        view.putLongRelease(word, 0);
        final Process child = startChild(file, "bare", word);
        long seq = 0;
        long warmEnd = Long.MAX_VALUE;
        long end = Long.MAX_VALUE;
        while (true) {
            final long ping = 2 * seq + 1;
            final long answer = ping + 1;
            final long t0 = System.nanoTime();
            // Publishes the ping: the child spins on this word.
            view.putLongRelease(word, ping);
            while (view.getLongAcquire(word) != answer) {
                // busy spin
            }
            final long t1 = System.nanoTime();
            if (seq++ == 0) {
                warmEnd = t1 + WARMUP_SECONDS * 1_000_000_000L;
                end = warmEnd + seconds * 1_000_000_000L;
            } else if (t1 >= end) {
                break;
            } else if (t0 >= warmEnd) {
                h.recordValue(Math.min(t1 - t0, HIGHEST_NANOS));
            }
        }
        view.putLongRelease(word, BARE_STOP);
        awaitChild(child, "bare");
        return h;
    }

    private static void child(final Path file, final String mode, final int word) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView view = arena.raw();
            if (mode.equals("bare")) {
                long last = 0;
                while (true) {
                    final long v = view.getLongAcquire(word);
                    if (v == BARE_STOP) {
                        break;
                    }
                    if ((v & 1) == 1 && v != last) {
                        last = v;
                        // The answer: the parent spins until it sees ping + 1.
                        view.putLongRelease(word, v + 1);
                    }
                }
                return;
            }
            try (ChannelConsumer in = Channel.open(arena, PING).consumer();
                 ChannelProducer out = Channel.open(arena, PONG).producer()) {
                final boolean[] stop = new boolean[1];
                // Echoes from inside the handler: the answer goes out before the ping's HEAD is released.
                final MessageHandler echo = (v, type, ptr, length) -> {
                    if (type == TYPE_STOP) {
                        stop[0] = true;
                        return;
                    }
                    final int p = out.claim(TYPE_PING, MESSAGE);
                    if (p == 0) {
                        throw new IllegalStateException("pong lane full with one message in flight");
                    }
                    v.putLong(p, v.getLong(ptr));
                    out.commit();
                };
                while (!stop[0]) {
                    in.poll(echo, 1);
                }
            }
        }
    }
}
