package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.testing.ChildJvm;
import org.agrona.concurrent.BackoffIdleStrategy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The other process of the IPC tests. Modes:
 * <ul>
 *   <li>{@code list FILE N}: N heap nodes (next pointer at 0, value i+1 at 8) under root "list";
 *       says "built", waits for "delete", frees them all, sets the root to 0, says "deleted".</li>
 *   <li>{@code hash FILE}: a 1,024-bucket table (an int array on the heap) under root "hash": 1,000
 *       inserts of key k with value k, then 1,000 replacing updates to value 10k, old nodes freed.
 *       Node: next at 0, key at 4, value at 8.</li>
 *   <li>{@code consume FILE CHANNEL}: consumes for ever, freeing the heap object each message names.</li>
 *   <li>{@code noop FILE}: attaches, finds the roots and the heap, leaves.</li>
 *   <li>{@code workout FILE TAG [norepair]}: one {@link Workout} pass, with repairs unless told not to;
 *       says "workout done".</li>
 *   <li>{@code create FILE CHANNEL}: creates a channel of 4 lanes of 16 KiB; says "created".</li>
 *   <li>{@code rootsrepair FILE}: repairs the named roots (under their lock); says "repaired".</li>
 *   <li>{@code heaprepair FILE}: repairs the object heap (this process alone attached); says "repaired".</li>
 *   <li>{@code largefree FILE BYTES}: allocates one large object, prints "large PTR", frees it, says "freed".</li>
 *   <li>{@code produce FILE CHANNEL ID COUNT}: COUNT messages of (id, seq, id*seq checksum, filler)
 *       on a channel; says "sent".</li>
 * </ul>
 */
public final class IpcChild {
    static final int BUCKETS = 1024;

    private IpcChild() {
    }

    /** Allocation fails fast while the allocator lock is busy; a test child just waits. */
    /** Allocates {@code count} objects of {@code size}, frees them into a new local heap and prints them ("kept ..."). */
    private static io.sharena.ipc.heap.LocalHeap keptLocally(final ObjectHeap heap, final int size, final int count) {
        final io.sharena.ipc.heap.LocalHeap local = heap.local();
        final int[] objects = new int[count];
        for (int i = 0; i < objects.length; i++) {
            objects[i] = allocate(heap, size);
        }
        final StringBuilder kept = new StringBuilder("kept");
        for (final int obj : objects) {
            local.free(obj);
            kept.append(' ').append(obj);
        }
        System.out.println(kept);
        return local;
    }

