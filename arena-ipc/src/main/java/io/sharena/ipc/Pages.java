package io.sharena.ipc;

import io.sharena.core.SharedArena;

import java.util.concurrent.locks.LockSupport;

/**
 * Page allocation for setup paths (creating a directory, a heap, a channel), which may wait a
 * little: {@link SharedArena#allocPages} fails fast when the allocator lock is busy past its bound,
 * which on a loaded machine (another process repairing the arena after a kill, say) is not the same
 * as having no room.
 */
public final class Pages {
    /** How long setup paths retry before they report that the arena has no room. */
    public static final long SETUP_TIMEOUT_NANOS = 2_000_000_000L;

    private Pages() {
    }

    /**
     * @return the pointer of {@code n} pages, retrying every 100 µs for up to {@code timeoutNanos};
     * 0 if none could be had
     */
    public static int allocate(final SharedArena arena, final int n, final long timeoutNanos) {
        final long start = System.nanoTime();
        int ptr;
        while ((ptr = arena.allocPages(n)) == 0 && System.nanoTime() - start < timeoutNanos) {
            LockSupport.parkNanos(100_000);
        }
        return ptr;
    }
}
