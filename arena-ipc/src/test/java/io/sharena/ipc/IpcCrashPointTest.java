package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.crash.CrashPoint;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.channel.ChannelPoint;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every IPC crash point, two ways: (a) a real child JVM running a {@link Workout} SIGKILLs itself
 * there, then this process opens the arena, repairs (allocator, roots, heap) and requires a clean
 * check; (b) a thread pauses there while another thread and another process run conflicting
 * workouts, then resumes, and the check must be clean with no repair at all. Run one point with
 * {@code -Dtest='IpcCrashPointTest#killedAt' } and the point's id in the display name.
 */
class IpcCrashPointTest {
    private static final ConcurrentLinkedQueue<String> RESULTS = new ConcurrentLinkedQueue<>();

    @TempDir
    Path dir;

    static Stream<CrashPoint> points() {
        final List<CrashPoint> all = new ArrayList<>();
        // CREATE_UNDONE is reached only by the repair after a creator died holding the roots' lock:
        // RootsCreationCrashTest kills a creator, then kills the undoer there, and pauses it there.
        all.addAll(java.util.Arrays.stream(RootsPoint.values()).filter(p -> p != RootsPoint.CREATE_UNDONE).toList());
        all.addAll(List.of(HeapPoint.values()));
        all.addAll(List.of(ChannelPoint.values()));
        return all.stream();
    }

    @AfterAll
    static void summary() {
        System.out.println("ipc crash points: " + points().count() + " points, results:");
        RESULTS.stream().sorted().forEach(r -> System.out.println("  " + r));
    }

    /**
     * Opens the arena as the next process would, repairs all it can, and returns what check still
     * finds; what it found before the repair goes to {@code before}.
     */
    static List<String> repairAndCheck(final Path file, final List<String> before) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            before.addAll(check(arena));
            assertTrue(ArenaInternals.repair(arena, 5_000_000_000L), "allocator repair ran");
            NamedRoots.repair(arena, 5_000_000_000L);
            ObjectHeap.repair(arena);
            return check(arena);
        }
    }

    static List<String> check(final SharedArena arena) {
        final List<String> violations = new ArrayList<>(ArenaChecker.check(arena).stream()
            .filter(v -> !v.startsWith("dead process still registered")).toList());
        violations.addAll(NamedRoots.check(arena));
        violations.addAll(ObjectHeap.check(arena));
        return violations;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("points")
    void killedAt(final CrashPoint point) throws Exception {
        final Path file = dir.resolve("k.arena");
        SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults()).close();
        workoutKilledAt(file, point);
        final List<String> before = new ArrayList<>();
        final List<String> violations = repairAndCheck(file, before);
        RESULTS.add("kill  " + point.id() + ": " + before.size() + " violation(s) before repair, "
            + (violations.isEmpty() ? "clean after repair" : violations) + (before.isEmpty() ? "" : " " + before));
        assertEquals(List.of(), violations);
        // And the arena stays usable: a whole workout runs on it.
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            Workout.run(arena, "after", false);
            assertEquals(List.of(), check(arena));
        }
    }

    /** Runs a workout on {@code file} in a child JVM armed to be killed at {@code point}; asserts it reached it and died of SIGKILL. */
    static void workoutKilledAt(final Path file, final CrashPoint point) throws Exception {
        final int exit;
        final List<String> output;
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point.id(),
            "-Dsharena.crashpoint.action=kill"), "workout", file.toString(), "k")) {
            exit = child.waitFor(120);
            output = child.output();
        }
        assertTrue(output.contains("crashpoint: " + point.id() + " kill"), "the child reached " + point.id()
            + " and was killed there; exit=" + exit + ", output: " + output);
        assertEquals(128 + 9, exit, "SIGKILL");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("points")
    void pausedAt(final CrashPoint point) throws Exception {
        final Path file = dir.resolve("p.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final Throwable[] paused = new Throwable[1];
            final Throwable[] other = new Throwable[1];
            final Thread a;
            final Thread b;
            try (PointPause pause = new PointPause(point)) {
                // Repairs of the roots take their lock and may run at any time; the heap's repair
                // wants a quiet heap, so it is not run while another workout does.
                final boolean quiet = point == HeapPoint.REPAIR_CLASS;
                a = PointPause.start(() -> Workout.run(arena, "a", point == RootsPoint.REPAIR_ENTRY, quiet), paused);
                assertTrue(pause.awaitReached(), "the paused thread reached " + point.id());
                b = new Thread(() -> {
                    try {
                        if (!quiet) {
                            Workout.run(arena, "b", false);
                        }
                    } catch (final Throwable e) {
                        other[0] = e;
                    }
                }, "other");
                b.start();
                // And another process, on the same directory, heap and allocator.
                // (A heap repair wants the heap quiet: then the process only attaches and reads.)
                try (ChildJvm c = IpcChild.start(quiet ? "noop" : "workout", file.toString(), "c", "norepair")) {
                    // The others may need what the paused thread holds (a lock): give them 3 s,
                    // then resume the paused one either way.
                    b.join(3_000);
                    pause.release();
                    a.join(60_000);
                    b.join(60_000);
                    assertEquals(0, c.waitFor(120), "the other process's workout: " + c.output());
                    assertTrue(quiet || c.output().contains("workout done"), c.output().toString());
                }
            }
            assertTrue(!a.isAlive() && !b.isAlive(), "both workouts ended");
            assertNull(paused[0], () -> "paused workout failed: " + paused[0]);
            assertNull(other[0], () -> "other workout failed: " + other[0]);
            final List<String> violations = check(arena);
            RESULTS.add("pause " + point.id() + ": " + (violations.isEmpty() ? "clean" : violations));
            assertEquals(List.of(), violations);
        }
    }
}
