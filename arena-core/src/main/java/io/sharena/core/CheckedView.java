package io.sharena.core;

import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The strict and lenient views: the raw view behind a check that every page an access touches is
 * ALLOCATED. On any other page (FREE, CACHED, RESERVED, PENDING, the header and metadata, or past
 * the end):
 * <ul>
 *   <li>strict ({@code BPF_F_SEGV_ON_FAULT}) throws {@link ArenaFaultException} with the pointer;</li>
 *   <li>lenient ({@code PROBE_MEM32}) reads 0 (a byte range that touches such a page reads as all
 *       zeros), drops writes, and atomics do nothing and return 0 / false; a dropped
 *       compare-and-exchange returns a witness that is never the expected value (0, or -1 when
 *       0 was expected), so it always reads as failed.</li>
 * </ul>
 *
 * <p>The check is one acquire load of the page's STATE word (two when an access straddles a page
 * boundary). It is a check of the pointer at that instant, not a lock: an access that passes it
 * may land on a page freed a moment later, which may still hold its bytes (freed pages stay
 * committed for the purge delay; a span cache hands a page out again within nanoseconds), or be
 * handed out again and hold its new owner's. Never a crash (a freed page stays mapped); but a
 * write through a pointer its owner frees meanwhile is the owner's bug, as it is with any
 * allocator, and this view does not stop it.
 */
final class CheckedView implements ArenaView {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final RawView raw;
    private final MemorySegment segment;
    private final boolean strict;
    private final long firstUserByte;
    private final long capacityBytes;

    CheckedView(final RawView raw, final boolean strict, final long firstUserPage, final long capacityPages) {
        this.raw = raw;
        this.segment = raw.segment();
        this.strict = strict;
        this.firstUserByte = firstUserPage << Geometry.PAGE_SHIFT;
        this.capacityBytes = capacityPages << Geometry.PAGE_SHIFT;
    }

    boolean isStrict() {
        return strict;
    }

    private int state(final long page) {
        return PageEntry.stateOf((long) LONG.getAcquire(segment, PageEntry.stateOffset((int) page)));
    }

    /** @return whether {@code [ptr, ptr + length)} lies in ALLOCATED pages; throws instead when strict */
    private boolean allocated(final int ptr, final long length) {
        final long start = ArenaPointers.offset(ptr);
        if (start < firstUserByte) {
            return fault(ptr, length, PageEntry.META);
        }
        // Past the end, compared without the sum: start + length overflows for a length near
        // Long.MAX_VALUE, and the loop below would then read words past the page table as states.
        if (Math.max(length, 1) > capacityBytes - start) {
            return fault(ptr, length, -1);
        }
        final long end = start + Math.max(length, 1);
        final long last = (end - 1) >>> Geometry.PAGE_SHIFT;
        for (long page = start >>> Geometry.PAGE_SHIFT; page <= last; page++) {
            final int s = state(page);
            if (s != PageEntry.ALLOCATED) {
                return fault(ptr, length, s);
            }
        }
        return true;
    }

    /**
     * {@link #allocated} for an ordered or atomic access of {@code size} bytes, which needs natural
     * alignment whatever the page's state, as on the raw view (an alignment bug must not hide
     * behind a page that is not allocated yet).
     *
     * @throws IllegalArgumentException if {@code ptr} is not a multiple of {@code size}
     */
    private boolean orderedAt(final int ptr, final int size) {
        if ((ptr & (size - 1)) != 0) {
            throw new IllegalArgumentException("misaligned " + size + "-byte ordered or atomic access: ptr=0x"
                + Integer.toHexString(ptr));
        }
        return allocated(ptr, size);
    }

