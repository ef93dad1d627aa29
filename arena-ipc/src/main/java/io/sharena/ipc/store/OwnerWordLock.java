package io.sharena.ipc.store;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.ProcessIdentity;
import io.sharena.core.lock.ProcessRegistry;
import io.sharena.ipc.layout.StoreLockWord;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.TimeUnit;

/**
 * A {@link StoreLock} on a {@link StoreLockWord}: compare-and-set from 0 to the caller's word,
 * release store of 0 to unlock. While waiting it checks the owner's liveness (after 50 µs, then
 * every millisecond) against the arena's process registry; a dead owner's word is replaced by the
 * caller's with one compare-and-set, so among several waiters exactly one takes over. A stopped
 * process is alive and keeps the lock: waiters time out.
 */
final class OwnerWordLock implements StoreLock {
    private static final long LIVENESS_DELAY_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    private static final long LIVENESS_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long SELF_PID = ProcessIdentity.selfPid();
    private static final ThreadLocal<IdleStrategy> IDLE = ThreadLocal.withInitial(
        () -> new BackoffIdleStrategy(64, 64, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100)));

    private final ArenaView view;
    private final ProcessRegistry registry;
    private final int word;
    private final int slot;

    OwnerWordLock(final SharedArena arena, final int word) {
        this.view = arena.raw();
        this.registry = arena.registry();
        this.word = word;
        this.slot = arena.slot();
    }

    private long mine() {
        return StoreLockWord.encode(slot, SELF_PID, Thread.currentThread().threadId());
    }

    @Override
    public LockResult lock(final long timeoutNanos) {
        final long mine = mine();
        if (view.compareAndSetLong(word, 0L, mine)) {
            return LockResult.ACQUIRED;
        }
        final long start = System.nanoTime();
        long nextCheck = start + LIVENESS_DELAY_NANOS;
        IdleStrategy idle = null;
        while (true) {
            final long current = view.getLongVolatile(word);
            if (current == 0) {
                if (view.compareAndSetLong(word, 0L, mine)) {
                    return LockResult.ACQUIRED;
                }
                continue;
            }
            if (current == mine) {
                return LockResult.DEADLOCK;
            }
            final long now = System.nanoTime();
            if (now - nextCheck >= 0) {
                if (!ownerAlive(current)) {
                    // Only one waiter's compare-and-set from the dead owner's word wins.
                    if (view.compareAndSetLong(word, current, mine)) {
                        return LockResult.RECOVERED;
                    }
                    continue;
                }
                nextCheck = now + LIVENESS_PERIOD_NANOS;
            }
            if (now - start >= timeoutNanos) {
                return LockResult.TIMEOUT;
            }
            if (idle == null) {
                idle = IDLE.get();
                idle.reset();
            }
            idle.idle();
        }
    }

    private boolean ownerAlive(final long owner) {
        return alive(registry, StoreLockWord.slot(owner), StoreLockWord.pid(owner), StoreLockWord.PID_BITS);
    }

    /**
     * @return whether the process {@code pid} (its low {@code pidBits} bits) is registered in
     * {@code slot} and alive: a released or reused slot means the owner is gone
     */
    static boolean alive(final ProcessRegistry registry, final int slot, final long pid, final int pidBits) {
        if (slot < 0 || slot >= io.sharena.core.layout.RegistryLayout.SLOTS) {
            return false;
        }
        final long mask = pidBits >= 64 ? -1L : (1L << pidBits) - 1;
        return (registry.pid(slot) & mask) == (pid & mask) && registry.isAlive(slot);
    }

    @Override
    public void unlock() {
        final long current = view.getLongVolatile(word);
        if (current != mine()) {
            throw new IllegalMonitorStateException("store lock not held by this thread: ptr=0x"
                + Integer.toHexString(word) + ", lockWord=0x" + Long.toHexString(current));
        }
        // Publishes every write made while holding the lock.
        view.putLongRelease(word, 0L);
    }
}
