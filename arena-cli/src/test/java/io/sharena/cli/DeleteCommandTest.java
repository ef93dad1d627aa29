package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code arena delete}: exit status and messages, with a real child JVM holding the arena. */
class DeleteCommandTest extends CapturedStreams {
    @TempDir
    Path dir;

    /** The child: opens the arena, says so, and keeps it open until it reads a line or its stdin closes. */
    public static void main(final String[] args) throws Exception {
        try (SharedArena arena = SharedArena.open(Path.of(args[0]), ArenaOptions.defaults())) {
            System.out.println("holding slot=" + ArenaInternals.slot(arena));
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
    }

    @Test
    void refusedWithExit3NamingThePidThenForced() throws Exception {
        final Path file = dir.resolve("cli.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M"));
        try (ChildJvm child = ChildJvm.start(DeleteCommandTest.class, List.of(), file.toString())) {
            final String line = child.readLine();
            assertTrue(line != null && line.startsWith("holding "), "child: " + child.output());

            assertEquals(ArenaCli.EXIT_BUSY, ArenaCli.run("delete", file.toString()));
            assertEquals("arena: " + file + ": in use by live processes, pids " + child.pid()
                + "; not deleted (--force deletes it anyway)\n", err());
            assertTrue(Files.exists(file));

            assertEquals(0, ArenaCli.run("delete", file.toString(), "--force"));
            assertEquals("deleted " + file + " (forced; still open in pids " + child.pid() + ")\n",
                out().lines().reduce((a, b) -> b).orElse("") + "\n");
            assertFalse(Files.exists(file));

            child.send("release"); // any line: the holder closes its arena and exits
            assertEquals(0, child.waitFor(30), "the holder closed normally after the forced delete: " + child.output());
        }
    }

    @Test
    void notAnArenaAndMissingFileAreOneLineErrors() throws Exception {
        final Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello\n".repeat(2000));
        assertEquals(ArenaCli.EXIT_FORMAT, ArenaCli.run("delete", text.toString(), "--force"));
        assertTrue(err().startsWith("arena: not a valid arena: "),
            err());
        assertEquals(1, err().lines().count());
        assertTrue(Files.exists(text));
        resetErr();
        assertEquals(ArenaCli.EXIT_FILE, ArenaCli.run("delete", dir.resolve("missing.arena").toString()));
        assertEquals("arena: no such file: " + dir.resolve("missing.arena") + "\n", err());
    }
}
