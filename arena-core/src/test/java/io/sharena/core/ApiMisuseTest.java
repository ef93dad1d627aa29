package io.sharena.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Arguments a caller gets wrong: each an exception that says so, nothing changed. */
class ApiMisuseTest {
    @TempDir
    Path dir;

    private SharedArena arena(final String name) throws Exception {
        return SharedArena.create(dir.resolve(name), Capacity.parse("4M"), ArenaOptions.defaults());
    }

    /**
     * A destination word in a free page: best fit could pick that very page, zero it and store the
     * pointer into the allocation itself, or leave the only record of the allocation in free memory.
     */
    @Test
    void aDestinationWordInAPageNobodyHoldsIsRefused() throws Exception {
        try (SharedArena arena = arena("into.arena")) {
            final int first = (int) (arena.firstUserPage() * arena.pageSize());
            assertEquals(PageState.FREE, arena.pageState(arena.firstUserPage()));
            assertThrows(IllegalArgumentException.class, () -> arena.allocPagesInto(1, first + 8));
            assertThrows(IllegalArgumentException.class, () -> arena.freePagesFrom(first + 8, 1));
            assertEquals(PageState.FREE, arena.pageState(arena.firstUserPage()));
            final int holder = arena.allocPages(1);
            final int p = arena.allocPagesInto(1, holder + 8);
            assertTrue(p != 0 && p != holder);
            assertEquals(p, arena.raw().getInt(holder + 8));
        }
    }

    /** Negative lengths reached the JDK's segment checks (an IndexOutOfBoundsException, or Arrays.fill's). */
    @Test
    void negativeLengthsAreRefusedByName() throws Exception {
        try (SharedArena arena = arena("lengths.arena")) {
            final int p = arena.allocPages(1);
            final int meta = 0;
            for (final ArenaView v : new ArenaView[] {arena.strict(), arena.lenient()}) {
                for (final int at : new int[] {p, meta}) {
                    assertThrows(IllegalArgumentException.class, () -> v.fill(at, -1, (byte) 1));
                    assertThrows(IllegalArgumentException.class, () -> v.getBytes(at, new byte[4], 0, -1));
                    assertThrows(IllegalArgumentException.class, () -> v.putBytes(at, new byte[4], 0, -1));
                }
            }
        }
    }

    /** A negative quota was clamped to 0, which lifts the limit: the opposite of a limit. */
    @Test
    void aNegativeQuotaIsRefused() throws Exception {
        try (SharedArena arena = arena("quota.arena")) {
            arena.setQuota(2);
            assertThrows(IllegalArgumentException.class, () -> arena.setQuota(-5));
            assertTrue(arena.allocPages(2) != 0);
            assertEquals(0, arena.allocPages(1), "the quota of 2 still holds");
        }
    }

    /**
     * After the close, pageState and info used the closed file descriptor (EBADF as an
     * UncheckedIOException, or another file's size once the number was reused).
     */
    @Test
    void callsAfterTheCloseSayItIsClosed() throws Exception {
        final SharedArena arena = arena("closed.arena");
        arena.close();
        for (final org.junit.jupiter.api.function.Executable call : new org.junit.jupiter.api.function.Executable[] {
            () -> arena.pageState(0), () -> arena.pageState(arena.firstUserPage()), arena::info,
            () -> arena.allocPages(0), () -> arena.allocPages(1)}) {
            final IllegalStateException e = assertThrows(IllegalStateException.class, call);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }
}
