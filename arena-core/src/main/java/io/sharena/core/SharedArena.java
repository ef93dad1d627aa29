package io.sharena.core;

import io.sharena.core.alloc.PageAllocator;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.LockWord;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.core.owner.ArenaLock;
import io.sharena.core.owner.Ownership;
import io.sharena.core.owner.ProcessRegistry;
import io.sharena.core.owner.UserLock;
import io.sharena.core.os.FileMapping;
import io.sharena.core.os.NativeFile;
import io.sharena.core.os.OsException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * An arena: a sparse file mapped at the start of a 4 GiB-aligned window of this process's address
 * space, so that a 32-bit arena pointer names the same bytes in every process that opens it.
 *
 * <pre>{@code
 * try (SharedArena arena = SharedArena.create(path, Capacity.parse("64M"), ArenaOptions.defaults())) {
 *     int ptr = arena.allocPages(1);
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
 * <p><b>Errors.</b> The arena's own failures are three types, each with a one-line
 * {@code name=value} message: {@link ArenaFormatException} (the file is not a valid arena: not a
 * regular file, no valid header copy, shorter than its capacity), {@link ArenaFaultException} (an
 * access faulted: a strict view on a page that is not allocated, or the file cut short under the
 * mapping, which every allocator entry point reports instead of the JVM's {@link InternalError}) and {@link ArenaCorruptedException} (thrown by the structures
 * built on the arena when they find their shared metadata corrupted during use; the allocator
 * never throws it: a page number, count or link out of range marks the arena for repair, which the
 * lock holder runs before it unlocks, and the call goes on as if the structure ended there). The file system's failures are
 * {@link IOException}s ({@link NoSuchFileException}, {@link AccessDeniedException},
 * {@link FileAlreadyExistsException}, a system call that failed); misuse is
 * {@link IllegalArgumentException}; any use after {@link #close()} is {@link IllegalStateException}.
 * Each method lists what it throws. The file itself (both header copies, its size) is checked by
 * {@link #checkFile(Path)}, which does not map it; repairs are the tools' ({@code ./arena check
 * --repair}).
 *
 * <p>This class is the arena's whole public surface, with the views, {@link Capacity},
 * {@link ArenaOptions}, the results ({@link ReserveResult}, {@link PageState},
 * {@link io.sharena.core.lock.LockResult}), {@link io.sharena.core.lock.SharedLock} and the
 * exceptions. What sharena's own layers need beyond it (the mapping as a segment, the allocator's
 * lock, the registry, repair) is {@link io.sharena.core.internal.ArenaInternals}, not exported to
 * applications.
 *
 * <p>Thread safety: all methods may be called from any thread; {@link #close()} makes every later
 * access from any thread throw {@link IllegalStateException}.
 */
public final class SharedArena implements AutoCloseable {
    /** The page table's STATE words, read by a read-only attachment's {@link #pageState}. */
    private static final VarHandle STATE_WORD = ValueLayout.JAVA_LONG.varHandle();
    /** How long open and close wait for the lock to repair after dead processes or give back caches. */
    private static final long OPEN_RECOVERY_TIMEOUT_NANOS = 1_000_000_000L;
    /** The longest close waits for an allocator call of another thread of this process: {@link #closeTimeoutNanos}. */
    private static final long CLOSE_WAIT_NANOS = 30_000_000_000L;

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
    private final Ownership ownership;
    private final ArenaLock lock;
    private final PageAllocator allocator;
    private final ArenaOptions options;
    private boolean closed;

    /**
     * Tests only: told of each arena as soon as it is mapped, before open's recovery runs, so that a
     * test's watchdog can unmap an open caught in an endless walk of corrupted metadata. Null (one
     * volatile read per open) otherwise.
     */
    static volatile java.util.function.Consumer<SharedArena> mappedListener;

    static {
        ArenaInternals.install(new ArenaAccess());
    }

    /**
     * Attaches to an arena file {@link ArenaFiles} has vetted and mapped: registers this process
     * (unless read-only), repairs after dead processes if needed, then starts the idle purge.
     */
    SharedArena(final Path path, final ArenaHeader header, final NativeFile file, final FileMapping mapping,
                final ArenaOptions options) throws IOException {
        this.path = path;
        this.header = header;
        this.file = file;
        this.mapping = mapping;
        this.options = options;
        final java.util.function.Consumer<SharedArena> listener = mappedListener;
        if (listener != null) {
            listener.accept(this);
        }
        this.raw = new RawView(mapping.segment());
        this.strict = new CheckedView(raw, true, 1L + header.metaPages(), header.capacityPages());
        this.lenient = new CheckedView(raw, false, 1L + header.metaPages(), header.capacityPages());
        this.registry = new ProcessRegistry(mapping.segment());
        if (options.readOnly()) {
            this.slot = -1;
            this.ownership = null;
            this.lock = null;
            this.allocator = null;
            return;
        }
        this.ownership = registry.attach();
        if (ownership == null) {
            throw new IOException("every process slot of the arena is taken by a live process: path=" + path
                + ", slots=" + io.sharena.core.layout.RegistryLayout.SLOTS);
        }
        this.slot = ownership.slot();
        this.lock = new ArenaLock(mapping.segment(), ownership);
        lock.clearStrayOwnToken();
        this.allocator = new PageAllocator(mapping.segment(), file, header.capacityPages(), header.metaPages(),
            registry, lock, slot, options.lockTimeoutNanos());
        allocator.structuresHold(this::structuresHold);
        allocator.recoverIfNeeded(registry, OPEN_RECOVERY_TIMEOUT_NANOS);
        if (registry.inheriting()) {
            // This process took a dead process's slot over (no slot was free) and could not take the
            // lock to reclaim what that process had in transit there: using the slot's caches now
            // would mix them with its leftovers. Give the slot up as dead, for the next recovery.
            registry.abandon();
            throw new IOException("arena busy: every process slot was taken and the lock stayed busy for "
                + OPEN_RECOVERY_TIMEOUT_NANOS / 1_000_000 + " ms, so the dead process's slot could not be "
                + "reclaimed: path=" + path + ", lockOwner=0x" + Long.toHexString(lock.ownerWord()));
        }
        // Last: the idle purge thread may touch the mapping from now on (close stops it first).
        allocator.configurePurge(options.purgeDelayNanos(), options.dirtyLimitPages());
    }

    /**
     * @return the pages the structures built on this arena hold, read from them by the
     * {@link io.sharena.core.internal.HeldPages} services on the module or class path (the IPC
     * module's), for the allocator's repair; null if there is none, or none could read them
     */
    private java.util.BitSet structuresHold() {
        java.util.BitSet held = null;
        for (final io.sharena.core.internal.HeldPages source : HeldPagesServices.ALL) {
            try {
                final java.util.BitSet pages = source.of(this);
                if (held == null) {
                    held = pages;
                } else {
                    held.or(pages);
                }
            } catch (final RuntimeException | InternalError e) {
                // Structures too damaged to read (or a file cut short under the mapping) hold
                // nothing here: the page table decides.
            }
        }
        return held;
    }

    /** The {@link io.sharena.core.internal.HeldPages} services, loaded once, when a repair first asks. */
    private static final class HeldPagesServices {
        static final List<io.sharena.core.internal.HeldPages> ALL =
            java.util.ServiceLoader.load(io.sharena.core.internal.HeldPages.class).stream()
                .map(java.util.ServiceLoader.Provider::get).toList();
    }

    /**
     * Creates a new arena file of {@code capacity} and maps it.
     *
     * <p>With {@link ArenaOptions#withReplace replace}, an existing file is replaced only if it is a
     * valid arena that no other live process has open (what {@link #delete} checks): the new arena
     * is built beside it and renamed over it last. Anything else at the path (a text file, a
     * directory, a symlink, a damaged arena) is never replaced. A process that attaches between
     * the check and the rename is not seen: the check is advice, not a lock.
     *
     * @throws IllegalArgumentException   if {@code path} or {@code capacity} is null, or an arena file
     *                                    exists and {@code replace} is not set
     * @throws FileAlreadyExistsException if the path holds something that is not an arena file (with
     *                                    or without {@code replace}), or another process created the
     *                                    file meanwhile
     * @throws ArenaInUseException        if {@code replace} is set and live processes have the arena
     *                                    at the path open (they are named)
     * @throws IOException                if the file cannot be created or mapped (e.g. the fixed address is
     *                                    taken), or the file system has no room for its metadata
     */
    public static SharedArena create(final Path path, final Capacity capacity, final ArenaOptions options)
        throws IOException {
        return ArenaFiles.create(path, capacity, options);
    }

    /**
     * Opens an existing arena and maps it. Nothing is mapped until the file has passed every check:
     * it must be a regular file (a FIFO, socket, device, directory or {@code /proc} entry is refused
     * without blocking), owned by this user (unless allowed), with a valid header copy and at least
     * as long as the capacity. A file longer than its capacity (extended by someone else) opens:
     * the bytes past the capacity are not part of the arena; {@link #checkFile} reports them and
     * a repair ({@code ./arena check --repair}) cuts them off. A damaged header copy does not stop the open (the other is
     * used); {@link #checkFile} reports it and a repair restores it.
     *
     * @throws ArenaFormatException  if the file is not a valid arena: not a regular file (field
     *                               {@code fileType}), no valid header copy (the message names the
     *                               field), or shorter than its capacity ({@code fileSize}: {@code check
     *                               --repair} restores the size)
     * @throws NoSuchFileException   if there is no file
     * @throws AccessDeniedException if the path is a symlink, the file belongs to another user, or
     *                               its permissions refuse it
     * @throws IOException           if it cannot be mapped (e.g. the fixed address is taken in this
     *                               process), or every registry slot is held by a live process
     * @throws ArenaFaultException   if the file is cut short while open recovers
     */
    public static SharedArena open(final Path path, final ArenaOptions options) throws IOException {
        return ArenaFiles.open(path, options);
    }

    /**
     * Deletes an arena file, unless other live processes have it open.
     *
     * <p>The file is validated as an arena first (opened read-only: it never registers, so it
     * takes no registry slot), and its registry read: every live registered process other than
     * this one holds it. Then, if none does or {@code force} is set, the file is unlinked.
     * Processes that have it mapped keep their mapping (POSIX unlink semantics) and can go on;
     * nobody can open it by name any more. Attachments opened read-only do not register and are
     * not seen. A process that attaches between the check and the unlink is not seen either: the
     * check is advice for careful users, not a lock.
     *
     * @param force delete even while live processes have it open
     * @return the pids of the live processes that still had it open (empty unless forced)
     * @throws ArenaInUseException  if live processes have it open and {@code force} is not set
     * @throws ArenaFormatException if the file is not an arena (refused even when forced)
     * @throws NoSuchFileException  if there is no file
     * @throws AccessDeniedException if the path is a symlink or the file belongs to another user
     */
    public static java.util.List<Long> delete(final Path path, final boolean force) throws IOException {
        if (path == null) {
            throw Errors.nullArgument("arena path", null);
        }
        final java.util.List<Long> holders = liveHolders(path);
        if (!holders.isEmpty() && !force) {
            throw new ArenaInUseException(path.toString(), holders);
        }
        Files.delete(path);
        return holders;
    }

    /**
     * What {@link #delete} and a replacing {@link #create} check before they unlink or rename over
     * a file: that it is a valid arena (opened read-only, so it takes no registry slot), and which
     * live processes other than this one have it open.
     *
     * @return the pids of those processes, sorted; empty if none
     * @throws ArenaFormatException  if the file is not a valid arena
     * @throws NoSuchFileException   if there is no file
     * @throws AccessDeniedException if the path is a symlink or the file belongs to another user
     */
    static java.util.List<Long> liveHolders(final Path path) throws IOException {
        try (SharedArena arena = open(path, ArenaOptions.defaults().withReadOnly(true))) {
            final long self = ProcessHandle.current().pid();
            return arena.registry.entries().stream()
                .filter(e -> e.alive() && e.pid() != self)
                .map(ProcessRegistry.Entry::pid)
                .distinct()
                .sorted()
                .toList();
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

    // ---------------------------------------------------------------- pages

    private PageAllocator allocator() {
        requireOpen();
        if (allocator == null) {
            throw Errors.readOnly(path);
        }
        return allocator;
    }

    /**
     * Calls that reach the file or the allocator check this first: after the close, the file
     * descriptor may be another file's, and the allocator's words are no longer mapped.
     */
    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("arena closed: path=" + path);
        }
    }

    /**
     * Allocates {@code n} contiguous pages, zeroed, with storage committed.
     *
     * @return the pointer of the first page, or 0 when {@code n <= 0}, {@code n} exceeds the arena,
     * no run fits, the quota is reached, the file system is full, or the allocator lock could not be
     * had within the lock timeout
     * @throws ArenaFaultException     if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    public int allocPages(final int n) {
        try {
            return allocator().allocPages(n);
        } catch (final InternalError e) {
            throw fault("allocPages", e);
        }
    }

    /**
     * Allocates {@code n} contiguous pages with storage committed, <em>not</em> zeroed: pages reused
     * from earlier frees may still hold what their previous owner (this process or another) wrote.
     * For senders that overwrite every byte (a zero-copy message filled end to end): it saves the
     * zeroing, which for large spans is most of the cost. Every process that maps an arena can read
     * and write all of it anyway, so they trust each other; this hands one process's old bytes to
     * another only within that circle. Pages never used before read as zeros.
     *
     * <p>The first word of each page is zeroed all the same: that is where every structure built on
     * the arena (an object heap's slab and large-object pages, a store, a channel, the named roots)
     * keeps its magic, and a repair that met a page still carrying, say, a retired slab page's
     * magic would take it for the heap's and free it under its new owner before the owner wrote
     * there. One word per page: a line per 4 KiB, against the 4 KiB a zeroing writes.
     *
     * @return as {@link #allocPages}
     * @throws ArenaFaultException     if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    public int allocPagesUninitialized(final int n) {
        try {
            final int ptr = allocator().allocPages(n, false);
            if (ptr != 0) {
                final MemorySegment s = mapping.segment();
                final long first = Integer.toUnsignedLong(ptr);
                for (int i = 0; i < n; i++) {
                    s.set(ValueLayout.JAVA_LONG, first + (long) i * Geometry.PAGE_SIZE, 0L);
                }
            }
            return ptr;
        } catch (final InternalError e) {
            throw fault("allocPagesUninitialized", e);
        }
    }

    /**
     * Returns the storage of every freed page still kept committed ("dirty": see
     * {@link ArenaOptions#withPurgeDelayNanos}) to the operating system now, as one hole punch per
     * contiguous stretch: RSS and disk usage drop in every process.
     *
     * @return false if the allocator lock stayed busy for the lock timeout (nothing was purged)
     * @throws ArenaFaultException     if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    public boolean purge() {
        try {
            return allocator().purge();
        } catch (final InternalError e) {
            throw fault("purge", e);
        }
    }

    /**
     * @return freed pages whose storage is still committed, waiting for a purge (read without the lock)
     * @throws IllegalStateException if the arena is closed or was opened read-only
     */
    public long dirtyPages() {
        return allocator().dirtyPages();
    }

    /**
     * Allocates the {@code n} pages at {@code ptr}.
     *
     * @return {@code ptr}, or 0 (nothing changed) if it is not page-aligned, the range leaves the
     * arena or touches metadata, or a page of it is not FREE
     * @throws ArenaFaultException     if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    public int allocPagesAt(final int ptr, final int n) {
        try {
            return allocator().allocPagesAt(ptr, n);
        } catch (final InternalError e) {
            throw fault("allocPagesAt", e);
        }
    }

    /**
     * Allocates {@code n} contiguous zeroed pages and stores their pointer into the int at arena
     * pointer {@code dest}, which must hold 0 (NULL), as one crash-safe step: a process killed at any
     * instant leaves either {@code dest} 0 and the pages free, or {@code dest} holding the pointer and
     * the pages allocated, once the next lock holder or opener has repaired. With
     * {@link #allocPages} a process killed between the allocation and the store that records the
     * pointer leaks the pages for good (the allocator keeps no owner for allocated pages); a
     * structure that publishes its pages through one word of shared memory (a directory slot, a
     * header field) uses this instead.
     *
     * <p>The store is a compare-and-set from 0 made under the allocator's lock while the allocation's
     * intent still names the range, so the repair keeps the pages exactly when {@code dest} holds
     * their pointer. It always takes the lock (never a span cache): meant for publishing structures,
     * not for hot paths. {@code dest} must stay where it is (not be moved or cleared by another
     * process) until the call returns, and must not lie in memory this call can hand out.
     *
     * @param dest arena pointer of a 4-byte-aligned int in an ALLOCATED user page
     * @return the pointer (now also in {@code dest}), or 0 with nothing allocated: {@code dest} did
     * not hold 0 (someone published first: read it), {@code n <= 0}, no run fits, the quota is
     * reached, the file system is full, or the lock could not be had within the lock timeout
     * @throws IllegalArgumentException if {@code dest} is misaligned, outside the user pages or in a
     *                                  page that is not ALLOCATED
     * @throws ArenaFaultException      if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException    if the arena is closed or was opened read-only
     */
    public int allocPagesInto(final int n, final int dest) {
        final long at;
        try {
            at = userWord(dest);
        } catch (final InternalError e) {
            throw fault("allocPagesInto", e);
        }
        return allocPagesIntoWord(n, at);
    }

    /**
     * Takes the pointer out of the int at arena pointer {@code word} (setting it to 0) and frees the
     * {@code n} pages it names, as one crash-safe step: the reverse of {@link #allocPagesInto}. A
     * process killed at any instant leaves either the word holding the pointer and the pages allocated,
     * or the word 0 and the pages free once the next lock holder or opener has repaired; with a store
     * of 0 followed by {@link #freePages}, a kill in between leaks the pages for good. Takes the
     * allocator's lock.
     *
     * @param word arena pointer of a 4-byte-aligned int in an ALLOCATED user page
     * @return whether the word held the pointer of {@code n} user pages and they were freed; false with
     * nothing changed when it held 0 or a range outside the user pages, when another writer changed it
     * meanwhile, or when the lock could not be had within the lock timeout (the word then still holds
     * the pointer)
     * @throws IllegalArgumentException if {@code word} is misaligned, outside the user pages or in a
     *                                  page that is not ALLOCATED
     * @throws ArenaFaultException      if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException    if the arena is closed or was opened read-only
     */
    public boolean freePagesFrom(final int word, final int n) {
        return freePagesFrom(word, 0, n);
    }

    /**
     * {@link #freePagesFrom(int, int)}, only if the word holds {@code expected}: for a word other
     * writers may set meanwhile (a name's entry that a put can point elsewhere), whose pages must
     * not be the ones freed. The word is cleared by a compare-and-set from {@code expected}, under
     * the allocator's lock; a writer that changed it first makes this return false, nothing freed.
     *
     * @param expected the pointer the word must hold; 0 frees whatever it holds
     * @return as {@link #freePagesFrom(int, int)}, and false if the word does not hold {@code expected}
     * @throws IllegalArgumentException if {@code word} is misaligned, outside the user pages or in a
     *                                  page that is not ALLOCATED
     * @throws ArenaFaultException      if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException    if the arena is closed or was opened read-only
     */
    public boolean freePagesFrom(final int word, final int expected, final int n) {
        try {
            return allocator().freePagesFrom(userWord(word), expected, n);
        } catch (final InternalError e) {
            throw fault("freePagesFrom", e);
        }
    }

    /** @return {@code ptr} as an arena offset, checked to be an aligned int in the user pages */
    private long userWord(final int ptr) {
        final long at = Integer.toUnsignedLong(ptr);
        if ((at & (Integer.BYTES - 1)) != 0 || at >>> Geometry.PAGE_SHIFT < firstUserPage()
            || at >>> Geometry.PAGE_SHIFT >= capacityPages()) {
            throw new IllegalArgumentException("word not an aligned int in the user pages: ptr=0x"
                + Long.toHexString(at) + ", firstUserPage=" + firstUserPage() + ", pages=" + capacityPages());
        }
        // A word in a page nobody holds: the allocation could pick that very page and zero the
        // pointer it stored, or leave the only record of it in free memory. (The state word read
        // without pageState's size check: a cut file faults here as an InternalError, which the
        // caller's entry point reports under its own name.)
        final PageState state = PageState.of(allocator().pageState(at >>> Geometry.PAGE_SHIFT));
        if (state != PageState.ALLOCATED) {
            throw new IllegalArgumentException("word not in an ALLOCATED page: ptr=0x" + Long.toHexString(at)
                + ", state=" + state);
        }
        return at;
    }

    /** {@link #allocPagesInto} for any aligned int of the mapping (the control page's roots word included). */
    int allocPagesIntoWord(final int n, final long dest) {
        try {
            return allocator().allocPagesInto(n, dest);
        } catch (final InternalError e) {
            throw fault("allocPagesInto", e);
        }
    }

    /**
     * Frees pages; never throws for range problems and never blocks. NULL or {@code n <= 0} does
     * nothing; a misaligned pointer frees the page containing it; the range is clamped to the arena;
     * pages that are not ALLOCATED or RESERVED are left alone (double free is a no-op); RESERVED
     * pages are un-reserved. When the lock is busy the range is queued and applied by the next lock
     * holder.
     *
     * @throws ArenaFaultException     if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    public void freePages(final int ptr, final int n) {
        try {
            allocator().freePages(ptr, n);
        } catch (final InternalError e) {
            throw fault("freePages", e);
        }
    }

    /**
     * Marks {@code n} FREE pages at {@code ptr} RESERVED: never handed out, costing no memory.
     *
     * @throws ArenaFaultException     if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    public ReserveResult reservePages(final int ptr, final int n) {
        final int r;
        try {
            r = allocator().reservePages(ptr, n);
        } catch (final InternalError e) {
            throw fault("reservePages", e);
        }
        return switch (r) {
            case PageAllocator.RESERVE_OK -> ReserveResult.OK;
            case PageAllocator.RESERVE_INVALID -> ReserveResult.INVALID;
            default -> ReserveResult.BUSY;
        };
    }

    /**
     * Limits the pages held out of the free lists (allocated, cached or pending) to {@code pages}; 0 lifts it.
     *
     * @throws IllegalArgumentException if {@code pages} is negative
     * @throws IllegalStateException    if the arena is closed or was opened read-only
     */
    public void setQuota(final long pages) {
        allocator().setQuota(pages);
    }

    /**
     * @return the state of page {@code page}: {@link PageState#OUTSIDE} for a number that is not a
     * page of this arena, {@link PageState#INVALID} for a state word that holds no state. A
     * read-only attachment reads states too (one acquire load, then the file's size).
     * @throws ArenaFaultException   if the file was cut short under the mapping (names the file and its size)
     * @throws IllegalStateException if the arena is closed
     */
    public PageState pageState(final long page) {
        return PageState.of(pageStateCode(page));
    }

    /** @return the page table's state code of {@code page} (CACHED reported as FREE), -1 past the end */
    int pageStateCode(final long page) {
        try {
            requireOpen();
            final int state = allocator == null ? readOnlyPageState(page) : allocator().pageState(page);
            // The file's size after the read: compiled code may raise a fault on the read (an
            // InternalError) only at its next transition, which this system call is, inside the catch.
            requireWholeFile("pageState");
            return state;
        } catch (final InternalError e) {
            throw fault("pageState", e);
        }
    }

    /** {@link #pageStateCode} without an allocator (read-only): the page table read directly. */
    private int readOnlyPageState(final long page) {
        if (page < 0 || page >= header.capacityPages()) {
            return -1;
        }
        if (page < firstUserPage()) {
            return PageEntry.META;
        }
        final int st = PageEntry.stateOf((long) STATE_WORD.getAcquire(mapping.segment(), PageEntry.stateOffset((int) page)));
        return st == PageEntry.CACHED ? PageEntry.FREE : st;
    }

    /**
     * @return the arena pointer of the first byte of page {@code page}, a page of the 32-bit pointer
     * space (not necessarily of this arena: {@link #pageState} says whether it is)
     * @throws IllegalArgumentException if {@code page} is negative or past the 4 GiB pointer space,
     *                                   where it would wrap onto NULL or a low page
     */
    public int pointerOf(final long page) {
        final long pagesInSpace = ArenaPointers.WINDOW_SIZE / header.pageSize();
        if (page < 0 || page >= pagesInSpace) {
            throw new IllegalArgumentException("page outside the 32-bit pointer space: page=" + page
                + ", pages=" + pagesInSpace + ", file=" + path);
        }
        return (int) (page * header.pageSize());
    }

    /** @return the page that holds the byte at arena pointer {@code ptr} */
    public long pageOf(final int ptr) {
        return Integer.toUnsignedLong(ptr) / header.pageSize();
    }

    /** The allocator's lock (see {@link ArenaInternals#lock}). */
    ArenaLock lock() {
        if (lock == null) {
            throw Errors.readOnly(path);
        }
        return lock;
    }

    /**
     * A lock in the caller's own shared structure: the 8 bytes at {@code ptr}, which every process
     * names by the same pointer. See {@link SharedLock}.
     *
     * @param ptr arena pointer of the lock word: 8-byte aligned, in an ALLOCATED page, zero when
     *            the structure is first shared
     * @throws IllegalArgumentException if {@code ptr} is misaligned, outside the user pages, or in
     *                                  a page that is not ALLOCATED
     * @throws IllegalStateException    if the arena was opened read-only
     */
    public SharedLock lockAt(final int ptr) {
        final Ownership own = ownership();
        final long at = Integer.toUnsignedLong(ptr);
        if ((at & (LockWord.SIZE - 1)) != 0) {
            throw Errors.badLockWord("misaligned lock word", ptr, "alignment=" + LockWord.SIZE);
        }
        if (at < firstUserPage() * pageSize() || at + LockWord.SIZE > capacityBytes()) {
            throw Errors.badLockWord("lock word outside the arena's user pages", ptr,
                "firstUserPtr=0x" + Long.toHexString(firstUserPage() * pageSize()) + ", capacityBytes=" + capacityBytes());
        }
        final PageState state = pageState(at / pageSize());
        if (state != PageState.ALLOCATED) {
            throw Errors.badLockWord("lock word not in an ALLOCATED page", ptr, "state=" + state);
        }
        return new UserLock(mapping.segment(), ptr, own);
    }

    /**
     * Reclaims what processes that died attached to this arena left (the pages in their caches and
     * in transit, and their registry slots), as the next process to open the arena does: for a
     * long-running process that wants a peer's death noticed without waiting for an opener (the
     * memcached server calls it every few seconds). Does nothing, and takes no lock, when no
     * attached process has died; otherwise takes the allocator's lock, waiting up to
     * {@code timeoutNanos}.
     *
     * @return whether a repair ran (false also when the lock could not be had: try again later)
     * @throws ArenaFaultException   if the file was cut short under the mapping
     * @throws IllegalStateException if the arena is closed or was opened read-only
     */
    public boolean reclaimDeadProcesses(final long timeoutNanos) {
        try {
            return allocator().recoverIfNeeded(registry, timeoutNanos);
        } catch (final InternalError e) {
            throw fault("reclaimDeadProcesses", e);
        }
    }

    /**
     * Repairs the free structures from the page states, after freeing what dead processes left in
     * transit and taking every span cache back into the lists. Takes the lock (waiting up to
     * {@code timeoutNanos}).
     *
     * The file's size is compared with the capacity first, before the mapping is touched: a file
     * cut short is not repaired here ({@link #repairFile} restores the size and says what was lost).
     *
     * @return true when the repair ran and left the allocator consistent; false when the lock could
     * not be had, or something could not be fixed ({@link #repairNotes()} names it)
     * @throws ArenaFaultException     if the file is shorter than the capacity, or is cut short during the repair
     * @throws IllegalStateException   if the arena is closed or was opened read-only
     */
    boolean repair(final long timeoutNanos) {
        return repair(timeoutNanos, null);
    }

    /** {@link #repair(long)}, keeping the pages of {@code heldPages} ALLOCATED (see {@code ArenaInternals.repair}). */
    boolean repair(final long timeoutNanos, final java.util.BitSet heldPages) {
        requireWholeFile("repair");
        try {
            return repairLocked(timeoutNanos, heldPages);
        } catch (final InternalError e) {
            throw fault("repair", e);
        }
    }

    private boolean repairLocked(final long timeoutNanos, final java.util.BitSet heldPages) {
        final var r = lock().lock(timeoutNanos);
        if (r == LockResult.DEADLOCK) {
            return allocator().recoverLocked(heldPages).isEmpty();
        }
        if (!r.acquired()) {
            return false;
        }
        try {
            return allocator().recoverLocked(heldPages).isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return what the last repair by this attachment could not fix, then what it fixed only by a
     * safe guess (a page whose state word held no state is kept allocated), one line each
     */
    java.util.List<String> repairNotes() {
        return allocator().repairNotes();
    }

    /** The process registry (see {@link ArenaInternals#registry}). */
    ProcessRegistry registry() {
        return registry;
    }

    /**
     * @return this attachment's ownership: how shared structures (locks, channel lanes, consumers)
     * record this process, or one of its threads, as their owner
     * @throws IllegalStateException if the arena was opened read-only
     */
    Ownership ownership() {
        if (ownership == null) {
            throw Errors.readOnly(path);
        }
        return ownership;
    }

    /** @return this attachment's registry slot, -1 if read-only */
    int slot() {
        return slot;
    }

    /** @return the whole arena as one segment, offset 0 being arena pointer 0 */
    MemorySegment segment() {
        return mapping.segment();
    }

    /** @return the absolute address of {@code ptr} in this process: see {@link ArenaPointers#address} */
    long address(final int ptr) {
        return ArenaPointers.address(mapping.base(), ptr);
    }

    /** @return the arena pointer of an absolute address inside this process's window */
    int pointer(final long address) {
        return ArenaPointers.pointer(mapping.base(), address);
    }

    /** @return this process's window base; its low 32 bits are zero */
    long base() {
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

    int metaPages() {
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

    /**
     * @return a snapshot of header fields, mapping, file size and memory/disk cost (makes system
     * calls; the size is read first, and the mapping is only asked about through {@code mincore},
     * which never faults)
     * @throws IOException           if a system call fails
     * @throws IllegalStateException if the arena is closed
     */
    public ArenaInfo info() throws IOException {
        requireOpen();
        final long size = file.size();
        final ArenaHeader.Copies copies = ArenaHeader.read(file, size);
        return new ArenaInfo(path, header.formatVersion(), header.pageSize(), header.capacityPages(),
            header.metaPages(), header.flags(), header.arenaId(), header.createdMillis(), header.fixedAddress(),
            mapping.base(), mapping.length(), mapping.residentBytes(header.pageSize()), file.dataBytes(), size,
            copies.damage() == null ? "" : copies.damage());
    }

    /**
     * @return the pages whose storage holds data (not a hole) by {@code SEEK_DATA}/{@code SEEK_HOLE},
     * or null when the file system cannot say: what a scan that must not fault in a sparse file's
     * holes (each would cost memory on tmpfs) may read
     */
    java.util.BitSet pagesWithData() {
        final java.util.BitSet pages = new java.util.BitSet();
        final long pageSize = Geometry.PAGE_SIZE;
        final long last = header.capacityPages();
        try {
            file.dataRanges((from, to) -> pages.set((int) Math.min(last, from / pageSize),
                (int) Math.min(last, (to + pageSize - 1) / pageSize)));
        } catch (final OsException e) {
            return null;
        }
        return pages;
    }

    // ---------------------------------------------------------------- the file itself

    /**
     * Checks the file itself, without touching the mapping: both header copies (each against its
     * checksum, and against each other) and the file's size against the capacity.
     *
     * @return one line per problem, empty when the file is whole
     * @throws ArenaFormatException if no header copy is valid any more
     * @throws IOException          if the file cannot be read
     */
    List<String> checkFile() throws IOException {
        return FileRepair.problems(file, true);
    }

    /**
     * Checks an arena file without mapping it: what {@link #checkFile()} checks, for a file that
     * may not open (a file shorter than its capacity is reported here, not refused).
     *
     * @throws ArenaFormatException  if the file is not a regular file or has no valid header copy
     * @throws NoSuchFileException   if there is no file
     * @throws AccessDeniedException if the path is a symlink or belongs to another user
     * @throws IOException           if the file cannot be read
     */
    public static List<String> checkFile(final Path path) throws IOException {
        try (NativeFile file = ArenaFiles.openChecked(path, false, ArenaOptions.defaults())) {
            return FileRepair.problems(file, false);
        }
    }

    /**
     * Repairs the arena file itself, through the descriptor (nothing is mapped, so nothing can
     * fault): a file cut short gets its size back (a sparse extension: the lost range reads as
     * zeros), a file extended past its capacity is cut back, and a damaged or disagreeing header
     * copy is rewritten from the one {@link #open} uses. Safe while other processes map the file:
     * their accesses to a restored range work again. Run it before {@link #repair(long)}, which
     * rebuilds the allocator's structures from the page states.
     *
     * @return what was done and what was lost, one line each; empty when the file was whole
     * @throws ArenaFormatException  if the file is not a regular file or no header copy is valid (nothing to repair from)
     * @throws NoSuchFileException   if there is no file
     * @throws AccessDeniedException if the path is a symlink or belongs to another user
     * @throws IOException           if the file cannot be written
     */
    static List<String> repairFile(final Path path) throws IOException {
        return repairFile(path, false);
    }

    /**
     * {@link #repairFile(Path)}; {@code recordCut}: a file cut short gets the cut recorded in its
     * header before its size is restored, for a tool that repairs the structures inside next and
     * clears the record then ({@code ArenaInternals.repairFile}, {@code check --repair})
     */
    static List<String> repairFile(final Path path, final boolean recordCut) throws IOException {
        try (NativeFile file = ArenaFiles.openChecked(path, true, ArenaOptions.defaults())) {
            return FileRepair.repair(file, recordCut);
        }
    }

    // ---------------------------------------------------------------- faults

    /**
     * Runs {@code action} (a tool's read of the mapping: a check, statistics) after comparing the
     * file's size with the capacity, and turns a fault inside it (the file cut short meanwhile)
     * into {@link ArenaFaultException}.
     *
     * @throws ArenaFaultException if the file is shorter than the capacity, or is cut short during the action
     */
    <T> T guarded(final String operation, final Supplier<T> action) {
        requireWholeFile(operation);
        try {
            return action.get();
        } catch (final InternalError e) {
            throw fault(operation, e);
        }
    }

    /** Throws {@link ArenaFaultException} if the file is now shorter than the mapping. */
    private void requireWholeFile(final String operation) {
        final long size;
        try {
            size = file.size();
        } catch (final OsException e) {
            throw new UncheckedIOException(e);
        }
        if (size < header.capacityBytes()) {
            throw new ArenaFaultException(path, size, header.capacityBytes(), operation, null);
        }
    }

    /** The fault a call raised on the mapping, as an exception naming the file and its size. */
    ArenaFaultException fault(final String operation, final InternalError e) {
        return ArenaFiles.faultFor(path, file, header, operation, e);
    }

    /**
     * Unmaps at once, touching no shared state and taking no monitor: every later access from any
     * thread throws {@link IllegalStateException}, which is how a test's watchdog stops a thread
     * caught in an endless walk of corrupted metadata. The descriptor stays open (leaked).
     */
    void abandonMapping() {
        mapping.close();
    }

    /**
     * How long close waits for the allocator's lock: a second, or up to {@link #CLOSE_WAIT_NANOS}
     * while another thread of this process holds it. That thread is inside an allocator call on
     * this arena; unmapping under it would leave the lock held in its name (its release faults on
     * the unmapped word) for as long as this process lives, every other process's locked
     * allocations timing out meanwhile.
     */
    private long closeTimeoutNanos() {
        final long holder = lock.ownerWord();
        return holder != 0 && ownership.isMine(holder) ? CLOSE_WAIT_NANOS : OPEN_RECOVERY_TIMEOUT_NANOS;
    }

    /**
     * Gives back this process's cached pages, applies pending frees, leaves the registry, unmaps the
     * arena and closes the file. While another thread of this process is inside an allocator call
     * holding the lock, close waits for it (30 s at most). If the lock stays busy for a second
     * (its holder, in another process, is stopped), the
     * registry slot is left for the next repair to reclaim once this process has exited: while the
     * holder stays stopped, each such close keeps one of the registry's slots, so a process that
     * opens and closes the arena over and over meanwhile uses them all up (then every open fails
     * with an {@link IOException} saying each slot is taken by a live process) until that process
     * exits. Idempotent;
     * later accesses throw {@link IllegalStateException}.
     *
     * @throws IOException             if the file was cut short under the mapping (then it is unmapped
     *                                 without giving anything back; the message names the sizes), or
     *                                 closing the descriptor fails
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (allocator != null) {
            allocator.stopPurger(); // its thread must not touch the mapping once it is gone
        }
        try {
            // Compare the size before touching the mapping: detaching writes the control page.
            final long size = file.size();
            if (size < header.capacityBytes()) {
                throw new IOException("arena " + Errors.sizeMismatch(size, header.capacityBytes()) + ": truncated while mapped; "
                    + (allocator == null ? "unmapped" : "unmapped without giving back this process's cached pages")
                    + ": path=" + path);
            }
            if (allocator != null && allocator.detach(closeTimeoutNanos())) {
                registry.release(slot);
            }
        } catch (final InternalError shrunk) {
            // Cut short between the size check and the detach: unmap regardless.
            final ArenaFaultException f = fault("close", shrunk);
            throw new IOException(f.getMessage() + "; unmapped without giving back this process's cached pages", f);
        } finally {
            mapping.close();
            file.close();
        }
    }
}
