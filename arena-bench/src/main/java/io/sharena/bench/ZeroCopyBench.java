package io.sharena.bench;

import io.sharena.core.ArenaOptions;
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
 * Zero-copy messages of 1 MiB between two processes: a child JVM allocates 256 arena pages, fills
 * them, and sends their arena pointer (8 bytes) through a one-lane {@link Channel}; this process
 * receives the pointer, reads the 1 MiB in place and frees the pages. Reports the bytes delivered
 * and read per second over the measured time, against the bandwidth of one process copying 1 MiB
 * between two native segments with {@link MemorySegment#copy} (memory bandwidth, the floor of any
 * hand-over that copies), and the ratio.
 *
 * <p>Target (issue): {@code sharena / memcpy ≥ 0.5} in GB/s (10<sup>9</sup> bytes per second on
 * both sides).
 *
 * <p>What each side does per MiB:
 * <ul>
 *   <li>The child allocates ({@link SharedArena#allocPagesUninitialized(int)
 *       allocPagesUninitialized(256)}: past the largest span-cache class, so the allocator lock;
 *       the pages are the dirty ones a recent free left, still committed and mapped, and are not
 *       zeroed since the child overwrites them all; {@code zeroed} as the third argument uses
 *       {@code allocPages} instead, for comparison), fills the pages with one
 *       byte value ({@link ArenaView#fill}), and claims, writes and commits one 8-byte message
 *       (pointer, sequence). It fills because a real producer writes its message: not filling
 *       would time a hand-over of pages nobody wrote, and leave the write faults of the child's
 *       mapping out of the bill.</li>
 *   <li>This process, in the message handler, copies the 1 MiB from the message's pages into a
 *       local native buffer ({@link ArenaView#copyTo}), checks the first and last byte against the
 *       sender's value, and frees the pages ({@link SharedArena#freePages}: the lock; the pages stay
 *       committed, dirty, for the next allocation). The copy is the same {@link MemorySegment#copy} of 1 MiB
 *       the baseline times, so per byte both sides do the same reading and writing; whatever the
 *       ratio loses is what the cross-process hand-over costs: allocation, page faults in two
 *       mappings, the channel, the free.</li>
 *   <li>Baseline: one thread copies a filled 1 MiB native segment into another, in a loop; both
 *       stay mapped and resident, so it pays no fault at all, and both stay in cache (the ratio
 *       the target is about). For scale, a second baseline cycles through 64 MiB on each side,
 *       out of cache: what a copy costs at DRAM speed.</li>
 * </ul>
 * The child keeps at most {@value #WINDOW} messages in flight (sent, not yet freed: a counter this
 * process publishes after each free), so the pages in flight stay a few MiB and the test measures
 * a pipeline, not the arena filling up. With two processes the pipeline uses two cores (the child
 * fills while this process copies); the baseline uses one.
 *
 * <p>The arena file is created in a fresh directory under {@code java.io.tmpdir}, or the directory
 * given, and deleted at the end: where it lives matters ({@code fallocate} and hole punching are
 * the file system's), so run it on the file system the arena will use, {@code /dev/shm} for tmpfs.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp arena-bench/target/benchmarks.jar
 * io.sharena.bench.ZeroCopyBench [seconds] [directory]}.
 */
public final class ZeroCopyBench {
    static final int PAGES = 256;
    static final int BYTES = (int) Geometry.pageBytes(PAGES);
    /** Messages the child may have in flight (sent, not yet freed). */
    static final int WINDOW = 4;
    static final long WARMUP_NANOS = 2_000_000_000L;
    /** Chunks of the out-of-cache baseline: 64 MiB per side, twice the last-level cache here. */
    static final int OUT_OF_CACHE_CHUNKS = 64;
    private static final String CHANNEL = "zero-copy";
    private static final int TYPE = 1;
    /** Message: the pages' arena pointer, then the sequence number. */
    private static final int MESSAGE = 8;
    private static final int RING_BYTES = 4096;
    private static final String CAPACITY = "1G";
    /** Control page: the stop flag (this process writes), and the freed count on its own line. */
    private static final int STOP = 0;
    private static final int FREED = 128;

    /** Whether the child uses {@code allocPages} (zeroed) rather than {@code allocPagesUninitialized}. */
    private static boolean zeroed;

    private ZeroCopyBench() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(Path.of(args[1]), Integer.parseInt(args[2]), args.length > 3 && args[3].equals("zeroed"));
            return;
        }
        zeroed = args.length > 2 && args[2].equals("zeroed");
        final int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        final Path parent = Path.of(args.length > 1 ? args[1] : System.getProperty("java.io.tmpdir"));
        final double[] r = measure(seconds, parent);
        final double sharena = r[0];
        final double memcpy = r[1];
        final double memcpyCold = r[2];
        System.out.printf("1 MiB messages: sharena cross-process zero-copy %.2f GB/s, single-process memcpy %.2f GB/s, "
            + "ratio %.3f (target >= 0.5); against memcpy out of cache (%.2f GB/s) %.3f%n", sharena, memcpy,
            sharena / memcpy, memcpyCold, sharena / memcpyCold);
    }

    /** @return {sharena GB/s, memcpy in cache GB/s, memcpy out of cache GB/s} */
    public static double[] measure(final int seconds, final Path dir) throws Exception {
        final double memcpy = memcpy(1, seconds);
        final double memcpyCold = memcpy(OUT_OF_CACHE_CHUNKS, seconds);
        return new double[] {sharena(dir, seconds), memcpy, memcpyCold};
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

    /** The byte value message {@code seq} is filled with: never 0, so untouched pages fail the check. */
    static byte fillValue(final int seq) {
        return (byte) (0x80 | seq);
    }

    /** Receives, reads in place (copy out), frees; counts what lands inside the measured window. */
    private static final class Receiver implements MessageHandler {
        private final SharedArena arena;
        private final MemorySegment local;
        private final int freedWord;
        long freed;
        long copyNanos;
        long freeNanos;
        int expected;

        Receiver(final SharedArena arena, final MemorySegment local, final int freedWord) {
            this.arena = arena;
            this.local = local;
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
            view.copyTo(pages, local, 0, BYTES);
            final long t1 = System.nanoTime();
            final byte want = fillValue(seq);
            if (local.get(ValueLayout.JAVA_BYTE, 0) != want || local.get(ValueLayout.JAVA_BYTE, BYTES - 1) != want) {
                throw new IllegalStateException("message pages not as sent: seq=" + seq + ", ptr=0x"
                    + Integer.toHexString(pages) + ", first=" + local.get(ValueLayout.JAVA_BYTE, 0)
                    + ", last=" + local.get(ValueLayout.JAVA_BYTE, BYTES - 1) + ", expected=" + want);
            }
            arena.freePages(pages, PAGES);
            final long t2 = System.nanoTime();
            copyNanos += t1 - t0;
            freeNanos += t2 - t1;
            // Publishes the free: the child may send one more.
            view.putLongRelease(freedWord, ++freed);
        }
    }

    /** @return GB/s delivered and read */
    private static double sharena(final Path parent, final int seconds) throws Exception {
        final Path dir = Files.createTempDirectory(parent, "sharena-zc-");
        final Path file = dir.resolve("zero-copy.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse(CAPACITY),
                 ArenaOptions.defaults().withReplace(true));
             Arena local = Arena.ofConfined()) {
            final ArenaView view = arena.raw();
            final int control = arena.allocPages(1);
            if (control == 0) {
                throw new IllegalStateException("no room for the control page: capacity=" + CAPACITY);
            }
            final Channel channel = Channel.create(arena, CHANNEL, 1, RING_BYTES, MESSAGE);
            final Receiver receiver = new Receiver(arena, local.allocate(BYTES, Geometry.PAGE_SIZE), control + FREED);
            final Process child;
            final double gbs;
            try (ChannelConsumer consumer = channel.consumer()) {
                child = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    ZeroCopyBench.class.getName(), "child", file.toString(), Integer.toString(control),
                    zeroed ? "zeroed" : "uninitialized")
                    .inheritIO().start();
                // Warm up from the first message on, then count whole messages for the given time.
                while (receiver.freed == 0) {
                    consumer.poll(receiver, WINDOW);
                    if (!child.isAlive()) {
                        throw new IllegalStateException("child exited before its first message: exit=" + child.exitValue());
                    }
                }
                final long warmEnd = System.nanoTime() + WARMUP_NANOS;
                while (System.nanoTime() < warmEnd) {
                    consumer.poll(receiver, WINDOW);
                }
                final long freed0 = receiver.freed;
                final long copy0 = receiver.copyNanos;
                final long free0 = receiver.freeNanos;
                final long start = System.nanoTime();
                final long end = start + seconds * 1_000_000_000L;
                long now;
                do {
                    consumer.poll(receiver, WINDOW);
                    now = System.nanoTime();
                } while (now < end);
                final long messages = receiver.freed - freed0;
                gbs = (double) messages * BYTES / (now - start);
                System.out.printf("sharena 1 MiB zero-copy: %d messages in %.2f s, %.2f GB/s; receiver per message: "
                        + "copy %.1f us, freePages %.1f us, waiting %.1f us%n",
                    messages, (now - start) / 1e9, gbs, (receiver.copyNanos - copy0) / 1e3 / messages,
                    (receiver.freeNanos - free0) / 1e3 / messages,
                    ((now - start) - (receiver.copyNanos - copy0) - (receiver.freeNanos - free0)) / 1e3 / messages);

                // Stop the child, then drain what it had in flight, so every page is freed.
                view.putLongRelease(control + STOP, 1);
                while (child.isAlive()) {
                    consumer.poll(receiver, WINDOW);
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

    private static void child(final Path file, final int control, final boolean zeroedPages) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults());
             ChannelProducer producer = Channel.open(arena, CHANNEL).producer()) {
            final ArenaView view = arena.raw();
            final int stopWord = control + STOP;
            final int freedWord = control + FREED;
            int seq = 0;
            long allocNanos = 0;
            long fillNanos = 0;
            long allocFailed = 0;
            while (view.getLongAcquire(stopWord) == 0) {
                if (seq - view.getLongAcquire(freedWord) >= WINDOW) {
                    Thread.onSpinWait();
                    continue;
                }
                final long t0 = System.nanoTime();
                final int pages = zeroedPages ? arena.allocPages(PAGES) : arena.allocPagesUninitialized(PAGES);
                if (pages == 0) {
                    allocFailed++; // lock timeout or arena full: try again
                    continue;
                }
                final long t1 = System.nanoTime();
                view.fill(pages, BYTES, fillValue(seq));
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
            System.out.printf("[child] sent %d messages; per message: %s %.1f us, fill %.1f us; "
                + "failed allocations %d%n", seq, zeroedPages ? "allocPages" : "allocPagesUninitialized", allocNanos / 1e3 / Math.max(seq, 1), fillNanos / 1e3 / Math.max(seq, 1),
                allocFailed);
        }
    }
}
