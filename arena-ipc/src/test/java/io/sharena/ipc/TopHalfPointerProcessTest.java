package io.sharena.ipc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.testing.ChildJvm;
import java.nio.file.Path;
import java.util.List;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel's arena_list and arena_htab selftests (a structure built by one side, walked by the
 * other through arena pointers), with every structure above 2 GiB: the low half of a 4 GiB arena
 * is reserved first, so the roots directory, heap slabs, nodes and channel rings all have pointers
 * that are negative as Java ints (verifier_arena places its arena right below the 32-bit boundary
 * to catch this class of bug).
 */
class TopHalfPointerProcessTest {
    @TempDir
    Path dir;

    private static SharedArena highArena(final Path file) throws Exception {
        final SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults());
        final long first = a.firstUserPage();
        assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) ((1L << 19) - first)),
            "reserve everything below 2 GiB");
        return a;
    }

    @Test
    void listAndHashAboveTwoGiBBuiltInOneProcessWalkedInAnother() throws Exception {
        final Path file = dir.resolve("hl.arena");
        try (SharedArena arena = highArena(file)) {
            try (ChildJvm a = IpcChild.start("list", file.toString(), "1000")) {
                a.await("built");
                final NamedRoots roots = NamedRoots.of(arena);
                final int head = roots.get("list");
                assertTrue(Integer.toUnsignedLong(head) >= 1L << 31, "node above 2 GiB: 0x" + Integer.toHexString(head));
                IpcProcessTest.assertListOfThousand(arena.strict(), head);
                a.send("delete");
                a.await("deleted");
                assertEquals(0, roots.get("list"));
                assertEquals(0, a.waitFor(60), String.join("\n", a.output()));
            }
            try (ChildJvm h = IpcChild.start("hash", file.toString())) {
                h.await("done");
                assertEquals(0, h.waitFor(60), String.join("\n", h.output()));
            }
            final ArenaView v = arena.strict();
            final int table = NamedRoots.of(arena).get("hash");
            assertTrue(Integer.toUnsignedLong(table) >= 1L << 31);
            IpcProcessTest.assertHashOfThousand(v, table);
            final ObjectHeap heap = ObjectHeap.of(arena);
            assertEquals(List.of(), heap.check());
            // objects of every size class and a multi-page one, allocated, freed twice, then checked
            for (final int size : new int[] {8, 16, 24, 100, 1000, 2048, 5000, 70_000}) {
                final int o = heap.allocate(size);
                assertTrue(Integer.toUnsignedLong(o) >= 1L << 31, "size " + size + " at 0x" + Integer.toHexString(o));
                arena.strict().fill(o, size, (byte) 7);
                heap.free(o);
                heap.free(o); // double free: a detected no-op
            }
            assertEquals(List.of(), heap.check());
            assertEquals(List.of(), IpcCheck.check(arena));
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }

    @Test
    void channelAboveTwoGiBBetweenProcesses() throws Exception {
        final int count = 5_000;
        final Path file = dir.resolve("hc.arena");
        try (SharedArena arena = highArena(file)) {
            final Channel channel = Channel.create(arena, "hi", 4, 1 << 14, 256);
            final int header = NamedRoots.of(arena).get("hi");
            assertTrue(Integer.toUnsignedLong(header) >= 1L << 31, "channel header at 0x" + Integer.toHexString(header)
                + ", page state " + arena.pageState(arena.pageOf(header)));
            try (ChannelConsumer consumer = channel.consumer();
                 ChildJvm p = IpcChild.start("produce", file.toString(), "hi", "1", Integer.toString(count))) {
                final int[] next = {0};
                final String[] error = {null};
                final long deadline = System.nanoTime() + 60_000_000_000L;
                final BackoffIdleStrategy idle = new BackoffIdleStrategy();
                while (next[0] < count && error[0] == null && System.nanoTime() < deadline) {
                    consumer.poll((view, type, ptr, length) -> {
                        if (Integer.toUnsignedLong(ptr) < 1L << 31) {
                            error[0] = "message below 2 GiB: 0x" + Integer.toHexString(ptr);
                        }
                        final int id = view.getInt(ptr);
                        final int seq = view.getInt(ptr + 4);
                        if (id != 1 || seq != next[0] || view.getLong(ptr + 8) != seq || length != 16 + seq % 84) {
                            error[0] = "bad message id=" + id + " seq=" + seq + " next=" + next[0] + " length=" + length;
                        }
                        next[0]++;
                    }, 256, idle, 1_000_000);
                }
                assertEquals(null, error[0]);
                assertEquals(count, next[0]);
                p.await("sent");
                assertEquals(0, p.waitFor(30));
            }
            assertEquals(List.of(), IpcCheck.check(arena));
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }
}
