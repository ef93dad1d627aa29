package io.sharena.core.alloc;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.Intent;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.owner.ProcessRegistry;

import java.util.ArrayList;
import java.util.List;

/**
 * Brings the allocator back to a consistent state (lock holder only): after a process died, after
 * corrupted metadata was found, or on request.
 *
 * <ol>
 *   <li>The interrupted holder's {@link Intent}: an ALLOC or RESERVE is rolled back (its caller never
 *       got the pages); an ALLOC_INTO is rolled forward if its destination word holds the range's
 *       pointer (published: kept ALLOCATED), back otherwise; a FREE_FROM is rolled back (nothing
 *       done) while its word still holds the pointer, forward (the range's ALLOCATED and RESERVED pages freed) once it does not. An intent whose range is not wholly user pages inside the arena, or an
 *       ALLOC_INTO or FREE_FROM whose word is neither the roots word nor an int of the user pages,
 *       was never written by a holder (a stray write): it is cleared and reported, nothing is rolled
 *       back, since the user pages it covers may be held by someone; so is any intent found when no
 *       lock takeover preceded the repair (a holder clears its intent before it unlocks). A dying free needs no intent: the
 *       pages it had taken are PENDING with its dead slot (step 5).</li>
 *   <li>The pending list is drained as usual (by the caller).</li>
 *   <li>Every span cache is emptied: live processes' stacks are taken whole by CAS (their owners'
 *       pops then find them empty), dead and free slots' heads are reset.</li>
 *   <li>With no lock taken over (no holder died inside an operation), pages whose state only a stray
 *       write can have given them are set ALLOCATED and reported, before the pass below: FREE
 *       outside every free run ({@link RunEvidence}), PENDING mid-free, CACHED or PENDING naming a
 *       slot nobody holds (an ALLOCATED page's word hit must not hand its page to a second owner).</li>
 *   <li>One pass over the page table: CACHED pages (no stack holds any now: in transit, or left by
 *       corruption) become FREE by CAS, which a popper in transit loses safely; PENDING pages whose
 *       slot is not a live process (dead, free, or no slot at all) become FREE; a state value that is
 *       no state becomes ALLOCATED (never freed by guess, reported); RESERVED pages are counted; every
 *       maximal run of FREE pages is relinked and punched out (a dead process may have freed pages
 *       it had not yet punched; every FREE page loses its DIRTY bit before its run is punched, so
 *       no page is left dirty and the dirty count is 0).</li>
 *   <li>The dead slots are released.</li>
 * </ol>
 *
 * <p>Page states are the truth (after a takeover; without one, read with the lists' evidence as
 * the step before the pass says) and every step is idempotent, so a recoverer that dies itself
 * leaves work the next one redoes. Pages a dead process had allocated stay ALLOCATED: they may be
 * linked into shared data. What it cannot fix (PENDING pages a live process marked and has not yet
 * queued: a push in progress, or one a stray write cut off the list) it reports.
 */
final class Recovery {
    private final PageTable table;
    private final FreeRuns runs;
    private final SpanCache caches;
    private final ProcessRegistry registry;
    private final Backing backing;
    /** What the last rebuild fixed by a safe guess rather than by knowing: see {@link #guesses()}. */
    private final List<String> guesses = new ArrayList<>();
    /** Set by {@link #fixIntent} when the intent named no range a holder could have written; reported by the rebuild. */
    private String ignoredIntent;
    /** The rebuild pass's state (lock holder only): the list tails, and what it counted. */
    private final int[] tails = new int[ControlLayout.BUCKETS];
    private boolean[] live;
    private long reserved;
    /** PENDING pages of live processes the last rebuild left to them: see {@link #pendingStillLeft()}. */
    private java.util.BitSet pendingLive = new java.util.BitSet();
    private int invalid;
    private int invalidFirst;
    /** Pages the caller knows a structure holds (see {@link #reclaimAndRebuild}), or null. */
    private java.util.BitSet held;
    private int heldKept;
    private int heldKeptFirst;
    private int heldUncommitted;
    /** In a repair that follows no lock takeover: the FREE pages no run vouches for, and the slots nobody holds; else null. */
    private RunEvidence.Evidence evidence;
    private boolean[] vacant;
    /**
     * Each registry slot's word as this repair read it when it judged the slots: a slot claimed
     * since (a process attaching while the repair runs: attaching takes no lock) reads otherwise,
     * and what its pages say of it is that process's, not a dead or vacant slot's.
     */
    private final long[] slotWords = new long[RegistryLayout.SLOTS];
    private int strayKept;
    private int strayKeptFirst;
    private int strayFreed;
    private int strayFreedFirst;

