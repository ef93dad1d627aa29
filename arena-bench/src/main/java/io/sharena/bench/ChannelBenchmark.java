package io.sharena.bench;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.channel.MessageHandler;
import io.sharena.ipc.heap.LocalHeap;
import io.sharena.ipc.heap.ObjectHeap;
import org.agrona.IoUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * A channel message's single-thread round trip, and a small heap object's allocate + free, against
 * what a JVM user would otherwise pick, in the same run:
 * <ul>
 *   <li>{@link #channelOfferPoll100}: one thread offers one 100-byte message on a one-lane
 *       {@link Channel} ({@link ChannelProducer#offer(int, byte[], int, int)}) and polls it back
 *       ({@link ChannelConsumer#poll}), against {@link #agronaOneToOneOfferRead100}: the same on
 *       Agrona's {@link OneToOneRingBuffer} over an {@link UnsafeBuffer} wrapping a file mapped with
 *       {@link FileChannel#map} (a {@link MappedByteBuffer}), what low-latency Java IPC is usually
 *       built on;</li>
 *   <li>{@link #heapLocalAllocFree64}: {@link LocalHeap#allocate(int) allocate(64)} and
 *       {@link LocalHeap#free(int) free} through the thread's {@link LocalHeap}, which keeps the
 *       object the free gave it for the next allocate, against
 *       {@link #arenaOfConfinedAllocate64}: a confined {@link Arena} allocating 64 bytes and
 *       closed (both confined to one thread);</li>
 *   <li>{@link #heapAllocFree64}: {@link ObjectHeap#allocate(int) allocate(64)} and
 *       {@link ObjectHeap#free(int) free} through the shared free stacks, the only object of its
 *       page ({@link #heapAllocFree64PageInUse}: with another one in use there).</li>
 * </ul>
 *
 * <p>Targets, in ns/op: {@code channelOfferPoll100 / agronaOneToOneOfferRead100 ≤ 1.0};
 * {@code heapLocalAllocFree64 / arenaOfConfinedAllocate64 ≤ 1.0}; {@code heapAllocFree64} and
 * {@code heapAllocFree64PageInUse} are reported. The floors, reported beside them: {@link #ffmCopy100} against
 * {@link #agronaPutBytes100} (the payload copy alone, FFM's against Agrona's),
 * {@link #localAtomicsFloor64} (the two atomic bit operations a heap that detects double frees
 * needs) and {@link #sharedAtomicsFloor64} (with the shared stacks' two CAS). {@code gc.alloc.rate.norm} ≈ 0 B/op on every sharena path ({@code -prof gc}); the
 * baselines' is reported too.
 *
 * <p>What each side does per operation. Channel and ring: copy the same 100 bytes from an on-heap
 * source into the ring (the channel from a {@code byte[]}, Agrona from an {@link UnsafeBuffer}
 * wrapping that array), publish, read back with a message-count limit of {@value #POLL_LIMIT},
 * and hand the message in place to a handler that loads its first long. Both rings are
 * {@value #RING_BYTES} bytes of a file in {@code java.io.tmpdir} and both records take 112 bytes
 * (8 of header, 100 of payload, 4 of alignment), so both rings wrap every 585 messages. Agrona's
 * read stops at the end of its buffer, so at a wrap it takes a second read call (the channel's
 * poll steps over the padding record in the same call). Both publish a record by a release store
 * of its length word and have the consumer zero what it consumed before the producer writes there
 * again: Agrona at each read, the channel in batches of up to 4 KiB. Both store TAIL at each write
 * and HEAD at each read; the channel also stores the position of the message in hand (what a
 * consumer's successor needs after a kill). Heap and arena: get 64 zeroed bytes, write one long, give them back.
 *
 * <p>Forks: the sharena benchmarks' forks get {@code --enable-native-access=ALL-UNNAMED} and
 * nothing else. Agrona 2's {@link UnsafeBuffer} is built on {@code jdk.internal.misc.Unsafe}:
 * its fork gets {@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED} and nothing else (a
 * method-level {@link Fork}, which replaces the class's). Without the export the fork fails with
 * an {@link IllegalAccessError} in {@code org.agrona.UnsafeApi}; on JDK 25 no {@code --add-opens}
 * is needed, the mapped buffer's address is read through that same internal {@code Unsafe}.
 *
 * <p>State is per thread and per side: a {@link SharenaSide} maps its own arena, with the channel
 * and the heap in it; an {@link AgronaSide} maps its own ring file. Both files are created in a
 * fresh directory under {@code java.io.tmpdir} and deleted at teardown. A fork only sets up the
 * side its benchmark uses, so the Agrona fork never maps an arena.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ChannelBenchmark {
    static final int MESSAGE = 100;
    static final int POLL_LIMIT = 16;
    static final int RING_BYTES = 64 * 1024;
    static final int MAX_MESSAGE = 1024;
    static final int TYPE = 7;
    static final int OBJECT = 64;
    private static final String CAPACITY = "64M";
    private static final String CHANNEL = "bench.channel";
    /** Offsets in the floors' page: the in-use word on its own line, then the payload. */
    private static final int FLOOR_BITMAP = 64;
    private static final int FLOOR_PAYLOAD = 128;

    /** Fills the message: a non-zero pattern, so that a handler reading zeros would be wrong. */
    static byte[] message() {
        final byte[] bytes = new byte[MESSAGE];
        for (int i = 0; i < MESSAGE; i++) {
            bytes[i] = (byte) (i + 1);
        }
        return bytes;
    }

    static Path tempDir() throws IOException {
        return Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "sharena-bench-");
    }

    /** One arena per thread: a one-lane channel whose producer and consumer are this thread, and the heap. */
    @State(Scope.Thread)
    public static class SharenaSide implements MessageHandler {
        private Path dir;
        private Path file;
        private SharedArena arena;

        ChannelProducer producer;
        ChannelConsumer consumer;
        ObjectHeap heap;
        /** This thread's local heap: JMH runs a thread-scoped state's setup and teardown in the thread it measures. */
        LocalHeap local;
        ArenaView view;
        /** A page of its own for the floors: shared words and a payload area, never the heap's or a ring's. */
        int floorPage;
        final byte[] src = message();
        /** What the handler read last: kept, so the read is not dead code. */
        long first;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = tempDir();
            file = dir.resolve("channel.arena");
            arena = SharedArena.create(file, Capacity.parse(CAPACITY), ArenaOptions.defaults().withReplace(true));
            view = arena.raw();
            final Channel channel = Channel.create(arena, CHANNEL, 1, RING_BYTES, MAX_MESSAGE);
            producer = channel.producer();
            consumer = channel.consumer();
            heap = ObjectHeap.of(arena);
            // Prime the class: the first allocate refills it with a slab page; from then on every
            // timed pair is one pop and one push on a page that stays.
            heap.free(heap.allocate(OBJECT));
            local = heap.local();
            floorPage = arena.allocPages(1);
            if (floorPage == 0) {
                throw new IllegalStateException("no page for the floors: capacity=" + CAPACITY);
            }
        }

        @Override
        public void onMessage(final ArenaView v, final int type, final int ptr, final int length) {
            first = v.getLong(ptr);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            try {
                if (local != null) {
                    local.close();
                }
                if (consumer != null) {
                    consumer.close();
                }
                if (producer != null) {
                    producer.close();
                }
                if (arena != null) {
                    arena.close();
                }
            } finally {
                arena = null;
                producer = null;
                consumer = null;
                heap = null;
                view = null;
                if (file != null) {
                    Files.deleteIfExists(file);
                }
                if (dir != null) {
                    Files.deleteIfExists(dir);
                }
            }
        }
    }

    /** One ring file per thread: Agrona's one-to-one ring over a {@link MappedByteBuffer}. */
    @State(Scope.Thread)
    public static class AgronaSide implements org.agrona.concurrent.MessageHandler {
        private Path dir;
        private Path file;
        private MappedByteBuffer mapped;

        OneToOneRingBuffer ring;
        final UnsafeBuffer src = new UnsafeBuffer(message());
        /** What the handler read last: kept, so the read is not dead code. */
        long first;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = tempDir();
            file = dir.resolve("ring.agrona");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
                // Mapping past the end grows the file, zero-filled: a fresh ring.
                mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, RING_BYTES + RingBufferDescriptor.TRAILER_LENGTH);
            }
            ring = new OneToOneRingBuffer(new UnsafeBuffer(mapped));
        }

        @Override
        public void onMessage(final int type, final MutableDirectBuffer buffer, final int index, final int length) {
            first = buffer.getLong(index);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            try {
                if (mapped != null) {
                    IoUtil.unmap(mapped);
                }
            } finally {
                mapped = null;
                ring = null;
                if (file != null) {
                    Files.deleteIfExists(file);
                }
                if (dir != null) {
                    Files.deleteIfExists(dir);
                }
            }
        }
    }

    /**
     * One more 64-byte object, kept for the whole trial, so that the slab page the timed pairs use
     * always has an object in use: the common steady state, where a pair does not flip the page's
     * empty hint (two fewer atomics than a pair on a page with nothing else in use). It dies with
     * the arena.
     */
    @State(Scope.Thread)
    public static class PageInUse {
        int pinned;

        @Setup(Level.Trial)
        public void setUp(final SharenaSide s) {
            pinned = s.heap.allocate(OBJECT);
            if (pinned == 0) {
                throw new IllegalStateException("heap allocate returned 0: size=" + OBJECT + ", capacity=" + CAPACITY);
            }
        }
    }

    /** Built only on the failure path. */
    private static IllegalStateException ringFailed(final String what, final int result) {
        return new IllegalStateException("one message in, one out, failed: step=" + what + ", result=" + result);
    }

    // ---------------------------------------------------------------- channel

    /** Offer 100 bytes on the channel's one lane, then poll them back, same thread. */
    @Benchmark
    public long channelOfferPoll100(final SharenaSide s) {
        if (!s.producer.offer(TYPE, s.src, 0, MESSAGE)) {
            throw ringFailed("offer", 0);
        }
        final int n = s.consumer.poll(s, POLL_LIMIT);
        if (n != 1) {
            throw ringFailed("poll", n);
        }
        return s.first;
    }

    /** Write 100 bytes to Agrona's one-to-one ring, then read them back, same thread. */
    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
    public long agronaOneToOneOfferRead100(final AgronaSide a) {
        if (!a.ring.write(TYPE, a.src, 0, MESSAGE)) {
            throw ringFailed("write", 0);
        }
        final OneToOneRingBuffer r = a.ring;
        int n = r.read(a, POLL_LIMIT);
        if (n == 0) {
            // Agrona's read stops at the end of the buffer: at a wrap (one message in 585) the
            // first read only consumes the padding record, the second finds the message.
            n = r.read(a, POLL_LIMIT);
        }
        if (n != 1) {
            throw ringFailed("read", n);
        }
        return a.first;
    }

    /**
     * Floor of the channel's offer: the one copy every offer makes, 100 bytes from a {@code byte[]}
     * into the mapped arena through FFM ({@link ArenaView#putBytes}, one
     * {@link MemorySegment#copy}), against the same copy by Agrona ({@link UnsafeBuffer#putBytes}
     * into its mapped ring).
     */
    @Benchmark
    public int ffmCopy100(final SharenaSide s) {
        s.view.putBytes(s.floorPage + FLOOR_PAYLOAD, s.src, 0, MESSAGE);
        return s.floorPage;
    }

    /** {@link #ffmCopy100}'s counterpart: Agrona's copy of the same 100 bytes into its mapped ring. */
    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
    public int agronaPutBytes100(final AgronaSide a) {
        a.ring.buffer().putBytes(0, a.src, 0, MESSAGE);
        return a.ring.capacity();
    }

    // ---------------------------------------------------------------- heap

    /**
     * Floor of {@link #heapAllocFree64}: what a lock-free heap shared by processes, that detects a
     * second free of an object, cannot do without, on words of the mapped arena: a CAS of a
     * free-stack head (pop), an atomic set of an in-use bit, zeroing 64 bytes and one write, an
     * atomic clear of the bit (which tells a second free), and a CAS of the head (push). No
     * checks, no size classes.
     */
    @Benchmark
    public long sharedAtomicsFloor64(final SharenaSide s) {
        final ArenaView v = s.view;
        final int page = s.floorPage;
        long head = v.getLongAcquire(page);
        v.compareAndSetLong(page, head, head + 1);
        v.getAndBitwiseOrLong(page + FLOOR_BITMAP, 1L);
        final int obj = page + FLOOR_PAYLOAD;
        for (int i = 0; i < OBJECT; i += 8) {
            v.putLong(obj + i, 0L);
        }
        v.putLong(obj, obj);
        v.getAndBitwiseAndLong(page + FLOOR_BITMAP, ~1L);
        head = v.getLongAcquire(page);
        v.compareAndSetLong(page, head, head + 1);
        return head;
    }

    /**
     * Floor of {@link #heapLocalAllocFree64}: what a heap that detects a second free of an object,
     * from any process, cannot do without even when a thread keeps its own freed objects: an atomic
     * set of the object's in-use bit, zeroing 64 bytes and one write, an atomic clear of the bit,
     * and the store that marks it kept. No checks, no size classes.
     */
    @Benchmark
    public long localAtomicsFloor64(final SharenaSide s) {
        final ArenaView v = s.view;
        final int page = s.floorPage;
        v.getAndBitwiseOrLong(page + FLOOR_BITMAP, 1L);
        final int obj = page + FLOOR_PAYLOAD;
        for (int i = 0; i < OBJECT; i += 8) {
            v.putLong(obj + i, 0L);
        }
        v.putLong(obj, obj);
        final long word = v.getAndBitwiseAndLong(page + FLOOR_BITMAP, ~1L);
        v.putLong(obj, word);
        return word;
    }

    /**
     * 64-byte object: allocate (a pop, zeroed), one write, free (a push). The object is the only
     * one in use on its page, so each pair also flips the page's empty hint (one more get-and-add
     * each way).
     */
    @Benchmark
    public int heapAllocFree64(final SharenaSide s) {
        final ObjectHeap h = s.heap;
        final int ptr = h.allocate(OBJECT);
        if (ptr == 0) {
            throw new IllegalStateException("heap allocate returned 0: size=" + OBJECT + ", capacity=" + CAPACITY);
        }
        s.view.putLong(ptr, ptr);
        h.free(ptr);
        return ptr;
    }

    /**
     * {@link #heapAllocFree64} through this thread's {@link LocalHeap}: after the first pair, each
     * allocate hands out the object the free before kept (one atomic bit set and the zeroing), each
     * free keeps it (one atomic bit clear and the mark).
     */
    @Benchmark
    public int heapLocalAllocFree64(final SharenaSide s) {
        final LocalHeap h = s.local;
        final int ptr = h.allocate(OBJECT);
        if (ptr == 0) {
            throw new IllegalStateException("local heap allocate returned 0: size=" + OBJECT + ", capacity=" + CAPACITY);
        }
        s.view.putLong(ptr, ptr);
        h.free(ptr);
        return ptr;
    }

    /** {@link #heapAllocFree64} with another object of the class in use on the same page. */
    @Benchmark
    public int heapAllocFree64PageInUse(final SharenaSide s, final PageInUse pin) {
        return heapAllocFree64(s) ^ pin.pinned;
    }

    /** What a Java user writes for 64 bytes off heap: a confined arena, allocate, one write, close. */
    @Benchmark
    public long arenaOfConfinedAllocate64() {
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment m = a.allocate(OBJECT);
            m.set(ValueLayout.JAVA_LONG, 0L, m.address());
            return m.address();
        }
    }

    /** Runs this class; JMH options as for {@link BenchmarkMain#run}. */
    public static void main(final String[] args) throws Exception {
        BenchmarkMain.run(ChannelBenchmark.class, args);
    }
}
