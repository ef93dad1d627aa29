package io.sharena.ipc.layout;

import io.sharena.core.layout.Geometry;

/**
 * The shared store's region: one run of pages holding, in order, the store header, the stripe
 * table, the bucket table, the access map and the ring. All pointers below are arena pointers.
 *
 * <pre>
 *  region:  | header (HEADER_PAGES) | stripes | buckets (4 bytes each) | access map | ring ... |
 *
 *  header:  0        8        12       16               24          28            32
 *           +--------+--------+--------+----------------+-----------+-------------+
 *           | MAGIC  | VERSION| STRIPES| RING_BYTES     | RING_PTR  | BUCKETS_PTR |
 *           +--------+--------+--------+----------------+-----------+-------------+
 *           32           36         40       44           48            56
 *           +------------+----------+--------+------------+-------------+------------------+
 *           | BUCKET_BITS| MAX_ITEM | MAP_PTR| STRIPES_PTR| REGION_PAGES| CREATED_MILLIS   |
 *           +------------+----------+--------+------------+-------------+------------------+
 *           128 HEAD   256 TAIL, REUSES   384 CAS_COUNTER   512 FLUSH_CAS, FLUSH_MILLIS
 *           640 RING_LOCK, LARGEST_RECORD, TAIL_MET_STALE, TAIL_MET_ALL
 *           768 CLOCK_SECONDS   896 FLUSH_CAS_COPY
 *           (each its own 128-byte line: written by different processes at different rates)
 *           COUNTERS: one block of COUNTER_BLOCK bytes per registry slot (per-process call counts)
 *
 *  stripe:  0          8       16      24       32                          128
 *           +----------+-------+-------+--------+---------------------------+
 *           | LOCK     | ITEMS | BYTES | RELINK | padding (stripes never     |
 *           |          |       |       |        | share a line)             |
 *           +----------+-------+-------+--------+---------------------------+
 * </pre>
 *
 * <p>The header is written once at creation and published by a release store of MAGIC; only HEAD,
 * TAIL, REUSES, CAS_COUNTER, FLUSH_*, RING_LOCK and the words after it on its line, CLOCK_SECONDS,
 * FLUSH_CAS_COPY, the counters and the stripes change
 * afterwards. CLOCK_SECONDS is a coarse clock every process moves forward (never back) when it
 * reads the real one anyway; readers compare items' last-access times with it instead of reading
 * the clock on every get. HEAD and
 * TAIL are 64-bit logical ring positions (see {@link ItemLayout}). A stripe's ITEMS and BYTES are
 * written only by the holder of its LOCK. RELINK is nonzero while the tools' repair has found the
 * stripe's counts above its chains (items no chain reaches, to link again) and not finished: set
 * before it cuts or links anything there, cleared once it has, so that a repair killed in between
 * leaves the next one the evidence a recount of the stripe would erase (0 in every file made before
 * it: the word was padding). REUSES counts the records placed in the space of a record not yet
 * passed by the tail (a hole, see the store package), raised before any byte of the hole changes; a
 * lock-free walk checks it with the tail (0 in every file made before it: the word was padding).
 * The access map has one byte per
 * {@link #MAP_GRANULE} bytes of ring (an item is longer than that, so no two items share a byte).
 */
public final class StoreLayout {
    public static final long MAGIC_VALUE = 0x5348_5354_4f52_4531L; // "SHSTORE1"
    /**
     * 3: records placed in the holes of replaced and deleted items (the REUSES word; a record's
     * CAS word cleared before its hole changes). Written by this build when it creates a store.
     */
    public static final int VERSION_VALUE = 3;
    /**
     * 2: 56-byte item headers (32-bit expiry and store time, the META word). This build opens such
     * a store as it is, and places nothing in the space of an item it replaced or deleted there:
     * a process of the build before, which validates its reads by the tail alone, may share it.
     */
    public static final int VERSION_SHARED = 2;

    public static final int MAGIC = 0;
    public static final int VERSION = 8;
    public static final int STRIPES = 12;
    public static final int RING_BYTES = 16;
    public static final int RING_PTR = 24;
    public static final int BUCKETS_PTR = 28;
    public static final int BUCKET_BITS = 32;
    public static final int MAX_ITEM = 36;
    public static final int MAP_PTR = 40;
    public static final int STRIPES_PTR = 44;
    public static final int REGION_PAGES = 48;
    public static final int CREATED_MILLIS = 56;
    /** The end of the fields a format writes before the magic (everything from here on starts as zeros). */
    public static final int FORMAT_FIELDS_END = 64;

    public static final int HEAD = 128;
    public static final int TAIL = 256;
    /** On the tail's line: readers load both together. */
    public static final int REUSES = 264;
    public static final int CAS_COUNTER = 384;
    public static final int FLUSH_CAS = 512;
    public static final int FLUSH_MILLIS = 520;
    public static final int RING_LOCK = 640;
    /**
     * The largest record ever linked (raised by a compare-and-set as an item is published), and
     * what the ring's tail met lately: bytes of expired or flushed items it reclaimed and bytes in
     * all, both halved when the second passes a 16th of the ring (written by the ring lock's holder
     * with plain stores). On the ring lock's line. Statistics that steer the ring's choices (how much room it
     * keeps free for moving items, whether it moves or evicts an unread item), never its
     * structure: any values are safe, and 0 in every file made before them (padding).
     */
    public static final int LARGEST_RECORD = 648;
    public static final int TAIL_MET_STALE = 656;
    public static final int TAIL_MET_ALL = 664;
    /** The store's coarse clock, Unix seconds (see the class comment). */
    public static final int CLOCK_SECONDS = 768;
    /**
     * A copy of FLUSH_CAS plus one, written at creation (1: no flush yet) and raised by each flush
     * after FLUSH_CAS, on a line of its own: the repair's evidence for a FLUSH_CAS a stray write
     * raised above the CAS counter, which hid every item. 0 says nothing is known (every file made
     * before it: the word was padding).
     */
    public static final int FLUSH_CAS_COPY = 896;

    public static final int COUNTERS = 1024;
    /** Per-process counter block: 32 longs. */
    public static final int COUNTER_BLOCK = 256;
    public static final int COUNTER_SLOTS = RegistrySlots.SLOTS;
    public static final int HEADER_BYTES = COUNTERS + COUNTER_SLOTS * COUNTER_BLOCK;
    public static final int HEADER_PAGES = (int) Geometry.pagesFor(HEADER_BYTES);

    public static final int STRIPE_SIZE = 128;
    public static final int STRIPE_LOCK = 0;
    public static final int STRIPE_ITEMS = 8;
    public static final int STRIPE_BYTES = 16;
    /** Nonzero: the tools' repair found items no chain of this stripe reaches and has not relinked them yet. */
    public static final int STRIPE_RELINK = 24;

    public static final int BUCKET_SIZE = 4;
    public static final int MAP_GRANULE = 64;

    private StoreLayout() {
    }

    /** @return the offset from the header of {@code counter} in registry slot {@code slot}'s block */
    public static int counter(final int slot, final int counter) {
        return COUNTERS + slot * COUNTER_BLOCK + counter * 8;
    }

    /** The arena registry's slot count, named here so no other class reaches into core's layout for it. */
    private static final class RegistrySlots {
        static final int SLOTS = io.sharena.core.layout.RegistryLayout.SLOTS;
    }
}
