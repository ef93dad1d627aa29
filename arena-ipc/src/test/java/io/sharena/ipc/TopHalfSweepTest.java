package io.sharena.ipc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.PageState;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreTools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sweep for pointers of 2 GiB and more (negative as an int) beyond {@link TopHalfPointerTest}:
 * the check, repair and tool paths of every IPC structure, with the structures all above 2 GiB, or
 * straddling 0x80000000 (a few pages left free right below it).
 */
class TopHalfSweepTest {
    private static final long TWO_GIB = 1L << 31;
    private static final int HALF_PAGES = 1 << 19;

    @TempDir
    Path dir;

    /** Everything below 2 GiB reserved: every IPC structure, roots included, lands above. */
    private SharedArena highArena(final String name) throws Exception {
        final SharedArena a = SharedArena.create(dir.resolve(name), Capacity.parse("4G"), ArenaOptions.defaults());
        final long first = a.firstUserPage();
        assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) (HALF_PAGES - first)));
        return a;
    }

    /**
     * The roots directory below 2 GiB, then every free page below {@code HALF_PAGES - below} reserved:
     * the next multi-page allocations straddle 0x80000000.
     */
    private SharedArena straddleArena(final String name, final int below) throws Exception {
        final SharedArena a = SharedArena.create(dir.resolve(name), Capacity.parse("4G"), ArenaOptions.defaults());
        NamedRoots.of(a);
        final long end = HALF_PAGES - below;
        long p = a.firstUserPage();
        while (p < end) {
            if (a.pageState(p) != PageState.FREE) {
                p++;
                continue;
            }
            long q = p;
            while (q < end && a.pageState(q) == PageState.FREE) {
                q++;
            }
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(p), (int) (q - p)));
            p = q;
        }
        return a;
    }

    private static List<String> allChecks(final SharedArena a) {
        final List<String> v = new ArrayList<>(ArenaChecker.check(a).stream()
            .filter(s -> !s.startsWith("dead process still registered")).toList());
        v.addAll(IpcCheck.check(a));
        return v;
    }

    private static List<String> repairThenCheck(final SharedArena a) {
        assertTrue(ArenaInternals.repair(a, 5_000_000_000L, IpcCheck.heldPages(a)), "allocator repair: "
            + ArenaInternals.repairNotes(a));
        final List<String> done = IpcCheck.repair(a, 5_000_000_000L);
        assertEquals(List.of(), allChecks(a), "after repair, which did: " + done);
        return done;
    }

    private static String hex(final int p) {
        return "0x" + Integer.toHexString(p);
    }

    // ------------------------------------------------------------------ workout (roots, heap, channel)

    @Test
    void workoutWithRepairsAboveTwoGiB() throws Exception {
        try (SharedArena a = highArena("w.arena")) {
            Workout.run(a, "a", true);
            assertTrue(Integer.toUnsignedLong(ArenaInternals.rootsDirectory(a)) >= TWO_GIB);
            assertEquals(List.of(), allChecks(a));
            repairThenCheck(a);
            Workout.run(a, "b", true);
            assertEquals(List.of(), allChecks(a));
        }
    }

    @Test
    void workoutWithRepairsStraddlingTwoGiB() throws Exception {
        for (final int below : new int[] {1, 2, 3, 5}) {
            try (SharedArena a = straddleArena("ws" + below + ".arena", below)) {
                Workout.run(a, "a", true);
                assertEquals(List.of(), allChecks(a), "below=" + below);
                repairThenCheck(a);
                Workout.run(a, "b", true);
                assertEquals(List.of(), allChecks(a), "below=" + below);
            }
        }
    }

    // ------------------------------------------------------------------ heap

    @Test
    void heapObjectsOfEverySizeCheckedAndRepairedAboveAndAcrossTwoGiB() throws Exception {
        for (final int below : new int[] {0, 3, 17, 60}) {
            try (SharedArena a = below == 0 ? highArena("h.arena") : straddleArena("h" + below + ".arena", below)) {
                final ObjectHeap heap = ObjectHeap.of(a);
                final List<Integer> live = new ArrayList<>();
                boolean straddles = below == 0;
                for (final int size : new int[] {200_000, 70_000, 5000, 8, 16, 24, 100, 1000, 2048}) {
                    for (int i = 0; i < 300; i++) {
                        final int o = heap.allocate(size);
                        assertTrue(o != 0);
                        a.strict().fill(o, size, (byte) 0x5A);
                        live.add(o);
                        straddles |= Integer.toUnsignedLong(o) < TWO_GIB && Integer.toUnsignedLong(o) + size > TWO_GIB;
                        if (size > 4096 && i > 3) {
                            break;
                        }
                    }
                }
                assertTrue(straddles, "an object across 0x80000000, below=" + below);
                assertEquals(List.of(), heap.check(), "below=" + below);
                assertEquals(List.of(), allChecks(a), "below=" + below);
                for (int i = 0; i < live.size(); i += 2) {
                    heap.free(live.get(i));
                }
                assertEquals(List.of(), heap.check());
                repairThenCheck(a);
                for (int i = 1; i < live.size(); i += 2) {
                    heap.free(live.get(i));
                }
                assertEquals(List.of(), ObjectHeap.repair(a));
                assertEquals(List.of(), allChecks(a), "below=" + below);
            }
        }
    }

    // ------------------------------------------------------------------ channels

    @Test
    void channelChecksAndHeldPagesAboveAndAcrossTwoGiB() throws Exception {
        for (final int below : new int[] {0, 1, 2, 4}) {
            try (SharedArena a = below == 0 ? highArena("c.arena") : straddleArena("c" + below + ".arena", below)) {
                final Channel ch = Channel.create(a, "c", 2, 1 << 14, 256);
                final int header = NamedRoots.of(a).get("c");
                try (ChannelConsumer in = ch.consumer(); ChannelProducer out = ch.producer()) {
                    for (int round = 0; round < 20; round++) {
                        for (int i = 0; i < 100; i++) {
                            assertTrue(out.offer(1, new byte[200], 0, 16 + i), "offer " + i);
                        }
                        int got = 0;
                        while (got < 100) {
                            got += in.poll((view, type, ptr, length) -> view.getByte(ptr + length - 1), 64);
                        }
                    }
                    assertEquals(List.of(), Channel.check(a), "below=" + below + ", header " + hex(header));
                }
                final BitSet held = new BitSet();
                assertTrue(Channel.heldPages(a, header, held));
                assertTrue(held.get((int) (Integer.toUnsignedLong(header) / 4096)), "header page held");
                assertEquals(List.of(), allChecks(a), "below=" + below);
                repairThenCheck(a);
            }
        }
    }

    // ------------------------------------------------------------------ stores

    private static void fill(final SharedStore s, final int n) {
        for (int i = 0; i < n; i++) {
            s.set(("k" + i).getBytes(StandardCharsets.UTF_8), ("value-" + i).getBytes(StandardCharsets.UTF_8), i, 0);
        }
    }

    private void storeTools(final SharedArena a, final String what) throws Exception {
        try (SharedStore s = SharedStore.of(a, "s", StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16))) {
            fill(s, 3000);
            s.delete("k5".getBytes(StandardCharsets.UTF_8));
        }
        final int header = NamedRoots.of(a).get("s");
        assertEquals(List.of("s"), StoreTools.stores(a), what);
        final Map<String, Long> stats = StoreTools.stats(a, "s");
        assertTrue(stats.get("ring_linked") > 0, what + ": " + stats);
        assertEquals(List.of(), StoreTools.check(a, "s"), what);
        assertTrue(StoreTools.keys(a, "s", 100).size() > 0, what);
        assertEquals(List.of(), StoreTools.checkAll(a), what);
        final BitSet held = IpcCheck.heldPages(a);
        assertTrue(held.get((int) (Integer.toUnsignedLong(header) / 4096)), what + ": header page held");
        assertEquals(List.of(), allChecks(a), what);
        repairThenCheck(a);
        // An orphan: the root dropped, the region kept.
        assertEquals(header, NamedRoots.of(a).remove("s"));
        final List<String> orphan = StoreTools.checkAll(a);
        assertEquals(1, orphan.size(), what + ": " + orphan);
        assertTrue(orphan.get(0).contains("header=" + hex(header)), what + ": " + orphan);
        final List<String> done = StoreTools.repairAll(a, 5_000_000_000L);
        assertTrue(done.get(0).contains("named again: header=" + hex(header)), what + ": " + done);
        assertEquals(header, NamedRoots.of(a).get(SharedStore.DEFAULT_ROOT), what);
        assertEquals(List.of(), allChecks(a), what);
        try (SharedStore s = SharedStore.of(a, SharedStore.DEFAULT_ROOT, StoreOptions.defaults())) {
            assertEquals("value-2999", new String(s.get("k2999".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
        }
    }

    @Test
    void storeToolsAboveTwoGiB() throws Exception {
        try (SharedArena a = highArena("s.arena")) {
            storeTools(a, "high");
        }
    }

    @Test
    void storeToolsStraddlingTwoGiB() throws Exception {
        for (final int below : new int[] {1, 2, 64}) {
            try (SharedArena a = straddleArena("s" + below + ".arena", below)) {
                storeTools(a, "below=" + below);
            }
        }
    }
}
