package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFullException;
import io.sharena.core.ArenaView;
import io.sharena.core.crash.CrashPoints;
import io.sharena.ipc.layout.RootsLayout;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The entries of one named-roots directory ({@link RootsLayout}): the probe from a name's
 * {@link NamedRoots#hash}, the checked reads every lookup makes, and the writes of one entry made
 * under the directory's lock (an insert's claim, name, value and publication; a tombstone).
 */
final class RootsEntries {
    private static final String STRUCTURE = "named roots";

    private final ArenaView view;
    private final int directory;
    private final int repairWord;

    RootsEntries(final ArenaView view, final int directory) {
        this.view = view;
        this.directory = directory;
        this.repairWord = directory + RootsLayout.REPAIR;
    }

    int entry(final int index) {
        return directory + RootsLayout.entry(index);
    }

    private ArenaCorruptedException corrupted(final String what, final long value, final int e) {
        throw Corruption.found(view, repairWord, STRUCTURE + " " + what, value,
            "entry=" + (e - directory - RootsLayout.ENTRY_BASE) / RootsLayout.ENTRY_SIZE);
    }

    /** @return entry {@code e}'s state, checked to be one of the four */
    int state(final int e) {
        final int state = view.getIntAcquire(e + RootsLayout.STATE);
        if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
            throw corrupted("entry state", state, e);
        }
        return state;
    }

    private boolean nameEquals(final int e, final byte[] name) {
        final int len = view.getIntAcquire(e + RootsLayout.NAME_LEN);
        if (len != name.length) {
            // Only inserts write the length, always in range, and a remove clears it after the
            // entry went WRITING: out of range in an entry still LIVE is corruption; in one a remove
            // has taken meanwhile (read LIVE just before), it is no match.
            if ((len < 1 || len > RootsLayout.MAX_NAME) && stillBadLength(e)) {
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

    /**
     * @return whether entry {@code e}, whose name length read out of range after its state read
     * LIVE, holds a length out of range while LIVE and unchanged: damage. A remove clears the length
     * after the entry goes WRITING, so a lock-free reader between its two loads meets a 0 there; an
     * entry removed and reused since has another version (a remove and an insert each bump it).
     * Read afresh: version, state, length, state, version; a loop of removes and inserts as fast
     * as the lock allows cannot make that read look stable.
     */
    private boolean stillBadLength(final int e) {
        final long before = RootsLayout.versionOf(view.getLongAcquire(e + RootsLayout.VALUE));
        if (view.getIntAcquire(e + RootsLayout.STATE) != RootsLayout.LIVE) {
            return false;
        }
        final int len = view.getIntAcquire(e + RootsLayout.NAME_LEN);
        if (len >= 1 && len <= RootsLayout.MAX_NAME) {
            return false;
        }
        return view.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE
            && RootsLayout.versionOf(view.getLongAcquire(e + RootsLayout.VALUE)) == before;
    }

    /** @return whether entry {@code e} holds {@code name} LIVE now */
    boolean holds(final int e, final byte[] name) {
        return state(e) == RootsLayout.LIVE && nameEquals(e, name);
    }

    /**
     * @return the entry holding {@code name} LIVE, or 0 (no entry is at pointer 0; -1 would be a
     * pointer of the arena's top half, read as negative); stops at the first EMPTY entry and after
     * one lap of the directory at most
     */
    int find(final byte[] name) {
        final int start = NamedRoots.hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            final int state = state(e);
            if (state == RootsLayout.EMPTY) {
                return 0;
            }
            if (state == RootsLayout.LIVE && nameEquals(e, name)) {
                return e;
            }
        }
        return 0;
    }

    /** Under the lock: the first entry on {@code name}'s probe that is not LIVE. */
    int freeEntry(final byte[] name) {
        final int start = NamedRoots.hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            if (state(e) != RootsLayout.LIVE) {
                return e;
            }
        }
        throw new ArenaFullException("named-roots directory full: entries=" + RootsLayout.ENTRIES);
    }

    /** @return the entry a lookup of {@code name} finds, or 0; never throws (for check and repair) */
    int reachable(final byte[] name) {
        final int start = NamedRoots.hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            final int state = view.getIntAcquire(e + RootsLayout.STATE);
            if (state == RootsLayout.EMPTY) {
                return 0;
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
        return 0;
    }

    /** {@link NamedRoots#list}. */
    Map<String, Integer> list() {
        final Map<String, Integer> all = new LinkedHashMap<>();
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry(i);
            if (state(e) == RootsLayout.LIVE) {
                final int len = view.getIntAcquire(e + RootsLayout.NAME_LEN);
                if (len < 1 || len > RootsLayout.MAX_NAME) {
                    if (!stillBadLength(e)) {
                        continue; // removed (or reused) since its state was read: not listed
                    }
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

    /** Under the lock: claims entry {@code e}, writes name and value, publishes it LIVE. */
    void insertAt(final int e, final byte[] name, final int ptr) {
        view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.WRITING);
        // The pointer of the entry's last life goes first (a remove killed before its own bump leaves
        // it): an insert killed with its name written must not leave that name with a pointer it never
        // had, which the repair would take for a root whose state a stray write hit and restore.
        long last;
        do {
            last = view.getLongAcquire(e + RootsLayout.VALUE);
        } while (RootsLayout.pointerOf(last) != 0
            && !view.compareAndSetLong(e + RootsLayout.VALUE, last, RootsLayout.bumped(last, 0)));
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

    /** Under the lock, in repair: {@link #remove} of entry {@code e}. */
    void tombstone(final int e) {
        CrashPoints.at(RootsPoint.REPAIR_ENTRY);
        remove(e);
    }

    /**
     * Under the lock: removes the name at entry {@code e}, which the caller found naming
     * {@code expected} (0: nothing), unless a lock-free put or compare-and-set has set another
     * pointer since. The entry goes WRITING (puts pass it by from here), then its value's version
     * moves with its pointer kept (a put that validated it before cannot land after): another
     * pointer there is the put's, which came first, and the entry is LIVE again with it, its name
     * never cleared. Killed in between, the entry is WRITING with its name whole, which the repair
     * restores when its pointer is a user page's, or a made structure's no other root leads to.
     *
     * @return whether the name was removed (false: it names the put's pointer)
     */
    boolean removeUnlessChanged(final int e, final int expected) {
        view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.WRITING);
        CrashPoints.at(RootsPoint.REMOVE_WRITING);
        long v;
        do {
            v = view.getLongAcquire(e + RootsLayout.VALUE);
        } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, RootsLayout.pointerOf(v))));
        if (RootsLayout.pointerOf(v) != expected) {
            view.putIntRelease(e + RootsLayout.STATE, RootsLayout.LIVE);
            return false;
        }
        remove(e);
        return true;
    }

    /**
     * Under the lock: removes the name at entry {@code e}. The entry goes WRITING first (from here a
     * lookup, a put or a compare-and-set that has not yet re-checked it passes it by; one that did
     * and sets the value before the bump below is seen by it), its name length 0, then REMOVED, then
     * its value's version is bumped with the pointer cleared. Killed before REMOVED, the entry is
     * half-written, which the next repair removes; after, it is a tombstone whose version the next
     * reuse bumps. A tombstone so carries no name: one holding a name and a pointer is a live root
     * whose state a stray write hit, which check names and the repair restores.
     *
     * @return the pointer the name held last
     */
    int remove(final int e) {
        view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.WRITING);
        CrashPoints.at(RootsPoint.REMOVE_WRITING);
        view.putIntVolatile(e + RootsLayout.NAME_LEN, 0);
        CrashPoints.at(RootsPoint.REMOVE_MARKED);
        view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.REMOVED);
        CrashPoints.at(RootsPoint.REMOVE_CLEARED);
        long v;
        do {
            v = view.getLongAcquire(e + RootsLayout.VALUE);
        } while (!view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.bumped(v, 0)));
        return RootsLayout.pointerOf(v);
    }

    /**
     * Under the lock: adds {@code name} at the first entry not LIVE on its probe. Only for a name no
     * lookup reaches, so that entry lies before the EMPTY one that hides it, never where it is.
     */
    void reinsert(final byte[] name, final int ptr) {
        final int start = NamedRoots.hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            if (view.getIntAcquire(e + RootsLayout.STATE) != RootsLayout.LIVE) {
                insertAt(e, name, ptr);
                return;
            }
        }
    }
}
