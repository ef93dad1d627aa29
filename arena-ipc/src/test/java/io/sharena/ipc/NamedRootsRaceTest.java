package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A reader or writer paused between finding an entry and touching its value, while the entry is reused. */
class NamedRootsRaceTest {
    @TempDir
    Path dir;
    SharedArena arena;
    NamedRoots roots;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("r.arena"), Capacity.parse("4M"), ArenaOptions.defaults());
        roots = NamedRoots.of(arena);
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(List.of(), roots.check());
        arena.close();
    }

    /** @return a name other than {@code name} that hashes to the same entry, so it reuses name's entry */
    static String collidingWith(final String name) {
        final int h = NamedRoots.hash(name.getBytes(StandardCharsets.UTF_8));
        for (int i = 0; ; i++) {
            final String other = "other" + i;
            if (NamedRoots.hash(other.getBytes(StandardCharsets.UTF_8)) == h) {
                return other;
            }
        }
    }

    /**
     * A lock-free lookup that read an entry LIVE, then its name length after a remove had cleared
     * it (the remove goes WRITING first, then clears the length), called the directory corrupted
     * and marked it for repair.
     */
    @Test
    void lookupsRacingRemovesOfTheSameNameSeeNoCorruption() throws Exception {
        final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        final Throwable[] failure = new Throwable[1];
        final Thread writer = PointPause.start(() -> {
            while (!stop.get()) {
                roots.put("B", 1);
                roots.remove("B");
            }
        }, failure);
        final long end = System.nanoTime() + 1_500_000_000L;
        try {
            while (System.nanoTime() < end && failure[0] == null) {
                roots.get("B");
                roots.get("other");
                roots.list();
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertNull(failure[0]);
    }

    /**
     * A removeAndFree that had checked the name's pointer and bumped its version waited for the
     * allocator's lock; a lock-free put pointed the name elsewhere meanwhile (it reads the value
     * after the bump, so its CAS holds), and the free then took the put's pages, whatever the word
     * held by then: the put's caller's structure freed under it, both calls "succeeded".
     */
    @Test
    void aPutWhileRemoveAndFreeWaitsForTheAllocatorKeepsItsPages() throws Exception {
        final int h = arena.allocPages(1);
        final int y = arena.allocPages(1);
        roots.put("n", h);
        final Boolean[] removed = new Boolean[1];
        final Throwable[] failure = new Throwable[1];
        final Thread t;
        try (AllocatorLockHolder holder = new AllocatorLockHolder(arena)) {
            t = PointPause.start(() -> removed[0] = roots.removeAndFree("n", h, 1), failure);
            // Until it waits for the allocator's lock, its check and version bump behind it.
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (java.util.Arrays.stream(t.getStackTrace()).noneMatch(f -> f.getMethodName().equals("freeFrom"))) {
                assertTrue(System.nanoTime() < deadline, "removeAndFree never reached the free");
                Thread.sleep(1);
            }
            assertEquals(h, roots.put("n", y));
        }
        t.join(10_000);
        assertNull(failure[0]);
        assertEquals(Boolean.FALSE, removed[0], "the name no longer named what it was to remove");
        assertEquals(y, roots.get("n"));
        assertEquals(io.sharena.core.PageState.ALLOCATED, arena.pageState(Integer.toUnsignedLong(y) / 4096));
        assertEquals(io.sharena.core.PageState.ALLOCATED, arena.pageState(Integer.toUnsignedLong(h) / 4096));
    }

    @Test
    void putPausedAfterFindingAnEntryThatIsRemovedAndReusedDoesNotOverwriteTheOtherName() throws Exception {
        final String other = collidingWith("alpha");
        roots.put("alpha", 100);
        final Throwable[] failure = new Throwable[1];
        try (PointPause pause = new PointPause(RootsPoint.FOUND)) {
            final Thread t = PointPause.start(() -> roots.put("alpha", 200), failure);
            assertTrue(pause.awaitReached());
            assertEquals(100, roots.remove("alpha"));
            assertEquals(0, roots.put(other, 300));
            pause.release();
            t.join(10_000);
        }
        assertNull(failure[0]);
        assertEquals(300, roots.get(other), "the other name's value is untouched");
        assertEquals(200, roots.get("alpha"), "the paused put added alpha anew");
    }

    @Test
    void getPausedAfterFindingAnEntryThatIsRemovedAndReusedDoesNotReturnTheOtherNamesPointer() throws Exception {
        final String other = collidingWith("alpha");
        roots.put("alpha", 100);
        final Throwable[] failure = new Throwable[1];
        final int[] got = new int[1];
        try (PointPause pause = new PointPause(RootsPoint.FOUND)) {
            final Thread t = PointPause.start(() -> got[0] = roots.get("alpha"), failure);
            assertTrue(pause.awaitReached());
            assertEquals(100, roots.remove("alpha"));
            assertEquals(0, roots.put(other, 300));
            pause.release();
            t.join(10_000);
        }
        assertNull(failure[0]);
        assertTrue(got[0] == 0 || got[0] == 100, "alpha's old value or none, never the other name's: " + got[0]);
    }

    @Test
    void compareAndSetPausedAfterFindingAnEntryThatIsRemovedAndReusedFails() throws Exception {
        final String other = collidingWith("alpha");
        roots.put("alpha", 100);
        final Throwable[] failure = new Throwable[1];
        final boolean[] set = new boolean[1];
        try (PointPause pause = new PointPause(RootsPoint.FOUND)) {
            final Thread t = PointPause.start(() -> set[0] = roots.compareAndSet("alpha", 100, 200), failure);
            assertTrue(pause.awaitReached());
            assertEquals(100, roots.remove("alpha"));
            assertEquals(0, roots.put(other, 100));
            pause.release();
            t.join(10_000);
        }
        assertNull(failure[0]);
        assertEquals(false, set[0], "alpha no longer held 100");
        assertEquals(100, roots.get(other));
        assertEquals(0, roots.get("alpha"));
    }
}
