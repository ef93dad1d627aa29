package io.sharena.core.layout;

/**
 * Page 1 of an arena: the allocator's shared words. Offsets from the start of the page.
 *
 * <pre>
 *     0  LOCK_WORD         long  owner of the allocator lock; see {@link LockWord}      ┐ one
 *   128  PENDING_HEAD      long  pending-free stack head; see {@link TaggedHead}       │ 128-byte
 *   256  INTENT            long  the lock holder's operation in flight; see {@link Intent} │ line
 *   264  TREE_FREE_PAGES   long  pages in the best-fit lists (changed under the lock)  │ each for
 *   272  RESERVED_PAGES    long  RESERVED pages (changed under the lock, or by a drain)│ the
 *   280  QUOTA_PAGES       long  limit on pages out of the free lists; 0 = none        ┘ first two
 *   288  ROOTS_PTR         int   arena pointer of the named-roots directory, 0 until created (CAS)
 *   296  REPAIR_PENDING    long  until the allocator has repaired: bit 0 a lock takeover, bit 1 a walk found corruption
 *   304  DIRTY_PAGES       long  FREE pages whose storage is still committed (lock holder only)
 *   312  DIRTY_SINCE       long  System.nanoTime() when DIRTY_PAGES last left 0; 0 = none
 *   320  INTENT_DEST       long  arena offset of the int an ALLOC_INTO or FREE_FROM intent names
 *   384  BUCKET_HEADS      int[BUCKETS]  first page of each size class's free-run list, 0 = empty
 *  1024  COUNTERS          long[COUNTER_COUNT], one per 64-byte line
 * </pre>
 *
 * <p>{@code LOCK_WORD} and {@code PENDING_HEAD} are each alone on a 128-byte line (two cache lines,
 * against adjacent-line prefetch): every process CASes them. The words from {@code INTENT} on are
 * touched only by the lock holder. Counters are each on their own 64-byte line so that processes
 * counting different events do not share a line; each is changed by get-and-add, except
 * lockAcquisitions, which only the lock holder, having just taken the lock, increments. allocations
 * and frees hold only the counts of processes that have left; each attached process counts its
 * own in its registry slot ({@link RegistryLayout#ALLOCATIONS}), and readers add them up.
 */
public final class ControlLayout {
    public static final int PAGE_INDEX = 1;

    public static final int LOCK_WORD = 0;
    public static final int PENDING_HEAD = 128;
    public static final int INTENT = 256;
    public static final int TREE_FREE_PAGES = 264;
    public static final int RESERVED_PAGES = 272;
    public static final int QUOTA_PAGES = 280;
    /** Installed once by compare-and-set from 0 by whoever creates the directory (arena-ipc). */
    public static final int ROOTS_PTR = 288;
    /**
     * Set (release) by whoever takes the lock over from a dead owner, cleared by the allocator's
     * repair: a takeover by any user of the lock (named roots, a tool) still gets the allocator
     * repaired by the next allocator call.
     */
    public static final int REPAIR_PENDING = 296;
    /**
     * FREE pages with {@link PageEntry#DIRTY} set: freed storage kept committed for reuse, returned
     * to the operating system by a purge (time decay, a high-water mark, or on request). Changed
     * under the lock; a repair, which punches every free run, sets it to 0.
     */
    public static final int DIRTY_PAGES = 304;
    /**
     * When {@link #DIRTY_PAGES} last went up from 0, in {@code System.nanoTime()} (CLOCK_MONOTONIC on
     * Linux, one clock for every process of the machine): the oldest dirty page is at most this old.
     */
    public static final int DIRTY_SINCE = 312;
    /**
     * The arena offset of the int word an {@link Intent#ALLOC_INTO} stores its pointer into, or a
     * {@link Intent#FREE_FROM} takes it out of: written (release) by the lock holder before the intent,
     * read by recovery only for those two intents.
     */
    public static final int INTENT_DEST = 320;
    public static final int BUCKET_HEADS = 384;
    /** Size classes: exact sizes 1..32 pages, then one class per power of two up to 2^20. */
    public static final int EXACT_BUCKETS = 32;
    public static final int BUCKETS = EXACT_BUCKETS + 16;

    public static final int COUNTERS = 1024;
    public static final int COUNTER_STRIDE = 64;

    public static final int C_ALLOCATIONS = 0;
    public static final int C_FREES = 1;
    public static final int C_DEFERRED_FREES = 2;
    public static final int C_LOCK_ACQUISITIONS = 3;
    public static final int C_LOCK_CONTENDED = 4;
    public static final int C_LOCK_TIMEOUTS = 5;
    public static final int C_RECOVERIES = 6;
    public static final int C_BYTES_RETURNED = 7;
    public static final int C_FAILED_ALLOCATIONS = 8;
    public static final int COUNTER_COUNT = 9;
    public static final String[] COUNTER_NAMES = {
        "allocations", "frees", "deferredFrees", "lockAcquisitions", "lockContended", "lockTimeouts",
        "recoveries", "bytesReturned", "failedAllocations"};

    private ControlLayout() {
    }

    /** @return the arena offset of bucket {@code b}'s head */
    public static long bucketHead(final int b) {
        return (long) PAGE_INDEX * Geometry.PAGE_SIZE + BUCKET_HEADS + (long) b * Integer.BYTES;
    }

    /** @return the arena offset of counter {@code c} */
    public static long counter(final int c) {
        return (long) PAGE_INDEX * Geometry.PAGE_SIZE + COUNTERS + (long) c * COUNTER_STRIDE;
    }

    /** @return the arena offset of a control word */
    public static long word(final int offsetInPage) {
        return (long) PAGE_INDEX * Geometry.PAGE_SIZE + offsetInPage;
    }

    /** @return the size class of a run of {@code pages} pages (1 .. 2^20) */
    public static int bucketOf(final long pages) {
        if (pages <= EXACT_BUCKETS) {
            return (int) pages - 1;
        }
        // 33..63 -> class 32 (floor log2 = 5), 64..127 -> 33, ...
        return EXACT_BUCKETS + (63 - Long.numberOfLeadingZeros(pages)) - 5;
    }
}
