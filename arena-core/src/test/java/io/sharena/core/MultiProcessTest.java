package io.sharena.core;

import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real child JVMs on one arena file. */
class MultiProcessTest {
    private static final int NODES = 1_000;
    private static final long SUM = (long) NODES * (NODES + 1) / 2;

    @TempDir
    Path dir;

    @Test
    void listBuiltByAChildIsWalkedByTheParentThroughArenaPointers() throws Exception {
        final Path file = dir.resolve("list.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("1M"), ArenaOptions.defaults());
             ChildJvm child = ChildProcess.start("list", file.toString(), Integer.toString(NODES))) {
            final String childBase = child.await("base=");
            assertEquals(0, child.waitFor(60), String.join("\n", child.output()));
            final ArenaView v = arena.raw();
            long sum = 0;
            int count = 0;
            for (int node = v.getIntAcquire(ChildProcess.root(arena)); node != ArenaPointers.NULL; node = v.getInt(node)) {
                sum += v.getLong(node + 8);
                count++;
            }
            assertEquals(NODES, count);
            assertEquals(SUM, sum);
            System.out.println("child " + childBase + ", parent base=0x" + Long.toHexString(arena.base()));
        }
    }

    @Test
    void fixedAddressListOfNativeAddressesIsValidInTheParent() throws Exception {
        final Path file = dir.resolve("fixed.arena");
        try (SharedArena arena = FixedAddresses.create(file, Capacity.parse("1M"))) {
            // Both processes hold the arena at the same absolute address at the same time.
            try (ChildJvm child = ChildProcess.start("fixedlist", file.toString(), Integer.toString(NODES))) {
                assertEquals("base=0x" + Long.toHexString(arena.fixedAddress()), child.await("base=").split(" ")[0]);
                assertEquals(0, child.waitFor(60), String.join("\n", child.output()));
            }
            assertEquals(arena.fixedAddress(), arena.base());
            long sum = 0;
            int count = 0;
            long address = arena.raw().getLongAcquire(ChildProcess.root(arena));
            while (address != 0) {
                // Follow the raw 64-bit address the child stored, not an arena pointer.
                final MemorySegment node = MemorySegment.ofAddress(address).reinterpret(16);
                sum += node.get(ValueLayout.JAVA_LONG, 8);
                address = node.get(ValueLayout.JAVA_LONG, 0);
                count++;
            }
            assertEquals(NODES, count);
            assertEquals(SUM, sum);
        }
    }

    @Test
    void concurrentGetAndAddFromTwoProcessesEndsAtTheTotal() throws Exception {
        final int perProcess = 2_000_000;
        final Path file = dir.resolve("add.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("1M"), ArenaOptions.defaults())) {
            final int ptr = ChildProcess.root(arena) + 128;
            try (ChildJvm child = ChildProcess.start("add", file.toString(), Integer.toString(ptr),
                Integer.toString(perProcess))) {
                child.await("ready");
                child.send("go");
                final ArenaView v = arena.raw();
                for (int i = 0; i < perProcess; i++) {
                    v.getAndAddLong(ptr, 1);
                }
                assertEquals(0, child.waitFor(120), String.join("\n", child.output()));
            }
            assertEquals(2L * perProcess, arena.raw().getLongVolatile(ptr));
        }
    }

    /**
     * A process killed while attached, with pages in its span cache: a long-running peer that
     * calls {@link SharedArena#reclaimDeadProcesses} gets them back and the dead slot freed, with
     * no new opener; the check then finds nothing left of it. Found by a kill probe of the server:
     * after a serve process was killed, check reported "dead process still registered" until some
     * process opened the file again.
     */
    @Test
    void aPeerReclaimsWhatAKilledProcessLeftWithoutANewOpener() throws Exception {
        final Path file = dir.resolve("reclaim.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            assertFalse(arena.reclaimDeadProcesses(1_000_000_000L), "nothing to reclaim");
            try (ChildJvm child = ChildProcess.start("ops", file.toString(), "alloc:1", "free:$0:1", "wait")) {
                child.await("waiting");
                child.kill9();
            }
            assertTrue(cachedPages(arena) > 0, "the dead process's span cache holds pages");
            assertTrue(io.sharena.core.check.ArenaChecker.check(arena).stream()
                .anyMatch(v -> v.startsWith("dead process still registered")));
            assertTrue(arena.reclaimDeadProcesses(1_000_000_000L));
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena));
            assertEquals(0, cachedPages(arena), "its cached pages are back in the free lists");
            assertFalse(arena.reclaimDeadProcesses(1_000_000_000L), "nothing left to reclaim");
        }
    }

    /** @return the pages in span caches (CACHED in the page table; the public state reads them FREE) */
    private static long cachedPages(final SharedArena arena) {
        long cached = 0;
        for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
            final long word = arena.raw().getLongAcquire((int) io.sharena.core.layout.PageEntry.stateOffset((int) p));
            cached += io.sharena.core.layout.PageEntry.stateOf(word) == io.sharena.core.layout.PageEntry.CACHED ? 1 : 0;
        }
        return cached;
    }

    @Test
    void fileTruncatedUnderAMappingGivesJavaExceptionsAndTheJvmSurvives() throws Exception {
        final Path file = dir.resolve("trunc.arena");
        SharedArena.create(file, Capacity.parse("1M"), ArenaOptions.defaults()).close();
        try (ChildJvm child = ChildProcess.start("fault", file.toString())) {
            child.await("ready");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(4096);
            }
            child.send("go");
            final int exit = child.waitFor(60);
            final String output = String.join("\n", child.output());
            assertEquals(0, exit, output);
            assertTrue(output.contains("alive"), output);
            assertTrue(output.contains("close -> IOException"), output);
            for (final String line : child.output()) {
                if (line.startsWith("fault ")) {
                    assertTrue(line.endsWith("-> InternalError"), line);
                }
            }
            assertEquals(11, child.output().stream().filter(l -> l.startsWith("fault ")).count(), output);
        }
    }
}
