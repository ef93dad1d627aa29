package io.sharena.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.layout.Geometry;
import io.sharena.testing.ChildJvm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scenarios of the Linux kernel's BPF arena selftests (verifier_arena, verifier_arena_large,
 * arena_htab, arena_list, arena_spin_lock), restated against the sharena API: a scenario here asks
 * what the kernel's test asks, in sharena's terms (pointers are unsigned 32-bit offsets, page 0 and
 * the metadata are never user pages, failure is 0 / {@code ReserveResult} instead of an errno).
 * Each test ends with the checker finding nothing.
 */
class KernelSelftestScenariosTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;

    private SharedArena userPages(final long n) throws IOException {
        // Capacity counts header and metadata: find the size that leaves exactly n user pages.
        final Path file = dir.resolve("k" + n + ".arena");
        long total = n + 8;
        while (true) {
            final SharedArena a = SharedArena.create(file, Capacity.ofPages(total), ArenaOptions.defaults().withReplace(true));
            final long user = a.capacityPages() - a.firstUserPage();
            if (user == n) {
                return a;
            }
            a.close();
            total += n - user;
        }
    }

    private static void assertClean(final SharedArena a) {
        assertEquals(List.of(), ArenaChecker.check(a), "checker after the scenario");
    }

    private static int first(final SharedArena a) {
        return TestArenas.firstUserPointer(a);
    }

    // ------------------------------------------------------------ verifier_arena: two-page arena

    @Test
    void twoPageArenaAllocTwiceThenFullThenFreeAndRealloc() throws IOException {
        try (SharedArena a = userPages(2)) {
            final int p1 = a.allocPages(1);
            final int p2 = a.allocPages(1);
            assertNotEquals(0, p1);
            assertNotEquals(0, p2);
            assertNotEquals(p1, p2);
            a.strict().putInt(p1, 1);
            a.strict().putInt(p2, 2);
            assertEquals(0, a.allocPages(1), "a two-page arena has no third page");
            a.freePages(p2, 1);
            assertEquals(1, a.strict().getInt(p1));
            assertEquals(0, a.lenient().getInt(p2), "use after free reads 0 on the lenient view");
            final ArenaFaultException fault = assertThrows(ArenaFaultException.class, () -> a.strict().getInt(p2));
            // Parked in this process's span cache: the fault says FREE, as pageState does.
            assertEquals(PageState.FREE, a.pageState(Integer.toUnsignedLong(p2) / Geometry.PAGE_SIZE));
            assertTrue(fault.getMessage().endsWith("state=FREE (in a process's span cache)"), fault.getMessage());
            final int p3 = a.allocPages(1);
            assertEquals(p2, p3, "the freed page comes back");
            assertEquals(0, a.strict().getInt(p3), "and reads zero");
            a.strict().putInt(p3, 3);
            assertEquals(1, a.strict().getInt(p1));
            assertClean(a);
        }
    }

    @Test
    void twoPagesAtOnceNeighboursOutsideReadZero() throws IOException {
        try (SharedArena a = userPages(2)) {
            final int p = a.allocPages(2);
            assertEquals(first(a), p);
            a.strict().putByte(p, (byte) 1);
            a.strict().putByte(p + PAGE, (byte) 2);
            // The page after the allocation is past the end; the one before is metadata.
            assertEquals(0, a.lenient().getByte(p + 2 * PAGE));
            assertEquals(0, a.lenient().getByte(p - PAGE));
            a.lenient().putByte(p - PAGE, (byte) 4);
            assertEquals(0, a.lenient().getByte(p - PAGE), "writes to metadata through lenient are dropped");
            a.freePages(p, 2);
            assertEquals(0, a.lenient().getByte(p));
            assertEquals(0, a.lenient().getByte(p + PAGE));
            assertClean(a);
        }
    }

    @Test
    void wholeCapacityInOneCall() throws IOException {
        try (SharedArena a = userPages(2)) {
            assertEquals(first(a), a.allocPages(2));
            assertEquals(0, a.allocPages(1));
            assertClean(a);
        }
    }

    @Test
    void guardedSecondPageIsNeverHandedOut() throws IOException {
        try (SharedArena a = userPages(2)) {
            final int p = a.allocPages(1);
            final int guard = p + PAGE;
            assertEquals(ReserveResult.OK, a.reservePages(guard, 1));
            assertEquals(0, a.allocPagesAt(guard, 1), "explicitly");
            assertEquals(0, a.allocPages(1), "implicitly: the only other page is guarded");
            assertEquals(PageState.RESERVED, a.pageState(a.pageOf(guard)));
            assertClean(a);
        }
    }

    @Test
    void guardFirstUserPageThenAllocAtItFails() throws IOException {
        try (SharedArena a = userPages(2)) {
            assertEquals(ReserveResult.OK, a.reservePages(first(a), 1));
            assertEquals(0, a.allocPagesAt(first(a), 1));
            assertEquals(first(a) + PAGE, a.allocPages(1), "the unguarded page is still there");
            assertClean(a);
        }
    }

    @Test
    void guardTwiceIsBusyNotOk() throws IOException {
        try (SharedArena a = userPages(2)) {
            assertEquals(ReserveResult.OK, a.reservePages(first(a), 1));
            assertEquals(ReserveResult.BUSY, a.reservePages(first(a), 1), "already reserved");
            assertClean(a);
        }
    }

    @Test
    void guardInvalidRegions() throws IOException {
        try (SharedArena a = userPages(2)) {
            assertEquals(ReserveResult.INVALID, a.reservePages(ArenaPointers.NULL, 3), "NULL is the header");
            assertEquals(ReserveResult.INVALID, a.reservePages(first(a), 3), "one page past the end");
            assertEquals(ReserveResult.INVALID, a.reservePages(first(a), 4096));
            assertEquals(ReserveResult.INVALID, a.reservePages(first(a), Integer.MAX_VALUE));
            assertEquals(ReserveResult.INVALID, a.reservePages(first(a), -1), "the kernel's (1 << 32) - 1 as an int");
            assertEquals(ReserveResult.INVALID, a.reservePages(first(a), Integer.MIN_VALUE));
            assertEquals(ReserveResult.OK, a.reservePages(first(a), 0), "zero pages: nothing to do");
            assertEquals(PageState.FREE, a.pageState(a.firstUserPage()), "nothing changed");
            assertEquals(PageState.FREE, a.pageState(a.firstUserPage() + 1));
            assertEquals(first(a), a.allocPages(2));
            assertClean(a);
        }
    }

    // ------------------------------------------------------------ zero, negative and huge counts

    @Test
    void zeroNegativeAndHugeCountsEverywhere() throws IOException {
        try (SharedArena a = userPages(16)) {
            final int f = first(a);
            for (final int n : new int[] {0, -1, -4096, Integer.MIN_VALUE, 17, Integer.MAX_VALUE}) {
                assertEquals(0, a.allocPages(n), "allocPages(" + n + ")");
                assertEquals(0, a.allocPagesUninitialized(n), "allocPagesUninitialized(" + n + ")");
                assertEquals(0, a.allocPagesAt(f, n), "allocPagesAt(first, " + n + ")");
                a.freePages(f, n); // nothing allocated: a no-op whatever n is
            }
            final int p = a.allocPages(4);
            a.freePages(p, -1);
            a.freePages(p, Integer.MIN_VALUE);
            a.freePages(p, 0);
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(p)));
            a.freePages(p, Integer.MAX_VALUE);
            for (long pg = a.firstUserPage(); pg < a.capacityPages(); pg++) {
                assertEquals(PageState.FREE, a.pageState(pg), "page " + pg + ": a huge count is clamped at the end");
            }
            assertEquals(f, a.allocPages(16));
            assertClean(a);
        }
    }

    // ------------------------------------------------------------ verifier_arena_large on a 4 GiB arena

    @Test
    void fourGibArenaAllocAtTheTopAndPointerWrap() throws IOException {
        try (SharedArena a = SharedArena.create(dir.resolve("big.arena"), Capacity.parse("4g"), ArenaOptions.defaults())) {
            assertEquals(1L << 32, a.capacityBytes());
            final int p1 = a.allocPages(1);
            assertNotEquals(0, p1);
            a.strict().putByte(p1, (byte) 1);
            final int secondLast = (int) ((1L << 32) - 2L * PAGE); // 0xFFFFE000
            final int last = (int) ((1L << 32) - PAGE);           // 0xFFFFF000
            assertEquals(secondLast, a.allocPagesAt(secondLast, 1));
            a.strict().putByte(secondLast, (byte) 2);
            assertEquals(0, a.allocPagesAt(last, 2), "wraps past 4 GiB: leaves the arena");
            assertEquals(0, a.allocPagesAt(secondLast, 2), "the second-last page is taken");
            assertEquals(0, a.allocPagesAt(last, Integer.MAX_VALUE));
            assertEquals(ReserveResult.INVALID, a.reservePages(last, 2), "wraps past 4 GiB");
            assertEquals(PageState.FREE, a.pageState(a.pageOf(last)), "nothing changed");
            assertEquals(1048575L, a.pageOf(last));
            assertEquals(last, a.pointerOf(1048575L));
            assertEquals(last, a.allocPagesAt(last, 1), "the very last page of the pointer space");
            a.strict().putLong(last + PAGE - 8, -1L);
            assertEquals(-1L, a.strict().getLong(last + PAGE - 8));
            // An access that runs off the top of the pointer space is a bounds error, not a wrap to NULL.
            assertThrows(IndexOutOfBoundsException.class, () -> a.raw().getLong(last + PAGE - 4));
            assertThrows(ArenaFaultException.class, () -> a.strict().getLong(last + PAGE - 4));
            assertEquals(0L, a.lenient().getLong(last + PAGE - 4));
            assertEquals(ArenaPointers.NULL, last + PAGE, "int arithmetic wraps to NULL: never user data");
            assertEquals(PageState.META, a.pageState(a.pageOf(last + PAGE)));
            assertEquals(1, a.strict().getByte(p1));
            a.freePages(p1, 1);
            assertEquals(0, a.lenient().getByte(p1), "use after free reads 0");
            assertEquals(2, a.strict().getByte(secondLast));
            final int p3 = a.allocPages(1);
            assertEquals(p1, p3, "the freed page comes back");
            assertEquals(0, a.strict().getByte(p3));
            assertEquals(0, a.lenient().getByte(p1 + PAGE));
            assertEquals(0, a.lenient().getByte(secondLast - PAGE));
            a.freePages(last, 1);
            a.freePages(secondLast, 5); // clamped at the 4 GiB end, no wrap onto low pages
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(p3)));
            assertEquals(PageState.FREE, a.pageState(a.pageOf(last)));
            assertClean(a);
        }
    }

    @Test
    void pointerOfAndPageOfAtTheEdges() throws IOException {
        try (SharedArena a = userPages(16)) {
            assertEquals(0L, a.pageOf(0));
            assertEquals(0, a.pointerOf(0));
            assertEquals(1048575L, a.pageOf(-1), "pointers are unsigned");
            assertEquals(1048575L, a.pageOf(0xFFFFF000));
            assertEquals(0xFFFFF000, a.pointerOf(1048575L), "the last page of the pointer space");
            // A page number outside the 32-bit pointer space has no pointer: it must not wrap onto
            // NULL or onto a low page.
            assertThrows(IllegalArgumentException.class, () -> a.pointerOf(-1));
            assertThrows(IllegalArgumentException.class, () -> a.pointerOf(1L << 20));
            assertThrows(IllegalArgumentException.class, () -> a.pointerOf((1L << 20) + a.firstUserPage()));
            assertThrows(IllegalArgumentException.class, () -> a.pointerOf(Long.MIN_VALUE));
        }
    }

    @Test
    void accessReservedBehavesLikeUnallocated() throws IOException {
        try (SharedArena a = userPages(64)) {
            final int base = first(a) + 16 * PAGE;
            assertEquals(ReserveResult.OK, a.reservePages(base, 4));
            for (int i = 0; i < 4; i++) {
                final int p = base + i * PAGE;
                a.lenient().putByte(p, (byte) 0x5a);
                assertEquals(0, a.lenient().getByte(p), "page " + i);
                assertThrows(ArenaFaultException.class, () -> a.strict().putByte(p, (byte) 0x5a));
                assertThrows(ArenaFaultException.class, () -> a.strict().getByte(p));
                assertEquals(0, a.raw().getByte(p), "the write was dropped, nothing reached the page");
            }
            assertClean(a);
        }
    }

    @Test
    void requestPartiallyReservedFailsAndChangesNothing() throws IOException {
        try (SharedArena a = userPages(64)) {
            final int base = first(a) + 8 * PAGE;
            assertEquals(ReserveResult.OK, a.reservePages(base + 3 * PAGE, 4));
            assertEquals(0, a.allocPagesAt(base, 5));
            for (int i = 0; i < 3; i++) {
                assertEquals(PageState.FREE, a.pageState(a.pageOf(base) + i));
            }
            assertEquals(ReserveResult.BUSY, a.reservePages(base, 5), "reserve over a reservation");
            assertEquals(PageState.FREE, a.pageState(a.pageOf(base)));
            assertEquals(base, a.allocPagesAt(base, 3), "the free part alone is fine");
            assertClean(a);
        }
    }

    @Test
    void freeReservedAndAllocatedInOneCall() throws IOException {
        try (SharedArena a = userPages(64)) {
            final int addr = first(a) + 32 * PAGE;
            assertEquals(addr, a.allocPagesAt(addr, 2));
            assertEquals(ReserveResult.OK, a.reservePages(addr + 2 * PAGE, 2));
            a.freePages(addr + PAGE, 2); // one allocated and one reserved page
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(addr)));
            assertEquals(PageState.FREE, a.pageState(a.pageOf(addr) + 1));
            assertEquals(PageState.FREE, a.pageState(a.pageOf(addr) + 2));
            assertEquals(PageState.RESERVED, a.pageState(a.pageOf(addr) + 3));
            assertEquals(addr + PAGE, a.allocPagesAt(addr + PAGE, 2));
            assertClean(a);
            assertEquals(1L, io.sharena.core.check.ArenaStats.read(a).pages().get("RESERVED"), "one page is still reserved");
        }
    }

    /**
     * The kernel's range-tree test ({@code big_alloc2}), with its checks as they are: a first pass
     * hands pages out in order, freed gaps are refilled before new ground, 2-page requests refill
     * freed pairs, and the next page after it all is new ground. Within a process freed 1- and 2-page
     * spans come back last-in-first-out (the span cache), which the kernel's checks allow; a 1-page
     * miss takes a group of 8, and the group's tail (pages 100 to 103 here) was handed out before the
     * gaps until a free that finds its stack full sent the whole cache back to the lists.
     */
    @Test
    void sequentialFirstPassThenGapsAreRefilled() throws IOException {
        final int cnt = 100;
        try (SharedArena a = userPages(1024)) {
            final int base = a.allocPages(1);
            assertEquals(first(a), base);
            a.freePages(base, 1);
            final java.util.Map<Integer, Integer> held = new java.util.TreeMap<>();
            for (int i = 0; i < cnt; i++) {
                final int pg = a.allocPages(1);
                assertEquals(i, (pg - base) / PAGE, "first pass is sequential");
                a.strict().putByte(pg, (byte) i);
                held.put(i, pg);
            }
            for (int i = 0; i < cnt; i += 2) {
                assertEquals((byte) i, a.strict().getByte(held.get(i)));
                a.freePages(held.remove(i), 1);
            }
            for (int k = 0; k < cnt / 2; k++) {
                final int pg = a.allocPages(1);
                final int idx = (pg - base) / PAGE;
                assertTrue(idx < cnt && idx % 2 == 0, "refills a gap, got " + idx);
                assertTrue(!held.containsKey(idx), "page " + idx + " handed out twice");
                assertEquals(0, a.strict().getByte(pg), "refilled page reads zero");
                a.strict().putByte(pg, (byte) idx);
                held.put(idx, pg);
            }
            int pairs = 0;
            for (int i = 0; i < cnt; i += 4) {
                if (held.containsKey(i) && held.containsKey(i + 1)) {
                    assertEquals((byte) i, a.strict().getByte(held.get(i)));
                    a.freePages(held.remove(i), 2);
                    held.remove(i + 1);
                    pairs++;
                }
            }
            assertTrue(pairs > 0);
            for (int k = 0; k < pairs; k++) {
                final int pg = a.allocPages(2);
                final int idx = (pg - base) / PAGE;
                assertTrue(idx < cnt && idx % 4 == 0, "a 2-page request refills a freed pair, got " + idx);
                assertTrue(!held.containsKey(idx) && !held.containsKey(idx + 1), "page " + idx + " handed out twice");
                a.strict().putByte(pg, (byte) idx);
                held.put(idx, pg);
                held.put(idx + 1, pg + PAGE);
            }
            for (final var e : held.entrySet()) {
                if (e.getKey() % 2 == 0 || e.getKey() >= cnt) {
                    assertEquals((byte) (int) e.getKey(), a.strict().getByte(e.getValue()), "page " + e.getKey());
                }
            }
            final int next = a.allocPages(1);
            final int idx = (next - base) / PAGE;
            assertTrue(!held.containsKey(idx), "page " + idx + " handed out twice");
            assertTrue(idx >= cnt, "the first pass's pages are all held: new ground, got " + idx);
            assertClean(a);
        }
    }

    @Test
    void bigAllocationThenPartialFreeOfItsHead() throws IOException {
        try (SharedArena a = userPages(4096)) {
            final int n = 2051;
            final int p = a.allocPages(n);
            assertNotEquals(0, p);
            for (int i = 0; i < n; i++) {
                a.strict().putByte(p + i * PAGE, (byte) 123);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(123, a.strict().getByte(p + i * PAGE));
            }
            a.freePages(p, 1025);
            for (int i = 0; i < n; i++) {
                final PageState s = a.pageState(a.pageOf(p) + i);
                assertEquals(i < 1025 ? PageState.FREE : PageState.ALLOCATED, s, "page " + i);
            }
            assertEquals(123, a.strict().getByte(p + 1025 * PAGE), "the kept tail keeps its data");
            assertEquals(0, a.lenient().getByte(p + 1024 * PAGE));
            // Free the middle of the tail too: only that part goes.
            a.freePages(p + 1500 * PAGE, 10);
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(p) + 1499));
            assertEquals(PageState.FREE, a.pageState(a.pageOf(p) + 1500));
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(p) + 1510));
            assertEquals(p, a.allocPages(1025), "the freed head is best fit for its own size");
            assertClean(a);
        }
    }

    /**
     * The whole capacity in chunks of mixed sizes. Group refills for small sizes may leave holes a
     * large chunk cannot use (documented in the alloc package), so the rule checked is the one that
     * must hold whatever the placement: while any user page is FREE a 1-page request succeeds, no
     * page is handed out twice, and once all is freed the whole user area is one run again.
     */
    @Test
    void wholeCapacityInChunksThenFreeAllThenWholeAgain() throws IOException {
        final int user = 1000;
        try (SharedArena a = userPages(user)) {
            final List<int[]> got = new ArrayList<>();
            final int[] sizes = {1, 2, 3, 7, 8, 9, 16, 31, 4};
            int left = user;
            for (int i = 0; left > 0; i++) {
                final int n = Math.min(sizes[i % sizes.length], left);
                final int p = a.allocPages(n);
                if (p == 0) {
                    break;
                }
                got.add(new int[] {p, n});
                left -= n;
            }
            for (int p; left > 0 && (p = a.allocPages(1)) != 0; left--) {
                got.add(new int[] {p, 1});
            }
            assertEquals(0, left, "every user page handed out");
            assertEquals(0, a.allocPages(1), "full");
            final boolean[] seen = new boolean[(int) a.capacityPages()];
            for (final int[] g : got) {
                for (int i = 0; i < g[1]; i++) {
                    final int pg = (int) a.pageOf(g[0]) + i;
                    assertTrue(!seen[pg], "page " + pg + " handed out twice");
                    seen[pg] = true;
                }
            }
            for (final int[] g : got) {
                a.freePages(g[0], g[1]);
            }
            assertEquals(first(a), a.allocPages(user), "all of it in one piece again");
            assertClean(a);
        }
    }

    @Test
    void contentsAreZeroAfterReallocUninitializedPagesNeverUsedBefore() throws IOException {
        try (SharedArena a = userPages(64)) {
            final int p = a.allocPagesUninitialized(4);
            for (int i = 0; i < 4 * PAGE; i += 8) {
                assertEquals(0L, a.strict().getLong(p + i), "never-used pages read zero");
            }
            a.strict().putLong(p + 3 * PAGE + 8, 42);
            a.freePages(p, 4);
            final int q = a.allocPagesAt(p, 4);
            assertEquals(p, q);
            assertEquals(0L, a.strict().getLong(q + 3 * PAGE + 8), "allocPagesAt zeroes reused pages");
            assertClean(a);
        }
    }

    // ------------------------------------------------------------ two processes (arena_list style)

    @Test
    void twoProcessesShareFreesAndReservations() throws Exception {
        final Path file = dir.resolve("two.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int f = first(a);
            final int reserved = f + 40 * PAGE;
            assertEquals(ReserveResult.OK, a.reservePages(reserved, 2));
            final int mine = a.allocPagesAt(f + 60 * PAGE, 3);
            a.strict().putInt(mine, 77);
            try (ChildJvm child = ChildProcess.start("ops", file.toString(),
                "at:" + reserved + ":1", "reserve:" + reserved + ":1", "at:" + mine + ":1",
                "free:" + (reserved + PAGE) + ":1", "at:" + (reserved + PAGE) + ":1",
                "free:" + mine + ":1", "wait")) {
                assertEquals("at:" + reserved + ":1 -> 0", child.await("at:" + reserved));
                assertEquals("reserve:" + reserved + ":1 -> BUSY", child.await("reserve:"));
                assertEquals("at:" + mine + ":1 -> 0", child.await("at:" + mine));
                assertEquals("at:" + (reserved + PAGE) + ":1 -> " + (reserved + PAGE), child.await("at:" + (reserved + PAGE)),
                    "the child un-reserved a page this process reserved, then took it");
                child.await("waiting");
                assertEquals(PageState.FREE, a.pageState(a.pageOf(mine)), "the child freed this process's page");
                assertEquals(0, a.lenient().getInt(mine));
                assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(mine) + 1));
                assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(reserved) + 1));
                assertEquals(PageState.RESERVED, a.pageState(a.pageOf(reserved)));
                child.send("go");
                assertEquals(0, child.waitFor(60));
            }
            assertEquals(mine, a.allocPagesAt(mine, 1));
            assertClean(a);
        }
    }

    /**
     * The kernel's user-space side maps the arena and reads it without allocating. Here a read-only
     * attachment (a monitor, a tool) reads page states as the views do; it only refuses to change them.
     */
    @Test
    void readOnlyAttachmentSeesPageStates() throws IOException {
        final Path file = dir.resolve("ro.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults())) {
            final int p = a.allocPages(2);
            final int r = first(a) + 20 * PAGE;
            assertEquals(ReserveResult.OK, a.reservePages(r, 1));
            final int cached = a.allocPages(1);
            a.freePages(cached, 1); // into this process's span cache: FREE to everyone else
            try (SharedArena ro = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
                assertEquals(PageState.META, ro.pageState(0));
                assertEquals(PageState.ALLOCATED, ro.pageState(ro.pageOf(p)));
                assertEquals(PageState.ALLOCATED, ro.pageState(ro.pageOf(p) + 1));
                assertEquals(PageState.RESERVED, ro.pageState(ro.pageOf(r)));
                assertEquals(PageState.FREE, ro.pageState(ro.pageOf(cached)));
                assertEquals(PageState.FREE, ro.pageState(ro.capacityPages() - 1));
                assertEquals(PageState.OUTSIDE, ro.pageState(ro.capacityPages()));
                assertEquals(PageState.OUTSIDE, ro.pageState(-1));
                assertThrows(IllegalStateException.class, () -> ro.allocPages(1), "writes stay refused");
                assertThrows(IllegalStateException.class, () -> ro.freePages(p, 1));
            }
        }
    }
}
