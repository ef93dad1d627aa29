package io.sharena.core.lock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A process named by pid and start time (clock ticks since boot, field 22 of
 * {@code /proc/PID/stat}), so that a pid the kernel has given to a new process is not mistaken
 * for the old one. Liveness is the process's existence: a stopped process, or one in a long GC
 * pause, is alive. A zombie (killed, not yet reaped by its parent) is dead.
 */
public final class ProcessIdentity {
    private static final long SELF_PID = ProcessHandle.current().pid();
    private static final long SELF_START = startTicks(SELF_PID);

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
        if (pid <= 0) {
            return false;
        }
        if (pid == SELF_PID) {
            return startTicks == 0 || startTicks == SELF_START;
        }
        final String stat = readStat(pid);
        if (stat == null) {
            return false;
        }
        final String[] fields = fieldsAfterName(stat);
        final char state = fields[0].charAt(0);
        if (state == 'Z' || state == 'X' || state == 'x') {
            return false;
        }
        return startTicks == 0 || Long.parseLong(fields[19]) == startTicks;
    }

    /** @return the start time of {@code pid} in clock ticks since boot, or 0 if it does not exist */
    public static long startTicks(final long pid) {
        final String stat = readStat(pid);
        return stat == null ? 0 : Long.parseLong(fieldsAfterName(stat)[19]);
    }

    private static String readStat(final long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (final NoSuchFileException gone) {
            return null;
        } catch (final IOException e) {
            // ESRCH while reading: the process went away between open and read.
            return null;
        }
    }

    /** Fields from "state" on: the command name in parentheses may itself hold spaces or ')'. */
    private static String[] fieldsAfterName(final String stat) {
        return stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    }
}
