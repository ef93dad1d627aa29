package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code arena create}: {@code --replace} replaces only an arena file no live process holds (a
 * real child JVM holds one); anything else at the path is refused and left as it was; a full file
 * system is a one-line error that leaves no file.
 */
class CreateCommandTest extends CapturedStreams {
    @TempDir
    Path dir;

    private static long arenaId(final Path file) throws Exception {
        try (SharedArena a = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            return a.arenaId();
        }
    }

    private List<String> files() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFileThatIsNotAnArenaIsNeverReplaced() throws Exception {
        final Path text = dir.resolve("notes.txt");
        Files.writeString(text, "my notes\n");
        final String refused = "arena: " + text + ": exists and is not an arena file: not replaced (not a valid arena:"
            + " not an arena or truncated: fileSize=9 is less than one header page (4096 bytes))\n";
        for (final String[] args : new String[][] {{"create", text.toString(), "--size", "64M"},
            {"create", text.toString(), "--size", "64M", "--replace"}}) {
            resetErr();
            assertEquals(ArenaCli.EXIT_FILE, ArenaCli.run(args), err());
            assertEquals(refused, err());
            assertEquals("my notes\n", Files.readString(text));
        }
        final Path sub = dir.resolve("sub");
        Files.createDirectory(sub);
        resetErr();
        assertEquals(ArenaCli.EXIT_FILE, ArenaCli.run("create", sub.toString(), "--size", "1M", "--replace"));
        assertEquals("arena: " + sub + ": exists and is not an arena file: not replaced (not a valid arena: not a"
            + " regular file: type=directory, path=" + sub + " (an arena is a regular file))\n", err());
        assertTrue(Files.isDirectory(sub));
        final Path link = dir.resolve("link.arena");
        Files.createSymbolicLink(link, text);
        resetErr();
        assertEquals(ArenaCli.EXIT_FILE, ArenaCli.run("create", link.toString(), "--size", "1M", "--replace"));
        assertTrue(err().startsWith("arena: " + link + ": exists and is not an arena file: not replaced ("), err());
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("my notes\n", Files.readString(text));
        assertEquals(List.of("link.arena", "notes.txt", "sub"), files(), "no temporary file left");
    }

    @Test
    void anArenaIsReplacedOnlyWithReplaceAndWhenNoLiveProcessHoldsIt() throws Exception {
        final Path file = dir.resolve("a.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M"));
        final long first = arenaId(file);
        resetErr();
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("create", file.toString(), "--size", "1M"));
        assertEquals("arena: arena file already exists: path=" + file + " (use the replace option, --replace on the"
            + " command line)\n", err());
        try (ChildJvm holder = ChildJvm.start(DeleteCommandTest.class, List.of(), file.toString())) {
            final String line = holder.readLine();
            assertTrue(line != null && line.startsWith("holding "), "holder: " + holder.output());
            resetErr();
            assertEquals(ArenaCli.EXIT_BUSY, ArenaCli.run("create", file.toString(), "--size", "2M", "--replace"));
            assertEquals("arena: " + file + ": arena in use by live processes: pids=[" + holder.pid() + "] not replaced"
                + " (stop them first)\n", err());
            assertEquals(first, arenaId(file), "the held arena is the same file");
            assertEquals(1 << 20, Files.size(file));
            holder.send("release");
            assertEquals(0, holder.waitFor(30), holder.output().toString());
        }
        resetOut();
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "2M", "--replace"), err());
        assertTrue(out().startsWith("created " + file + ": 512 pages"), out());
        assertTrue(first != arenaId(file));
        assertEquals(List.of("a.arena"), files(), "no temporary file left");
    }

    /**
     * On a full file system (a 64 KiB tmpfs of its own, filled: needs root, as in CI) the metadata's storage
     * is committed before it is written: ENOSPC, one line, exit 3, no file left (it was a SIGBUS on
     * the new mapping, reported as a file cut short, and the file stayed).
     */
    @Test
    void aFullFileSystemIsOneLineAndLeavesNoFile() throws Exception {
        final Path mount = Files.createDirectory(dir.resolve("small"));
        final Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount.toString())
            .redirectErrorStream(true).start();
        final String said = new String(p.getInputStream().readAllBytes()).trim();
        Assumptions.assumeTrue(p.waitFor() == 0, "cannot mount a small tmpfs here (needs root): " + said);
        try {
            final Path filler = mount.resolve("filler");
            try (java.io.OutputStream out = Files.newOutputStream(filler)) {
                while (true) {
                    out.write(new byte[4096]);
                    out.flush();
                }
            } catch (final java.io.IOException full) {
                // No space left on device: the file system is full.
            }
            for (final String[] extra : new String[][] {{}, {"--replace"}}) {
                final Path file = mount.resolve("a.arena");
                final String[] args = Stream.concat(Stream.of("create", file.toString(), "--size", "64M"),
                    Stream.of(extra)).toArray(String[]::new);
                resetErr();
                assertEquals(ArenaCli.EXIT_FILE, ArenaCli.run(args), err());
                assertTrue(err().startsWith("arena: cannot commit storage for the new arena's metadata: bytes=278528,"
                    + " path=" + file + ": fallocate failed: errno=28 (No space left on device)"), err());
                assertEquals(1, err().lines().count(), err());
                assertFalse(err().contains("cut short"), err());
                try (Stream<Path> left = Files.list(mount)) {
                    assertEquals(List.of(filler), left.toList(), "nothing left on the full file system");
                }
            }
        } finally {
            // Lazy: a mapping left open (the old failure) must not keep the mount, nor fail the cleanup.
            new ProcessBuilder("umount", "-l", mount.toString()).start().waitFor();
        }
    }
}
