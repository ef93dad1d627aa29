package io.sharena.core;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.layout.PageEntry;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hole 10: a FREE page is free for everyone, whichever process's span cache it sits in, and a page
 * handed out reads zero whatever raw writes hit it while it was FREE.
 */
class FreeForEveryoneTest {
    @TempDir
    Path dir;

    @Test
    void aPageInAnotherAttachmentsCacheCanBeAllocatedAtAndReserved() throws Exception {
        final Path file = dir.resolve("f.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
            final int p = a.allocPages(1);
            final int q = a.allocPages(2);
            a.freePages(p, 1);
            a.freePages(q, 2);
            assertEquals(PageEntry.FREE, b.pageStateCode(p >>> 12));
            assertEquals(p, b.allocPagesAt(p, 1), "a page in A's cache is free for B");
            assertEquals(ReserveResult.OK, b.reservePages(q, 2), "so are pages A cached as a 2-page span");
            assertEquals(0, a.allocPages(1) == p ? 1 : 0, "A never gets back the page B took");
            b.freePages(p, 1);
            b.freePages(q, 2);
            assertEquals(List.of(), ArenaChecker.check(a));
        }
    }

    @Test
    void aTinyArenaWhosePagesSitInOneCacheStillServesAnother() throws Exception {
        final Path file = dir.resolve("t.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(7), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(2, a.capacityPages() - a.firstUserPage());
            final int p1 = a.allocPages(1);
            final int p2 = a.allocPages(1);
            a.freePages(p1, 1);
            a.freePages(p2, 1);
            final int both = b.allocPages(2);
            assertTrue(both != 0, "B gets both pages A had cached");
            assertEquals(0, a.allocPages(1), "and A has none left");
            b.freePages(both, 2);
            assertEquals(List.of(), ArenaChecker.check(a));
        }
    }

    @Test
    void pagesReadZeroWhateverRawWritesHitThemWhileFree() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("z.arena"), Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int p = a.allocPages(1);
            a.freePages(p, 1); // cached
            a.raw().putLong(p + 64, 0x5A5AL);
            assertEquals(p, a.allocPages(1));
            assertEquals(0, a.raw().getLong(p + 64), "a cached page is zero when handed out");
            a.freePages(p, 1);

            final int big = a.allocPages(17);
            a.freePages(big, 17); // punched, back in the lists
            a.raw().putLong(big + 3 * 4096 + 8, 0x77L);
            assertEquals(big, a.allocPages(17));
            assertEquals(0, a.raw().getLong(big + 3 * 4096 + 8), "a page from the lists is zero when handed out");
            a.freePages(big, 17);
            assertEquals(List.of(), ArenaChecker.check(a));
        }
    }

    @Test
    void aPageInAnotherProcesssCacheCanBeAllocatedAt() throws Exception {
        final Path file = dir.resolve("p.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int p = (int) a.firstUserPage() << 12;
            try (ChildJvm child = ChildProcess.start("ops", file.toString(), "alloc:1", "free:" + p + ":1", "wait")) {
                child.await("waiting");
                assertEquals(PageEntry.FREE, a.pageStateCode(p >>> 12));
                assertEquals(p, a.allocPagesAt(p, 1), "the child's cached page is free for this process");
                child.send("go");
                assertEquals(0, child.waitFor(30), "child output: " + child.output());
            }
            a.raw().putLong(p, 1);
            assertEquals(PageEntry.ALLOCATED, a.pageStateCode(p >>> 12), "the child's close did not take it back");
            a.freePages(p, 1);
            assertEquals(List.of(), ArenaChecker.check(a));
        }
    }
}
