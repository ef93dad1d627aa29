package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NamedRoots#remove(String, int)} racing a lock-free {@link NamedRoots#put} of the same
 * name: the put checks the entry (LIVE, its name) before the remover marks it WRITING, and makes
 * its CAS after. The put returned, so its pointer must outlive the remove, whether the remover
 * lives or is killed (kill -9) at any later step.
 */
class RootsRemoveRaceCrashTest {
    @TempDir
    Path dir;

    /** What the remover does once the put has landed. */
    private enum Remover { LIVES, KILLED_WRITING, KILLED_IF_IT_CLEARS }

    /**
     * Runs the race: a put of {@code b} over {@code a} paused after its check, a child removing
     * {@code (x, a)} held at REMOVE_WRITING while the put lands; then the child is killed there,
     * or let go (and killed at REMOVE_MARKED, should it get there, unless it {@code LIVES}).
     *
     * @return the child's output
     */
    private List<String> race(final Path file, final int a, final int b, final Remover mode) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            final int[] putReturned = {-1};
            final Throwable[] failure = new Throwable[1];
            try (PointPause pause = new PointPause(RootsPoint.PUT_CHECKED)) {
                final Thread putter = PointPause.start(() -> putReturned[0] = roots.put("x", b), failure);
                assertTrue(pause.awaitReached(), "the put paused after its check");
                final List<String> args = new java.util.ArrayList<>(List.of("removeexpected", file.toString(), "x",
                    Integer.toString(a)));
                if (mode == Remover.LIVES) {
                    args.add("nokill");
                }
                try (ChildJvm remover = IpcChild.start(List.of("-Dsharena.crashpoints=true"), args.toArray(String[]::new))) {
                    remover.await("writing");
                    pause.release();
                    putter.join(10_000);
                    assertEquals(null, failure[0]);
                    assertEquals(a, putReturned[0], "the put replaced a: acknowledged");
                    if (mode == Remover.KILLED_WRITING) {
                        remover.kill9();
                    } else {
                        remover.send("go");
                        // "marked" (at REMOVE_MARKED, where it waits to be killed) or "removed ..."
                        if (remover.await("").equals("marked")) {
                            remover.kill9();
                        }
                    }
                    remover.waitFor(30);
                    return remover.output();
                }
            }
        }
    }

    private Path arenaWithRoot(final int[] pages) throws Exception {
        final Path file = dir.resolve("r.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            pages[0] = arena.allocPages(1);
            pages[1] = arena.allocPages(1);
            NamedRoots.of(arena).put("x", pages[0]);
        }
        return file;
    }

    /** The remover, seeing another pointer than the one it was to remove, leaves the name with it. */
    @Test
    void aRemoverThatLivesLeavesThePutsPointer() throws Exception {
        final int[] pages = new int[2];
        final Path file = arenaWithRoot(pages);
        assertTrue(race(file, pages[0], pages[1], Remover.LIVES).contains("removed false"));
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(pages[1], NamedRoots.of(arena).get("x"));
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }

    /**
     * Let go after the put landed: before, the remover cleared the name's length first and put the
     * name back after, and a kill at REMOVE_MARKED left the put's pointer under no name, which the
     * repair dropped (the acknowledged put lost, its page named by nothing). The remover now never
     * clears a name whose pointer moved: it answers false without reaching that point.
     */
    @Test
    void aRemoverLetGoAfterThePutLandedNeverClearsTheName() throws Exception {
        final int[] pages = new int[2];
        final Path file = arenaWithRoot(pages);
        final List<String> output = race(file, pages[0], pages[1], Remover.KILLED_IF_IT_CLEARS);
        assertTrue(output.contains("removed false"), "a name whose pointer moved is not cleared: " + output);
        assertRepairedTo(file, pages[1]);
    }

    /** Killed where the put landed (WRITING, the name whole, the put's pointer): the repair restores the name. */
    @Test
    void aRemoverKilledWhereThePutLandedLosesNothing() throws Exception {
        final int[] pages = new int[2];
        final Path file = arenaWithRoot(pages);
        race(file, pages[0], pages[1], Remover.KILLED_WRITING);
        assertRepairedTo(file, pages[1]);
    }

    private static void assertRepairedTo(final Path file, final int ptr) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            NamedRoots.repair(arena, 5_000_000_000L);
            assertEquals(ptr, NamedRoots.of(arena).get("x"), "the acknowledged put survives");
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }
}
