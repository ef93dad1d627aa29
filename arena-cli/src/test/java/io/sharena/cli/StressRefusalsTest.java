package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoint;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code arena stress} checks everything in the parent before a worker starts: it runs only on a
 * new path or on a file an earlier stress made that no live process holds (it emptied a serve's
 * store, and page workers broke on a user's root), with at most as many processes as the registry
 * has slots, on a size that holds what it needs, and an armed crash point that exists; each
 * refusal is one line, at once, and leaves every file as it was. A worker that fails without
 * being killed fails the run (it exited 0).
 */
class StressRefusalsTest extends CapturedStreams {
    @TempDir
    Path dir;

    /** Runs stress with short settings; refused at once, so within seconds. */
    private int stress(final String... args) {
        final List<String> all = new ArrayList<>(List.of("stress"));
        all.addAll(List.of(args));
        all.addAll(List.of("--seconds", "2", "--seed", "1"));
        return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> ArenaCli.run(all.toArray(String[]::new)));
    }

    private void assertRefusedAtOnce(final int status, final int expected, final String line) {
        assertEquals(expected, status, out() + err());
        assertEquals(line + "\n", err());
        assertFalse(out().contains("[worker"), "no worker started: " + out());
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFileThatIsNotAnArenaIsRefused() throws Exception {
        final Path notes = Files.writeString(dir.resolve("notes.txt"), "my notes\n");
        assertRefusedAtOnce(stress(notes.toString()), ArenaCli.EXIT_USAGE, "arena: " + notes + ": exists and is not an"
            + " arena stress made (not a valid arena: not an arena or truncated: fileSize=9 is less than one header page"
            + " (4096 bytes) (field fileSize)); give stress a new path: it creates the file");
        assertEquals("my notes\n", Files.readString(notes));
        final Path sub = Files.createDirectory(dir.resolve("sub"));
        reset();
        assertRefusedAtOnce(stress(sub.toString(), "--store"), ArenaCli.EXIT_USAGE, "arena: " + sub + ": exists and is"
            + " not an arena stress made (not a valid arena: not a regular file: type=directory, path=" + sub
            + " (an arena is a regular file) (field fileType)); give stress a new path: it creates the file");
        assertEquals(List.of("notes.txt", "sub"), files());
    }

    /** An arena with a user's root that page workers once choked on, and a store with a user's item. */
    @Test
    void anArenaOrStoreStressDidNotMakeIsLeftAlone() throws Exception {
        final Path arena = dir.resolve("user.arena");
        final byte[] before;
        try (SharedArena a = SharedArena.create(arena, Capacity.parse("4M"), ArenaOptions.defaults())) {
            NamedRoots.of(a).put("web-x", a.allocPages(1));
        }
        before = Files.readAllBytes(arena);
        assertRefusedAtOnce(stress(arena.toString()), ArenaCli.EXIT_USAGE, "arena: " + arena + ": an arena stress did"
            + " not make: its workers would free, delete and overwrite what is in it; give stress a new path: it creates"
            + " the file");
        assertArrayEquals(before, Files.readAllBytes(arena), "not a byte changed");

        final Path store = dir.resolve("serve.store");
        try (SharedStore s = SharedStore.create(store, StoreOptions.defaults().withMemoryLimit(4 << 20))) {
            s.set("user:1".getBytes(StandardCharsets.US_ASCII), "alice".getBytes(StandardCharsets.US_ASCII), 0, 0);
        }
        reset();
        assertRefusedAtOnce(stress(store.toString(), "--store"), ArenaCli.EXIT_USAGE, "arena: " + store + ": an arena"
            + " stress did not make: its workers would free, delete and overwrite what is in it; give stress a new path:"
            + " it creates the file");
        try (SharedStore s = SharedStore.open(store, StoreOptions.defaults())) {
            assertArrayEquals("alice".getBytes(StandardCharsets.US_ASCII), s.get("user:1".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /** A file stress made, held by a live process (a child JVM): busy; and the other mode's file is refused. */
    @Test
    void aStressFileHeldByALiveProcessOrOfTheOtherModeIsRefused() throws Exception {
        final Path file = dir.resolve("s.store");
        try (SharedStore s = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(4 << 20))) {
            StressFile.mark(s.arena(), true);
        }
        try (ChildJvm holder = ChildJvm.start(DeleteCommandTest.class, List.of(), file.toString())) {
            assertTrue(holder.readLine().startsWith("holding "), holder.output().toString());
            assertRefusedAtOnce(stress(file.toString(), "--store"), ArenaCli.EXIT_BUSY, "arena: " + file + ": arena in"
                + " use by live processes: pids=[" + holder.pid() + "] (stress needs the file to itself: stop them, or"
                + " give stress a new path)");
            holder.send("release");
            assertEquals(0, holder.waitFor(30), holder.output().toString());
        }
        reset();
        assertRefusedAtOnce(stress(file.toString()), ArenaCli.EXIT_USAGE, "arena: " + file + ": a file stress made for"
            + " --store, not page workers; give stress a new path: it creates the file");
    }

    @Test
    void tooManyProcessesOrTooSmallASizeIsRefusedBeforeAFileIsMade() throws Exception {
        final Path file = dir.resolve("new.arena");
        assertRefusedAtOnce(stress(file.toString(), "--size", "24K"), ArenaCli.EXIT_USAGE, "arena: --size too small for"
            + " stress: bytes=24576, min=1048576 (the roots, the workers' channel and heap, and room for their pages:"
            + " give --size 1M or more)");
        reset();
        final int status = stress(file.toString(), "--store", "--memory", "1M", "--processes", "16");
        assertEquals(ArenaCli.EXIT_USAGE, status, out() + err());
        assertTrue(err().startsWith("arena: store too small for 16 lane(s): each lane's share of the ring is "), err());
        assertTrue(err().endsWith(" bytes, at least 65536 needed (give a larger --memory, or fewer --processes)\n"), err());
        reset();
        assertRefusedAtOnce(stress(file.toString(), "--processes", "70"), ArenaCli.EXIT_USAGE, "arena: --processes more"
            + " than an arena's registry holds: processes=70, max=64 (each worker process takes a slot)");
        assertEquals(List.of(), files(), "no file left");
    }

    @Test
    void anUnknownCrashPointIsAUsageErrorNamingWhereTheIdsAre() throws Exception {
        final Path file = dir.resolve("c.arena");
        assertRefusedAtOnce(stress(file.toString(), "--crash-point", "AllocPoint.TYPO"), ArenaCli.EXIT_USAGE,
            "arena: unknown crash point: --crash-point AllocPoint.TYPO (no such constant in io.sharena.core.alloc.AllocPoint,"
                + " whose constants are AllocPoint's points; docs/crash-safety.md says what each enum covers)");
        reset();
        assertRefusedAtOnce(stress(file.toString(), "--crash-point", "Typo.X"), ArenaCli.EXIT_USAGE,
            "arena: unknown crash point: --crash-point Typo.X (an id is ENUM.CONSTANT, ENUM one of AllocPoint, LockPoint,"
                + " CutRepairPoint, RootsPoint, HeapPoint, ChannelPoint, StorePoint, StoreRepairPoint: their constants are"
                + " the points; docs/crash-safety.md says what each enum covers)");
        assertEquals(List.of(), files(), "no file made");
    }

    /** The enums stress knows are every crash-point enum on the class path, and every id of them passes. */
    @Test
    void theKnownCrashPointsAreEveryOneOnTheClassPath() {
        final TreeSet<String> known = new TreeSet<>();
        for (final String c : CrashPointIds.ENUMS) {
            for (final CrashPoint p : CrashPointIds.constants(c)) {
                known.add(p.id());
                CrashPointIds.check(p.id());
            }
        }
        assertEquals(new TreeSet<>(CrashPointCampaignTest.allPoints()), known);
    }

    /**
     * A worker that dies of something other than the parent's kill fails the run: the parent, a
     * child JVM here, runs workers that all SIGKILL themselves at a heap allocation (armed through
     * JAVA_TOOL_OPTIONS, which the workers inherit; the parent never allocates from the heap).
     */
    @Test
    void aWorkerThatFailsWithoutBeingKilledFailsTheRun() throws Exception {
        final Path file = dir.resolve("w.arena");
        final List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-ea",
            "-Xmx256m", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            ArenaCli.class.getName(), "stress", file.toString(), "--processes", "2", "--seconds", "3", "--size", "4M",
            "--kill-every", "100000", "--seed", "3");
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("JAVA_TOOL_OPTIONS", "-Dsharena.crashpoints=true -Dsharena.crashpoint=HeapPoint.ALLOC_POPPED"
            + " -Dsharena.crashpoint.action=kill");
        final Process parent = pb.start();
        try {
            final String output = new String(parent.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(parent.waitFor(60, TimeUnit.SECONDS), output);
            realOut().println(output);
            assertTrue(output.contains("crashpoint: HeapPoint.ALLOC_POPPED kill"), output);
            assertTrue(output.matches("(?s).*stress: worker \\d+ failed: exit=137\n.*"), output);
            assertTrue(output.contains("stress: 2 worker(s) failed without being killed\n"), output);
            assertEquals(ArenaCli.EXIT_FAILURE, parent.exitValue(), output);
        } finally {
            parent.destroyForcibly();
        }
    }
}
