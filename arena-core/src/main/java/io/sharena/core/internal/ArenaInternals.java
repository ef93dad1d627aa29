package io.sharena.core.internal;

import io.sharena.core.ArenaPointers;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;
import io.sharena.core.owner.ArenaLock;
import io.sharena.core.owner.Ownership;
import io.sharena.core.owner.ProcessRegistry;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * What the arena's own layers (the IPC structures, the command-line tools, the checker) need of a
 * {@link SharedArena} beyond its public API: the mapping as one segment, the allocator's lock, the
 * process registry and this attachment's ownership, the repair entry points, and the control-page
 * word that names the named-roots directory.
 *
 * <p>Not for applications: this package is exported only to sharena's own modules
 * ({@code io.sharena.ipc}, {@code io.sharena.cli}); arena-bench and the tests, which run on the
 * class path, reach it as any public class. Every method is a thin call into the arena: the arena
 * installs its {@link Access} when its class is initialized (the pattern of the JDK's
 * {@code SharedSecrets}), so nothing here can see more than the arena hands over.
 */
public final class ArenaInternals {
    /** The arena's side of this facade, installed once by {@link SharedArena}'s class initializer. */
    public interface Access {
        ArenaLock lock(SharedArena arena);

        ProcessRegistry registry(SharedArena arena);

        Ownership ownership(SharedArena arena);

        int slot(SharedArena arena);

        MemorySegment segment(SharedArena arena);

        long base(SharedArena arena);

        int metaPages(SharedArena arena);

        boolean repair(SharedArena arena, long timeoutNanos, java.util.BitSet heldPages);

        java.util.BitSet pagesWithData(SharedArena arena);

        List<String> repairNotes(SharedArena arena);

        List<String> checkFile(SharedArena arena) throws IOException;

        List<String> repairFileRecordingCut(Path path) throws IOException;

        <T> T guarded(SharedArena arena, String operation, Supplier<T> action);

        int allocPagesInto(SharedArena arena, int n, long dest);
    }

    /** The control-page word that holds the named-roots directory's pointer. */
    private static final int ROOTS_WORD = (int) ControlLayout.word(ControlLayout.ROOTS_PTR);

    private static volatile Access access;

    private ArenaInternals() {
    }

    /**
     * Installs the arena's side; called once, by {@link SharedArena}'s class initializer.
     *
     * @throws IllegalStateException if it is already installed
     */
    public static void install(final Access arenaSide) {
        if (access != null) {
            throw new IllegalStateException("arena internals already installed");
        }
        access = arenaSide;
    }

    private static Access access() {
        Access a = access;
        if (a == null) {
            // Only the static entry points get here before any arena exists: initialize the class.
            try {
                Class.forName(SharedArena.class.getName(), true, SharedArena.class.getClassLoader());
            } catch (final ClassNotFoundException e) {
                throw new AssertionError(e);
            }
            a = access;
        }
        return a;
    }

    /**
     * @return the allocator's lock, for tools and tests (the allocator takes it itself; users take
     * a {@code SharedLock} of their own)
     * @throws IllegalStateException if the arena was opened read-only
     */
    public static ArenaLock lock(final SharedArena arena) {
        return access().lock(arena);
    }

    /** @return the arena's process registry (read without locks) */
    public static ProcessRegistry registry(final SharedArena arena) {
        return access().registry(arena);
    }

    /**
     * @return this attachment's ownership: how shared structures (locks, channel lanes, consumers)
     * record this process, or one of its threads, as their owner
     * @throws IllegalStateException if the arena was opened read-only
     */
    public static Ownership ownership(final SharedArena arena) {
        return access().ownership(arena);
    }

    /**
     * @return the pids of the live processes attached to the arena, this attachment left out (all of
     * them for a read-only one, which has no slot): repairs that need a quiet structure refuse while
     * there are any
     */
    public static List<Long> otherLiveProcesses(final SharedArena arena) {
        final ProcessRegistry registry = registry(arena);
        final int mine = slot(arena);
        final List<Long> pids = new java.util.ArrayList<>();
        for (int s = 0; s < io.sharena.core.layout.RegistryLayout.SLOTS; s++) {
            if (s != mine && registry.isAlive(s)) {
                pids.add(registry.pid(s));
            }
        }
        return pids;
    }

    /** @return this attachment's registry slot, -1 if read-only */
    public static int slot(final SharedArena arena) {
        return access().slot(arena);
    }

