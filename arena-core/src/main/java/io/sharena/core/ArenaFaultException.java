package io.sharena.core;

import io.sharena.core.layout.PageEntry;

import java.nio.file.Path;

/**
 * An access faulted, in one of two ways, each a one-line message:
 * <ul>
 *   <li>the strict view touched a page that is not ALLOCATED (the {@code BPF_F_SEGV_ON_FAULT}
 *       analogue, as a Java exception); {@link #pointer()} is the arena pointer;</li>
 *   <li>the arena file is shorter than its mapping (another process cut it short) and a call
 *       touched, or was about to touch, the lost range; {@link #fileSize()} is the file's size when
 *       it was noticed, and the message says {@code check --repair} restores it. HotSpot reports
 *       the SIGBUS of such an access as an {@link InternalError}; the arena's entry points turn it
 *       into this exception (the original is the cause).</li>
 * </ul>
 */
public final class ArenaFaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int pointer;
    private final long fileSize;

    ArenaFaultException(final int pointer, final long length, final int state) {
        super("access to a page that is not allocated: ptr=" + ArenaPointers.toHex(pointer) + ", length=" + length
            + ", state=" + (state < 0 ? "OUT_OF_RANGE" : state == PageEntry.CACHED
                // As pageState reports it, with where it lies.
                ? "FREE (in a process's span cache)" : PageEntry.stateName(state)));
        this.pointer = pointer;
        this.fileSize = -1;
    }

    /**
     * A fault on the mapping of a file that does not cover its capacity any more.
     *
     * @param file          the arena file
     * @param fileSize      its size when the fault was noticed, -1 if it could not be read
     * @param capacityBytes the arena's capacity (the mapping's length)
     * @param operation     the call that faulted, e.g. {@code "allocPages"}
     * @param cause         the JVM's report of the fault, or {@code null} when it was noticed before touching memory
     */
    public ArenaFaultException(final Path file, final long fileSize, final long capacityBytes, final String operation,
                               final Throwable cause) {
        super(operation + ": " + describe(fileSize, capacityBytes) + ": path=" + file, cause);
        this.pointer = 0;
        this.fileSize = fileSize;
    }

    private static String describe(final long fileSize, final long capacityBytes) {
        if (fileSize < 0) {
            return "fault on the arena mapping; file size unknown, capacity " + capacityBytes;
        }
        if (fileSize < capacityBytes) {
            return "file is " + fileSize + " bytes, capacity " + capacityBytes
                + ": truncated while mapped (check --repair restores the size)";
        }
        return "fault on the arena mapping although file is " + fileSize + " bytes, capacity " + capacityBytes
            + " (storage full, or the file was cut short and restored meanwhile)";
    }

    /**
     * The JVM's report of a fault on {@code arena}'s mapping (an {@link InternalError} raised by a
     * direct access, through a view or a segment, to a page the file no longer has) as this
     * exception, naming the file and its size: for code that reads the mapping outside the
     * arena's own entry points, such as a server that meets the cut in a store read.
     *
     * @param operation what faulted, for the message
     * @throws InternalError {@code e} itself, if it is not a fault on a mapping
     */
    public static ArenaFaultException of(final SharedArena arena, final String operation, final InternalError e) {
        return arena.fault(operation, e);
    }

    /** @return whether {@code e} is HotSpot's report of a fault (SIGBUS) on a mapped-memory access */
    static boolean isMappingFault(final InternalError e) {
        final String m = e.getMessage();
        return m != null && m.contains("unsafe memory access");
    }

    /** @return the arena pointer of the faulting access; 0 for a fault on a file cut short */
    public int pointer() {
        return pointer;
    }

    /** @return the file's size when a fault on a file cut short was noticed; -1 for a strict-view fault or if unknown */
    public long fileSize() {
        return fileSize;
    }
}
