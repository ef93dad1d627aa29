package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.ipc.layout.RootsLayout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
 * entry REMOVED, then bumps its value's version; killed in between, the version is bumped by
 * whoever reuses the entry. The directory's zeroed pages are allocated straight into the arena's
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
 */
public final class NamedRoots {
    private static final long LOCK_TIMEOUT_NANOS = 100_000_000L;
    private static final int NO_SLOT = -1;
    private static final String STRUCTURE = "named roots";

    private final SharedArena arena;
    private final ArenaView view;
    private final int directory;
    private final int repairWord;
    /** The directory's own lock (a user lock in its header page), made on first use: read-only tools never lock. */
    private SharedLock lock;

    private NamedRoots(final SharedArena arena, final int directory) {
        this.arena = arena;
        this.view = arena.raw();
        this.directory = directory;
        this.repairWord = directory + RootsLayout.REPAIR;
    }

    /**
     * @return the arena's roots, creating the directory if this is the first use
     * @throws IllegalStateException    if the arena has no room for the directory
     * @throws ArenaCorruptedException if the control page names a directory that is not one
     */
    public static NamedRoots of(final SharedArena arena) {
        int dir = ArenaInternals.rootsDirectory(arena);
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
                throw new IllegalStateException("no room for the named-roots directory: pages=" + RootsLayout.PAGES
                    + ", path=" + arena.path());
            }
            CrashPoints.at(RootsPoint.DIRECTORY_ALLOCATED);
        }
        if (Pages.inUserRange(arena, dir, RootsLayout.PAGES) && pagesProblem(arena, dir) == null) {
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
        String problem = directoryProblem(arena, dir);
        if (problem == null) {
            problem = pagesProblem(arena, dir);
        }
        if (problem != null) {
            throw new ArenaCorruptedException("named-roots directory", Integer.toUnsignedLong(dir), problem);
        }
        return new NamedRoots(arena, dir);
    }

    /** @return what is wrong with the directory pointer {@code dir}, or null */
    private static String directoryProblem(final SharedArena arena, final int dir) {
        if (!Pages.inUserRange(arena, dir, RootsLayout.PAGES)) {
            return "pointer outside the user pages: ptr=0x" + Integer.toHexString(dir);
        }
        final int magic = arena.raw().getIntAcquire(dir + RootsLayout.MAGIC);
        // 0: installed, its magic not yet written (its creator is at it, or died there); the entries
        // are what they are, EMPTY for a new directory.
        if (magic != RootsLayout.MAGIC_VALUE && magic != 0) {
            return "bad magic: magic=0x" + Integer.toHexString(magic);
        }
        return null;
    }

    /**
     * @return what is wrong with the pages of the directory at {@code dir} (in the user range), or
     * null: its creator's allocation carves them before it installs the pointer, so one that is not
     * allocated was freed from under the directory, or the pointer is a stray write
     */
    private static String pagesProblem(final SharedArena arena, final int dir) {
        for (int p = 0; p < RootsLayout.PAGES; p++) {
            final long page = Integer.toUnsignedLong(dir) / Geometry.PAGE_SIZE + p;
            final int state = Pages.state(arena, page);
            if (state != PageEntry.ALLOCATED) {
                return "directory page not allocated: page=" + page + ", state=" + PageEntry.stateName(state);
            }
        }
        return null;
    }

    private static byte[] encode(final String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("root name must not be empty: name=" + name);
        }
        final byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > RootsLayout.MAX_NAME) {
            throw new IllegalArgumentException("root name too long: bytes=" + bytes.length + ", max="
                + RootsLayout.MAX_NAME + ", name=" + name);
        }
        return bytes;
    }

    private int entry(final int index) {
        return directory + RootsLayout.entry(index);
    }

    /** @return the entry index the probe for {@code name} starts at */
    static int hash(final byte[] name) {
        int h = 0x811C9DC5;
        for (final byte b : name) {
            h = (h ^ (b & 0xFF)) * 0x01000193;
        }
        return h & (RootsLayout.ENTRIES - 1);
    }

    private ArenaCorruptedException corrupted(final String what, final long value, final int e) {
        throw Corruption.found(view, repairWord, STRUCTURE + " " + what, value,
            "entry=" + (e - directory - RootsLayout.ENTRY_BASE) / RootsLayout.ENTRY_SIZE);
    }

    /** @return entry {@code e}'s state, checked to be one of the four */
    private int state(final int e) {
        final int state = view.getIntAcquire(e + RootsLayout.STATE);
        if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
            throw corrupted("entry state", state, e);
        }
        return state;
    }

    private boolean nameEquals(final int e, final byte[] name) {
        final int len = view.getInt(e + RootsLayout.NAME_LEN);
        if (len != name.length) {
            // Only inserts write the length, always in range, so out of range is corruption.
            if (len < 1 || len > RootsLayout.MAX_NAME) {
                throw corrupted("name length", len, e);
            }
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (view.getByte(e + RootsLayout.NAME + i) != name[i]) {
                return false;
            }
        }
        return true;
    }

    /** @return whether entry {@code e} holds {@code name} LIVE now */
    private boolean holds(final int e, final byte[] name) {
        return state(e) == RootsLayout.LIVE && nameEquals(e, name);
    }

    /**
     * @return the entry holding {@code name} LIVE, or -1; stops at the first EMPTY entry and after
     * one lap of the directory at most
     */
    private int find(final byte[] name) {
        final int start = hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            final int state = state(e);
            if (state == RootsLayout.EMPTY) {
                return -1;
            }
            if (state == RootsLayout.LIVE && nameEquals(e, name)) {
                return e;
            }
        }
        return -1;
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
            final int e = find(bytes);
            if (e < 0) {
                return 0;
            }
            CrashPoints.at(RootsPoint.FOUND);
            final long v = view.getLongAcquire(e + RootsLayout.VALUE);
            // Read after the value: a creation records itself before its allocation publishes the
            // pointer, so a creation's pointer read above is seen here with its record.
            final boolean creating = finishedOnly && creatingIn(e);
            // The entry may have been removed and reused since find: the value is the name's only if
            // the entry still holds the name and the version did not move meanwhile.
            if (holds(e, bytes) && view.getLongAcquire(e + RootsLayout.VALUE) == v) {
                return creating ? 0 : RootsLayout.pointerOf(v);
            }
        }
    }

    /**
     * @return whether an unfinished creation is recorded in entry {@code e}: one holds the lock
     * throughout (an undo a busy allocator held up is marked UNDOING), so a record seen with the
     * lock free and unmarked is over, or a stray write
     */
    private boolean creatingIn(final int e) {
        final long record = view.getLongAcquire(directory + RootsLayout.CREATING);
        final boolean locked = view.getLongAcquire(directory + RootsLayout.LOCK) != 0
            || (record & RootsLayout.CREATING_UNDOING) != 0;
        return locked && unfinished(record, e);
    }

    /** @return whether creation record {@code record} is an unfinished creation in entry {@code e} */
    private boolean unfinished(final long record, final int e) {
        final boolean whole = (record & RootsLayout.CREATING_FORMATTED) != 0 && (record & RootsLayout.CREATING_UNDOING) == 0;
        return record != 0 && !whole && (record >>> 32) - 1 == (e - directory - RootsLayout.ENTRY_BASE) / RootsLayout.ENTRY_SIZE;
    }

    /** @return whether {@code name} exists */
    public boolean contains(final String name) {
        return find(encode(name)) >= 0;
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
        settleCreation();
        while (true) {
            final int e = find(bytes);
            if (e < 0) {
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
            if (!holds(e, bytes)) {
                continue; // removed (and maybe reused) since find
            }
            if (creationInFlight()) {
                continue; // v may be a creation's pointer, its structure not finished: waited for, read again
            }
            if (RootsLayout.pointerOf(v) != expected) {
                return false;
            }
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
        final byte[] bytes = encode(name);
        if (pages < 1 || pages >= RootsLayout.CREATING_UNDOING) {
            throw new IllegalArgumentException("pages out of range: pages=" + pages + ", name=" + name);
        }
        final LockResult r = lock(Pages.SETUP_TIMEOUT_NANOS, "nothing created", bytes);
        try {
            final long left = view.getLongAcquire(directory + RootsLayout.CREATING);
            if (left != 0) {
                // A dead creator's creation whose undo the busy allocator held up: its record, the one
                // thing that names it, must not be written over.
                throw new IllegalStateException("a dead creator's unfinished creation is not undone yet (the"
                    + " allocator's lock stayed busy); nothing created: name=" + name + ", record=0x"
                    + Long.toHexString(left));
            }
            int e = find(bytes);
            final boolean added = e < 0;
            if (!added) {
                final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
                if (ptr != 0) {
                    return ptr;
                }
            } else {
                e = freeEntry(bytes);
                insertAt(e, bytes, 0);
            }
            view.putLongRelease(directory + RootsLayout.CREATING, creating(e, pages));
            CrashPoints.at(RootsPoint.CREATE_RECORDED);
            final int ptr;
            try {
                ptr = Pages.allocateInto(arena, pages, e + RootsLayout.VALUE, Pages.SETUP_TIMEOUT_NANOS);
                if (ptr != 0) {
                    format.format(ptr);
                }
            } catch (final RuntimeException | Error t) {
                // This creator lives on and unlocks: the next holder of the lock would take its record
                // for a stray write and keep the half-made structure under the name. Undone now, as
                // a dead creator's is (marked first: what cannot be finished now the next holder finishes).
                view.putLongRelease(directory + RootsLayout.CREATING, creating(e, pages) | RootsLayout.CREATING_UNDOING);
                try {
                    undoCreation(true, new ArrayList<>());
                } catch (final RuntimeException | Error u) {
                    t.addSuppressed(u);
                }
                throw t;
            }
            if (ptr == 0) {
                // No room (or another writer's CAS on the value won: read it).
                final int now = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
                if (now == 0 && added) {
                    // Only a name this call added goes: one that was there, holding 0, stays as it was.
                    tombstone(e);
                }
                view.putLongRelease(directory + RootsLayout.CREATING, 0L);
                return now;
            }
            // Marked formatted first: a creator killed from here on leaves a whole structure, kept.
            view.putLongRelease(directory + RootsLayout.CREATING, creating(e, pages) | RootsLayout.CREATING_FORMATTED);
            CrashPoints.at(RootsPoint.CREATE_FORMATTED);
            view.putLongRelease(directory + RootsLayout.CREATING, 0L);
            return ptr;
        } finally {
            unlock(r);
        }
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
        settle();
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
            if (!creationInFlight()) {
                return ptr;
            }
        }
    }

    /**
     * Before a lock-free change of a value: a creation in flight is waited for (or undone, if its
     * creator died), so that no value is changed under it; its undo frees whatever its entry holds.
     */
    private void settleCreation() {
        creationInFlight();
    }

    /**
     * For a lock-free reader or writer that has just read a value: if a creation is recorded, waits
     * for it (or has it undone) and says so, and the caller reads the value again. The record is
     * written before the creation's allocation publishes its pointer, so a value read before this
     * check that is a creation's pointer is seen here with its record; a CAS on a value read before
     * the record was written fails against the pointer the creation publishes.
     *
     * @return whether a creation was in flight (waited for: read the value again)
     */
    private boolean creationInFlight() {
        if (view.getLongAcquire(directory + RootsLayout.CREATING) == 0) {
            return false;
        }
        return settle();
    }

    /**
     * Takes and leaves the lock: a creation in flight is over then, or undone if its creator died.
     *
     * @return false if this thread holds the lock already (it is the creator: nothing to wait for)
     * @throws IllegalStateException if the lock could not be had in time, or a dead creator's creation
     *                               could not be undone yet (the allocator's lock stayed busy)
     */
    private boolean settle() {
        final LockResult r = lock(Pages.SETUP_TIMEOUT_NANOS, "creation not awaited", null);
        if (r == LockResult.DEADLOCK) {
            return false;
        }
        final long left;
        try {
            final long record = view.getLongAcquire(directory + RootsLayout.CREATING);
            if (r == LockResult.ACQUIRED && record != 0 && (record & RootsLayout.CREATING_UNDOING) == 0) {
                // A creator clears its record before it unlocks, and a dead one's was undone by the
                // lock's takeover: a record left now is a stray write, cleared (nothing freed), so that
                // no reader waits on it for ever. (One marked UNDOING the lock call has just retried.)
                undoCreation(false, new ArrayList<>());
            }
            left = view.getLongAcquire(directory + RootsLayout.CREATING);
        } finally {
            unlock(r);
        }
        if ((left & RootsLayout.CREATING_UNDOING) != 0) {
            // The undo of a dead creator's creation could not finish (the allocator's lock stayed busy):
            // its structure, unformatted, is still in its entry; never handed out, never changed under.
            throw new IllegalStateException("a dead creator's unfinished creation is not undone yet (the allocator's"
                + " lock stayed busy); try again: record=0x" + Long.toHexString(left));
        }
        return true;
    }

    private long creating(final int e, final int pages) {
        final long index = (e - directory - RootsLayout.ENTRY_BASE) / RootsLayout.ENTRY_SIZE;
        return ((index + 1) << 32) | Integer.toUnsignedLong(pages);
    }

    /** Under the lock: the first entry on {@code name}'s probe that is not LIVE. */
    private int freeEntry(final byte[] name) {
        final int start = hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            if (state(e) != RootsLayout.LIVE) {
                return e;
            }
        }
        throw new IllegalStateException("named-roots directory full: entries=" + RootsLayout.ENTRIES);
    }

    /**
     * Under the lock, first thing in a repair after a takeover: a creation its creator did not finish
     * (it died holding the lock) is undone: its pages freed from its entry, the name dropped, the record cleared. Each
     * step is idempotent, so a repairer killed midway leaves the rest to the next.
     */
    private void undoCreation(final boolean recovered, final List<String> done) {
        final long record = view.getLongAcquire(directory + RootsLayout.CREATING);
        if (record == 0) {
            return;
        }
        if (!recovered && (record & RootsLayout.CREATING_UNDOING) == 0) {
            // Only a creator that holds the lock writes the record, and it clears it before it
            // unlocks; with the lock not taken from a dead holder this is a stray write: the entry it
            // happens to name is someone's, so nothing is freed.
            view.putLongRelease(directory + RootsLayout.CREATING, 0L);
            done.add("creation record with no creator in flight cleared, nothing freed: record=0x"
                + Long.toHexString(record));
            return;
        }
        final long index = (record >>> 32) - 1;
        final int pages = (int) (record & ~(RootsLayout.CREATING_FORMATTED | RootsLayout.CREATING_UNDOING));
        if ((record & RootsLayout.CREATING_FORMATTED) != 0) {
            done.add("creation finished by the repair (its creator died after formatting it): entry=" + index);
        } else if (index >= 0 && index < RootsLayout.ENTRIES && pages > 0
            && outsideArena(RootsLayout.pointerOf(view.getLongAcquire(entry((int) index) + RootsLayout.VALUE)), pages)) {
            // A creator's allocation always lies in the user pages: a record whose pages, from the
            // pointer its entry holds, do not is a stray write, and the pointer is someone's.
            done.add("creation record naming pages outside the arena cleared, nothing freed: record=0x"
                + Long.toHexString(record));
        } else if (index >= 0 && index < RootsLayout.ENTRIES && pages > 0) {
            final int e = entry((int) index);
            final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
            // Marked first: if this undo cannot finish now, every later holder of the lock finishes it.
            view.putLongRelease(directory + RootsLayout.CREATING, record | RootsLayout.CREATING_UNDOING);
            // The version moves before the pointer goes: the free changes only the pointer's half, so
            // a lock-free put or compare-and-set holding the value read before the creation began
            // (version k, no pointer) would otherwise match again once the pointer is gone.
            long v;
            do {
                v = view.getLongAcquire(e + RootsLayout.VALUE);
            } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, RootsLayout.pointerOf(v))));
            if (ptr != 0 && Pages.inUserRange(arena, ptr, pages)) {
                // The allocator's lock may be busy for a while: retried, as allocations are.
                if (!Pages.freeFrom(arena, e + RootsLayout.VALUE, pages, Pages.SETUP_TIMEOUT_NANOS)) {
                    // Left, marked, to the next holder of the lock.
                    done.add("unfinished creation not undone yet (the allocator's lock stayed busy): entry=" + index);
                    return;
                }
                CrashPoints.at(RootsPoint.CREATE_UNDONE);
            }
            if (RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) == 0
                && view.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE) {
                tombstone(e);
            }
            done.add("unfinished creation undone (its creator died): entry=" + index + ", pages=" + pages
                + (ptr == 0 ? ", nothing was allocated" : ", pages freed: ptr=0x" + Integer.toHexString(ptr)));
        } else {
            done.add("creation record out of range cleared: record=0x" + Long.toHexString(record));
        }
        view.putLongRelease(directory + RootsLayout.CREATING, 0L);
    }

    /** @return whether a nonzero {@code ptr} and {@code pages} pages from it are not all user pages of the arena */
    private boolean outsideArena(final int ptr, final int pages) {
        return ptr != 0 && !Pages.inUserRange(arena, ptr, pages);
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
        settleCreation();
        while (true) {
            final int e = find(bytes);
            if (e >= 0) {
                CrashPoints.at(RootsPoint.FOUND);
                final long v = view.getLongAcquire(e + RootsLayout.VALUE);
                if (holds(e, bytes) && !creationInFlight()
                    && view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, ptr))) {
                    return RootsLayout.pointerOf(v);
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
    private LockResult lock(final long timeoutNanos, final String what, final byte[] name) {
        if (lock == null) {
            lock = arena.lockAt(directory + RootsLayout.LOCK);
        }
        // A stray process token (thread 0) in the word is taken over as a dead holder's: RECOVERED.
        final LockResult r = lock.lock(timeoutNanos);
        if (r == LockResult.TIMEOUT) {
            throw new IllegalStateException("named-roots lock busy for " + timeoutNanos / 1_000_000 + " ms; " + what
                + (name == null ? "" : ": name=" + new String(name, StandardCharsets.UTF_8)));
        }
        try {
            if (r == LockResult.RECOVERED) {
                recovered = repairLocked(true);
            } else if ((view.getLongAcquire(directory + RootsLayout.CREATING) & RootsLayout.CREATING_UNDOING) != 0) {
                undoCreation(true, new ArrayList<>()); // an undo a busy allocator made its repairer leave
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

    private void unlock(final LockResult r) {
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
            if (find(name) >= 0) {
                return NO_SLOT;
            }
            final int start = hash(name);
            for (int i = 0; i < RootsLayout.ENTRIES; i++) {
                final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
                // WRITING under the lock we hold can only be a dead holder's leftover.
                if (state(e) != RootsLayout.LIVE) {
                    insertAt(e, name, ptr);
                    return e;
                }
            }
            throw new IllegalStateException("named-roots directory full: entries=" + RootsLayout.ENTRIES);
        } finally {
            unlock(r);
        }
    }

    /** Under the lock: claims entry {@code e}, writes name and value, publishes it LIVE. */
    private void insertAt(final int e, final byte[] name, final int ptr) {
        view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.WRITING);
        CrashPoints.at(RootsPoint.INSERT_CLAIMED);
        view.fill(e + RootsLayout.NAME, RootsLayout.MAX_NAME, (byte) 0);
        view.putBytes(e + RootsLayout.NAME, name, 0, name.length);
        view.putInt(e + RootsLayout.NAME_LEN, name.length);
        CrashPoints.at(RootsPoint.INSERT_NAMED);
        // A CAS loop, not a store: a put that validated this entry's previous life just before a
        // remove was killed halfway may still CAS the old value; bumping from whatever is there
        // makes every such late CAS fail from now on.
        long old;
        do {
            old = view.getLongAcquire(e + RootsLayout.VALUE);
        } while (!view.compareAndSetLong(e + RootsLayout.VALUE, old, RootsLayout.bumped(old, ptr)));
        CrashPoints.at(RootsPoint.INSERT_VALUED);
        // Publishes the name and value written above.
        view.putIntRelease(e + RootsLayout.STATE, RootsLayout.LIVE);
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
            final int e = find(bytes);
            if (e < 0) {
                return 0;
            }
            // REMOVED first: from here a put or CAS that has not yet re-checked the entry fails its
            // check; one that already did and CASes before the version bump below is seen by it, so
            // the pointer returned is the name's last.
            view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.REMOVED);
            CrashPoints.at(RootsPoint.REMOVE_CLEARED);
            long v;
            do {
                v = view.getLongAcquire(e + RootsLayout.VALUE);
            } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, 0)));
            return RootsLayout.pointerOf(v);
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
            final int e = find(bytes);
            if (e < 0 || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) != expected) {
                return false;
            }
            view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.REMOVED);
            CrashPoints.at(RootsPoint.REMOVE_CLEARED);
            long v;
            do {
                v = view.getLongAcquire(e + RootsLayout.VALUE);
            } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, 0)));
            return true;
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
            final int e = find(bytes);
            if (e < 0 || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) != expected) {
                return false;
            }
            // The version moves before the pointer goes (as an undo's does): a lock-free put or
            // compare-and-set holding the value read before cannot match once the pointer is 0.
            long v;
            do {
                v = view.getLongAcquire(e + RootsLayout.VALUE);
            } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, RootsLayout.pointerOf(v))));
            if (!Pages.freeFrom(arena, e + RootsLayout.VALUE, pages, Pages.SETUP_TIMEOUT_NANOS)
                || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) != 0) {
                return false; // the allocator's lock stayed busy, or a put replaced the pointer meanwhile
            }
            CrashPoints.at(RootsPoint.REMOVE_CLEARED);
            if (view.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE
                && RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) == 0) {
                tombstone(e);
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
        final Map<String, Integer> all = new LinkedHashMap<>();
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry(i);
            if (state(e) == RootsLayout.LIVE) {
                final int len = view.getInt(e + RootsLayout.NAME_LEN);
                if (len < 1 || len > RootsLayout.MAX_NAME) {
                    throw corrupted("name length", len, e);
                }
                final byte[] name = new byte[len];
                view.getBytes(e + RootsLayout.NAME, name, 0, len);
                all.put(new String(name, StandardCharsets.UTF_8),
                    RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)));
            }
        }
        return all;
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
        final List<String> violations = new ArrayList<>();
        if (view.getLongAcquire(repairWord) != 0) {
            violations.add("named roots marked for repair (corruption was found during use)");
        }
        final long holder = view.getLongVolatile(directory + RootsLayout.LOCK);
        final boolean lockFree = holder == 0 || !ArenaInternals.registry(arena).isOwnerAlive(holder);
        if (holder != 0 && OwnerToken.thread(holder) == 0) {
            violations.add("named-roots lock word holds a process token, which no holder has (a stray write; the next"
                + " adder or remover clears it): owner=0x" + Long.toHexString(holder));
        } else if (holder != 0 && lockFree) {
            violations.add("named-roots lock held by a dead process (its next user recovers it): owner=0x"
                + Long.toHexString(holder));
        }
        final long creating = view.getLongAcquire(directory + RootsLayout.CREATING);
        if (creating != 0 && holder == 0 && (creating & RootsLayout.CREATING_UNDOING) == 0) {
            // A creator clears its record before it unlocks; only an undo a busy allocator held up
            // (marked UNDOING) is left with the lock free.
            violations.add("a creation record with no creator in flight (a stray write: its next user clears it, nothing"
                + " freed): record=0x" + Long.toHexString(creating));
        } else if (creating != 0 && lockFree) {
            final boolean kept = (creating & RootsLayout.CREATING_FORMATTED) != 0 && (creating & RootsLayout.CREATING_UNDOING) == 0;
            violations.add("a creation under the roots left unfinished" + (kept
                ? " after its structure was formatted (its next user keeps it)" : " (its next user undoes it)")
                + ": record=0x" + Long.toHexString(creating));
        }
        final Set<String> names = new HashSet<>();
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final String problem = entryProblem(i, lockFree, names);
            if (problem != null) {
                violations.add(problem);
            }
        }
        return violations;
    }

    /** @return what is wrong with entry {@code i}, or null; adds LIVE names to {@code names} */
    private String entryProblem(final int i, final boolean lockFree, final Set<String> names) {
        final int e = entry(i);
        final int state = view.getIntAcquire(e + RootsLayout.STATE);
        if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
            return "root entry in an unknown state: entry=" + i + ", state=" + state;
        }
        if (state == RootsLayout.WRITING && lockFree) {
            return "root entry left half-written: entry=" + i;
        }
        if (state != RootsLayout.LIVE) {
            return null;
        }
        final int len = view.getInt(e + RootsLayout.NAME_LEN);
        if (len < 1 || len > RootsLayout.MAX_NAME) {
            return "root name length out of range: entry=" + i + ", length=" + len;
        }
        final byte[] name = new byte[len];
        view.getBytes(e + RootsLayout.NAME, name, 0, len);
        final String s = new String(name, StandardCharsets.UTF_8);
        if (!names.add(s)) {
            return "root name listed twice: name=" + s + ", entry=" + i;
        }
        if (reachable(name) != e) {
            return "root name not reachable by lookup: name=" + s + ", entry=" + i;
        }
        return null;
    }

    /** @return the entry a lookup of {@code name} finds, or -1; never throws (for check and repair) */
    private int reachable(final byte[] name) {
        final int start = hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            final int state = view.getIntAcquire(e + RootsLayout.STATE);
            if (state == RootsLayout.EMPTY) {
                return -1;
            }
            if (state == RootsLayout.LIVE) {
                final int len = view.getInt(e + RootsLayout.NAME_LEN);
                if (len == name.length) {
                    final byte[] other = new byte[len];
                    view.getBytes(e + RootsLayout.NAME, other, 0, len);
                    if (java.util.Arrays.equals(other, name)) {
                        return e;
                    }
                }
            }
        }
        return -1;
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
            done.addAll(repairLocked(false));
            return done;
        } finally {
            unlock(r);
        }
    }

    /** @param recovered whether the lock was just taken over from a dead holder (a creator may have died) */
    private List<String> repairLocked(final boolean recovered) {
        final List<String> done = new ArrayList<>();
        undoCreation(recovered, done);
        // An undo the busy allocator held up is finished later from its record, which names its entry
        // by index: that entry is neither moved nor dropped meanwhile (the undo would find nothing
        // there, and the name would keep the unformatted structure, or lose its pages, for good).
        final long left = view.getLongAcquire(directory + RootsLayout.CREATING);
        final long undoing = left == 0 ? -1 : (left >>> 32) - 1;
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            if (i == undoing) {
                continue;
            }
            final int e = entry(i);
            final int state = view.getIntAcquire(e + RootsLayout.STATE);
            final int len = view.getInt(e + RootsLayout.NAME_LEN);
            if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
                tombstone(e);
                done.add("root entry in an unknown state cleared: entry=" + i + ", state=" + state);
            } else if (state == RootsLayout.WRITING) {
                tombstone(e);
                done.add("half-written root entry cleared: entry=" + i);
            } else if (state == RootsLayout.LIVE && (len < 1 || len > RootsLayout.MAX_NAME)) {
                tombstone(e);
                done.add("root with a corrupted name dropped (its name is lost): entry=" + i + ", length=" + len
                    + ", ptr=0x" + Integer.toHexString(RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE))));
            } else if (state == RootsLayout.LIVE) {
                final byte[] name = new byte[len];
                view.getBytes(e + RootsLayout.NAME, name, 0, len);
                final String s = new String(name, StandardCharsets.UTF_8);
                final int found = reachable(name);
                if (found != e && found >= 0) {
                    tombstone(e);
                    done.add("duplicate root dropped, the entry a lookup finds kept: name=" + s + ", entry=" + i);
                } else if (found < 0) {
                    // Copied first, where a lookup finds it, then the unreachable entry goes. Killed
                    // in between, the name is listed twice and the next repair keeps the copy a
                    // lookup finds; the other order lost the name to a kill between the two (the
                    // copy, still WRITING, is then cleared as half-written).
                    final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
                    reinsert(name, ptr);
                    tombstone(e);
                    done.add("unreachable root moved where a lookup finds it: name=" + s + ", entry=" + i);
                }
            }
        }
        view.putLongRelease(repairWord, 0L);
        return done;
    }

    private void tombstone(final int e) {
        CrashPoints.at(RootsPoint.REPAIR_ENTRY);
        view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.REMOVED);
        long v;
        do {
            v = view.getLongAcquire(e + RootsLayout.VALUE);
        } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, 0)));
    }

    /**
     * Under the lock: adds {@code name} at the first entry not LIVE on its probe. Only for a name no
     * lookup reaches, so that entry lies before the EMPTY one that hides it, never where it is.
     */
    private void reinsert(final byte[] name, final int ptr) {
        final int start = hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            if (view.getIntAcquire(e + RootsLayout.STATE) != RootsLayout.LIVE) {
                insertAt(e, name, ptr);
                return;
            }
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
        final int dir = ArenaInternals.rootsDirectory(arena);
        if (dir == 0) {
            return List.of();
        }
        final String problem = directoryProblem(arena, dir);
        if (problem != null) {
            return List.of("named-roots directory corrupted: " + problem);
        }
        final List<String> violations = new ArrayList<>();
        for (long p = 0; p < RootsLayout.PAGES; p++) {
            final int s = Pages.state(arena, Integer.toUnsignedLong(dir) / Geometry.PAGE_SIZE + p);
            if (s != PageEntry.ALLOCATED) {
                violations.add("named-roots directory page not allocated: page=" + (Integer.toUnsignedLong(dir)
                    / Geometry.PAGE_SIZE + p) + ", state=" + s);
            }
        }
        violations.addAll(new NamedRoots(arena, dir).check());
        return violations;
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
        final ArenaView v = arena.raw();
        final int dir = ArenaInternals.rootsDirectory(arena);
        if (dir == 0) {
            return List.of();
        }
        final String problem = directoryProblem(arena, dir);
        if (problem != null) {
            ArenaInternals.compareAndSetRootsDirectory(arena, dir, 0);
            return List.of("named-roots directory dropped, every root lost: " + problem);
        }
        final List<String> done = new ArrayList<>();
        for (int p = 0; p < RootsLayout.PAGES; p++) {
            final long page = Integer.toUnsignedLong(dir) / Geometry.PAGE_SIZE + p;
            if (Pages.state(arena, page) != PageEntry.ALLOCATED) {
                // A page that is not allocated may be handed out (zeroed) at any time: nothing in it
                // can be trusted, so the directory goes. Its pages are left as they are: one freed
                // from under the directory may have been handed out again since, and is then
                // another owner's, which a free here would take from it.
                ArenaInternals.compareAndSetRootsDirectory(arena, dir, 0);
                done.add("named-roots directory dropped, every root lost, its pages left as they are: its page is"
                    + " not allocated: page=" + page + ", state=" + Pages.state(arena, page));
                return done;
            }
        }
        if (v.compareAndSetInt(dir + RootsLayout.MAGIC, 0, RootsLayout.MAGIC_VALUE)) {
            done.add("named-roots directory installed without its magic (its creator died before it wrote it): written");
        }
        done.addAll(new NamedRoots(arena, dir).repair(timeoutNanos));
        return done;
    }
}
