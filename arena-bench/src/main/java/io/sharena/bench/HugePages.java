package io.sharena.bench;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code madvise(MADV_HUGEPAGE)} for a benchmark's own memory, so that a floor measured beside a
 * store that maps its region with 2 MiB pages ({@code StoreOptions.hugePages}) runs on pages of the
 * same size.
 */
final class HugePages {
    private static final int MADV_HUGEPAGE = 14;
    private static final long BLOCK = 2L << 20;
    private static final MethodHandle MADVISE = Linker.nativeLinker().downcallHandle(
        Linker.nativeLinker().defaultLookup().find("madvise").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private HugePages() {
    }

    /**
     * Advises 2 MiB pages for the whole 2 MiB blocks of {@code s}; call before its pages are first
     * touched.
     *
     * @return whether the kernel took the advice
     */
    static boolean advise(final MemorySegment s) {
        final long start = (s.address() + BLOCK - 1) & -BLOCK;
        final long end = (s.address() + s.byteSize()) & -BLOCK;
        if (end <= start) {
            return false;
        }
        try {
            return (int) MADVISE.invokeExact(start, end - start, MADV_HUGEPAGE) == 0;
        } catch (final Throwable e) {
            throw new IllegalStateException("madvise failed", e);
        }
    }
}
