package io.sharena.ipc.store;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * How a store is created and used. Immutable; each {@code with} returns a copy.
 *
 * <ul>
 *   <li>memoryLimit: bytes of item space (the ring), 64 MiB by default. Items, keys and headers
 *       count against it, as memcached's {@code -m} does.</li>
 *   <li>maxItemSize: the largest value that stores, 1 MiB by default (memcached's {@code -I}).</li>
 *   <li>buckets: hash buckets, a power of two; 0 (default) means one per 256 bytes of memory.</li>
 *   <li>lockTimeoutNanos: how long a command waits for a stripe lock or for ring space held by a
 *       live process (1 s by default) before it answers BUSY or NO_MEMORY.</li>
 *   <li>clock: wall-clock milliseconds (tests move time without sleeping).</li>
 *   <li>evictions: whether this opener's writes may evict live items to make room (true by
 *       default). False is memcached's {@code -M}: a write that finds no room answers NO_MEMORY
 *       instead; items that expired or were flushed are still reclaimed, and live ones at the
 *       ring's tail are moved to its head (at most {@value Ring#REINSERT_BUDGET} per write) so that
 *       the tail can pass free space behind them. It holds for the writes of this opener only:
 *       another process's writes follow its own options.</li>
 *   <li>hugePages: whether this opener asks the kernel to map the store's region with 2 MiB pages
 *       ({@code madvise(MADV_HUGEPAGE)} on the whole 2 MiB blocks of the region in its own mapping;
 *       true by default). A get is a chain of dependent reads at random places in the region, and
 *       with 4 KiB pages most of them also miss the TLB. Advice only: where the file system keeps
 *       no large folios (tmpfs without {@code huge=}, older kernels) or transparent huge pages are
 *       off, nothing changes. The region's disk blocks are allocated when the store is created, so
 *       2 MiB pages cost no disk; a page written back is written whole, so a store under writes
 *       writes back in 2 MiB units.</li>
 * </ul>
 * Only the clock, the lock timeout, evictions and huge pages apply on open; the others are fixed
 * when the store is created.
 */
public final class StoreOptions {
    public static final long DEFAULT_MEMORY_LIMIT = 64L << 20;
    public static final int DEFAULT_MAX_ITEM_SIZE = 1 << 20;
    public static final int STRIPES = 1024;
    /** Smallest memory limit: room for a few maximum-size items is checked separately. */
    public static final long MIN_MEMORY_LIMIT = 64L << 10;

    private final long memoryLimit;
    private final int maxItemSize;
    private final int buckets;
    private final long lockTimeoutNanos;
    private final LongSupplier clock;
    private final boolean evictions;
    private final boolean hugePages;

    private StoreOptions(final long memoryLimit, final int maxItemSize, final int buckets, final long lockTimeoutNanos,
                         final LongSupplier clock, final boolean evictions, final boolean hugePages) {
        this.memoryLimit = memoryLimit;
        this.maxItemSize = maxItemSize;
        this.buckets = buckets;
        this.lockTimeoutNanos = lockTimeoutNanos;
        this.clock = clock;
        this.evictions = evictions;
        this.hugePages = hugePages;
    }

    public static StoreOptions defaults() {
        return new StoreOptions(DEFAULT_MEMORY_LIMIT, DEFAULT_MAX_ITEM_SIZE, 0, 1_000_000_000L, System::currentTimeMillis, true,
            true);
    }

    /**
     * @throws IllegalArgumentException below {@link #MIN_MEMORY_LIMIT} or above 2 GiB (a store's
     * region, with its index, must stay under 2 GiB: the create names the largest limit that fits)
     */
    public StoreOptions withMemoryLimit(final long bytes) {
        if (bytes < MIN_MEMORY_LIMIT || bytes > (2L << 30)) {
            throw new IllegalArgumentException("memory limit out of range: memoryLimit=" + bytes + ", min="
                + MIN_MEMORY_LIMIT + ", max=" + (2L << 30));
        }
        return new StoreOptions(bytes, maxItemSize, buckets, lockTimeoutNanos, clock, evictions, hugePages);
    }

    /** @throws IllegalArgumentException if not positive or over 512 MiB */
    public StoreOptions withMaxItemSize(final int bytes) {
        if (bytes <= 0 || bytes > (512 << 20)) {
            throw new IllegalArgumentException("max item size out of range: maxItemSize=" + bytes + ", max=" + (512 << 20));
        }
        return new StoreOptions(memoryLimit, bytes, buckets, lockTimeoutNanos, clock, evictions, hugePages);
    }

    /** @throws IllegalArgumentException if not 0 or a power of two from 1024 to 2^28 */
    public StoreOptions withBuckets(final int count) {
        if (count != 0 && (Integer.bitCount(count) != 1 || count < 1024 || count > (1 << 28))) {
            throw new IllegalArgumentException("bucket count must be 0 or a power of two from 1024 to 2^28: buckets=" + count);
        }
        return new StoreOptions(memoryLimit, maxItemSize, count, lockTimeoutNanos, clock, evictions, hugePages);
    }

    /** @throws IllegalArgumentException if negative */
    public StoreOptions withLockTimeoutNanos(final long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("lock timeout must not be negative: lockTimeoutNanos=" + nanos);
        }
        return new StoreOptions(memoryLimit, maxItemSize, buckets, nanos, clock, evictions, hugePages);
    }

    public StoreOptions withClock(final LongSupplier millis) {
        return new StoreOptions(memoryLimit, maxItemSize, buckets, lockTimeoutNanos, Objects.requireNonNull(millis, "clock"),
            evictions, hugePages);
    }

    /** Whether this opener's writes may evict live items (false: memcached's {@code -M}). */
    public StoreOptions withEvictions(final boolean evict) {
        return new StoreOptions(memoryLimit, maxItemSize, buckets, lockTimeoutNanos, clock, evict, hugePages);
    }

    /** Whether this opener advises 2 MiB pages for the store's region in its mapping (true by default). */
    public StoreOptions withHugePages(final boolean advise) {
        return new StoreOptions(memoryLimit, maxItemSize, buckets, lockTimeoutNanos, clock, evictions, advise);
    }

    public boolean hugePages() {
        return hugePages;
    }

    public boolean evictions() {
        return evictions;
    }

    public long memoryLimit() {
        return memoryLimit;
    }

    public int maxItemSize() {
        return maxItemSize;
    }

    public int buckets() {
        return buckets;
    }

    public long lockTimeoutNanos() {
        return lockTimeoutNanos;
    }

    public LongSupplier clock() {
        return clock;
    }
}
