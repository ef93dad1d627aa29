package io.sharena.core;

import java.nio.file.Path;

/**
 * The arena's error messages, built in one place: each factory makes the exception for one kind of
 * failure, with the house shape {@code "what went wrong: name=value, name=value (what to do)"}.
 * Called on failure paths only, so building the message costs nothing on the paths that succeed.
 */
final class Errors {
    private Errors() {
    }

    // ---------------------------------------------------------------- misuse

    /** A required argument was null: "arena path must not be null: path=null". */
    static IllegalArgumentException nullArgument(final String what, final Path path) {
        return new IllegalArgumentException(what + " must not be null: path=" + path);
    }

    /** A call that writes (allocation, locks, repair) on an attachment opened read-only. */
    static IllegalStateException readOnly(final Path path) {
        return new IllegalStateException("arena opened read-only: path=" + path);
    }

    /** A capacity out of range: "capacity must be positive: pages=0". */
    static IllegalArgumentException badCapacity(final String problem, final String context) {
        return new IllegalArgumentException("capacity " + problem + ": " + context);
    }

    /** A size that does not parse: "not a size: size=12Q (examples: ...)". */
    static IllegalArgumentException notASize(final String text) {
        return new IllegalArgumentException("not a size: size=" + text + " (examples: 4096, 64K, 64M, 4G, 100p)");
    }

    /** {@code create} without the replace option on a path that holds an arena file. */
    static IllegalArgumentException alreadyExists(final Path path) {
        return new IllegalArgumentException("arena file already exists: path=" + path
            + " (use the replace option, --replace on the command line)");
    }

    /**
     * {@code create} (replacing or not) on a path that holds something other than a valid arena
     * file, which it never replaces: "PATH: exists and is not an arena file: not replaced (why)".
     */
    static java.nio.file.FileAlreadyExistsException notAnArenaFile(final Path path, final java.io.IOException why) {
        final java.nio.file.FileAlreadyExistsException e = new java.nio.file.FileAlreadyExistsException(path.toString(),
            null, "exists and is not an arena file: not replaced (" + (why instanceof ArenaFormatException f
            ? "not a valid arena: " + f.getMessage() : why.getMessage()) + ")");
        e.addSuppressed(why);
        return e;
    }

    /** A lock word that {@code lockAt} refuses: misaligned, outside the user pages, or not ALLOCATED. */
    static IllegalArgumentException badLockWord(final String problem, final int ptr, final String context) {
        return new IllegalArgumentException(problem + ": ptr=0x" + Integer.toHexString(ptr) + ", " + context);
    }

    // ---------------------------------------------------------------- the file

    /** A header field, or a property of the file, that failed validation: {@link ArenaFormatException#field()}. */
    static ArenaFormatException badField(final String field, final String problem, final String context) {
        return new ArenaFormatException(field, problem + ": " + context);
    }

    /** "file is N bytes, capacity M": how a file's size and its arena's capacity disagree. */
    static String sizeMismatch(final long fileSize, final long capacityBytes) {
        return "file is " + fileSize + " bytes, capacity " + capacityBytes;
    }

    /** The file is shorter than its capacity: refused at open. */
    static ArenaFormatException truncated(final long fileSize, final long capacityBytes) {
        return new ArenaFormatException("fileSize", "arena file truncated: " + sizeMismatch(fileSize, capacityBytes)
            + " (check --repair restores the size; what was past the end is lost)");
    }

    /** A FIFO, socket, device, directory or {@code /proc} entry where an arena file was expected. */
    static ArenaFormatException notRegular(final Path path, final String type) {
        return badField("fileType", "not a regular file", "type=" + type + ", path=" + path
            + " (an arena is a regular file)");
    }
}
