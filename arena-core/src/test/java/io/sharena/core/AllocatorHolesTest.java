package io.sharena.core;

import io.sharena.core.alloc.AllocPoint;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.layout.PageEntry;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regression tests for the allocator's crash holes: a real child JVM SIGKILLs itself at one
 * {@link AllocPoint} while this process keeps the arena open, then this process goes on and the
 * arena must come back whole: nothing lost, nothing handed out twice, a clean check.
 */
class AllocatorHolesTest {
    static final int PAGES = 1024;
    static final long SECOND = 1_000_000_000L;

    @TempDir
    Path dir;
    Path file;
    SharedArena arena;
    int first;

    @BeforeEach
    void open() throws IOException {
        file = dir.resolve("holes.arena");
        arena = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults());
        first = (int) arena.firstUserPage();
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    static int ptr(final int page) {
        return page << 12;
    }

    /** Runs {@code ops} in a child armed to die at {@code point}; returns once it is dead. */
    private List<String> killedAt(final AllocPoint point, final String... ops) throws Exception {
        final List<String> args = new ArrayList<>(List.of("ops", file.toString()));
        args.addAll(List.of(ops));
        try (ChildJvm child = ChildProcess.start(List.of("-Dsharena.crashpoints=true",
            "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"), args.toArray(String[]::new))) {
            child.waitFor(60);
            assertTrue(child.output().contains("crashpoint: " + point.id() + " kill"),
                "the child died at " + point.id() + "; output: " + child.output());
            return child.output();
        }
    }

    private void assertClean(final String when) {
        assertEquals(List.of(), ArenaChecker.check(arena), "check " + when);
    }

    /**
     * Hole 1: a drain killed right after taking the pending list. The taken pages carry the live
     * pusher's slot and sit on no list: recovery must still get them back.
     */
    @Test
    void drainKilledAfterTakingTheListLosesNothing() throws Exception {
        final int[] spans = new int[200];
        for (int i = 0; i < spans.length; i++) {
            spans[i] = arena.allocPages(3);
            assertTrue(spans[i] != 0);
        }
        // Another thread holds the lock, so every free below is deferred onto the pending list.
        try (LockHolder holder = LockHolder.hold(arena)) {
            for (final int span : spans) {
                arena.freePages(span, 3);
            }
        }
        assertEquals(PageEntry.PENDING, arena.pageStateCode(first));

        killedAt(AllocPoint.DRAIN_LIST_TAKEN, "alloc:1");

        assertTrue(arena.repair(10 * SECOND));
        for (int p = first; p < first + 600; p++) {
            assertEquals(PageEntry.FREE, arena.pageStateCode(p), "page " + p + " came back");
        }
        assertClean("after the repair");
        assertEquals(ptr(first), arena.allocPages(600), "all 600 pages can be handed out again");
        arena.freePages(ptr(first), 600);
    }

    /**
     * Hole 2: B frees a range that includes a page sitting in A's span cache (a double free, a
     * no-op for that page) and dies inside the free; A then takes the page from its cache. The
     * repair must finish only what B changed, never free A's page.
     */
    @Test
    void aDyingFreeNeverFreesAPageSomeoneElseGotMeanwhile() throws Exception {
        final int x = arena.allocPages(1);
        final int p = arena.allocPages(1);
        assertEquals(x + 4096, p);
        arena.freePages(p, 1); // into this process's span cache

        killedAt(AllocPoint.FREE_PAGE_MARKED, "free:" + x + ":2");

        assertEquals(p, arena.allocPages(1), "this process takes its cached page back");
        arena.raw().putLong(p, 42);
        assertEquals(0, arena.allocPagesAt(p, 1), "the page is ours: it cannot be handed out again");
        assertTrue(arena.repair(10 * SECOND));
        assertEquals(PageEntry.ALLOCATED, arena.pageStateCode(p >>> 12), "still ours after the repair");
        assertEquals(42, arena.raw().getLong(p));
        assertEquals(PageEntry.FREE, arena.pageStateCode(x >>> 12), "the page the dying free had given up is free");
        assertClean("after the repair");
        arena.freePages(p, 1);
    }

    /**
     * Hole 3: the allocator lock taken over from a dead allocating owner by a caller that does not
     * repair (a user of the raw lock); the next allocator path into the locked region must repair
     * first, or the dead allocation's pages stay ALLOCATED for ever. Each path that takes the lock:
     * the slow free, an allocation with no cache class, an allocation at an address, a reservation
     * and a purge. The carved pages are checked right after the path, before anything else takes
     * the lock (the test's own frees would repair too).
     */
    @ParameterizedTest
    @ValueSource(strings = {"slow free", "uncached alloc", "alloc at", "reserve", "purge"})
    void everyPathIntoTheLockRepairsFirst(final String path) throws Exception {
        final int y = arena.allocPages(3);
        assertEquals(ptr(first), y);

        killedAt(AllocPoint.TAKE_CARVED, "alloc:100");
        assertEquals(PageEntry.ALLOCATED, arena.pageStateCode(first + 3), "the child died with its pages carved");

        assertEquals(io.sharena.core.lock.LockResult.RECOVERED, arena.lock().lock(10 * SECOND));
        arena.lock().unlock(); // no repair: as a non-allocator user of the lock would do
        // What the path itself takes, [took, took + tookPages), is left out of the check.
        int took = 0;
        int tookPages = 0;
        switch (path) {
            case "slow free" -> arena.freePages(y, 3); // 3 pages: not a cache size, so the locked slow path
            case "uncached alloc" -> {
                took = arena.allocPages(17); // no cache class: the lock and best fit
                tookPages = 17;
                assertTrue(took != 0, "uncached allocation");
            }
            case "alloc at" -> {
                took = arena.allocPagesAt(ptr(first + 200), 1);
                tookPages = 1;
                assertEquals(ptr(first + 200), took);
            }
            case "reserve" -> {
                assertEquals(ReserveResult.OK, arena.reservePages(ptr(first + 200), 1));
                took = ptr(first + 200);
                tookPages = 1;
            }
            default -> assertTrue(arena.purge());
        }
        for (int p = first + 3; p < first + 103; p++) {
            if (took == 0 || p < took >>> 12 || p >= (took >>> 12) + tookPages) {
                assertEquals(PageEntry.FREE, arena.pageStateCode(p), path + ": page " + p + " is free again");
            }
        }
        if (took != 0) {
            arena.freePages(took, tookPages);
        }
        if (!path.equals("slow free")) {
            arena.freePages(y, 3);
        }
        for (int p = first; p < first + 103; p++) {
            assertEquals(PageEntry.FREE, arena.pageStateCode(p), path + ": page " + p + " is free at the end");
        }
        assertClean("after the " + path);
    }

    /** Hole 3, the other entry: a DEADLOCK entry (this thread already holds the lock). */
    @Test
    void anAllocationByTheThreadThatTookTheLockOverRepairsFirst() throws Exception {
        killedAt(AllocPoint.TAKE_CARVED, "alloc:100");
        assertEquals(io.sharena.core.lock.LockResult.RECOVERED, arena.lock().lock(10 * SECOND));
        try {
            final int q = arena.allocPages(5);
            assertEquals(ptr(first), q, "the dead allocation was rolled back first, so its pages come first");
            arena.freePages(q, 5);
        } finally {
            arena.lock().unlock();
        }
        for (int p = first; p < first + 100; p++) {
            assertEquals(PageEntry.FREE, arena.pageStateCode(p), "page " + p + " is free again");
        }
        assertClean("after the allocation");
    }
}