    /** @return the whole arena as one segment, offset 0 being arena pointer 0 */
    public static MemorySegment segment(final SharedArena arena) {
        return access().segment(arena);
    }

    /** @return this process's window base; its low 32 bits are zero */
    public static long base(final SharedArena arena) {
        return access().base(arena);
    }

    /** @return the absolute address of {@code ptr} in this process (see {@link ArenaPointers#address}) */
    public static long address(final SharedArena arena, final int ptr) {
        return ArenaPointers.address(base(arena), ptr);
    }

    /**
     * Asks the kernel to map {@code [ptr, ptr + bytes)} of this process's window with 2 MiB
     * entries where it can ({@code MADV_HUGEPAGE} on the whole 2 MiB blocks inside the range).
     * Advice only: the bytes and every other process's view stay as they are.
     *
     * @return whether the kernel took the advice (false where transparent huge pages are off or
     * the range holds no whole block)
     */
    public static boolean adviseHugePages(final SharedArena arena, final int ptr, final long bytes) {
        final long block = 2L << 20;
        final long from = address(arena, ptr);
        // Never past what this process maps of the file.
        final long mapped = base(arena) + segment(arena).byteSize();
        final long start = (from + block - 1) & -block;
        final long end = Math.min(from + Math.max(0, bytes), mapped) & -block;
        if (end <= start) {
            return false;
        }
        try {
            Posix.madvise(start, end - start, Posix.MADV_HUGEPAGE);
            return true;
        } catch (final OsException e) {
            return false;
        }
    }

    /** @return the arena pointer of an absolute address inside this process's window */
    public static int pointer(final SharedArena arena, final long address) {
        return ArenaPointers.pointer(base(arena), address);
    }

    /** @return the number of metadata pages (control, registry, page table) after the header page */
    public static int metaPages(final SharedArena arena) {
        return access().metaPages(arena);
    }

    /**
     * Repairs the free structures from the page states, after freeing what dead processes left in
     * transit and taking every span cache back into the lists. Takes the lock (waiting up to
     * {@code timeoutNanos}). The file's size is compared with the capacity first: a file cut short
     * is not repaired here ({@link #repairFile} restores the size and says what was lost).
     *
     * @return true when the repair ran and left the allocator consistent; false when the lock could
     * not be had, or something could not be fixed ({@link #repairNotes} names it)
     * @throws io.sharena.core.ArenaFaultException     if the file is shorter than the capacity, or is
     *                                                 cut short during the repair
     * @throws IllegalStateException                   if the arena is closed or was opened read-only
     */
    public static boolean repair(final SharedArena arena, final long timeoutNanos) {
        return access().repair(arena, timeoutNanos, null);
    }

    /**
     * {@link #repair(SharedArena, long)}, keeping every page of {@code heldPages} ALLOCATED whatever
     * its state word says (but a live process's PENDING page): the pages a structure found through
     * the named roots holds, as a repair tool reads them before it repairs. A page table damaged to
     * call such a page free would otherwise have it linked into the lists and punched out, its
     * contents lost and the page handed to a second owner; {@link #repairNotes} counts the pages kept so.
     *
     * @param heldPages page numbers, or null for none
     */
    public static boolean repair(final SharedArena arena, final long timeoutNanos, final java.util.BitSet heldPages) {
        return access().repair(arena, timeoutNanos, heldPages);
    }

    /**
     * @return the pages of the arena whose storage holds data, by {@code SEEK_DATA}/{@code SEEK_HOLE}
     * (a page never written, or punched out, is a hole), or null when the file system cannot say. A
     * scan of pages in any state reads only these: reading a hole of a file on tmpfs gives it memory.
     */
    public static java.util.BitSet pagesWithData(final SharedArena arena) {
        return access().pagesWithData(arena);
    }

    /**
     * @return what the last repair by this attachment could not fix, then what it fixed only by a
     * safe guess (a page whose state word held no state is kept allocated), one line each
     */
    public static List<String> repairNotes(final SharedArena arena) {
        return access().repairNotes(arena);
    }

