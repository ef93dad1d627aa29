package io.sharena.core.crash;

import io.sharena.core.os.OsException;
import io.sharena.core.os.Posix;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The crash-point switch. Code that changes shared state in several steps calls
 * {@link #at(CrashPoint)} between them. With {@code -Dsharena.crashpoints=true} each call goes to the
 * installed {@link Hook}; without it {@link #ENABLED} is a {@code static final false} that the JIT
 * folds, and the calls cost nothing.
 *
 * <p>A child process can be armed from its command line, with no code of its own:
 * <pre>
 *   -Dsharena.crashpoints=true
 *   -Dsharena.crashpoint=AllocPoint.DRAIN_TAKEN     the point's {@link CrashPoint#id() id}
 *   -Dsharena.crashpoint.action=kill|stop|trace     SIGKILL itself, SIGSTOP itself, or print each point once
 *   -Dsharena.crashpoint.skip=N                     let the first N hits pass (default 0)
 * </pre>
 * {@code kill} and {@code stop} act on the first hit after the skipped ones and print
 * {@code crashpoint: <id> <action>} on standard error first, so a test knows the point was reached.
 * {@code trace} prints {@code crashpoint-reached: <id>} the first time each point is reached,
 * which is how a harness learns which points its scenario covers.
 */
public final class CrashPoints {
    /** Whether crash points are live in this JVM; constant for its whole life. */
    public static final boolean ENABLED = Boolean.getBoolean("sharena.crashpoints");

    private static volatile Hook hook = ENABLED ? fromProperties() : null;

    private CrashPoints() {
    }

    /** What happens at a crash point. Runs on the thread that reached it. */
    @FunctionalInterface
    public interface Hook {
        void reached(CrashPoint point);
    }

    /** Marks a step boundary. Free when crash points are off. */
    public static void at(final CrashPoint point) {
        if (ENABLED) {
            final Hook h = hook;
            if (h != null) {
                h.reached(point);
            }
        }
    }

    /**
     * Installs {@code newHook} for every thread of this JVM (null removes it).
     *
     * @throws IllegalStateException if crash points are off in this JVM
     */
    public static void install(final Hook newHook) {
        if (!ENABLED) {
            throw new IllegalStateException("crash points are off: run with -Dsharena.crashpoints=true");
        }
        hook = newHook;
    }

    /**
     * @return the hook in place now (the one the properties describe, or the last {@link #install}),
     * or null: for a test that wraps it with a step of its own
     */
    public static Hook installed() {
        return hook;
    }

    /** @return the hook that {@code -Dsharena.crashpoint*} properties describe, or null */
    private static Hook fromProperties() {
        final String target = System.getProperty("sharena.crashpoint");
        final String action = System.getProperty("sharena.crashpoint.action", "kill");
        if ("trace".equals(action)) {
            return trace();
        }
        if (target == null) {
            return null;
        }
        final long skip = Long.getLong("sharena.crashpoint.skip", 0L);
        final int signal = switch (action) {
            case "kill" -> Posix.SIGKILL;
            case "stop" -> Posix.SIGSTOP;
            default -> throw new IllegalArgumentException(
                "unknown crash point action: sharena.crashpoint.action=" + action + " (kill, stop or trace)");
        };
        return signalAt(target, skip, signal, action);
    }

    /**
     * @return a hook that raises {@code signal} in the thread that makes the ({@code skip}+1)th hit of
     * {@code target} (SIGKILL and SIGSTOP act on the whole process, and this thread goes no further)
     */
    public static Hook signalAt(final String target, final long skip, final int signal, final String action) {
        Objects.requireNonNull(target, "target");
        final AtomicLong hits = new AtomicLong();
        return point -> {
            if (point.id().equals(target) && hits.getAndIncrement() == skip) {
                System.err.println("crashpoint: " + target + " " + action);
                System.err.flush();
                try {
                    // To this thread, not the process: the thread must not take one more step.
                    Posix.raise(signal);
                } catch (final OsException e) {
                    throw new IllegalStateException("crash point " + target + ": " + e.getMessage(), e);
                }
            }
        };
    }

    private static Hook trace() {
        final ConcurrentHashMap<String, Boolean> seen = new ConcurrentHashMap<>();
        return point -> {
            if (seen.putIfAbsent(point.id(), Boolean.TRUE) == null) {
                System.err.println("crashpoint-reached: " + point.id());
                System.err.flush();
            }
        };
    }
}
