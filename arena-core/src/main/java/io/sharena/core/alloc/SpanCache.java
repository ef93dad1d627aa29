package io.sharena.core.alloc;

import io.sharena.core.layout.Geometry;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The lock-free span caches: a stack of free spans per size in {@link RegistryLayout#CACHE_SIZES},
 * in each process's registry slot, so that the common small alloc/free never takes the lock.
 *
 * <p>Each stack head is a {@link TaggedHead} changed only by compare-and-set; the tag makes a CAS
 * from a stale head fail even when the same span is on top again (ABA), and a popper that read a
 * stale LINK word (the span was popped and reused meanwhile) fails the same way.
 *
 * <p>A span's pages are CACHED with the owner's slot in their STATE words, RUN at the first page.
 * Push (owner only): the first page ALLOCATED → ALLOCATED with {@link PageEntry#PUSHING} by CAS (a
 * double free fails here and goes the slow way), link it to the top, the other pages ALLOCATED →
 * CACHED by CAS, the first → CACHED with the span's length, then CAS the head if no repair began
 * meanwhile (see {@link #push}). Pop (owner only): CAS the head past the span, then <em>claim</em>
 * each page CACHED → ALLOCATED by CAS, then zero the pages.
 *
 * <p><b>Who else may take a span.</b> The lock holder may take a whole stack of any process,
 * live or dead, with one CAS of its head to empty ({@link #takeAll}): an allocation that finds
 * nothing else, an {@code allocPagesAt} or {@code reservePages} on a cached page, close, repair.
 * It then moves each span's pages CACHED → FREE (and {@link PageEntry#DIRTY}: their storage is
 * still committed) by CAS. The race argument: every transition out of
 * CACHED is a CAS from the exact CACHED word, so of an owner's pop and a taker (or a repair that
 * frees a CACHED page no stack reaches) exactly one wins each page; a pop whose claim fails skips
 * the span (it was taken), so a page is never handed out by two. A pop that already moved the head
 * past a span when the taker swapped the stack keeps that span (the taker never saw it); a push
 * whose head CAS loses to the taker retries on the empty stack. Spans are only ever taken whole
 * stacks at a time, so no stack keeps a node that was taken from under it.
 *
 * <p><b>Distrust.</b> Heads and links are read from shared memory: a page number out of the user
 * range, a span whose pages are not CACHED for this slot with this length, or a walk longer than the
 * stack can hold marks the arena for repair; the pop then returns 0 (the caller takes the locked
 * path, which repairs first) and the walk stops there.
 *
 * <p>Pages are zeroed when a pop hands them out, not when they are pushed: a raw-view write into a
 * cached (free) page is wiped before anyone gets it.
 *
 * <p>At most {@link #LIMIT_SPANS} spans per size stay here: 32 single pages and 16 pages of each
 * larger size, 96 pages (384 KiB) per process, resident, never handed back to the operating
 * system while cached. The count lives in the stack's head word, so keeping it costs no extra atomic.
 */
final class SpanCache {
    /** Spans one process may keep cached, per size class of {@link RegistryLayout#CACHE_SIZES}. */
    static final int[] LIMIT_SPANS = {32, 8, 4, 2, 1};
    private static final MemorySegment ZEROS = Arena.global().allocate(Geometry.pageBytes(16), Geometry.PAGE_SIZE);
    private static final long ALLOCATED = PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0);
    /** What a taken span's pages become: FREE, their storage still committed (they were ALLOCATED). */
    private static final long FREE_DIRTY = PageEntry.state(PageEntry.FREE, PageEntry.DIRTY, 0, 0);

    private final PageTable table;
    private final int slot;
    /** This slot's {@link RegistryLayout#REPAIR_EPOCH}. */
    private final long epochOffset;
    /** The first page of a span this slot's push holds while it writes the page's link. */
    private final long pushing;
    /** Frees pages of this process's the slow way (the lists or the pending list): see {@link #takeBack}. */
    private final SpanSink slowFree;

    SpanCache(final PageTable table, final int slot, final SpanSink slowFree) {
        this.table = table;
        this.slot = slot;
        this.epochOffset = RegistryLayout.field(slot, RegistryLayout.REPAIR_EPOCH);
        this.pushing = PageEntry.pushing(slot);
        this.slowFree = slowFree;
    }

    /**
     * @return the first page of a cached span of {@code n} pages, now ALLOCATED and zeroed (left as
     * they were if not {@code zero}), or 0
     */
    int pop(final int n, final boolean zero) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        if (sizeClass < 0) {
            return 0;
        }
        final long headOffset = RegistryLayout.cacheHead(slot, sizeClass);
        for (int attempt = 0; attempt <= LIMIT_SPANS[sizeClass]; attempt++) {
            final long taken = popRaw(headOffset, n);
            if (taken == 0) {
                return 0;
            }
            final int page = (int) taken;
            // The epoch read between the head and its CAS (its low half): every span the stack held
            // then carries its stamp, so the claim's CAS fails only on a page a repair that began
            // since has freed (and this slot may have cached again, with the next stamp).
            final long epoch = taken >>> 32;
            final int stamp = PageEntry.repairStamp(epoch);
            final long first = PageEntry.cached(slot, stamp, n);
            final long rest = PageEntry.cached(slot, stamp, 0);
            CrashPoints.at(AllocPoint.CACHE_POP_HEAD_TAKEN);
            final int claimed = claimPrefix(page, n, first, rest, ALLOCATED, AllocPoint.CACHE_POP_PAGE_TAKEN);
            if (claimed == n) {
                if (zero) {
                    // Zeroed on hand-out: whatever was written into the page while it was free is gone.
                    MemorySegment.copy(ZEROS, 0, table.arena, PageTable.byteOffset(page), Geometry.pageBytes(n));
                }
                return page;
            }
            if (lostClaim(page, claimed, first, rest, epoch)) {
                return 0;
            }
        }
        table.corrupt();
        return 0;
    }

    /**
     * A pop's claim of a span lost page {@code page + claimed} (the rare path, kept out of {@link #pop}).
     *
     * @return true if a repair that began after the pop freed the pages the claim lost (the pages
     * claimed are this process's and have been freed the slow way; the pop gives up, and the locked
     * path waits for the repair); false if no repair ran (the stack is corrupted: the pages claimed
     * went back to CACHED, in no stack, and the arena is marked for the repair that frees them)
     */
    private boolean lostClaim(final int page, final int claimed, final long first, final long rest, final long epoch) {
        if ((table.getLongVolatile(epochOffset) & 0xFFFF_FFFFL) != epoch) {
            if (claimed > 0) {
                slowFree.freed(page, claimed);
            }
            return true;
        }
        unclaim(page, claimed, first, rest, ALLOCATED);
        table.corrupt();
        return false;
    }

    /**
     * Moves {@code [page, page + n)} from CACHED ({@code first} at the first page, {@code rest} at the
     * others) to {@code to}, one CAS per page. If one fails, the pages already moved go back to
     * CACHED (they are then in no stack, and repair frees them) and the span is not claimed.
     */
    private boolean claim(final int page, final int n, final long first, final long rest, final long to,
                          final AllocPoint point) {
        final int claimed = claimPrefix(page, n, first, rest, to, point);
        if (claimed == n) {
            return true;
        }
        unclaim(page, claimed, first, rest, to);
        return false;
    }

    /** @return how many pages from {@code page} on moved from CACHED to {@code to} before a CAS failed (n: all) */
    private int claimPrefix(final int page, final int n, final long first, final long rest, final long to,
                            final AllocPoint point) {
        for (int p = page; p < page + n; p++) {
            if (!table.casState(p, p == page ? first : rest, to)) {
                return p - page;
            }
            CrashPoints.at(point);
        }
        return n;
    }

    /** Puts the first {@code claimed} pages of a span back from {@code to} to CACHED. */
    private void unclaim(final int page, final int claimed, final long first, final long rest, final long to) {
        for (int q = page; q < page + claimed; q++) {
            table.casState(q, to, q == page ? first : rest);
        }
    }

    /**
     * Caches the ALLOCATED span {@code [page, page + n)}.
     *
     * <p>The first page is taken by CAS to ALLOCATED with {@link PageEntry#PUSHING} before its LINK
     * is written: a page someone holds is never freed by anyone else (a concurrent second free of it
     * finds it not plainly ALLOCATED and does nothing; a repair keeps it), so the write can land
     * neither on a link another push of the same page wrote nor on a free list. The other pages are
     * marked CACHED by CAS, then the first (tagged with the span's length) by a store. The head's CAS
     * is made only if this slot's {@link RegistryLayout#REPAIR_EPOCH} reads as it did before: a
     * repair moves the epoch, then changes every head of the slot ({@link #beginRepair}), then takes
     * the stacks and scans, so a push that reads the epoch unchanged read its head before that
     * change, and its CAS fails if the change came first. A push that loses its CAS for any reason
     * takes its pages back ({@link #takeBack}) before it tries again.
     *
     * @return false if it has no cache size, the cache is full or a repair is under way, or a page
     * is not ALLOCATED (the caller then frees it the slow way; nothing has changed); true if it is
     * cached, or if a repair freed part of it meanwhile (the rest was freed here the slow way)
     */
    /** @return whether {@code n} is a cache size whose stack in this process is at its limit (a push of it is refused) */
    boolean full(final int n) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        return sizeClass >= 0
            && TaggedHead.count(table.getLongVolatile(RegistryLayout.cacheHead(slot, sizeClass))) >= LIMIT_SPANS[sizeClass];
    }

    boolean push(final int page, final int n) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        if (sizeClass < 0) {
            return false;
        }
        final long headOffset = RegistryLayout.cacheHead(slot, sizeClass);
        final int limit = LIMIT_SPANS[sizeClass];
        while (true) {
            final long epoch = table.getLongVolatile(epochOffset);
            final long head = table.getLongVolatile(headOffset);
            final int count = TaggedHead.count(head);
            if ((epoch & 1) != 0 || count >= limit || !table.casState(page, ALLOCATED, pushing)) {
                return false;
            }
            // The pages carry the stamp of the epoch read above (see pop). The first page gets its tag
            // (the span's length) in the store that makes it CACHED: every word a span's pages carry
            // while cached was set by their holder, so a repair that frees them while the span is in
            // no stack can never be overwritten by this push.
            final int stamp = PageEntry.repairStamp(epoch);
            final long cached = PageEntry.cached(slot, stamp, 0);
            final long tagged = PageEntry.cached(slot, stamp, n);
            table.setLinkPlain(page, PageEntry.link(0, TaggedHead.page(head)));
            CrashPoints.at(AllocPoint.CACHE_PUSH_TAGGED);
            for (int p = page + 1; p < page + n; p++) {
                if (!table.casState(p, ALLOCATED, cached)) {
                    // Not ALLOCATED (a double free): nothing of it is this push's to cache. The first
                    // page goes back from PUSHING (no one else moves it), then the others.
                    table.setStateRelease(page, ALLOCATED);
                    if (p == page + 1 || takeBack(page + 1, p - page - 1, n - 1, cached, cached, epoch)) {
                        return false;
                    }
                    slowFree.freed(page, 1); // takeBack freed the rest of the span
                    return true;
                }
                CrashPoints.at(AllocPoint.CACHE_PUSH_PAGE_MARKED);
            }
            table.setStateRelease(page, tagged);
            CrashPoints.at(AllocPoint.CACHE_PUSH_PAGE_MARKED);
            // The CAS publishes the tag and the link to the next popper or taker.
            if (table.getLongVolatile(epochOffset) == epoch) {
                CrashPoints.at(AllocPoint.CACHE_PUSH_EPOCH_CHECKED);
                if (table.casLong(headOffset, head, TaggedHead.next(head, count + 1, page))) {
                    CrashPoints.at(AllocPoint.CACHE_PUSH_DONE);
                    return true;
                }
            }
            // Lost to another thread of this process, a taker or a repair: the span comes back whole
            // and this push starts again (the repair's odd epoch, or a full stack, then sends it the
            // slow way), or a repair freed part of it, and takeBack freed the rest.
            if (!takeBack(page, n, n, tagged, cached, epoch)) {
                return true;
            }
        }
    }

    /**
     * Takes the first {@code marked} pages of a span this push marked CACHED back to ALLOCATED, one
     * CAS each. A page whose CAS fails is not this process's any more: a repair that began after the
     * push read {@code epoch} freed it (its scan frees every CACHED page no stack holds), or a stray
     * write hit it (then the arena is marked for repair).
     *
     * @return true if every marked page came back (nothing has changed); false if one did not, in
     * which case the pages that came back and the span's unmarked rest have been freed the slow way
     */
    private boolean takeBack(final int page, final int marked, final int n, final long tagged, final long cached,
                             final long epoch) {
        int from = page;
        boolean lost = false;
        for (int p = page; p < page + marked; p++) {
            if (!table.casState(p, p == page ? tagged : cached, ALLOCATED)) {
                lost = true;
                if (p > from) {
                    slowFree.freed(from, p - from);
                }
                from = p + 1;
            }
        }
        if (!lost) {
            return true;
        }
        if (page + n > from) {
            slowFree.freed(from, page + n - from);
        }
        if (table.getLongVolatile(epochOffset) == epoch) {
            table.corrupt();
        }
        return false;
    }

    /**
     * Pushes a span that a refill has just made CACHED for this slot (its first page tagged with
     * {@code n}; the caller holds the lock). No limit check: a refill happens when the stack was empty,
     * and refills are one at a time (under the lock), so a stack holds at most
     * {@code ListAllocator.REFILL_PAGES - 1} spans more than its limit; pushes over the limit go the
     * slow way until it drains.
     */
    void pushRefilled(final int page, final int n) {
        final long headOffset = RegistryLayout.cacheHead(slot, RegistryLayout.cacheClassOf(n));
        while (true) {
            final long head = table.getLongVolatile(headOffset);
            table.setLinkPlain(page, PageEntry.link(0, TaggedHead.page(head)));
            // The CAS publishes the link to the next popper or taker (the tag was set under the intent).
            if (table.casLong(headOffset, head, TaggedHead.next(head, Math.min(TaggedHead.count(head) + 1,
                TaggedHead.MAX_COUNT), page))) {
                return;
            }
        }
    }

    /**
     * Takes every stack of {@code owner} (any process; the caller holds the lock) and hands each span
     * to {@code sink} as FREE pages.
     *
     * @return the pages handed to {@code sink}
     */
    /**
     * Takes this process's stack of {@code n}-page spans into {@code sink} (lock held), as
     * {@link #takeAll} takes each stack.
     *
     * @return pages taken
     */
    long takeOwnStack(final int n, final SpanSink sink) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        return sizeClass < 0 ? 0 : takeStack(slot, sizeClass, sink);
    }

    long takeAll(final int owner, final SpanSink sink) {
        long pages = 0;
        for (int sizeClass = 0; sizeClass < RegistryLayout.CACHE_SIZES.length; sizeClass++) {
            pages += takeStack(owner, sizeClass, sink);
        }
        return pages;
    }

    private long takeStack(final int owner, final int sizeClass, final SpanSink sink) {
        final int n = RegistryLayout.CACHE_SIZES[sizeClass];
        final long headOffset = RegistryLayout.cacheHead(owner, sizeClass);
        long head;
        do {
            head = table.getLongVolatile(headOffset);
            if (head == 0 || TaggedHead.page(head) == 0 && TaggedHead.count(head) == 0) {
                return 0; // empty (an empty head with a count is corrupt: the CAS below resets it)
            }
        } while (!table.casLong(headOffset, head, TaggedHead.next(head, 0, 0)));
        CrashPoints.at(AllocPoint.CACHE_FLUSH_STACK_TAKEN);
        // The stack is now the caller's alone: its owner's pops and pushes CAS a head that no longer
        // leads here. Walk it, bounded by what a stack can hold.
        long pages = 0;
        int steps = 0;
        for (int h = TaggedHead.page(head); h != 0; ) {
            if (++steps > TaggedHead.MAX_COUNT || !table.userSpan(h, n)) {
                table.corrupt();
                break;
            }
            final int next = PageEntry.nextOf(table.linkPlain(h));
            // Each span with the stamp it was pushed with: a repair killed while the epoch was odd
            // leaves stacks pushed before it, and the next repair's epoch already has the next stamp.
            final int stamp = PageEntry.stampOf(table.stateAcquire(h));
            final long first = PageEntry.cached(owner, stamp, n);
            final long rest = PageEntry.cached(owner, stamp, 0);
            if (!claim(h, n, first, rest, FREE_DIRTY, AllocPoint.CACHE_FLUSH_SPAN_STATED)) {
                table.corrupt();
                break;
            }
            sink.freed(h, n);
            CrashPoints.at(AllocPoint.CACHE_FLUSH_SPAN_FREED);
            pages += n;
            h = next;
        }
        return pages;
    }

    /**
     * Makes slot {@code owner}'s {@link RegistryLayout#REPAIR_EPOCH} odd and different from what it
     * was (a repair, the lock holder, before it takes the slot's stacks): that slot's pushes and pops
     * from now on stay off the cache, and those under way when it changed take back what they had in
     * transit. One that a repair killed before its end left odd goes on to the next odd value.
     */
    void beginRepair(final int owner) {
        final long at = RegistryLayout.field(owner, RegistryLayout.REPAIR_EPOCH);
        final long epoch = table.getLongVolatile(at);
        table.setLongVolatile(at, (epoch | 1) + ((epoch & 1) << 1));
        // Every head changes (its tag), an empty one too: a push that read a head before the epoch
        // moved cannot CAS it any more, even onto a stack the take finds empty and leaves alone.
        for (int sizeClass = 0; sizeClass < RegistryLayout.CACHE_SIZES.length; sizeClass++) {
            final long headOffset = RegistryLayout.cacheHead(owner, sizeClass);
            long head;
            do {
                head = table.getLongVolatile(headOffset);
            } while (!table.casLong(headOffset, head, TaggedHead.next(head, TaggedHead.count(head), TaggedHead.page(head))));
        }
    }

    /** Makes slot {@code owner}'s repair epoch even again (a repair, after its scan): the cache is open. */
    void endRepair(final int owner) {
        final long at = RegistryLayout.field(owner, RegistryLayout.REPAIR_EPOCH);
        table.setLongVolatile(at, (table.getLongVolatile(at) + 1) & ~1L);
    }

    /** Empties a dead or free slot's stacks without walking them (repair frees their pages by state). */
    void forget(final int owner) {
        for (int sizeClass = 0; sizeClass < RegistryLayout.CACHE_SIZES.length; sizeClass++) {
            final long headOffset = RegistryLayout.cacheHead(owner, sizeClass);
            table.setLongRelease(headOffset, TaggedHead.next(table.getLongVolatile(headOffset), 0, 0));
        }
    }

    /**
     * Takes the top span off a stack of this slot.
     *
     * @return 0 if the stack is empty, a repair is taking it (the epoch reads odd) or the head is
     * damaged (then the arena is marked); otherwise the span's first page in the low half, and in
     * the high half the low half of the repair epoch read after the head and before its CAS. The
     * CAS succeeds only if the head did not change since it was read, and a repair changes every
     * head of the slot after it moves the epoch: so no repair began between the two reads, and the
     * span carries the stamp of the epoch read (pushes stamp with the epoch and CAS only while it
     * is unchanged, refills stamp under the lock, and a repair empties the stacks before it ends).
     * An epoch read before the head could be a whole repair older than the span.
     */
    private long popRaw(final long headOffset, final int n) {
        while (true) {
            final long head = table.getLongVolatile(headOffset);
            final int page = TaggedHead.page(head);
            if (page == 0) {
                return 0;
            }
            final long epoch = table.getLongVolatile(epochOffset);
            if ((epoch & 1) != 0) {
                return 0; // a repair is taking this slot's stacks; the locked path waits for it
            }
            final int count = TaggedHead.count(head);
            if (!table.userSpan(page, n) || count == 0) {
                table.corrupt();
                return 0;
            }
            // A stale link (the span was popped meanwhile) fails the CAS; a corrupt one is caught by
            // the range check of the next pop, and by the claim.
            if (table.casLong(headOffset, head, TaggedHead.next(head, count - 1, PageEntry.nextOf(table.linkPlain(page))))) {
                return (epoch << 32) | Integer.toUnsignedLong(page);
            }
        }
    }

    /** Receives spans taken out of a cache or a pending list, as FREE pages. */
    interface SpanSink {
        void freed(int page, int n);
    }
}
