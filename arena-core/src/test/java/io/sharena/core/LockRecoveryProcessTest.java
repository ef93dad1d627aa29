package io.sharena.core;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.lock.LockResult;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lock between real processes: killed, stopped and busy owners. */
class LockRecoveryProcessTest {
    @TempDir
    Path dir;

    private static long counter(final SharedArena arena, final int c) {
        return arena.raw().getLongVolatile((int) ControlLayout.counter(c));
    }

    @Test
    void ownerKilledWithTheLockIsRecoveredAndTheArenaRepaired() throws Exception {
        final Path file = dir.resolve("k.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults());
             ChildJvm child = ChildProcess.start("holdlock", file.toString())) {
            final int before = arena.allocPages(3);
            assertEquals("lock ACQUIRED", child.await("lock "));
            child.await("locked");
            assertEquals(0, arena.allocPages(3), "the child holds the lock");
            child.kill9();
            assertTrue(child.waitFor(30) != 0);
            final int p = arena.allocPages(3);
            assertTrue(p != 0, "allocation recovered the lock");
            assertEquals(before + 3 * 4096, p, "and placement is unchanged");
            assertEquals(1, counter(arena, ControlLayout.C_RECOVERIES));
            assertEquals(1, arena.registry().entries().size(), "the dead child's slot is released");
        }
    }

    @Test
    void anArenaWhoseSlotsAllHoldDeadProcessesCanStillBeOpenedAndRepaired() throws Exception {
        final Path file = dir.resolve("full.arena");
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            for (int slot = 0; slot < io.sharena.core.layout.RegistryLayout.SLOTS; slot++) {
                if (slot != arena.slot()) {
                    arena.registry().writeForTest(slot, gone.pid(), 1);
                }
            }
        }
        // The creator left and freed its slot: name a dead process there too, writing the file directly.
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
            java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            for (int slot = 0; slot < io.sharena.core.layout.RegistryLayout.SLOTS; slot++) {
                final long at = io.sharena.core.layout.RegistryLayout.field(slot, io.sharena.core.layout.RegistryLayout.OWNER);
                final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder());
                ch.read(b, at);
                if (io.sharena.core.layout.ProcessWord.isFree(b.getLong(0))) {
                    ch.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder())
                        .putLong(0, io.sharena.core.layout.ProcessWord.encode(gone.pid(), 1,
                            io.sharena.core.layout.ProcessWord.nextGeneration(
                                io.sharena.core.layout.ProcessWord.generation(b.getLong(0))))), at);
                }
            }
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertTrue(arena.slot() >= 0);
            assertTrue(arena.allocPages(3) != 0, "and the arena works");
            assertEquals(1, arena.registry().entries().size(), "the open repaired: dead slots released");
        }
    }

    @Test
    void stoppedOwnerKeepsTheLockFreesAreDeferredAndAppliedLater() throws Exception {
        final Path file = dir.resolve("s.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults());
             ChildJvm child = ChildProcess.start("holdlock", file.toString())) {
            final int p = arena.allocPages(5);
            child.await("locked");
            child.stop();
            try {
                assertEquals(LockResult.TIMEOUT, arena.lock().lock(TimeUnit.MILLISECONDS.toNanos(100)),
                    "a stopped process is alive: nothing is stolen");
                final long start = System.nanoTime();
                assertEquals(0, arena.allocPages(7));
                assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1), "allocation fails fast");
                arena.freePages(p, 5);
                assertEquals(PageEntry.PENDING, arena.pageStateCode(p >>> 12));
                assertEquals(1, counter(arena, ControlLayout.C_DEFERRED_FREES));
            } finally {
                child.cont();
            }
            child.send("release");
            child.await("released");
            assertEquals(0, child.waitFor(30));
            assertEquals(p, arena.allocPages(5), "the deferred free was applied by the next holder");
            assertEquals(0, counter(arena, ControlLayout.C_RECOVERIES));
        }
    }
}
