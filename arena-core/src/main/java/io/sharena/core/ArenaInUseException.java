package io.sharena.core;

import java.nio.file.FileSystemException;
import java.util.List;

/**
 * {@link SharedArena#delete} refused: other live processes have the arena open. Names them.
 */
public final class ArenaInUseException extends FileSystemException {
    private static final long serialVersionUID = 1L;

    private final transient List<Long> pids;

    public ArenaInUseException(final String file, final List<Long> pids) {
        super(file, null, "arena in use by live processes: pids=" + pids + " (force deletes it anyway)");
        this.pids = List.copyOf(pids);
    }

    /** @return the pids of the live processes that have the arena open */
    public List<Long> pids() {
        return pids;
    }
}
