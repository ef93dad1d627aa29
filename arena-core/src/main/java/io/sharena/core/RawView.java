package io.sharena.core;

import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The raw view: only bounds checks, done by the {@link MemorySegment} itself. Atomics go through
 * {@link SharedWords}, which keeps a file shrunk under the mapping from crashing the JVM. For hot paths that
 * own their pages. Pointer to offset is {@link ArenaPointers#offset(int)}: the segment starts at
 * the window base, so the unsigned pointer is the offset.
 */
final class RawView implements ArenaView {
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();
    private static final VarHandle SHORT = ValueLayout.JAVA_SHORT.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment segment;

    RawView(final MemorySegment segment) {
        this.segment = segment;
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public byte getByte(final int ptr) {
        return segment.get(ValueLayout.JAVA_BYTE, ArenaPointers.offset(ptr));
    }

    @Override
    public void putByte(final int ptr, final byte value) {
        segment.set(ValueLayout.JAVA_BYTE, ArenaPointers.offset(ptr), value);
    }

    @Override
    public short getShort(final int ptr) {
        return segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, ArenaPointers.offset(ptr));
    }

    @Override
    public void putShort(final int ptr, final short value) {
        segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, ArenaPointers.offset(ptr), value);
    }

    @Override
    public int getInt(final int ptr) {
        return segment.get(ValueLayout.JAVA_INT_UNALIGNED, ArenaPointers.offset(ptr));
    }

    @Override
    public void putInt(final int ptr, final int value) {
        segment.set(ValueLayout.JAVA_INT_UNALIGNED, ArenaPointers.offset(ptr), value);
    }

    @Override
    public long getLong(final int ptr) {
        return segment.get(ValueLayout.JAVA_LONG_UNALIGNED, ArenaPointers.offset(ptr));
    }

    @Override
    public void putLong(final int ptr, final long value) {
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, ArenaPointers.offset(ptr), value);
    }

    @Override
    public byte getByteAcquire(final int ptr) {
        return (byte) BYTE.getAcquire(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putByteRelease(final int ptr, final byte value) {
        BYTE.setRelease(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public byte getByteVolatile(final int ptr) {
        return (byte) BYTE.getVolatile(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putByteVolatile(final int ptr, final byte value) {
        BYTE.setVolatile(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public short getShortAcquire(final int ptr) {
        return (short) SHORT.getAcquire(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putShortRelease(final int ptr, final short value) {
        SHORT.setRelease(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public short getShortVolatile(final int ptr) {
        return (short) SHORT.getVolatile(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putShortVolatile(final int ptr, final short value) {
        SHORT.setVolatile(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public int getIntAcquire(final int ptr) {
        return (int) INT.getAcquire(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putIntRelease(final int ptr, final int value) {
        INT.setRelease(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public int getIntVolatile(final int ptr) {
        return (int) INT.getVolatile(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putIntVolatile(final int ptr, final int value) {
        INT.setVolatile(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public long getLongAcquire(final int ptr) {
        return (long) LONG.getAcquire(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putLongRelease(final int ptr, final long value) {
        LONG.setRelease(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public long getLongVolatile(final int ptr) {
        return (long) LONG.getVolatile(segment, ArenaPointers.offset(ptr));
    }

    @Override
    public void putLongVolatile(final int ptr, final long value) {
        LONG.setVolatile(segment, ArenaPointers.offset(ptr), value);
    }

    @Override
    public boolean compareAndSetInt(final int ptr, final int expected, final int value) {
        return SharedWords.casInt(segment, ArenaPointers.offset(ptr), expected, value);
    }

    @Override
    public boolean compareAndSetLong(final int ptr, final long expected, final long value) {
        return SharedWords.casLong(segment, ArenaPointers.offset(ptr), expected, value);
    }

    /*
     * Exchange and swap start, as SharedWords' atomics do, with a volatile load of their word: a
     * file shrunk under the mapping faults on that guarded load rather than in the unguarded
     * out-of-line atomic. A compare-and-exchange that already sees another value is linearized at
     * that load; a swap first tries a CAS from the loaded value, the whole operation when the
     * word is not contended.
     */

    @Override
    public int compareAndExchangeInt(final int ptr, final int expected, final int value) {
        final long at = ArenaPointers.offset(ptr);
        final int seen = (int) INT.getVolatile(segment, at);
        return seen != expected ? seen : (int) INT.compareAndExchange(segment, at, expected, value);
    }

    @Override
    public long compareAndExchangeLong(final int ptr, final long expected, final long value) {
        final long at = ArenaPointers.offset(ptr);
        final long seen = (long) LONG.getVolatile(segment, at);
        return seen != expected ? seen : (long) LONG.compareAndExchange(segment, at, expected, value);
    }

    @Override
    public int getAndSetInt(final int ptr, final int value) {
        final long at = ArenaPointers.offset(ptr);
        final int seen = (int) INT.getVolatile(segment, at);
        return INT.compareAndSet(segment, at, seen, value) ? seen : (int) INT.getAndSet(segment, at, value);
    }

    @Override
    public long getAndSetLong(final int ptr, final long value) {
        final long at = ArenaPointers.offset(ptr);
        final long seen = (long) LONG.getVolatile(segment, at);
        return LONG.compareAndSet(segment, at, seen, value) ? seen : (long) LONG.getAndSet(segment, at, value);
    }

    @Override
    public int getAndAddInt(final int ptr, final int delta) {
        return SharedWords.getAndAddInt(segment, ArenaPointers.offset(ptr), delta);
    }

    @Override
    public long getAndAddLong(final int ptr, final long delta) {
        return SharedWords.getAndAddLong(segment, ArenaPointers.offset(ptr), delta);
    }

    @Override
    public int getAndBitwiseOrInt(final int ptr, final int mask) {
        return SharedWords.getAndBitwiseInt(segment, ArenaPointers.offset(ptr), mask, SharedWords.OR);
    }

    @Override
    public int getAndBitwiseAndInt(final int ptr, final int mask) {
        return SharedWords.getAndBitwiseInt(segment, ArenaPointers.offset(ptr), mask, SharedWords.AND);
    }

    @Override
    public int getAndBitwiseXorInt(final int ptr, final int mask) {
        return SharedWords.getAndBitwiseInt(segment, ArenaPointers.offset(ptr), mask, SharedWords.XOR);
    }

    @Override
    public long getAndBitwiseOrLong(final int ptr, final long mask) {
        return SharedWords.getAndBitwiseLong(segment, ArenaPointers.offset(ptr), mask, SharedWords.OR);
    }

    @Override
    public long getAndBitwiseAndLong(final int ptr, final long mask) {
        return SharedWords.getAndBitwiseLong(segment, ArenaPointers.offset(ptr), mask, SharedWords.AND);
    }

    @Override
    public long getAndBitwiseXorLong(final int ptr, final long mask) {
        return SharedWords.getAndBitwiseLong(segment, ArenaPointers.offset(ptr), mask, SharedWords.XOR);
    }

    @Override
    public void getBytes(final int ptr, final byte[] dst, final int dstOffset, final int length) {
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, ArenaPointers.offset(ptr), dst, dstOffset, length);
    }

    @Override
    public void putBytes(final int ptr, final byte[] src, final int srcOffset, final int length) {
        MemorySegment.copy(src, srcOffset, segment, ValueLayout.JAVA_BYTE, ArenaPointers.offset(ptr), length);
    }

    @Override
    public void copyTo(final int ptr, final MemorySegment dst, final long dstOffset, final long length) {
        MemorySegment.copy(segment, ArenaPointers.offset(ptr), dst, dstOffset, length);
    }

    @Override
    public void copyFrom(final MemorySegment src, final long srcOffset, final int ptr, final long length) {
        MemorySegment.copy(src, srcOffset, segment, ArenaPointers.offset(ptr), length);
    }

    @Override
    public void fill(final int ptr, final long length, final byte value) {
        segment.asSlice(ArenaPointers.offset(ptr), length).fill(value);
    }
}
