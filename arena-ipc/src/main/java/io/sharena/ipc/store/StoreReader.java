package io.sharena.ipc.store;

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
    private final MemorySegment memory;
    private final Cursor cursor = new Cursor();
    private boolean hit;

    StoreReader(final SharedStore store) {
        this.store = store;
        this.memory = store.view().segment().asReadOnly();
    }

    /** Looks the key up, without a lock. @return whether it holds a live item */
    public boolean get(final byte[] key) {
        hit = store.readerGet(key, cursor);
        return hit;
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
        return hit && store.stillValid(cursor);
    }
}
