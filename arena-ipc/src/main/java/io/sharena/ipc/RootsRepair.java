package io.sharena.ipc;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.ipc.store.StoreTools;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checking and repairing named roots: the directory pointer and its pages (also validated when
 * the roots are attached), and every entry, read-only ({@link #check}) or fixed under the lock
 * ({@link #repairLocked}: after a takeover of the lock, or on {@link NamedRoots#repair(long)}).
 */
final class RootsRepair {
    private final RootsEntries entries;
    private final RootsCreation creation;
    private final SharedArena arena;
    private final ArenaView view;
    private final int directory;
    private final int repairWord;

    RootsRepair(final RootsEntries entries, final RootsCreation creation, final SharedArena arena,
                final int directory) {
        this.entries = entries;
        this.creation = creation;
        this.arena = arena;
        this.view = arena.raw();
        this.directory = directory;
        this.repairWord = directory + RootsLayout.REPAIR;
    }

    /** @return what is wrong with the directory pointer {@code dir}, or null */
    static String directoryProblem(final SharedArena arena, final int dir) {
        if (!Pages.inUserRange(arena, dir, RootsLayout.PAGES)) {
            return "pointer outside the user pages: ptr=0x" + Integer.toHexString(dir);
        }
        final int magic = arena.raw().getIntAcquire(dir + RootsLayout.MAGIC);
        // 0: installed, its magic not yet written (its creator is at it, or died there); the entries
        // are what they are, EMPTY for a new directory. A pointer garbled onto another structure's
        // page that happens to start with 0 is told apart by its "entries", which are not a
        // directory's: taken for one, its next user would write magic and tombstones over them.
        if (magic != RootsLayout.MAGIC_VALUE && magic != 0) {
            return "bad magic: magic=0x" + Integer.toHexString(magic);
        }
        if (magic == 0 && !entriesSound(arena, dir)) {
            return "no magic, and entries that are not a directory's (another structure's pages?)";
        }
        return null;
    }

    /**
     * @return what is wrong with the pages of the directory at {@code dir} (in the user range), or
     * null: its creator's allocation carves them before it installs the pointer, so one that is not
     * allocated was freed from under the directory, or the pointer is a stray write
     */
    static String pagesProblem(final SharedArena arena, final int dir) {
        for (int p = 0; p < RootsLayout.PAGES; p++) {
            final long page = Integer.toUnsignedLong(dir) / Geometry.PAGE_SIZE + p;
            final int state = Pages.state(arena, page);
            if (state != PageEntry.ALLOCATED) {
                return "directory page not allocated: page=" + page + ", state=" + PageEntry.stateName(state);
            }
        }
        return null;
    }

    /** {@link NamedRoots#check()}. */
    List<String> check() {
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
        if (creating != 0 && holder == 0 && ((creating & RootsLayout.CREATING_UNDOING) == 0
            || view.getLongAcquire(directory + RootsLayout.UNDO_CHECK) != ~creating)) {
            // A creator clears its record before it unlocks; only an undo a busy allocator held up
            // (marked UNDOING, with its check word) is left with the lock free.
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
        final int e = entries.entry(i);
        final int state = view.getIntAcquire(e + RootsLayout.STATE);
        if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
            return "root entry in an unknown state: entry=" + i + ", state=" + state;
        }
        if (state == RootsLayout.WRITING && lockFree) {
            return "root entry left half-written: entry=" + i;
        }
        if (state != RootsLayout.LIVE) {
            final String lost = lostRootName(e, state);
            return lost == null ? null : "root entry " + (state == RootsLayout.EMPTY ? "EMPTY" : "REMOVED")
                + " but holding its name and pointer (its state was hit): name=" + lost + ", entry=" + i;
        }
        final int len = view.getInt(e + RootsLayout.NAME_LEN);
        if (len < 1 || len > RootsLayout.MAX_NAME) {
            return "root name length out of range: entry=" + i + ", length=" + len;
        }
        final byte[] name = new byte[len];
        view.getBytes(e + RootsLayout.NAME, name, 0, len);
        final String s = new String(name, StandardCharsets.UTF_8);
        final int nameBytes = lastNameByte(e);
        if (nameBytes > len) {
            return "root name length short of its name's bytes (the length, or the zeros past the name, were hit): entry="
                + i + ", length=" + len + ", name bytes=" + nameBytes;
        }
        if (!names.add(s)) {
            return "root name listed twice: name=" + s + ", entry=" + i;
        }
        if (entries.reachable(name) != e) {
            return "root name not reachable by lookup: name=" + s + ", entry=" + i;
        }
        return null;
    }

    /**
     * @return the name of the EMPTY or REMOVED entry at {@code e}, if it holds a name and a pointer
     * (a remove leaves a tombstone with no name, and an EMPTY entry was never written): a live root
     * whose state a stray write hit; null otherwise
     */
    private String lostRootName(final int e, final int state) {
        if (state != RootsLayout.EMPTY && state != RootsLayout.REMOVED) {
            return null;
        }
        final int len = view.getInt(e + RootsLayout.NAME_LEN);
        if (len < 1 || len > RootsLayout.MAX_NAME || RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)) == 0) {
            return null;
        }
        final byte[] name = new byte[len];
        view.getBytes(e + RootsLayout.NAME, name, 0, len);
        return new String(name, StandardCharsets.UTF_8);
    }

    /**
     * Gives back its LIVE state to every entry {@link #lostRootName} names, unless its name is LIVE
     * in another entry (then it becomes a tombstone with no name). Run before the entries' own repair,
     * which then moves a restored root a lookup does not find to where it does.
     */
    private void restoreLostRoots(final List<String> done) {
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entries.entry(i);
            final int state = view.getIntAcquire(e + RootsLayout.STATE);
            final String name = lostRootName(e, state);
            if (name == null) {
                continue;
            }
            final String was = state == RootsLayout.EMPTY ? "EMPTY" : "REMOVED";
            final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
            final long page = Integer.toUnsignedLong(ptr) / Geometry.PAGE_SIZE;
            if (page >= arena.firstUserPage() && Pages.state(arena, page) == PageEntry.FREE) {
                // A free user page: no root's (its owner freed it), a stray write's pointer beside the state's.
                entries.tombstone(e);
                done.add("root entry " + was + " holding a name and a pointer into a free page cleared: name=" + name
                    + ", ptr=0x" + Integer.toHexString(ptr) + ", entry=" + i);
            } else if (liveElsewhere(name, e)) {
                entries.tombstone(e);
                done.add("root entry " + was + " holding a name live in another entry cleared: name=" + name + ", entry=" + i);
            } else {
                CrashPoints.at(RootsPoint.REPAIR_ENTRY);
                view.putIntRelease(e + RootsLayout.STATE, RootsLayout.LIVE);
                done.add("root restored (its entry read " + was + " with its name and pointer whole): name=" + name
                    + ", entry=" + i);
            }
        }
    }

    /**
     * For an entry that reads WRITING, or a state no entry has, while no insert or remove can be
     * under way (the lock is held by the repair): whether it is a live root whose state a stray
     * write hit, or one a killed step left with its name whole. An insert clears the entry's old
     * pointer, then writes the name, its length, the new pointer, then LIVE; a remove goes WRITING
     * and clears the length; {@code removeAndFree} goes WRITING with a racing put's pointer and back
     * to LIVE. So a whole name with a pointer is the root before a remove or after an insert (either
     * may be the outcome of one not acknowledged), or a put's acknowledged pointer. What is
     * restored is an entry under a name no LIVE root has whose pointer lies in an allocated page of
     * the arena (a pointer into a metadata page, a free page or past the end is garbage: cleared)
     * and that no other LIVE root has (one structure under two names would be given back twice);
     * a pointer that is no made store, channel or heap must not lie inside a store's or a channel's
     * pages either (a heap's pages hold objects a root may name).
     *
     * @return "kind ... that no other root leads to): name=..., entry=..." for the repair's line, or null
     */
    private String restorableRoot(final int e, final int index) {
        final String name = lostRootName(e, RootsLayout.EMPTY);
        if (name == null || liveElsewhere(name, e)) {
            return null;
        }
        final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
        final long page = Integer.toUnsignedLong(ptr) / Geometry.PAGE_SIZE;
        if (ptr == 0 || page < arena.firstUserPage() || page >= arena.capacityPages()
            || Pages.state(arena, page) != PageEntry.ALLOCATED) {
            return null;
        }
        final String kind = Pages.madeStructure(arena, ptr);
        if (kind == null && storeOrChannelPages().get((int) page)) {
            return null; // inside a store's region or a channel's pages: a stray write's pointer, not a root's
        }
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int other = entries.entry(i);
            if (other != e && view.getIntAcquire(other + RootsLayout.STATE) == RootsLayout.LIVE
                && RootsLayout.pointerOf(view.getLongAcquire(other + RootsLayout.VALUE)) == ptr) {
                return null;
            }
        }
        return (kind == null ? "page" : kind) + " that no other root leads to): name=" + name + ", ptr=0x"
            + Integer.toHexString(ptr) + ", entry=" + index;
    }

    /**
     * @return the pages of the stores and channels the LIVE roots lead to, and the directory's: no
     * root of a user's own leads into them (a heap's pages hold objects a root may name)
     */
    private java.util.BitSet storeOrChannelPages() {
        final java.util.BitSet pages = new java.util.BitSet();
        for (final Holders.Holder h : Holders.of(arena)) {
            if (!h.name().startsWith("heap ")) {
                pages.or(h.pages());
            }
        }
        return pages;
    }

    /** @return "name=..., ptr=0x..." of what entry {@code e} holds, when it holds a name and a pointer (lost with it); else null */
    private String heldName(final int e) {
        final String name = lostRootName(e, RootsLayout.EMPTY);
        return name == null ? null : "name=" + name + ", ptr=0x"
            + Integer.toHexString(RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE))) + " (lost with it)";
    }

    /** @return one past the last non-zero byte of entry {@code e}'s name field (0 if all are zero) */
    private int lastNameByte(final int e) {
        int last = RootsLayout.MAX_NAME;
        while (last > 0 && view.getByte(e + RootsLayout.NAME + last - 1) == 0) {
            last--;
        }
        return last;
    }

    /**
     * The name length the bytes of the LIVE entry {@code e} give, when its NAME_LEN {@code len} was
     * hit by a stray write: an insert zeroes the whole name field before it writes the name, so no
     * byte past a LIVE name's length is non-zero, and the name is found by a lookup at its entry.
     * Tried, when the name as long as {@code len} is not found at {@code e}: the lengths from the
     * last non-zero byte on (a name may end in zero bytes), up to the largest, or below {@code len}
     * when that is in range and covers every non-zero byte (a length raised; one in range whose name
     * a lookup does not find is otherwise a root whose probe a stray write broke, moved as before).
     * The shortest whose name a lookup finds at {@code e}, no other LIVE entry holding it, wins. What
     * the bytes cannot tell: a name ending in zero bytes whose probe a stray write broke is taken for
     * a length raised (it loses its last zero bytes when the shorter name is found there), and a
     * length lowered onto a shorter name a lookup also finds there for stray bytes past that name.
     *
     * @return that length; 0 if the length is sound (a lookup finds the name at {@code e}) or none fits
     */
    private int lengthFromName(final int e, final int len) {
        final int last = lastNameByte(e);
        final boolean inRange = len >= 1 && len <= RootsLayout.MAX_NAME;
        if (inRange && reachesAt(e, len)) {
            // Found where it is: bytes past it are a stray write's (cleared), not a length lowered
            // onto a shorter name a lookup also finds here, which the bytes alone cannot tell apart.
            return 0;
        }
        final int top = inRange && last <= len ? len - 1 : RootsLayout.MAX_NAME;
        for (int candidate = Math.max(last, 1); candidate <= top; candidate++) {
            if (reachesAt(e, candidate)) {
                return candidate;
            }
        }
        return 0;
    }

    /**
     * @return whether a lookup of the first {@code length} bytes of entry {@code e}'s name meets
     * {@code e} before an EMPTY entry, with no other LIVE entry holding that name on its way
     */
    private boolean reachesAt(final int e, final int length) {
        final byte[] name = new byte[length];
        view.getBytes(e + RootsLayout.NAME, name, 0, length);
        final int start = NamedRoots.hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int other = entries.entry((start + i) & (RootsLayout.ENTRIES - 1));
            if (other == e) {
                return true;
            }
            final int state = view.getIntAcquire(other + RootsLayout.STATE);
            if (state == RootsLayout.EMPTY) {
                return false;
            }
            if (state == RootsLayout.LIVE && view.getInt(other + RootsLayout.NAME_LEN) == length) {
                final byte[] held = new byte[length];
                view.getBytes(other + RootsLayout.NAME, held, 0, length);
                if (java.util.Arrays.equals(held, name)) {
                    return false;
                }
            }
        }
        return false;
    }

    /** @return whether an entry other than {@code except} holds {@code name} LIVE */
    private boolean liveElsewhere(final String name, final int except) {
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entries.entry(i);
            if (e != except && view.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE
                && name.equals(lostRootName(e, RootsLayout.EMPTY))) {
                return true;
            }
        }
        return false;
    }

    /** @param recovered whether the lock was just taken over from a dead holder (a creator may have died) */
    List<String> repairLocked(final boolean recovered) {
        final List<String> done = new ArrayList<>();
        creation.undoCreation(recovered, done);
        restoreLostRoots(done);
        // An undo the busy allocator held up is finished later from its record, which names its entry
        // by index: that entry is neither moved nor dropped meanwhile (the undo would find nothing
        // there, and the name would keep the unformatted structure, or lose its pages, for good).
        final long left = view.getLongAcquire(directory + RootsLayout.CREATING);
        final long undoing = left == 0 ? -1 : (left >>> 32) - 1;
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            if (i == undoing) {
                continue;
            }
            final int e = entries.entry(i);
            int state = view.getIntAcquire(e + RootsLayout.STATE);
            final int len = view.getInt(e + RootsLayout.NAME_LEN);
            if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED || state == RootsLayout.WRITING) {
                final String what = state == RootsLayout.WRITING ? "WRITING" : "state=" + state;
                final String restorable = restorableRoot(e, i);
                if (restorable == null) {
                    final String held = heldName(e);
                    entries.tombstone(e);
                    done.add((state == RootsLayout.WRITING ? "half-written root entry cleared: entry=" + i
                        : "root entry in an unknown state cleared: entry=" + i + ", state=" + state)
                        + (held != null ? ", " + held : ""));
                    continue;
                }
                CrashPoints.at(RootsPoint.REPAIR_ENTRY);
                view.putIntRelease(e + RootsLayout.STATE, RootsLayout.LIVE);
                done.add("root restored (its entry read " + what + " with its name whole and its pointer at a " + restorable);
                state = RootsLayout.LIVE; // and moved below if a lookup does not find it there
            }
            final int restored = state == RootsLayout.LIVE ? lengthFromName(e, len) : 0;
            if (restored != 0) {
                CrashPoints.at(RootsPoint.REPAIR_ENTRY);
                view.putIntRelease(e + RootsLayout.NAME_LEN, restored);
                final byte[] name = new byte[restored];
                view.getBytes(e + RootsLayout.NAME, name, 0, restored);
                done.add("root name length restored from its name's bytes: name=" + new String(name, StandardCharsets.UTF_8)
                    + ", entry=" + i + ", length " + len + " -> " + restored);
            } else if (state == RootsLayout.LIVE && len >= 1 && len <= RootsLayout.MAX_NAME && lastNameByte(e) > len
                && reachesAt(e, len)) {
                // The name as long as its length is found here: a stray write hit the zeros past it.
                CrashPoints.at(RootsPoint.REPAIR_ENTRY);
                final byte[] stray = new byte[lastNameByte(e) - len];
                view.getBytes(e + RootsLayout.NAME + len, stray, 0, stray.length);
                view.fill(e + RootsLayout.NAME + len, RootsLayout.MAX_NAME - len, (byte) 0);
                done.add("stray bytes past a root's name cleared: entry=" + i + ", length=" + len + ", bytes="
                    + java.util.HexFormat.of().formatHex(stray));
            } else if (state == RootsLayout.LIVE && (len < 1 || len > RootsLayout.MAX_NAME)) {
                final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
                entries.tombstone(e);
                done.add("root with a corrupted name dropped (its name is lost): entry=" + i + ", length=" + len
                    + ", ptr=0x" + Integer.toHexString(ptr));
            } else if (state == RootsLayout.LIVE) {
                final byte[] name = new byte[len];
                view.getBytes(e + RootsLayout.NAME, name, 0, len);
                final String s = new String(name, StandardCharsets.UTF_8);
                final int found = entries.reachable(name);
                if (found != e && found != 0) {
                    entries.tombstone(e);
            done.add("duplicate root dropped, the entry a lookup finds kept: name=" + s + ", entry=" + i);
                } else if (found == 0) {
                    // Copied first, where a lookup finds it, then the unreachable entry goes. Killed
                    // in between, the name is listed twice and the next repair keeps the copy a
                    // lookup finds; the other order lost the name to a kill between the two (the
                    // copy, still WRITING, is then cleared as half-written).
                    final int ptr = RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
                    entries.reinsert(name, ptr);
            entries.tombstone(e);
            done.add("unreachable root moved where a lookup finds it: name=" + s + ", entry=" + i);
                }
            }
        }
        view.putLongRelease(repairWord, 0L);
        return done;
    }

    /**
     * The pages a repair keeps allocated whatever the page table says ({@code ArenaInternals.repair}
     * with held pages): the directory's, if its pointer and magic are sound, the region of every
     * store a live root points at, the header and rings of every channel one points at, and the
     * heap's metadata, slab and large-object pages ({@code ObjectHeap.heldPages}). Read before the
     * allocator's repair, which would otherwise free a page whose state a stray write turned to
     * FREE and hand it to someone else.
     */
    static java.util.BitSet heldPages(final SharedArena arena) {
        final java.util.BitSet held = new java.util.BitSet();
        final int dir = ArenaInternals.rootsDirectory(arena);
        // Only a directory whose magic is whole, or that shows a live root a lookup finds (what a
        // page of anything else, or a free and zeroed one, does not): a garbled pointer must not
        // keep pages that are not the directory's.
        if (dir == 0 || !Pages.inUserRange(arena, dir, RootsLayout.PAGES)
            || (arena.raw().getIntAcquire(dir + RootsLayout.MAGIC) == RootsLayout.MAGIC_VALUE
            ? directoryProblem(arena, dir) != null : !onlyMagicLost(arena, dir))) {
            return held;
        }
        final int first = (int) (Integer.toUnsignedLong(dir) / Geometry.PAGE_SIZE);
        held.set(first, first + RootsLayout.PAGES);
        final ArenaView v = arena.raw();
        final java.util.List<Integer> rest = new java.util.ArrayList<>();
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = dir + RootsLayout.entry(i);
            if (v.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE) {
                final int ptr = RootsLayout.pointerOf(v.getLongAcquire(e + RootsLayout.VALUE));
                if (!StoreTools.heldPages(arena, ptr, held) && !io.sharena.ipc.channel.Channel.heldPages(arena, ptr, held)) {
                    rest.add(ptr);
                }
            }
        }
        // The heap last: its pages are found by a scan, which skips those the others hold.
        for (final int ptr : rest) {
            io.sharena.ipc.heap.ObjectHeap.heldPages(arena, ptr, held);
        }
        return held;
    }

    /** @return whether every entry of the directory at {@code dir} has a state an entry has, and a live one a sound name length */
    private static boolean entriesSound(final SharedArena arena, final int dir) {
        final ArenaView v = arena.raw();
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = dir + RootsLayout.entry(i);
            final int state = v.getIntAcquire(e + RootsLayout.STATE);
            if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
                return false;
            }
            final int len = v.getInt(e + RootsLayout.NAME_LEN);
            if (state == RootsLayout.LIVE && (len < 1 || len > RootsLayout.MAX_NAME)) {
                return false;
            }
        }
        return true;
    }

    /**
     * @return whether the directory at {@code dir} (in the user range) lost only its magic to a stray
     * write: every entry's state is one an entry has, and at least one live root has a sound name
     * that a lookup finds where it is (what a page of anything else, or a zeroed one, does not show)
     */
    static boolean onlyMagicLost(final SharedArena arena, final int dir) {
        if (!Pages.inUserRange(arena, dir, RootsLayout.PAGES)) {
            return false;
        }
        final ArenaView v = arena.raw();
        final RootsEntries entries = new RootsEntries(v, dir);
        int found = 0;
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entries.entry(i);
            final int state = v.getIntAcquire(e + RootsLayout.STATE);
            if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
                return false;
            }
            final int len = v.getInt(e + RootsLayout.NAME_LEN);
            if (state == RootsLayout.LIVE && len >= 1 && len <= RootsLayout.MAX_NAME) {
                final byte[] name = new byte[len];
                v.getBytes(e + RootsLayout.NAME, name, 0, len);
                if (entries.reachable(name) == e) {
                    found++;
                }
            }
        }
        return found > 0;
    }

    /**
     * @return the one named-roots directory in the arena that the control page's pointer does not
     * lead to (its pages allocated, its magic whole, its entries a directory's), or 0 if there is
     * none, or more than one: a pointer a stray write zeroed or moved would otherwise lose every
     * root, and a new directory be made beside the old one. Reads the pages whose storage holds
     * data (all allocated pages where the file system cannot say), outside the stores' regions,
     * whose values may carry anything.
     */
    static int lostDirectory(final SharedArena arena) {
        return Pages.onlyPage(arena, ArenaInternals.rootsDirectory(arena), ptr ->
            arena.raw().getIntAcquire(ptr + RootsLayout.MAGIC) == RootsLayout.MAGIC_VALUE
                && directoryProblem(arena, ptr) == null && pagesProblem(arena, ptr) == null);
    }

    /**
     * @return whether the pointer {@code dir} leads to a directory a repair keeps: in the user pages,
     * its pages allocated, its entries a directory's (its magic whole, or lost alone)
     */
    private static boolean leadsToADirectory(final SharedArena arena, final int dir) {
        return dir != 0 && Pages.inUserRange(arena, dir, RootsLayout.PAGES) && pagesProblem(arena, dir) == null
            && (directoryProblem(arena, dir) == null || onlyMagicLost(arena, dir));
    }

    /** {@link NamedRoots#check(SharedArena)}. */
    static List<String> check(final SharedArena arena) {
        final int dir = ArenaInternals.rootsDirectory(arena);
        final List<String> violations = new ArrayList<>();
        final int lost = leadsToADirectory(arena, dir) ? 0 : lostDirectory(arena);
        final String lostLine = lost == 0 ? null : "named-roots directory no pointer leads to: page="
            + Integer.toUnsignedLong(lost) / Geometry.PAGE_SIZE + ", pointer=0x" + Integer.toHexString(dir);
        if (dir == 0) {
            return lostLine == null ? List.of() : List.of(lostLine);
        }
        final String problem = directoryProblem(arena, dir);
        if (problem != null) {
            violations.add("named-roots directory corrupted: " + problem);
            if (lostLine != null) {
                violations.add(lostLine);
            }
            return violations;
        }
        if (lostLine != null) {
            violations.add(lostLine);
        }
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

    /** {@link NamedRoots#repair(SharedArena, long)}. */
    static List<String> repair(final SharedArena arena, final long timeoutNanos) {
        final ArenaView v = arena.raw();
        int dir = ArenaInternals.rootsDirectory(arena);
        final List<String> done = new ArrayList<>();
        if (!leadsToADirectory(arena, dir)) {
            // The pointer zeroed or garbled: the directory it led to is found again, roots and all.
            final int lost = lostDirectory(arena);
            if (lost != 0 && ArenaInternals.compareAndSetRootsDirectory(arena, dir, lost)) {
                done.add("named-roots pointer " + (dir == 0 ? "zeroed" : "damaged (0x" + Integer.toHexString(dir) + ")")
                    + ": set to the directory found at page=" + Integer.toUnsignedLong(lost) / Geometry.PAGE_SIZE);
                dir = lost;
            }
        }
        if (dir == 0) {
            return done;
        }
        final String problem = directoryProblem(arena, dir);
        if (problem != null && onlyMagicLost(arena, dir) && pagesProblem(arena, dir) == null) {
            // Its pages are the directory's (allocated) and its entries sound: only the magic was hit.
            final int magic = v.getIntAcquire(dir + RootsLayout.MAGIC);
            if (v.compareAndSetInt(dir + RootsLayout.MAGIC, magic, RootsLayout.MAGIC_VALUE)) {
                done.add("named-roots directory magic restored (its entries are sound): was 0x" + Integer.toHexString(magic));
            }
        } else if (problem != null) {
            ArenaInternals.compareAndSetRootsDirectory(arena, dir, 0);
            done.add("named-roots directory dropped, every root lost: " + problem);
            return done;
        }
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
