package io.sharena.core.layout;

/**
 * The process registry: pages 2 and 3 of an arena, {@link #SLOTS} slots of {@link #SLOT_SIZE}
 * bytes, one per attached process (one per open {@code SharedArena}, in fact).
 *
 * <pre>
 *  slot:  0        8            16             24           32      40 .. 80             80          88
 *         +--------+------------+--------------+------------+-------+--------------------+-----------+-------------+
 *         | OWNER  | START_TICKS| ATTACH_MILLIS| ALLOCATIONS| FREES | CACHE_HEADS[5]     | GENERATION| REPAIR_EPOCH|
 *         +--------+------------+--------------+------------+-------+--------------------+-----------+-------------+
 * </pre>
 *
 * <p>{@code OWNER} is the slot's {@link ProcessWord}: pid, low bits of the start time, and a
 * generation. It alone says who holds the slot and whether that process lives; claim (from a free
 * word), takeover (from a dead owner's word) and release (to a free word) are each one
 * compare-and-set of it. {@code START_TICKS} (the full start time in clock ticks since boot) and
 * {@code ATTACH_MILLIS} are written after a claim, for tools to show; liveness never reads them.
 * {@code CACHE_HEADS} are {@link TaggedHead}s of the process's lock-free span caches, one per size
 * in {@link #CACHE_SIZES}. {@code ALLOCATIONS} and {@code FREES} count this process's calls
 * (get-and-add by its threads only), so that processes counting do not fight over one cache line;
 * whoever releases or takes over the slot moves them into the arena-wide counters with a
 * get-and-set, so no count is lost or counted twice. Slots are 128 bytes, so processes never
 * share a cache line pair. {@code GENERATION} is a copy of the generation of the slot's last
 * claim, written after it: a claim counts on from it when the owner word reads 0 (a stray write
 * zeroed it; only a slot never held has generation 0), so the slot's next owner never gets the
 * tokens of one before it. {@code REPAIR_EPOCH} is odd while a repair is taking the slot's caches
 * and scanning for the pages they left in transit, even otherwise; only a repair (the lock holder)
 * writes it, one step at its start and one at its end. A push or pop that reads it odd stays off
 * the cache, and one that finds it changed since it began knows that a repair may have freed the
 * pages it had in transit (see {@code SpanCache}).
 */
public final class RegistryLayout {
    public static final int FIRST_PAGE = 2;
    public static final int SLOT_SIZE = 128;
    public static final int SLOTS = 2 * Geometry.PAGE_SIZE / SLOT_SIZE;

    public static final int OWNER = 0;
    public static final int START_TICKS = 8;
    public static final int ATTACH_MILLIS = 16;
    public static final int ALLOCATIONS = 24;
    public static final int FREES = 32;
    public static final int CACHE_HEADS = 40;
    /** The generation of the slot's last claim (a copy of the owner word's, written after the claim). */
    public static final int GENERATION = 80;
    /** Odd while a repair takes this slot's caches and scans for their pages in transit (see the class comment). */
    public static final int REPAIR_EPOCH = 88;
    /** Span sizes, in pages, that have a lock-free cache. */
    public static final int[] CACHE_SIZES = {1, 2, 4, 8, 16};

    private RegistryLayout() {
    }

    /** @return the arena offset of field {@code field} of slot {@code slot} */
    public static long field(final int slot, final int field) {
        return (long) FIRST_PAGE * Geometry.PAGE_SIZE + (long) slot * SLOT_SIZE + field;
    }

    /** @return the arena offset of the cache head for size class {@code sizeClass} of slot {@code slot} */
    public static long cacheHead(final int slot, final int sizeClass) {
        return field(slot, CACHE_HEADS) + (long) sizeClass * Long.BYTES;
    }

    /** @return the cache size class of a span of {@code pages} pages, or -1 if it has none */
    public static int cacheClassOf(final int pages) {
        return switch (pages) {
            case 1 -> 0;
            case 2 -> 1;
            case 4 -> 2;
            case 8 -> 3;
            case 16 -> 4;
            default -> -1;
        };
    }
}
