package io.sharena.core;

/**
 * The arena has no room for a shared structure a call must make (the named-roots directory, a
 * channel, a store region), or the structure itself is full (every root entry taken). Nothing was
 * changed. A sibling of {@link ArenaBusyException}: an ordinary condition of a file too small for
 * what is asked of it, which a tool reports as such ({@code ./arena}: exit status 8, full).
 *
 * <p>An {@link IllegalStateException}, as the calls that throw it documented before it had a
 * type of its own.
 */
public final class ArenaFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** @param message what found no room, with {@code name=value} context */
    public ArenaFullException(final String message) {
        super(message);
    }
}
