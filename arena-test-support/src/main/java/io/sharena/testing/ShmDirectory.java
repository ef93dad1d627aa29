package io.sharena.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A directory for a damage fuzz's case files: in {@code /dev/shm} when there is one (tmpfs, where
 * arenas usually live: thousands of copies of a template stay off the disk), else the test's own
 * temporary directory. {@link #close()} deletes it and what it holds, unless it is that fallback,
 * which JUnit deletes itself.
 */
public final class ShmDirectory implements AutoCloseable {
    private final Path dir;
    private final Path fallback;

    private ShmDirectory(final Path dir, final Path fallback) {
        this.dir = dir;
        this.fallback = fallback;
    }

    /**
     * @param fallback the directory to use when {@code /dev/shm} is missing or not writable
     * @param prefix   the start of the new directory's name
     */
    public static ShmDirectory create(final Path fallback, final String prefix) throws IOException {
        final Path shm = Path.of("/dev/shm");
        return new ShmDirectory(Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, prefix)
            : fallback, fallback);
    }

    /** @return the directory */
    public Path path() {
        return dir;
    }

    @Override
    public void close() throws IOException {
        if (!dir.equals(fallback)) {
            try (var files = Files.list(dir)) {
                for (final Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
