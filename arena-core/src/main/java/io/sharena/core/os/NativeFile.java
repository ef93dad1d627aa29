package io.sharena.core.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * An open file descriptor, opened with {@code O_NOFOLLOW} (a symlink is refused by the kernel,
 * {@code errno=ELOOP}), {@code O_CLOEXEC} (child processes do not inherit it) and, when opening an
 * existing file, {@code O_NONBLOCK}: opening a FIFO without a writer (or a tty, or some devices)
 * would otherwise wait for ever, before anyone could look at what the file is. On a regular file
 * {@code O_NONBLOCK} changes nothing, so it is left set.
 */
public final class NativeFile implements AutoCloseable {
    private final Path path;
    private final int fd;
    private boolean closed;

    private NativeFile(final Path path, final int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Opens an existing file, read-write or read-only. */
    public static NativeFile open(final Path path, final boolean writable) throws OsException {
        final int flags = (writable ? Posix.O_RDWR : Posix.O_RDONLY) | Posix.O_NOFOLLOW | Posix.O_CLOEXEC
            | Posix.O_NONBLOCK;
        return new NativeFile(path, Posix.open(path.toString(), flags, 0));
    }

    /** Creates a new file that must not exist yet ({@code O_EXCL}), with the given mode. */
    public static NativeFile createNew(final Path path, final int mode) throws OsException {
        final int flags = Posix.O_RDWR | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW | Posix.O_CLOEXEC;
        return new NativeFile(path, Posix.open(path.toString(), flags, mode));
    }

    public Path path() {
        return path;
    }

    public int fd() {
        return fd;
    }

    /** @return the file's size, asked of the descriptor itself (not of the path, which may have changed) */
    public long size() throws OsException {
        return Posix.fstat(fd).size();
    }

    /** @return {@code fstat} of the descriptor */
    public Posix.Stat stat() throws OsException {
        return Posix.fstat(fd);
    }

    /**
     * @return what the open file is, when it is not a plain regular file that can hold an arena
     * ("FIFO", "directory", "proc file system entry", ...), or {@code null} when it is one
     */
    public String irregularType() throws OsException {
        final String type = FileTypes.describe(Posix.fstat(fd).type());
        if (type != null) {
            return type;
        }
        return FileTypes.pseudoFileSystem(Posix.fstatfsType(fd));
    }

    /** Writes {@code bytes} at {@code offset}. */
    public void write(final long offset, final byte[] bytes) throws OsException {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment buffer = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, 0, bytes.length);
            Posix.pwrite(fd, buffer, offset);
        }
    }

    /** Sets the size; growing makes a hole, which costs no disk. */
    public void truncate(final long length) throws OsException {
        Posix.ftruncate(fd, length);
    }

    public void sync() throws OsException {
        Posix.fsync(fd);
    }

    /** Reads {@code length} bytes at {@code offset}; fewer if the file ends first. */
    public byte[] read(final long offset, final int length) throws OsException {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment buffer = arena.allocate(length);
            final long n = Posix.pread(fd, buffer, offset);
            return buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * @return the bytes of the file that hold data (not holes), found with
     * {@code SEEK_DATA}/{@code SEEK_HOLE}: what a sparse file really costs on disk, to the
     * file system's block granularity
     */
    public long dataBytes() throws OsException {
        final long[] total = {0};
        dataRanges((from, to) -> total[0] += to - from);
        return total[0];
    }

    /** Receives one range of a file's bytes that holds data, {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeSink {
        void range(long from, long to);
    }

    /**
     * Hands every range of the file that holds data (not a hole) to {@code sink}, in order, found
     * with {@code SEEK_DATA}/{@code SEEK_HOLE} (to the file system's block granularity; a range
     * the file system allocated ahead may count as data).
     */
    public void dataRanges(final RangeSink sink) throws OsException {
        final long size = size();
        long at = 0;
        while (at < size) {
            final long data = Posix.lseek(fd, at, Posix.SEEK_DATA);
            if (data < 0) {
                break;
            }
            long hole = Posix.lseek(fd, data, Posix.SEEK_HOLE);
            if (hole < 0) {
                hole = size;
            }
            sink.range(data, hole);
            at = hole;
        }
    }

    /** Allocates backing store for the range so that later writes cannot fail for lack of space. */
    public void allocate(final long offset, final long length) throws OsException {
        Posix.fallocate(fd, Posix.FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /** Gives the range's backing store back; it reads as zeros afterwards. */
    public void punchHole(final long offset, final long length) throws OsException {
        Posix.fallocate(fd, Posix.FALLOC_FL_PUNCH_HOLE | Posix.FALLOC_FL_KEEP_SIZE, offset, length);
    }

    @Override
    public void close() throws OsException {
        if (!closed) {
            closed = true;
            Posix.close(fd);
        }
    }
}
