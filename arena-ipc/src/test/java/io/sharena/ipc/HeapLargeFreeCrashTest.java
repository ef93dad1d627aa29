package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.heap.HeapPoint;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A large heap object's free, killed at each step, in a real child JVM: after the next opener's
 * repairs (allocator, then heap) the check is clean and none of the object's pages is left
 * allocated. Found by a kill campaign that stopped the free one statement at a time: freed page by
 * page, header first, a kill partway left the pages after the header allocated and named by
 * nothing, lost for good, while check said ok. Now the pages go back in one step, from the
 * object's SELF word.
 */
class HeapLargeFreeCrashTest {
    @TempDir
    Path dir;

    static Stream<Arguments> steps() {
        final List<Arguments> all = new ArrayList<>();
        for (final int bytes : new int[] {20_000, 30_000, 200_000}) {
            all.add(Arguments.of(HeapPoint.LARGE_FREEING.id(), 0, bytes));
            // The allocator's points (its package is not exported): the free from the SELF word.
            all.add(Arguments.of("AllocPoint.FREE_FROM_INTENT_WRITTEN", 0, bytes));
            all.add(Arguments.of("AllocPoint.FREE_FROM_WORD_CLEARED", 0, bytes));
            // Partway through the pages: the second and the third page marked.
            all.add(Arguments.of("AllocPoint.FREE_PAGE_MARKED", 1, bytes));
            all.add(Arguments.of("AllocPoint.FREE_PAGE_MARKED", 2, bytes));
            all.add(Arguments.of("AllocPoint.FREE_FROM_DONE", 0, bytes));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} skip {1}, {2} bytes")
    @MethodSource("steps")
    void aLargeFreeKilledAtEachStepLeavesNoPageBehind(final String point, final int skip, final int bytes)
        throws Exception {
        final Path file = dir.resolve("large.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            ObjectHeap.of(arena); // made here: the child's only heap work is the object's
        }
        final List<String> output;
        final int exit;
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point,
            "-Dsharena.crashpoint.skip=" + skip, "-Dsharena.crashpoint.action=kill"), "largefree", file.toString(),
            Integer.toString(bytes))) {
            exit = child.waitFor(120);
            output = child.output();
        }
        assertTrue(output.contains("crashpoint: " + point + " kill"), "killed at " + point + ": " + output);
        assertEquals(128 + 9, exit, "SIGKILL");
        final long ptr = output.stream().filter(l -> l.startsWith("large ")).mapToLong(l -> Long.parseLong(l.substring(6)))
            .findFirst().orElseThrow();
        final long first = ptr / Geometry.PAGE_SIZE;
        final long pages = Geometry.pagesFor(bytes + 64L);
        final List<String> violations = IpcCrashPointTest.repairAndCheck(file, new ArrayList<>());
        assertEquals(List.of(), violations);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            for (long p = first; p < first + pages; p++) {
                assertTrue(Pages.state(arena, p) != PageEntry.ALLOCATED, "page " + p + " of the freed object ("
                    + first + ".." + (first + pages - 1) + ") left allocated");
            }
        }
    }
}
