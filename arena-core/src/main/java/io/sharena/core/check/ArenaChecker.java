package io.sharena.core.check;

import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Intent;
import io.sharena.core.layout.LockWord;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;
import io.sharena.core.owner.ProcessRegistry;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The read-only consistency checker: every page in exactly one state, the free structures matching
 * the page states, no span in two lists, counters adding up, no dead process left registered or
 * holding the lock. It reads without taking the lock, so it is exact only while no other process
 * is allocating (run it on a quiet arena); it never writes.
 *
 * <p>Each violation is one line, {@code what: name=value ...}. Walks of shared lists are bounded
 * by the arena's page count, so a corrupted (cyclic) list is reported, not followed forever.
 */
public final class ArenaChecker {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final int MAX_REPORTED = 1000;

    private final MemorySegment arena;
    private final int firstUser;
    private final int capacity;
    private final ProcessRegistry registry;
    private final List<String> violations = new ArrayList<>();
    private final BitSet inTree = new BitSet();
    private final BitSet inCache = new BitSet();
    private final BitSet inPending = new BitSet();
    /** FREE pages found DIRTY (storage kept committed) in the free runs. */
    private long dirtyPages;

    private ArenaChecker(final SharedArena a) {
        this.arena = ArenaInternals.segment(a);
        this.firstUser = (int) a.firstUserPage();
        this.capacity = (int) a.capacityPages();
        this.registry = ArenaInternals.registry(a);
    }

    /**
     * Reads that found violations while the allocator's lock changed hands are made again, up to
     * this many in all: this process's own purge takes the lock a moment after a free (the idle
     * decay), so even a process that does nothing else is not quiet within the purge delay.
     */
    private static final int READS = 5;

    /** The longest wait, over one check's readings, for a live holder of the lock to let go. */
    private static final long HOLD_WAIT_NANOS = 1_000_000_000L;
    private static final long LOCK_WORD = ControlLayout.word(ControlLayout.LOCK_WORD);
    private static final long TAKEN = ControlLayout.counter(ControlLayout.C_LOCK_ACQUISITIONS);

    /**
     * @return the violations found in {@code arena}, empty when it is consistent. A reading that
     * finds some while the allocator's lock was taken or held during it (its acquisitions counter
     * moved, or its word was set) is made again, up to {@value #READS} times in all: what a lock
     * holder changes between two of the checker's reads looks like a violation, and is gone after
     * it lets go, so a new reading waits for a live holder to let go first (a second at most, in all)
     */
    public static List<String> check(final SharedArena arena) {
        final MemorySegment segment = ArenaInternals.segment(arena);
        final long waitEnd = System.nanoTime() + HOLD_WAIT_NANOS;
        List<String> found = List.of();
        for (int read = 0; read < READS; read++) {
            final long before = (long) LONG.getAcquire(segment, TAKEN);
            final boolean freeBefore = (long) LONG.getAcquire(segment, LOCK_WORD) == 0;
            final ArenaChecker c = new ArenaChecker(arena);
            c.run();
            found = c.violations;
            final long wordAfter = (long) LONG.getAcquire(segment, LOCK_WORD);
            final boolean settled = freeBefore && wordAfter == 0 && (long) LONG.getAcquire(segment, TAKEN) == before;
            if (found.isEmpty() || settled) {
                break; // consistent; or the lock stayed free and untaken, so what was found was there all along
            }
            awaitRelease(arena, segment, wordAfter, waitEnd);
        }
        return found;
    }

    /**
     * Before the next reading, waits for a live holder of the lock other than the calling thread
     * to let go, within {@value #HOLD_WAIT_NANOS} ns for the whole check: a purge of many runs
     * holds the lock longer than a reading takes (tens of milliseconds on a slow disk), so
     * readings made at once would all fall inside it. A word naming no live process (a dead
     * owner's, or a stray write's) is reported, not waited for.
     */
    private static void awaitRelease(final SharedArena arena, final MemorySegment segment, final long held,
                                     final long waitEnd) {
        final long takenBefore = (long) LONG.getAcquire(segment, TAKEN);
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
        if (held == 0 || !ArenaInternals.registry(arena).isOwnerAlive(held) || heldByThisThread(arena)) {
            return;
        }
        // Until the word changes, or the same holder took the lock again (the count moved).
        while ((long) LONG.getAcquire(segment, LOCK_WORD) == held && (long) LONG.getAcquire(segment, TAKEN) == takenBefore
            && System.nanoTime() - waitEnd < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
        }
    }

