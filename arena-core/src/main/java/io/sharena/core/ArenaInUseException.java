package io.sharena.core;

import java.nio.file.FileSystemException;
import java.util.List;

/**
 * {@link SharedArena#delete}, a {@link SharedArena#create} that replaces a file, or a tool that needs
 * the file to itself, refused: other live processes have the arena open. Names them.
 */
public final class ArenaInUseException extends FileSystemException {
    private static final long serialVersionUID = 1L;

    private final transient List<Long> pids;

    public ArenaInUseException(final String file, final List<Long> pids) {
        this(file, pids, "(force deletes it anyway)");
    }

    /**
     * @param file    the arena file
     * @param pids    the live processes that have it open
     * @param outcome what was refused and what to do, after the pids: "not replaced (stop them first)"
     */
    public ArenaInUseException(final String file, final List<Long> pids, final String outcome) {
        super(file, null, "arena in use by live processes: pids=" + pids + " " + outcome);
        this.pids = List.copyOf(pids);
    }

    /** @return the pids of the live processes that have the arena open */
    public List<Long> pids() {
        return pids;
    }
}
