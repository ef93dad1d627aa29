package io.sharena.core;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Another thread of this process holds the arena's allocator lock from {@link #hold} until
 * {@link #close}: every free meanwhile finds the lock busy and is deferred onto the pending list.
 */
final class LockHolder implements AutoCloseable {
    private final CountDownLatch release = new CountDownLatch(1);
    private final Thread thread;

    private LockHolder(final SharedArena arena, final CountDownLatch locked) {
        this.thread = Thread.ofPlatform().start(() -> {
            arena.lock().lock(TimeUnit.SECONDS.toNanos(10));
            locked.countDown();
            try {
                release.await();
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            arena.lock().unlock();
        });
    }

    /** @return a holder that has taken the lock (waits up to 10 s for it) */
    static LockHolder hold(final SharedArena arena) throws InterruptedException {
        final CountDownLatch locked = new CountDownLatch(1);
        final LockHolder holder = new LockHolder(arena, locked);
        if (!locked.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("the holder did not get the allocator lock within 10 s");
        }
        return holder;
    }

    /** Unlocks and waits for the holder thread to end. */
    @Override
    public void close() throws InterruptedException {
        release.countDown();
        thread.join();
    }
}
