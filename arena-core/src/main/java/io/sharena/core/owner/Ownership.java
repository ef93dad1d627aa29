package io.sharena.core.owner;

import io.sharena.core.layout.OwnerToken;
import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;

/**
 * The one way shared structures record who owns them: an 8-byte owner word holding an
 * {@link OwnerToken} (this attachment's registry slot and generation, and, for locks, the thread),
 * or 0 for "no owner". Lock words, channel lanes and consumer slots all use it.
 *
 * <ul>
 *   <li>{@link #claim}: one compare-and-set, 0 → token;</li>
 *   <li>{@link #takeOver}: one compare-and-set, dead owner's token → token, attempted only when
 *       {@link #isAlive} says that token's owner is dead;</li>
 *   <li>{@link #release}: one compare-and-set, token → 0.</li>
 * </ul>
 * An owner is alive while its registry slot still holds the token's generation and that slot's
 * process exists with the recorded start time. So a reader never sees a live owner as dead in the
 * middle of a change of hands (there is no middle: every change is one CAS), and a token read
 * before its slot was released and claimed again can never be CASed: the new owner's token differs
 * in its generation, whatever its pid or thread id.
 *
 * <pre>{@code
 * Ownership me = arena.ownership();
 * long seen = (long) LONG.getVolatile(segment, lane);
 * boolean mine = seen == 0 ? me.claim(segment, lane, me.process())
 *                          : me.takeOver(segment, lane, seen, me.process());
 * }</pre>
 *
 * <p>One instance per attachment (per open arena), usable from any thread. Owner words are 8-byte
 * aligned longs anywhere in a segment (an arena, with an arena pointer as the offset). Liveness of
 * another process reads {@code /proc}: a few microseconds, meant for the slow path.
 */
public final class Ownership {
    private final ProcessRegistry registry;
    private final int slot;
    private final int generation;
    /** This attachment's token without a thread. */
    private final long process;

    Ownership(final ProcessRegistry registry, final int slot, final int generation) {
        this.registry = registry;
        this.slot = slot;
        this.generation = generation;
        this.process = OwnerToken.encode(slot, generation, 0);
    }

    /** @return the registry slot of this attachment */
    public int slot() {
        return slot;
    }

    /** @return the registry generation of this attachment */
    public int generation() {
        return generation;
    }

    /** @return the calling thread's token through this attachment: for owners that are threads (locks) */
    public long mine() {
        return process | (Thread.currentThread().threadId() << OwnerToken.THREAD_SHIFT);
    }

    /** @return this attachment's token without a thread: for owners that are the whole process */
    public long process() {
        return process;
    }

    /** @return whether {@code token} belongs to this attachment (any of its threads) */
    public boolean isMine(final long token) {
        return token != 0 && OwnerToken.attachment(token) == process;
    }

    /**
     * @return whether the owner {@code token} names lives: its registry slot still holds the
     * token's generation and the slot's process exists with its recorded start time; 0 is dead
     */
    public boolean isAlive(final long token) {
        return registry.isOwnerAlive(token);
    }

    /**
     * @return the pid of the process {@code token} names (for messages), while its registry slot
     * still holds the token's generation; 0 once the slot has changed hands
     */
    public long pidOf(final long token) {
        return registry.pidOf(token);
    }

    /** Claims a free owner word for the calling thread. @return whether the CAS from 0 won */
    public boolean claim(final MemorySegment segment, final long offset) {
        return claim(segment, offset, mine());
    }

    /** Claims a free owner word with {@code token}. @return whether the CAS from 0 won */
    public boolean claim(final MemorySegment segment, final long offset, final long token) {
        checkToken(token);
        return SharedWords.casLong(segment, offset, 0L, token);
    }

    /** Takes an owner word over for the calling thread; see {@link #takeOver(MemorySegment, long, long, long)}. */
    public boolean takeOver(final MemorySegment segment, final long offset, final long deadWord) {
        return takeOver(segment, offset, deadWord, mine());
    }

    /**
     * Takes an owner word over from a dead owner: if {@code deadWord}'s owner is dead, one CAS
     * from {@code deadWord} to {@code token}. A dead token stays dead (its slot's generation never
     * comes back), so the check and the CAS need no lock: if another taker or the owner's
     * successor changed the word meanwhile, the CAS fails.
     *
     * @return whether this call took the word over; false if {@code deadWord} is 0, its owner
     * lives, or the word no longer holds it
     */
    public boolean takeOver(final MemorySegment segment, final long offset, final long deadWord, final long token) {
        checkToken(token);
        return deadWord != 0 && !registry.isOwnerAlive(deadWord)
            && SharedWords.casLong(segment, offset, deadWord, token);
    }

    /** Releases an owner word the calling thread holds. @return whether the CAS to 0 won */
    public boolean release(final MemorySegment segment, final long offset) {
        return release(segment, offset, mine());
    }

    /** Releases an owner word holding {@code token}. @return whether the CAS to 0 won */
    public boolean release(final MemorySegment segment, final long offset, final long token) {
        return token != 0 && SharedWords.casLong(segment, offset, token, 0L);
    }

    private void checkToken(final long token) {
        if (!isMine(token)) {
            throw new IllegalArgumentException("not a token of this attachment: token=0x" + Long.toHexString(token)
                + ", slot=" + slot + ", generation=" + generation);
        }
    }

    @Override
    public String toString() {
        return "Ownership[slot=" + slot + ", generation=" + generation + "]";
    }
}
