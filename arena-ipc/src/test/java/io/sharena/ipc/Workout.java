package io.sharena.ipc;

import io.sharena.core.SharedArena;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.LocalHeap;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * One pass over every multi-step change the IPC structures make, so that it reaches every crash
 * point of {@link RootsPoint}, {@link io.sharena.ipc.heap.HeapPoint} and
 * {@link io.sharena.ipc.channel.ChannelPoint}: directory and heap creation, root add, update, CAS
 * and remove, heap refill, allocate, free, trim, large objects, a channel's creation,
 * a consumer and a producer taking dead owners' places, messages claimed, committed and delivered,
 * a dead producer's lane reaped, a local heap keeping, giving back and closing; with {@code repairs}, a roots repair and a heap repair of damage it
 * makes itself. Busy locks and fail-fast allocations are waited out (up to 30 s), so two workouts
 * can run against each other.
 */
final class Workout {
    /** An owner word whose owner is dead: the last registry slot holds no such generation. */
    static final long DEAD_OWNER = OwnerToken.encode(RegistryLayout.SLOTS - 1, 1, 0);
    private static final long PATIENCE_NANOS = 30_000_000_000L;

    private Workout() {
    }

    private static int retry(final IntSupplier op, final String what) {
        final long deadline = System.nanoTime() + PATIENCE_NANOS;
        while (true) {
            try {
                final int r = op.getAsInt();
                if (r != 0) {
                    return r;
                }
            } catch (final IllegalStateException busy) {
                if (!String.valueOf(busy.getMessage()).contains("busy")) {
                    throw busy;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("gave up after 30 s: " + what);
            }
            Thread.onSpinWait();
        }
    }

    static void run(final SharedArena arena, final String tag, final boolean repairs) {
        run(arena, tag, repairs, repairs);
    }

    /**
     * @param rootsRepair whether to damage and repair the roots (safe while others run)
     * @param heapRepair  whether to damage and repair the heap (only on a quiet heap)
     */
    static void run(final SharedArena arena, final String tag, final boolean rootsRepair, final boolean heapRepair) {
        final NamedRoots roots = NamedRoots.of(arena);
        final ObjectHeap[] heap = new ObjectHeap[1];
        retry(() -> {
            heap[0] = ObjectHeap.of(arena); // adds its root: the roots' lock may be busy
            return 1;
        }, "heap");
        roots(roots, tag);
        heap(heap[0]);
        channel(arena, tag);
        if (rootsRepair) {
            rootsRepair(arena, roots);
        }
        if (heapRepair) {
            heapRepair(arena, heap[0]);
        }
    }

    private static void roots(final NamedRoots roots, final String tag) {
        retry(() -> {
            roots.put("w" + tag, 1);
            return 1;
        }, "put");
        retry(() -> roots.compareAndSet("w" + tag, 1, 2) ? 1 : 0, "cas");
        if (roots.get("w" + tag) != 2) {
            throw new AssertionError("root lost its value");
        }
        retry(() -> {
            roots.put("shared", 7);
            return 1;
        }, "put shared");
        retry(() -> roots.remove("w" + tag) == 2 ? 1 : 0, "remove");
    }

    private static void heap(final ObjectHeap heap) {
        final List<Integer> objects = new ArrayList<>();
        final int n = 2 * (4096 - HeapLayout.SLAB_HEADER) / 16 + 5;
        for (int i = 0; i < n; i++) {
            objects.add(retry(() -> heap.allocate(16), "allocate"));
        }
        // No double frees here: another workout may have the object again by the second free
        // (a free of reused memory is a use-after-free, not a double free); RedeliveryTest has them.
        for (int i = 0; i < n; i++) {
            heap.free(objects.get(i));
        }
        final int large = retry(() -> heap.allocate(10_000), "allocate large");
        heap.free(large);
        localHeap(heap);
    }

    /**
     * Through a local heap: more frees of one class than it keeps (it gives half back), some of
     * them handed out again from what it keeps, then closed (it gives the rest back).
     */
    private static void localHeap(final ObjectHeap heap) {
        try (LocalHeap local = heap.local()) {
            final List<Integer> objects = new ArrayList<>();
            final int n = LocalHeap.PER_CLASS + 5;
            for (int i = 0; i < n; i++) {
                objects.add(retry(() -> local.allocate(32), "local allocate"));
            }
            for (final int obj : objects) {
                local.free(obj);
            }
            for (int i = 0; i < 8; i++) {
                objects.set(i, retry(() -> local.allocate(32), "local allocate again"));
            }
            for (int i = 0; i < 8; i++) {
                local.free(objects.get(i));
            }
        }
    }

    private static void channel(final SharedArena arena, final String tag) {
        halfMadeChannel(arena, tag);
        final Channel[] created = new Channel[1];
        retry(() -> {
            created[0] = Channel.create(arena, "w" + tag, 2, 1 << 14, 256);
            return 1;
        }, "channel");
        final Channel channel = created[0];
        final int header = NamedRoots.of(arena).get("w" + tag);
        // A consumer and the producer of lane 1 that died: the new ones take their places over.
        arena.raw().putLongRelease(header + ChannelLayout.CONSUMER, DEAD_OWNER);
        arena.raw().putLongRelease(ChannelLayout.lane(header, 1) + ChannelLayout.OWNER, DEAD_OWNER);
        try (ChannelConsumer consumer = channel.consumer()) {
            arena.raw().putLongRelease(ChannelLayout.lane(header, 0) + ChannelLayout.OWNER, DEAD_OWNER);
            try (ChannelProducer producer = channel.producer()) {
                // More than a quarter ring (48-byte records): the consumer clears what it consumed.
                for (int i = 0; i < 100; i++) {
                    if (!producer.offer(i, new byte[40], 0, 40)) {
                        throw new AssertionError("channel full");
                    }
                }
                int got = 0;
                while (got < 100) {
                    got += consumer.poll((view, type, ptr, length) -> { }, 64);
                }
            }
            // The producer left lane 0; lane 1 still names the dead one: reaped once drained.
            arena.raw().putLongRelease(ChannelLayout.lane(header, 1) + ChannelLayout.OWNER, DEAD_OWNER);
            final long before = consumer.deadProducers();
            final long deadline = System.nanoTime() + PATIENCE_NANOS;
            while (consumer.deadProducers() == before && System.nanoTime() < deadline) {
                consumer.poll((view, type, ptr, length) -> { }, 64);
            }
        }
    }

    /**
     * A channel whose creator died halfway: registered "being created" by a dead owner, one of its
     * two rings recorded. Opening it gives its pages back and its name up.
     */
    private static void halfMadeChannel(final SharedArena arena, final String tag) {
        final String name = "w" + tag + "half";
        final int header = retry(() -> arena.allocPages(1), "half-made channel header");
        final int ring = retry(() -> arena.allocPages(4), "half-made channel ring");
        final io.sharena.core.ArenaView v = arena.raw();
        v.putInt(header + ChannelLayout.LANES, 2);
        v.putInt(header + ChannelLayout.RING_BYTES, 1 << 14);
        v.putInt(header + ChannelLayout.MAX_MESSAGE, 256);
        v.putInt(ChannelLayout.lane(header, 0) + ChannelLayout.RING, ring);
        v.putLongRelease(header + ChannelLayout.CREATOR, DEAD_OWNER);
        v.putIntRelease(header + ChannelLayout.MAGIC, ChannelLayout.MAGIC_CREATING);
        retry(() -> {
            NamedRoots.of(arena).put(name, header);
            return 1;
        }, "put half-made channel");
        retry(() -> {
            try {
                Channel.open(arena, name);
                throw new AssertionError("a half-made channel opened");
            } catch (final IllegalArgumentException noChannel) {
                return NamedRoots.of(arena).get(name) == 0 ? 1 : 0;
            }
        }, "reclaim a half-made channel");
    }

    /** Damage it repairs itself: a half-written root entry. */
    private static void rootsRepair(final SharedArena arena, final NamedRoots roots) {
        final int dir = arena.raw().getIntAcquire((int) io.sharena.core.layout.ControlLayout.word(
            io.sharena.core.layout.ControlLayout.ROOTS_PTR));
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = dir + RootsLayout.entry(i);
            if (arena.raw().getIntAcquire(e + RootsLayout.STATE) == RootsLayout.EMPTY) {
                arena.raw().putIntRelease(e + RootsLayout.STATE, RootsLayout.WRITING);
                break;
            }
        }
        retry(() -> {
            roots.repair(100_000_000L);
            return 1;
        }, "roots repair");
    }

    /** Damage it repairs itself: a heap object lost in transit. */
    private static void heapRepair(final SharedArena arena, final ObjectHeap heap) {
        // An object allocated, then its bit cleared: what a free killed between the bit and the push leaves.
        final int obj = retry(() -> heap.allocate(16), "allocate");
        HeapForge.lostInTransit(arena, obj);
        heap.repair();
    }
}
