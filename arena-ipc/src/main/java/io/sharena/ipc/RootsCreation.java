package io.sharena.ipc;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.lock.LockResult;
import io.sharena.ipc.layout.RootsLayout;

import java.util.ArrayList;
import java.util.List;

/**
 * Structures created under a name in one crash-safe step ({@link NamedRoots#create}), and the
 * creation record that makes it so: written under the directory's lock before the pages are
 * allocated into the name's entry, marked formatted, then cleared. Lock-free readers and writers
 * that see a record wait for the creation ({@link #creationInFlight}); a creator that died is
 * undone by the lock's next holder ({@link #undoCreation}).
 */
final class RootsCreation {
    private final NamedRoots roots;
    private final RootsEntries entries;
    private final SharedArena arena;
    private final ArenaView view;
    private final int directory;

    RootsCreation(final NamedRoots roots, final RootsEntries entries, final SharedArena arena, final int directory) {
        this.roots = roots;
        this.entries = entries;
        this.arena = arena;
        this.view = arena.raw();
        this.directory = directory;
    }

    /** {@link NamedRoots#create}. */
    int create(final String name, final int pages, final NamedRoots.Format format) {
        final byte[] bytes = NamedRoots.encode(name);
        if (pages < 1 || pages >= RootsLayout.CREATING_UNDOING) {
            throw new IllegalArgumentException("pages out of range: pages=" + pages + ", name=" + name);
        }
        final LockResult r = roots.lock(Pages.SETUP_TIMEOUT_NANOS, "nothing created", bytes);
        try {
            final long left = view.getLongAcquire(directory + RootsLayout.CREATING);
            if (left != 0) {
                // A dead creator's creation whose undo the busy allocator held up: its record, the one
                // thing that names it, must not be written over.
                throw new ArenaBusyException("a dead creator's unfinished creation is not undone yet (the"
                    + " allocator's lock stayed busy); nothing created: name=" + name + ", record=0x"
                    + Long.toHexString(left));
            }
            int e = entries.find(bytes);
            final boolean added = e == 0;
            if (!added) {
                final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
                if (ptr != 0) {
                    return ptr;
                }
            } else {
                e = entries.freeEntry(bytes);
                entries.insertAt(e, bytes, 0);
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
                markUndoing(creating(e, pages));
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
                    entries.tombstone(e);
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
            roots.unlock(r);
        }
    }

    /**
     * @return whether an unfinished creation is recorded in entry {@code e}: one holds the lock
     * throughout (an undo a busy allocator held up is marked UNDOING), so a record seen with the
     * lock free and unmarked is over, or a stray write
     */
    boolean creatingIn(final int e) {
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

    /**
     * Before a lock-free change of a value: a creation in flight is waited for (or undone, if its
     * creator died), so that no value is changed under it; its undo frees whatever its entry holds.
     */
    void settleCreation() {
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
    boolean creationInFlight() {
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
    boolean settle() {
        final LockResult r = roots.lock(Pages.SETUP_TIMEOUT_NANOS, "creation not awaited", null);
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
            roots.unlock(r);
        }
        if ((left & RootsLayout.CREATING_UNDOING) != 0) {
            // The undo of a dead creator's creation could not finish (the allocator's lock stayed busy):
            // its structure, unformatted, is still in its entry; never handed out, never changed under.
            throw new ArenaBusyException("a dead creator's unfinished creation is not undone yet (the allocator's"
                + " lock stayed busy); try again: record=0x" + Long.toHexString(left));
        }
        return true;
    }

    private long creating(final int e, final int pages) {
        final long index = (e - directory - RootsLayout.ENTRY_BASE) / RootsLayout.ENTRY_SIZE;
        return ((index + 1) << 32) | Integer.toUnsignedLong(pages);
    }

    /** @return whether a store, a channel or a heap made whole (its magic written) begins at {@code ptr} */
    private boolean madeStructure(final int ptr) {
        return Pages.madeStructure(arena, ptr) != null;
    }

    /**
     * Under the lock, first thing in a repair after a takeover: a creation its creator did not finish
     * (it died holding the lock) is undone: its pages freed from its entry, the name dropped, the record cleared. Each
     * step is idempotent, so a repairer killed midway leaves the rest to the next.
     */
    void undoCreation(final boolean recovered, final List<String> done) {
        final long record = view.getLongAcquire(directory + RootsLayout.CREATING);
        if (record == 0) {
            return;
        }
        if (!recovered && ((record & RootsLayout.CREATING_UNDOING) == 0
            || view.getLongAcquire(directory + RootsLayout.UNDO_CHECK) != ~record)) {
            // Only a creator that holds the lock writes the record, and it clears it before it
            // unlocks; with the lock not taken from a dead holder this is a stray write: the entry it
            // happens to name is someone's, so nothing is freed. So is an UNDOING mark without its
            // check word, which an undo held up by the busy allocator writes with it: a mark forged
            // over a user's own root would have its pages, and those after them, freed in use.
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
            && outsideArena(RootsLayout.pointerOf(view.getLongAcquire(entries.entry((int) index) + RootsLayout.VALUE)), pages)) {
            // A creator's allocation always lies in the user pages: a record whose pages, from the
            // pointer its entry holds, do not is a stray write, and the pointer is someone's.
            done.add("creation record naming pages outside the arena cleared, nothing freed: record=0x"
                + Long.toHexString(record));
        } else if (index >= 0 && index < RootsLayout.ENTRIES && pages > 0
            && madeStructure(RootsLayout.pointerOf(view.getLongAcquire(entries.entry((int) index) + RootsLayout.VALUE)))) {
            // A structure is made (its magic written) only after its creator cleared the record, or
            // marked it FORMATTED: an undo record naming a made one is a stray write, and freeing its
            // pages would lose it whole.
            view.putLongRelease(directory + RootsLayout.CREATING, 0L);
            done.add("creation record naming a made structure cleared, nothing freed: record=0x"
                + Long.toHexString(record));
        } else if (index >= 0 && index < RootsLayout.ENTRIES && pages > 0) {
            final int e = entries.entry((int) index);
            final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
            // Marked first: if this undo cannot finish now, every later holder of the lock finishes it.
            markUndoing(record);
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
                entries.tombstone(e);
            }
            done.add("unfinished creation undone (its creator died): entry=" + index + ", pages=" + pages
                + (ptr == 0 ? ", nothing was allocated" : ", pages freed: ptr=0x" + Integer.toHexString(ptr)));
        } else {
            done.add("creation record out of range cleared: record=0x" + Long.toHexString(record));
        }
        view.putLongRelease(directory + RootsLayout.CREATING, 0L);
        view.putLongRelease(directory + RootsLayout.UNDO_CHECK, 0L);
    }

    /**
     * Marks the creation {@code record} names as being undone: its check word, then the mark. Killed
     * between the two, the lock is left to a dead holder, and its next holder undoes with no check.
     */
    private void markUndoing(final long record) {
        final long marked = record | RootsLayout.CREATING_UNDOING;
        view.putLongRelease(directory + RootsLayout.UNDO_CHECK, ~marked);
        view.putLongRelease(directory + RootsLayout.CREATING, marked);
    }

    /** @return whether a nonzero {@code ptr} and {@code pages} pages from it are not all user pages of the arena */
    private boolean outsideArena(final int ptr, final int pages) {
        return ptr != 0 && !Pages.inUserRange(arena, ptr, pages);
    }
}