    private static int allocate(final ObjectHeap heap, final int size) {
        final long deadline = System.nanoTime() + 30_000_000_000L;
        int p;
        while ((p = heap.allocate(size)) == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no heap object in 30 s: size=" + size);
            }
            Thread.onSpinWait();
        }
        return p;
    }

    /** Starts this class in a child JVM with {@code args}. */
    static ChildJvm start(final String... args) throws IOException {
        return start(List.of(), args);
    }

    /** Starts this class in a child JVM, after extra JVM options ({@code -Dsharena.crashpoint=...}, say). */
    static ChildJvm start(final List<String> jvmOptions, final String... args) throws IOException {
        return ChildJvm.start(IpcChild.class, jvmOptions, args);
    }

    public static void main(final String[] args) throws Exception {
        if (args[0].equals("storefile")) {
            // A store file created from nothing (the file must not exist yet).
            try (io.sharena.ipc.store.SharedStore store = io.sharena.ipc.store.SharedStore.create(Path.of(args[1]),
                io.sharena.ipc.store.StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16))) {
                System.out.println("storefile " + store.memoryLimit());
            }
            return;
        }
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (SharedArena arena = SharedArena.open(Path.of(args[1]), ArenaOptions.defaults())) {
            // A workout sets the structures up itself, waiting out busy locks (crash-point tests
            // pause lock holders); the other modes run on a quiet arena.
            final boolean waits = args[0].equals("workout") || args[0].equals("noop")
                || args[0].equals("rootsrepair") || args[0].equals("heaprepair") || args[0].equals("create")
                || args[0].equals("store") || args[0].equals("heapof");
            final ObjectHeap heap = waits ? null : ObjectHeap.of(arena);
            final NamedRoots roots = waits ? null : NamedRoots.of(arena);
            final ArenaView v = arena.raw();
            switch (args[0]) {
                case "list" -> {
                    int head = 0;
                    for (int i = Integer.parseInt(args[2]) - 1; i >= 0; i--) {
                        final int node = allocate(heap, 16);
                        v.putLong(node + 8, i + 1);
                        v.putInt(node, head);
                        head = node;
                    }
                    roots.put("list", head);
                    System.out.println("built");
                    stdin.readLine();
                    roots.put("list", 0);
                    for (int node = head; node != 0; ) {
                        final int next = v.getInt(node);
                        heap.free(node);
                        node = next;
                    }
                    System.out.println("deleted");
                }
                case "hash" -> {
                    final int table = allocate(heap, BUCKETS * 4);
                    for (int round = 0; round < 2; round++) {
                        for (int k = 0; k < 1000; k++) {
                            final int bucket = table + (Integer.hashCode(k * 0x9E3779B9) & (BUCKETS - 1)) * 4;
                            final int node = allocate(heap, 16);
                            v.putInt(node + 4, k);
                            v.putLong(node + 8, round == 0 ? k : 10L * k);
                            // Replace the node with this key, if any: unlink and free the old one.
                            int prev = 0;
                            int cur = v.getInt(bucket);
                            while (cur != 0 && v.getInt(cur + 4) != k) {
                                prev = cur;
                                cur = v.getInt(cur);
                            }
                            if (cur != 0) {
                                v.putInt(node, v.getInt(cur));
                                if (prev == 0) {
                                    v.putIntRelease(bucket, node);
                                } else {
                                    v.putIntRelease(prev, node);
                                }
                                heap.free(cur);
                            } else {
                                v.putInt(node, v.getInt(bucket));
                                v.putIntRelease(bucket, node);
                            }
                        }
                    }
                    roots.put("hash", table);
                    System.out.println("done");
                }
                case "produce" -> {
                    final int id = Integer.parseInt(args[3]);
                    final int count = Integer.parseInt(args[4]);
                    try (ChannelProducer p = Channel.open(arena, args[2]).producer()) {
                        System.out.println("lane " + p.lane());
                        final byte[] msg = new byte[100];
                        final java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(msg).order(java.nio.ByteOrder.nativeOrder());
                        final BackoffIdleStrategy idle = new BackoffIdleStrategy();
                        for (int seq = 0; seq < count; seq++) {
                            b.putInt(0, id).putInt(4, seq).putLong(8, (long) id * seq);
                            final int r = p.offer(1, msg, 0, 16 + seq % 84, idle, 30_000_000_000L);
                            if (r != ChannelProducer.OK) {
                                System.out.println("offer failed: " + r);
                                return;
                            }
                        }
                    }
                    System.out.println("sent");
                }
                case "producefill" -> {
                    // Messages with no zero byte past their sequence number (ChannelPublicationCrashTest):
                    // what a killed producer leaves half-written can read as anything but "nothing".
                    try (ChannelProducer p = Channel.open(arena, args[2]).producer()) {
                        System.out.println("lane " + p.lane());
                        final BackoffIdleStrategy idle = new BackoffIdleStrategy();
                        for (int seq = 0; seq < Integer.parseInt(args[3]); seq++) {
                            final byte[] msg = ChannelPublicationCrashTest.message(seq);
                            if (p.offer(1, msg, 0, msg.length, idle, 30_000_000_000L) != ChannelProducer.OK) {
                                System.out.println("offer failed");
                                return;
                            }
                        }
                    }
                    System.out.println("sent");
                }
                case "producesize" -> {
                    // producesize FILE CHANNEL COUNT SIZE: COUNT messages of SIZE bytes, each starting with its number
                    try (ChannelProducer p = Channel.open(arena, args[2]).producer()) {
                        System.out.println("lane " + p.lane());
                        final BackoffIdleStrategy idle = new BackoffIdleStrategy();
                        final int size = Integer.parseInt(args[4]);
                        for (int seq = 0; seq < Integer.parseInt(args[3]); seq++) {
                            final byte[] msg = new byte[size];
                            java.util.Arrays.fill(msg, (byte) 0x5A);
                            java.nio.ByteBuffer.wrap(msg).order(java.nio.ByteOrder.nativeOrder()).putInt(0, seq);
                            if (p.offer(1, msg, 0, msg.length, idle, 30_000_000_000L) != ChannelProducer.OK) {
                                System.out.println("offer failed");
                                return;
                            }
                        }
                    }
                    System.out.println("sent");
                }
                case "removeexpected" -> {
                    // removeexpected FILE NAME EXPECTED [nokill]: remove(name, expected), waiting for a
                    // line at REMOVE_WRITING, then (unless nokill) saying "marked" at REMOVE_MARKED and waiting to be killed
                    io.sharena.core.crash.CrashPoints.install(point -> {
                        try {
                            if (point == RootsPoint.REMOVE_WRITING) {
                                System.out.println("writing");
                                stdin.readLine();
                            } else if (point == RootsPoint.REMOVE_MARKED && args.length < 5) {
                                System.out.println("marked");
                                Thread.sleep(600_000);
                            }
                        } catch (final Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    System.out.println("removed " + roots.remove(args[2], Integer.parseInt(args[3])));
                }
                case "drain" -> {
                    try (var consumer = Channel.open(arena, args[2]).consumer()) {
                        System.out.println("draining");
                        while (true) {
                            consumer.poll((view, type, ptr, length) -> { }, 16);
                        }
                    }
                }
                case "consume" -> {
                    // Each message carries a heap object's pointer: read it, free it (what a
                    // zero-copy receiver does). Armed to die at ChannelPoint.DELIVERED, it dies
                    // after the free and before HEAD moves past the message.
                    try (var consumer = Channel.open(arena, args[2]).consumer()) {
                        System.out.println("consuming");
                        while (true) {
                            consumer.poll((view, type, ptr, length) -> heap.free(view.getInt(ptr)), 16);
                        }
                    }
                }
                case "create" -> {
                    Channel.create(arena, args[2], 4, 1 << 14, 256);
                    System.out.println("created");
                }
                case "store" -> {
                    try (io.sharena.ipc.store.SharedStore store = io.sharena.ipc.store.SharedStore.of(arena, args[2],
                        io.sharena.ipc.store.StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16))) {
                        System.out.println("store " + store.set("k".getBytes(StandardCharsets.UTF_8),
                            "v".getBytes(StandardCharsets.UTF_8), 0, 0));
                    }
                }
                case "heapof" -> System.out.println("heap at " + ObjectHeap.of(arena).allocate(8));
                case "largefree" -> {
                    // largefree BYTES: one large object, its pointer printed, then freed
                    final int obj = allocate(heap, Integer.parseInt(args[2]));
                    System.out.println("large " + Integer.toUnsignedLong(obj));
                    heap.free(obj);
                    System.out.println("freed");
                }
                case "allocate" -> {
                    // allocate SIZE COUNT: objects of one class, through as many refills as it takes
                    for (int i = Integer.parseInt(args[3]); i > 0; i--) {
                        allocate(heap, Integer.parseInt(args[2]));
                    }
                    System.out.println("allocated");
                }
                case "localkeep" -> {
                    // localkeep SIZE COUNT: objects freed into a local heap and kept there; prints them, then waits to be killed
                    keptLocally(heap, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                    Thread.sleep(600_000);
                }
                case "localtake" -> {
                    // localtake SIZE COUNT: as localkeep, then one of them taken again
                    final io.sharena.ipc.heap.LocalHeap local = keptLocally(heap, Integer.parseInt(args[2]),
                        Integer.parseInt(args[3]));
                    System.out.println("taken " + local.allocate(Integer.parseInt(args[2])));
                }
                case "rootsrepair" -> {
                    NamedRoots.repair(arena, 5_000_000_000L).forEach(line -> System.out.println("repair: " + line));
                    System.out.println("repaired");
                }
                case "heaprepair" -> {
                    ObjectHeap.repair(arena).forEach(line -> System.out.println("repair: " + line));
                    System.out.println("repaired");
                }
                case "noop" -> System.out.println("heap " + ObjectHeap.existing(arena).isPresent());
                case "workout" -> {
                    Workout.run(arena, args[2], args.length < 4 || !"norepair".equals(args[3]));
                    System.out.println("workout done");
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
    }
}
