package io.sharena.core.alloc;

import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.os.NativeFile;
import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;

/**
 * The arena file's storage for user pages: committed when pages are handed out, punched out when
 * they come back, so a full file system fails an allocation instead of raising SIGBUS later, and
 * freed memory really returns to the operating system in every process at once.
 */
final class Backing {
    private static final long BYTES_RETURNED = ControlLayout.counter(ControlLayout.C_BYTES_RETURNED);

    private final NativeFile file;
    private final PageTable table;

    Backing(final NativeFile file, final PageTable table) {
        this.file = file;
        this.table = table;
    }

    /**
     * Makes the pages read zero before they are handed out from the lists: they were punched out
     * when freed, but a raw-view write while they were FREE brings storage (and data) back. One
     * {@code lseek(SEEK_DATA)} proves the range clean (a hole) in the common case; only a range that
     * holds data is punched again, which costs more (the kernel unmaps it from every process).
     *
     * @return whether storage for the pages could then be allocated ({@code fallocate})
     */
    boolean cleanAndCommit(final int first, final int n) {
        final long offset = PageTable.byteOffset(first);
        final long length = Geometry.pageBytes(n);
        boolean dirty;
        try {
            final long data = Posix.lseek(file.fd(), offset, Posix.SEEK_DATA);
            dirty = data >= 0 && data < offset + length;
        } catch (final OsException e) {
            dirty = true; // no SEEK_DATA here: assume the worst
        }
        if (dirty) {
            try {
                file.punchHole(offset, length);
            } catch (final OsException e) {
                table.arena.asSlice(offset, length).fill((byte) 0);
            }
        }
        return commit(first, n);
    }

    /** @return whether storage for the pages could be allocated ({@code fallocate}) */
    boolean commit(final int first, final int n) {
        try {
            file.allocate(PageTable.byteOffset(first), Geometry.pageBytes(n));
            return true;
        } catch (final OsException e) {
            // ENOSPC (or EDQUOT, EFBIG): the allocation fails instead of a later SIGBUS.
            return false;
        }
    }

    /**
     * Zeroes dirty pages before they are handed out again: their storage is committed, so a store of
     * zeros is all it takes (a {@code memset} of 64 KiB costs about a microsecond here, where
     * {@code fallocate} and a punch cost tens).
     */
    void zero(final int first, final int n) {
        table.arena.asSlice(PageTable.byteOffset(first), Geometry.pageBytes(n)).fill((byte) 0);
    }

    /** Punches the pages out of the file: they read as zeros everywhere and cost nothing. */
    void release(final int first, final int n) {
        if (!table.userSpan(first, n)) {
            // Never punch outside the user pages, whatever the caller read from shared memory.
            table.corrupt();
            return;
        }
        try {
            file.punchHole(PageTable.byteOffset(first), Geometry.pageBytes(n));
            table.getAndAddLong(BYTES_RETURNED, Geometry.pageBytes(n));
        } catch (final OsException e) {
            // A file system without hole punching keeps the storage; the pages still read as the
            // caller left them, so zero them by hand to keep "handed-out pages read as zeros".
            table.arena.asSlice(PageTable.byteOffset(first), Geometry.pageBytes(n)).fill((byte) 0);
        }
    }
}
