package io.sharena.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A demo killed before its cleanup left its directory (a 64 MiB sparse arena and a store file) in
 * the temporary directory for good (a kill probe). The next demo removes such leftovers: a
 * directory of its own naming whose process is gone, unless a {@code --keep} run made it.
 */
class DemoLeftoversTest {
    @TempDir
    Path tmp;

    @Test
    void aDeadDemosDirectoryIsRemovedAndNothingElse() throws Exception {
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final Path dead = Files.createDirectory(tmp.resolve(DemoCommand.DIR_PREFIX + gone.pid() + "-123"));
        Files.writeString(dead.resolve("demo.arena"), "x");
        final Path live = Files.createDirectory(tmp.resolve(DemoCommand.DIR_PREFIX + ProcessHandle.current().pid() + "-456"));
        final Path kept = Files.createDirectory(tmp.resolve(DemoCommand.DIR_PREFIX + gone.pid() + "-789"));
        Files.createFile(kept.resolve(DemoCommand.KEPT_MARK));
        final Path other = Files.createDirectory(tmp.resolve("sharena-demo-notours"));

        DemoCommand.removeLeftovers(tmp);

        assertFalse(Files.exists(dead), "a dead demo's directory is removed");
        assertTrue(Files.exists(live), "a running demo's is not");
        assertTrue(Files.exists(kept), "nor one a --keep run made");
        assertTrue(Files.exists(other), "nor a name this command does not make");
    }
}
