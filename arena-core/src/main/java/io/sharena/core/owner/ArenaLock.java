package io.sharena.core.owner;

import io.sharena.core.crash.CrashPoints;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The allocator's cross-process lock, at {@link ControlLayout#LOCK_WORD}: a
 * {@link CrossProcessLock} that counts its acquisitions, contention and timeouts in the control
 * page and, when taken over from a dead holder, flags the allocator for repair
 * ({@link ControlLayout#REPAIR_PENDING}), so that whoever took it over (the allocator, named roots,
 * a tool) the allocator repairs before it goes on.
 *
 * <p>It guards the allocator's metadata only. Users' critical sections take a {@link io.sharena.core.lock.SharedLock}
 * of their own.
 *
 * <p>An instance belongs to one attachment (one registry slot); its methods may be called from any
 * thread of that process.
 */
public final class ArenaLock extends CrossProcessLock {

    private final long acquisitions;
    private final long contendedCount;
    private final long timeouts;

    public ArenaLock(final MemorySegment arena, final Ownership ownership) {
        super(arena, ControlLayout.word(ControlLayout.LOCK_WORD), ownership);
        this.acquisitions = ControlLayout.counter(ControlLayout.C_LOCK_ACQUISITIONS);
        this.contendedCount = ControlLayout.counter(ControlLayout.C_LOCK_CONTENDED);
        this.timeouts = ControlLayout.counter(ControlLayout.C_LOCK_TIMEOUTS);
    }

    /**
     * Called once by a new attachment, before it first locks. A lock word naming this attachment
     * (its slot and the generation it has just claimed) cannot be a holder's: nobody has locked
     * with that generation yet. It is a stray write which, left alone, would make the thread it
     * names see DEADLOCK ("held already") and keep the lock for as long as this process lives,
     * while every other thread and process waits. It is cleared by CAS from exactly that word, and
     * the allocator is marked for repair, since the word it overwrote may have been a dead
     * holder's in the middle of an operation. The mark comes first: killed between the two, this
     * process leaves the word naming itself, dead, so the next waiter takes the lock over and
     * repairs (marked the other way round, the repair would be lost).
     *
     * @return whether such a word was found and cleared
     */
    public boolean clearStrayOwnToken() {
        final long current = ownerWord();
        if (current == 0 || !ownership.isMine(current)) {
            return false;
        }
        // A mark with no word cleared after all (another process changed it meanwhile) costs one repair.
        markTakenOver();
        CrashPoints.at(LockPoint.STRAY_TOKEN_MARKED);
        return SharedWords.casLong(segment, word, current, 0L);
    }

    /** One compare-and-set, no waiting and no liveness check: the free path's attempt. */
    public boolean tryAcquireFast() {
        if (SharedWords.casLong(segment, word, 0L, ownership.mine())) {
            acquired();
            return true;
        }
        return false;
    }

    /**
     * Plain read and write: only the holder, right after taking the lock, changes this counter, and
     * the lock's CAS and release store order it between holders.
     */
    @Override
    void acquired() {
        segment.set(ValueLayout.JAVA_LONG, acquisitions, segment.get(ValueLayout.JAVA_LONG, acquisitions) + 1);
    }

    @Override
    void contended() {
        SharedWords.getAndAddLong(segment, contendedCount, 1L);
    }

    @Override
    void timedOut() {
        SharedWords.getAndAddLong(segment, timeouts, 1L);
    }

    /** Whatever this caller does next, the allocator must repair before it goes on. */
    @Override
    void recovered() {
        markTakenOver();
    }

    /**
     * Sets bit 0 of {@link ControlLayout#REPAIR_PENDING} (a takeover) by OR, through
     * {@link SharedWords} (an atomic on a file cut under the mapping faults as an exception there): a
     * corruption mark (bit 1) set meanwhile stays, and a repair running now clears only the bits it
     * read when it began.
     */
    private void markTakenOver() {
        SharedWords.getAndBitwiseLong(segment, ControlLayout.word(ControlLayout.REPAIR_PENDING), 1L, SharedWords.OR);
    }

    @Override
    String describe() {
        return "allocator lock";
    }
}
