package io.sharena.ipc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.ipc.layout.RootsLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link IpcCorruptionTest}, every case, in a 4 GiB arena whose low half is reserved: the roots,
 * the heap and the channels it damages all sit at pointers of 2 GiB and more. One case is
 * overridden, where the original's pointer "past the end" is the last page of a 4 GiB arena; the
 * product's behaviour it checks is the same.
 */
class TopHalfCorruptionTest extends IpcCorruptionTest {
    @BeforeEach
    @Override
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("x.arena"), Capacity.parse("4G"), ArenaOptions.defaults());
        final long first = arena.firstUserPage();
        assertEquals(ReserveResult.OK, arena.reservePages(arena.pointerOf(first), (int) ((1L << 19) - first)));
        v = arena.raw();
    }

    /**
     * Corruption found during use marks the structure for repair: Corruption.found took a negative
     * repair word (a heap or directory above 2 GiB) for "none" and marked nothing.
     */
    @Test
    void corruptionFoundAboveTwoGiBMarksTheHeapAndTheRootsForRepair() {
        final NamedRoots roots = NamedRoots.of(arena);
        roots.put("alpha", 100);
        final int dir = v.getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
        assertTrue(Integer.toUnsignedLong(dir) >= 1L << 31);
        final int e = dir + RootsLayout.entry(NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)));
        v.putIntRelease(e + RootsLayout.STATE, 9);
        final ArenaCorruptedException r = assertThrows(ArenaCorruptedException.class, () -> roots.get("alpha"));
        assertTrue(r.getMessage().endsWith("(marked for repair)"), r.getMessage());
        assertEquals(1L, v.getLongAcquire(dir + RootsLayout.REPAIR), "the directory's repair word");
        assertTrue(NamedRoots.check(arena).contains("named roots marked for repair (corruption was found during use)"),
            NamedRoots.check(arena).toString());
        assertEquals(List.of(), repairThenCheck());

        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(16);
        final int b = heap.allocate(16);
        heap.free(b);
        heap.free(a);
        v.putInt(b, a); // a -> b -> a -> ...
        final ArenaCorruptedException h = assertThrows(ArenaCorruptedException.class, () -> {
            for (int i = 0; i < 10; i++) {
                heap.allocate(16);
            }
        });
        assertTrue(h.getMessage().endsWith("(marked for repair)"), h.getMessage());
        assertTrue(heap.check().stream().anyMatch(s -> s.startsWith("heap marked for repair")), heap.check().toString());
    }

    /** The original's last pointer, -4096, is this arena's last page (no channel there): one past the end is not an int. */
    @Test
    @Override
    void aChannelHeaderWithBadFieldsIsRefusedWhenOpened() {
        Channel.create(arena, "c", 2, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("c");
        v.putInt(ChannelLayout.lane(header, 1) + ChannelLayout.RING, -4096); // the last page: 4 ring pages pass the end
        assertEquals("channel ring pointer",
            assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c")).structure());
        v.putInt(header + ChannelLayout.LANES, 1000);
        assertEquals("channel lane count",
            assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c")).structure());
    }
}
