package io.sharena.core.owner;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.LockWord;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.lock.LockResult;
import io.sharena.core.os.SharedWords;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * A trylock on one {@link LockWord} in shared memory, held by a thread of an attachment: the one
 * implementation behind the allocator's lock ({@link ArenaLock}) and users' locks
 * ({@link UserLock}).
 *
 * <p>Taken by a compare-and-set from 0 to the caller's {@link Ownership#mine() token}; released by
 * a release store of 0, which publishes every write made while holding it. The calling thread's
 * own token in the word means it already holds the lock: {@link LockResult#DEADLOCK} at once, as
 * the kernel's rqspinlock reports an AA deadlock, rather than waiting on itself.
 *
 * <p>Waiting spins, yields, then parks with Agrona's {@link BackoffIdleStrategy}, always bounded by
 * the caller's timeout. While waiting, the holder's liveness is checked (first after
 * {@link #LIVENESS_DELAY_NANOS}, then every {@link #LIVENESS_PERIOD_NANOS}): if the holder's
 * process has died, or its registry slot has changed hands since it took the lock, the waiter
 * {@link Ownership#takeOver takes the word over} with one compare-and-set from the dead holder's
 * token and gets {@link LockResult#RECOVERED} (so does a word holding a whole process's token,
 * thread 0, which no lock holder has: a stray write): whatever the lock guards may be half-changed and
 * the caller must repair it. One waiter wins; the others keep waiting. A stopped or GC-paused
 * holder is alive and keeps the lock: no heartbeat, no lease. A dead token never names a live
 * holder again (its slot's generation has moved on), so a waiter that stalls between reading it
 * and its compare-and-set cannot take the lock from a later, live holder.
 */
public abstract sealed class CrossProcessLock permits ArenaLock, UserLock {
    public static final long LIVENESS_DELAY_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    public static final long LIVENESS_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final ThreadLocal<IdleStrategy> IDLE = ThreadLocal.withInitial(
        () -> new BackoffIdleStrategy(64, 64, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100)));

    final MemorySegment segment;
    final long word;
    final Ownership ownership;

    CrossProcessLock(final MemorySegment segment, final long word, final Ownership ownership) {
        this.segment = segment;
        this.word = word;
        this.ownership = ownership;
    }

    /** Called right after the lock was taken, by its new holder. */
    void acquired() {
    }

    /** Called once per {@link #lock} call that finds the lock held by someone else. */
    void contended() {
    }

    /** Called when a {@link #lock} call gives up. */
    void timedOut() {
    }

    /** Called right after the lock was taken over from a dead holder, before RECOVERED is returned. */
    void recovered() {
    }

    /** Tries once; checks the holder's liveness if the lock is held. Never waits. */
    public final LockResult tryLock() {
        return lock(0);
    }

    /**
     * Takes the lock within {@code timeoutNanos} (0 or less: try once).
     *
     * @return ACQUIRED; RECOVERED (taken over from a dead holder: the caller must repair what the
     * lock guards, then unlock); DEADLOCK (the calling thread already holds it: nothing changed,
     * do not unlock for this call); or TIMEOUT
     */
    public final LockResult lock(final long timeoutNanos) {
        final long mine = ownership.mine();
        final long start = System.nanoTime();
        // A timeout of 0 or less tries once, the holder's liveness checked at once: a negative one
        // (a deadline already past) must not skip the check that finds a dead holder.
        long nextCheck = start + (timeoutNanos <= 0 ? 0 : LIVENESS_DELAY_NANOS);
        boolean counted = false;
        IdleStrategy idle = null;
        while (true) {
            final long current = (long) LONG.getVolatile(segment, word);
            if (current == LockWord.UNLOCKED) {
                if (SharedWords.casLong(segment, word, LockWord.UNLOCKED, mine)) {
                    acquired();
                    return LockResult.ACQUIRED;
                }
                continue;
            }
            if (current == mine) {
                return LockResult.DEADLOCK;
            }
            if (!counted) {
                contended();
                counted = true;
            }
            final long now = System.nanoTime();
            if (now - nextCheck >= 0) {
                if (!ownership.isAlive(current) || OwnerToken.thread(current) == 0) {
                    // A process's token (thread 0) names no holder either: locks are held by
                    // threads, so only a stray write puts one here (a bit flipped in a free word
                    // gives the first attachment's), and it would look alive as long as that
                    // process lives.
                    CrashPoints.at(LockPoint.LOCK_TAKEOVER);
                    // Only one waiter's CAS from the dead token wins; the word can hold that token
                    // again only if its holder's slot returns to the same generation, which it
                    // never does while the token could be in use.
                    if (SharedWords.casLong(segment, word, current, mine)) {
                        acquired();
                        CrashPoints.at(LockPoint.LOCK_TAKEN_OVER);
                        recovered();
                        return LockResult.RECOVERED;
                    }
                    continue;
                }
                nextCheck = now + LIVENESS_PERIOD_NANOS;
            }
            if (now - start >= timeoutNanos) {
                timedOut();
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
     * The holder check before it costs one volatile load: only the holder can have put its own
     * token in the word, and nobody else changes a word that names a live holder.
     *
     * @throws IllegalMonitorStateException if the calling thread does not hold the lock
     */
    public final void unlock() {
        final long mine = ownership.mine();
        final long current = (long) LONG.getVolatile(segment, word);
        if (current != mine) {
            throw new IllegalMonitorStateException(describe() + " not held by this thread: lockWord=0x"
                + Long.toHexString(current) + ", mine=0x" + Long.toHexString(mine));
        }
        LONG.setRelease(segment, word, LockWord.UNLOCKED);
    }

    /** @return whether the calling thread holds the lock through this attachment */
    public final boolean isHeldByCurrentThread() {
        return (long) LONG.getVolatile(segment, word) == ownership.mine();
    }

    /** @return the lock word: 0, or the holder's {@link io.sharena.core.layout.OwnerToken} */
    public final long ownerWord() {
        return (long) LONG.getVolatile(segment, word);
    }

    /** @return whether the lock is held by a live holder (read without taking it) */
    public final boolean isLocked() {
        final long current = ownerWord();
        return current != LockWord.UNLOCKED && OwnerToken.thread(current) != 0 && ownership.isAlive(current);
    }

    /** @return a short name for messages */
    abstract String describe();
}
