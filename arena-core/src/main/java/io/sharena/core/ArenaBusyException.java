package io.sharena.core;

/**
 * A lock of a shared structure could not be had in time: a live process (or one stopped with
 * SIGSTOP, which counts as alive) held it past the timeout. Nothing was changed; the same call may
 * succeed later. A sibling of {@link ArenaFullException}: both are ordinary conditions of a
 * shared file, not bugs, so a tool reports them as such ({@code ./arena}: exit status 7, busy).
 *
 * <p>An {@link IllegalStateException}, as the calls that throw it documented before it had a
 * type of its own.
 */
public final class ArenaBusyException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** @param message what could not be locked, with {@code name=value} context */
    public ArenaBusyException(final String message) {
        super(message);
    }
}
