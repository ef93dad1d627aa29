package io.sharena.core.owner;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

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
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final long acquisitions;
    private final long contendedCount;
    private final long timeouts;

    public ArenaLock(final MemorySegment arena, final Ownership ownership) {
        super(arena, ControlLayout.word(ControlLayout.LOCK_WORD), ownership);
        this.acquisitions = ControlLayout.counter(ControlLayout.C_LOCK_ACQUISITIONS);
        this.contendedCount = ControlLayout.counter(ControlLayout.C_LOCK_CONTENDED);
        this.timeouts = ControlLayout.counter(ControlLayout.C_LOCK_TIMEOUTS);
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
        LONG.setRelease(segment, ControlLayout.word(ControlLayout.REPAIR_PENDING), 1L);
    }

    @Override
    String describe() {
        return "allocator lock";
    }
}
