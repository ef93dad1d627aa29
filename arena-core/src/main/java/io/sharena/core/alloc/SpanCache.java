package io.sharena.core.alloc;

import io.sharena.core.layout.ControlLayout;
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
 * <p>At most {@link #LIMIT_PAGES} pages (256 KiB) per process stay resident here, zeroed, never
 * handed back to the operating system: enough that a steady alloc/free of small spans never takes
 * the lock, small enough that a process holding them costs little memory and space.
 */
final class SpanCache {
    /** Pages one process may keep cached. */
    static final int LIMIT_PAGES = 64;
    private static final MemorySegment ZEROS = Arena.global().allocate(16L << 12, 4096);
    private static final long CACHE_HITS = ControlLayout.counter(ControlLayout.C_CACHE_HITS);

    private final PageTable table;
    private final int slot;
    private final long cachedPages;

    SpanCache(final PageTable table, final int slot) {
        this.table = table;
        this.slot = slot;
        this.cachedPages = RegistryLayout.field(slot, RegistryLayout.CACHED_PAGES);
    }

    /** @return the first page of a cached span of {@code n} pages, now ALLOCATED, or 0 */
    int pop(final int n) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        if (sizeClass < 0) {
            return 0;
        }
        final long headOffset = RegistryLayout.cacheHead(slot, sizeClass);
        while (true) {
            final long head = table.getLong(headOffset);
            final int page = TaggedHead.page(head);
            if (page == 0) {
                return 0;
            }
            final int next = PageEntry.nextOf(table.link(page));
            if (table.casLong(headOffset, head, TaggedHead.next(head, next))) {
                final long allocated = PageEntry.state(PageEntry.ALLOCATED, 0, 0, 0);
                for (int p = page + n - 1; p >= page; p--) {
                    table.setState(p, allocated);
                }
                table.addLong(cachedPages, -n);
                table.addLong(CACHE_HITS, 1);
                return page;
            }
        }
    }

    /**
     * Caches the ALLOCATED span {@code [page, page + n)}.
     *
     * @return false if it has no cache size, the cache is full, or a page is not ALLOCATED (the
     * caller then frees it the slow way; nothing has changed)
     */
    boolean push(final int page, final int n) {
        final int sizeClass = RegistryLayout.cacheClassOf(n);
        if (sizeClass < 0 || table.getLong(cachedPages) + n > LIMIT_PAGES) {
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
        final long headOffset = RegistryLayout.cacheHead(slot, sizeClass);
        while (true) {
            final long head = table.getLong(headOffset);
            table.setLink(page, PageEntry.link(0, TaggedHead.page(head)));
            // The CAS publishes the zeroed pages, the tag and the link to the next popper.
            if (table.casLong(headOffset, head, TaggedHead.next(head, page))) {
                table.addLong(cachedPages, n);
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
                table.addLong(cachedPages, -n);
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
            if (table.casLong(headOffset, head, TaggedHead.next(head, PageEntry.nextOf(table.link(page))))) {
                return page;
            }
        }
    }

    /** Receives spans taken out of a cache or a pending list. */
    interface SpanSink {
        void freed(int page, int n);
    }
}
