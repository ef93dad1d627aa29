package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.layout.StoreLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Page helpers for the IPC structures: allocation for setup paths, which may wait a little
 * ({@link SharedArena#allocPages} fails fast when the allocator lock is busy past its bound, which
 * on a loaded machine is not the same as having no room), and range checks of page pointers read
 * from shared memory.
 */
public final class Pages {
    /** How long setup paths retry before they report that the arena has no room. */
    public static final long SETUP_TIMEOUT_NANOS = 2_000_000_000L;

    private Pages() {
    }

    /**
     * @return the pointer of {@code n} pages, retrying every 100 µs for up to {@code timeoutNanos};
     * 0 if none could be had
     */
    public static int allocate(final SharedArena arena, final int n, final long timeoutNanos) {
        final long start = System.nanoTime();
        int ptr;
        while ((ptr = arena.allocPages(n)) == 0 && System.nanoTime() - start < timeoutNanos) {
            LockSupport.parkNanos(100_000);
        }
        return ptr;
    }

    /**
     * {@link SharedArena#allocPagesInto}, retried while the allocator's lock is busy or the arena
     * full, for up to {@code timeoutNanos}: the pages' pointer lands in the int at {@code dest} in the
     * same crash-safe step that allocates them.
     *
     * @return the pointer, or 0 (nothing allocated): no room in time, or {@code dest} no longer held 0
     */
    public static int allocateInto(final SharedArena arena, final int n, final int dest, final long timeoutNanos) {
        final long start = System.nanoTime();
        int ptr;
        while ((ptr = arena.allocPagesInto(n, dest)) == 0 && arena.raw().getIntAcquire(dest) == 0
            && System.nanoTime() - start < timeoutNanos) {
            LockSupport.parkNanos(100_000);
        }
        return ptr;
    }

    /**
     * {@link SharedArena#freePagesFrom}, retried while the allocator's lock is busy, for up to
     * {@code timeoutNanos}: the give-back of a structure's pages, as {@link #allocateInto} is their making.
     *
     * @return true once {@code word} no longer holds the pointer it held on entry (freed here, or
     * changed by another writer); false if it still does after the timeout
     */
    public static boolean freeFrom(final SharedArena arena, final int word, final int n, final long timeoutNanos) {
        return freeFrom(arena, word, 0, n, timeoutNanos);
    }

    /**
     * {@link #freeFrom(SharedArena, int, int, long)} of the pages at {@code expected} only
     * ({@link SharedArena#freePagesFrom(int, int, int)}): a word another writer points elsewhere
     * meanwhile keeps its new pointer and its pages.
     *
     * @param expected the pointer to free; 0 for whatever the word holds on entry
     */
    public static boolean freeFrom(final SharedArena arena, final int word, final int expected, final int n,
                                   final long timeoutNanos) {
        final int ptr = expected != 0 ? expected : arena.raw().getIntAcquire(word);
        final long start = System.nanoTime();
        while (!arena.freePagesFrom(word, expected, n) && ptr != 0 && arena.raw().getIntAcquire(word) == ptr) {
            if (System.nanoTime() - start > timeoutNanos) {
                return false;
            }
            LockSupport.parkNanos(100_000);
        }
        return true;
    }

    /**
     * @return whether {@code n} pages at {@code ptr} lie in the arena's user range: page-aligned,
     * not below the first user page, not past the end
     */
    public static boolean inUserRange(final SharedArena arena, final int ptr, final long n) {
        final long p = Integer.toUnsignedLong(ptr);
        return (p & (Geometry.PAGE_SIZE - 1)) == 0 && n >= 1 && p / Geometry.PAGE_SIZE >= arena.firstUserPage()
            && p / Geometry.PAGE_SIZE + n <= arena.capacityPages();
    }

    /**
     * @return what made structure begins at {@code ptr}, by its magic ("store", "channel" or "heap"),
     * or null if none does (or {@code ptr} is no user page)
     */
    public static String madeStructure(final SharedArena arena, final int ptr) {
        if (!inUserRange(arena, ptr, 1)) {
            return null;
        }
        final io.sharena.core.ArenaView view = arena.raw();
        if (view.getLongAcquire(ptr + StoreLayout.MAGIC) == StoreLayout.MAGIC_VALUE) {
            return "store";
        }
        if (view.getIntAcquire(ptr + io.sharena.ipc.layout.ChannelLayout.MAGIC) == io.sharena.ipc.layout.ChannelLayout.MAGIC_VALUE) {
            return "channel";
        }
        final int heap = view.getIntAcquire(ptr + io.sharena.ipc.layout.HeapLayout.META_MAGIC);
        return heap == io.sharena.ipc.layout.HeapLayout.META_MAGIC_VALUE
            || heap == io.sharena.ipc.layout.HeapLayout.META_MAGIC_UNKEYED ? "heap" : null;
    }

    /** @return whether {@code ptr} (any alignment) is inside the arena's user pages */
    public static boolean inUserPages(final SharedArena arena, final int ptr) {
        final long page = Integer.toUnsignedLong(ptr) / Geometry.PAGE_SIZE;
        return page >= arena.firstUserPage() && page < arena.capacityPages();
    }

    /**
     * The page ranges of the arena's shared stores, found by their named roots: a root naming a
     * page-aligned store header (its magic) whose page count agrees with where its ring starts and
     * how long it is (one stray write into the count cannot widen the range), all in the user
     * range. For scans that look at every allocated page for their own page headers (the heap's
     * check and repair): a store's ring holds the bytes its clients store, and a value may read as
     * any structure's page header at a page start.
     *
     * @return {first page, end page} per store; none if the named roots cannot be listed
     */
    public static List<long[]> storeRegions(final SharedArena arena) {
        final List<long[]> regions = new ArrayList<>();
        final Map<String, Integer> roots;
        try {
            roots = NamedRoots.existing(arena).map(NamedRoots::list).orElse(Map.of());
        } catch (final ArenaCorruptedException e) {
            return regions;
        }
        for (final int ptr : roots.values()) {
            if (inUserRange(arena, ptr, StoreLayout.HEADER_PAGES)
                && arena.raw().getLongAcquire(ptr + StoreLayout.MAGIC) == StoreLayout.MAGIC_VALUE) {
                final int pages = arena.raw().getInt(ptr + StoreLayout.REGION_PAGES);
                final long ring = Integer.toUnsignedLong(arena.raw().getInt(ptr + StoreLayout.RING_PTR));
                final long ringBytes = arena.raw().getLong(ptr + StoreLayout.RING_BYTES);
                final long start = Integer.toUnsignedLong(ptr);
                if (ring > start && ringBytes > 0 && ((ring | ringBytes) & (Geometry.PAGE_SIZE - 1)) == 0
                    && (ring - start + ringBytes) / Geometry.PAGE_SIZE == pages && inUserRange(arena, ptr, pages)) {
                    final long first = Integer.toUnsignedLong(ptr) / Geometry.PAGE_SIZE;
                    regions.add(new long[] {first, first + pages});
                }
            }
        }
        return regions;
    }

    /**
     * @return the one page start of the arena, other than {@code except}, that is allocated, holds
     * data (every allocated page counts where the file system cannot say), lies outside the stores'
     * regions (their values may carry anything) and that {@code is} accepts; 0 if there is none, or
     * more than one. For finding a structure again whose pointer a stray write lost.
     */
    public static int onlyPage(final SharedArena arena, final int except, final java.util.function.IntPredicate is) {
        final java.util.BitSet withData = io.sharena.core.internal.ArenaInternals.pagesWithData(arena);
        final List<long[]> stores = storeRegions(arena);
        int found = 0;
        for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
            if (withData != null) {
                p = withData.nextSetBit((int) p);
                if (p < 0 || p >= arena.capacityPages()) {
                    break;
                }
            }
            final long store = regionEnd(stores, p);
            if (store >= 0) {
                p = store - 1;
                continue;
            }
            final int page = (int) (p * Geometry.PAGE_SIZE);
            if (page == except || state(arena, p) != PageEntry.ALLOCATED || !is.test(page)) {
                continue;
            }
            if (found != 0) {
                return 0; // two: which one the pointer named cannot be told
            }
            found = page;
        }
        return found;
    }

    /** @return the end of the region of {@code regions} holding {@code page}, or -1 if none does */
    public static long regionEnd(final List<long[]> regions, final long page) {
        for (final long[] r : regions) {
            if (page >= r[0] && page < r[1]) {
                return r[1];
            }
        }
        return -1;
    }

    /**
     * Reads a page's state from the page table, read-only (so it works on a read-only attachment);
     * a page in a span cache reads FREE.
     *
     * @return a {@link PageEntry} state, {@link PageEntry#META} below the first user page, -1 past the end
     */
    public static int state(final SharedArena arena, final long page) {
        if (page < 0 || page >= arena.capacityPages()) {
            return -1;
        }
        if (page < arena.firstUserPage()) {
            return PageEntry.META;
        }
        final int s = PageEntry.stateOf(arena.raw().getLongAcquire((int) PageEntry.stateOffset((int) page)));
        return s == PageEntry.CACHED ? PageEntry.FREE : s;
    }
}
