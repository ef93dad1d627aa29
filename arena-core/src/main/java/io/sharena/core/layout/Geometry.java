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
    public static final int PAGE_SIZE = HeaderLayout.PAGE_SIZE_VALUE;
    public static final int PAGE_SHIFT = 12;
    /** The whole 32-bit pointer space, in pages. */
    public static final long MAX_CAPACITY_PAGES = (1L << 32) / PAGE_SIZE;
    public static final int CONTROL_PAGES = 3;
    public static final int PAGE_ENTRY_BYTES = 16;
    /** Header, metadata for a one-page arena, and one user page. */
    public static final long MIN_CAPACITY_PAGES = 1 + CONTROL_PAGES + 1 + 1;

    private Geometry() {
    }

    /** @return metadata pages of an arena of {@code capacityPages} pages in all */
    public static int metaPages(final long capacityPages) {
        return CONTROL_PAGES + (int) ((capacityPages * PAGE_ENTRY_BYTES + PAGE_SIZE - 1) / PAGE_SIZE);
    }

    /** @return the first page that can be handed out to users */
    public static long firstUserPage(final long capacityPages) {
        return 1 + metaPages(capacityPages);
    }
}
