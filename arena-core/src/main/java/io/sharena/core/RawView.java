package io.sharena.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The raw view: only bounds checks, done by the {@link MemorySegment} itself. For hot paths that
 * own their pages. Pointer to offset is {@link ArenaPointers#offset(int)}: the segment starts at
 * the window base, so the unsigned pointer is the offset.
 */
final class RawView implements ArenaView {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment segment;

    RawView(final MemorySegment segment) {
        this.segment = segment;
    }

    /**
     * A plain load of the word an atomic is about to work on, returning its offset.
     *
     * <p>Why: if another process truncates the file under the mapping, touching the lost pages
     * raises SIGBUS. HotSpot turns that into an {@link InternalError} for plain and ordered
     * accesses, but its out-of-line compare-and-set (used before the JIT compiles the caller) is
     * not guarded and would crash the JVM. The load faults first, safely; it costs next to nothing,
     * as the atomic needs the same cache line. A truncation that lands between the load and the
     * atomic is not covered; it needs another process to shrink a live arena file.
     */
    private long guardInt(final int ptr) {
        final long offset = ArenaPointers.offset(ptr);
        segment.get(ValueLayout.JAVA_INT, offset);
        return offset;
    }

    private long guardLong(final int ptr) {
        final long offset = ArenaPointers.offset(ptr);
        segment.get(ValueLayout.JAVA_LONG, offset);
        return offset;
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
        final long offset = guardInt(ptr);
        return INT.compareAndSet(segment, offset, expected, value);
    }

    @Override
    public boolean compareAndSetLong(final int ptr, final long expected, final long value) {
        final long offset = guardLong(ptr);
        return LONG.compareAndSet(segment, offset, expected, value);
    }

    @Override
    public int getAndAddInt(final int ptr, final int delta) {
        return (int) INT.getAndAdd(segment, guardInt(ptr), delta);
    }

    @Override
    public long getAndAddLong(final int ptr, final long delta) {
        return (long) LONG.getAndAdd(segment, guardLong(ptr), delta);
    }

    @Override
    public int getAndBitwiseOrInt(final int ptr, final int mask) {
        return (int) INT.getAndBitwiseOr(segment, guardInt(ptr), mask);
    }

    @Override
    public int getAndBitwiseAndInt(final int ptr, final int mask) {
        return (int) INT.getAndBitwiseAnd(segment, guardInt(ptr), mask);
    }

    @Override
    public int getAndBitwiseXorInt(final int ptr, final int mask) {
        return (int) INT.getAndBitwiseXor(segment, guardInt(ptr), mask);
    }

    @Override
    public long getAndBitwiseOrLong(final int ptr, final long mask) {
        return (long) LONG.getAndBitwiseOr(segment, guardLong(ptr), mask);
    }

    @Override
    public long getAndBitwiseAndLong(final int ptr, final long mask) {
        return (long) LONG.getAndBitwiseAnd(segment, guardLong(ptr), mask);
    }

    @Override
    public long getAndBitwiseXorLong(final int ptr, final long mask) {
        return (long) LONG.getAndBitwiseXor(segment, guardLong(ptr), mask);
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
