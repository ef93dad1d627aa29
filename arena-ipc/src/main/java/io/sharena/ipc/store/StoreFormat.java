package io.sharena.ipc.store;

import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

/** Lays out a new store region, and validates an existing one before use. */
final class StoreFormat {
    private static final int PAGE = Geometry.PAGE_SIZE;
    /** The bucket bits a store's header may hold ({@code BUCKET_BITS}): anything else is damage. */
    static final int MIN_BUCKET_BITS = 10;
    static final int MAX_BUCKET_BITS = 28;

    private StoreFormat() {
    }

    /** Reads {@link #positions} makes at once before it also watches the clock. */
    private static final int POSITION_READS = 64;
    /** How long {@link #positions} tries for a pair no write moved before it settles for the last reads. */
    static final long POSITION_NANOS = 100_000_000L;

    /**
     * Reads HEAD and TAIL as they were at one instant, while writers may be moving both (an open,
     * a check): TAIL, then HEAD, then TAIL again, until TAIL has not moved across the read of
     * HEAD (read apart, HEAD - TAIL may span more than the ring: the old TAIL against a HEAD a lap
     * of writes later). If TAIL moved across every read for {@link #POSITION_NANOS}, the last
     * three reads are returned as they are; they still bound the truth, as both positions only
     * grow and TAIL never passes HEAD: {@code tail <= TAIL <= HEAD == head} at the instant HEAD
     * was read, and {@code tailAfter >= TAIL} then, so {@code head - tailAfter} is never more than
     * the true distance. {@link #positionsSound} checks exactly what holds in every sound store.
     *
     * @return {head, tail, tailAfter}: the two TAIL reads around HEAD's, equal when TAIL held still
     */
    static long[] positions(final ArenaView v, final int headWord, final int tailWord) {
        long tail = v.getLongAcquire(tailWord);
        long head = v.getLongAcquire(headWord);
        long after = v.getLongAcquire(tailWord);
        long deadline = 0;
        for (int i = 1; after != tail; i++) {
            if (i == POSITION_READS) {
                deadline = System.nanoTime() + POSITION_NANOS;
            } else if (i > POSITION_READS && System.nanoTime() - deadline > 0) {
                break;
            }
            tail = after;
            head = v.getLongAcquire(headWord);
            after = v.getLongAcquire(tailWord);
        }
        return new long[] {head, tail, after};
    }

    /**
     * @return whether positions read as {@link #positions} reads them (two reads of TAIL around one
     * of HEAD; {@code tail == tailAfter} for a pair read at one instant) are those of a sound ring of
     * {@code ringBytes}: TAIL not negative nor above HEAD, HEAD at most a ring ahead, all aligned
     */
    static boolean positionsSound(final long head, final long tail, final long tailAfter, final long ringBytes) {
        return tail >= 0 && head >= tail && head - tailAfter <= ringBytes && tailAfter >= tail
            && ((head | tail | tailAfter) & (ItemLayout.ALIGN - 1)) == 0;
    }

    static long ringBytes(final StoreOptions o) {
        return (o.memoryLimit() + PAGE - 1) & -PAGE;
    }

    /**
     * Ring bytes per bucket when the options leave the count to the store: about one item per
     * bucket for 176-byte records (a hit walks 1.5 items on average). Measured at 128 as well
     * (half the chain, twice the table) on the store benchmark's million items: gets no faster on
     * uniform keys and 8 % slower on Zipf keys, sets up to 20 % slower, 4 more bytes per item; a
     * table twice as large costs more misses than the shorter chains save.
     */
    static final int BYTES_PER_BUCKET = 256;

    static int buckets(final StoreOptions o) {
        if (o.buckets() != 0) {
            return o.buckets();
        }
        final long want = Math.max(1024, ringBytes(o) / BYTES_PER_BUCKET);
        return (int) Math.min(1L << 28, Long.highestOneBit(want - 1) << 1);
    }

    /** @return the pages the region needs: header, stripes, buckets, access map, ring */
    static long regionPages(final StoreOptions o) {
        final long stripes = Geometry.pagesFor((long) StoreOptions.STRIPES * StoreLayout.STRIPE_SIZE);
        final long buckets = Geometry.pagesFor((long) buckets(o) * StoreLayout.BUCKET_SIZE);
        final long map = Geometry.pagesFor(ringBytes(o) / StoreLayout.MAP_GRANULE);
        return StoreLayout.HEADER_PAGES + stripes + buckets + map + ringBytes(o) / PAGE;
    }

