package io.sharena.core.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.function.Supplier;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The system calls sharena makes, as FFM downcalls. This is the only class in the project that
 * looks up native symbols; the arena goes through {@link FileMapping} and {@link NativeFile} (only
 * the benchmarks' mmap baselines call it directly).
 *
 * <p>Every call captures {@code errno} and turns a failure into an {@link OsException}. Pointers
 * and sizes are passed as {@code long} (LP64: {@code void*}, {@code size_t} and {@code off_t} are
 * all 64-bit integers in the calling convention). Constants are Linux's generic values, which
 * x86_64 and aarch64 share, except {@code O_NOFOLLOW}, which differs and is chosen by architecture.
 */
public final class Posix {
    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;

    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_FIXED_NOREPLACE = 0x100000;

    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_EXCL = 0x80;
    public static final int O_CLOEXEC = 0x80000;
    /** Open without waiting: a FIFO with no writer, a tty without carrier, and so on. */
    public static final int O_NONBLOCK = 0x800;
    public static final int O_NOFOLLOW = isAarch64() ? 0x8000 : 0x20000;

    public static final int SEEK_SET = 0;
    public static final int SEEK_END = 2;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    public static final int MADV_RANDOM = 1;
    public static final int MADV_HUGEPAGE = 14;

    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    public static final int SIGKILL = 9;
    public static final int SIGSTOP = 19;

    public static final int EEXIST = 17;
    public static final int ENXIO = 6;
    public static final int ELOOP = 40;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EACCES = 13;
    public static final int EPERM = 1;
    public static final int EISDIR = 21;
    public static final int ENODEV = 19;
    public static final int EAGAIN = 11;

    /** {@code st_mode} file type bits ({@code S_IFMT}) and their values. */
    public static final int S_IFMT = 0xF000;
    public static final int S_IFSOCK = 0xC000;
    public static final int S_IFLNK = 0xA000;
    public static final int S_IFREG = 0x8000;
    public static final int S_IFBLK = 0x6000;
    public static final int S_IFDIR = 0x4000;
    public static final int S_IFCHR = 0x2000;
    public static final int S_IFIFO = 0x1000;

    /**
     * {@code struct stat} offsets. x86_64 has its own layout ({@code st_nlink} is 64-bit and comes
     * before {@code st_mode}); aarch64 uses the generic one. {@code st_size} is at 48 on both.
     */
    private static final long ST_MODE = isAarch64() ? 16 : 24;
    private static final long ST_UID = isAarch64() ? 24 : 28;
    private static final long ST_SIZE = 48;
    /** Larger than {@code sizeof(struct stat)} on both (144 and 128 bytes). */
    private static final long STAT_BYTES = 256;
    /** {@code struct statfs}: {@code f_type} is the first word, a long on both 64-bit layouts. */
    private static final long STATFS_BYTES = 256;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(groupElement("errno"));

    private static final MethodHandle OPEN = errnoCall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = errnoCall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FTRUNCATE = errnoCall("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FSYNC = errnoCall("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle LSEEK = errnoCall("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PREAD = errnoCall("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = errnoCall("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MMAP = errnoCall("mmap", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = errnoCall("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MADVISE = errnoCall("madvise", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MINCORE = errnoCall("mincore", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS));
    private static final MethodHandle FALLOCATE = errnoCall("fallocate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FSTAT = fstatHandle();
    private static final MethodHandle FSTATFS = errnoCall("fstatfs", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle RAISE = errnoCall("raise", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
        LINKER.defaultLookup().findOrThrow("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    /** Each thread's errno capture buffer, so that calls on hot paths allocate nothing. */
    private static final ThreadLocal<MemorySegment> CAPTURE = ThreadLocal.withInitial(
        () -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private Posix() {
    }

    private static boolean isAarch64() {
        final String arch = System.getProperty("os.arch", "");
        return arch.equals("aarch64") || arch.equals("arm64");
    }

    private static MethodHandle errnoCall(final String name, final FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow(name), descriptor, Linker.Option.captureCallState("errno"));
    }

    /**
     * {@code fstat} is an exported symbol from glibc 2.33 on; older glibc exports only
     * {@code __fxstat(ver, fd, buf)}, whose {@code _STAT_VER} is 1 on x86_64 and 0 on aarch64.
     */
    private static MethodHandle fstatHandle() {
        final FunctionDescriptor plain = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        if (LINKER.defaultLookup().find("fstat").isPresent()) {
            return errnoCall("fstat", plain);
        }
        final MethodHandle versioned = errnoCall("__fxstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        // Arguments: (capture state, ver, fd, buf); bind ver.
        return java.lang.invoke.MethodHandles.insertArguments(versioned, 1, isAarch64() ? 0 : 1);
    }

    /** What {@code fstat} says about an open file: the fields sharena needs. */
    public record Stat(int mode, int uid, long size) {
        /** @return the file type bits of {@link #mode()} ({@code S_IFREG}, {@code S_IFIFO}, ...) */
        public int type() {
            return mode & S_IFMT;
        }
    }

    /** One downcall, given the errno capture buffer to pass as its first argument. */
    @FunctionalInterface
    private interface Call {
        long invoke(MemorySegment errnoState) throws Throwable;
    }

    /**
     * The errno-checked call every wrapper makes: runs {@code call} with this thread's capture
     * buffer and returns its result; a negative result (what every call here returns on failure)
     * throws {@link OsException} naming the call, errno and {@code context}, which is built only
     * then. Neither lambda escapes, so on the paths that run often (fallocate, lseek, madvise) the
     * JIT inlines this and allocates nothing.
     */
    private static long checked(final String name, final Call call, final Supplier<String> context)
        throws OsException {
        final long r = raw(call);
        if (r < 0) {
            throw failure(name, context);
        }
        return r;
    }

    /** Runs {@code call} with this thread's capture buffer; on a negative result {@link #lastErrno()} says why. */
    private static long raw(final Call call) {
        try {
            return call.invoke(CAPTURE.get());
        } catch (final Throwable t) {
            throw unchecked(t);
        }
    }

    /** @return the errno this thread's last {@link #raw} call captured */
    private static int lastErrno() {
        return errno(CAPTURE.get());
    }

    private static OsException failure(final String name, final Supplier<String> context) {
        return new OsException(name, lastErrno(), context.get());
    }

    /** {@code fstat(2)} on {@code fd}. */
    public static Stat fstat(final int fd) throws OsException {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment buf = arena.allocate(STAT_BYTES, 8);
            checked("fstat", state -> (int) FSTAT.invokeExact(state, fd, buf), () -> "fd=" + fd);
            return new Stat(buf.get(JAVA_INT, ST_MODE), buf.get(JAVA_INT, ST_UID), buf.get(JAVA_LONG, ST_SIZE));
        }
    }

    /** @return {@code f_type} of the file system holding {@code fd} ({@code fstatfs(2)}) */
    public static long fstatfsType(final int fd) throws OsException {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment buf = arena.allocate(STATFS_BYTES, 8);
            checked("fstatfs", state -> (int) FSTATFS.invokeExact(state, fd, buf), () -> "fd=" + fd);
            return buf.get(JAVA_LONG, 0);
        }
    }

    private static int errno(final MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    static String strerror(final int errno) {
        try {
            final MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? "unknown" : s.reinterpret(256).getString(0);
        } catch (final Throwable t) {
            return "unknown";
        }
    }

    /** What a downcall threw, as an unchecked exception (a downcall throws nothing checked). */
    private static RuntimeException unchecked(final Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    public static int open(final String path, final int flags, final int mode) throws OsException {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment cPath = arena.allocateFrom(path);
            return (int) checked("open", state -> (int) OPEN.invokeExact(state, cPath, flags, mode),
                () -> "path=" + path);
        }
    }

    /**
     * {@code raise(3)}: sends {@code signal} to the calling thread. For SIGSTOP this matters:
     * {@code kill(getpid(), SIGSTOP)} lets the kernel pick any thread to start the group stop, and
     * the caller may run on for a few microseconds before it is stopped in turn; a signal to the
     * calling thread stops it before the call returns to Java.
     */
    public static void raise(final int signal) throws OsException {
        checked("raise", state -> (int) RAISE.invokeExact(state, signal), () -> "signal=" + signal);
    }

    public static void close(final int fd) throws OsException {
        checked("close", state -> (int) CLOSE.invokeExact(state, fd), () -> "fd=" + fd);
    }

    public static void ftruncate(final int fd, final long length) throws OsException {
        checked("ftruncate", state -> (int) FTRUNCATE.invokeExact(state, fd, length),
            () -> "fd=" + fd + ", length=" + length);
    }

    public static void fsync(final int fd) throws OsException {
        checked("fsync", state -> (int) FSYNC.invokeExact(state, fd), () -> "fd=" + fd);
    }

    /**
     * @return the resulting offset, or {@code -1} when {@code SEEK_DATA}/{@code SEEK_HOLE} finds
     * nothing past {@code offset} ({@code ENXIO}), which is an answer rather than an error
     */
    public static long lseek(final int fd, final long offset, final int whence) throws OsException {
        final long r = raw(state -> (long) LSEEK.invokeExact(state, fd, offset, whence));
        if (r < 0) {
            // Not an exception: a sparse file's allocation path asks this all the time.
            if (lastErrno() == ENXIO && (whence == SEEK_DATA || whence == SEEK_HOLE)) {
                return -1;
            }
            throw failure("lseek", () -> "fd=" + fd + ", offset=" + offset + ", whence=" + whence);
        }
        return r;
    }

    /** Reads up to {@code buffer.byteSize()} bytes at {@code offset}; returns the count read. */
    public static long pread(final int fd, final MemorySegment buffer, final long offset) throws OsException {
        long done = 0;
        while (done < buffer.byteSize()) {
            final long r = transfer("pread", PREAD, fd, buffer, offset, done);
            if (r == 0) {
                break; // end of file
            }
            done += Math.max(r, 0);
        }
        return done;
    }

    /** Writes all of {@code buffer} at {@code offset}. */
    public static void pwrite(final int fd, final MemorySegment buffer, final long offset) throws OsException {
        long done = 0;
        while (done < buffer.byteSize()) {
            done += Math.max(transfer("pwrite", PWRITE, fd, buffer, offset, done), 0);
        }
    }

    /** One {@code pread}/{@code pwrite} of the rest of {@code buffer} from {@code done}: the count, or -1 when interrupted (EINTR: try again). */
    private static long transfer(final String name, final MethodHandle handle, final int fd, final MemorySegment buffer,
                                 final long offset, final long done) throws OsException {
        final long r = raw(state -> (long) handle.invokeExact(
            state, fd, buffer.asSlice(done), buffer.byteSize() - done, offset + done));
        if (r < 0) {
            if (lastErrno() == EINTR) {
                return -1;
            }
            throw failure(name, () -> "fd=" + fd + ", offset=" + (offset + done));
        }
        return r;
    }

    public static long mmap(final long address, final long length, final int prot, final int flags, final int fd,
                            final long offset) throws OsException {
        return checked("mmap", state -> (long) MMAP.invokeExact(state, address, length, prot, flags, fd, offset),
            () -> "address=0x" + Long.toHexString(address) + ", length=" + length + ", prot=" + prot
                + ", flags=0x" + Integer.toHexString(flags));
    }

    public static void munmap(final long address, final long length) throws OsException {
        checked("munmap", state -> (int) MUNMAP.invokeExact(state, address, length),
            () -> "address=0x" + Long.toHexString(address) + ", length=" + length);
    }

    public static void madvise(final long address, final long length, final int advice) throws OsException {
        checked("madvise", state -> (int) MADVISE.invokeExact(state, address, length, advice),
            () -> "address=0x" + Long.toHexString(address) + ", length=" + length + ", advice=" + advice);
    }

    /** Fills {@code vector} (one byte per page) with residency bits for {@code [address, address+length)}. */
    public static void mincore(final long address, final long length, final MemorySegment vector) throws OsException {
        checked("mincore", state -> (int) MINCORE.invokeExact(state, address, length, vector),
            () -> "address=0x" + Long.toHexString(address) + ", length=" + length);
    }

    public static void fallocate(final int fd, final int mode, final long offset, final long length)
        throws OsException {
        checked("fallocate", state -> (int) FALLOCATE.invokeExact(state, fd, mode, offset, length),
            () -> "fd=" + fd + ", mode=" + mode + ", offset=" + offset + ", length=" + length);
    }
}