    /**
     * A negative length is a caller's bug whatever the pages: without this it reached the JDK's
     * segment checks as an {@code IndexOutOfBoundsException} (or, on a page the lenient view reads
     * as zeros, {@code Arrays.fill}'s "fromIndex > toIndex").
     */
    private static void checkLength(final int ptr, final long length) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length: ptr=0x" + Integer.toHexString(ptr) + ", length=" + length);
        }
    }

    private boolean fault(final int ptr, final long length, final int state) {
        if (strict) {
            throw new ArenaFaultException(ptr, length, state);
        }
        return false;
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public byte getByte(final int ptr) {
        return allocated(ptr, 1) ? raw.getByte(ptr) : 0;
    }

    @Override
    public void putByte(final int ptr, final byte value) {
        if (allocated(ptr, 1)) {
            raw.putByte(ptr, value);
        }
    }

    @Override
    public short getShort(final int ptr) {
        return allocated(ptr, 2) ? raw.getShort(ptr) : 0;
    }

    @Override
    public void putShort(final int ptr, final short value) {
        if (allocated(ptr, 2)) {
            raw.putShort(ptr, value);
        }
    }

    @Override
    public int getInt(final int ptr) {
        return allocated(ptr, 4) ? raw.getInt(ptr) : 0;
    }

    @Override
    public void putInt(final int ptr, final int value) {
        if (allocated(ptr, 4)) {
            raw.putInt(ptr, value);
        }
    }

    @Override
    public long getLong(final int ptr) {
        return allocated(ptr, 8) ? raw.getLong(ptr) : 0;
    }

    @Override
    public void putLong(final int ptr, final long value) {
        if (allocated(ptr, 8)) {
            raw.putLong(ptr, value);
        }
    }

    @Override
    public byte getByteAcquire(final int ptr) {
        return allocated(ptr, 1) ? raw.getByteAcquire(ptr) : 0;
    }

    @Override
    public void putByteRelease(final int ptr, final byte value) {
        if (allocated(ptr, 1)) {
            raw.putByteRelease(ptr, value);
        }
    }

    @Override
    public byte getByteVolatile(final int ptr) {
        return allocated(ptr, 1) ? raw.getByteVolatile(ptr) : 0;
    }

    @Override
    public void putByteVolatile(final int ptr, final byte value) {
        if (allocated(ptr, 1)) {
            raw.putByteVolatile(ptr, value);
        }
    }

    @Override
    public short getShortAcquire(final int ptr) {
        return orderedAt(ptr, 2) ? raw.getShortAcquire(ptr) : 0;
    }

    @Override
    public void putShortRelease(final int ptr, final short value) {
        if (orderedAt(ptr, 2)) {
            raw.putShortRelease(ptr, value);
        }
    }

    @Override
    public short getShortVolatile(final int ptr) {
        return orderedAt(ptr, 2) ? raw.getShortVolatile(ptr) : 0;
    }

    @Override
    public void putShortVolatile(final int ptr, final short value) {
        if (orderedAt(ptr, 2)) {
            raw.putShortVolatile(ptr, value);
        }
    }

    @Override
    public int getIntAcquire(final int ptr) {
        return orderedAt(ptr, 4) ? raw.getIntAcquire(ptr) : 0;
    }

    @Override
    public void putIntRelease(final int ptr, final int value) {
        if (orderedAt(ptr, 4)) {
            raw.putIntRelease(ptr, value);
        }
    }

    @Override
    public int getIntVolatile(final int ptr) {
        return orderedAt(ptr, 4) ? raw.getIntVolatile(ptr) : 0;
    }

    @Override
    public void putIntVolatile(final int ptr, final int value) {
        if (orderedAt(ptr, 4)) {
            raw.putIntVolatile(ptr, value);
        }
    }

    @Override
    public long getLongAcquire(final int ptr) {
        return orderedAt(ptr, 8) ? raw.getLongAcquire(ptr) : 0;
    }

    @Override
    public void putLongRelease(final int ptr, final long value) {
        if (orderedAt(ptr, 8)) {
            raw.putLongRelease(ptr, value);
        }
    }

    @Override
    public long getLongVolatile(final int ptr) {
        return orderedAt(ptr, 8) ? raw.getLongVolatile(ptr) : 0;
    }

    @Override
    public void putLongVolatile(final int ptr, final long value) {
        if (orderedAt(ptr, 8)) {
            raw.putLongVolatile(ptr, value);
        }
    }

    @Override
    public boolean compareAndSetInt(final int ptr, final int expected, final int value) {
        return orderedAt(ptr, 4) ? raw.compareAndSetInt(ptr, expected, value) : false;
    }

    @Override
    public boolean compareAndSetLong(final int ptr, final long expected, final long value) {
        return orderedAt(ptr, 8) ? raw.compareAndSetLong(ptr, expected, value) : false;
    }

    /**
     * Lenient, off ALLOCATED pages: the exchange is dropped and the witness is never
     * {@code expected}, so the caller sees a failed exchange, as {@link #compareAndSetInt} returns
     * false there.
     */
    @Override
    public int compareAndExchangeInt(final int ptr, final int expected, final int value) {
        return orderedAt(ptr, 4) ? raw.compareAndExchangeInt(ptr, expected, value) : (expected == 0 ? -1 : 0);
    }

    @Override
    public long compareAndExchangeLong(final int ptr, final long expected, final long value) {
        return orderedAt(ptr, 8) ? raw.compareAndExchangeLong(ptr, expected, value) : (expected == 0 ? -1 : 0);
    }

    @Override
    public int getAndSetInt(final int ptr, final int value) {
        return orderedAt(ptr, 4) ? raw.getAndSetInt(ptr, value) : 0;
    }

    @Override
    public long getAndSetLong(final int ptr, final long value) {
        return orderedAt(ptr, 8) ? raw.getAndSetLong(ptr, value) : 0;
    }

    @Override
    public int getAndAddInt(final int ptr, final int delta) {
        return orderedAt(ptr, 4) ? raw.getAndAddInt(ptr, delta) : 0;
    }

    @Override
    public long getAndAddLong(final int ptr, final long delta) {
        return orderedAt(ptr, 8) ? raw.getAndAddLong(ptr, delta) : 0;
    }

    @Override
    public int getAndBitwiseOrInt(final int ptr, final int mask) {
        return orderedAt(ptr, 4) ? raw.getAndBitwiseOrInt(ptr, mask) : 0;
    }

    @Override
    public int getAndBitwiseAndInt(final int ptr, final int mask) {
        return orderedAt(ptr, 4) ? raw.getAndBitwiseAndInt(ptr, mask) : 0;
    }

    @Override
    public int getAndBitwiseXorInt(final int ptr, final int mask) {
        return orderedAt(ptr, 4) ? raw.getAndBitwiseXorInt(ptr, mask) : 0;
    }

    @Override
    public long getAndBitwiseOrLong(final int ptr, final long mask) {
        return orderedAt(ptr, 8) ? raw.getAndBitwiseOrLong(ptr, mask) : 0;
    }

    @Override
    public long getAndBitwiseAndLong(final int ptr, final long mask) {
        return orderedAt(ptr, 8) ? raw.getAndBitwiseAndLong(ptr, mask) : 0;
    }

    @Override
    public long getAndBitwiseXorLong(final int ptr, final long mask) {
        return orderedAt(ptr, 8) ? raw.getAndBitwiseXorLong(ptr, mask) : 0;
    }

    @Override
    public void getBytes(final int ptr, final byte[] dst, final int dstOffset, final int length) {
        checkLength(ptr, length);
        if (allocated(ptr, length)) {
            raw.getBytes(ptr, dst, dstOffset, length);
        } else {
            java.util.Arrays.fill(dst, dstOffset, dstOffset + length, (byte) 0);
        }
    }

    @Override
    public void putBytes(final int ptr, final byte[] src, final int srcOffset, final int length) {
        checkLength(ptr, length);
        if (allocated(ptr, length)) {
            raw.putBytes(ptr, src, srcOffset, length);
        }
    }

    @Override
    public void copyTo(final int ptr, final MemorySegment dst, final long dstOffset, final long length) {
        checkLength(ptr, length);
        if (allocated(ptr, length)) {
            raw.copyTo(ptr, dst, dstOffset, length);
        } else {
            dst.asSlice(dstOffset, length).fill((byte) 0);
        }
    }

    @Override
    public void copyFrom(final MemorySegment src, final long srcOffset, final int ptr, final long length) {
        checkLength(ptr, length);
        if (allocated(ptr, length)) {
            raw.copyFrom(src, srcOffset, ptr, length);
        }
    }

    @Override
    public void fill(final int ptr, final long length, final byte value) {
        checkLength(ptr, length);
        if (allocated(ptr, length)) {
            raw.fill(ptr, length, value);
        }
    }
}
