package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A heap refill allocates its slab page into a refill slot of its class and lets go of it once the
 * page's objects are pushed: a refill killed at any step, inside the page allocator's steps too,
 * loses no page. The next refill of the class, or a repair, settles the slot the dead refill left.
 * Each case counts the arena's allocated pages: every one must be the roots directory, the heap's
 * metadata page or one of the heap's slab pages.
 */
class HeapRefillCrashTest {
    private static final int SIZE = 16;
    // The page allocator's points (its package is not exported): before the slot names the page.
    private static final String TAKE_INTENT_WRITTEN = "AllocPoint.TAKE_INTENT_WRITTEN";
    private static final String TAKE_CARVED = "AllocPoint.TAKE_CARVED";

    @TempDir
    Path dir;

    /** Every step of a refill, the allocator's steps of its allocation into the slot included. */
    static Stream<String> refillSteps() {
        return Stream.of(HeapPoint.REFILL_CLAIMED.id(), TAKE_INTENT_WRITTEN, "AllocPoint.TAKE_COMMITTED",
            "AllocPoint.TAKE_AHEAD_COMMITTED", TAKE_CARVED, "AllocPoint.TAKE_PUBLISHED",
            "AllocPoint.TAKE_INTENT_CLEARED", HeapPoint.REFILL_ALLOCATED.id(), HeapPoint.REFILL_LINKED.id(),
            HeapPoint.REFILL_FORMATTED.id(),
            HeapPoint.REFILL_PUSHED.id(), HeapPoint.REFILL_CLEARED.id());
    }