    private static boolean heldByThisThread(final SharedArena arena) {
        try {
            return ArenaInternals.lock(arena).isHeldByCurrentThread();
        } catch (final IllegalStateException readOnly) {
            return false; // a read-only attachment takes no lock
        }
    }

    private long word(final long offset) {
        return (long) LONG.getAcquire(arena, offset);
    }

    private long state(final int page) {
        return word(PageEntry.stateOffset(page));
    }

    private long link(final int page) {
        return word(PageEntry.linkOffset(page));
    }

    private void report(final String line) {
        if (violations.size() < MAX_REPORTED) {
            violations.add(line);
        } else if (violations.size() == MAX_REPORTED) {
            violations.add("more violations not listed: limit=" + MAX_REPORTED);
        }
    }

    private boolean userPage(final int page) {
        return page >= firstUser && page < capacity;
    }

    private void run() {
        checkRegistryAndLock();
        final long treePages = walkTree();
        walkCaches();
        walkPending();
        long reserved = 0;
        for (int p = firstUser; p < capacity; p++) {
            final long w = state(p);
            final int s = PageEntry.stateOf(w);
            switch (s) {
                case PageEntry.FREE -> {
                    if (!inTree.get(p)) {
                        report("free page in no free list: page=" + p);
                    }
                }
                case PageEntry.ALLOCATED -> {
                    if ((PageEntry.flagsOf(w) & PageEntry.PUSHING) != 0) {
                        final int pusher = PageEntry.pusherOf(w);
                        if (pusher < 0 || !registry.isAlive(pusher)) {
                            report("allocated page held by the span-cache push of no live process: page=" + p
                                + ", word=0x" + Long.toHexString(w));
                        }
                    }
                }
                case PageEntry.RESERVED -> reserved++;
                case PageEntry.CACHED -> {
                    if (!inCache.get(p)) {
                        report("cached page in no span cache: page=" + p + ", slot=" + PageEntry.slotOf(w));
                    }
                }
                case PageEntry.PENDING -> {
                    if (!inPending.get(p)) {
                        report("pending page in no pending span: page=" + p + ", slot=" + PageEntry.slotOf(w));
                    }
                }
                default -> report("invalid page state: page=" + p + ", state=" + s);
            }
        }
        final long treeCounter = word(ControlLayout.word(ControlLayout.TREE_FREE_PAGES));
        if (treeCounter != treePages) {
            report("free-list page counter wrong: treeFreePages=" + treeCounter + ", counted=" + treePages);
        }
        final long dirtyCounter = word(ControlLayout.word(ControlLayout.DIRTY_PAGES));
        if (dirtyCounter != dirtyPages) {
            report("dirty page counter wrong: dirtyPages=" + dirtyCounter + ", counted=" + dirtyPages);
        }
        final long reservedCounter = word(ControlLayout.word(ControlLayout.RESERVED_PAGES));
        if (reservedCounter != reserved) {
            report("reserved page counter wrong: reservedPages=" + reservedCounter + ", counted=" + reserved);
        }
    }