    /**
     * @return the size the file was cut to before a {@code check --repair} restored it, while the
     * repair of what the cut reached is unfinished ({@link io.sharena.core.layout.HeaderLayout#CUT_SIZE}):
     * the structures read zeros from that byte on; {@link Long#MAX_VALUE} if there is none (or the
     * record is garbled: {@code checkFile} names that)
     */
    public static long unrepairedCut(final SharedArena arena) {
        final MemorySegment s = segment(arena);
        final long cut = io.sharena.core.layout.HeaderLayout.cutOf(
            s.get(java.lang.foreign.ValueLayout.JAVA_LONG, io.sharena.core.layout.HeaderLayout.CUT_SIZE),
            s.get(java.lang.foreign.ValueLayout.JAVA_LONG, io.sharena.core.layout.HeaderLayout.CUT_CHECK), arena.capacityBytes());
        return cut > 0 ? cut : Long.MAX_VALUE;
    }

    /**
     * Clears the record of {@link #unrepairedCut}: call once every structure the cut reached is
     * repaired. The size word goes first, and a size of 0 is no record whatever the check word
     * holds, so the clear is one store; the check word's is tidying.
     */
    public static void cutRepaired(final SharedArena arena) {
        final MemorySegment s = segment(arena);
        s.set(java.lang.foreign.ValueLayout.JAVA_LONG, io.sharena.core.layout.HeaderLayout.CUT_SIZE, 0L);
        io.sharena.core.crash.CrashPoints.at(CutRepairPoint.CUT_SIZE_CLEARED);
        s.set(java.lang.foreign.ValueLayout.JAVA_LONG, io.sharena.core.layout.HeaderLayout.CUT_CHECK, 0L);
    }

    /**
     * Checks the open arena's file without touching the mapping: what
     * {@link SharedArena#checkFile(Path)} checks, through the descriptor already open.
     *
     * @return one line per problem, empty when the file is whole
     */
    public static List<String> checkFile(final SharedArena arena) throws IOException {
        return access().checkFile(arena);
    }

    /**
     * Repairs the arena file itself, through the descriptor (nothing is mapped, so nothing can
     * fault): a file cut short gets its size back (a sparse extension: the lost range reads as
     * zeros), a file extended past its capacity is cut back, and a damaged or disagreeing header
     * copy is rewritten from the one {@code open} uses. Safe while other processes map the file.
     * Run it before {@link #repair}, which rebuilds the allocator's structures from the page states.
     * A file cut short gets the cut recorded in its header first ({@link #unrepairedCut}): the caller
     * repairs the structures the cut reached next and then clears it ({@link #cutRepaired}), and a
     * caller killed before that leaves the record to the next repair.
     *
     * @return what was done and what was lost, one line each; empty when the file was whole
     * @throws io.sharena.core.ArenaFormatException if the file is not a regular file or no header
     *                                              copy is valid (nothing to repair from)
     * @throws IOException                          if the file cannot be opened or written
     */
    public static List<String> repairFile(final Path path) throws IOException {
        return access().repairFileRecordingCut(path);
    }

    /**
     * Runs {@code action} (a tool's read of the mapping: a check, statistics) after comparing the
     * file's size with the capacity, and turns a fault inside it (the file cut short meanwhile)
     * into {@link io.sharena.core.ArenaFaultException}.
     */
    public static <T> T guarded(final SharedArena arena, final String operation, final Supplier<T> action) {
        return access().guarded(arena, operation, action);
    }

    // ---------------------------------------------------------------- the named-roots word

    /** @return the arena pointer of the named-roots directory (an acquire load), 0 when there is none */
    public static int rootsDirectory(final SharedArena arena) {
        return arena.raw().getIntAcquire(ROOTS_WORD);
    }

    /**
     * Allocates the named-roots directory's {@code pages} zeroed pages straight into the control
     * page's roots word, as {@link SharedArena#allocPagesInto} does for a word of the user pages: a
     * creator killed at any instant leaves the word 0 and the pages free, or the word naming them.
     *
     * @return the directory's pointer, or 0 with nothing allocated (the word was taken, no room, or
     * the lock timed out: read {@link #rootsDirectory})
     */
    public static int allocRootsDirectory(final SharedArena arena, final int pages) {
        return access().allocPagesInto(arena, pages, ROOTS_WORD);
    }

    /**
     * Sets the arena's named-roots directory pointer from {@code expected} to {@code directory} with
     * one compare-and-set. The roots' repair uses it to drop a corrupted directory (to 0); a new
     * directory is installed by {@link #allocRootsDirectory}, which allocates and publishes in one
     * crash-safe step, never by this.
     *
     * @return whether the word held {@code expected} and now holds {@code directory}
     */
    public static boolean compareAndSetRootsDirectory(final SharedArena arena, final int expected,
                                                      final int directory) {
        return arena.raw().compareAndSetInt(ROOTS_WORD, expected, directory);
    }
}
