package io.sharena.core.owner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What {@code /proc} says about a process: whether it exists and when it started (clock ticks since
 * boot, field 22 of {@code /proc/PID/stat}), so that a pid the kernel has given to a new process is
 * not mistaken for the old one. Liveness is the process's existence: a stopped process, or one in
 * a long GC pause, is alive. A zombie (killed, not yet reaped by its parent) is dead.
 *
 * <p>Owners in shared memory are not recorded with these values directly: see {@link Ownership},
 * which packs them into one word.
 */
public final class ProcessIdentity {
    /** What {@link #startTicksIfAlive} returns for a process that does not exist or is a zombie. */
    public static final long DEAD = -1;
    /**
     * What {@link #startTicksIfAlive} returns for a process whose {@code /proc} entry exists but
     * cannot be read (no file descriptor left, no memory, {@code /proc} mounted with
     * {@code hidepid=1} and the process another user's): alive, its start time unknown. Only a
     * process shown gone is dead: one misjudged alive makes a waiter wait, one misjudged dead
     * would have its locks and pages taken while it still uses them.
     */
    public static final long UNKNOWN_START = -2;
    private static final long SELF_PID = ProcessHandle.current().pid();
    private static final long SELF_START = startTicksIfAlive(SELF_PID);

    private ProcessIdentity() {
    }

    public static long selfPid() {
        return SELF_PID;
    }

    public static long selfStartTicks() {
        return SELF_START;
    }

    /**
     * @return whether process {@code pid} exists, is not a zombie and started at {@code startTicks}
     * (any start time when {@code startTicks} is 0)
     */
    public static boolean isAlive(final long pid, final long startTicks) {
        final long ticks = startTicksIfAlive(pid);
        return ticks != DEAD && (startTicks == 0 || ticks == UNKNOWN_START || ticks == startTicks);
    }

    /** @return the start time of {@code pid} in clock ticks since boot, or 0 if it does not exist or cannot be read */
    public static long startTicks(final long pid) {
        final long ticks = startTicksIfAlive(pid);
        return ticks < 0 ? 0 : ticks;
    }

    /**
     * @return the start time of {@code pid} in clock ticks since boot, {@link #DEAD} if it is gone
     * or a zombie, {@link #UNKNOWN_START} if its {@code /proc} entry cannot be read
     */
    public static long startTicksIfAlive(final long pid) {
        if (pid <= 0) {
            return DEAD;
        }
        if (pid == SELF_PID && SELF_START > 0) {
            return SELF_START;
        }
        final String stat;
        try {
            // Bytes as Latin-1: a process name need not be UTF-8, and a strict decode would throw.
            stat = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "stat")),
                java.nio.charset.StandardCharsets.ISO_8859_1);
        } catch (final NoSuchFileException gone) {
            return DEAD;
        } catch (final IOException e) {
            // ESRCH: the process went away between the open and the read. Anything else says
            // nothing of the process.
            return "No such process".equals(e.getMessage()) ? DEAD : UNKNOWN_START;
        }
        final String[] fields = fieldsAfterName(stat);
        final char state = fields[0].charAt(0);
        if (state == 'Z' || state == 'X' || state == 'x') {
            return DEAD;
        }
        return Long.parseLong(fields[19]);
    }

    /** Fields from "state" on: the command name in parentheses may itself hold spaces or ')'. */
    private static String[] fieldsAfterName(final String stat) {
        return stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    }
}
