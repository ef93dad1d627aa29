package io.sharena.core;

import io.sharena.core.layout.PageEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The page allocator's contract, case by case, in one process. */
class PageAllocatorTest {
    static final int PAGES = 256;

    @TempDir
    Path dir;
    SharedArena arena;
    int first;
    int userPages;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("a.arena"), Capacity.ofPages(PAGES), ArenaOptions.defaults());
        first = (int) arena.firstUserPage();
        userPages = PAGES - first;
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(java.util.List.of(), io.sharena.core.check.ArenaChecker.check(arena), "consistent after the test");
        arena.close();
        try (SharedArena again = SharedArena.open(dir.resolve("a.arena"), ArenaOptions.defaults().withReadOnly(true))) {
            assertEquals(java.util.List.of(), io.sharena.core.check.ArenaChecker.check(again), "consistent after close");
        }
    }

    static int ptr(final int page) {
        return page << 12;
    }

    private int state(final int page) {
        return arena.pageStateCode(page);
    }

    @Test
    void freshArenaHandsOutPagesInOrder() {
        // The first 1-page allocation takes a group of 8 pages: the next seven 1-page ones come from it.
        assertEquals(ptr(first), arena.allocPages(1));
        assertEquals(ptr(first + 1), arena.allocPages(1));
        assertEquals(ptr(first + 8), arena.allocPages(3));
        assertEquals(ptr(first + 11), arena.allocPages(16));
        assertEquals(PageEntry.ALLOCATED, state(first + 26));
        assertEquals(PageEntry.FREE, state(first + 27));
        assertEquals(PageEntry.META, state(first - 1));
        assertEquals(PageEntry.META, state(0));
    }

    private long rawState(final SharedArena a, final int page) {
        return a.raw().getLongVolatile((int) PageEntry.stateOffset(page));
    }

    @Test
    void aSmallAllocationThatMissesItsCacheTakesAGroupOfEight() {
        assertEquals(ptr(first), arena.allocPages(2));
        assertEquals(PageEntry.ALLOCATED, PageEntry.stateOf(rawState(arena, first + 1)));
        // The other three 2-page spans of the group are in this process's cache, tagged with their length.
        for (int s = first + 2; s < first + 8; s += 2) {
            assertEquals(PageEntry.CACHED, PageEntry.stateOf(rawState(arena, s)), "page " + s);
            assertEquals(2, PageEntry.runOf(rawState(arena, s)), "span length at " + s);
            assertEquals(PageEntry.CACHED, PageEntry.stateOf(rawState(arena, s + 1)), "page " + (s + 1));
            assertEquals(PageEntry.FREE, state(s), "cached pages count as free for users");
        }
        assertEquals(PageEntry.FREE, PageEntry.stateOf(rawState(arena, first + 8)));
        assertEquals(ptr(first + 2), arena.allocPages(2), "served from the group, in address order");
        assertEquals(ptr(first + 4), arena.allocPages(2));
        assertEquals(ptr(first + 6), arena.allocPages(2));
        assertEquals(ptr(first + 8), arena.allocPages(2), "the group used up: the next one");
        // Sizes of 8 pages and more take exactly their size.
        assertEquals(ptr(first + 16), arena.allocPages(8));
        assertEquals(ptr(first + 10), arena.allocPages(2), "the rest of the second group, cached");
    }

    @Test
    void twoAttachmentsNeverShareAPageTableLineForSmallSpans() throws IOException {
        try (SharedArena other = SharedArena.open(dir.resolve("a.arena"), ArenaOptions.defaults())) {
            final int mine = arena.allocPages(1) >>> 12;
            final int theirs = other.allocPages(1) >>> 12;
            final int mineNext = arena.allocPages(1) >>> 12;
            assertEquals(first, mine);
            assertEquals(first + 8, theirs, "the other process's group starts after this one's");
            assertEquals(first + 1, mineNext, "this process keeps drawing on its own group");
            // Entries of 16 bytes: the groups' page-table entries are 128 bytes apart, never on one line.
            assertTrue(PageEntry.stateOffset(theirs) - PageEntry.stateOffset(mineNext) >= 64);
            arena.freePages(ptr(mine), 1);
            arena.freePages(ptr(mineNext), 1);
            other.freePages(ptr(theirs), 1);
        }
        // The other attachment's close gave its cached spans back: the whole arena fits again.
        assertEquals(ptr(first), arena.allocPages(userPages));
        arena.freePages(ptr(first), userPages);
    }

    @Test
    void badCountsGiveZero() {
        assertEquals(0, arena.allocPages(0));
        assertEquals(0, arena.allocPages(-1));
        assertEquals(0, arena.allocPages(userPages + 1));
        assertEquals(0, arena.allocPages(Integer.MAX_VALUE));
        assertEquals(ptr(first), arena.allocPages(userPages), "the whole user area fits");
        assertEquals(0, arena.allocPages(1), "nothing left");
    }

    @Test
    void freedHolesAreRefilledBeforeNewGround() {
        final int a = arena.allocPages(1);
        final int b = arena.allocPages(1);
        arena.allocPages(1);
        arena.freePages(b, 1);
        assertEquals(b, arena.allocPages(1));
        arena.freePages(a, 1);
        assertEquals(a, arena.allocPages(1));
    }

    @Test
    void bestFitWithLowestAddressOnTies() {
        // Sizes 3, 5, 7 have no span cache: they go back to the best-fit lists.
        // Separators of 9 pages: no cache class, so each is exactly 9 pages taken from the lists.
        final int a = arena.allocPages(3);
        arena.allocPages(9);
        final int c = arena.allocPages(5);
        arena.allocPages(9);
        final int e = arena.allocPages(7);
        arena.allocPages(9);
        final int g = arena.allocPages(3);
        arena.allocPages(9);
        arena.freePages(a, 3);
        arena.freePages(c, 5);
        arena.freePages(e, 7);
        arena.freePages(g, 3);
        assertEquals(c, arena.allocPages(5), "exact fit beats a bigger hole and the tail");
        assertEquals(e, arena.allocPages(6), "smallest hole that fits");
        assertEquals(a, arena.allocPages(3), "two 3-page holes: the lower one");
        assertEquals(g, arena.allocPages(3));
    }

    @Test
    void freedNeighboursCoalesce() {
        final int a = arena.allocPages(3);
        final int b = arena.allocPages(5);
        final int c = arena.allocPages(7);
        arena.allocPages(1);
        arena.freePages(a, 3);
        arena.freePages(c, 7);
        arena.freePages(b, 5);
        assertEquals(a, arena.allocPages(15), "3 + 5 + 7 merged into one run");
    }

    @Test
    void pagesReadAsZerosOnEveryAllocationAlsoAfterReuse() {
        for (final int n : new int[] {1, 3, 16, 40}) {
            final int p = arena.allocPages(n);
            for (int i = 0; i < n; i++) {
                assertEquals(0, arena.raw().getLong(p + i * 4096 + 8));
                arena.raw().putLong(p + i * 4096 + 8, -1L);
                arena.raw().putLong(p + i * 4096 + 4088, -1L);
            }
            arena.freePages(p, n);
            final int q = arena.allocPages(n);
            assertEquals(p, q, "reused: n=" + n);
            for (int i = 0; i < n; i++) {
                assertEquals(0, arena.raw().getLong(q + i * 4096 + 8), "n=" + n + ", page " + i);
                assertEquals(0, arena.raw().getLong(q + i * 4096 + 4088), "n=" + n + ", page " + i);
            }
            arena.freePages(q, n);
        }
    }

    @Test
    void allocAtChecksAlignmentRangeMetaAndOccupancy() {
        final int target = ptr(first + 10);
        assertEquals(0, arena.allocPagesAt(target + 1, 1), "misaligned");
        assertEquals(0, arena.allocPagesAt(0, 1), "NULL is in the header");
        assertEquals(0, arena.allocPagesAt(ptr(first - 1), 2), "touches metadata");
        assertEquals(0, arena.allocPagesAt(ptr(PAGES - 1), 2), "leaves the arena");
        assertEquals(0, arena.allocPagesAt(ptr(PAGES), 1), "past the end");
        assertEquals(0, arena.allocPagesAt(-4096, 1), "far past the end");
        assertEquals(0, arena.allocPagesAt(target, 0));
        assertEquals(target, arena.allocPagesAt(target, 2));
        assertEquals(0, arena.allocPagesAt(ptr(first + 9), 3), "partially taken");
        assertEquals(PageEntry.FREE, state(first + 9), "nothing changed");
        assertEquals(PageEntry.FREE, state(first + 12), "nothing changed");
        assertEquals(ptr(first + 12), arena.allocPagesAt(ptr(first + 12), 1));
        assertEquals(ptr(first), arena.allocPages(10), "the hole left of it is best fit for 10");
        assertEquals(ptr(PAGES - 1), arena.allocPagesAt(ptr(PAGES - 1), 1), "last page");
    }

    @Test
    void allocAtAfterFreeOfTheSamePage() {
        final int p = arena.allocPages(1);
        arena.freePages(p, 1);
        assertEquals(p, arena.allocPagesAt(p, 1), "a page freed into this process's cache is FREE");
        assertEquals(0, arena.allocPagesAt(p, 1));
    }

    @Test
    void freeEdgeCases() {
        final int p = arena.allocPages(4);
        arena.freePages(0, 1);
        arena.freePages(p, 0);
        arena.freePages(p, -5);
        assertEquals(PageEntry.ALLOCATED, state(first));
        arena.freePages(p + 4096 + 123, 1);
        assertEquals(PageEntry.FREE, state(first + 1), "misaligned pointer frees the page containing it");
        assertEquals(PageEntry.ALLOCATED, state(first), "partial free leaves the rest");
        assertEquals(PageEntry.ALLOCATED, state(first + 2));
        arena.strict().putLong(p + 2 * 4096, 5);
        arena.freePages(p + 4096, 1);
        assertEquals(PageEntry.FREE, state(first + 1), "double free is a no-op");
        final int last = arena.allocPagesAt(ptr(PAGES - 2), 2);
        arena.freePages(last, 1000);
        assertEquals(PageEntry.FREE, state(PAGES - 1), "range clamped at the end");
        assertEquals(PageEntry.FREE, state(PAGES - 2));
        arena.freePages(ptr(1), 3);
        assertEquals(PageEntry.META, state(1), "freeing metadata does nothing");
    }

    @Test
    void reserveSemantics() {
        final int p = ptr(first + 20);
        assertEquals(ReserveResult.OK, arena.reservePages(p, 0));
        assertEquals(ReserveResult.INVALID, arena.reservePages(p + 8, 1));
        assertEquals(ReserveResult.INVALID, arena.reservePages(ptr(first - 1), 1));
        assertEquals(ReserveResult.INVALID, arena.reservePages(ptr(PAGES - 1), 2));
        assertEquals(ReserveResult.OK, arena.reservePages(p, 2));
        assertEquals(PageEntry.RESERVED, state(first + 21));
        assertEquals(ReserveResult.BUSY, arena.reservePages(p, 1), "reserve twice");
        final int a = arena.allocPages(1);
        assertEquals(ReserveResult.BUSY, arena.reservePages(a, 1), "reserve of an allocated page");
        assertEquals(0, arena.allocPagesAt(p, 1), "a reserved page is not FREE");
        // Reserved pages are never handed out, whatever is asked.
        int got;
        while ((got = arena.allocPages(1)) != 0) {
            final int page = got >>> 12;
            assertTrue(page != first + 20 && page != first + 21, "reserved page handed out: " + page);
        }
        arena.freePages(p, 2);
        assertEquals(PageEntry.FREE, state(first + 20), "freeing a reserved page un-reserves it");
        assertEquals(p, arena.allocPagesAt(p, 2));
    }

    @Test
    void quotaLimitsPagesHeld() {
        arena.setQuota(3);
        final int a = arena.allocPages(2);
        assertTrue(a != 0);
        assertEquals(0, arena.allocPages(2), "2 + 2 > 3");
        assertEquals(0, arena.allocPagesAt(ptr(first + 50), 2));
        assertTrue(arena.allocPages(1) != 0);
        arena.setQuota(0);
        assertTrue(arena.allocPages(2) != 0);
    }

    @Test
    void largeFreesGoBackToTheOperatingSystem() throws IOException {
        final int n = 200;
        final int p = arena.allocPages(n);
        for (int i = 0; i < n; i++) {
            arena.raw().putLong(p + i * 4096, i + 1);
        }
        final long before = arena.info().diskBytes();
        arena.freePages(p, n);
        assertTrue(arena.purge());
        final long after = arena.info().diskBytes();
        assertTrue(before - after >= (long) n * 4096, "before=" + before + ", after=" + after);
        assertEquals(0, arena.raw().getLong(p + 4096), "reads zero after the hole is punched");
    }
}
