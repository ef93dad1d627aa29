package io.sharena.core.lock;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The arena's process registry ({@link RegistryLayout}): which processes have the arena open, and
 * whether they still live.
 *
 * <p>Claiming a slot is one compare-and-set of its pid from 0; the start time and attach time
 * follow, published by a release store of the start time. A process killed between the two leaves
 * a slot with a pid and no start time, which {@link #isAlive} judges by the pid alone. Slots are
 * freed by their owner on close, or by whoever repairs the arena after the owner died.
 */
public final class ProcessRegistry {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment arena;

    public ProcessRegistry(final MemorySegment arena) {
        this.arena = arena;
    }

    /** One registered process, as read without a lock. */
    public record Entry(int slot, long pid, long startTicks, long attachMillis, boolean alive) {
    }

    /**
     * Registers this process.
     *
     * @return the slot, or -1 if every slot is taken by a live process (a dead process's slot is
     *     taken over when no slot is free)
     */
    public int attach() {
        for (int pass = 0; pass < 3; pass++) {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                final long pidOffset = RegistryLayout.field(slot, RegistryLayout.PID);
                // The last pass takes over a dead process's slot: otherwise an arena whose slots all
                // hold dead processes could not be opened, and so never repaired. Its cached spans
                // become this process's; its spans in transit are reclaimed when this slot is.
                final long expected = pass < 2 ? 0L : pid(slot);
                if ((pass < 2 || (expected != 0 && !isAlive(slot)))
                    && SharedWords.casLong(arena, pidOffset, expected, ProcessIdentity.selfPid())) {
                    LONG.setVolatile(arena, RegistryLayout.field(slot, RegistryLayout.ATTACH_MILLIS),
                        System.currentTimeMillis());
                    LONG.setVolatile(arena, RegistryLayout.field(slot, RegistryLayout.ALLOCATIONS), 0L);
                    LONG.setVolatile(arena, RegistryLayout.field(slot, RegistryLayout.FREES), 0L);
                    // Publishes the slot: a reader that sees the start time sees the rest.
                    LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS),
                        ProcessIdentity.selfStartTicks());
                    return slot;
                }
            }
        }
        return -1;
    }

    /**
     * Frees {@code slot} (the caller holds the allocator lock): its call counters go into the
     * arena-wide ones, then the start time is cleared, so that nobody sees a new pid with an old
     * start time, then the pid.
     */
    public void release(final int slot) {
        retire(slot, RegistryLayout.ALLOCATIONS, ControlLayout.C_ALLOCATIONS);
        retire(slot, RegistryLayout.FREES, ControlLayout.C_FREES);
        LONG.setVolatile(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS), 0L);
        LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.PID), 0L);
    }

    private void retire(final int slot, final int field, final int counter) {
        final long offset = RegistryLayout.field(slot, field);
        SharedWords.getAndAddLong(arena, ControlLayout.counter(counter), (long) LONG.getAndSet(arena, offset, 0L));
    }

    /** @return the arena-wide value of a per-process counter: retired counts plus every live slot's */
    public long sum(final int field, final int counter) {
        long total = (long) LONG.getAcquire(arena, ControlLayout.counter(counter));
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            if (pid(slot) != 0) {
                total += (long) LONG.getAcquire(arena, RegistryLayout.field(slot, field));
            }
        }
        return total;
    }

    public long pid(final int slot) {
        return (long) LONG.getAcquire(arena, RegistryLayout.field(slot, RegistryLayout.PID));
    }

    public long startTicks(final int slot) {
        return (long) LONG.getAcquire(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS));
    }

    /** @return whether the process registered in {@code slot} lives; a free or out-of-range slot is dead */
    public boolean isAlive(final int slot) {
        if (slot < 0 || slot >= RegistryLayout.SLOTS) {
            return false;
        }
        final long pid = pid(slot);
        return pid != 0 && ProcessIdentity.isAlive(pid, startTicks(slot));
    }

    /** @return slots whose pid is set but whose process has died */
    public List<Integer> deadSlots() {
        final List<Integer> dead = new ArrayList<>();
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            if (pid(slot) != 0 && !isAlive(slot)) {
                dead.add(slot);
            }
        }
        return dead;
    }

    /** @return every occupied slot, with liveness, read without a lock */
    public List<Entry> entries() {
        final List<Entry> entries = new ArrayList<>();
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            final long pid = pid(slot);
            if (pid != 0) {
                entries.add(new Entry(slot, pid, startTicks(slot),
                    (long) LONG.getAcquire(arena, RegistryLayout.field(slot, RegistryLayout.ATTACH_MILLIS)),
                    isAlive(slot)));
            }
        }
        return entries;
    }

    /**
     * Writes a registry entry for tests and tools that need to simulate a process (a dead one, or a
     * reused pid). Not for normal use.
     */
    public void writeForTest(final int slot, final long pid, final long startTicks) {
        LONG.setVolatile(arena, RegistryLayout.field(slot, RegistryLayout.PID), pid);
        LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS), startTicks);
    }
}
