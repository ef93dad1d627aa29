package io.sharena.ipc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.ReserveResult;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link IpcCrashPointTest#killedAt} with the arena's low half reserved: a child's workout killed at
 * every IPC crash point, its roots, heap slabs, refill slots and channels all above 2 GiB; the next
 * process repairs (allocator, roots, heap: the reclaim of what the dead one owned) and must check
 * clean, then run a workout of its own.
 */
class TopHalfCrashPointTest {
    @TempDir
    Path dir;

    static Stream<CrashPoint> points() {
        return IpcCrashPointTest.points();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("points")
    void killedAtAboveTwoGiB(final CrashPoint point) throws Exception {
        final Path file = dir.resolve("k.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final long first = a.firstUserPage();
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) ((1L << 19) - first)));
        }
        IpcCrashPointTest.workoutKilledAt(file, point);
        final List<String> before = new ArrayList<>();
        assertEquals(List.of(), IpcCrashPointTest.repairAndCheck(file, before), "before repair: " + before);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertTrue(Integer.toUnsignedLong(io.sharena.core.internal.ArenaInternals.rootsDirectory(arena)) >= 1L << 31);
            Workout.run(arena, "after", false);
            assertEquals(List.of(), IpcCrashPointTest.check(arena));
            assertEquals(List.of(), IpcCheck.check(arena));
        }
    }
}
