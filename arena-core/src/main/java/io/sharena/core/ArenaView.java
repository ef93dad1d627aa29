package io.sharena.core;

import java.lang.foreign.MemorySegment;

/**
 * Typed access to an arena by arena pointer. Every method takes an {@code int} arena pointer
 * (an unsigned offset into the arena) and is bounds-checked against the arena's capacity: a
 * pointer past the end throws {@link IndexOutOfBoundsException}, whatever its value, and no pointer
 * can reach memory outside the arena.
 *
 * <p>Byte order is the platform's native order, the same in every process on one machine.
 * Plain accesses may be unaligned; ordered and atomic ones (acquire, release, volatile,
 * compare-and-set, get-and-op) need natural alignment and throw {@link IllegalArgumentException}
 * otherwise.
 *
 * <p>Memory ordering is in the name, as in {@link java.lang.invoke.VarHandle}: {@code getAcquire}
 * pairs with {@code putRelease} in another thread or process; {@code Volatile} accesses are
 * sequentially consistent; plain accesses carry no ordering.
 *
 * <p>A view is safe to share between threads. After the arena is closed every access throws
 * {@link IllegalStateException}. If another process shrinks the file under a live mapping, an
 * access to the lost range throws {@link InternalError} ("a fault occurred in an unsafe memory
 * access operation") and the JVM carries on; atomics first load the word they work on so that the
 * fault is taken by that guarded load.
 */
public sealed interface ArenaView permits RawView, CheckedView {
    /** @return the whole arena as a segment, starting at pointer 0 */
    MemorySegment segment();

    byte getByte(int ptr);

    void putByte(int ptr, byte value);

    short getShort(int ptr);

    void putShort(int ptr, short value);

    int getInt(int ptr);

    void putInt(int ptr, int value);

    long getLong(int ptr);

    void putLong(int ptr, long value);

    byte getByteAcquire(int ptr);

    void putByteRelease(int ptr, byte value);

    byte getByteVolatile(int ptr);

    void putByteVolatile(int ptr, byte value);

    short getShortAcquire(int ptr);

    void putShortRelease(int ptr, short value);

    short getShortVolatile(int ptr);

    void putShortVolatile(int ptr, short value);

    int getIntAcquire(int ptr);

    void putIntRelease(int ptr, int value);

    int getIntVolatile(int ptr);

    void putIntVolatile(int ptr, int value);

    long getLongAcquire(int ptr);

    void putLongRelease(int ptr, long value);

    long getLongVolatile(int ptr);

    void putLongVolatile(int ptr, long value);

    boolean compareAndSetInt(int ptr, int expected, int value);

    boolean compareAndSetLong(int ptr, long expected, long value);

    /**
     * Atomically sets the int at {@code ptr} to {@code value} if it is {@code expected}, with
     * volatile semantics.
     *
     * @return the witness: the value read, which equals {@code expected} if and only if the
     * exchange happened (the lenient view, off ALLOCATED pages, drops the exchange and returns a
     * witness that is never {@code expected}: 0, or -1 when {@code expected} is 0)
     */
    int compareAndExchangeInt(int ptr, int expected, int value);

    /** As {@link #compareAndExchangeInt}, at 64 bits. */
    long compareAndExchangeLong(int ptr, long expected, long value);

    /** Atomically sets the int at {@code ptr} to {@code value}. @return the previous value */
    int getAndSetInt(int ptr, int value);

    /** Atomically sets the long at {@code ptr} to {@code value}. @return the previous value */
    long getAndSetLong(int ptr, long value);

    int getAndAddInt(int ptr, int delta);

    long getAndAddLong(int ptr, long delta);

    int getAndBitwiseOrInt(int ptr, int mask);

    int getAndBitwiseAndInt(int ptr, int mask);

    int getAndBitwiseXorInt(int ptr, int mask);

    long getAndBitwiseOrLong(int ptr, long mask);

    long getAndBitwiseAndLong(int ptr, long mask);

    long getAndBitwiseXorLong(int ptr, long mask);

    /** Copies {@code length} bytes at {@code ptr} into {@code dst[dstOffset ..]}. */
    void getBytes(int ptr, byte[] dst, int dstOffset, int length);

    /** Copies {@code src[srcOffset .. srcOffset + length)} to {@code ptr}. */
    void putBytes(int ptr, byte[] src, int srcOffset, int length);

    /** Copies {@code length} bytes at {@code ptr} into {@code dst} at {@code dstOffset}. */
    void copyTo(int ptr, MemorySegment dst, long dstOffset, long length);

    /** Copies {@code length} bytes of {@code src} at {@code srcOffset} to {@code ptr}. */
    void copyFrom(MemorySegment src, long srcOffset, int ptr, long length);

    /** Sets {@code length} bytes at {@code ptr} to {@code value}. */
    void fill(int ptr, long length, byte value);
}
