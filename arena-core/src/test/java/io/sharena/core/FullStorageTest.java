package io.sharena.core;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A full file system turns into failed allocations, never a later SIGBUS. Mounts a 1 MiB tmpfs of
 * its own (needs root, as in CI; skipped with the reason otherwise) and fills a 64 MiB sparse arena
 * on it.
 */
class FullStorageTest {
    @TempDir
    Path dir;
    boolean mounted;

    @BeforeEach
    void mount() throws Exception {
        final Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.toString())
            .redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes());
        mounted = p.waitFor() == 0;
        Assumptions.assumeTrue(mounted, "cannot mount a small tmpfs here (needs root): " + out.trim());
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", dir.toString()).start().waitFor();
        }
    }

    @Test
    void fullTmpfsFailsAllocationInsteadOfSigbus() throws Exception {
        try (SharedArena arena = SharedArena.create(dir.resolve("full.arena"), Capacity.parse("64M"),
            ArenaOptions.defaults())) {
            int pages = 0;
            int ptr;
            while ((ptr = arena.allocPages(3)) != 0) {
                // Every page handed out is backed: writing all of it must not SIGBUS.
                for (int i = 0; i < 3; i++) {
                    arena.raw().fill(ptr + i * 4096, 4096, (byte) 0x5A);
                }
                pages += 3;
            }
            assertTrue(pages > 0 && pages < 256, "a 1 MiB file system holds fewer than 256 pages: pages=" + pages);
            final int single = arena.allocPages(1);
            if (single != 0) {
                arena.raw().fill(single, 4096, (byte) 1);
            }
            // Freeing gives the storage back, and allocation works again.
            final int first = (int) (arena.firstUserPage() * 4096);
            arena.freePages(first, 3);
            final int again = arena.allocPages(3);
            assertEquals(first, again);
            arena.raw().fill(again, 3 * 4096, (byte) 2);
        }
    }
}
