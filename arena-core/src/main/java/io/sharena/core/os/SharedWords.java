package io.sharena.core.os;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Atomics on words of a mapped file that another process may shrink under the mapping.
 *
 * <p>Touching a page the file no longer has raises SIGBUS. HotSpot turns that into an
 * {@link InternalError} for loads and stores, but its out-of-line compare-and-set (what an
 * interpreted caller reaches) is not guarded and would crash the JVM. So every atomic here starts
 * with a volatile load of its word, which takes the fault safely, and uses the loaded value (or the
 * JIT drops the load): a compare-and-set fails at once when the word already differs (a failed
 * strong CAS is linearized at that load), and a get-and-add first tries a CAS from the loaded value,
 * which is the whole operation when the word is not contended. A truncation landing between the
 * load and the atomic is not covered; it takes another process shrinking a live arena file.
 */
public final class SharedWords {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private SharedWords() {
    }

    public static boolean casLong(final MemorySegment s, final long offset, final long expected, final long value) {
        return (long) LONG.getVolatile(s, offset) == expected && LONG.compareAndSet(s, offset, expected, value);
    }

    public static boolean casInt(final MemorySegment s, final long offset, final int expected, final int value) {
        return (int) INT.getVolatile(s, offset) == expected && INT.compareAndSet(s, offset, expected, value);
    }

    public static long getAndAddLong(final MemorySegment s, final long offset, final long delta) {
        final long seen = (long) LONG.getVolatile(s, offset);
        if (LONG.weakCompareAndSet(s, offset, seen, seen + delta)) {
            return seen;
        }
        return (long) LONG.getAndAdd(s, offset, delta);
    }

    public static int getAndAddInt(final MemorySegment s, final long offset, final int delta) {
        final int seen = (int) INT.getVolatile(s, offset);
        if (INT.weakCompareAndSet(s, offset, seen, seen + delta)) {
            return seen;
        }
        return (int) INT.getAndAdd(s, offset, delta);
    }

    public static long getAndBitwiseLong(final MemorySegment s, final long offset, final long mask, final int op) {
        final long seen = (long) LONG.getVolatile(s, offset);
        final long next = switch (op) {
            case OR -> seen | mask;
            case AND -> seen & mask;
            default -> seen ^ mask;
        };
        if (LONG.weakCompareAndSet(s, offset, seen, next)) {
            return seen;
        }
        return switch (op) {
            case OR -> (long) LONG.getAndBitwiseOr(s, offset, mask);
            case AND -> (long) LONG.getAndBitwiseAnd(s, offset, mask);
            default -> (long) LONG.getAndBitwiseXor(s, offset, mask);
        };
    }

    public static int getAndBitwiseInt(final MemorySegment s, final long offset, final int mask, final int op) {
        final int seen = (int) INT.getVolatile(s, offset);
        final int next = switch (op) {
            case OR -> seen | mask;
            case AND -> seen & mask;
            default -> seen ^ mask;
        };
        if (INT.weakCompareAndSet(s, offset, seen, next)) {
            return seen;
        }
        return switch (op) {
            case OR -> (int) INT.getAndBitwiseOr(s, offset, mask);
            case AND -> (int) INT.getAndBitwiseAnd(s, offset, mask);
            default -> (int) INT.getAndBitwiseXor(s, offset, mask);
        };
    }

    public static final int OR = 0;
    public static final int AND = 1;
    public static final int XOR = 2;
}
