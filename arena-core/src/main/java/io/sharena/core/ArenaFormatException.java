package io.sharena.core;

import java.io.IOException;

/**
 * A file is not a usable arena: not an arena at all, truncated, of a newer format, or corrupted.
 * {@link #field()} names the header field (or file property) that failed validation, one of
 * {@code fileSize}, {@code magic}, {@code formatVersion}, {@code pageSize}, {@code capacity},
 * {@code metaPages}, {@code flags}, {@code fixedAddress}, {@code checksum}.
 */
public final class ArenaFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public ArenaFormatException(final String field, final String message) {
        super(message);
        this.field = field;
    }

    /** @return the name of the field that failed validation */
    public String field() {
        return field;
    }
}
