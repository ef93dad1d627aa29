package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A lock-free reader or writer of a name that checked for a creation in flight just before the
 * creation began ({@link NamedRoots#getCreated}, {@link NamedRoots#put}): paused after that check, it
 * must still never see or change the name's value while the creation formats it.
 */
class RootsCreationRaceTest {
    static final int MAGIC = 0x600DF00D;

    @TempDir
    Path dir;
    SharedArena arena;
    NamedRoots roots;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("c.arena"), Capacity.parse("4M"), ArenaOptions.defaults());
        roots = NamedRoots.of(arena);
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(List.of(), roots.check());
        assertEquals(List.of(), ArenaChecker.check(arena));
        arena.close();
    }

    @Test
    void getCreatedPausedBeforeACreationNeverReturnsTheStructureHalfFormatted() throws Exception {
        roots.put("x", 0); // the name exists, holding nothing: create makes its structure in that entry
        final Throwable[] failure = new Throwable[1];
        final int[] got = {-1};
        final int[] magicSeen = {-1};
        final boolean[] returnedDuringFormat = new boolean[1];
        final int ptr;
        try (PointPause pause = new PointPause(RootsPoint.FOUND)) {
            final Thread t = PointPause.start(() -> {
                got[0] = roots.getCreated("x");
                magicSeen[0] = got[0] == 0 ? 0 : arena.raw().getIntAcquire(got[0]);
            }, failure);
            assertTrue(pause.awaitReached()); // past its check for a creation in flight: there was none
            ptr = roots.create("x", 1, p -> {
                pause.release();
                try {
                    t.join(1_000);
                } catch (final InterruptedException e) {
                    throw new AssertionError(e);
                }
                returnedDuringFormat[0] = !t.isAlive();
                arena.raw().putIntRelease(p, MAGIC);
            });
            t.join(10_000);
        }
        assertNull(failure[0]);
        assertTrue(got[0] == 0 || got[0] == ptr, "got=" + got[0] + ", ptr=" + ptr);
        assertTrue(got[0] == 0 || magicSeen[0] == MAGIC,
            "getCreated returned the structure while its creator was formatting it: returnedDuringFormat="
                + returnedDuringFormat[0] + ", magic=0x" + Integer.toHexString(magicSeen[0]));
    }

    @Test
    void aPutPausedBeforeACreationNeverChangesTheNameUnderIt() throws Exception {
        roots.put("x", 0);
        final int other = arena.allocPages(1);
        final Throwable[] failure = new Throwable[1];
        final int[] old = {-1};
        final boolean[] changedDuringFormat = new boolean[1];
        final int ptr;
        try (PointPause pause = new PointPause(RootsPoint.FOUND)) {
            final Thread t = PointPause.start(() -> old[0] = roots.put("x", other), failure);
            assertTrue(pause.awaitReached());
            ptr = roots.create("x", 1, p -> {
                pause.release();
                try {
                    t.join(1_000);
                } catch (final InterruptedException e) {
                    throw new AssertionError(e);
                }
                changedDuringFormat[0] = roots.get("x") != p;
                arena.raw().putIntRelease(p, MAGIC);
            });
            t.join(10_000);
        }
        assertNull(failure[0]);
        assertTrue(!changedDuringFormat[0], "a put replaced the value of a creation in flight: old=" + old[0]
            + ", created=" + ptr + ", now=" + roots.get("x"));
        // Whichever went first, the pages of the one that lost are the caller's to free: free them.
        arena.freePages(old[0] == 0 ? other : old[0], 1);
    }

    /**
     * A format that throws leaves the creation unfinished while its creator lives on and unlocks: it
     * must be undone then and there (the pages freed from the entry, the name dropped), not left for a
     * later lock holder, which takes a record it finds without a dead creator for a stray write and
     * keeps the half-made structure under the name.
     */
    @Test
    void aFormatThatThrowsLeavesNothingUnderTheName() throws Exception {
        final long before = ChannelCreationCrashTest.allocatedPages(arena);
        final int[] made = new int[1];
        final IllegalStateException thrown = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
            () -> roots.create("y", 2, p -> {
                made[0] = p;
                throw new IllegalStateException("format failed");
            }));
        assertEquals("format failed", thrown.getMessage());
        assertTrue(made[0] != 0);
        assertEquals(0, roots.getCreated("y"), "the half-made structure is not under the name");
        assertEquals(List.of(), roots.check(), "no creation left unfinished");
        assertEquals(before, ChannelCreationCrashTest.allocatedPages(arena), "its pages were given back");
        final int again = roots.create("y", 2, p -> arena.raw().putIntRelease(p, MAGIC));
        assertTrue(again != 0 && arena.raw().getIntAcquire(again) == MAGIC, "made anew");
    }

    /** A stray write into the creation record, no creator in flight: readers and writers neither hang nor free. */
    @Test
    void aStrayCreationRecordIsClearedByTheFirstReaderAndFreesNothing() throws Exception {
        final int page = arena.allocPages(1);
        roots.put("z", page);
        final int dir = io.sharena.core.internal.ArenaInternals.rootsDirectory(arena);
        final int index = NamedRoots.hash("z".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        arena.raw().putLongVolatile(dir + io.sharena.ipc.layout.RootsLayout.CREATING, ((long) (index + 1) << 32) | 1);
        assertEquals(page, roots.getCreated("z"));
        assertEquals(page, roots.put("z", page));
        assertEquals(io.sharena.core.layout.PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(page) / 4096));
        assertEquals(0L, arena.raw().getLongAcquire(dir + io.sharena.ipc.layout.RootsLayout.CREATING));
        arena.freePages(page, 1);
    }
}
