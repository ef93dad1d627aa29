package io.sharena.ipc.store;

/**
 * One thread's view of the item it looked up: the fields read, and the lowest ring position read
 * on the way, against which the read is validated. Confined to one thread; reused, so lookups
 * allocate nothing.
 */
final class Cursor {
    /** Arena pointer of the item found, 0 for none. */
    int ptr;
    /** Its ring position. */
    long pos;
    /** The lowest ring position of any record read during the walk; Long.MAX_VALUE for none. */
    long minPos;
    /** The store's reuse count loaded before the walk ({@link Ring#reuses}), checked with {@link #minPos}. */
    long reuses;
    /** Under the stripe lock: the link word that points at {@link #ptr} (a bucket or a NEXT word). */
    int pred;
    int keyLen;
    int valueLen;
    int flags;
    long cas;
    /** Absolute Unix seconds, 0 for never. */
    long expires;
    /** The Unix second of the write. */
    long stored;
    /** The item's META word as read (ItemLayout.META_*). */
    int meta;
    /** The item's access-map bits, loaded during the read (a hint: another reader may change them). */
    int accessBits;
    /** What {@link StoreReads#prefetch} loaded, summed: meaningless, stored so that the loads are made. */
    long prefetched;
    /** {@link StoreReads#prefetch}'s key hashes and first links, of one batch. */
    final int[] hashes = new int[StoreReads.PREFETCH_BATCH];
    final int[] links = new int[StoreReads.PREFETCH_BATCH];
    /** Whether the item's access map said FETCHED before this read marked it. */
    boolean fetchedBefore;
    /** The CAS value of the item the last swap published. */
    long newCas;
    /** This thread's get hits and misses not yet added to the shared counters (see StoreReads#getCounted). */
    int pendingHits;
    int pendingMisses;
    /** incr/decr's decimal result, formatted without allocating. */
    final byte[] digits = new byte[20];

    /** @return the arena pointer of the value's first byte */
    int valuePtr() {
        return ptr + io.sharena.ipc.layout.ItemLayout.KEY + keyLen;
    }
}
