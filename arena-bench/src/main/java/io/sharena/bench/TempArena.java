package io.sharena.bench;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A benchmark's arena in a temporary directory of its own; closing it deletes both. */
final class TempArena implements AutoCloseable {
    private final Path dir;
    private final Path file;
    private final SharedArena arena;

    private TempArena(final Path dir, final Path file, final SharedArena arena) {
        this.dir = dir;
        this.file = file;
        this.arena = arena;
    }

    /** Creates {@code name} of {@code size} in a fresh directory under {@code java.io.tmpdir}. */
    static TempArena create(final String name, final String size) throws IOException {
        final Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "sharena-bench-");
        final Path file = dir.resolve(name);
        try {
            return new TempArena(dir, file, SharedArena.create(file, Capacity.parse(size),
                ArenaOptions.defaults().withReplace(true)));
        } catch (final IOException | RuntimeException e) {
            Files.deleteIfExists(dir);
            throw e;
        }
    }

    SharedArena arena() {
        return arena;
    }

    Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        try {
            arena.close();
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
