package io.sharena.core;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hole 9: the allocator distrusts its own metadata. One stray store into a link, a head, a state
 * or the intent never makes it hand out a page that is not free, punch metadata, hang, or throw a
 * raw JDK exception; it marks the arena for repair, and the repair leaves a clean check.
 */
class AllocatorCorruptionTest {
    static final int PAGES = 256;
    static final long SECOND = 1_000_000_000L;

    @TempDir
    Path dir;
    Path file;
    SharedArena arena;
    MemorySegment s;
    int first;
    int userPages;

    @BeforeEach
    void open() throws IOException {
        file = dir.resolve("c.arena");
        arena = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults());
        s = arena.segment();
        first = (int) arena.firstUserPage();
        userPages = PAGES - first;
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    static int ptr(final int page) {
        return page << 12;
    }

    /**
     * A free run whose interior still carries the length of an earlier end tag (runs merge without
     * clearing it), next to a page a stray write made not FREE: looking left for the run of a page,
     * an allocation took the stale page for a head, and the run its tag described reached over
     * allocated pages; the carve tagged two of them FREE, and they were handed out again (found by
     * {@code AllocatorStrayWriteTest}'s random seeds). A run now needs the same length at its last
     * page, and tags are never written over a page that is not FREE.
     */
    @Test
    void aStaleTagNextToAStrayStateIsNoRun() {
        assertEquals(ptr(first), arena.allocPagesAt(ptr(first), 16));
        final Set<Integer> ours = new HashSet<>();
        for (int p = first + 9; p < first + 16; p++) {
            ours.add(p);
        }
        arena.freePages(ptr(first), 9); // the run [first, first + 9), tagged 9 at both ends
        s.set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(first + 6), PageEntry.state(PageEntry.FREE, 0, 0, 7));
        s.set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(first + 5), PageEntry.state(13, 0, 0, 4));
        arena.allocPagesAt(ptr(first + 8), 1);
        ours.add(first + 8);
        handsOutOnlyFreeUserPages(ours);
        for (int p = first + 9; p < first + 16; p++) {
            assertEquals(PageEntry.ALLOCATED, PageEntry.stateOf(s.get(ValueLayout.JAVA_LONG, PageEntry.stateOffset(p))),
                "page " + p + " still ours");
        }
        arena.repair(10 * SECOND);
        assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena));
    }

    /** Allocates every page it can, one at a time, and checks none is handed out wrongly; frees them. */
    private void handsOutOnlyFreeUserPages(final Set<Integer> alreadyOurs) {
        final Set<Integer> got = new HashSet<>();
        for (int i = 0; i < PAGES; i++) {
            final int p = arena.allocPages(1);
            if (p == 0) {
                continue;
            }
            final int page = p >>> 12;
            assertTrue(page >= first && page < PAGES, "a user page: page=" + page);
            assertTrue(got.add(page), "not handed out twice: page=" + page);
            assertTrue(!alreadyOurs.contains(page), "not a page we hold: page=" + page);
        }
        for (final int page : got) {
            arena.freePages(ptr(page), 1);
        }
    }

    private void repairedClean() {
        assertTrue(arena.repair(10 * SECOND));
        assertEquals(List.of(), ArenaChecker.check(arena), "check after the repair");
    }

    @Test
    void aStrayLinkInACachedSpanNeverHandsOutTheControlPage() throws IOException {
        final int a = arena.allocPages(1);
        final int b = arena.allocPages(1);
        arena.freePages(a, 1);
        arena.freePages(b, 1); // the cache: b -> a
        s.set(ValueLayout.JAVA_LONG, PageEntry.linkOffset(b >>> 12), PageEntry.link(0, 1)); // b -> the control page
        assertEquals(b, arena.allocPages(1));
        final int next = arena.allocPages(1);
        assertTrue(next == 0 || next >>> 12 >= first, "never a metadata page: ptr=" + next);
        arena.freePages(b, 1);
        if (next != 0) {
            arena.freePages(next, 1);
        }
        arena.close();
        arena = SharedArena.open(file, ArenaOptions.defaults());
        s = arena.segment();
        handsOutOnlyFreeUserPages(Set.of());
        repairedClean();
        assertEquals(ptr(first), arena.allocPages(userPages), "every user page is free again");
        arena.freePages(ptr(first), userPages);
    }

    @Test
    void aCacheHeadOutOfRangeIsNotHandedOut() {
        final int a = arena.allocPages(1);
        arena.freePages(a, 1);
        final long head = RegistryLayout.cacheHead(arena.slot(), 0);
        final long h = s.get(ValueLayout.JAVA_LONG, head);
        s.set(ValueLayout.JAVA_LONG, head, TaggedHead.encode(TaggedHead.tag(h), 1, PAGES + 5));
        assertDoesNotThrow(() -> handsOutOnlyFreeUserPages(Set.of()));
        repairedClean();
    }

    @Test
    void aBucketHeadNamingAnAllocatedPageIsNotHandedOut() {
        final int a = arena.allocPages(1);
        s.set(ValueLayout.JAVA_INT, ControlLayout.bucketHead(0), a >>> 12);
        assertDoesNotThrow(() -> handsOutOnlyFreeUserPages(Set.of(a >>> 12)));
        arena.freePages(a, 1);
        repairedClean();
    }

    @Test
    void aCycleInTheFreeRunsEnds() {
        // Two runs of 40 pages (a power-of-two class, walked), the second linked back to the first.
        final int hole = arena.allocPages(40);
        final int keep = arena.allocPages(1);
        final int hole2 = arena.allocPages(40);
        final int keep2 = arena.allocPages(1);
        arena.freePages(hole, 40);
        arena.freePages(hole2, 40);
        s.set(ValueLayout.JAVA_LONG, PageEntry.linkOffset(hole2 >>> 12), PageEntry.link(hole >>> 12, hole >>> 12));
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            final int p = arena.allocPages(50);
            assertTrue(p == 0 || p >>> 12 >= first);
            if (p != 0) {
                arena.freePages(p, 50);
            }
            arena.freePages(arena.allocPages(39), 39);
        });
        arena.freePages(keep, 1);
        arena.freePages(keep2, 1);
        repairedClean();
    }

    @Test
    void aPendingListThatLinksBackToItselfEnds() throws Exception {
        final int a = arena.allocPages(3);
        final int b = arena.allocPages(3);
        try (LockHolder holder = LockHolder.hold(arena)) {
            arena.freePages(a, 3);
            arena.freePages(b, 3); // pending: b -> a
            s.set(ValueLayout.JAVA_LONG, PageEntry.linkOffset(a >>> 12), PageEntry.link(0, b >>> 12)); // a -> b
        }
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> handsOutOnlyFreeUserPages(Set.of()));
        repairedClean();
        assertEquals(ptr(first), arena.allocPages(userPages));
        arena.freePages(ptr(first), userPages);
    }

    @Test
    void garbageStatesAndSlotsAreRepairedWithoutRawExceptions() {
        final int a = arena.allocPages(4);
        final int page = a >>> 12;
        s.set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(page), 9L); // no such state
        s.set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(page + 1), 15L);
        s.set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(page + 2),
            PageEntry.state(PageEntry.PENDING, 0, 200, 1)); // slot 200: there are 64
        s.set(ValueLayout.JAVA_LONG, PageEntry.stateOffset(page + 3),
            PageEntry.state(PageEntry.CACHED, 0, 64, 1));
        assertDoesNotThrow(() -> ArenaStats.read(arena));
        assertDoesNotThrow(() -> handsOutOnlyFreeUserPages(Set.of(page, page + 1)));
        assertDoesNotThrow(() -> arena.repair(10 * SECOND));
        assertEquals(List.of(), ArenaChecker.check(arena), "check after the repair");
        assertNotEquals(PageEntry.FREE, arena.pageStateCode(page), "a page of unknown state is never freed by guess");
        assertDoesNotThrow(() -> ArenaStats.read(arena));
    }

    @Test
    void anIntentOutOfRangeIsRepairedWithoutTouchingMetadata() {
        s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.INTENT),
            io.sharena.core.layout.Intent.encode(io.sharena.core.layout.Intent.ALLOC, 0, 0x0FFF_FFFF));
        s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.REPAIR_PENDING), 1L);
        final int p = arena.allocPages(1);
        assertEquals(ptr(first), p);
        arena.freePages(p, 1);
        repairedClean();
    }

    /**
     * A real intent only ever names user pages inside the arena (the range a holder carves out of a
     * free run). One that reaches into the metadata or past the end is a stray write: rolling back
     * the user pages it happens to cover would free pages someone holds, and hand them out again.
     */
    @Test
    void anIntentReachingIntoMetadataOrPastTheEndFreesNothing() {
        final int low = arena.allocPagesAt(ptr(first), 3);
        final int high = arena.allocPagesAt(ptr(PAGES - 2), 2);
        assertEquals(ptr(first), low);
        assertEquals(ptr(PAGES - 2), high);
        for (final int p : new int[] {low, low + 4096, low + 8192, high, high + 4096}) {
            arena.strict().putLong(p + 8, 0x5EEDL + p);
        }
        final long[] intents = {
            io.sharena.core.layout.Intent.encode(io.sharena.core.layout.Intent.ALLOC, first - 2, 4),
            io.sharena.core.layout.Intent.encode(io.sharena.core.layout.Intent.RESERVE, first - 1, 2),
            io.sharena.core.layout.Intent.encode(io.sharena.core.layout.Intent.ALLOC, PAGES - 2, 5)};
        for (final long intent : intents) {
            s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.INTENT), intent);
            s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.REPAIR_PENDING), 1L);
            repairedClean();
            for (final int p : new int[] {low, low + 4096, low + 8192, high, high + 4096}) {
                assertEquals(PageState.ALLOCATED, arena.pageState(arena.pageOf(p)), "intent 0x" + Long.toHexString(intent) + ", page " + arena.pageOf(p));
                assertEquals(0x5EEDL + p, arena.strict().getLong(p + 8));
            }
            handsOutOnlyFreeUserPages(Set.of(first, first + 1, first + 2, PAGES - 2, PAGES - 1));
        }
        arena.freePages(low, 3);
        arena.freePages(high, 2);
    }

    /**
     * An ALLOC_INTO or FREE_FROM intent over pages someone holds, whose destination word
     * ({@code INTENT_DEST}) is one no holder writes: negative, misaligned, past the mapping, or a
     * metadata word other than the roots word. A holder writes a checked destination before the
     * intent, so the pair is a stray write; rolling the ALLOC_INTO back (its word "not published")
     * or the FREE_FROM forward (its word "cleared") would free the pages from under their holder,
     * and hand them out again.
     */
    @Test
    void anIntoOrFromIntentWithADestinationNoHolderWritesFreesNothing() {
        final int held = arena.allocPagesAt(ptr(first + 4), 2);
        assertEquals(ptr(first + 4), held);
        arena.strict().putLong(held + 8, 0x5EEDL);
        final long[] dests = {Long.MIN_VALUE, ptr(first) + 2L, (long) PAGES << 12, ControlLayout.word(ControlLayout.INTENT)};
        for (final int op : new int[] {io.sharena.core.layout.Intent.ALLOC_INTO, io.sharena.core.layout.Intent.FREE_FROM}) {
            for (final long dest : dests) {
                final String what = "op=" + op + ", dest=0x" + Long.toHexString(dest);
                s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.INTENT_DEST), dest);
                s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.INTENT),
                    io.sharena.core.layout.Intent.encode(op, first + 4, 2));
                s.set(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.REPAIR_PENDING), 1L);
                repairedClean();
                assertEquals(PageState.ALLOCATED, arena.pageState(first + 4), what);
                assertEquals(PageState.ALLOCATED, arena.pageState(first + 5), what);
                assertEquals(0x5EEDL, arena.strict().getLong(held + 8), what);
                assertTrue(arena.repairNotes().stream().anyMatch(n -> n.contains("ignored")),
                    what + ": the ignored intent is said: " + arena.repairNotes());
                handsOutOnlyFreeUserPages(Set.of(first + 4, first + 5));
            }
        }
        arena.freePages(held, 2);
    }

    /**
     * A lock word forged with the token the next opener will get (its slot, the next generation,
     * its thread): that opener's thread would see DEADLOCK ("I hold it already") and keep the lock
     * for as long as it lives, so every other thread and process fails to allocate. A new
     * attachment has never locked, so such a word is a stray write and is cleared at open.
     */
    @Test
    void aLockWordNamingTheNextOpenerIsClearedAtOpen() throws Exception {
        arena.close();
        final long slotWord;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
            java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder());
            ch.read(b, io.sharena.core.layout.RegistryLayout.field(0, io.sharena.core.layout.RegistryLayout.OWNER));
            slotWord = b.getLong(0);
            final int next = io.sharena.core.layout.ProcessWord.nextGeneration(io.sharena.core.layout.ProcessWord.generation(slotWord));
            b.putLong(0, io.sharena.core.layout.OwnerToken.encode(0, next, Thread.currentThread().threadId()));
            ch.write(b.rewind(), ControlLayout.word(ControlLayout.LOCK_WORD));
        }
        arena = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(SECOND / 10));
        assertEquals(0, arena.slot(), "the forged token named this attachment");
        assertEquals(0L, s(arena).get(ValueLayout.JAVA_LONG, ControlLayout.word(ControlLayout.LOCK_WORD)), "cleared at open");
        final int mine = arena.allocPages(3);
        assertTrue(mine != 0);
        final int[] other = new int[1];
        final Thread t = new Thread(() -> other[0] = arena.allocPages(3));
        t.start();
        t.join();
        assertTrue(other[0] != 0, "another thread of the process can allocate");
        try (SharedArena second = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(SECOND / 10))) {
            final int theirs = second.allocPages(3);
            assertTrue(theirs != 0, "another attachment can allocate");
            second.freePages(theirs, 3);
        }
        arena.freePages(mine, 3);
        arena.freePages(other[0], 3);
        repairedClean();
    }

    private static MemorySegment s(final SharedArena a) {
        return a.segment();
    }

    /**
     * A free run's link pointed back at the run itself, in a large arena (one free run of 16,379
     * pages): the checker walked the list up to the arena's page count, each step the whole run
     * again, with a message built per page: hours at 4 GiB. It stops where the list loops back.
     */
    @Test
    void aFreeListThatLoopsBackIsReportedAtOnce() throws Exception {
        try (SharedArena big = SharedArena.create(dir.resolve("big.arena"), Capacity.parse("64M"), ArenaOptions.defaults())) {
            final int head = (int) big.firstUserPage();
            assertEquals(PageState.FREE, big.pageState(head));
            final MemorySegment m = big.segment();
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, PageEntry.linkOffset(head), PageEntry.link(0, head));
            final List<String> found = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> ArenaChecker.check(big));
            assertTrue(found.stream().anyMatch(v -> v.startsWith("free list loops back")), String.valueOf(found));
        }
    }
    /**
     * A span-cache stack whose link a stray write pointed back at its own span: the check walked it
     * up to the arena's page count, naming the span's page once a step ("page in two lists", 997
     * times in a hostile-file campaign, the other violations pushed out of the listing).
     */
    @Test
    void aSpanCacheThatLoopsBackIsReportedOnce() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("loop.arena"), Capacity.parse("16M"), ArenaOptions.defaults())) {
            final int p1 = a.allocPages(1);
            final int p2 = a.allocPages(1);
            a.freePages(p1, 1);
            a.freePages(p2, 1); // both cached, p2 on top, linked to p1
            final MemorySegment m = a.segment();
            final int page = p1 >>> 12;
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, PageEntry.linkOffset(page), PageEntry.link(0, p2 >>> 12));
            final List<String> found = ArenaChecker.check(a);
            assertTrue(found.stream().anyMatch(v -> v.startsWith("span cache loops back")), String.valueOf(found));
            // Named once (the pages the loop cut off the stack are named as such), not once a step.
            assertEquals(0, found.stream().filter(v -> v.startsWith("page in two lists")).count(), String.valueOf(found));
            assertTrue(found.size() < 20, String.valueOf(found));
        }
    }
}
