package io.sharena.cli;

import io.sharena.core.layout.Geometry;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.LocalHeap;
import io.sharena.ipc.heap.ObjectHeap;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A process of {@code arena stress}: random alloc, alloc-at, free, partial free and reserve of pages,
 * allocate and free of heap objects, and put, compare-and-set, get and remove of named roots (names
 * {@code w<pid>-<i>}, each naming one of this worker's objects), and zero-copy messages on the
 * channel {@value #CHANNEL} (a heap object, stamped, whose pointer the consumer receives, checks and
 * frees; one worker at a time is the consumer, a new one takes a dead one's place), until its deadline, stamping its identity into the first
 * and last word of every page it owns (the first word of every object) and verifying the stamps
 * before it frees them. A page that is not zero when handed out, or whose
 * stamp changed while owned, or a root that does not hold what this worker last stored under it,
 * counts as double-handed. On start it removes the roots of workers that died, so the directory
 * does not fill up over a long campaign. Prints {@code status ops=O double=D} now
 * and then, {@code final ...} at the end, after freeing everything it held.
 *
 * <p>Arguments: {@code FILE SEED DEADLINE_EPOCH_MILLIS}.
 */
public final class StressWorker {
    private static final int MAX_SPANS = 64;
    private static final int MAX_OBJECTS = 256;
    private static final int ROOTS = 4;
    /** The channel {@code arena stress} creates before it starts the workers. */
    static final String CHANNEL = "stress";
    static final int CHANNEL_LANES = 8;
    static final int CHANNEL_RING_BYTES = 1 << 14;
    private static final int MESSAGE_BYTES = 12;
    /** Offset of a page's last 8-byte word: the stamp is written at both ends of each page. */
    private static final int LAST_WORD = Geometry.PAGE_SIZE - Long.BYTES;
    /** A worker's root name, {@code w<pid>-<i>}; group 1 is the pid. */
    private static final Pattern WORKER_ROOT = Pattern.compile("w(\\d{1,18})-\\d+");

    private final SharedArena arena;
    private final SplittableRandom random;
    private final long pid = ProcessHandle.current().pid();
    private final int firstUser;
    private final int capacity;
    private final int[] spanPtr = new int[MAX_SPANS];
    private final int[] spanLen = new int[MAX_SPANS];
    private final boolean[] spanReserved = new boolean[MAX_SPANS];
    private int spans;
    private final ObjectHeap heap;
    /** The worker's one thread's local heap: half the allocations and frees go through it. */
    private final LocalHeap local;
    private final NamedRoots roots;
    /** What this worker last stored under {@code w<pid>-<i>}: an object it holds, or 0 (absent). */
    private final int[] rootValue = new int[ROOTS];
    private final int[] objects = new int[MAX_OBJECTS];
    private int objectCount;
    private final Channel channel;
    private ChannelProducer producer;
    private ChannelConsumer consumer;
    private long sent;
    private final byte[] message = new byte[MESSAGE_BYTES];
    private long ops;
    private long doubleHanded;

    private StressWorker(final SharedArena arena, final long seed) {
        this.arena = arena;
        this.random = new SplittableRandom(seed);
        this.firstUser = (int) arena.firstUserPage();
        this.capacity = (int) arena.capacityPages();
        this.heap = ObjectHeap.of(arena);
        this.local = heap.local();
        this.roots = NamedRoots.of(arena);
        this.channel = roots.contains(CHANNEL) ? Channel.open(arena, CHANNEL) : null;
    }

    /** Removes the roots that workers which died left behind (their objects stay allocated: a killed worker's data). */
    private void removeDeadWorkersRoots() {
        for (final String name : roots.list().keySet()) {
            // Only a worker's own name: a root such as "web-x" is no worker's (it threw here).
            final Matcher m = WORKER_ROOT.matcher(name);
            if (m.matches()) {
                final long owner = Long.parseLong(m.group(1));
                if (owner != pid && ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false) == Boolean.FALSE) {
                    roots.remove(name);
                }
            }
        }
    }

    public static void main(final String[] args) {
        JavaCommand.runWorker(args, StressWorker::run);
    }

    private static void run(final String[] args) throws Exception {
        final long deadline = Long.parseLong(args[2]);
        try (SharedArena arena = SharedArena.open(Path.of(args[0]), ArenaOptions.defaults())) {
            final StressWorker w = new StressWorker(arena, Long.parseLong(args[1]));
            System.out.println("pid=" + w.pid);
            w.removeDeadWorkersRoots();
            long nextStatus = System.currentTimeMillis() + 100;
            while (System.currentTimeMillis() < deadline) {
                for (int i = 0; i < 64; i++) {
                    w.step();
                }
                if (System.currentTimeMillis() >= nextStatus) {
                    System.out.println("status ops=" + w.ops + " double=" + w.doubleHanded);
                    nextStatus += 100;
                }
            }
            w.releaseAll();
            System.out.println("final ops=" + w.ops + " double=" + w.doubleHanded);
        }
    }

    private long stamp(final int page) {
        return (pid << 32) | page;
    }

    private void step() {
        final int op = random.nextInt(100);
        if (op >= 88 && op < 92 && objectCount > 0) {
            rootStep();
        } else if (op >= 92 && op < 96 && channel != null) {
            channelStep();
        } else if (op >= 51 && op < 60 && objectCount < MAX_OBJECTS) {
            final int size = 8 + random.nextInt(600);
            final int obj = random.nextBoolean() ? local.allocate(size) : heap.allocate(size);
            if (obj != 0) {
                if (arena.raw().getLong(obj) != 0) {
                    doubleHanded++;
                }
                arena.raw().putLong(obj, (pid << 32) | Integer.toUnsignedLong(obj));
                objects[objectCount++] = obj;
            }
        } else if (op >= 60 && op < 68 && objectCount > 0) {
            freeObject(random.nextInt(objectCount));
        } else if (spans == 0 || (op < 40 && spans < MAX_SPANS)) {
            final int n = random.nextInt(4) == 0 ? 1 + random.nextInt(20) : 1 << random.nextInt(3);
            take(arena.allocPages(n), n);
        } else if (op < 46 && spans < MAX_SPANS) {
            final int n = 1 + random.nextInt(4);
            final int page = firstUser + random.nextInt(capacity - firstUser - n + 1);
            take(arena.allocPagesAt(Geometry.pointerOf(page), n), n);
        } else if (op < 51 && spans < MAX_SPANS) {
            final int n = 1 + random.nextInt(3);
            final int page = firstUser + random.nextInt(capacity - firstUser - n + 1);
            if (arena.reservePages(Geometry.pointerOf(page), n) == ReserveResult.OK) {
                add(Geometry.pointerOf(page), n, true);
            }
        } else if (op < 88) {
            release(random.nextInt(spans));
        } else {
            partialFree(random.nextInt(spans));
        }
        ops++;
    }

    private void take(final int ptr, final int n) {
        if (ptr == 0) {
            return;
        }
        final int first = (int) Geometry.pageOf(ptr);
        for (int p = first; p < first + n; p++) {
            final int at = Geometry.pointerOf(p);
            if (arena.raw().getLong(at) != 0 || arena.raw().getLong(at + LAST_WORD) != 0) {
                doubleHanded++;
            }
            arena.raw().putLong(at, stamp(p));
            arena.raw().putLong(at + LAST_WORD, stamp(p));
        }
        add(ptr, n, false);
    }

    private void add(final int ptr, final int n, final boolean reserved) {
        spanPtr[spans] = ptr;
        spanLen[spans] = n;
        spanReserved[spans] = reserved;
        spans++;
    }

    private void verify(final int ptr, final int n, final boolean reserved) {
        if (reserved) {
            return;
        }
        for (int p = (int) Geometry.pageOf(ptr); p < (int) Geometry.pageOf(ptr) + n; p++) {
            final int at = Geometry.pointerOf(p);
            if (arena.raw().getLong(at) != stamp(p) || arena.raw().getLong(at + LAST_WORD) != stamp(p)) {
                doubleHanded++;
            }
        }
    }

    private void release(final int i) {
        verify(spanPtr[i], spanLen[i], spanReserved[i]);
        arena.freePages(spanPtr[i], spanLen[i]);
        spans--;
        spanPtr[i] = spanPtr[spans];
        spanLen[i] = spanLen[spans];
        spanReserved[i] = spanReserved[spans];
    }

    /** Frees the tail of a span, keeping its head: a partial free, which the allocator allows. */
    private void partialFree(final int i) {
        final int n = spanLen[i];
        if (n < 2) {
            release(i);
            return;
        }
        final int keep = 1 + random.nextInt(n - 1);
        final int tail = spanPtr[i] + Geometry.pointerOf(keep);
        verify(tail, n - keep, spanReserved[i]);
        // A misaligned pointer frees the page that contains it.
        arena.freePages(tail + random.nextInt(Geometry.PAGE_SIZE), n - keep);
        spanLen[i] = keep;
    }

    /**
     * Sends one message (a fresh stamped heap object, handed over with the message), or, as the
     * consumer, receives some. Becoming the consumer or a producer is tried now and then: the places
     * are limited, and a dead holder's is taken over.
     */
    private void channelStep() {
        if (consumer == null && random.nextInt(8) == 0) {
            try {
                consumer = channel.consumer();
            } catch (final IllegalStateException taken) {
                // a live consumer exists
            }
        }
        if (producer == null && random.nextInt(8) == 0) {
            try {
                producer = channel.producer();
            } catch (final IllegalStateException full) {
                // every lane has a live producer
            }
        }
        if (consumer != null && random.nextBoolean()) {
            consumer.poll(this::received, 16);
        } else if (producer != null) {
            final int obj = heap.allocate(16 + random.nextInt(200));
            if (obj == 0) {
                return;
            }
            if (arena.raw().getLong(obj) != 0) {
                doubleHanded++;
            }
            final long stamp = (pid << 32) | (++sent & 0xFFFF_FFFFL);
            arena.raw().putLong(obj, stamp);
            putInt(message, 0, obj);
            putLong(message, 4, stamp);
            if (!producer.offer(1, message, 0, MESSAGE_BYTES)) {
                heap.free(obj);
            }
        }
    }

    /**
     * A message: the object must still carry the stamp it was sent with. A consumer that died in its
     * handler leaves the message in hand to its successor (at-least-once for that one message); if
     * the dead consumer had already freed the object, the stamp is gone (zeroed, or another owner's)
     * and the object is not freed again.
     */
    private void received(final io.sharena.core.ArenaView view, final int type, final int ptr, final int length) {
        if (length != MESSAGE_BYTES) {
            doubleHanded++;
            return;
        }
        final int obj = view.getInt(ptr);
        final long stamp = view.getLong(ptr + 4);
        if (arena.raw().getLong(obj) == stamp) {
            arena.raw().putLong(obj, 0);
            heap.free(obj);
        }
    }

    private static void putInt(final byte[] b, final int at, final int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    private static void putLong(final byte[] b, final int at, final long v) {
        for (int i = 0; i < 8; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    /** One named-root operation on a random one of this worker's names, checked against what it stored. */
    private void rootStep() {
        final int i = random.nextInt(ROOTS);
        final String name = "w" + pid + "-" + i;
        if (roots.get(name) != rootValue[i]) {
            doubleHanded++;
        }
        final int obj = objects[random.nextInt(objectCount)];
        try {
            rootChange(name, i, obj);
        } catch (final IllegalStateException busy) {
            // Adding and removing a name may find the directory's lock busy for too long (a worker
            // stopped or killed while holding it): nothing was changed, try again later.
        }
    }

    private void rootChange(final String name, final int i, final int obj) {
        switch (random.nextInt(3)) {
            case 0 -> {
                if (roots.put(name, obj) != rootValue[i]) {
                    doubleHanded++;
                }
                rootValue[i] = obj;
            }
            case 1 -> {
                if (!roots.compareAndSet(name, rootValue[i], obj)) {
                    doubleHanded++;
                }
                rootValue[i] = obj;
            }
            default -> {
                if (roots.remove(name) != rootValue[i]) {
                    doubleHanded++;
                }
                rootValue[i] = 0;
            }
        }
    }

    private void freeObject(final int i) {
        final int obj = objects[i];
        for (int r = 0; r < ROOTS; r++) {
            if (rootValue[r] == obj) {
                // The name should not outlive the object it names; if the directory is busy it
                // does, harmlessly (nobody dereferences a worker's roots), until a later remove.
                try {
                    if (roots.remove("w" + pid + "-" + r) != obj) {
                        doubleHanded++;
                    }
                    rootValue[r] = 0;
                } catch (final IllegalStateException busy) {
                    // left for later
                }
            }
        }
        if (arena.raw().getLong(obj) != ((pid << 32) | Integer.toUnsignedLong(obj))) {
            doubleHanded++;
        }
        if (random.nextBoolean()) {
            local.free(obj);
        } else {
            heap.free(obj);
        }
        objects[i] = objects[--objectCount];
    }

    private void releaseAll() {
        if (producer != null) {
            producer.close();
        }
        if (consumer != null) {
            while (consumer.poll(this::received, 64) > 0) {
                // drain what is there before giving the place up
            }
            consumer.close();
        }
        while (spans > 0) {
            release(spans - 1);
        }
        while (objectCount > 0) {
            freeObject(objectCount - 1);
        }
        local.close();
    }
}
