package io.sharena.ipc.store;

import io.sharena.ipc.layout.ItemLayout;

import java.lang.foreign.MemorySegment;

/**
 * Zero-copy reads: the value is a {@link MemorySegment} over the store's shared memory, with no
 * copy and no allocation but the slice. One reader per thread; it is reused for each lookup.
 *
 * <pre>{@code
 * StoreReader r = store.reader();
 * if (r.get(key)) {
 *     long sum = r.value().get(ValueLayout.JAVA_LONG_UNALIGNED, 0);   // read in place
 *     if (r.validate()) { use(sum); } else { retry; }                   // the item was not reclaimed meanwhile
 * }
 * }</pre>
 *
 * <p>The bytes of a found item never change while it lives; but once the item is replaced,
 * deleted or evicted, its space may be reused by another item. The segment stays readable (it is
 * part of the mapping), so reading it never faults; {@link #validate()} says whether everything
 * read since {@link #get} was still this item's. The flags, CAS and length were validated by
 * {@code get} itself. Segments given out are read-only: a value is shared by every process.
 *
 * <p>Allocation-free form: {@link #value()} makes a slice, which escape analysis usually removes
 * but not always (a JMH run on a Zipf trace measured 29 B/op); {@link #memory()} and
 * {@link #valueOffset()} address the same bytes with no object at all:
 * <pre>{@code
 * long first = r.memory().get(ValueLayout.JAVA_LONG_UNALIGNED, r.valueOffset());
 * }</pre>
 */
public final class StoreReader {
    private final SharedStore store;
    /** The store's read path, called straight from here: no hop through the store on a reader's get. */
    private final StoreReads reads;
    private final StoreClock times;
    private final MemorySegment memory;
    private final Cursor cursor = new Cursor();
    private boolean hit;
    /** The key of the last lookup, for {@link #claimToken()}. */
    private byte[] key;

    StoreReader(final SharedStore store) {
        this.store = store;
        this.reads = store.reads;
        this.times = store.times;
        this.memory = store.view().segment().asReadOnly();
    }

    /** As {@link SharedStore#prefetch}: before gets of several keys through this reader. */
    public void prefetch(final byte[][] keys, final int from, final int to) {
        reads.prefetch(keys, from, to, cursor);
    }

    /**
     * As {@link #prefetch(byte[][], int, int)}, for {@code count} keys given as ranges of one
     * buffer: key {@code i} is {@code buf[offsets[i], offsets[i] + lengths[i])} (a request line,
     * with no array per key).
     *
     * @throws IllegalArgumentException  if a length is not a key's (1 to {@value SharedStore#MAX_KEY})
     * @throws IndexOutOfBoundsException if a range is not inside {@code buf}, or {@code count}
     *                                   exceeds either array
     */
    public void prefetch(final byte[] buf, final int[] offsets, final int[] lengths, final int count) {
        reads.prefetch(buf, offsets, lengths, count, cursor);
    }

    /**
     * Looks the key up, without a lock. A hit marks the item fetched and keeps its last access
     * time (to the minute).
     *
     * @return whether it holds a live item
     */
    public boolean get(final byte[] key) {
        return get(key, true);
    }

    /**
     * Looks the key up, without a lock; with {@code bump} false the item is left as it was: not
     * marked fetched, its last access time and its standing against eviction unchanged
     * (memcached's meta {@code u}).
     *
     * @return whether it holds a live item
     */
    public boolean get(final byte[] key, final boolean bump) {
        this.key = key;
        hit = reads.readerGet(key, cursor, bump);
        return hit;
    }

    /**
     * Looks the key up as {@code get(key, false)} does, but counts no get in the store's figures
     * ({@code cmd_get}, hits, misses): for listings such as memcached's {@code stats cachedump}.
     *
     * @return whether it holds a live item
     */
    public boolean peek(final byte[] key) {
        this.key = key;
        hit = reads.readerPeek(key, cursor);
        return hit;
    }

    /**
     * Sets the key's expiry and looks its item up, in one step under the key's lock (memcached's
     * meta {@code mg T}); the reader then holds the item (with its new expiry) as after
     * {@link #get}, and reads of its value are validated the same way.
     *
     * @return TOUCHED, NOT_FOUND or BUSY (see {@link SharedStore#touch})
     */
    public StoreResult getAndTouch(final byte[] key, final long exptime) {
        return getAndTouch(key, exptime, true);
    }

