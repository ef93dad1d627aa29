package io.sharena.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tools on an arena whose structures all sit at pointers of 2 GiB and more (negative as an
 * int): its low half reserved first, so the roots, the heap, a channel and the default store land
 * above, and their pages too.
 */
class TopHalfCliTest extends CapturedStreams {
    private static final int HALF_PAGES = 1 << 19;

    @TempDir
    Path dir;

    private Path highFile(final String name) throws Exception {
        final Path file = dir.resolve(name);
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final long first = a.firstUserPage();
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) (HALF_PAGES - first)));
            final ObjectHeap heap = ObjectHeap.of(a);
            final List<Integer> objects = new ArrayList<>();
            for (final int size : new int[] {16, 100, 2000, 70_000}) {
                for (int i = 0; i < 50; i++) {
                    objects.add(heap.allocate(size));
                }
            }
            for (int i = 0; i < objects.size(); i += 2) {
                heap.free(objects.get(i));
            }
            final Channel ch = Channel.create(a, "chan", 2, 1 << 14, 256);
            try (ChannelConsumer in = ch.consumer(); ChannelProducer out = ch.producer()) {
                for (int i = 0; i < 50; i++) {
                    assertTrue(out.offer(1, new byte[64], 0, 64));
                }
                in.poll((view, type, ptr, length) -> { }, 20);
            }
            try (SharedStore s = SharedStore.of(a, SharedStore.DEFAULT_ROOT,
                StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16))) {
                for (int i = 0; i < 500; i++) {
                    s.set(("key" + i).getBytes(StandardCharsets.UTF_8), ("v" + i).getBytes(StandardCharsets.UTF_8), 0, 0);
                }
            }
            for (final int p : NamedRoots.of(a).list().values()) {
                assertTrue(Integer.toUnsignedLong(p) >= 1L << 31, "0x" + Integer.toHexString(p));
            }
        }
        return file;
    }

    @Test
    void checkStatDumpOnAnArenaAboveTwoGiB() throws Exception {
        final Path file = highFile("t.arena");
        assertEquals(0, ArenaCli.run("check", file.toString()), out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("check", "--repair", file.toString()), out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("check", file.toString()), out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("stat", file.toString()), out() + err());
        assertTrue(out().contains("store          sharena.store: 500 items"), out());
        resetOut();
        assertEquals(0, ArenaCli.run("stat", "--json", file.toString()), out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("dump", file.toString()), out() + err());
        assertFalse(out().contains("broken"), out());
        resetOut();
        assertEquals(0, ArenaCli.run("dump", "--json", file.toString()), out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("dump", file.toString(), "--pages", (HALF_PAGES - 2) + ".." + (HALF_PAGES + 40)),
            out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("dump", file.toString(), "--keys", "2000"), out() + err());
        assertTrue(out().contains("store sharena.store: 500 key(s)"), out());
        assertEquals("", err());
    }

    private static final Pattern LAST = Pattern.compile(
        "stress: kills=(\\d+) ops=(\\d+) recoveries=(\\d+) violations=(\\d+) double_handed=(\\d+) leaked=(\\d+)");

    /** The page campaign on a 4 GiB file whose low half is reserved: every worker's span is above 2 GiB. */
    @Test
    void stressAboveTwoGiB() throws Exception {
        final Path file = dir.resolve("s.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final long first = a.firstUserPage();
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) (HALF_PAGES - first)));
            StressFile.mark(a, false); // stress runs only on a file it made: this one is made as it would be
        }
        final long seed = 7;
        final int exit = ArenaCli.run("stress", file.toString(), "--processes", "2", "--seconds", "10",
            "--kill-every", "300", "--seed", Long.toString(seed));
        final String[] lines = out().strip().split("\n");
        final Matcher m = LAST.matcher(lines[lines.length - 1]);
        assertTrue(m.matches(), out() + err());
        assertEquals(0, exit, out() + err());
        assertEquals("0", m.group(4), out());
        assertEquals("0", m.group(5), out());
        assertEquals("0", m.group(6), out());
        assertTrue(Long.parseLong(m.group(1)) > 0 && Long.parseLong(m.group(2)) > 100, out());
        resetOut();
        assertEquals(0, ArenaCli.run("check", file.toString()), out() + err());
    }

    /** The store campaign on a file whose default store lies above 2 GiB. */
    @Test
    void storeStressAboveTwoGiB() throws Exception {
        final Path file = dir.resolve("ss.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final long first = a.firstUserPage();
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) (HALF_PAGES - first)));
            SharedStore.of(a, SharedStore.DEFAULT_ROOT, StoreOptions.defaults().withMemoryLimit(4L << 20)
                .withMaxItemSize(1 << 16)).close();
            assertTrue(Integer.toUnsignedLong(NamedRoots.of(a).get(SharedStore.DEFAULT_ROOT)) >= 1L << 31);
            StressFile.mark(a, true);
        }
        final int exit = ArenaCli.run("stress", "--store", file.toString(), "--processes", "2", "--seconds", "10",
            "--kill-every", "300", "--memory", "4M", "--seed", "11");
        assertEquals(0, exit, out() + err());
        final String[] lines = out().strip().split("\n");
        final Matcher m = Pattern.compile("stress: kills=(\\d+) ops=(\\d+) violations=0 torn=0 lost=0 leaked=0")
            .matcher(lines[lines.length - 1]);
        assertTrue(m.matches() && Long.parseLong(m.group(1)) > 0 && Long.parseLong(m.group(2)) > 100, out());
        resetOut();
        assertEquals(0, ArenaCli.run("check", file.toString()), out() + err());
        resetOut();
        assertEquals(0, ArenaCli.run("stat", file.toString()), out() + err());
        assertTrue(out().contains("store          sharena.store"), out());
    }
}