    Recovery(final PageTable table, final FreeRuns runs, final SpanCache caches, final ProcessRegistry registry,
             final Backing backing) {
        this.table = table;
        this.runs = runs;
        this.caches = caches;
        this.registry = registry;
        this.backing = backing;
    }

    /**
     * Rolls the interrupted lock holder's operation back (or forward), if {@code takenOver} says a
     * holder died; otherwise an intent is a stray write's, cleared and reported.
     */
    void fixIntent(final java.util.BitSet heldPages, final boolean takenOver) {
        final long offset = ControlLayout.word(ControlLayout.INTENT);
        final long intent = table.getLongVolatile(offset);
        final int op = Intent.op(intent);
        if (!takenOver && (op == Intent.ALLOC || op == Intent.RESERVE || op == Intent.ALLOC_INTO || op == Intent.FREE_FROM)) {
            // A holder clears its intent before it unlocks; one that died left the lock naming it,
            // and whoever took the lock over set the takeover bit. Neither happened: a stray write,
            // and rolling it either way would free pages someone holds.
            ignoredIntent = "an intent found with no lock takeover was ignored (nothing rolled back): op=" + op
                + ", first=" + Integer.toUnsignedLong(Intent.first(intent)) + ", pages=" + Intent.pages(intent);
            table.setLongRelease(offset, Intent.encode(Intent.NONE, 0, 0));
            return;
        }
        if (op == Intent.ALLOC || op == Intent.RESERVE || op == Intent.ALLOC_INTO || op == Intent.FREE_FROM) {
            final long first = Integer.toUnsignedLong(Intent.first(intent));
            final long end = first + Intent.pages(intent);
            if (first < table.firstUser || end > table.capacity || end <= first) {
                // A holder only ever writes a range of user pages inside the arena: this word is a
                // stray write. Rolling back the user pages it happens to cover would free pages
                // that someone holds, so nothing is rolled back.
                ignoredIntent = "an intent outside the user pages was ignored (nothing rolled back): op=" + op
                    + ", first=" + first + ", pages=" + Intent.pages(intent);
                table.setLongRelease(offset, Intent.encode(Intent.NONE, 0, 0));
                return;
            }
            if ((op == Intent.ALLOC_INTO || op == Intent.FREE_FROM) && !holderDest()) {
                // A holder writes a checked destination before the intent: one no holder writes makes
                // the pair a stray write, and rolling it either way would free pages someone may hold.
                ignoredIntent = "an intent naming a word no holder writes was ignored (nothing rolled back): op=" + op
                    + ", first=" + first + ", pages=" + Intent.pages(intent) + ", dest=0x"
                    + Long.toHexString(table.getLongVolatile(ControlLayout.word(ControlLayout.INTENT_DEST)));
                table.setLongRelease(offset, Intent.encode(Intent.NONE, 0, 0));
                return;
            }
            if ((op == Intent.ALLOC_INTO || op == Intent.FREE_FROM) && published(first)) {
                // ALLOC_INTO whose pointer reached the word: whoever reads the word may use the pages.
                // FREE_FROM whose word still holds the pointer: nothing was done yet.
                table.setLongRelease(offset, Intent.encode(Intent.NONE, 0, 0));
                return;
            }
            // ALLOC_INTO not published: rolled back as an ALLOC. FREE_FROM with the word cleared: rolled
            // forward, its pages still ALLOCATED (or RESERVED) freed (those its free had taken are PENDING with a dead
            // slot, freed by the rebuild).
            // FREE_FROM: RESERVED pages too, as the free would have (it un-reserves them); the rebuild
            // recounts the reserved pages.
            final int undo = op == Intent.RESERVE ? PageEntry.RESERVED : PageEntry.ALLOCATED;
            final int alsoUndo = op == Intent.FREE_FROM ? PageEntry.RESERVED : undo;
            long kept = 0;
            for (long p = first; p < end; p++) {
                final int state = PageEntry.stateOf(table.stateAcquire((int) p));
                if ((state == undo || state == alsoUndo) && heldPages != null && heldPages.get((int) p)) {
                    // A page a structure reached through the roots holds: no intent of a holder ever
                    // names one (a structure publishes its pages last and unpublishes them first), so
                    // this intent is a stray write, or its destination word one.
                    kept++;
                } else if (state == undo || state == alsoUndo) {
                    table.setStateRelease((int) p, PageEntry.state(PageEntry.FREE, 0, 0, 0));
                }
            }
            if (kept > 0) {
                ignoredIntent = "an intent naming pages a structure holds left them allocated: op=" + op + ", first="
                    + first + ", pages=" + Intent.pages(intent) + ", kept=" + kept;
            }
        }
        table.setLongRelease(offset, Intent.encode(Intent.NONE, 0, 0));
    }