    /**
     * {@link #getAndTouch(byte[], long)}; with {@code bump} false the item is not marked read
     * (memcached's meta {@code mg T u}).
     *
     * @return TOUCHED, NOT_FOUND or BUSY
     */
    public StoreResult getAndTouch(final byte[] key, final long exptime, final boolean bump) {
        this.key = key;
        final StoreResult r = store.readerTouch(key, exptime, cursor, bump);
        hit = r == StoreResult.TOUCHED;
        return r;
    }

    /** @return whether the item had been read before this lookup (memcached's meta {@code h}) */
    public boolean fetchedBefore() {
        checkHit();
        return cursor.fetchedBefore;
    }

    /**
     * @return seconds since the item was last read or written, as it stood before this lookup;
     * reads move it at most once a minute, as memcached's do (its meta {@code l})
     */
    public long secondsSinceAccess() {
        checkHit();
        return times.secondsSinceAccess(cursor);
    }

    /** @return whether the item was invalidated and is served stale until rewritten (meta {@code X}) */
    public boolean stale() {
        checkHit();
        return (cursor.meta & ItemLayout.META_STALE) != 0;
    }

    /**
     * @return whether the item's key was given in base64 by the write that made it (memcached's meta
     * {@code b}; a meta get shows such a key in base64)
     */
    public boolean binaryKey() {
        checkHit();
        return (cursor.meta & ItemLayout.META_KEY_BINARY) != 0;
    }

        /** @return whether the item's win token had been handed out when it was read (meta {@code Z}) */
    public boolean tokenSent() {
        checkHit();
        return (cursor.meta & ItemLayout.META_TOKEN) != 0;
    }

    /**
     * Hands out the item's win token to this caller, if nobody has it yet (memcached's meta
     * {@code W}): one caller wins per item version, across every process. Takes the key's lock.
     * The key array given to the lookup must be unchanged.
     *
     * @return whether this caller won; false if the token was already out or the item was replaced
     * or removed since the lookup
     */
    public boolean claimToken() {
        checkHit();
        return reads.claimToken(key, cursor);
    }

    private void checkHit() {
        if (!hit) {
            throw new IllegalStateException("no item: the last get missed or none was made: hit=false");
        }
    }

    /** @return the value in place (read-only), valid while {@link #validate()} says so */
    public MemorySegment value() {
        checkHit();
        return memory.asSlice(Integer.toUnsignedLong(cursor.valuePtr()), cursor.valueLen);
    }

    /**
     * @return the store's whole memory, read-only, the same segment for every lookup: read a value
     * at {@link #valueOffset()} for {@link #valueLength()} bytes, allocating nothing
     */
    public MemorySegment memory() {
        return memory;
    }

    /** @return where the last found value starts in {@link #memory()} */
    public long valueOffset() {
        checkHit();
        return Integer.toUnsignedLong(cursor.valuePtr());
    }

    public int valueLength() {
        checkHit();
        return cursor.valueLen;
    }

    public int flags() {
        checkHit();
        return cursor.flags;
    }

    public long cas() {
        checkHit();
        return cursor.cas;
    }

    /** @return absolute Unix seconds, 0 for never */
    public long expires() {
        checkHit();
        return cursor.expires;
    }

    /**
     * Copies the value into {@code dst} at {@code offset}.
     *
     * @return whether the copy is the item's value (false: it was reclaimed meanwhile; get again)
     */
    public boolean copyValue(final byte[] dst, final int offset) {
        checkHit();
        store.view().getBytes(cursor.valuePtr(), dst, offset, cursor.valueLen);
        return validate();
    }

    /** @return whether every byte read from this item since {@link #get} was its own */
    public boolean validate() {
        return hit && reads.stillValid(cursor);
    }

    /**
     * @return a mark of the item the last lookup found, for {@link #validate(long, long)} with its
     * {@link #cas()}: its bytes can then be read later, after other lookups through this reader, and
     * checked by the two alone (a server that sends a large value as the socket takes it does so)
     */
    public long itemMark() {
        checkHit();
        return cursor.pos;
    }

    /**
     * @param mark what {@link #itemMark()} gave for an item
     * @param cas  what {@link #cas()} gave for it
     * @return whether every byte read from that item so far was still its own (false once its space
     * may have been reused: it stays so)
     */
    public boolean validate(final long mark, final long cas) {
        return reads.stillValid(mark, cas);
    }
}
