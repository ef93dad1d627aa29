package io.sharena.core;

import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Deleting an arena: refused while other live processes hold it, naming them; forced; not an arena. */
class DeleteTest {
    @TempDir
    Path dir;

    @Test
    void anArenaNobodyHoldsIsDeleted() throws Exception {
        final Path file = dir.resolve("free.arena");
        SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults()).close();
        assertEquals(List.of(), SharedArena.delete(file, false));
        assertFalse(Files.exists(file));
        assertThrows(NoSuchFileException.class, () -> SharedArena.delete(file, false));
    }

    @Test
    void thisProcessHoldingItDoesNotBlockIt() throws Exception {
        final Path file = dir.resolve("self.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults())) {
            assertEquals(List.of(), SharedArena.delete(file, false));
            assertFalse(Files.exists(file));
            final int p = arena.allocPages(1);
            assertTrue(p != 0, "the mapping lives on after the unlink");
            arena.raw().putLong(p, 5);
            assertEquals(5, arena.raw().getLong(p));
        }
    }

    @Test
    void refusedWhileAChildJvmHoldsItNamingItsPidAndForceDeletesAnyway() throws Exception {
        final Path file = dir.resolve("held.arena");
        SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults()).close();
        try (ChildJvm child = LockChild.start(List.of(), "open", file.toString())) {
            child.await("open ");
            final long pid = child.pid();
            final ArenaInUseException e = assertThrows(ArenaInUseException.class, () -> SharedArena.delete(file, false));
            assertEquals(List.of(pid), e.pids());
            assertEquals(file + ": arena in use by live processes: pids=[" + pid + "] (force deletes it anyway)",
                e.getMessage());
            assertTrue(Files.exists(file), "nothing was deleted");

            assertEquals(List.of(pid), SharedArena.delete(file, true));
            assertFalse(Files.exists(file));
            // The holder keeps its mapping and closes normally.
            child.send("close");
            child.await("closed");
            assertEquals(0, child.waitFor(30), String.join("\n", child.output()));
        }
    }

    @Test
    void aDeadHolderDoesNotBlockIt() throws Exception {
        final Path file = dir.resolve("dead.arena");
        SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults()).close();
        try (ChildJvm child = LockChild.start(List.of(), "open", file.toString())) {
            child.await("open ");
            child.kill9();
            assertTrue(child.waitFor(30) != 0);
        }
        assertEquals(List.of(), SharedArena.delete(file, false), "a killed process holds nothing");
        assertFalse(Files.exists(file));
    }

    @Test
    void aFileThatIsNotAnArenaIsNeverDeleted() throws Exception {
        final Path file = dir.resolve("notes.txt");
        Files.writeString(file, "not an arena\n".repeat(1000));
        for (final boolean force : new boolean[] {false, true}) {
            final ArenaFormatException e = assertThrows(ArenaFormatException.class, () -> SharedArena.delete(file, force));
            assertEquals("magic", e.field());
            assertTrue(Files.exists(file));
        }
        assertThrows(IllegalArgumentException.class, () -> SharedArena.delete(null, true));
        final Path link = dir.resolve("link.arena");
        final Path target = dir.resolve("target.arena");
        SharedArena.create(target, Capacity.ofPages(64), ArenaOptions.defaults()).close();
        Files.createSymbolicLink(link, target);
        assertThrows(java.nio.file.AccessDeniedException.class, () -> SharedArena.delete(link, true));
        assertTrue(Files.exists(target) && Files.isSymbolicLink(link));
    }
}
