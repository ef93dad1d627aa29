package io.sharena.core;

import io.sharena.core.alloc.PageAllocator;
import io.sharena.core.layout.HeaderLayout;
import io.sharena.core.lock.ArenaLock;
import io.sharena.core.lock.ProcessRegistry;
import io.sharena.core.os.FileMapping;
import io.sharena.core.os.NativeFile;
import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;

/**
 * An arena: a sparse file mapped at the start of a 4 GiB-aligned window of this process's address
 * space, so that a 32-bit arena pointer names the same bytes in every process that opens it.
 *
 * <pre>{@code
 * try (SharedArena arena = SharedArena.create(path, Capacity.parse("64M"), ArenaOptions.defaults())) {
 *     int ptr = (int) (arena.firstUserPage() * arena.pageSize());
 *     arena.raw().putLongRelease(ptr, 42);
 * }
 * // in another process:
 * try (SharedArena arena = SharedArena.open(path, ArenaOptions.defaults())) {
 *     long v = arena.raw().getLongAcquire(ptr);   // 42
 * }
 * }</pre>
 *
 * <p>Files are created with mode 0600. {@link #open} refuses symlinks and, unless
 * {@link ArenaOptions#allowForeignOwner()}, files owned by another user, and validates the header
 * before mapping anything ({@link ArenaFormatException} names the bad field).
 *
 * <p>Thread safety: all methods may be called from any thread; {@link #close()} makes every later
 * access from any thread throw {@link IllegalStateException}.
 */
public final class SharedArena implements AutoCloseable {
    private static final int FILE_MODE = 0600;
    private static final SecureRandom IDS = new SecureRandom();
    /** How long open and close wait for the lock to repair after dead processes or give back caches. */
    private static final long OPEN_RECOVERY_TIMEOUT_NANOS = 1_000_000_000L;

    private final Path path;
    private final ArenaHeader header;
    private final NativeFile file;
    private final FileMapping mapping;
    private final RawView raw;
    private final CheckedView strict;
    private final CheckedView lenient;
    private final ProcessRegistry registry;
    /** -1 when opened read-only: such an attachment neither registers nor allocates. */
    private final int slot;
    private final ArenaLock lock;
    private final PageAllocator allocator;
    private final ArenaOptions options;
    private boolean closed;

    private SharedArena(final Path path, final ArenaHeader header, final NativeFile file, final FileMapping mapping,
                        final ArenaOptions options) throws IOException {
        this.path = path;
        this.header = header;
        this.file = file;
        this.mapping = mapping;
        this.options = options;
        this.raw = new RawView(mapping.segment());
        this.strict = new CheckedView(raw, true, 1L + header.metaPages(), header.capacityPages());
        this.lenient = new CheckedView(raw, false, 1L + header.metaPages(), header.capacityPages());
        this.registry = new ProcessRegistry(mapping.segment());
        if (options.readOnly()) {
            this.slot = -1;
            this.lock = null;
            this.allocator = null;
            return;
        }
        this.slot = registry.attach();
        if (slot < 0) {
            throw new IOException("every process slot of the arena is taken by a live process: path=" + path
                + ", slots=" + io.sharena.core.layout.RegistryLayout.SLOTS);
        }
        this.lock = new ArenaLock(mapping.segment(), registry, slot);
        this.allocator = new PageAllocator(mapping.segment(), file, header.capacityPages(), header.metaPages(),
            registry, lock, slot, options.lockTimeoutNanos());
        allocator.recoverIfNeeded(registry, OPEN_RECOVERY_TIMEOUT_NANOS);
    }

