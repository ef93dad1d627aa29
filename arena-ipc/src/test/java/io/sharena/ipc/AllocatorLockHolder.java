package io.sharena.ipc;

import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.owner.ArenaLock;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Another thread holding an arena's allocator lock, as a busy or stopped process would: every
 * locked path of the allocator in other threads finds it busy meanwhile. Released on request
 * ({@link #release()}, {@link #close()}) or after the time given to {@link #hold}.
 */
final class AllocatorLockHolder implements AutoCloseable {
    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread thread;

    /** Holds it until released. */
    AllocatorLockHolder(final SharedArena arena) throws InterruptedException {
        this(arena, Long.MAX_VALUE / 2_000_000L);
    }

    private AllocatorLockHolder(final SharedArena arena, final long millis) throws InterruptedException {
        final CountDownLatch held = new CountDownLatch(1);
        thread = new Thread(() -> {
            final ArenaLock lock = ArenaInternals.lock(arena);
            lock.lock(10_000_000_000L);
            held.countDown();
            try {
                done.await(millis, TimeUnit.MILLISECONDS);
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                lock.unlock();
            }
        }, "allocator-lock-holder");
        thread.start();
        if (!held.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the allocator's lock was not taken");
        }
    }

    /** @return a holder that lets the lock go after {@code millis} at the latest */
    static AllocatorLockHolder hold(final SharedArena arena, final long millis) throws InterruptedException {
        return new AllocatorLockHolder(arena, millis);
    }

    /** Lets the lock go and waits for the thread to end. */
    void release() throws InterruptedException {
        done.countDown();
        thread.join(10_000);
    }

    @Override
    public void close() throws InterruptedException {
        release();
    }
}
