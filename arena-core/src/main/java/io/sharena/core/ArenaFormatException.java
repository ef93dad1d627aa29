package io.sharena.core;

import java.io.IOException;

/**
 * A file is not a usable arena: not a regular file, not an arena at all, truncated, of another
 * format, or with both header copies corrupted. {@link #field()} names the header field (or file
 * property) that failed validation, one of {@code fileType} (a FIFO, socket, device, directory or
 * {@code /proc} entry), {@code fileSize}, {@code magic}, {@code formatVersion}, {@code pageSize},
 * {@code capacity}, {@code metaPages}, {@code flags}, {@code fixedAddress}, {@code checksum}.
 *
 * <p>The arena's error types: this one (the file failed validation when opened),
 * {@link ArenaFaultException} (an access faulted: a strict view on a page that is not allocated,
 * or a file cut short under the mapping) and {@link ArenaCorruptedException} (shared metadata
 * found corrupted during use). Besides these, the arena throws {@link java.io.IOException}s for
 * the file system ({@link java.nio.file.NoSuchFileException},
 * {@link java.nio.file.AccessDeniedException}, {@link java.nio.file.FileAlreadyExistsException},
 * system calls that fail), {@link IllegalArgumentException} for misuse and
 * {@link IllegalStateException} after close.
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
