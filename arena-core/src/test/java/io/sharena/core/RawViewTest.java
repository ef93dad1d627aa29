package io.sharena.core;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RawViewTest {
    @TempDir
    Path dir;
    SharedArena arena;
    ArenaView view;
    int p;

    @BeforeEach
    void open() throws IOException {
        arena = TestArenas.create(dir, "1M");
        view = arena.raw();
        p = TestArenas.firstUserPointer(arena);
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    @Test
    void plainAccessesAreVisibleThroughTheSegmentAtThePointerOffset() {
        view.putByte(p, (byte) -2);
        view.putShort(p + 2, (short) 0x1234);
        view.putInt(p + 4, 0xDEADBEEF);
        view.putLong(p + 8, 0x0102030405060708L);
        final MemorySegment s = arena.segment();
        assertEquals((byte) -2, s.get(ValueLayout.JAVA_BYTE, p));
        assertEquals((short) 0x1234, s.get(ValueLayout.JAVA_SHORT, p + 2));
        assertEquals(0xDEADBEEF, s.get(ValueLayout.JAVA_INT, p + 4));
        assertEquals(0x0102030405060708L, s.get(ValueLayout.JAVA_LONG, p + 8));
        assertEquals((byte) -2, view.getByte(p));
        assertEquals((short) 0x1234, view.getShort(p + 2));
        assertEquals(0xDEADBEEF, view.getInt(p + 4));
        assertEquals(0x0102030405060708L, view.getLong(p + 8));
        assertEquals(arena.base() + p, arena.address(p));
        assertEquals(p, arena.pointer(arena.address(p)));
    }

    @Test
    void plainAccessesMayBeUnalignedOrderedOnesMayNot() {
        view.putLong(p + 3, -1L);
        assertEquals(-1L, view.getLong(p + 3));
        view.putInt(p + 13, 99);
        assertEquals(99, view.getInt(p + 13));
        assertThrows(IllegalArgumentException.class, () -> view.getLongAcquire(p + 3));
        assertThrows(IllegalArgumentException.class, () -> view.compareAndSetInt(p + 1, 0, 1));
    }

    @Test
    void orderedAccessors() {
        view.putIntRelease(p, 1);
        assertEquals(1, view.getIntAcquire(p));
        view.putIntVolatile(p, 2);
        assertEquals(2, view.getIntVolatile(p));
        view.putLongRelease(p + 8, 3);
        assertEquals(3, view.getLongAcquire(p + 8));
        view.putLongVolatile(p + 8, 4);
        assertEquals(4, view.getLongVolatile(p + 8));
    }

    @Test
    void orderedAccessorsAt8And16BitsAreSeenThroughTheSegment() {
        view.putByteRelease(p + 1, (byte) 0x7F);
        view.putShortVolatile(p + 2, (short) 0x1234);
        assertEquals(0x7F, arena.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 1));
        assertEquals(0x1234, view.getShortAcquire(p + 2));
        assertEquals(0x7F, view.getByteVolatile(p + 1));
        view.putShortRelease(p + 2, (short) -1);
        view.putByteVolatile(p + 1, (byte) 0);
        assertEquals(0xFFFF_0000, view.getInt(p) & 0xFFFF_FF00);
        assertThrows(IllegalArgumentException.class, () -> view.putShortRelease(p + 1, (short) 1));
        assertThrows(IllegalArgumentException.class, () -> view.getShortVolatile(p + 3));
    }

    @Test
    void exchangeReturnsTheWitnessAndSwapThePreviousValue() {
        view.putInt(p, 10);
        assertEquals(10, view.compareAndExchangeInt(p, 10, 20));
        assertEquals(20, view.compareAndExchangeInt(p, 10, 30));
        assertEquals(20, view.getAndSetInt(p, 40));
        assertEquals(40, view.getInt(p));
        view.putLong(p + 8, Long.MIN_VALUE);
        assertEquals(Long.MIN_VALUE, view.compareAndExchangeLong(p + 8, Long.MIN_VALUE, 1));
        assertEquals(1, view.compareAndExchangeLong(p + 8, 2, 3));
        assertEquals(1, view.getAndSetLong(p + 8, Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE, view.getLong(p + 8));
        final int end = (int) arena.capacityBytes();
        assertThrows(IndexOutOfBoundsException.class, () -> view.getAndSetLong(end, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> view.compareAndExchangeInt(end, 0, 1));
    }

    @Test
    void swapsFromManyThreadsHandEachValueOnExactlyOnce() throws InterruptedException {
        // Each thread swaps its own values in; every value must come out exactly once.
        final int threads = 4;
        final int perThread = 50_000;
        view.putLong(p, -1);
        final java.util.concurrent.ConcurrentHashMap<Long, Boolean> seen = new java.util.concurrent.ConcurrentHashMap<>();
        final Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            final long base = (long) t * perThread;
            ts[t] = new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    final long old = view.getAndSetLong(p, base + i);
                    if (seen.put(old, Boolean.TRUE) != null) {
                        throw new AssertionError("value handed out twice: " + old);
                    }
                }
            });
            ts[t].start();
        }
        for (final Thread t : ts) {
            t.join();
        }
        final long last = view.getLongVolatile(p);
        assertFalse(seen.containsKey(last));
        assertEquals((long) threads * perThread, seen.size(), "every value but the last came out once, and -1");
    }

    @Test
    void atomics32() {
        view.putInt(p, 10);
        assertFalse(view.compareAndSetInt(p, 11, 12));
        assertTrue(view.compareAndSetInt(p, 10, 12));
        assertEquals(12, view.getAndAddInt(p, 5));
        assertEquals(17, view.getAndBitwiseOrInt(p, 0x100));
        assertEquals(0x111, view.getAndBitwiseAndInt(p, 0x0F0));
        assertEquals(0x010, view.getAndBitwiseXorInt(p, 0x011));
        assertEquals(0x001, view.getInt(p));
    }

    @Test
    void atomics64() {
        view.putLong(p, 1L << 40);
        assertFalse(view.compareAndSetLong(p, 0, 1));
        assertTrue(view.compareAndSetLong(p, 1L << 40, 5));
        assertEquals(5, view.getAndAddLong(p, -7));
        assertEquals(-2, view.getAndBitwiseAndLong(p, 0xFFL));
        assertEquals(0xFE, view.getAndBitwiseOrLong(p, 1L << 62));
        assertEquals((1L << 62) | 0xFE, view.getAndBitwiseXorLong(p, 0xFE));
        assertEquals(1L << 62, view.getLong(p));
    }

    @Test
    void byteRangesAndSegments() {
        final byte[] src = new byte[300];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) i;
        }
        view.putBytes(p + 1, src, 0, src.length);
        final byte[] dst = new byte[300];
        view.getBytes(p + 1, dst, 0, dst.length);
        assertArrayEquals(src, dst);
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment heap = a.allocate(300);
            view.copyTo(p + 1, heap, 0, 300);
            assertArrayEquals(src, heap.toArray(ValueLayout.JAVA_BYTE));
            heap.fill((byte) 7);
            view.copyFrom(heap, 0, p + 4096, 300);
        }
        assertEquals(7, view.getByte(p + 4096 + 299));
        view.fill(p + 4096, 300, (byte) 0);
        assertEquals(0, view.getByte(p + 4096 + 299));
    }

    @Test
    void anyPointerPastTheEndThrowsAndNeverCrashes() {
        final long capacity = arena.capacityBytes();
        final int[] bad = {(int) capacity, (int) capacity - 7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF8, -4096};
        for (final int ptr : bad) {
            assertThrows(IndexOutOfBoundsException.class, () -> view.getLong(ptr), ArenaPointers.toHex(ptr));
            assertThrows(IndexOutOfBoundsException.class, () -> view.putLong(ptr, 1), ArenaPointers.toHex(ptr));
            if (Integer.toUnsignedLong(ptr & ~7) >= capacity) {
                assertThrows(IndexOutOfBoundsException.class, () -> view.getAndAddLong(ptr & ~7, 1), ArenaPointers.toHex(ptr));
            }
            assertThrows(IndexOutOfBoundsException.class,
                () -> view.getBytes(ptr, new byte[16], 0, 16), ArenaPointers.toHex(ptr));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> view.getBytes((int) capacity - 8, new byte[16], 0, 16));
        assertThrows(IndexOutOfBoundsException.class, () -> view.fill((int) capacity - 8, 16, (byte) 1));
        // The last valid word is fine.
        view.putLong((int) capacity - 8, 1);
        assertEquals(1, view.getLong((int) capacity - 8));
    }

    @Test
    void getAndAddFromManyThreadsEndsAtTheTotal() throws InterruptedException {
        final int threads = 4;
        final int perThread = 100_000;
        final CountDownLatch start = new CountDownLatch(1);
        final Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> {
                try {
                    start.await();
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    view.getAndAddLong(p, 1);
                    view.getAndAddInt(p + 8, 1);
                }
            });
            workers[t].start();
        }
        start.countDown();
        for (final Thread w : workers) {
            w.join();
        }
        assertEquals((long) threads * perThread, view.getLongVolatile(p));
        assertEquals(threads * perThread, view.getIntVolatile(p + 8));
    }
}
