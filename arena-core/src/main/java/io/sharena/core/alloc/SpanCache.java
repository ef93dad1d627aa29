package io.sharena.core.alloc;

import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One process's lock-free span caches: a stack of free spans per size in
 * {@link RegistryLayout#CACHE_SIZES}, in the process's registry slot, so that the common small
 * alloc/free never takes the lock.
 *
 * <p>Each stack head is a {@link TaggedHead} changed only by compare-and-set; the tag makes a CAS
 * from a stale head fail even when the same span is on top again (ABA), and a popper that read a
 * stale LINK word (the span was popped and reused meanwhile) fails the same way. Only the threads of
 * the owning process touch its stacks, so no other process's pop can race the recovery that
 * empties a dead process's stacks.
 *
 * <p>A span's pages are CACHED with the owner's slot in their STATE words, RUN at the first page.
 * Push: each page ALLOCATED → CACHED by CAS (a double free fails here and goes the slow way), zero
 * the pages, tag the first page, then CAS the head. Pop: CAS the head past the span, then mark the
 * pages ALLOCATED. A process killed between the steps leaves CACHED pages of a dead slot, which
 * {@link Recovery} frees; pages it had already marked ALLOCATED stay allocated.
 *
 * <p>At most {@link #LIMIT_SPANS} spans per size stay here: 32 single pages and 16 pages of each
 * larger size, 96 pages (384 KiB) per process, resident and zeroed, never handed back to the
 * operating system. Enough that a steady alloc/free of small spans never takes the lock; small
 * enough that a process holding them costs little. The count lives in the stack's head word, so
 * keeping it costs no extra atomic.
 */
final class SpanCache {
    /** Spans one process may keep cached, per size class of {@link RegistryLayout#CACHE_SIZES}. */
    static final int[] LIMIT_SPANS = {32, 8, 4, 2, 1};
    private static final MemorySegment ZEROS = Arena.global().allocate(16L << 12, 4096);

    private final PageTable table;
    private final int slot;

    SpanCache(final PageTable table, final int slot) {
        this.table = table;
        this.slot = slot;
    }

    /** @return the first page of a cached span of {@code n} pages, now ALLOCATED, or 0 */
    int pop(final int n) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        if (sizeClass < 0) {
            return 0;
        }
        final int page = popRaw(sizeClass);
        if (page != 0) {
            final long allocated = PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0);
            for (int p = page + n - 1; p >= page; p--) {
                table.setState(p, allocated);
            }
        }
        return page;
    }

    /**
     * Caches the ALLOCATED span {@code [page, page + n)}.
     *
     * @return false if it has no cache size, the cache is full, or a page is not ALLOCATED (the
     * caller then frees it the slow way; nothing has changed)
     */
    boolean push(final int page, final int n) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        if (sizeClass < 0) {
            return false;
        }
        final long headOffset = RegistryLayout.cacheHead(slot, sizeClass);
        final int limit = LIMIT_SPANS[sizeClass];
        if (TaggedHead.count(table.getLong(headOffset)) >= limit) {
            return false;
        }
        final long allocated = PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0);
        final long cached = PageEntry.state(PageEntry.CACHED, 0, slot, 0);
        for (int p = page; p < page + n; p++) {
            if (!table.casState(p, allocated, cached)) {
                for (int q = page; q < p; q++) {
                    table.setState(q, allocated);
                }
                return false;
            }
        }
        // Zeroed here so that the next owner, in this process, gets zeros (SPEC: pages read as zeros).
        MemorySegment.copy(ZEROS, 0, table.arena, PageTable.byteOffset(page), (long) n << 12);
        table.setState(page, PageEntry.state(PageEntry.CACHED, 0, slot, n));
        while (true) {
            final long head = table.getLong(headOffset);
            final int count = TaggedHead.count(head);
            if (count >= limit) {
                // Other threads filled the stack since the check: take the span back, free it the slow way.
                for (int p = page; p < page + n; p++) {
                    table.setState(p, allocated);
                }
                return false;
            }
            table.setLink(page, PageEntry.link(0, TaggedHead.page(head)));
            // The CAS publishes the zeroed pages, the tag and the link to the next popper.
            if (table.casLong(headOffset, head, TaggedHead.next(head, count + 1, page))) {
                return true;
            }
        }
    }

    /**
     * Pops every cached span of this process and hands it to {@code sink} as FREE pages (the lock
     * holder puts them in the best-fit lists).
     */
    void drainTo(final SpanSink sink) {
        for (int sizeClass = 0; sizeClass < RegistryLayout.CACHE_SIZES.length; sizeClass++) {
            final int n = RegistryLayout.CACHE_SIZES[sizeClass];
            int page;
            while ((page = popRaw(sizeClass)) != 0) {
                sink.freed(page, n);
            }
        }
    }

    private int popRaw(final int sizeClass) {
        final long headOffset = RegistryLayout.cacheHead(slot, sizeClass);
        while (true) {
            final long head = table.getLong(headOffset);
            final int page = TaggedHead.page(head);
            if (page == 0) {
                return 0;
            }
            if (table.casLong(headOffset, head,
                TaggedHead.next(head, TaggedHead.count(head) - 1, PageEntry.nextOf(table.link(page))))) {
                return page;
            }
        }
    }

    /** Receives spans taken out of a cache or a pending list. */
    interface SpanSink {
        void freed(int page, int n);
    }
}
