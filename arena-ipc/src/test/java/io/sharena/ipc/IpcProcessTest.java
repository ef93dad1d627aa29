package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.testing.ChildJvm;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernel arena selftests' use cases, between JVM processes. */
class IpcProcessTest {
    @TempDir
    Path dir;

    @Test
    void listBuiltInOneProcessIsWalkedInAnotherThenDeleted() throws Exception {
        final Path file = dir.resolve("l.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults());
             ChildJvm a = IpcChild.start("list", file.toString(), "1000")) {
            a.await("built");
            final NamedRoots roots = NamedRoots.of(arena);
            assertListOfThousand(arena.strict(), roots.get("list")); // every node must be on an allocated page
            a.send("delete");
            a.await("deleted");
            assertEquals(0, roots.get("list"), "B sees the list empty");
            assertEquals(0, a.waitFor(30));
            assertEquals(List.of(), ObjectHeap.of(arena).check());
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }

    /** The table {@code IpcChild hash} builds, after its updates: every key 0..999 found with value 10 × key. */
    static void assertHashOfThousand(final ArenaView v, final int table) {
        for (int k = 0; k < 1000; k++) {
            int n = v.getIntAcquire(table + (Integer.hashCode(k * 0x9E3779B9) & (IpcChild.BUCKETS - 1)) * 4);
            while (n != 0 && v.getInt(n + 4) != k) {
                n = v.getInt(n);
            }
            assertTrue(n != 0, "key " + k);
            assertEquals(10L * k, v.getLong(n + 8), "key " + k);
        }
    }

    /** The list {@code IpcChild list ... 1000} builds: 1,000 nodes, next pointer then value 1..1000. */
    static void assertListOfThousand(final ArenaView v, final int head) {
        long sum = 0;
        int count = 0;
        for (int node = head; node != 0; node = v.getInt(node)) {
            sum += v.getLong(node + 8);
            count++;
        }
        assertEquals(1000, count);
        assertEquals(500_500, sum);
    }

    @Test
    void theHeapRepairIsRefusedWhileAnotherLiveProcessIsAttached() throws Exception {
        final Path file = dir.resolve("q.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults());
             ChildJvm a = IpcChild.start("list", file.toString(), "10")) {
            a.await("built");
            final IllegalStateException x = assertThrows(IllegalStateException.class, () -> ObjectHeap.repair(arena));
            assertTrue(x.getMessage().startsWith("heap not repaired: other live processes are attached"), x.getMessage());
            assertTrue(x.getMessage().contains(Long.toString(a.pid())), x.getMessage());
            a.send("delete");
            a.await("deleted");
            assertEquals(0, a.waitFor(30));
            assertEquals(List.of(), ObjectHeap.repair(arena), "a quiet, consistent heap: nothing to do");
        }
    }

    @Test
    void hashTableBuiltAndUpdatedInOneProcessIsLookedUpInAnother() throws Exception {
        final Path file = dir.resolve("h.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults());
             ChildJvm a = IpcChild.start("hash", file.toString())) {
            a.await("done");
            assertEquals(0, a.waitFor(30));
            final ArenaView v = arena.strict();
            final int table = NamedRoots.of(arena).get("hash");
            int nodes = 0;
            for (int b = 0; b < IpcChild.BUCKETS; b++) {
                for (int n = v.getIntAcquire(table + b * 4); n != 0; n = v.getInt(n)) {
                    nodes++;
                }
            }
            assertEquals(1000, nodes, "each key once: old nodes were unlinked");
            assertHashOfThousand(v, table);
            assertEquals(List.of(), ObjectHeap.of(arena).check());
        }
    }

    /** Each lane's owner pid, tail and head, for failure messages. */
    private static String lanes(final SharedArena arena) {
        final int header = NamedRoots.of(arena).get("load");
        final StringBuilder b = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            final int l = io.sharena.ipc.layout.ChannelLayout.lane(header, i);
            b.append("[owner=0x").append(Long.toHexString(arena.raw().getLongVolatile(l + io.sharena.ipc.layout.ChannelLayout.OWNER)))
                .append(", pid=").append(arena.raw().getLongVolatile(l + io.sharena.ipc.layout.ChannelLayout.OWNER_PID))
                .append(", tail=").append(arena.raw().getLongVolatile(l + io.sharena.ipc.layout.ChannelLayout.TAIL))
                .append(", head=").append(arena.raw().getLongVolatile(l + io.sharena.ipc.layout.ChannelLayout.HEAD))
                .append("] ");
        }
        return b.toString();
    }

    @Test
    void channelUnderLoadFromThreeProcessesWithOneKilled() throws Exception {
        final int count = 30_000;
        final Path file = dir.resolve("c.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final Channel channel = Channel.create(arena, "load", 4, 1 << 14, 256);
            try (ChannelConsumer consumer = channel.consumer()) {
                final List<ChildJvm> producers = new ArrayList<>();
                for (int id = 0; id < 3; id++) {
                    producers.add(IpcChild.start("produce", file.toString(), "load", Integer.toString(id),
                        Integer.toString(count)));
                }

                final int[] next = new int[3];
                final String[] error = new String[1];
                boolean killed = false;
                final long deadline = System.nanoTime() + 120_000_000_000L;
                final BackoffIdleStrategy idle = new BackoffIdleStrategy();
                while ((next[1] < count || next[2] < count || consumer.deadProducers() == 0)
                    && System.nanoTime() < deadline && error[0] == null) {
                    consumer.poll((view, type, ptr, length) -> {
                        final int id = view.getInt(ptr);
                        final int seq = view.getInt(ptr + 4);
                        if (id < 0 || id > 2 || seq != next[id] || view.getLong(ptr + 8) != (long) id * seq
                            || length != 16 + seq % 84) {
                            error[0] = "bad message: id=" + id + ", seq=" + seq + ", expected=" + (id >= 0 && id < 3
                                ? next[id] : -1) + ", length=" + length;
                        } else {
                            next[id]++;
                        }
                    }, 256, idle, 1_000_000);
                    if (!killed && next[0] >= count / 4) {
                        producers.get(0).kill9(); // mid-stream, while it is writing
                        killed = true;
                    }
                }
                assertEquals(null, error[0]);
                assertTrue(killed);
                assertTrue(next[0] < count, "the killed producer did not finish: " + next[0]);
                assertEquals(count, next[1], "every message of a live producer, exactly once, in order");
                assertEquals(count, next[2]);
                assertEquals(1, consumer.deadProducers(), "the dead producer was reported; killed pid "
                    + producers.get(0).pid() + ", lanes " + lanes(arena) + ", producers said "
                    + producers.stream().map(ChildJvm::output).toList());
                assertEquals(producers.get(0).pid(), consumer.lastDeadPid());
                for (int i = 1; i < 3; i++) {
                    producers.get(i).await("sent");
                    assertEquals(0, producers.get(i).waitFor(30));
                }
                producers.get(0).close();
            }
            assertEquals(List.of(), ArenaChecker.check(arena).stream()
                .filter(v -> !v.startsWith("dead process still registered")).toList());
        }
    }
}
