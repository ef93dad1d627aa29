package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelPoint;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A channel's creation registers its name first ("being created", with its creator's owner token)
 * and records each ring as it is allocated: a creator killed halfway leaves a channel the next
 * opener gives back, a creator paused halfway keeps it, a reclaimer killed halfway leaves the rest
 * to the next. ({@link IpcCrashShapesTest} has the kill before the name is registered.)
 */
class ChannelCreationCrashTest {
    @TempDir
    Path dir;

    static long allocatedPages(final SharedArena arena) {
        long n = 0;
        for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
            if (Pages.state(arena, p) == PageEntry.ALLOCATED) {
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

    private static void killedAt(final ChannelPoint point, final int skip, final String... args) throws Exception {
        killedAt(point.id(), skip, args);
    }

    private static void killedAt(final String point, final int skip, final String... args) throws Exception {
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point,
            "-Dsharena.crashpoint.skip=" + skip, "-Dsharena.crashpoint.action=kill"), args)) {
            final int exit = child.waitFor(120);
            assertTrue(child.output().contains("crashpoint: " + point + " kill"), "the child reached " + point
                + " and was killed there; exit=" + exit + ", output: " + child.output());
            assertEquals(128 + 9, exit, "SIGKILL");
        }
    }

    /**
     * RING_RECORDED: a creator killed after registering the name and recording two of its four
     * rings. The next opener gives every page back and the name up; the next creator makes it.
     */
    @Test
    void aChannelCreatorKilledHalfwayLeavesAChannelTheNextOpenerGivesBack() throws Exception {
        final Path file = dir.resolve("c.arena");
        final long before = freshArenaWithRoots(file);
        killedAt(ChannelPoint.RING_RECORDED, 1, "create", file.toString(), "made");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(before + 1 + 2 * 4, allocatedPages(arena), "the header and two rings");
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Channel.open(arena, "made"));
            assertTrue(e.getMessage().contains("given back"), e.getMessage());
            assertEquals(before, allocatedPages(arena), "every page given back");
            assertEquals(0, NamedRoots.of(arena).get("made"));
            final Channel channel = Channel.create(arena, "made", 4, 1 << 14, 256);
            try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
                assertTrue(p.offer(3, new byte[8], 0, 8));
                assertEquals(1, c.poll((view, type, ptr, length) -> assertEquals(3, type), 16));
            }
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }

    /**
     * A dead creator's half-made channel whose second lane word was written (a stray write) with the
     * pointer of pages that hold another structure's data: the reclaim gives back the header and the
     * real ring, clears the garbled word and leaves the other structure's pages allocated and
     * whole. (Before, it freed whatever user pages the word named.)
     */
    @Test
    void aGarbledLaneWordOfADeadCreatorsChannelFreesNoOtherStructuresPages() throws Exception {
        final Path file = dir.resolve("g.arena");
        final long before = freshArenaWithRoots(file);
        // Killed with the first ring recorded: the second lane's word is still 0 when it is garbled.
        killedAt(ChannelPoint.RING_RECORDED, 0, "create", file.toString(), "made");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final int other = arena.allocPages(4);
            arena.raw().putLong(other + 8, 0x5EED_5EEDL);
            final int header = NamedRoots.of(arena).get("made");
            arena.raw().putIntRelease(io.sharena.ipc.layout.ChannelLayout.lane(header, 1)
                + io.sharena.ipc.layout.ChannelLayout.RING, other);
            assertThrows(IllegalArgumentException.class, () -> Channel.open(arena, "made"));
            assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(other) / 4096));
            assertEquals(0x5EED_5EEDL, arena.raw().getLong(other + 8), "the other structure's data untouched");
            assertEquals(before + 4, allocatedPages(arena), "every page of the channel given back, the other's kept");
            arena.freePages(other, 4);
        }
    }

    /**
     * Inside the allocation of the third ring: carved but not yet in its lane's word (the repair rolls
     * it back), or in the word with the allocator's intent still up (rolled forward, so the reclaim
     * finds it). Either way the next opener gives every page back: a ring is never allocated and
     * unrecorded.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"TAKE_CARVED, 3, 2", "TAKE_PUBLISHED, 3, 3"})
    void aCreatorKilledInsideARingsAllocationLeaksNothing(final String point, final int skip, final int rings)
        throws Exception {
        final Path file = dir.resolve("r.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("AllocPoint." + point, skip, "create", file.toString(), "made");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(before + 1 + rings * 4, allocatedPages(arena), "the header and the rings recorded");
            assertThrows(IllegalArgumentException.class, () -> Channel.open(arena, "made"));
            assertEquals(before, allocatedPages(arena), "every page given back");
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena));
        }
    }

    /**
     * RECLAIMING: the opener that gives a dead creator's channel back is killed in turn; the next
     * one takes over from it and finishes.
     */
    @Test
    void aReclaimerKilledHalfwayLeavesTheRestToTheNext() throws Exception {
        final Path file = dir.resolve("c.arena");
        final long before = freshArenaWithRoots(file);
        killedAt(ChannelPoint.RING_RECORDED, 2, "create", file.toString(), "made");
        // The second child comes to create the name, finds the dead creator's channel, and dies reclaiming it.
        killedAt(ChannelPoint.RECLAIMING, 0, "create", file.toString(), "made");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertThrows(IllegalArgumentException.class, () -> Channel.open(arena, "made"));
            assertEquals(before, allocatedPages(arena), "every page given back");
            Channel.create(arena, "made", 4, 1 << 14, 256);
        }
    }

    /**
     * A reclaimer killed inside the give-back of a ring (its word cleared, the ring not yet freed:
     * skip 0 and 1), of the header (skip 2), or after the header's give-back with the name not yet
     * removed: before, a ring's word was cleared by a CAS and the ring freed after it, and the name
     * removed before the header was freed, so a kill between the two leaked the ring or the header.
     * Now each page is freed with its word as one step; the next opener gives the rest back.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"AllocPoint.FREE_FROM_WORD_CLEARED, 0", "AllocPoint.FREE_FROM_WORD_CLEARED, 1",
        "AllocPoint.FREE_FROM_WORD_CLEARED, 2", "AllocPoint.FREE_FROM_INTENT_WRITTEN, 2", "RootsPoint.REMOVE_CLEARED, 0"})
    void aReclaimerKilledInsideAGiveBackLeaksNothing(final String point, final int skip) throws Exception {
        final Path file = dir.resolve("g.arena");
        final long before = freshArenaWithRoots(file);
        // A creator dies with two of four rings recorded; the next comer dies giving them back.
        killedAt(ChannelPoint.RING_RECORDED, 1, "create", file.toString(), "made");
        killedAt(point, skip, "create", file.toString(), "made");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertThrows(IllegalArgumentException.class, () -> Channel.open(arena, "made"));
            assertEquals(before, allocatedPages(arena), "every page given back");
            final Channel channel = Channel.create(arena, "made", 4, 1 << 14, 256);
            try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
                assertTrue(p.offer(3, new byte[8], 0, 8));
                assertEquals(1, c.poll((view, type, ptr, length) -> assertEquals(3, type), 16));
            }
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena).stream()
                .filter(v -> !v.startsWith("dead process still registered")).toList());
        }
    }

    /**
     * RING_RECORDED, paused: while its creator lives, a half-made channel is never taken from it;
     * another attachment opening the name is told it is being created, and nothing is freed.
     */
    @Test
    void aChannelPausedHalfwayThroughItsCreationIsNeverReclaimedFromItsLiveCreator() throws Exception {
        final Path file = dir.resolve("p.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
            NamedRoots.of(a);
            final Throwable[] failed = new Throwable[1];
            final Channel[] made = new Channel[1];
            final Thread creator;
            final long pausedAt;
            try (PointPause pause = new PointPause(ChannelPoint.RING_RECORDED)) {
                creator = PointPause.start(() -> made[0] = Channel.create(a, "slow", 4, 1 << 14, 256), failed);
                assertTrue(pause.awaitReached());
                pausedAt = allocatedPages(b);
                final IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> Channel.open(b, "slow"));
                assertTrue(e.getMessage().contains("being created"), e.getMessage());
                assertThrows(IllegalArgumentException.class,
                    () -> Channel.create(b, "slow", 1, 1 << 14, 256), "the name is in use");
                assertEquals(pausedAt, allocatedPages(b), "nothing given back from under the live creator");
                pause.release();
                creator.join(30_000);
            }
            assertNull(failed[0], () -> "creator failed: " + failed[0]);
            try (ChannelProducer p = Channel.open(b, "slow").producer(); ChannelConsumer c = made[0].consumer()) {
                assertTrue(p.offer(5, new byte[8], 0, 8));
                assertEquals(1, c.poll((view, type, ptr, length) -> assertEquals(5, type), 16));
            }
            assertEquals(pausedAt + 3 * 4, allocatedPages(b), "the last three rings");
        }
    }

    /**
     * RECLAIMING, paused: a reclaimer that lives keeps the half-made channel; another attachment
     * neither reclaims it too (which would free its pages twice) nor creates the name over it.
     */
    @Test
    void aReclaimerPausedHalfwayKeepsTheChannelFromOthers() throws Exception {
        final Path file = dir.resolve("q.arena");
        final long before = freshArenaWithRoots(file);
        killedAt(ChannelPoint.RING_RECORDED, 3, "create", file.toString(), "made");
        try (SharedArena a = SharedArena.open(file, ArenaOptions.defaults());
             SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(before + 1 + 4 * 4, allocatedPages(a), "the header and four rings");
            final Throwable[] failed = new Throwable[1];
            final Thread reclaimer;
            try (PointPause pause = new PointPause(ChannelPoint.RECLAIMING)) {
                reclaimer = PointPause.start(() -> {
                    try {
                        Channel.open(a, "made");
                        throw new AssertionError("a half-made channel opened");
                    } catch (final IllegalArgumentException given) {
                        assertTrue(given.getMessage().contains("given back"), given.getMessage());
                    }
                }, failed);
                assertTrue(pause.awaitReached());
                final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Channel.open(b, "made"));
                assertTrue(e.getMessage().contains("being created"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> Channel.create(b, "made", 1, 1 << 14, 256));
                assertEquals(before + 1 + 4 * 4, allocatedPages(b), "nothing given back by the second comer");
                pause.release();
                reclaimer.join(30_000);
            }
            assertNull(failed[0], () -> "reclaimer failed: " + failed[0]);
            assertEquals(before, allocatedPages(b), "every page given back, once");
            Channel.create(b, "made", 4, 1 << 14, 256);
            assertEquals(List.of(), NamedRoots.check(b));
        }
    }
}
