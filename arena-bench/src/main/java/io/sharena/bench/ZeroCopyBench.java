package io.sharena.bench;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaPointers;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.channel.MessageHandler;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Zero-copy messages of 1 MiB between two processes, as a user moves them: a child JVM allocates
 * 256 arena pages, writes its message into them, and sends their arena pointer (8 bytes) through a
 * one-lane {@link Channel}; this process receives the pointer, reads the 1 MiB where it lies and
 * frees the pages. Reports the bytes delivered and read per second over the measured time, against
 * the bandwidth of one process copying 1 MiB between two native segments with
 * {@link MemorySegment#copy} (what a hand-over that copies costs at the least), and the ratio.
 *
 * <p>Target: {@code sharena / memcpy ≥ 0.5} in GB/s (10<sup>9</sup> bytes per second on
 * both sides).
 *
 * <p>What each side does per MiB:
 * <ul>
 *   <li>The child allocates with {@link SharedArena#allocPagesUninitialized(int)
 *       allocPagesUninitialized(256)} (past the largest span-cache class, so under the allocator
 *       lock; the pages are the dirty ones a recent free left, still committed and mapped in both
 *       processes, and are not zeroed since the child overwrites them all; {@code zeroed} as the
 *       third argument uses {@code allocPages} instead, for comparison), writes the message (every
 *       byte: {@link ArenaView#fill} with a value that changes with the sequence number), and
 *       claims, writes and commits one 8-byte message (pointer, sequence).</li>
 *   <li>This process, in the message handler, reads the whole 1 MiB in place and checks every
 *       byte of it against the sender's value (the first line by hand, the rest by
 *       {@link MemorySegment#mismatch} of the message against itself one line further: equal only
 *       if every line equals the first), then frees the pages ({@link SharedArena#freePages}: the
 *       lock; the pages stay committed, dirty, for the next allocation). Nothing is copied.</li>
 *   <li>Baseline: one thread copies a filled 1 MiB native segment into another, in a loop; both
 *       stay mapped and resident, so it pays no fault at all, and both stay in cache (the ratio
 *       the target is about). For scale, a second baseline cycles through 64 MiB on each side,
 *       out of cache: what a copy costs at DRAM speed.</li>
 *   <li>Floor (one process, no hand-over): {@code allocPagesUninitialized(256)} and
 *       {@code freePages} of the same 256 pages, in a loop, expressed in GB/s: the page
 *       allocator's own work per message, which the two processes share and cannot go below.</li>
 *   <li>Hand-over floor (two processes, no allocator, no channel): the same writes and reads of
 *       1 MiB, the same window and waiting, into buffers taken once before the clock starts and
 *       reused freed-last-first as the allocator reuses its runs; a release store of a counter
 *       hands each message over and another hands it back. What moving 1 MiB from one core's
 *       writes to another core's reads costs on this machine, which zero-copy cannot go below.</li>
 * </ul>
 * The child keeps at most {@link #WINDOW} messages in flight (sent, not yet freed: a counter this
 * process publishes after each free), so the pages in flight stay a few MiB and the test measures
 * a pipeline, not the arena filling up. With two processes the pipeline uses two cores (the child
 * writes while this process reads); the baseline uses one. Where the time goes is printed per
 * message on each side (allocate, write; read, free, waiting), with the page faults each process
 * took in the measured time (from {@code /proc/self/stat}: none once the pages are reused).
 *
 * <p>The arena file is created in a fresh directory under {@code java.io.tmpdir}, or the directory
 * given, and deleted at the end: where it lives matters ({@code fallocate} and hole punching are
 * the file system's), so run it on the file system the arena will use, {@code /dev/shm} for tmpfs.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.ZeroCopyBench [seconds] [directory] [zeroed|diagnose]} ({@code diagnose}: the
 * hand-over floor, the floor with the allocator, and the scenario, in alternating rounds); the diagnostics
 * {@code -Dsharena.zc.window=N}, {@code -Dsharena.zc.write=longs} and
 * {@code -Dsharena.zc.reuse=fifo} change the window, the way the senders write and the floor's
 * reuse order (the child gets them too).
 */
public final class ZeroCopyBench {
    private static final String WINDOW_PROPERTY = "sharena.zc.window";
    private static final String WRITE_PROPERTY = "sharena.zc.write";
    private static final String REUSE_PROPERTY = "sharena.zc.reuse";
    static final int PAGES = 256;
    static final int BYTES = (int) Geometry.pageBytes(PAGES);
    /**
     * Messages the child may have in flight (sent, not yet freed): 16 unless
     * {@code -Dsharena.zc.window} says otherwise (1 to 32; a diagnostic, the harness uses 16).
     */
    static final int WINDOW = Integer.getInteger(WINDOW_PROPERTY, 16);
    /**
     * How the senders write a message: {@code fill} ({@link ArenaView#fill}, the default), or
     * {@code longs} (a loop of 8-byte stores through the arena's segment), set by
     * {@code -Dsharena.zc.write} (a diagnostic).
     */
    static final boolean WRITE_LONGS = System.getProperty(WRITE_PROPERTY, "fill").equals("longs");
    /**
     * Which free buffer the hand-over floor's sender takes: {@code lifo}, the one freed last (the
     * default, as the allocator hands back the run freed last), or {@code fifo}, the one freed
     * first (the longest out of the receiver's hands), set by {@code -Dsharena.zc.reuse}.
     */
    static final boolean REUSE_FIFO = System.getProperty(REUSE_PROPERTY, "lifo").equals("fifo");
    static final long WARMUP_NANOS = 2_000_000_000L;
    /** Chunks of the out-of-cache baseline: 64 MiB per side, twice the last-level cache here. */
    static final int OUT_OF_CACHE_CHUNKS = 64;
    private static final String CHANNEL = "zero-copy";
    private static final int TYPE = 1;
    /** Message: the pages' arena pointer, then the sequence number. */
    private static final int MESSAGE = 8;
    private static final int RING_BYTES = 4096;
    private static final String CAPACITY = "1G";
    /**
     * Control page: the stop flag (this process writes), and the freed count on its own line. The
     * hand-over floor adds the sent count (the child writes) on a third line, the arena pointer of
     * each message in flight on a fourth ({@link #WINDOW} ints, slot {@code seq % WINDOW}), and the
     * buffers' arena pointers ({@link #WINDOW} ints from the fifth line on; this process writes
     * them once, before the child starts).
     */
    private static final int STOP = 0;
    private static final int FREED = 128;
    private static final int SENT = 256;
    private static final int SLOTS = 384;
    private static final int BUFFERS = 512;
    /** A cache line: the receiver checks the first by hand, then each against the one before. */
    private static final int LINE = 64;
    /** Diagnostic rounds: each runs the hand-over floor, the floor with the allocator, then the scenario. */
    private static final int DIAGNOSE_ROUNDS = 5;

    /** Whether the child uses {@code allocPages} (zeroed) rather than {@code allocPagesUninitialized}. */
    private static boolean zeroed;

    private ZeroCopyBench() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            if (args[3].startsWith("handover")) {
                try (SharedArena arena = SharedArena.open(Path.of(args[1]), ArenaOptions.defaults())) {
                    handOverChild(arena, Integer.parseInt(args[2]), args[3].equals("handover-allocating"));
                }
            } else {
                child(Path.of(args[1]), Integer.parseInt(args[2]), args[3].equals("zeroed"));
            }
            return;
        }
        zeroed = args.length > 2 && args[2].equals("zeroed");
        final int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        final Path parent = Path.of(args.length > 1 ? args[1] : System.getProperty("java.io.tmpdir"));
        if (args.length > 2 && args[2].equals("diagnose")) {
            diagnose(seconds, parent);
            return;
        }
        final double[] r = measure(seconds, parent);
        final double sharena = r[0];
        final double memcpy = r[1];
        final double memcpyCold = r[2];
        System.out.printf("1 MiB messages: sharena cross-process zero-copy %.2f GB/s, single-process memcpy %.2f GB/s, "
            + "ratio %.3f (target >= 0.5); against memcpy out of cache (%.2f GB/s) %.3f; "
            + "allocator floor (allocPagesUninitialized + freePages, 256 pages, one process) %.2f GB/s; "
            + "hand-over floor (no allocator, no channel) %.2f GB/s, %.3f memcpy, zero-copy at %.3f of it%n", sharena, memcpy,
            sharena / memcpy, memcpyCold, sharena / memcpyCold, r[3], r[4], r[4] / memcpy, sharena / r[4]);
    }

    /** Checks the diagnostics' settings and prints them. */
    private static void settings() {
        if (WINDOW < 1 || WINDOW > 32) {
            throw new IllegalArgumentException("window out of range: " + WINDOW_PROPERTY + "=" + WINDOW + ", range=1..32");
        }
        System.out.printf("zero-copy settings: window %d, write %s, hand-over floor reuse %s%n", WINDOW,
            WRITE_LONGS ? "longs" : "fill", REUSE_FIFO ? "fifo" : "lifo");
    }

    /**
     * Where the scenario's time goes, in steps, under the same load: the hand-over floor; the same
     * with the allocator (the child allocates, this process frees) and the pointer still handed
     * over by the floor's counter; the scenario (allocator and channel). {@value #DIAGNOSE_ROUNDS}
     * rounds, alternating, so that each step sees the load the others see; prints each round and
     * the medians.
     */
    private static void diagnose(final int seconds, final Path parent) throws Exception {
        settings();
        final double[][] gbs = new double[3][DIAGNOSE_ROUNDS];
        for (int round = 0; round < DIAGNOSE_ROUNDS; round++) {
            gbs[0][round] = handOver(parent, seconds, false);
            gbs[1][round] = handOver(parent, seconds, true);
            gbs[2][round] = sharena(parent, seconds);
            System.out.printf("round %d: hand-over floor %.2f GB/s, + allocator %.2f GB/s, + channel (zero-copy) %.2f GB/s%n",
                round + 1, gbs[0][round], gbs[1][round], gbs[2][round]);
        }
        for (final double[] g : gbs) {
            java.util.Arrays.sort(g);
        }
        final int m = DIAGNOSE_ROUNDS / 2;
        System.out.printf("medians of %d rounds: hand-over floor %.2f GB/s, + allocator %.2f GB/s, + channel (zero-copy) "
            + "%.2f GB/s%n", DIAGNOSE_ROUNDS, gbs[0][m], gbs[1][m], gbs[2][m]);
    }

    /**
     * @return {sharena GB/s, memcpy in cache GB/s, memcpy out of cache GB/s, allocator floor GB/s,
     *     hand-over floor GB/s}
     */
    public static double[] measure(final int seconds, final Path dir) throws Exception {
        settings();
        final double memcpy = memcpy(1, seconds);
        final double memcpyCold = memcpy(OUT_OF_CACHE_CHUNKS, seconds);
        final double floor = allocatorFloor(dir, seconds);
        final double handOver = handOverFloor(dir, seconds);
        return new double[] {sharena(dir, seconds), memcpy, memcpyCold, floor, handOver};
    }

    /**
     * The page allocator's own work per message, in one process: {@code allocPagesUninitialized(256)}
     * then {@code freePages} of them, {@link #WINDOW} in flight as in the pipeline.
     *
     * @return GB/s (MiB allocated and freed per second)
     */
    private static double allocatorFloor(final Path parent, final int seconds) throws Exception {
        final Path dir = Files.createTempDirectory(parent, "sharena-zc-floor-");
        final Path file = dir.resolve("floor.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse(CAPACITY), ArenaOptions.defaults().withReplace(true))) {
            final int[] held = new int[WINDOW];
            long pairs = 0;
            long start = 0;
            final long warmEnd = System.nanoTime() + WARMUP_NANOS;
            long end = Long.MAX_VALUE;
            long now;
            do {
                final int slot = (int) (pairs % WINDOW);
                if (held[slot] != 0) {
                    arena.freePages(held[slot], PAGES);
                }
                held[slot] = arena.allocPagesUninitialized(PAGES);
                if (held[slot] == 0) {
                    throw new IllegalStateException("allocPagesUninitialized failed: pages=" + PAGES + ", capacity=" + CAPACITY);
                }
                pairs++;
                now = System.nanoTime();
                if (start == 0 && now >= warmEnd) {
                    start = now;
                    end = start + seconds * 1_000_000_000L;
                    pairs = 0;
                }
            } while (now < end);
            for (final int p : held) {
                arena.freePages(p, PAGES);
            }
            final double gbs = (double) pairs * BYTES / (now - start);
            System.out.printf("allocator floor: allocPagesUninitialized(%d) + freePages, %d pairs in %.2f s, %.1f us per pair, "
                + "%.2f GB/s%n", PAGES, pairs, (now - start) / 1e9, (now - start) / 1e3 / pairs, gbs);
            return gbs;
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * How both sides wait (for a message, or for room in the window): a spin hint while the other
     * side is likely at work, and a yield now and then, so that on a busy machine a waiting side
     * gives its core to the one it waits for rather than spinning out its time slice.
     */
    private static void idle(final int worked) {
        if (worked > 0) {
            idleSpins = 0;
        } else if (++idleSpins < SPINS_BEFORE_YIELD) {
            Thread.onSpinWait();
        } else {
            idleSpins = 0;
            Thread.yield();
        }
    }

    private static final int SPINS_BEFORE_YIELD = 1_000;
    /** Each process has one waiting thread (this one): a static counter is its own. */
    private static int idleSpins;

    /** @return the minor page faults this process has taken so far, -1 where {@code /proc} is not there */
    static long minorFaults() {
        try {
            final String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command's closing parenthesis: state is the 3rd field, minflt the 10th.
            final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (final java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Baseline: 1 MiB native-to-native copies in one thread, the {@code j}-th copy from chunk
     * {@code j % chunks} of one region to the same chunk of another: one chunk stays in cache,
     * {@value #OUT_OF_CACHE_CHUNKS} chunks (2 × 64 MiB) do not.
     *
     * @return GB/s
     */
    private static double memcpy(final int chunks, final int seconds) {
        final long region = (long) chunks * BYTES;
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment src = a.allocate(region, Geometry.PAGE_SIZE);
            final MemorySegment dst = a.allocate(region, Geometry.PAGE_SIZE);
            src.fill((byte) 0x5A);
            dst.fill((byte) 0);
            final long warmEnd = System.nanoTime() + WARMUP_NANOS;
            long copies = 0;
            while (System.nanoTime() < warmEnd) {
                final long off = (copies++ % chunks) * BYTES;
                MemorySegment.copy(src, off, dst, off, BYTES);
            }
            copies = 0;
            final long start = System.nanoTime();
            final long end = start + seconds * 1_000_000_000L;
            long now;
            do {
                final long off = (copies++ % chunks) * BYTES;
                MemorySegment.copy(src, off, dst, off, BYTES);
                now = System.nanoTime();
            } while (now < end);
            if (dst.get(ValueLayout.JAVA_BYTE, region - 1) != 0x5A && copies >= chunks) {
                throw new IllegalStateException("copy lost bytes: last=" + dst.get(ValueLayout.JAVA_BYTE, region - 1));
            }
            final double gbs = (double) copies * BYTES / (now - start);
            System.out.printf("memcpy 1 MiB (%d MiB source, %d MiB destination): %d copies in %.2f s, %.2f GB/s%n",
                chunks, chunks, copies, (now - start) / 1e9, gbs);
            return gbs;
        }
    }

    /** Starts the sending child JVM, with the diagnostics' settings of this one. */
    private static Process startChild(final Path file, final int control, final String mode) throws java.io.IOException {
        return new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-D" + WINDOW_PROPERTY + "=" + WINDOW,
            "-D" + WRITE_PROPERTY + "=" + (WRITE_LONGS ? "longs" : "fill"),
            "-D" + REUSE_PROPERTY + "=" + (REUSE_FIFO ? "fifo" : "lifo"),
            "-cp", System.getProperty("java.class.path"), ZeroCopyBench.class.getName(), "child", file.toString(),
            Integer.toString(control), mode)
            .inheritIO().start();
    }

    /** Writes message {@code seq} into its 1 MiB at {@code ptr}: every byte {@link #fillValue}. */
    private static void write(final ArenaView view, final int ptr, final int seq) {
        if (!WRITE_LONGS) {
            view.fill(ptr, BYTES, fillValue(seq));
            return;
        }
        final MemorySegment segment = view.segment();
        final long at = ArenaPointers.offset(ptr);
        final long word = (fillValue(seq) & 0xFFL) * 0x0101_0101_0101_0101L;
        for (long i = 0; i < BYTES; i += 8) {
            segment.set(ValueLayout.JAVA_LONG_UNALIGNED, at + i, word);
        }
    }

    /** The byte value message {@code seq} is filled with: never 0, so untouched pages fail the check. */
    static byte fillValue(final int seq) {
        return (byte) (0x80 | seq);
    }

    /** Receives, reads and checks in place, frees; counts what lands inside the measured window. */
    private static final class Receiver implements MessageHandler {
        private final SharedArena arena;
        private final MemorySegment segment;
        private final int freedWord;
        long freed;
        long readNanos;
        long freeNanos;
        int expected;

        Receiver(final SharedArena arena, final int freedWord) {
            this.arena = arena;
            this.segment = arena.raw().segment();
            this.freedWord = freedWord;
        }

        @Override
        public void onMessage(final ArenaView view, final int type, final int ptr, final int length) {
            if (type != TYPE || length != MESSAGE) {
                throw new IllegalStateException("unexpected message: type=" + type + ", length=" + length);
            }
            final int pages = view.getInt(ptr);
            final int seq = view.getInt(ptr + 4);
            if (seq != expected) {
                throw new IllegalStateException("message out of order: seq=" + seq + ", expected=" + expected);
            }
            expected = seq + 1;
            final long t0 = System.nanoTime();
            final long bad = check(ArenaPointers.offset(pages), fillValue(seq));
            final long t1 = System.nanoTime();
            if (bad >= 0) {
                throw new IllegalStateException("message pages not as sent: seq=" + seq + ", ptr=0x"
                    + Integer.toHexString(pages) + ", first wrong byte at " + bad + ": "
                    + segment.get(ValueLayout.JAVA_BYTE, ArenaPointers.offset(pages) + bad) + ", expected=" + fillValue(seq));
            }
            arena.freePages(pages, PAGES);
            final long t2 = System.nanoTime();
            readNanos += t1 - t0;
            freeNanos += t2 - t1;
            // Publishes the free: the child may send one more.
            view.putLongRelease(freedWord, ++freed);
        }

        /**
         * The hand-over floor's poll: reads and checks each message the child published since the
         * last call, in order, frees its pages if {@code free} (the allocating diagnostic), and
         * publishes each free.
         *
         * @return messages handled
         */
        int handOver(final ArenaView view, final int sentWord, final int control, final boolean free) {
            final long sent = view.getLongAcquire(sentWord);
            int handled = 0;
            while (expected < sent) {
                final int seq = expected;
                final int ptr = view.getInt(control + SLOTS + 4 * (seq % WINDOW));
                final long at = ArenaPointers.offset(ptr);
                final long t0 = System.nanoTime();
                final long bad = check(at, fillValue(seq));
                final long t1 = System.nanoTime();
                if (bad >= 0) {
                    throw new IllegalStateException("hand-over buffer not as sent: seq=" + seq + ", ptr=0x"
                        + Integer.toHexString(ptr) + ", first wrong byte at " + bad + ": "
                        + segment.get(ValueLayout.JAVA_BYTE, at + bad) + ", expected=" + fillValue(seq));
                }
                if (free) {
                    arena.freePages(ptr, PAGES);
                }
                readNanos += t1 - t0;
                freeNanos += System.nanoTime() - t1;
                expected = seq + 1;
                handled++;
                // Publishes the free: the child may write this buffer again.
                view.putLongRelease(freedWord, ++freed);
            }
            return handled;
        }

        /**
         * Reads the message's every byte where it lies: its first line by hand, then the message
         * against itself one line on (equal only if every line equals the one before).
         *
         * @return the offset of the first byte that is not {@code value}, or -1
         */
        private long check(final long at, final byte value) {
            final long word = (value & 0xFFL) * 0x0101_0101_0101_0101L;
            for (int i = 0; i < LINE; i += 8) {
                if (segment.get(ValueLayout.JAVA_LONG_UNALIGNED, at + i) != word) {
                    return i;
                }
            }
            final long m = MemorySegment.mismatch(segment, at, at + BYTES - LINE, segment, at + LINE, at + BYTES);
            return m < 0 ? -1 : m + LINE;
        }
    }

    /** @return the control page, zeroed (the stop flag and counters start at 0) */
    private static int controlPage(final SharedArena arena) {
        final int control = arena.allocPages(1);
        if (control == 0) {
            throw new IllegalStateException("no room for the control page: capacity=" + CAPACITY);
        }
        return control;
    }

    /** @return GB/s delivered and read */
    private static double sharena(final Path parent, final int seconds) throws Exception {
        final Path dir = Files.createTempDirectory(parent, "sharena-zc-");
        final Path file = dir.resolve("zero-copy.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse(CAPACITY),
                 ArenaOptions.defaults().withReplace(true))) {
            final ArenaView view = arena.raw();
            final int control = controlPage(arena);
            final Channel channel = Channel.create(arena, CHANNEL, 1, RING_BYTES, MESSAGE);
            final Receiver receiver = new Receiver(arena, control + FREED);
            final Process child;
            final double gbs;
            try (ChannelConsumer consumer = channel.consumer()) {
                child = startChild(file, control, zeroed ? "zeroed" : "uninitialized");
                // Warm up from the first message on, then count whole messages for the given time.
                while (receiver.freed == 0) {
                    idle(consumer.poll(receiver, WINDOW));
                    if (!child.isAlive()) {
                        throw new IllegalStateException("child exited before its first message: exit=" + child.exitValue());
                    }
                }
                final long warmEnd = System.nanoTime() + WARMUP_NANOS;
                while (System.nanoTime() < warmEnd) {
                    idle(consumer.poll(receiver, WINDOW));
                }
                final long freed0 = receiver.freed;
                final long read0 = receiver.readNanos;
                final long free0 = receiver.freeNanos;
                final long faults0 = minorFaults();
                final long start = System.nanoTime();
                final long end = start + seconds * 1_000_000_000L;
                long now;
                do {
                    idle(consumer.poll(receiver, WINDOW));
                    now = System.nanoTime();
                } while (now < end);
                final long faults = minorFaults() - faults0;
                final long messages = receiver.freed - freed0;
                gbs = (double) messages * BYTES / (now - start);
                System.out.printf("sharena 1 MiB zero-copy: %d messages in %.2f s, %.2f GB/s; receiver per message: "
                        + "read and check in place %.1f us, freePages %.1f us, waiting %.1f us, page faults %.2f%n",
                    messages, (now - start) / 1e9, gbs, (receiver.readNanos - read0) / 1e3 / messages,
                    (receiver.freeNanos - free0) / 1e3 / messages,
                    ((now - start) - (receiver.readNanos - read0) - (receiver.freeNanos - free0)) / 1e3 / messages,
                    (double) faults / messages);

                // Stop the child, then drain what it had in flight, so every page is freed.
                view.putLongRelease(control + STOP, 1);
                while (child.isAlive()) {
                    idle(consumer.poll(receiver, WINDOW));
                }
                consumer.poll(receiver, Integer.MAX_VALUE);
            }
            if (child.waitFor() != 0) {
                throw new IllegalStateException("child failed: exit=" + child.exitValue());
            }
            arena.freePages(control, 1);
            return gbs;
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The hand-over floor: what moving 1 MiB from one core to another costs on this machine with
     * no allocator and no channel. The buffers ({@link #WINDOW} of 1 MiB, arena pages taken once
     * here, before the clock starts) are the same kind of memory as the zero-copy scenario's (one
     * shared file mapping in both processes); the child writes a message into one with the same
     * fill, publishes its index and the new sent count with a release store; this process reads
     * and checks every byte with the same check, then publishes the freed count. The child takes
     * the buffer freed last first (a stack of what it saw freed), as the allocator hands back the
     * run freed last, so the buffers rotate as the scenario's pages do; the window, the waiting
     * and the per-side timings are the scenario's.
     *
     * @return GB/s delivered and read
     */
    private static double handOverFloor(final Path parent, final int seconds) throws Exception {
        return handOver(parent, seconds, false);
    }

    /**
     * The hand-over floor, or with {@code allocating} a diagnostic between it and the scenario:
     * the child allocates and this process frees, as in the scenario, but the pointer goes through
     * the floor's counter instead of a channel.
     */
    private static double handOver(final Path parent, final int seconds, final boolean allocating) throws Exception {
        final String what = allocating ? "allocator, counter hand-over (no channel)" : "hand-over floor (no allocator, no channel)";
        final Path dir = Files.createTempDirectory(parent, "sharena-zc-handover-");
        final Path file = dir.resolve("handover.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse(CAPACITY),
                 ArenaOptions.defaults().withReplace(true))) {
            final ArenaView view = arena.raw();
            final int control = controlPage(arena);
            final int[] buffers = new int[WINDOW];
            for (int b = 0; b < WINDOW; b++) {
                buffers[b] = arena.allocPagesUninitialized(PAGES);
                if (buffers[b] == 0) {
                    throw new IllegalStateException("no room for the floor's buffers: buffers=" + WINDOW + ", capacity="
                        + CAPACITY);
                }
                view.putInt(control + BUFFERS + 4 * b, buffers[b]);
            }
            if (allocating) {
                for (final int b : buffers) {
                    arena.freePages(b, PAGES);
                }
            }
            final Receiver receiver = new Receiver(arena, control + FREED);
            final Process child = startChild(file, control, allocating ? "handover-allocating" : "handover");
            final int sentWord = control + SENT;
            while (receiver.freed == 0) {
                idle(receiver.handOver(view, sentWord, control, allocating));
                if (!child.isAlive()) {
                    throw new IllegalStateException("child exited before its first message: exit=" + child.exitValue());
                }
            }
            final long warmEnd = System.nanoTime() + WARMUP_NANOS;
            while (System.nanoTime() < warmEnd) {
                idle(receiver.handOver(view, sentWord, control, allocating));
            }
            final long freed0 = receiver.freed;
            final long read0 = receiver.readNanos;
            final long free0 = receiver.freeNanos;
            final long start = System.nanoTime();
            final long end = start + seconds * 1_000_000_000L;
            long now;
            do {
                idle(receiver.handOver(view, sentWord, control, allocating));
                now = System.nanoTime();
            } while (now < end);
            final long messages = receiver.freed - freed0;
            final double gbs = (double) messages * BYTES / (now - start);
            System.out.printf("%s: %d messages in %.2f s, %.2f GB/s; receiver per message: read and check in place %.1f us, "
                    + "freePages %.1f us, waiting %.1f us%n", what, messages, (now - start) / 1e9, gbs,
                (receiver.readNanos - read0) / 1e3 / messages, (receiver.freeNanos - free0) / 1e3 / messages,
                ((now - start) - (receiver.readNanos - read0) - (receiver.freeNanos - free0)) / 1e3 / messages);
            view.putLongRelease(control + STOP, 1);
            while (child.isAlive()) {
                idle(receiver.handOver(view, sentWord, control, allocating));
            }
            receiver.handOver(view, sentWord, control, allocating);
            if (child.waitFor() != 0) {
                throw new IllegalStateException("child failed: exit=" + child.exitValue());
            }
            if (!allocating) {
                for (final int b : buffers) {
                    arena.freePages(b, PAGES);
                }
            }
            arena.freePages(control, 1);
            return gbs;
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The floor's sender: the scenario's child without the allocator and the channel. Its free
     * buffers are a double-ended queue; what the receiver freed since the last look is added in the
     * order it was freed, and the child takes the one freed last ({@link #REUSE_FIFO}: first).
     */
    private static void handOverChild(final SharedArena arena, final int control, final boolean allocating) {
        final ArenaView view = arena.raw();
        final int stopWord = control + STOP;
        final int freedWord = control + FREED;
        final int sentWord = control + SENT;
        final int[] buffers = new int[WINDOW];
        // Free buffers, oldest free at first, newest at last - 1 (both counting up, modulo WINDOW).
        final int[] free = new int[WINDOW];
        final int[] sentIn = new int[WINDOW];
        for (int b = 0; b < WINDOW; b++) {
            buffers[b] = view.getInt(control + BUFFERS + 4 * b);
            free[b] = WINDOW - 1 - b; // buffer 0 freed last
        }
        long first = 0;
        long last = WINDOW;
        long reclaimed = 0;
        int seq = 0;
        long allocNanos = 0;
        long fillNanos = 0;
        final long faults0 = minorFaults();
        while (view.getLongAcquire(stopWord) == 0) {
            final long freed = view.getLongAcquire(freedWord);
            while (reclaimed < freed) {
                free[(int) (last++ % WINDOW)] = sentIn[(int) (reclaimed++ % WINDOW)];
            }
            if (first == last) {
                idle(0);
                continue;
            }
            final long t0 = System.nanoTime();
            final int ptr = allocating ? arena.allocPagesUninitialized(PAGES) : 1;
            if (ptr == 0) {
                continue; // lock timeout or arena full: try again
            }
            final int b = REUSE_FIFO ? free[(int) (first++ % WINDOW)] : free[(int) (--last % WINDOW)];
            final int at = allocating ? ptr : buffers[b];
            final long t1 = System.nanoTime();
            write(view, at, seq);
            allocNanos += t1 - t0;
            fillNanos += System.nanoTime() - t1;
            sentIn[seq % WINDOW] = b;
            view.putInt(control + SLOTS + 4 * (seq % WINDOW), at);
            seq++;
            // Publishes the message's bytes and its slot.
            view.putLongRelease(sentWord, seq);
        }
        System.out.printf("[child] %s: sent %d messages; per message: %s %.1f us, write (%s) %.1f us, page faults %.2f%n",
            allocating ? "allocator, counter hand-over" : "hand-over floor", seq,
            allocating ? "allocPagesUninitialized" : "take a free buffer",
            allocNanos / 1e3 / Math.max(seq, 1), WRITE_LONGS ? "longs" : "fill", fillNanos / 1e3 / Math.max(seq, 1),
            (double) (minorFaults() - faults0) / Math.max(seq, 1));
    }

    private static void child(final Path file, final int control, final boolean zeroedPages) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults());
             ChannelProducer producer = Channel.open(arena, CHANNEL).producer()) {
            final ArenaView view = arena.raw();
            final int stopWord = control + STOP;
            final int freedWord = control + FREED;
            int seq = 0;
            final long faults0 = minorFaults();
            long allocNanos = 0;
            long fillNanos = 0;
            long allocFailed = 0;
            while (view.getLongAcquire(stopWord) == 0) {
                if (seq - view.getLongAcquire(freedWord) >= WINDOW) {
                    idle(0);
                    continue;
                }
                final long t0 = System.nanoTime();
                final int pages = zeroedPages ? arena.allocPages(PAGES) : arena.allocPagesUninitialized(PAGES);
                if (pages == 0) {
                    allocFailed++; // lock timeout or arena full: try again
                    continue;
                }
                final long t1 = System.nanoTime();
                write(view, pages, seq);
                final long t2 = System.nanoTime();
                allocNanos += t1 - t0;
                fillNanos += t2 - t1;
                int payload;
                // Cannot stay full: the window is far below the ring's 256 records.
                while ((payload = producer.claim(TYPE, MESSAGE)) == 0) {
                    Thread.onSpinWait();
                }
                view.putInt(payload, pages);
                view.putInt(payload + 4, seq);
                producer.commit();
                seq++;
            }
            System.out.printf("[child] sent %d messages; per message: %s %.1f us, write (%s) %.1f us, page faults %.2f; "
                + "failed allocations %d%n", seq, zeroedPages ? "allocPages" : "allocPagesUninitialized",
                allocNanos / 1e3 / Math.max(seq, 1), WRITE_LONGS ? "longs" : "fill", fillNanos / 1e3 / Math.max(seq, 1),
                (double) (minorFaults() - faults0) / Math.max(seq, 1), allocFailed);
        }
    }
}
