package io.sharena.core.layout;

/**
 * How an arena of a given capacity is divided: page 0 the header, then the metadata pages, then
 * the user pages.
 *
 * <pre>
 *  page 0     1 .. CONTROL_PAGES       .. 1 + metaPages - 1          1 + metaPages .. capacity - 1
 *  +--------+-------------------------+-----------------------------+------------------------------+
 *  | header | control (lock, counters)| page table: PAGE_ENTRY_BYTES| user pages                   |
 *  |        | + registry (2 pages)    | per page of the arena       |                              |
 *  +--------+-------------------------+-----------------------------+------------------------------+
 * </pre>
 *
 * <p>The metadata is sized for the allocator: {@link #PAGE_ENTRY_BYTES} per arena page (state and
 * span links) plus {@link #CONTROL_PAGES}. For the full 4 GiB that is 4,099 pages (0.4 %), and like
 * every page of the sparse file it costs nothing until touched.
 */
public final class Geometry {
    /** log2 of the page size: a page number shifted left by this is its arena pointer. */
    public static final int PAGE_SHIFT = 12;
    /** The one page size (the header records it as {@link HeaderLayout#PAGE_SIZE_VALUE}). */
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** The low bits of a pointer: its offset inside its page. */
    public static final int PAGE_MASK = PAGE_SIZE - 1;
    /** The whole 32-bit pointer space, in pages. */
    public static final long MAX_CAPACITY_PAGES = (1L << 32) / PAGE_SIZE;
    public static final int CONTROL_PAGES = 3;
    public static final int PAGE_ENTRY_BYTES = 16;
    /** Header, metadata for a one-page arena, and one user page. */
    public static final long MIN_CAPACITY_PAGES = 1 + CONTROL_PAGES + 1 + 1;

    private Geometry() {
    }

    /** @return the bytes of {@code pages} pages */
    public static long pageBytes(final long pages) {
        return pages << PAGE_SHIFT;
    }

    /** @return the pages that {@code bytes} bytes take, rounded up */
    public static long pagesFor(final long bytes) {
        return (bytes + PAGE_MASK) >>> PAGE_SHIFT;
    }

    /** @return the page that holds the byte at arena pointer {@code ptr} (unsigned) */
    public static long pageOf(final int ptr) {
        return Integer.toUnsignedLong(ptr) >>> PAGE_SHIFT;
    }

    /** @return the arena pointer of the first byte of page {@code page} */
    public static int pointerOf(final long page) {
        return (int) (page << PAGE_SHIFT);
    }

    /** @return metadata pages of an arena of {@code capacityPages} pages in all */
    public static int metaPages(final long capacityPages) {
        return CONTROL_PAGES + (int) pagesFor(capacityPages * PAGE_ENTRY_BYTES);
    }

    /** @return the first page that can be handed out to users */
    public static long firstUserPage(final long capacityPages) {
        return 1 + metaPages(capacityPages);
    }
}
