package io.sharena.core.owner;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.ProcessWord;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The arena's process registry ({@link RegistryLayout}): which processes have the arena open, and
 * whether they still live. Every change of hands is one compare-and-set of the slot's
 * {@link ProcessWord}:
 * <ul>
 *   <li>claim: free word → this process's word, generation + 1;</li>
 *   <li>takeover (only when no slot is free): a dead process's word → this process's word,
 *       generation + 1;</li>
 *   <li>release: this process's word, or a dead process's, → the free word (generation kept).</li>
 * </ul>
 * So no reader ever sees a slot half claimed, a live owner's slot is never released by a recovery
 * that judged its predecessor dead (its compare-and-set fails), and a token of an earlier owner
 * never names the new one.
 *
 * <p>One instance per attachment. A slot taken over still holds what its dead owner had in transit
 * (cached spans, half-pushed pages); this instance then lists it among {@link #deadSlots()} until
 * the recovery it triggers at open has reclaimed those and calls {@link #release} on it, which for
 * that slot only ends the inheritance.
 */
public final class ProcessRegistry {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment arena;
    /** This attachment's identity word, 0 before {@link #attach}, after release and for read-only use. */
    private volatile long own;
    /** This attachment's slot, -1 when {@link #own} is 0. */
    private volatile int ownSlot = -1;
    /** The slot this attachment took over and whose leftovers are not reclaimed yet, or -1. */
    private volatile int inherited = -1;

    public ProcessRegistry(final MemorySegment arena) {
        this.arena = arena;
    }

    /** One registered process, as read without a lock. */
    public record Entry(int slot, long pid, long startTicks, long attachMillis, int generation, boolean alive) {
    }

    /**
     * Registers this process: claims a free slot, or, when none is free, takes over a dead
     * process's slot (an arena whose slots all hold dead processes must still open, so that it can
     * be repaired).
     *
     * @return this attachment's ownership, or null if every slot is held by a live process
     */
    public Ownership attach() {
        if (own != 0) {
            throw new IllegalStateException("already attached: slot=" + OwnerToken.slot(own));
        }
        final long pid = ProcessIdentity.selfPid();
        final long ticks = ProcessIdentity.selfStartTicks();
        if (pid > ProcessWord.PID_MASK || ticks < 0) {
            // Without these, other processes would judge this one dead and take what it owns.
            throw new IllegalStateException("cannot record this process in the registry: pid=" + pid
                + ", startTicks=" + ticks + " (pids must be below 2^" + ProcessWord.PID_BITS
                + " and /proc/self/stat readable)");
        }
        // Two passes over free slots: one that lost every CAS race may find a slot freed meanwhile.
        for (int pass = 0; pass < 2; pass++) {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                final long w = word(slot);
                if (ProcessWord.isFree(w)) {
                    final long mine = ProcessWord.encode(pid, ticks, nextGeneration(slot, w));
                    if (SharedWords.casLong(arena, offset(slot), w, mine)) {
                        CrashPoints.at(LockPoint.ATTACH_CLAIMED);
                        return claimed(slot, mine);
                    }
                }
            }
        }
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            final long w = word(slot);
            if (!ProcessWord.isFree(w) && !isProcessAlive(w)) {
                final long mine = ProcessWord.encode(pid, ticks, nextGeneration(slot, w));
                // One CAS from the dead word: a concurrent recovery's release (from the same dead
                // word) and another attacher's takeover both fail once this one has won.
                if (SharedWords.casLong(arena, offset(slot), w, mine)) {
                    inherited = slot;
                    CrashPoints.at(LockPoint.SLOT_TAKEN_OVER);
                    return claimed(slot, mine);
                }
            }
        }
        return null;
    }

    /**
     * @return the generation a claim of {@code slot}, whose owner word reads {@code w}, takes: the
     * one after the later of the word's and the slot's copy of its last claim's
     * ({@link RegistryLayout#GENERATION}; the copy alone if the word reads 0, never held or zeroed by
     * a stray write, the word's alone if there is no copy, as in a file from before it). Counted on
     * from a word set back by a stray write, the next owner would repeat the tokens of the slot's
     * earlier owners, which a dead one may still have in a lock or an owner word, and a live one hold.
     */
    private int nextGeneration(final int slot, final long w) {
        final int copy = (int) ((long) LONG.getAcquire(arena, RegistryLayout.field(slot, RegistryLayout.GENERATION))
            & ProcessWord.GENERATION_MASK);
        final int word = ProcessWord.generation(w);
        final int last;
        if (w == 0 || copy == 0) {
            last = w == 0 ? copy : word;
        } else {
            // Generations wrap: the later of two is the one less than half the range ahead of the other.
            last = ((word - copy) & ProcessWord.GENERATION_MASK) < (ProcessWord.GENERATION_MASK + 1) / 2 ? word : copy;
        }
        return ProcessWord.nextGeneration(last);
    }

    private Ownership claimed(final int slot, final long mine) {
        ownSlot = slot;
        own = mine;
        // Copied for a claim after a stray write zeroes the owner word (a claim killed before this
        // store leaves the copy one behind: only a zeroed word as well would then repeat a token).
        LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.GENERATION), (long) ProcessWord.generation(mine));
        // A dead predecessor's counts, if it was not released, go to the arena-wide counters.
        retire(slot, RegistryLayout.ALLOCATIONS, ControlLayout.C_ALLOCATIONS);
        retire(slot, RegistryLayout.FREES, ControlLayout.C_FREES);
        // For tools only: liveness reads the owner word alone.
        LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.ATTACH_MILLIS), System.currentTimeMillis());
        LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS), ProcessIdentity.selfStartTicks());
        return new Ownership(this, slot, ProcessWord.generation(mine));
    }

    /**
     * Frees {@code slot} (the caller holds the allocator lock) if it is this attachment's or a dead
     * process's: its call counters go into the arena-wide ones, then one compare-and-set from the
     * word just read to the free word. For the slot this attachment inherited, whose leftovers the
     * caller has just reclaimed, it only ends the inheritance.
     *
     * @return whether the slot was freed (or its inheritance ended); false if it now belongs to a
     * live process, for instance one that took it over since the caller found it dead
     */
    public boolean release(final int slot) {
        final long w = word(slot);
        final boolean mine = slot == ownSlot && w == own;
        if (mine && slot == inherited) {
            inherited = -1;
            return true;
        }
        if (ProcessWord.isFree(w) || (!mine && isProcessAlive(w))) {
            return false;
        }
        retire(slot, RegistryLayout.ALLOCATIONS, ControlLayout.C_ALLOCATIONS);
        retire(slot, RegistryLayout.FREES, ControlLayout.C_FREES);
        CrashPoints.at(LockPoint.SLOT_RELEASING);
        final boolean released = SharedWords.casLong(arena, offset(slot), w, ProcessWord.free(ProcessWord.generation(w)));
        if (released && mine) {
            own = 0;
            ownSlot = -1;
        }
        return released;
    }

    /**
     * Gives this attachment's slot up without freeing it, when the slot was taken over and its
     * leftovers could not be reclaimed (the lock stayed busy): the slot reads as dead, so the next
     * recovery reclaims them and frees it.
     */
    public void abandon() {
        final long w = own;
        final int slot = ownSlot;
        if (w != 0 && SharedWords.casLong(arena, offset(slot), w, ProcessWord.abandoned(ProcessWord.generation(w)))) {
            own = 0;
            ownSlot = -1;
            inherited = -1;
        }
    }

    /** @return this attachment's slot, -1 if it holds none (read-only, or given up) */
    public int ownSlot() {
        return ownSlot;
    }

    /** @return whether this attachment took a dead slot over and has not reclaimed its leftovers yet */
    public boolean inheriting() {
        return inherited >= 0;
    }

    private void retire(final int slot, final int field, final int counter) {
        final long offset = RegistryLayout.field(slot, field);
        SharedWords.getAndAddLong(arena, ControlLayout.counter(counter), (long) LONG.getAndSet(arena, offset, 0L));
    }

    /** @return the arena-wide value of a per-process counter: retired counts plus every slot's */
    public long sum(final int field, final int counter) {
        long total = (long) LONG.getAcquire(arena, ControlLayout.counter(counter));
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            total += (long) LONG.getAcquire(arena, RegistryLayout.field(slot, field));
        }
        return total;
    }

    private static long offset(final int slot) {
        return RegistryLayout.field(slot, RegistryLayout.OWNER);
    }

    /** @return the slot's {@link ProcessWord} */
    public long word(final int slot) {
        return (long) LONG.getVolatile(arena, offset(slot));
    }

    public long pid(final int slot) {
        return ProcessWord.pid(word(slot));
    }

    /** @return the full start time recorded at claim, for tools (liveness uses the owner word) */
    public long startTicks(final int slot) {
        return (long) LONG.getAcquire(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS));
    }

    public int generation(final int slot) {
        return ProcessWord.generation(word(slot));
    }

    /** @return whether the process now registered in {@code slot} lives; a free or out-of-range slot is dead */
    public boolean isAlive(final int slot) {
        return slot >= 0 && slot < RegistryLayout.SLOTS && isProcessAlive(word(slot));
    }

    /**
     * @return whether the owner {@code token} names still lives: its slot still holds the token's
     * generation, and that slot's process lives. 0 and out-of-range words are dead.
     */
    public boolean isOwnerAlive(final long token) {
        if (token == 0) {
            return false;
        }
        final int slot = OwnerToken.slot(token);
        if (slot >= RegistryLayout.SLOTS) {
            return false;
        }
        final long w = word(slot);
        if (ProcessWord.generation(w) != OwnerToken.generation(token)) {
            return false;
        }
        // This attachment's own tokens: no /proc read.
        return (slot == ownSlot && w == own) || isProcessAlive(w);
    }

    /**
     * @return the pid of the process {@code token} names, alive or dead, while its slot still holds
     * the token's generation; 0 once the slot has changed hands (or for 0)
     */
    public long pidOf(final long token) {
        if (token == 0 || OwnerToken.slot(token) >= RegistryLayout.SLOTS) {
            return 0;
        }
        final long w = word(OwnerToken.slot(token));
        return ProcessWord.generation(w) == OwnerToken.generation(token) ? ProcessWord.pid(w) : 0;
    }

    /** @return whether a slot word names a process that exists with that start time */
    private static boolean isProcessAlive(final long w) {
        final long pid = ProcessWord.pid(w);
        if (pid == 0) {
            return false;
        }
        final long ticks = ProcessIdentity.startTicksIfAlive(pid);
        return ticks == ProcessIdentity.UNKNOWN_START
            || ticks != ProcessIdentity.DEAD && (ticks & ProcessWord.START_MASK) == ProcessWord.start(w);
    }

    /**
     * @return slots held by processes that have died (abandoned slots included), and the slot this
     * attachment inherited while its leftovers are not reclaimed: every slot whose caches and pages
     * in transit recovery must reclaim
     */
    public List<Integer> deadSlots() {
        final List<Integer> dead = new ArrayList<>();
        final int mine = inherited;
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            final long w = word(slot);
            if (slot == mine || (!ProcessWord.isFree(w) && !isProcessAlive(w))) {
                dead.add(slot);
            }
        }
        return dead;
    }

    /** @return every occupied slot, with liveness, read without a lock */
    public List<Entry> entries() {
        final List<Entry> entries = new ArrayList<>();
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            final long w = word(slot);
            if (!ProcessWord.isFree(w)) {
                entries.add(new Entry(slot, ProcessWord.pid(w), startTicks(slot),
                    (long) LONG.getAcquire(arena, RegistryLayout.field(slot, RegistryLayout.ATTACH_MILLIS)),
                    ProcessWord.generation(w), isProcessAlive(w)));
            }
        }
        return entries;
    }

    /**
     * Registers a process in {@code slot} as a claim would (next generation), for tests and tools
     * that simulate one (a dead process, a reused pid). Not for normal use.
     */
    public void writeForTest(final int slot, final long pid, final long startTicks) {
        final long w = word(slot);
        LONG.setRelease(arena, RegistryLayout.field(slot, RegistryLayout.START_TICKS), startTicks);
        LONG.setVolatile(arena, offset(slot),
            ProcessWord.encode(pid, startTicks, ProcessWord.nextGeneration(ProcessWord.generation(w))));
    }
}
