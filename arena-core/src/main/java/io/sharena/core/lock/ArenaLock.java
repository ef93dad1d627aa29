package io.sharena.core.lock;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.LockWord;
import io.sharena.core.os.SharedWords;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * The allocator's cross-process trylock: a {@link LockWord} in shared memory, taken by
 * compare-and-set from 0 to the owner's {@link Ownership token} (registry slot, generation and
 * thread), released by a release store of 0.
 *
 * <p>Waiting spins, yields, then parks with Agrona's {@link BackoffIdleStrategy}, always bounded by
 * the caller's timeout. While waiting, the owner's liveness is checked (first after
 * {@link #LIVENESS_DELAY_NANOS}, then every {@link #LIVENESS_PERIOD_NANOS}): if the owner's process
 * no longer exists, its pid now belongs to a process that started at another time, or its registry
 * slot has changed hands since, the waiter takes the lock over with a compare-and-set from the dead
 * owner's word and gets
 * {@link LockResult#RECOVERED}; one waiter wins, the others keep waiting. A stopped or GC-paused
 * owner is alive and keeps the lock. No heartbeat, no lease.
 *
 * <p>An instance belongs to one attachment (one registry slot); its methods may be called from any
 * thread of that process.
 */
public final class ArenaLock {
    public static final long LIVENESS_DELAY_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    public static final long LIVENESS_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final ThreadLocal<IdleStrategy> IDLE = ThreadLocal.withInitial(
        () -> new BackoffIdleStrategy(64, 64, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100)));

    private final MemorySegment arena;
    private final long word;
    private final Ownership ownership;
    private final long acquisitions;
    private final long contended;
    private final long timeouts;

    public ArenaLock(final MemorySegment arena, final Ownership ownership) {
        this.arena = arena;
        this.word = ControlLayout.word(ControlLayout.LOCK_WORD);
        this.ownership = ownership;
        this.acquisitions = ControlLayout.counter(ControlLayout.C_LOCK_ACQUISITIONS);
        this.contended = ControlLayout.counter(ControlLayout.C_LOCK_CONTENDED);
        this.timeouts = ControlLayout.counter(ControlLayout.C_LOCK_TIMEOUTS);
    }

    private long mine() {
        return ownership.mine();
    }

    /** One compare-and-set, no waiting and no liveness check: the free path's attempt. */
    public boolean tryAcquireFast() {
        if (SharedWords.casLong(arena, word, 0L, mine())) {
            countAcquisition();
            return true;
        }
        return false;
    }

    /**
     * Plain read and write: only the holder, right after taking the lock, changes this counter, and
     * the lock's CAS and release store order it between holders.
     */
    private void countAcquisition() {
        arena.set(ValueLayout.JAVA_LONG, acquisitions, arena.get(ValueLayout.JAVA_LONG, acquisitions) + 1);
    }

    /** Tries once; checks the owner's liveness if the lock is held. Never waits. */
    public LockResult tryLock() {
        return lock(0);
    }

    /**
     * Takes the lock within {@code timeoutNanos}.
     *
     * @return ACQUIRED, RECOVERED (the caller must repair), DEADLOCK or TIMEOUT
     */
    public LockResult lock(final long timeoutNanos) {
        final long mine = mine();
        final long start = System.nanoTime();
        long nextCheck = start + (timeoutNanos == 0 ? 0 : LIVENESS_DELAY_NANOS);
        boolean counted = false;
        IdleStrategy idle = null;
        while (true) {
            final long current = (long) LONG.getVolatile(arena, word);
            if (current == 0) {
                if (SharedWords.casLong(arena, word, 0L, mine)) {
                    countAcquisition();
                    return LockResult.ACQUIRED;
                }
                continue;
            }
            if (current == mine) {
                return LockResult.DEADLOCK;
            }
            if (!counted) {
                SharedWords.getAndAddLong(arena, contended, 1L);
                counted = true;
            }
            final long now = System.nanoTime();
            if (now - nextCheck >= 0) {
                if (!ownership.isAlive(current)) {
                    CrashPoints.at(LockPoint.LOCK_TAKEOVER);
                    // The owner died holding the lock. Only one waiter's CAS from its word wins.
                    if (SharedWords.casLong(arena, word, current, mine)) {
                        countAcquisition();
                        CrashPoints.at(LockPoint.LOCK_TAKEN_OVER);
                        // Whatever this caller does next, the allocator must repair before it goes on.
                        LONG.setRelease(arena, ControlLayout.word(ControlLayout.REPAIR_PENDING), 1L);
                        return LockResult.RECOVERED;
                    }
                    continue;
                }
                nextCheck = now + LIVENESS_PERIOD_NANOS;
            }
            if (now - start >= timeoutNanos) {
                SharedWords.getAndAddLong(arena, timeouts, 1L);
                return LockResult.TIMEOUT;
            }
            if (idle == null) {
                idle = IDLE.get();
                idle.reset();
            }
            idle.idle();
        }
    }

    /**
     * Releases the lock: a release store of 0, which publishes every write made while holding it.
     * The owner check before it is a plain-cost volatile load: only the owner can have put its own
     * identity in the word, and nobody else changes a word that names a live owner.
     */
    public void unlock() {
        final long mine = mine();
        final long current = (long) LONG.getVolatile(arena, word);
        if (current != mine) {
            throw new IllegalMonitorStateException("allocator lock not held by this thread: lockWord=0x"
                + Long.toHexString(current) + ", mine=0x" + Long.toHexString(mine));
        }
        LONG.setRelease(arena, word, 0L);
    }

    /** @return whether the calling thread holds the lock through this attachment */
    public boolean isHeldByCurrentThread() {
        return (long) LONG.getVolatile(arena, word) == mine();
    }

    /** @return the raw lock word: 0, or the owner's {@link LockWord} */
    public long ownerWord() {
        return (long) LONG.getVolatile(arena, word);
    }
}
