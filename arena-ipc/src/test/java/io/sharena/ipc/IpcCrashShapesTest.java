package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoint;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelPoint;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Crash points reached through operations other than the one {@link IpcCrashPointTest}'s workout
 * reaches them by, in states of their own: a child JVM is killed there, then the next user of the
 * arena goes on as it would (with or without a repair) and must find nothing handed out twice,
 * nothing lost beyond the operation in flight, and a redelivery said as one.
 */
class IpcCrashShapesTest {
    @TempDir
    Path dir;

    private static ChildJvm killedAt(final CrashPoint point, final String... args) throws Exception {
        final ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point.id(),
            "-Dsharena.crashpoint.action=kill"), args);
        final int exit = child.waitFor(120);
        assertTrue(child.output().contains("crashpoint: " + point.id() + " kill"), "the child reached " + point.id()
            + " and was killed there; exit=" + exit + ", output: " + child.output());
        assertEquals(128 + 9, exit, "SIGKILL");
        return child;
    }

    /**
     * DELIVERED reached by a message right after the ring's wrap padding: the consumer dies with
     * HEAD still before the padding. Its successor must still know the message was in hand.
     */
    @Test
    void aConsumerKilledInsideTheHandlerOfTheMessageAfterAWrapLeavesItFlaggedAsRedelivered() throws Exception {
        final Path file = dir.resolve("w.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final Channel channel = Channel.create(arena, "wrap", 1, 4096, 1000);
            try (ChannelProducer producer = channel.producer()) {
                // Four records of 1008 bytes: TAIL at 4032, 64 bytes before the ring's end.
                try (ChannelConsumer first = channel.consumer()) {
                    for (int i = 0; i < 4; i++) {
                        assertTrue(producer.offer(0, new byte[1000], 0, 1000));
                    }
                    int got = 0;
                    while (got < 4) {
                        got += first.poll((view, type, ptr, length) -> { }, 16);
                    }
                }
                // The next one does not fit before the end: padding, then the record at the ring's start.
                final int object = heap.allocate(16);
                final byte[] msg = new byte[1000];
                java.nio.ByteBuffer.wrap(msg).order(java.nio.ByteOrder.nativeOrder()).putInt(0, object);
                assertTrue(producer.offer(1, msg, 0, 1000));
                try (ChildJvm child = killedAt(ChannelPoint.DELIVERED, "consume", file.toString(), "wrap")) {
                    assertTrue(child.output().contains("consuming"), child.output().toString());
                }
                final List<Boolean> flags = new ArrayList<>();
                try (ChannelConsumer successor = channel.consumer()) {
                    assertEquals(1, successor.poll((view, type, ptr, length) -> {
                        flags.add(successor.redelivered());
                        heap.free(view.getInt(ptr)); // freed already by the dead consumer: a no-op
                    }, 16), "the message in hand is delivered again");
                }
                assertEquals(List.of(true), flags, "the successor is told the message after the padding was in hand");
                assertEquals(1, heap.doubleFrees());
            }
        }
    }

    static Stream<CrashPoint> reinsertPoints() {
        return Stream.of(RootsPoint.INSERT_CLAIMED, RootsPoint.INSERT_NAMED, RootsPoint.INSERT_VALUED,
            RootsPoint.REPAIR_ENTRY);
    }

    /**
     * INSERT_* reached through the roots' repair, which moves a root a lookup cannot reach to where
     * it can: killed at any step of the move, the root must survive the next repair.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("reinsertPoints")
    void aRootRepairKilledWhileMovingAnUnreachableRootNeverLosesIt(final CrashPoint point) throws Exception {
        final Path file = dir.resolve("r.arena");
        final int ptr = 0x12340;
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            roots.put("moved", ptr);
            // The entry is copied one place further along its probe, and its own place emptied:
            // what a stray write leaves, a root no lookup finds.
            final int dirPtr = ArenaInternals.rootsDirectory(arena);
            final int h = NamedRoots.hash("moved".getBytes(StandardCharsets.UTF_8));
            final int from = dirPtr + RootsLayout.entry(h);
            final int to = dirPtr + RootsLayout.entry((h + 1) & (RootsLayout.ENTRIES - 1));
            assertEquals(RootsLayout.LIVE, arena.raw().getIntAcquire(from + RootsLayout.STATE));
            final byte[] entry = new byte[RootsLayout.ENTRY_SIZE];
            arena.raw().getBytes(from, entry, 0, entry.length);
            arena.raw().putBytes(to, entry, 0, entry.length);
            // Zeroed whole: an EMPTY entry still holding the name would be taken for the root whose
            // state a stray write hit (a tombstone of it then, the name being live further on).
            arena.raw().fill(from, RootsLayout.ENTRY_SIZE, (byte) 0);
            assertEquals(0, roots.get("moved"), "unreachable");
            assertFalse(NamedRoots.check(arena).isEmpty());
        }
        try (ChildJvm child = killedAt(point, "rootsrepair", file.toString())) {
            assertFalse(child.output().contains("repaired"), child.output().toString());
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            NamedRoots.repair(arena, 5_000_000_000L);
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(ptr, NamedRoots.of(arena).get("moved"), "the root survives a repair killed while moving it");
        }
    }

    /**
     * REPAIR_CLASS reached by a heap repair with a free stack to replace: killed there, the heap is
     * then used as any process would, without a repair first. Nothing may be handed out twice and
     * no allocation may find the heap corrupted.
     */
    @Test
    void aHeapRepairKilledBeforeReplacingAStackLeavesNoCycleForTheNextAllocations() throws Exception {
        final Path file = dir.resolve("h.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final int perPage = (4096 - HeapLayout.SLAB_HEADER) / 16;
            final List<Integer> objects = new ArrayList<>();
            for (int i = 0; i < perPage; i++) {
                objects.add(heap.allocate(16));
            }
            objects.sort(Integer::compareUnsigned);
            assertEquals(objects.get(0) & ~4095, objects.get(perPage - 1) & ~4095, "one slab page");
            // The stack: the page's last object, then its sixth: the last links back to a lower one.
            heap.free(objects.get(5));
            heap.free(objects.get(perPage - 1));
            // And one object lost in transit (a free killed between its bit and its push), so a repair is due.
            HeapForge.lostInTransit(arena, objects.get(10));
            assertFalse(heap.check().isEmpty());
        }
        killedAt(HeapPoint.REPAIR_CLASS, "heaprepair", file.toString()).close();
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final Set<Integer> handed = new HashSet<>();
            for (int i = 0; i < 600; i++) {
                final int obj;
                try {
                    obj = heap.allocate(16);
                } catch (final ArenaCorruptedException e) {
                    throw new AssertionError("allocation " + i + " after the killed repair found the heap corrupted: " + e, e);
                }
                assertNotEquals(0, obj);
                assertTrue(handed.add(obj), "handed out twice: 0x" + Integer.toHexString(obj));
            }
            // Whatever the killed repair left off its stacks, the next repair reclaims.
            ObjectHeap.repair(arena);
            assertEquals(List.of(), ObjectHeap.check(arena));
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }

    private static long allocatedPages(final SharedArena arena) {
        long n = 0;
        for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
            if (Pages.state(arena, p) == io.sharena.core.layout.PageEntry.ALLOCATED) {
                n++;
            }
        }
        return n;
    }

    /** A fresh arena with its roots directory, closed; @return its allocated pages */
    private long freshArenaWithRoots(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            NamedRoots.of(arena);
            return allocatedPages(arena);
        }
    }

    /**
     * CREATED: a creator killed before registering its channel's name. Only the header page it
     * had just allocated may stay behind (nothing names it); not the channel's rings.
     */
    @Test
    void aChannelCreatorKilledBeforeRegisteringTheNameLeavesAtMostItsHeaderPage() throws Exception {
        final Path file = dir.resolve("c.arena");
        final long before = freshArenaWithRoots(file);
        killedAt(ChannelPoint.CREATED, "create", file.toString(), "made").close();
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final long leaked = allocatedPages(arena) - before;
            assertTrue(leaked <= 1, "pages left allocated to nobody: " + leaked);
            Channel.create(arena, "made", 4, 1 << 14, 256);
        }
    }
}