    /** A fresh arena with its roots and heap, closed. @return its allocated pages */
    private long freshHeap(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            ObjectHeap.of(arena);
            return ChannelCreationCrashTest.allocatedPages(arena);
        }
    }

    /** @return the size class of {@code size}-byte objects */
    private static int classOf(final int size) {
        int c = 0;
        while (HeapLayout.SIZES[c] < size) {
            c++;
        }
        return c;
    }

    private static long slabPages(final SharedArena arena) {
        long n = 0;
        for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
            final int page = (int) (p * Geometry.PAGE_SIZE);
            if (Pages.state(arena, p) == PageEntry.ALLOCATED
                && arena.raw().getIntAcquire(page + HeapLayout.MAGIC) == HeapLayout.MAGIC_SLAB) {
                n++;
            }
        }
        return n;
    }

    /** Every allocated page is the roots', the heap's metadata or a slab page: none is left in transit. */
    private static void assertNoPageLost(final SharedArena arena, final long base) {
        assertEquals(base + slabPages(arena), ChannelCreationCrashTest.allocatedPages(arena),
            "allocated pages = the roots' and the heap's metadata (" + base + ") + slab pages (" + slabPages(arena) + ")");
    }

    private static void killedAt(final String point, final String... args) throws Exception {
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point,
            "-Dsharena.crashpoint.action=kill"), args)) {
            final int exit = child.waitFor(120);
            assertTrue(child.output().contains("crashpoint: " + point + " kill"), "the child reached "
                + point + " and was killed there; exit=" + exit + ", output: " + child.output());
            assertEquals(128 + 9, exit, "SIGKILL");
        }
    }

    /** The objects of the class that are neither in use nor on its stack: what a repair reclaims. */
    private static List<String> lostObjects(final SharedArena arena) {
        return ObjectHeap.check(arena).stream().filter(v -> v.contains("neither in use nor on the free stack")).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refillSteps")
    void aRefillKilledAtAnyStepLosesNoPageAndTheNextRefillSettlesItsSlot(final String point) throws Exception {
        final Path file = dir.resolve("h.arena");
        final long base = freshHeap(file);
        killedAt(point, "allocate", file.toString(), String.valueOf(SIZE), "1");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            // The next refill of the class takes the dead refill's slot over (or its own), settles it,
            // and refills: 2 of each class's objects come from a page that is the heap's.
            final int a = heap.allocate(SIZE);
            final int b = heap.allocate(SIZE);
            assertNotEquals(0, a);
            assertNotEquals(0, b);
            assertNoPageLost(arena, base);
            // A page formatted but never pushed is the heap's: its objects come back with a repair.
            assertEquals(List.of(), ObjectHeap.check(arena).stream().filter(v -> !lostObjects(arena).contains(v)).toList());
            ObjectHeap.repair(arena);
            assertEquals(List.of(), ObjectHeap.check(arena));
            assertNoPageLost(arena, base);
            heap.free(a);
            heap.free(b);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refillSteps")
    void aRefillKilledAtAnyStepLosesNoPageAndARepairSettlesItsSlot(final String point) throws Exception {
        final Path file = dir.resolve("r.arena");
        final long base = freshHeap(file);
        killedAt(point, "allocate", file.toString(), String.valueOf(SIZE), "1");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertTrue(ArenaInternals.repair(arena, 5_000_000_000L), "allocator repair ran");
            final List<String> before = ObjectHeap.check(arena);
            // Only a page not yet formatted is in transit: a slab page is the heap's, found by every scan.
            final boolean unformatted = List.of("AllocPoint.TAKE_PUBLISHED", "AllocPoint.TAKE_INTENT_CLEARED",
                HeapPoint.REFILL_ALLOCATED.id(), HeapPoint.REFILL_LINKED.id()).contains(point);
            assertEquals(unformatted, before.stream().anyMatch(v -> v.startsWith("heap refill slot names a page")),
                "check reports the dead refill's slot exactly when it names an unformatted page: " + before);
            final List<String> done = ObjectHeap.repair(arena);
            assertEquals(unformatted, done.stream().anyMatch(v -> v.startsWith("heap refill slot of a dead refill settled, "
                + "its unformatted page given back")), String.valueOf(done));
            assertEquals(List.of(), ObjectHeap.check(arena));
            assertNoPageLost(arena, base);
            assertNotEquals(0, ObjectHeap.of(arena).allocate(SIZE));
            assertNoPageLost(arena, base);
        }
    }

    /**
     * A dead refill's slot names its unformatted page, and another thread holds the allocator's lock
     * (as a stopped process would): the next refill takes the slot over and cannot give the page
     * back (the lock is busy). It used to return "pop again", claim the same slot, fail the same
     * settle, and spin for as long as the lock stayed held. Now it takes a page unrecorded (or
     * finds none): the allocation returns.
     */
    @Test
    void aRefillThatCannotSettleADeadSlotWhileTheLockIsHeldReturns() throws Exception {
        final Path file = dir.resolve("busy.arena");
        freshHeap(file);
        allocationReturnsWhileTheLockIsHeldAfterARefillKilled(file);
    }

    /**
     * Kills a refill with its page in its slot, then allocates while another thread holds the
     * allocator's lock (the slot cannot be settled): the allocation returns within 10 s; with the
     * lock free again, the next refill settles the dead slot and nothing is lost.
     */
    private void allocationReturnsWhileTheLockIsHeldAfterARefillKilled(final Path file) throws Exception {
        killedAt(HeapPoint.REFILL_ALLOCATED.id(), "allocate", file.toString(), String.valueOf(SIZE), "1");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            try (AllocatorLockHolder ignored = new AllocatorLockHolder(arena)) {
                final int obj = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
                    () -> heap.allocate(SIZE), "the allocation returns while the lock is held");
                if (obj != 0) {
                    heap.free(obj);
                }
            }
            assertNotEquals(0, heap.allocate(SIZE));
            ObjectHeap.repair(arena);
            assertEquals(List.of(), ObjectHeap.check(arena));
        }
    }

    /**
     * The same, on a class whose stack has been used: its head's tag is not 0 once emptied, and the
     * refill read the whole head word as "objects arrived", so the allocation popped nothing,
     * refilled again and spun for as long as the lock was held.
     */
    @Test
    void aRefillThatCannotSettleOnAUsedEmptyStackReturns() throws Exception {
        final Path file = dir.resolve("used.arena");
        freshHeap(file);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            for (int i = 0; i < HeapLayout.objectsPerSlab(classOf(SIZE)); i++) {
                assertNotEquals(0, heap.allocate(SIZE));
            }
        }
        allocationReturnsWhileTheLockIsHeldAfterARefillKilled(file);
    }

    /**
     * A refill killed with its page in its slot, then the process that takes the slot over killed
     * before settling it, then killed inside the settle's free: the third process loses nothing.
     */
    @Test
    void theRefillsThatSettleADeadRefillsSlotMayDieThemselves() throws Exception {
        final Path file = dir.resolve("d.arena");
        final long base = freshHeap(file);
        killedAt(HeapPoint.REFILL_ALLOCATED.id(), "allocate", file.toString(), String.valueOf(SIZE), "1");
        killedAt(HeapPoint.REFILL_CLAIMED.id(), "allocate", file.toString(), String.valueOf(SIZE), "1");
        killedAt("AllocPoint.FREE_FROM_WORD_CLEARED", "allocate", file.toString(), String.valueOf(SIZE), "1");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertNotEquals(0, ObjectHeap.of(arena).allocate(SIZE));
            assertNoPageLost(arena, base);
            assertEquals(1, slabPages(arena), "the one refill that finished");
            assertEquals(List.of(), ObjectHeap.check(arena));
        }
    }

    /**
     * While a refill's slot still names its page (paused after the push), another thread fills that
     * page and two more, then empties all three, four times over in both orders, so the class trims
     * each time: the page the slot names is always kept, so that a settle after that refill's death
     * finds it still this class's slab, not given back and reused. (Without the trim's check, the
     * second round gives it back.)
     */
    @Test
    void aTrimKeepsThePageARefillSlotStillNames() throws Exception {
        final Path file = dir.resolve("t.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final Throwable[] failure = new Throwable[1];
            final int[] pausedObject = new int[1];
            try (PointPause pause = new PointPause(HeapPoint.REFILL_PUSHED)) {
                final Thread paused = PointPause.start(() -> pausedObject[0] = heap.allocate(SIZE), failure);
                assertTrue(pause.awaitReached(), "the refill reached its push");
                final int perPage = HeapLayout.objectsPerSlab(classOf(SIZE));
                final int named = (int) (heap.allocate(SIZE) & ~(Geometry.PAGE_SIZE - 1L));
                heap.free(named + HeapLayout.SLAB_HEADER);
                // Rounds of: every object of three pages allocated, then freed, forwards and
                // backwards: each round empties three pages, so the class trims and keeps one.
                for (int round = 0; round < 4; round++) {
                    final List<Integer> objects = new ArrayList<>();
                    for (int i = 0; i < 3 * perPage; i++) {
                        objects.add(heap.allocate(SIZE));
                    }
                    final List<Integer> pages = objects.stream().map(o -> o & ~(Geometry.PAGE_SIZE - 1)).distinct().toList();
                    assertEquals(3, pages.size(), "three slab pages");
                    assertTrue(pages.contains(named), "the page the paused refill's slot names is in use again");
                    if (round % 2 == 1) {
                        java.util.Collections.reverse(objects);
                    }
                    objects.forEach(heap::free);
                    assertEquals(HeapLayout.MAGIC_SLAB, arena.raw().getIntAcquire(named + HeapLayout.MAGIC),
                        "round " + round + ": the page the paused refill's slot names is still a slab page");
                    assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(named) / Geometry.PAGE_SIZE));
                    assertTrue(pages.stream().anyMatch(p -> arena.raw().getIntAcquire(p + HeapLayout.MAGIC)
                        != HeapLayout.MAGIC_SLAB), "the trim gave back a page no slot names");
                }
                pause.release();
                paused.join(10_000);
            }
            assertEquals(null, failure[0]);
            assertNotEquals(0, pausedObject[0]);
            assertEquals(List.of(), ObjectHeap.check(arena));
        }
    }

    /** A refill slot naming what no refill allocates: the next refill says so, and a repair clears it. */
    @Test
    void aRefillSlotNamingAnotherStructureIsCorruptionNotFreed() throws Exception {
        final Path file = dir.resolve("c.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final int other = heap.allocate(64); // a slab page of another class
            final int otherPage = other & ~(Geometry.PAGE_SIZE - 1);
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            final int slot = meta + classOf(SIZE) * HeapLayout.CLASS_STRIDE + HeapLayout.REFILL_FIRST;
            arena.raw().putIntRelease(slot + HeapLayout.REFILL_PAGE, otherPage);
            final ArenaCorruptedException e = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(SIZE));
            assertTrue(e.getMessage().contains("refill slot"), e.getMessage());
            assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(otherPage) / Geometry.PAGE_SIZE));
            arena.raw().putIntRelease(slot + HeapLayout.REFILL_PAGE, otherPage + 4); // not a page at all
            assertTrue(ObjectHeap.check(arena).stream().anyMatch(v -> v.contains("not a page: corrupted")),
                String.valueOf(ObjectHeap.check(arena)));
            ObjectHeap.repair(arena);
            assertEquals(List.of(), ObjectHeap.check(arena));
            assertNotEquals(0, heap.allocate(SIZE));
            assertEquals(HeapLayout.MAGIC_SLAB, arena.raw().getIntAcquire(otherPage + HeapLayout.MAGIC));
            heap.free(other);
        }
    }
    /**
     * A refill slot a stray write pointed at a page another owner holds and has left all zeros (a
     * large object's third page, a channel ring's second page): such a page looks like a refill's
     * before its carve, and the next refill of the class, or a repair, gave it back to the allocator,
     * `check` clean after, and handed it out again under its owner (objects of 8 bytes landed in the
     * ring, overwritten by messages). Now the slot is corruption, nothing freed, and the repair
     * clears it.
     */
    @Test
    void aRefillSlotNamingAZeroPageAnotherOwnerHoldsFreesNothing() throws Exception {
        final Path file = dir.resolve("z.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final int big = heap.allocate(5 * Geometry.PAGE_SIZE - 128); // five pages, written nowhere past the first
            final int bigPage = big & ~(Geometry.PAGE_SIZE - 1);
            io.sharena.ipc.channel.Channel.create(arena, "ch", 1, 4 * Geometry.PAGE_SIZE, 256);
            final int[] ringPages = Holders.of(arena).stream().filter(h -> h.name().equals("channel ch"))
                .findFirst().orElseThrow().pages().stream().toArray();
            final int ringPage = ringPages[ringPages.length - 1] * Geometry.PAGE_SIZE; // the ring's last page: zeros
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            final int slot = meta + classOf(SIZE) * HeapLayout.CLASS_STRIDE + HeapLayout.REFILL_FIRST;
            for (final int victim : new int[] {bigPage + 2 * Geometry.PAGE_SIZE, ringPage}) {
                final long allocated = allocatedPages(arena);
                for (int off = 0; off < Geometry.PAGE_SIZE; off += 8) {
                    assertEquals(0, arena.raw().getLong(victim + off), "the victim page is all zeros");
                }
                arena.raw().putIntRelease(slot + HeapLayout.REFILL_PAGE, victim); // the stray write
                final ArenaCorruptedException e = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(SIZE));
                assertTrue(e.getMessage().contains("refill slot naming a page"), e.getMessage());
                assertEquals(allocated, allocatedPages(arena), "nothing freed by the refill");
                ObjectHeap.repair(arena);
                assertEquals(allocated, allocatedPages(arena), "nothing freed by the repair");
                assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(victim) / Geometry.PAGE_SIZE));
                assertEquals(List.of(), ObjectHeap.check(arena));
                for (int i = 0; i < 700; i++) {
                    final int o = heap.allocate(8);
                    assertNotEquals(victim / Geometry.PAGE_SIZE, o / Geometry.PAGE_SIZE, "an object in the victim page");
                }
            }
            // A page another refill slot names (a live refill's, not carved yet): that refill's.
            final int inFlight = arena.allocPages(1);
            final int otherSlot = meta + classOf(64) * HeapLayout.CLASS_STRIDE + HeapLayout.REFILL_FIRST + HeapLayout.REFILL_STRIDE;
            arena.raw().putIntRelease(otherSlot + HeapLayout.REFILL_PAGE, inFlight);
            arena.raw().putIntRelease(slot + HeapLayout.REFILL_PAGE, inFlight); // the stray write copies its word
            final ArenaCorruptedException e = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(SIZE));
            assertTrue(e.getMessage().contains("another refill slot"), e.getMessage());
            assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(inFlight) / Geometry.PAGE_SIZE));
            arena.raw().putIntRelease(slot + HeapLayout.REFILL_PAGE, 0);
            arena.raw().putIntRelease(otherSlot + HeapLayout.REFILL_PAGE, 0);
            arena.freePages(inFlight, 1);
            assertEquals(List.of(), Holders.overlaps(Holders.of(arena)));
            heap.free(big);
            assertNotEquals(null, io.sharena.ipc.channel.Channel.open(arena, "ch"), "the channel opens");
        }
    }

    private static long allocatedPages(final SharedArena arena) {
        return io.sharena.core.check.ArenaStats.read(arena).pages().get("ALLOCATED");
    }
}
