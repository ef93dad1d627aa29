package io.sharena.core.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A 4 GiB-aligned, 4 GiB-long window of this process's address space with a file mapped
 * {@code MAP_SHARED} at its start.
 *
 * <pre>
 *  window base (low 32 bits zero)                                   base + 4 GiB
 *  |&lt;----- file, MAP_SHARED|MAP_FIXED -----&gt;|&lt;---- PROT_NONE reservation ----&gt;|
 *  0                                   length                               2^32
 * </pre>
 *
 * <p>The window is first reserved {@code PROT_NONE} (8 GiB are asked for, and the unaligned head and
 * tail given back, so that an aligned 4 GiB window lies inside), then the file is mapped over its
 * start with {@code MAP_FIXED}, which atomically replaces that part of the reservation. Any 32-bit
 * offset from the base therefore lands inside memory this mapping owns: the file, or the
 * reservation, never another mapping of the process. The {@link #segment()} covers only the file
 * part, so Java code never touches the {@code PROT_NONE} part.
 *
 * <p>In fixed-address mode the window is reserved at a given address with
 * {@code MAP_FIXED_NOREPLACE}, which fails with {@code EEXIST} when anything is mapped there.
 *
 * <p>Closing closes the segment's shared {@link Arena} (so other threads' later accesses throw
 * {@link IllegalStateException}, not SIGSEGV) and then unmaps the whole window.
 */
public final class FileMapping implements AutoCloseable {
    /** The size and alignment of the window: the whole 32-bit pointer space. */
    public static final long WINDOW_SIZE = 1L << 32;

    private final long base;
    private final long length;
    private final Arena scope;
    private final MemorySegment segment;

    private FileMapping(final long base, final long length, final boolean writable) {
        this.base = base;
        this.length = length;
        this.scope = Arena.ofShared();
        final MemorySegment s = MemorySegment.ofAddress(base).reinterpret(length, scope, ignored -> unmapWindow(base));
        this.segment = writable ? s : s.asReadOnly();
    }

    /**
     * Maps {@code length} bytes of {@code fd} at the start of a fresh window.
     *
     * @param fixedAddress 0 for any 4 GiB-aligned window, otherwise the (4 GiB-aligned) window base
     *                     that must be used or the call fails with {@code errno=EEXIST}
     */
    public static FileMapping map(final int fd, final long length, final long fixedAddress, final boolean writable)
        throws OsException {
        if (length <= 0 || length > WINDOW_SIZE) {
            throw new IllegalArgumentException("mapping length out of range: length=" + length);
        }
        if ((fixedAddress & (WINDOW_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(
                "fixed address not 4 GiB-aligned: address=0x" + Long.toHexString(fixedAddress));
        }
        final long base = fixedAddress == 0 ? reserveAligned() : reserveAt(fixedAddress);
        try {
            final int prot = writable ? Posix.PROT_READ | Posix.PROT_WRITE : Posix.PROT_READ;
            final long at = Posix.mmap(base, length, prot, Posix.MAP_SHARED | Posix.MAP_FIXED, fd, 0);
            if (at != base) {
                throw new IllegalStateException("MAP_FIXED returned another address: wanted=0x"
                    + Long.toHexString(base) + ", got=0x" + Long.toHexString(at));
            }
            // Arena access is random by nature: without this, the first fault reads ahead
            // megabytes of zero-filled holes into the page cache.
            Posix.madvise(base, length, Posix.MADV_RANDOM);
        } catch (final OsException | RuntimeException e) {
            unmapWindow(base);
            throw e;
        }
        return new FileMapping(base, length, writable);
    }

    private static long reserveAligned() throws OsException {
        final long span = 2 * WINDOW_SIZE;
        final long raw = Posix.mmap(0, span, Posix.PROT_NONE,
            Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS | Posix.MAP_NORESERVE, -1, 0);
        final long start = (raw + WINDOW_SIZE - 1) & -WINDOW_SIZE;
        if (start > raw) {
            Posix.munmap(raw, start - raw);
        }
        final long tail = start + WINDOW_SIZE;
        final long rawEnd = raw + span;
        if (rawEnd > tail) {
            Posix.munmap(tail, rawEnd - tail);
        }
        return start;
    }

    private static long reserveAt(final long address) throws OsException {
        final long at = Posix.mmap(address, WINDOW_SIZE, Posix.PROT_NONE,
            Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS | Posix.MAP_NORESERVE | Posix.MAP_FIXED_NOREPLACE, -1, 0);
        if (at != address) {
            // A kernel older than 4.17 treats MAP_FIXED_NOREPLACE as a hint and maps elsewhere.
            Posix.munmap(at, WINDOW_SIZE);
            throw new OsException("mmap", Posix.EEXIST, "address=0x" + Long.toHexString(address)
                + " (the kernel placed the reservation elsewhere)");
        }
        return at;
    }

    private static void unmapWindow(final long base) {
        try {
            Posix.munmap(base, WINDOW_SIZE);
        } catch (final OsException e) {
            // munmap of a range we mapped can only fail with EINVAL, which would be a bug here;
            // the cleanup action of an Arena must not throw, so the address space is leaked.
            assert false : e.getMessage();
        }
    }

    /** @return the window's base address; its low 32 bits are zero */
    public long base() {
        return base;
    }

    /** @return the number of bytes of the file that are mapped */
    public long length() {
        return length;
    }

    /** @return the mapped file as a segment of {@link #length()} bytes (read-only if mapped so) */
    public MemorySegment segment() {
        return segment;
    }

    /** @return how many bytes of the mapping are resident in memory, from {@code mincore} */
    public long residentBytes(final int pageSize) throws OsException {
        final long pages = (length + pageSize - 1) / pageSize;
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment vector = arena.allocate(pages);
            Posix.mincore(base, length, vector);
            long resident = 0;
            for (long i = 0; i < pages; i++) {
                resident += vector.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 1;
            }
            return resident * pageSize;
        }
    }

    /** Closes the segment for every thread, then unmaps the window. Idempotent. */
    @Override
    public void close() {
        if (scope.scope().isAlive()) {
            try {
                scope.close();
            } catch (final IllegalStateException alreadyClosed) {
                // A concurrent close won the race; the window is unmapped once, by the winner.
            }
        }
    }
}