    /** @see SharedStore#largestItemSize(long) */
    static int largestItemSize(final long memoryLimit) {
        final long ring = ringBytes(StoreOptions.defaults().withMemoryLimit(memoryLimit));
        final long room = ((ring - ring / Ring.SLACK_SHARE) / 2) & -ItemLayout.ALIGN;
        return (int) Math.min(512 << 20, room - ItemLayout.HEADER - SharedStore.MAX_KEY);
    }

    /** The most pages a store's region may take: its size in bytes must be an int. */
    private static final long MAX_REGION_PAGES = Integer.MAX_VALUE / PAGE;

    /**
     * @throws IllegalArgumentException when the ring cannot hold two maximum-size items, or when
     * the store's region would pass {@link #MAX_REGION_PAGES} (a memory limit near 2 GiB)
     */
    static void checkFits(final StoreOptions o) {
        if (regionPages(o) > MAX_REGION_PAGES) {
            // The largest limit that fits with these options, in whole MiB, for the message.
            long lo = 1;
            long hi = o.memoryLimit() >> 20;
            while (lo < hi) {
                final long mid = (lo + hi + 1) >>> 1;
                if (regionPages(o.withMemoryLimit(mid << 20)) <= MAX_REGION_PAGES) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            throw new IllegalArgumentException("memory limit too large for one store: memoryLimit=" + o.memoryLimit()
                + ", its region would take " + regionPages(o) + " pages of " + MAX_REGION_PAGES + " at most; the largest"
                + " limit that fits is " + lo + " MiB");
        }
        final long record = ItemLayout.recordSize(SharedStore.MAX_KEY, o.maxItemSize());
        if (record > (ringBytes(o) - ringBytes(o) / Ring.SLACK_SHARE) / 2) {
            throw new IllegalArgumentException("memory limit too small for the max item size: memoryLimit="
                + o.memoryLimit() + ", maxItemSize=" + o.maxItemSize() + ", needed=" + 2 * record);
        }
    }

    /**
     * Creates the store named {@code name}: its region allocated straight into the name's root and
     * formatted, as one crash-safe step of the roots ({@link NamedRoots#create}): a creator killed at
     * any instant leaves no store and no page allocated, or the whole store.
     *
     * @return the region the name holds now (a store another process made first included), 0 if the
     * arena has no room
     */
    static int create(final SharedArena arena, final NamedRoots roots, final String name, final StoreOptions o,
                      final long nowMillis) {
        checkFits(o);
        return roots.create(name, (int) regionPages(o), region -> format(arena, region, o, nowMillis, false));
    }

    /**
     * Formats an empty store, as large as fits, over {@code runPages} allocated pages from
     * {@code region} that read all zeros (a store whose header a cut took, and every page after it:
     * the old memory limit went with the header, so the largest limit whose region fits the run is
     * taken, and the largest item it can hold up to the default). Nothing is lost that was not: every
     * page written reads zeros.
     *
     * @return the options it was formatted with, or null if no store fits
     */
    static StoreOptions formatOverZeros(final SharedArena arena, final int region, final long runPages,
                                        final long nowMillis) {
        for (long limit = runPages * PAGE; limit >= StoreOptions.MIN_MEMORY_LIMIT; limit -= Math.max(PAGE, limit / 128)) {
            final StoreOptions o;
            try {
                final StoreOptions sized = StoreOptions.defaults().withMemoryLimit(limit & -PAGE);
                o = sized.withMaxItemSize(Math.min(sized.maxItemSize(), largestItemSize(sized.memoryLimit())));
            } catch (final IllegalArgumentException e) {
                continue;
            }
            if (regionPages(o) <= runPages) {
                format(arena, region, o, nowMillis, true);
                return o;
            }
        }
        return null;
    }

    /**
     * Formats a region of {@link #regionPages} zeroed pages at {@code region}; the magic goes last.
     * {@code overZeros}: a repair's format over a header a cut took, whose steps are crash points
     * (a store's creation is one step of the roots').
     */
    private static void format(final SharedArena arena, final int region, final StoreOptions o, final long nowMillis,
                               final boolean overZeros) {
        final long total = regionPages(o);
        // The pages read as zeros: empty buckets, free locks, zero counts, head = tail = 0.
        final ArenaView v = arena.raw();
        final int[] parts = parts(region, Integer.numberOfTrailingZeros(buckets(o)), ringBytes(o));
        final int stripes = parts[0];
        final int buckets = parts[1];
        final int map = parts[2];
        final int ring = parts[3];
        v.putInt(region + StoreLayout.VERSION, StoreLayout.VERSION_VALUE);
        v.putInt(region + StoreLayout.STRIPES, StoreOptions.STRIPES);
        v.putLong(region + StoreLayout.RING_BYTES, ringBytes(o));
        v.putInt(region + StoreLayout.RING_PTR, ring);
        v.putInt(region + StoreLayout.BUCKETS_PTR, buckets);
        v.putInt(region + StoreLayout.BUCKET_BITS, Integer.numberOfTrailingZeros(buckets(o)));
        v.putInt(region + StoreLayout.MAX_ITEM, o.maxItemSize());
        v.putInt(region + StoreLayout.MAP_PTR, map);
        v.putInt(region + StoreLayout.STRIPES_PTR, stripes);
        v.putInt(region + StoreLayout.REGION_PAGES, (int) total);
        v.putLong(region + StoreLayout.CREATED_MILLIS, nowMillis);
        v.putLong(region + StoreLayout.FLUSH_CAS_COPY, 1); // no flush yet: the watermark 0, plus one
        if (overZeros) {
            // Killed here or among the writes above: the header reads zeros but for these fields, which
            // the next repair, knowing the cut from the file's record, formats over again.
            io.sharena.core.crash.CrashPoints.at(io.sharena.core.internal.CutRepairPoint.FORMAT_FIELDS_WRITTEN);
        }
        // Publishes the header: a store is usable once its magic is there.
        v.putLongRelease(region + StoreLayout.MAGIC, StoreLayout.MAGIC_VALUE);
    }

    /**
     * @return where a region's parts start, in the order they follow its header: stripes, buckets,
     * access map, ring; and at index 4 the region's length in pages
     */
    static int[] parts(final int region, final int bucketBits, final long ringBytes) {
        final int stripes = region + StoreLayout.HEADER_PAGES * PAGE;
        final int buckets = stripes + (int) Geometry.pagesFor((long) StoreOptions.STRIPES * StoreLayout.STRIPE_SIZE) * PAGE;
        final int map = buckets + (int) Geometry.pagesFor((long) StoreLayout.BUCKET_SIZE << bucketBits) * PAGE;
        final int ring = map + (int) Geometry.pagesFor(ringBytes / StoreLayout.MAP_GRANULE) * PAGE;
        return new int[] {stripes, buckets, map, ring, (int) ((ring - region + ringBytes) / PAGE)};
    }

    /**
     * @throws ArenaFormatException naming the first header field that is out of range, or a page of
     *                              the region that is not allocated
     */
    static void validate(final SharedArena arena, final int header) throws ArenaFormatException {
        final ArenaView v = arena.raw();
        final int regionPages = regionPages(arena, header); // first: the header may be outside the arena
        final long ring = v.getLong(header + StoreLayout.RING_BYTES);
        final long[] positions = positions(v, header + StoreLayout.HEAD, header + StoreLayout.TAIL);
        if (!positionsSound(positions[0], positions[1], positions[2], ring)) {
            throw new ArenaFormatException("store.positions", "store ring positions out of range: head=" + positions[0]
                + ", tail=" + positions[1] + (positions[2] != positions[1] ? " (then " + positions[2] + ")" : "")
                + ", ringBytes=" + ring);
        }
        // Every page of a store's region stays allocated for as long as the store lives: one that is
        // not (a stray free, a damaged page table) may be handed out to someone else at any time,
        // and the locks in it cannot be attached.
        final long first = Integer.toUnsignedLong(header) / PAGE;
        for (long p = first; p < first + regionPages; p++) {
            final int state = Pages.state(arena, p);
            if (state != PageEntry.ALLOCATED) {
                throw new ArenaFormatException("store.pages", "store region page not allocated: page=" + p + ", state="
                    + PageEntry.stateName(state));
            }
        }
    }

    /**
     * The header's own fields: where it is, its magic and version, its geometry and sizes, and the
     * parts in the places they follow it (not the ring positions, nor the pages' states).
     *
     * @return the region's length in pages, from the header
     * @throws ArenaFormatException naming the first header field that is out of range
     */
    static int regionPages(final SharedArena arena, final int header) throws ArenaFormatException {
        return regionPages(arena, header, true);
    }

    /**
     * @return whether the header at {@code header} is a store's in every field but its magic or its
     * version (its first 12 bytes): a stray write hit them alone (a page of anything else, or a
     * zeroed one, does not carry the geometry, sizes and the parts' places of a store). A version
     * that could be another format's (1 to {@value #FORMAT_VERSIONS}) is not a hit: such a store,
     * an older one or a newer one, is refused as it is, never rewritten to this format.
     */
    static boolean soundButMarks(final SharedArena arena, final int header) {
        try {
            regionPages(arena, header, false);
        } catch (final ArenaFormatException e) {
            return false;
        }
        final int version = arena.raw().getInt(header + StoreLayout.VERSION);
        if (!readable(version) && version >= 1 && version <= FORMAT_VERSIONS) {
            return false;
        }
        return arena.raw().getLongAcquire(header + StoreLayout.MAGIC) != StoreLayout.MAGIC_VALUE
            || !readable(version);
    }

    /** @return whether this build opens a store of format {@code version} ({@link StoreLayout#VERSION_VALUE} or {@link StoreLayout#VERSION_SHARED}) */
    static boolean readable(final int version) {
        return version == StoreLayout.VERSION_VALUE || version == StoreLayout.VERSION_SHARED;
    }

    /** How an unsupported version's message names the supported ones. */
    static final String SUPPORTED = StoreLayout.VERSION_SHARED + " and " + StoreLayout.VERSION_VALUE;

    /** Version numbers a store format may have, this one's among them: anything else in the word is damage. */
    static final int FORMAT_VERSIONS = 255;

    /** @param marksToo whether the magic and the version are checked too */
    private static int regionPages(final SharedArena arena, final int header, final boolean marksToo)
        throws ArenaFormatException {
        final ArenaView v = arena.raw();
        final long cap = arena.capacityBytes();
        if (Integer.toUnsignedLong(header) + (long) StoreLayout.HEADER_PAGES * PAGE > cap || header % PAGE != 0) {
            // Not page-aligned: no store header was ever made there (its atomic reads would fault as misaligned).
            throw new ArenaFormatException("store.header", "store header outside the arena or not at a page start: header=0x"
                + Integer.toHexString(header));
        }
        final long magic = v.getLongAcquire(header + StoreLayout.MAGIC);
        if (marksToo && magic != StoreLayout.MAGIC_VALUE) {
            throw new ArenaFormatException("store.magic", "not a store: magic=0x" + Long.toHexString(magic));
        }
        final int version = v.getInt(header + StoreLayout.VERSION);
        if (marksToo && !readable(version)) {
            throw new ArenaFormatException("store.version", "unsupported store version: version=" + version + ", supported="
                + SUPPORTED);
        }
        final int stripes = v.getInt(header + StoreLayout.STRIPES);
        final int bits = v.getInt(header + StoreLayout.BUCKET_BITS);
        if (stripes != StoreOptions.STRIPES || bits < MIN_BUCKET_BITS || bits > MAX_BUCKET_BITS) {
            throw new ArenaFormatException("store.geometry", "store geometry out of range: stripes=" + stripes + ", bucketBits=" + bits);
        }
        final long ring = v.getLong(header + StoreLayout.RING_BYTES);
        final int maxItem = v.getInt(header + StoreLayout.MAX_ITEM);
        if (ring < StoreOptions.MIN_MEMORY_LIMIT || ring % PAGE != 0 || maxItem <= 0
            || ItemLayout.recordSize(SharedStore.MAX_KEY, maxItem) > (ring - ring / Ring.SLACK_SHARE) / 2) {
            throw new ArenaFormatException("store.sizes", "store sizes out of range: ringBytes=" + ring + ", maxItemSize=" + maxItem);
        }
        inArena(cap, "region", header, ring + (long) StoreLayout.HEADER_PAGES * PAGE);
        // The parts follow the header in a fixed order and size: anything else is a damaged header.
        final int[] parts = parts(header, bits, ring);
        expect(v, header, StoreLayout.STRIPES_PTR, "stripes", parts[0]);
        expect(v, header, StoreLayout.BUCKETS_PTR, "buckets", parts[1]);
        expect(v, header, StoreLayout.MAP_PTR, "accessMap", parts[2]);
        expect(v, header, StoreLayout.RING_PTR, "ring", parts[3]);
        expect(v, header, StoreLayout.REGION_PAGES, "regionPages", parts[4]);
        inArena(cap, "ring", parts[3], ring);
        return parts[4];
    }

    private static void expect(final ArenaView v, final int header, final int field, final String what,
                               final int want) throws ArenaFormatException {
        final int got = v.getInt(header + field);
        if (got != want) {
            throw new ArenaFormatException("store." + what, "store " + what + " not where the header's geometry puts it: "
                + what + "=0x" + Integer.toHexString(got) + ", expected=0x" + Integer.toHexString(want));
        }
    }

    private static void inArena(final long cap, final String what, final int ptr, final long bytes)
        throws ArenaFormatException {
        final long start = Integer.toUnsignedLong(ptr);
        if (start == 0 || start % PAGE != 0 || start + bytes > cap) {
            throw new ArenaFormatException("store." + what, "store " + what + " outside the arena: " + what + "=0x"
                + Long.toHexString(start) + ", bytes=" + bytes + ", capacity=" + cap);
        }
    }
}