    /**
     * Creates a new arena file of {@code capacity} and maps it.
     *
     * @throws IllegalArgumentException if {@code path} is null, or exists and {@code replace} is not set
     * @throws IOException              if the file cannot be created or mapped (e.g. the fixed address is taken)
     */
    public static SharedArena create(final Path path, final Capacity capacity, final ArenaOptions options)
        throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("arena path must not be null: path=null");
        }
        if (capacity == null) {
            throw new IllegalArgumentException("capacity must not be null: path=" + path);
        }
        final ArenaOptions opts = options == null ? ArenaOptions.defaults() : options;
        if (!opts.replace() && Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("arena file already exists: path=" + path + " (use the replace option, --replace on the command line)");
        }
        final Path target = opts.replace() ? siblingTempPath(path) : path;
        final ArenaHeader header = ArenaHeader.forCreate(capacity, opts.fixedAddress(), IDS.nextLong(),
            System.currentTimeMillis());
        final NativeFile file;
        try {
            file = NativeFile.createNew(target, FILE_MODE);
        } catch (final OsException e) {
            if (e.errno() == Posix.EEXIST) {
                throw new FileAlreadyExistsException(path.toString(), null, "arena file already exists");
            }
            throw e;
        }
        FileMapping mapping = null;
        try {
            file.truncate(capacity.bytes());
            mapping = mapWindow(file, header, false);
            PageAllocator.format(mapping.segment(), header.capacityPages(), header.metaPages());
            header.writeTo(mapping.segment());
            if (target != path) {
                moveOver(target, path);
            }
            return new SharedArena(path, header, file, mapping, opts.withReadOnly(false));
        } catch (final IOException | RuntimeException e) {
            if (mapping != null) {
                mapping.close();
            }
            closeQuietly(file, e);
            Files.deleteIfExists(target);
            throw e;
        }
    }

    /**
     * Opens an existing arena and maps it.
     *
     * @throws ArenaFormatException  if the file is not a valid arena (the message names the field)
     * @throws NoSuchFileException   if there is no file
     * @throws AccessDeniedException if the path is a symlink, or the file belongs to another user
     * @throws IOException           if it cannot be mapped (e.g. the fixed address is taken in this process)
     */
    public static SharedArena open(final Path path, final ArenaOptions options) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("arena path must not be null: path=null");
        }
        final ArenaOptions opts = options == null ? ArenaOptions.defaults() : options;
        final NativeFile file = openFile(path, !opts.readOnly());
        try {
            checkOwner(path, opts);
            final long size = file.size();
            final ArenaHeader header = ArenaHeader.validate(file.read(0, HeaderLayout.PAGE_SIZE_VALUE), size);
            final FileMapping mapping = mapWindow(file, header, opts.readOnly());
            try {
                return new SharedArena(path, header, file, mapping, opts);
            } catch (final IOException | RuntimeException e) {
                mapping.close();
                throw e;
            }
        } catch (final IOException | RuntimeException e) {
            closeQuietly(file, e);
            throw e;
        }
    }

    private static NativeFile openFile(final Path path, final boolean writable) throws IOException {
        try {
            return NativeFile.open(path, writable);
        } catch (final OsException e) {
            if (e.errno() == Posix.ELOOP) {
                throw new AccessDeniedException(path.toString(), null, "refusing to open a symlink as an arena");
            }
            if (e.errno() == Posix.ENOENT) {
                throw new NoSuchFileException(path.toString(), null, "no arena file");
            }
            throw e;
        }
    }

    private static void checkOwner(final Path path, final ArenaOptions options) throws IOException {
        if (options.allowForeignOwner()) {
            return;
        }
        final int owner = (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        // /proc/self belongs to this process's effective user.
        final int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (owner != self) {
            throw new AccessDeniedException(path.toString(), null,
                "arena file owned by another user: ownerUid=" + owner + ", uid=" + self
                    + " (allow it with allowForeignOwner)");
        }
    }

    private static FileMapping mapWindow(final NativeFile file, final ArenaHeader header, final boolean readOnly)
        throws IOException {
        try {
            return FileMapping.map(file.fd(), header.capacityBytes(), header.fixedAddress(), !readOnly);
        } catch (final OsException e) {
            if (e.errno() == Posix.EEXIST && header.fixedAddress() != 0) {
                throw new IOException("fixed address already in use in this process: fixedAddress=0x"
                    + Long.toHexString(header.fixedAddress()) + ", path=" + file.path(), e);
            }
            throw e;
        }
    }

    private static Path siblingTempPath(final Path path) {
        final Path name = path.getFileName();
        return path.resolveSibling("." + name + ".creating-" + Long.toUnsignedString(IDS.nextLong(), 36));
    }

    private static void moveOver(final Path from, final Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (final AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void closeQuietly(final NativeFile file, final Exception primary) {
        try {
            file.close();
        } catch (final OsException e) {
            primary.addSuppressed(e);
        }
    }

    /** @return the raw view: typed access by arena pointer with bounds checks only */
    public ArenaView raw() {
        return raw;
    }

    /**
     * @return the strict view: like {@link #raw()}, but an access to a page that is not ALLOCATED
     * throws {@link ArenaFaultException}
     */
    public ArenaView strict() {
        return strict;
    }

    /** @return the lenient view: on a page that is not ALLOCATED reads give 0, writes and atomics are dropped */
    public ArenaView lenient() {
        return lenient;
    }

    // ---------------------------------------------------------------- pages (SPEC §2)

    private PageAllocator allocator() {
        if (allocator == null) {
            throw new IllegalStateException("arena opened read-only: path=" + path);
        }
        return allocator;
    }

    /**
     * Allocates {@code n} contiguous pages, zeroed, with storage committed.
     *
     * @return the pointer of the first page, or 0 when {@code n <= 0}, {@code n} exceeds the arena,
     * no run fits, the quota is reached, the file system is full, or the allocator lock could not be
     * had within the lock timeout
     */
    public int allocPages(final int n) {
        return allocator().allocPages(n);
    }

    /**
     * Allocates the {@code n} pages at {@code ptr}.
     *
     * @return {@code ptr}, or 0 (nothing changed) if it is not page-aligned, the range leaves the
     * arena or touches metadata, or a page of it is not FREE
     */
    public int allocPagesAt(final int ptr, final int n) {
        return allocator().allocPagesAt(ptr, n);
    }

    /**
     * Frees pages; never throws for range problems and never blocks. NULL or {@code n <= 0} does
     * nothing; a misaligned pointer frees the page containing it; the range is clamped to the arena;
     * pages that are not ALLOCATED or RESERVED are left alone (double free is a no-op); RESERVED
     * pages are un-reserved. When the lock is busy the range is queued and applied by the next lock
     * holder.
     */
    public void freePages(final int ptr, final int n) {
        allocator().freePages(ptr, n);
    }

    /** Marks {@code n} FREE pages at {@code ptr} RESERVED: never handed out, costing no memory. */
    public ReserveResult reservePages(final int ptr, final int n) {
        return switch (allocator().reservePages(ptr, n)) {
            case PageAllocator.RESERVE_OK -> ReserveResult.OK;
            case PageAllocator.RESERVE_INVALID -> ReserveResult.INVALID;
            default -> ReserveResult.BUSY;
        };
    }

    /** Limits the pages held out of the free lists (allocated, cached or pending) to {@code pages}; 0 lifts it. */
    public void setQuota(final long pages) {
        allocator().setQuota(pages);
    }

    /** @return the state of page {@code page} (see {@link io.sharena.core.layout.PageEntry}), -1 past the end */
    public int pageState(final long page) {
        return allocator().pageState(page);
    }

    /** @return the allocator lock (for tools and tests; the allocator takes it itself) */
    public ArenaLock lock() {
        if (lock == null) {
            throw new IllegalStateException("arena opened read-only: path=" + path);
        }
        return lock;
    }

    /**
     * Repairs the free structures from the page states, after freeing what dead processes left in
     * transit and taking every span cache back into the lists. Takes the lock (waiting up to
     * {@code timeoutNanos}).
     *
     * @return true when the repair ran and left the allocator consistent; false when the lock could
     * not be had, or something could not be fixed ({@link #repairNotes()} names it)
     */
    public boolean repair(final long timeoutNanos) {
        final var r = lock().lock(timeoutNanos);
        if (r == io.sharena.core.lock.LockResult.DEADLOCK) {
            return allocator().recoverLocked().isEmpty();
        }
        if (!r.acquired()) {
            return false;
        }
        try {
            return allocator().recoverLocked().isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return what the last repair by this attachment could not fix, then what it fixed only by a
     * safe guess (a page whose state word held no state is kept allocated), one line each
     */
    public java.util.List<String> repairNotes() {
        return allocator().repairNotes();
    }

    /** @return the process registry of this arena (read without locks) */
    public ProcessRegistry registry() {
        return registry;
    }

    /** @return this attachment's registry slot, -1 if read-only */
    public int slot() {
        return slot;
    }

    /** @return the whole arena as one segment, offset 0 being arena pointer 0 */
    public MemorySegment segment() {
        return mapping.segment();
    }

    /** @return the absolute address of {@code ptr} in this process: see {@link ArenaPointers#address} */
    public long address(final int ptr) {
        return ArenaPointers.address(mapping.base(), ptr);
    }

    /** @return the arena pointer of an absolute address inside this process's window */
    public int pointer(final long address) {
        return ArenaPointers.pointer(mapping.base(), address);
    }

    /** @return this process's window base; its low 32 bits are zero */
    public long base() {
        return mapping.base();
    }

    public Path path() {
        return path;
    }

    public int pageSize() {
        return header.pageSize();
    }

    /** @return total pages, header and metadata included */
    public long capacityPages() {
        return header.capacityPages();
    }

    public long capacityBytes() {
        return header.capacityBytes();
    }

    public int metaPages() {
        return header.metaPages();
    }

    /** @return the index of the first page that is neither header nor metadata */
    public long firstUserPage() {
        return 1L + header.metaPages();
    }

    public long arenaId() {
        return header.arenaId();
    }

    /** @return the fixed window address, or 0 if the arena maps anywhere */
    public long fixedAddress() {
        return header.fixedAddress();
    }

    /** @return a snapshot of header fields, mapping and memory/disk cost (makes system calls) */
    public ArenaInfo info() throws IOException {
        return new ArenaInfo(path, header.formatVersion(), header.pageSize(), header.capacityPages(),
            header.metaPages(), header.flags(), header.arenaId(), header.createdMillis(), header.fixedAddress(),
            mapping.base(), mapping.length(), mapping.residentBytes(header.pageSize()), file.dataBytes());
    }

    /**
     * Gives back this process's cached pages, applies pending frees, leaves the registry, unmaps the
     * arena and closes the file. If the lock stays busy for a second (its holder is stopped), the
     * registry slot is left for the next repair to reclaim once this process has exited. Idempotent;
     * later accesses throw {@link IllegalStateException}.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (allocator != null && allocator.detach(OPEN_RECOVERY_TIMEOUT_NANOS)) {
                registry.release(slot);
            }
        } catch (final InternalError shrunk) {
            // The file was shrunk under the mapping (SIGBUS on the control page): unmap regardless.
            throw new IOException("arena file shrank under the mapping; unmapped without giving back "
                + "this process's cached pages: path=" + path, shrunk);
        } finally {
            mapping.close();
            file.close();
        }
    }
}
