/**
 * Crash points: the named step boundaries of every multi-step change to shared state, and the
 * switch that lets tests kill or pause a process, or a thread, exactly there.
 *
 * <p>Every package that changes shared state in more than one store declares its points in an enum
 * implementing {@link io.sharena.core.crash.CrashPoint} and calls
 * {@link io.sharena.core.crash.CrashPoints#at} at each. Off by default, and then free: the switch is
 * a {@code static final} read once from {@code -Dsharena.crashpoints}. The test suite turns it on,
 * enumerates the enums, and for each point kills a real child JVM there (SIGKILL) or stops it
 * (SIGSTOP) while other processes run, then requires a clean check.
 *
 * <p>Restricted FFM calls: none here; the signal goes through {@code io.sharena.core.os.Posix}.
 */
package io.sharena.core.crash;