    private void checkRegistryAndLock() {
        for (final ProcessRegistry.Entry e : registry.entries()) {
            if (!e.alive()) {
                report("dead process still registered: slot=" + e.slot() + ", pid=" + e.pid());
            }
        }
        final long lockWord = word(ControlLayout.word(ControlLayout.LOCK_WORD));
        if (lockWord != 0) {
            final int slot = LockWord.slot(lockWord);
            if (!registry.isOwnerAlive(lockWord)) {
                report("lock held by a dead process: slot=" + slot + ", pid=" + registry.pid(Math.max(slot, 0)));
            }
        } else {
            if (word(ControlLayout.word(ControlLayout.REPAIR_PENDING)) != 0) {
                report("lock taken over from a dead owner, allocator not yet repaired: repairPending=1");
            }
            final long intent = word(ControlLayout.word(ControlLayout.INTENT));
            if (Intent.op(intent) != Intent.NONE) {
                report("unfinished operation with the lock free: op=" + Intent.op(intent) + ", first="
                    + Intent.first(intent) + ", pages=" + Intent.pages(intent));
            }
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                // Odd only while a repair (the lock holder) runs: a repair that died, or a stray write.
                if ((word(RegistryLayout.field(slot, RegistryLayout.REPAIR_EPOCH)) & 1) != 0) {
                    report("span cache shut with no repair running (repair epoch odd; a repair opens it): slot=" + slot);
                }
            }
        }
    }

    /** @return the pages found in free runs */
    private long walkTree() {
        long pages = 0;
        for (int b = 0; b < ControlLayout.BUCKETS; b++) {
            int prev = 0;
            int steps = 0;
            for (int h = arena.get(ValueLayout.JAVA_INT, ControlLayout.bucketHead(b)); h != 0;
                 h = PageEntry.nextOf(link(h))) {
                if (++steps > capacity || !userPage(h)) {
                    report("free list broken: bucket=" + b + ", page=" + h + ", steps=" + steps);
                    break;
                }
                if (inTree.get(h)) {
                    // A list led back into a run already walked (a link a stray write changed):
                    // walking on would go round the loop, each lap the run's length again.
                    report("free list loops back: bucket=" + b + ", page=" + h);
                    break;
                }
                final long w = state(h);
                final int len = PageEntry.runOf(w);
                if (PageEntry.stateOf(w) != PageEntry.FREE || len <= 0 || h + (long) len > capacity) {
                    report("free run head not a free run: bucket=" + b + ", page=" + h + ", state="
                        + PageEntry.stateOf(w) + ", run=" + len);
                    break;
                }
                if (ControlLayout.bucketOf(len) != b) {
                    report("free run in the wrong size class: page=" + h + ", run=" + len + ", bucket=" + b);
                }
                if (PageEntry.prevOf(link(h)) != prev) {
                    report("free list back link wrong: page=" + h + ", prev=" + PageEntry.prevOf(link(h))
                        + ", expected=" + prev);
                }
                if (prev != 0 && Integer.compareUnsigned(prev, h) >= 0) {
                    report("free list not in address order: bucket=" + b + ", page=" + h + ", after=" + prev);
                }
                if (PageEntry.runOf(state(h + len - 1)) != len) {
                    report("free run tail tag wrong: page=" + h + ", run=" + len + ", tail="
                        + PageEntry.runOf(state(h + len - 1)));
                }
                final boolean runDirty = (PageEntry.flagsOf(w) & PageEntry.RUN_DIRTY) != 0;
                for (int p = h; p < h + len; p++) {
                    final long pw = state(p);
                    if (PageEntry.stateOf(pw) != PageEntry.FREE) {
                        report("page in a free run is not FREE: page=" + p + ", run=" + h);
                    } else if ((PageEntry.flagsOf(pw) & PageEntry.DIRTY) != 0) {
                        dirtyPages++;
                        if (!runDirty) {
                            // A purge looks only at runs marked dirty: this page's storage would stay.
                            report("dirty page in a free run not marked dirty: page=" + p + ", run=" + h);
                        }
                    }
                    if (inTree.get(p)) {
                        report("page in two free runs: page=" + p);
                    }
                    inTree.set(p);
                }
                if (h > firstUser && PageEntry.stateOf(state(h - 1)) == PageEntry.FREE) {
                    report("free runs not merged: page=" + h);
                }
                pages += len;
                prev = h;
            }
        }
        return pages;
    }

    private void walkCaches() {
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            for (int c = 0; c < RegistryLayout.CACHE_SIZES.length; c++) {
                final int size = RegistryLayout.CACHE_SIZES[c];
                final long head = word(RegistryLayout.cacheHead(slot, c));
                int steps = 0;
                for (int h = TaggedHead.page(head); h != 0; h = PageEntry.nextOf(link(h))) {
                    if (++steps > capacity || !userPage(h) || h + size > capacity) {
                        report("span cache broken: slot=" + slot + ", size=" + size + ", page=" + h);
                        break;
                    }
                    if (inCache.get(h)) {
                        // Back to a span a stack already holds (a link a stray write changed): walking
                        // on would report each page of the loop again, up to the arena's page count.
                        report("span cache loops back: slot=" + slot + ", size=" + size + ", page=" + h);
                        break;
                    }
                    final long w = state(h);
                    if (PageEntry.stateOf(w) != PageEntry.CACHED || PageEntry.slotOf(w) != slot
                        || PageEntry.runOf(w) != size) {
                        report("span cache entry not a cached span: slot=" + slot + ", page=" + h + ", state="
                            + PageEntry.stateOf(w) + ", run=" + PageEntry.runOf(w));
                        break;
                    }
                    markSpan(h, size, inCache, PageEntry.CACHED, "span cache");
                    expectCachedWords(slot, h, size);
                }
                if (steps != TaggedHead.count(head) && steps <= capacity) {
                    report("span cache count wrong: slot=" + slot + ", size=" + size + ", count="
                        + TaggedHead.count(head) + ", spans=" + steps);
                }
            }
        }
    }

    private void walkPending() {
        int steps = 0;
        for (int h = TaggedHead.page(word(ControlLayout.word(ControlLayout.PENDING_HEAD))); h != 0;
             h = PageEntry.nextOf(link(h))) {
            if (++steps > capacity || !userPage(h)) {
                report("pending list broken: page=" + h + ", steps=" + steps);
                break;
            }
            if (inPending.get(h)) {
                report("pending list loops back: page=" + h);
                break;
            }
            final long w = state(h);
            final int len = PageEntry.runOf(w);
            if (PageEntry.stateOf(w) != PageEntry.PENDING || len <= 0 || h + (long) len > capacity) {
                report("pending entry not a pending span: page=" + h + ", state=" + PageEntry.stateOf(w));
                break;
            }
            markSpan(h, len, inPending, PageEntry.PENDING, "pending list");
        }
    }

    /**
     * Reports a page of slot {@code slot}'s cached span {@code [head, head + len)} whose word is not
     * the one its owner's pop claims by CAS: CACHED for that slot with the slot's repair stamp
     * ({@link PageEntry#repairStamp}), the length at the first page and 0 at the others. Such a
     * span can never be popped: the pop marks the arena for repair when it meets it.
     */
    private void expectCachedWords(final int slot, final int head, final int len) {
        final int stamp = PageEntry.repairStamp(word(RegistryLayout.field(slot, RegistryLayout.REPAIR_EPOCH)));
        for (int p = head; p < head + len; p++) {
            final long w = state(p);
            if (PageEntry.stateOf(w) == PageEntry.CACHED && w != PageEntry.cached(slot, stamp, p == head ? len : 0)) {
                report("cached page not as its span's pop expects: slot=" + slot + ", page=" + p + ", span=" + head
                    + ", word=0x" + Long.toHexString(w) + ", stamp=" + PageEntry.stampOf(w) + " (slot's " + stamp + ")");
            }
        }
    }

    private void markSpan(final int head, final int len, final BitSet seen, final int state, final String where) {
        for (int p = head; p < head + len; p++) {
            if (PageEntry.stateOf(state(p)) != state) {
                report("page of a " + where + " span in another state: page=" + p + ", span=" + head);
            }
            if (seen.get(p) || inTree.get(p)) {
                report("page in two lists: page=" + p + ", list=" + where);
            }
            seen.set(p);
        }
    }
}
