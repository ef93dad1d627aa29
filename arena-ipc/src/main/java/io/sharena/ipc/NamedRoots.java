package io.sharena.ipc;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFullException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.ipc.layout.RootsLayout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * Named roots: a small directory in the arena from names (UTF-8, at most
 * {@value RootsLayout#MAX_NAME} bytes) to arena pointers, so that independent processes find the
 * structures they share.
 *
 * <pre>{@code
 * NamedRoots roots = NamedRoots.of(arena);
 * roots.put("orders", ptr);           // in one process
 * int ptr = roots.get("orders");      // in another; 0 when absent
 * }</pre>
 *
 * <p><b>Concurrency</b>: {@link #get}, {@link #put} and {@link #compareAndSet} on an existing name
 * are lock-free: they find the entry, read its version-tagged value, re-check that the entry still
 * holds their name LIVE, and then read the value again (get) or compare-and-set it (put, CAS).
 * Every change of an entry bumps the value's version (update, remove, reuse for another name), so
 * an entry removed and reused between the find and the value access is never mistaken for the name
 * (the second read or the CAS sees another version). Adding and removing names is rare and takes
 * the directory's own lock (a user lock in its header page, never the page allocator's), so two
 * processes never add the same name twice.
 *
 * <p><b>Crash model</b>: an entry is claimed (WRITING), its name written, its value written, then
 * published LIVE with a release store, all under the lock; a holder killed halfway leaves a WRITING
 * entry that readers skip, and the lock held by a dead process: the next adder or remover takes
 * the lock over (RECOVERED) and repairs the directory before going on. A remove marks the
 * entry WRITING and clears its name length, marks it REMOVED, then bumps its value's version;
 * killed before REMOVED, the entry is half-written and the next repair removes it, killed after,
 * the version is bumped by whoever reuses the entry. A tombstone has no name: an entry whose state
 * a stray write set to REMOVED (or EMPTY) with its name and pointer whole is told from one. The directory's zeroed pages are allocated straight into the arena's
 * control-page word in one allocator step ({@code ArenaInternals.allocRootsDirectory}, as
 * {@link SharedArena#allocPagesInto}): a process killed at any instant leaves the word 0 and the
 * pages free, or the directory installed; its magic is written last, by CAS, by whoever attaches
 * first. {@link #create} makes a structure under a name in one crash-safe step the same way (its
 * pages allocated into the name's entry, formatted under the lock, a dead creator's unfinished
 * creation undone by the lock's next holder).
 *
 * <p><b>Corruption</b>: what is read from the directory (states, name lengths, the directory
 * pointer) is checked before use; a value out of range marks the directory for repair and throws
 * {@link ArenaCorruptedException}. {@link #check} reports, {@link #repair} fixes.
 *
 * <p><b>Busy and full</b>: a lock not had in time (a live or stopped holder) throws
 * {@link ArenaBusyException}; no room in the arena for the directory, or a directory whose every
 * entry is live, throws {@link ArenaFullException}. Both are {@link IllegalStateException}s, which
 * the methods below name, and change nothing.
 *
 * <p>This class holds the lookups, the lock-free updates, adds and removes, and the directory's
 * lock; {@link RootsEntries} reads and writes single entries, {@link RootsCreation} runs creations
 * and undoes a dead creator's, and {@link RootsRepair} checks and repairs.
 */
public final class NamedRoots {
    private static final long LOCK_TIMEOUT_NANOS = 100_000_000L;
    /** No entry: 0, which no entry is at (an entry in the arena's top half reads as a negative int). */
    private static final int NO_SLOT = 0;

    private final SharedArena arena;
    private final ArenaView view;
    private final int directory;
    private final RootsEntries entries;
    private final RootsCreation creation;
    private final RootsRepair repairs;
    /** The directory's own lock (a user lock in its header page), made on first use: read-only tools never lock. */
    private SharedLock lock;

    NamedRoots(final SharedArena arena, final int directory) {
        this.arena = arena;
        this.view = arena.raw();
        this.directory = directory;
        this.entries = new RootsEntries(view, directory);
        this.creation = new RootsCreation(this, entries, arena, directory);
        this.repairs = new RootsRepair(entries, creation, arena, directory);
    }

    /**
     * @return the arena's roots, creating the directory if this is the first use
     * @throws ArenaFullException      if the arena has no room for the directory
     * @throws ArenaCorruptedException if the control page names a directory that is not one, or
     *                                 names none while a directory lies in the arena (its pointer zeroed)
     */
    public static NamedRoots of(final SharedArena arena) {
        int dir = ArenaInternals.rootsDirectory(arena);
        if (dir == 0) {
            final int lost = RootsRepair.lostDirectory(arena);
            // Read the pointer again after the scan: a directory another process made meanwhile is not lost.
            if (lost != 0 && (dir = ArenaInternals.rootsDirectory(arena)) == 0) {
                // Its pointer zeroed by a stray write: a new directory beside it would lose every root.
                throw new ArenaCorruptedException("named-roots pointer", 0, "zeroed, while a directory no pointer leads to"
                    + " is at page=" + Integer.toUnsignedLong(lost) / io.sharena.core.layout.Geometry.PAGE_SIZE + " (check --repair restores it)");
            }
        }
        if (dir == 0) {
            // One allocator step allocates the zeroed pages (every entry EMPTY) and installs their
            // pointer in the control page: a creator killed at any instant leaves the word 0 and the
            // pages free, or the directory installed. Of racing creators exactly one installs; the
            // others get 0 with nothing allocated and read the winner's.
            final long start = System.nanoTime();
            while ((dir = ArenaInternals.allocRootsDirectory(arena, RootsLayout.PAGES)) == 0
                && (dir = ArenaInternals.rootsDirectory(arena)) == 0
                && System.nanoTime() - start < Pages.SETUP_TIMEOUT_NANOS) {
                LockSupport.parkNanos(100_000); // the allocator's lock was busy, or no room yet
            }
            if (dir == 0) {
                throw new ArenaFullException("no room for the named-roots directory: pages=" + RootsLayout.PAGES
                    + ", path=" + arena.path());
            }
            CrashPoints.at(RootsPoint.DIRECTORY_ALLOCATED);
        }
        if (Pages.inUserRange(arena, dir, RootsLayout.PAGES) && RootsRepair.pagesProblem(arena, dir) == null) {
            // The magic goes last, by whoever attaches first: its creator, or the next user if it died.
            // Never into pages that are not allocated: they are anyone's to be handed.
            arena.raw().compareAndSetInt(dir + RootsLayout.MAGIC, 0, RootsLayout.MAGIC_VALUE);
        }
        return attach(arena, dir);
    }

    /**
     * @return the arena's roots if it has a directory, without creating one (for read-only tools)
     * @throws ArenaCorruptedException if the control page names a directory that is not one
     */
    public static Optional<NamedRoots> existing(final SharedArena arena) {
        final int dir = ArenaInternals.rootsDirectory(arena);
        return dir == 0 ? Optional.empty() : Optional.of(attach(arena, dir));
    }

    /** Validates the directory once, when attaching: where it is, that its pages are allocated, and its magic. */
    private static NamedRoots attach(final SharedArena arena, final int dir) {
        String problem = RootsRepair.directoryProblem(arena, dir);
        if (problem == null) {
            problem = RootsRepair.pagesProblem(arena, dir);
        }
        if (problem != null) {
            throw new ArenaCorruptedException("named-roots directory", Integer.toUnsignedLong(dir), problem);
        }
        return new NamedRoots(arena, dir);
    }

    static byte[] encode(final String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("root name must not be empty: name=" + name);
        }
        final byte[] bytes;
        try {
            // Reporting, not replacing: getBytes turns a lone surrogate into '?', so "\uD800" and
            // "?" were one name.
            final java.nio.ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                .encode(java.nio.CharBuffer.wrap(name));
            bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
        } catch (final java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("root name is not valid Unicode (a lone surrogate): name="
                + name.codePoints().mapToObj(cp -> String.format("U+%04X", cp)).toList());
        }
        if (bytes.length > RootsLayout.MAX_NAME) {
            throw new IllegalArgumentException("root name too long: bytes=" + bytes.length + ", max="
                + RootsLayout.MAX_NAME + ", name=" + name);
        }
        return bytes;
    }

    /** @return the entry index the probe for {@code name} starts at */
    static int hash(final byte[] name) {
        int h = 0x811C9DC5;
        for (final byte b : name) {
            h = (h ^ (b & 0xFF)) * 0x01000193;
        }
        return h & (RootsLayout.ENTRIES - 1);
    }

    /**
     * @return the pointer stored under {@code name}, or 0 (NULL) when there is none
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public int get(final String name) {
        return read(encode(name), false);
    }

    /**
     * {@link #get}, for read-only tools, which never lock and never wait: 0 also while the name's
     * structure is being created (its creator is formatting it, or died doing so, and the next user
     * of the roots undoes the creation), so a tool never reads a structure that is not whole yet as
     * a corrupted one. Exact only on a quiet arena.
     *
     * @return the pointer of the finished structure under {@code name}, or 0
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public int getFinished(final String name) {
        return read(encode(name), true);
    }

    /** {@link #get}, and {@link #getFinished} if {@code finishedOnly}. */
    private int read(final byte[] bytes, final boolean finishedOnly) {
        while (true) {
            final int e = entries.find(bytes);
            if (e == 0) {
                return 0;
            }
            CrashPoints.at(RootsPoint.FOUND);
            final long v = view.getLongAcquire(e + RootsLayout.VALUE);
            // Read after the value: a creation records itself before its allocation publishes the
            // pointer, so a creation's pointer read above is seen here with its record.
            final boolean creating = finishedOnly && creation.creatingIn(e);
            // The entry may have been removed and reused since find: the value is the name's only if
            // the entry still holds the name and the version did not move meanwhile.
            if (entries.holds(e, bytes) && view.getLongAcquire(e + RootsLayout.VALUE) == v) {
                return creating ? 0 : RootsLayout.pointerOf(v);
            }
        }
    }

    /** @return whether {@code name} exists */
    public boolean contains(final String name) {
        return entries.find(encode(name)) != 0;
    }

    /**
     * Sets {@code name} to {@code ptr} only if it now holds {@code expected} (0 = absent: then the
     * name is added).
     *
     * @return whether it was set
     * @throws IllegalStateException    if the name must be added and the directory is full or its
     *                                  lock could not be had in 100 ms
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public boolean compareAndSet(final String name, final int expected, final int ptr) {
        final byte[] bytes = encode(name);
        creation.settleCreation();
        while (true) {
            final int e = entries.find(bytes);
            if (e == 0) {
                if (expected != 0) {
                    return false;
                }
                final int added = insert(bytes, ptr);
                if (added != NO_SLOT) {
                    return true;
                }
                continue; // added meanwhile by another process: compare with its value
            }
            CrashPoints.at(RootsPoint.FOUND);
            final long v = view.getLongAcquire(e + RootsLayout.VALUE);
            if (!entries.holds(e, bytes)) {
                continue; // removed (and maybe reused) since find
            }
            if (creation.creationInFlight()) {
                continue; // v may be a creation's pointer, its structure not finished: waited for, read again
            }
            if (RootsLayout.pointerOf(v) != expected) {
                return false;
            }
            CrashPoints.at(RootsPoint.PUT_CHECKED);
            // A CAS against v read before the re-check: it fails if the entry changed since.
            if (view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, ptr))) {
                return true;
            }
        }
    }

    /** Sets up a structure in its freshly allocated, zeroed pages (under the directory's lock). */
    @FunctionalInterface
    public interface Format {
        void format(int ptr);
    }

    /**
     * Creates the structure named {@code name} as one crash-safe step: unless the name already holds
     * a pointer, allocates {@code pages} zeroed pages straight into the name's entry
     * ({@link SharedArena#allocPagesInto}) and runs {@code format} on them, all under the directory's
     * lock, with the entry recorded as being created. A creator killed at any instant leaves either
     * nothing (the name absent, no page allocated) once the next user of the directory has repaired,
     * or the structure whole: the repair frees the pages of a creation killed before its format
     * returned from its entry ({@link SharedArena#freePagesFrom}) and drops the name, and keeps one
     * killed after. Never pages no one can find, never a name naming half a structure for good.
     *
     * <p>Between the allocation and the end of the creation, {@link #get} already returns the
     * pointer: users of the structure read the name with {@link #getCreated}, which waits for a
     * creation in flight, and read-only tools with {@link #getFinished}, which sees none until it is over. {@code format} must be quick (it holds the directory's lock: other adds and
     * removes wait) and must not use this directory.
     *
     * @return the pointer the name holds now: the new structure's, or the one it held already
     * ({@code format} not run); 0 if the arena has no room for the pages (nothing changed)
     * @throws IllegalStateException    if the directory is full or its lock could not be had in time, or a
     *                                  dead creator's creation could not be undone yet (try again)
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public int create(final String name, final int pages, final Format format) {
        return creation.create(name, pages, format);
    }

    /**
     * Waits until no creation is in flight in the directory (a {@link #create} holds its lock
     * throughout), repairing after a creator that died: for a reader that found a structure its
     * creator had not finished formatting. Read the name again afterwards: it names the finished
     * structure, or nothing.
     *
     * @throws IllegalStateException if the lock could not be had in time, or a dead creator's creation
     *                               could not be undone yet (the allocator's lock stayed busy; try again)
     */
    public void awaitCreation() {
        creation.settle();
    }

    /**
     * {@link #get}, for a user about to use the structure a name holds: if a creation is in flight in
     * the directory, waits for it first ({@link #awaitCreation}), so the pointer returned names a
     * whole structure, never one whose creator is still formatting it or died before it was finished
     * (the repair then undoes it and this returns 0).
     *
     * @throws IllegalStateException if a creation is in flight and the lock could not be had in time, or
     *                               a dead creator's creation could not be undone yet (try again)
     */
    public int getCreated(final String name) {
        while (true) {
            final int ptr = get(name);
            // Checked after the value was read: a creation records itself before its allocation
            // publishes the pointer, so a pointer read here whose creation is still in flight is seen
            // with its record (a check before the read alone misses a creation that begins between).
            if (!creation.creationInFlight()) {
                return ptr;
            }
        }
    }

    /**
     * Sets {@code name} to {@code ptr}, adding the name if needed.
     *
     * @return the pointer it held before, 0 if it was absent
     * @throws IllegalStateException    if the directory is full or the lock could not be had in 100 ms
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public int put(final String name, final int ptr) {
        final byte[] bytes = encode(name);
        creation.settleCreation();
        while (true) {
            final int e = entries.find(bytes);
            if (e != 0) {
                CrashPoints.at(RootsPoint.FOUND);
                final long v = view.getLongAcquire(e + RootsLayout.VALUE);
                if (entries.holds(e, bytes) && !creation.creationInFlight()) {
                    CrashPoints.at(RootsPoint.PUT_CHECKED);
                    if (view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, ptr))) {
                        return RootsLayout.pointerOf(v);
                    }
                }
                continue;
            }
            if (insert(bytes, ptr) != NO_SLOT) {
                return 0;
            }
        }
    }

    // ---------------------------------------------------------------- the directory's lock

    /**
     * Takes the directory's lock. Adders and removers contend only with each other, never with the
     * page allocator. RECOVERED means a holder died in the middle of an add or remove: the
     * directory is repaired (its half-written entry cleared) before going on.
     */
    LockResult lock(final long timeoutNanos, final String what, final byte[] name) {
        if (lock == null) {
            lock = arena.lockAt(directory + RootsLayout.LOCK);
        }
        // A stray process token (thread 0) in the word is taken over as a dead holder's: RECOVERED.
        final LockResult r = lock.lock(timeoutNanos);
        if (r == LockResult.TIMEOUT) {
            throw new ArenaBusyException("named-roots lock busy for " + timeoutNanos / 1_000_000 + " ms; " + what
                + (name == null ? "" : ": name=" + new String(name, StandardCharsets.UTF_8)));
        }
        try {
            if (r == LockResult.RECOVERED) {
                recovered = repairs.repairLocked(true);
            } else if ((view.getLongAcquire(directory + RootsLayout.CREATING) & RootsLayout.CREATING_UNDOING) != 0) {
                creation.undoCreation(false, new ArrayList<>()); // an undo a busy allocator made its repairer leave (with its check)
            }
        } catch (final RuntimeException | Error failed) {
            // A repair that throws (a file cut short, corruption) must not leave this live thread
            // holding the lock, which no one could then take over.
            unlock(r);
            throw failed;
        }
        return r;
    }

    /** What the repair after this attachment's last takeover of the lock did (for {@link #repair(long)} to report). */
    private List<String> recovered = List.of();

    void unlock(final LockResult r) {
        // DEADLOCK: this thread already holds it further up its stack; that frame unlocks.
        if (r != LockResult.DEADLOCK) {
            lock.unlock();
        }
    }

    /**
     * Adds {@code name} under the lock, unless another process added it first.
     *
     * @return the entry, or NO_SLOT if the name appeared meanwhile (the caller retries as an update)
     */
    private int insert(final byte[] name, final int ptr) {
        final LockResult r = lock(LOCK_TIMEOUT_NANOS, "root not added", name);
        try {
            if (entries.find(name) != 0) {
                return NO_SLOT;
            }
            final int start = hash(name);
            for (int i = 0; i < RootsLayout.ENTRIES; i++) {
                final int e = entries.entry((start + i) & (RootsLayout.ENTRIES - 1));
                // WRITING under the lock we hold can only be a dead holder's leftover.
                if (entries.state(e) != RootsLayout.LIVE) {
                    entries.insertAt(e, name, ptr);
                    return e;
                }
            }
            throw new ArenaFullException("named-roots directory full: entries=" + RootsLayout.ENTRIES);
        } finally {
            unlock(r);
        }
    }

    /**
     * Removes {@code name}.
     *
     * @return the pointer it held, 0 if it was absent
     * @throws IllegalStateException    if the lock could not be had in 100 ms
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public int remove(final String name) {
        final byte[] bytes = encode(name);
        final LockResult r = lock(LOCK_TIMEOUT_NANOS, "root not removed", bytes);
        try {
            final int e = entries.find(bytes);
            if (e == 0) {
                return 0;
            }
            return entries.remove(e);
        } finally {
            unlock(r);
        }
    }

    /**
     * Removes {@code name} only if it holds {@code expected} (as {@link #remove(String)} does, under
     * the lock): for whoever gives back what the name points to, which must not go while the name
     * names something else.
     *
     * @return whether it was removed
     * @throws IllegalStateException    if the lock could not be had in 100 ms
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public boolean remove(final String name, final int expected) {
        final byte[] bytes = encode(name);
        final LockResult r = lock(LOCK_TIMEOUT_NANOS, "root not removed", bytes);
        try {
            final int e = entries.find(bytes);
            if (e == 0 || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) != expected) {
                return false;
            }
            // A lock-free put or compare-and-set that checked the entry before it goes WRITING may
            // set another pointer until the version moves: that put came first, so this remove of
            // expected fails, and the entry stays LIVE with the put's pointer, its name never cleared
            // (a remover killed at any step leaves that pointer under the whole name).
            return entries.removeUnlessChanged(e, expected);
        } finally {
            unlock(r);
        }
    }

    /**
     * Gives back a structure made with {@link #create}: if {@code name} names {@code expected}, the
     * pointer is taken out of the name's entry and its {@code pages} freed as one crash-safe step
     * ({@link SharedArena#freePagesFrom}), then the name is removed. A process killed at any instant
     * leaves the pages allocated and named, or freed and the name naming nothing ({@link #create}
     * makes it anew), never pages no one can find; with {@link #remove(String, int)} then
     * {@code freePages}, a kill in between leaks them.
     *
     * @return whether the name named {@code expected} and its pages were freed; false with nothing
     * changed if it names something else, or if the allocator's lock stayed busy (try again)
     * @throws IllegalStateException    if the directory's lock could not be had in time
     * @throws IllegalArgumentException if {@code expected} does not name {@code pages} user pages
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public boolean removeAndFree(final String name, final int expected, final int pages) {
        final byte[] bytes = encode(name);
        if (pages < 1 || !Pages.inUserRange(arena, expected, pages)) {
            throw new IllegalArgumentException("not a range of user pages: ptr=0x" + Integer.toHexString(expected)
                + ", pages=" + pages + ", name=" + name);
        }
        final LockResult r = lock(Pages.SETUP_TIMEOUT_NANOS, "nothing removed", bytes);
        try {
            final int e = entries.find(bytes);
            if (e == 0 || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) != expected) {
                return false;
            }
            // The version moves before the pointer goes (as an undo's does): a lock-free put or
            // compare-and-set holding the value read before cannot match once the pointer is 0.
            long v;
            do {
                v = view.getLongAcquire(e + RootsLayout.VALUE);
            } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, RootsLayout.pointerOf(v))));
            // Only the pages of expected: a lock-free put or compare-and-set that read the value
            // after the bump may point the name elsewhere before the free reads the word, and the
            // free must not take that pointer's pages (they are the put's caller's).
            if (!Pages.freeFrom(arena, e + RootsLayout.VALUE, expected, pages, Pages.SETUP_TIMEOUT_NANOS)
                || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) != 0) {
                return false; // the allocator's lock stayed busy, or a put replaced the pointer meanwhile
            }
            CrashPoints.at(RootsPoint.REMOVE_CLEARED);
            if (view.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE) {
                // A lock-free put that finds the name naming nothing may set it until the entry is
                // WRITING: then the put came first, and its pointer stays under the name.
                entries.removeUnlessChanged(e, 0);
            }
            return true;
        } finally {
            unlock(r);
        }
    }

    /**
     * @return every LIVE name and its pointer, in directory order (a snapshot, read without the lock)
     * @throws ArenaCorruptedException if the directory is found corrupted
     */
    public Map<String, Integer> list() {
        return entries.list();
    }

    // ---------------------------------------------------------------- check and repair

    /**
     * Verifies the directory, read-only: states known, names well-formed, reachable by lookup and
     * not listed twice, no entry left half-written while nobody holds the lock, no repair pending.
     * Exact only on a quiet arena.
     *
     * @return the violations, one line each
     */
    public List<String> check() {
        return repairs.check();
    }

    /**
     * Repairs the directory under its lock: an entry in an unknown state, left half-written, or
     * with a name length out of range becomes a tombstone (its name is lost, and said); a name
     * listed twice keeps the entry a lookup finds; a name a lookup cannot reach is moved to where
     * it can. Afterwards {@link #check()} reports nothing. Safe while other processes use the
     * roots: every change is one the lock-free readers already cope with.
     *
     * @return what was changed, one line each; empty if nothing was wrong
     * @throws IllegalStateException if the lock could not be had within {@code timeoutNanos}
     */
    public List<String> repair(final long timeoutNanos) {
        final LockResult r = lock(timeoutNanos, "nothing repaired", null);
        try {
            // After RECOVERED the lock call repaired already; this pass then finds nothing.
            final List<String> done = new ArrayList<>();
            if (r == LockResult.RECOVERED) {
                done.add("named-roots lock taken over from a dead holder");
                done.addAll(recovered);
            }
            done.addAll(repairs.repairLocked(false));
            return done;
        } finally {
            unlock(r);
        }
    }

    // ---------------------------------------------------------------- the arena-level entry points

    /**
     * Checks the arena's roots, if it has a directory: the directory pointer, then every entry.
     * Never throws for corruption: it is what this reports.
     *
     * @return the violations, one line each
     */
    public static List<String> check(final SharedArena arena) {
        return RootsRepair.check(arena);
    }

    /**
     * Repairs the arena's roots: a directory pointer that names no directory, or a directory on
     * pages that are not allocated, is dropped (every root is lost, and said); then
     * {@link #repair(long)}.
     *
     * @return what was changed or lost, one line each; empty if nothing was wrong
     * @throws IllegalStateException if a lock could not be had within {@code timeoutNanos}
     */
    public static List<String> repair(final SharedArena arena, final long timeoutNanos) {
        return RootsRepair.repair(arena, timeoutNanos);
    }
}