    /**
     * @return whether {@link ControlLayout#INTENT_DEST} names a word a holder publishes to or frees
     * from: the control page's roots word, or an aligned int of the user pages (what
     * {@code SharedArena} checks before it calls the allocator)
     */
    private boolean holderDest() {
        final long dest = table.getLongVolatile(ControlLayout.word(ControlLayout.INTENT_DEST));
        return dest == ControlLayout.word(ControlLayout.ROOTS_PTR)
            || (dest & (Integer.BYTES - 1)) == 0 && dest >= (long) table.firstUser << Geometry.PAGE_SHIFT
            && dest <= ((long) table.capacity << Geometry.PAGE_SHIFT) - Integer.BYTES;
    }

    /**
     * @return whether the word an ALLOC_INTO or FREE_FROM intent names ({@link ControlLayout#INTENT_DEST}, checked
     * by {@link #holderDest} first) holds the pointer of page {@code first}
     */
    private boolean published(final long first) {
        final long dest = table.getLongVolatile(ControlLayout.word(ControlLayout.INTENT_DEST));
        return table.getIntVolatile(dest) == (int) (first << Geometry.PAGE_SHIFT);
    }

    /**
     * Steps 3 to 6, keeping every page of {@code heldPages} (pages a structure found through the
     * named roots holds, as a repair tool reads them before it repairs) ALLOCATED whatever its state
     * says: a page table damaged to call such a page FREE, CACHED, RESERVED or orphaned PENDING
     * would otherwise have it linked into the lists and punched out, its contents lost and the page
     * handed to a second owner. A PENDING page of a live process is left to that process's free.
     *
     * <p>A repair that follows no lock takeover ({@code takenOver} false: no holder died inside an
     * operation since the last repair) also knows that every FREE page lies in a run of the lists,
     * that no page is PENDING with {@link PageEntry#FREEING} (only a holder's free marks it, and the
     * holder is this caller), and that CACHED and PENDING pages name a slot some process holds or
     * held: a FREE page no run vouches for ({@link RunEvidence}), a FREEING page, and a CACHED or
     * PENDING page naming a slot nobody holds (or this attachment's, while it has allocated and freed
     * nothing) are a stray write's, and may be someone's page (an
     * ALLOCATED page's state word hit). They are set ALLOCATED, not freed, and reported.
     *
     * @param heldPages page numbers to keep, or null
     * @param takenOver whether the lock was taken over from a dead holder since the last repair
     * @return what could not be fixed, one line each (empty when all is well)
     */
    List<String> reclaimAndRebuild(final SpanCache.SpanSink sink, final java.util.BitSet heldPages,
                                   final boolean takenOver) {
        held = heldPages;
        // Dead slots, and the slot this attachment inherited from a dead process whose leftovers
        // are not reclaimed yet: that one lives, but what it holds in transit is the dead one's.
        final List<Integer> dead = registry.deadSlots();
        // Read before anything changes a state: the runs as the last holder left them.
        evidence = takenOver ? null : new RunEvidence(table).read();
        vacant = takenOver ? null : new boolean[RegistryLayout.SLOTS];
        try {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                caches.beginRepair(slot);
            }
            return reclaimAndRebuild(sink, dead);
        } finally {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                caches.endRepair(slot);
            }
            held = null;
            evidence = null;
            vacant = null;
        }
    }

    /** {@link #reclaimAndRebuild(SpanCache.SpanSink, java.util.BitSet, boolean)} with every slot's repair epoch odd. */
    private List<String> reclaimAndRebuild(final SpanCache.SpanSink sink, final List<Integer> dead) {
        final boolean[] live = new boolean[RegistryLayout.SLOTS];
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            slotWords[slot] = registry.word(slot);
            live[slot] = !dead.contains(slot) && registry.isAlive(slot);
            if (vacant != null) {
                vacant[slot] = !live[slot] && !dead.contains(slot) || slot == registry.ownSlot() && idle(slot);
            }
            if (live[slot]) {
                caches.takeAll(slot, sink);
            } else {
                caches.forget(slot);
            }
        }
        CrashPoints.at(AllocPoint.REPAIR_CACHES_EMPTIED);
        final List<String> left = rebuild(live);
        CrashPoints.at(AllocPoint.REPAIR_REBUILT);
        for (final int slot : dead) {
            registry.release(slot);
            CrashPoints.at(AllocPoint.REPAIR_SLOT_RELEASED);
        }
        return left;
    }

    private List<String> rebuild(final boolean[] live) {
        guesses.clear();
        if (ignoredIntent != null) {
            guesses.add(ignoredIntent);
            ignoredIntent = null;
        }
        runs.clear();
        java.util.Arrays.fill(tails, 0);
        reserved = 0;
        pendingLive = new java.util.BitSet();
        invalid = 0;
        invalidFirst = 0;
        heldKept = 0;
        heldKeptFirst = 0;
        heldUncommitted = 0;
        strayKept = 0;
        strayKeptFirst = 0;
        strayFreed = 0;
        strayFreedFirst = 0;
        this.live = live;
        // Every FREE page loses its DIRTY bit in reclaim, before its run is punched: nothing is dirty after.
        MaximalRuns.forEach(table.firstUser, table.capacity, this::scanPage, (head, len) -> {
            appendRun(head, len);
            backing.release(head, len);
        });
        this.live = null;
        table.setLongRelease(ControlLayout.word(ControlLayout.RESERVED_PAGES), reserved);
        table.setLongRelease(ControlLayout.word(ControlLayout.DIRTY_PAGES), 0);
        table.setLongRelease(ControlLayout.word(ControlLayout.DIRTY_SINCE), 0);
        final List<String> left = new ArrayList<>();
        if (invalid > 0) {
            guesses.add("pages with an invalid state set ALLOCATED (not freed: they may be in use; free them "
                + "if they are not): pages=" + invalid + ", first=" + invalidFirst);
        }
        if (heldKept > 0) {
            guesses.add("pages a structure holds were not allocated (a damaged page table): set ALLOCATED, their"
                + " contents kept: pages=" + heldKept + ", first=" + heldKeptFirst);
        }
        if (strayKept > 0) {
            guesses.add("pages FREE outside every free run, PENDING mid-free or CACHED or PENDING for a slot nobody holds,"
                + " with no lock taken over from a dead holder (a stray write): set ALLOCATED, not freed (they may be in"
                + " use; free them if they are not): pages=" + strayKept + ", first=" + strayKeptFirst);
        }
        if (strayFreed > 0) {
            guesses.add("pages CACHED or PENDING inside a free run the lists link (a stray write; no lock taken over):"
                + " freed with their run: pages=" + strayFreed + ", first=" + strayFreedFirst);
        }
        if (heldUncommitted > 0) {
            left.add("pages kept allocated (a structure holds them, or no free run accounts for them) whose storage could"
                + " not be committed (the disk is full; a write to"
                + " them may fault until it is not): pages=" + heldUncommitted);
        }
        return left;
    }

    /** One page of the rebuild's pass: reclaimed if orphaned, counted. @return whether it is FREE now */
    private boolean scanPage(final int p) {
        // First: a structure's page that a dead process was pushing is kept, but plainly ALLOCATED,
        // or its slot's next owner would read as the push's, and nothing could free the page again.
        settlePush(p);
        if (held != null && held.get(p) && keepHeld(p)) {
            return false;
        }
        if (vacant != null && keepStray(p)) {
            return false;
        }
        final boolean free = reclaim(p, live);
        final long w = table.stateAcquire(p);
        final int s = PageEntry.stateOf(w);
        if (s == PageEntry.RESERVED) {
            reserved++;
        } else if (s == PageEntry.PENDING) {
            pendingLive.set(p);
            // A live process's reserved page on its way to the pending list (or on it: queued while
            // this repair held the lock): still counted, since the drain that frees it counts it out.
            if ((PageEntry.flagsOf(w) & PageEntry.WAS_RESERVED) != 0) {
                reserved++;
            }
        } else if (s > PageEntry.CACHED) {
            // No state at all: a stray write. The page may be someone's; never free it by guess.
            table.setStateRelease(p, PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0));
            if (invalid++ == 0) {
                invalidFirst = p;
            }
        }
        return free;
    }

    /**
     * The pages the last rebuild left PENDING for live processes, read again once the caller has
     * drained the pending list after the rebuild: a process whose free came while the repair ran
     * (its span cache shut, the lock held) queued it there, and those are free now.
     *
     * @return one line naming the pages still PENDING for a live process in no pending span (a free
     * in progress, or cut off the list by corruption), or none
     */
    List<String> pendingStillLeft() {
        int count = 0;
        int first = 0;
        for (int p = pendingLive.nextSetBit(0); p >= 0; p = pendingLive.nextSetBit(p + 1)) {
            if (PageEntry.stateOf(table.stateAcquire(p)) == PageEntry.PENDING && count++ == 0) {
                first = p;
            }
        }
        pendingLive = new java.util.BitSet();
        return count == 0 ? List.of() : List.of("pending pages of live processes in no pending span, left to them (a"
            + " free in progress, or cut off the list by corruption; a repair after their process has closed or died"
            + " frees them): pages=" + count + ", first=" + first);
    }

    /**
     * @return what the last repair made consistent by a conservative guess (a page of no known state
     * kept allocated), one line each: the check is clean, but a user may want to know
     */
    List<String> guesses() {
        return List.copyOf(guesses);
    }

    /**
     * Makes a page a structure holds ALLOCATED, unless it is another live process's PENDING page (its
     * free is under way: left to it, as {@link #reclaim} leaves it). One PENDING in this attachment's
     * own slot is a stray write's: the repairing process frees nothing a structure holds (it used to
     * be left "to a live process", the repair itself, and freed by the next opener after this process
     * was gone, objects and all).
     *
     * @return whether the page is ALLOCATED now
     */
    private boolean keepHeld(final int p) {
        while (true) {
            final long w = table.stateAcquire(p);
            final int s = PageEntry.stateOf(w);
            final int slot = PageEntry.slotOf(w);
            if (s == PageEntry.ALLOCATED) {
                return true;
            }
            if (s == PageEntry.PENDING && slot < RegistryLayout.SLOTS && live[slot] && slot != registry.ownSlot()
                && (PageEntry.flagsOf(w) & PageEntry.FREEING) == 0) {
                return false;
            }
            // CAS: a CACHED page may be claimed right now by its owner's pop in transit; one wins.
            if (table.casState(p, w, PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0))) {
                // A FREE page not marked DIRTY may be a hole: its storage is committed now, as an
                // allocation's is, so that a write to it cannot fault on a full disk.
                if (s == PageEntry.FREE && (PageEntry.flagsOf(w) & PageEntry.DIRTY) == 0 && !backing.commit(p, 1)) {
                    heldUncommitted++;
                }
                if (heldKept++ == 0) {
                    heldKeptFirst = p;
                }
                return true;
            }
        }
    }

    /**
     * In a repair that follows no takeover: makes page {@code p} ALLOCATED if its state can only be
     * a stray write's (see {@link #reclaimAndRebuild(SpanCache.SpanSink, java.util.BitSet, boolean)}).
     *
     * @return whether it was kept so
     */
    private boolean keepStray(final int p) {
        while (true) {
            final long w = table.stateAcquire(p);
            final int s = PageEntry.stateOf(w);
            final int slot = PageEntry.slotOf(w);
            if ((s == PageEntry.CACHED || s == PageEntry.PENDING) && evidence.linkedRuns().get(p)) {
                // Inside a run the lists link: free when it was linked, its word hit since. (A page
                // that reads ALLOCATED or RESERVED, or no state, is never freed by guess: it stays.)
                if (table.casState(p, w, PageEntry.state(PageEntry.FREE, 0, 0, 0))) {
                    if (strayFreed++ == 0) {
                        strayFreedFirst = p;
                    }
                    return false;
                }
                continue;
            }
            final boolean stray = s == PageEntry.FREE && evidence.unvouchedFree().get(p)
                || s == PageEntry.PENDING && (PageEntry.flagsOf(w) & PageEntry.FREEING) != 0
                || (s == PageEntry.CACHED || s == PageEntry.PENDING) && (slot >= RegistryLayout.SLOTS
                    // This attachment's slot read idle when the repair began; read again after the
                    // page: a free of another thread of it counts itself before it marks a page.
                    || vacant[slot] && unchanged(slot) && (slot != registry.ownSlot() || idle(slot)));
            if (!stray) {
                return false;
            }
            // CAS: a live process's cache pop may claim a CACHED page right now (then it is that one's).
            if (table.casState(p, w, PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0))) {
                // Its storage may be a hole (a page that was free): committed, as an allocation's is.
                if (!backing.commit(p, 1)) {
                    heldUncommitted++;
                }
                if (strayKept++ == 0) {
                    strayKeptFirst = p;
                }
                return true;
            }
        }
    }

    /**
     * @return whether {@code slot}, this attachment's, has not allocated or freed anything yet (a
     * repair tool's, say): nothing it holds can be in transit, so a CACHED or PENDING page naming it
     * is a stray write's. An inherited slot is a dead one's, not idle.
     */
    private boolean idle(final int slot) {
        return !registry.inheriting()
            && table.getLongVolatile(RegistryLayout.field(slot, RegistryLayout.ALLOCATIONS)) == 0
            && table.getLongVolatile(RegistryLayout.field(slot, RegistryLayout.FREES)) == 0;
    }

    /**
     * Makes page {@code p} plainly ALLOCATED if a span-cache push holds it ({@link PageEntry#PUSHING})
     * for no live process: a dead process's free that had not marked it yet (kept, as a free not yet
     * called), or a stray write. A live process's push is left to finish.
     */
    private void settlePush(final int p) {
        final long w = table.stateAcquire(p);
        if (PageEntry.stateOf(w) != PageEntry.ALLOCATED || (PageEntry.flagsOf(w) & PageEntry.PUSHING) == 0) {
            return;
        }
        final int pusher = PageEntry.pusherOf(w);
        if (pusher >= 0 && live[pusher]) {
            return;
        }
        // CAS: a live push (of a process attached since the repair judged the slots) may finish now.
        if (pusher < 0 || unchanged(pusher)) {
            table.casState(p, w, PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0));
        }
    }

    /** Frees page {@code p} if it is in transit for nobody. @return whether it is FREE now */
    private boolean reclaim(final int p, final boolean[] live) {
        while (true) {
            final long w = table.stateAcquire(p);
            final int s = PageEntry.stateOf(w);
            final int slot = PageEntry.slotOf(w);
            // FREEING pages exist only inside a lock holder's free, and the lock is ours: any found
            // now is its dead holder's, or a stray write's.
            final boolean orphan = s == PageEntry.CACHED
                || s == PageEntry.PENDING && (slot >= RegistryLayout.SLOTS || !live[slot] && unchanged(slot)
                    || (PageEntry.flagsOf(w) & PageEntry.FREEING) != 0);
            if (s == PageEntry.FREE) {
                if (w != 0) {
                    table.setStateRelease(p, 0); // old tags, or stray flags or slot: the relink below re-tags
                }
                return true;
            }
            if (!orphan) {
                return false;
            }
            // CAS: a CACHED page may be claimed right now by its owner's pop in transit; one wins.
            if (table.casState(p, w, PageEntry.state(PageEntry.FREE, 0, 0, 0))) {
                return true;
            }
        }
    }

    /**
     * @return whether registry slot {@code slot} reads as when this repair judged it. Read after the
     * page's state: a process claims its slot before it marks any page with it, so a mark of a
     * process that attached since is always seen with its claim.
     */
    private boolean unchanged(final int slot) {
        return registry.word(slot) == slotWords[slot];
    }

    /** Links a run at the end of its list: the scan goes in address order, so lists stay sorted. */
    private void appendRun(final int head, final int len) {
        final int bucket = ControlLayout.bucketOf(len);
        table.setStateRelease(head, PageEntry.state(PageEntry.FREE, 0, 0, len));
        if (len > 1) {
            table.setStateRelease(head + len - 1, PageEntry.state(PageEntry.FREE, 0, 0, len));
        }
        final int tail = tails[bucket];
        table.setLinkPlain(head, PageEntry.link(tail, 0));
        if (tail == 0) {
            table.setIntPlain(ControlLayout.bucketHead(bucket), head);
        } else {
            table.setLinkPlain(tail, PageEntry.link(PageEntry.prevOf(table.linkPlain(tail)), head));
        }
        tails[bucket] = head;
        table.getAndAddLong(ControlLayout.word(ControlLayout.TREE_FREE_PAGES), len);
    }
}
