package io.sharena.core.layout;

/**
 * A registry slot's identity word ({@link RegistryLayout#OWNER}): which process holds the slot,
 * and how many times the slot has changed hands. One 64-bit word, so that claiming a slot, taking a
 * dead process's slot over and releasing it are each one compare-and-set.
 *
 * <pre>
 *  63             42 41                           16 15               0
 *  +----------------+-------------------------------+------------------+
 *  | PID (22 bits)  | START: start ticks mod 2^26    | GENERATION       |
 *  +----------------+-------------------------------+------------------+
 * </pre>
 *
 * <p>{@code PID}: Linux pids are below {@code pid_max}, at most 2^22. {@code START}: the low 26
 * bits of the process's start time in clock ticks since boot (field 22 of {@code /proc/PID/stat});
 * at 100 ticks a second they repeat every 7.7 days, so a reused pid passes for the registered
 * process only if it started a multiple of 7.7 days later to the tick. {@code GENERATION} counts
 * the slot's owners: every claim and takeover sets it to {@link #nextGeneration}, and it is never
 * 0 while a process holds the slot. An {@link OwnerToken} names a slot and a generation, so a token
 * of an earlier owner never matches the slot again (until 65,535 later owners have come and gone).
 *
 * <p>A free slot has {@code PID} and {@code START} zero and keeps its generation, so the next claim
 * counts on from it. An {@link #abandoned} slot has {@code PID} zero and {@code START} all ones:
 * not free (nobody claims it) and not alive (recovery reclaims what it holds, then frees it).
 */
public final class ProcessWord {
    public static final int GENERATION_BITS = 16;
    public static final int START_BITS = 26;
    public static final int PID_BITS = 22;
    public static final int START_SHIFT = GENERATION_BITS;
    public static final int PID_SHIFT = GENERATION_BITS + START_BITS;
    public static final long GENERATION_MASK = (1L << GENERATION_BITS) - 1;
    public static final long START_MASK = (1L << START_BITS) - 1;
    public static final long PID_MASK = (1L << PID_BITS) - 1;

    private ProcessWord() {
    }

    /** @return the word of process {@code pid}, started at {@code startTicks}, as owner number {@code generation} */
    public static long encode(final long pid, final long startTicks, final int generation) {
        assert pid > 0 && pid <= PID_MASK : "pid out of range: pid=" + pid;
        return ((pid & PID_MASK) << PID_SHIFT) | ((startTicks & START_MASK) << START_SHIFT)
            | (generation & GENERATION_MASK);
    }

    /** @return the word of a free slot whose last owner was number {@code generation} */
    public static long free(final int generation) {
        return generation & GENERATION_MASK;
    }

    /** @return the word of a slot given up by a live process before it could reclaim what the slot held */
    public static long abandoned(final int generation) {
        return (START_MASK << START_SHIFT) | (generation & GENERATION_MASK);
    }

    public static long pid(final long word) {
        return (word >>> PID_SHIFT) & PID_MASK;
    }

    /** @return the low {@link #START_BITS} bits of the owner's start time */
    public static long start(final long word) {
        return (word >>> START_SHIFT) & START_MASK;
    }

    public static int generation(final long word) {
        return (int) (word & GENERATION_MASK);
    }

    /** @return whether nobody holds the slot (an abandoned slot is not free) */
    public static boolean isFree(final long word) {
        return (word & ~GENERATION_MASK) == 0;
    }

    /** @return the generation after {@code generation}: never 0, so a held slot's tokens are never 0 */
    public static int nextGeneration(final int generation) {
        final int next = (generation + 1) & (int) GENERATION_MASK;
        return next == 0 ? 1 : next;
    }
}
