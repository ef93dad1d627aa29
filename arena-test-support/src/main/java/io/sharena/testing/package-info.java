/**
 * Test support shared by the modules' tests, kept in one place so that every module's tests start,
 * drive and kill their child processes the same way, and seed and replay their fuzz cases the same way.
 *
 * <p>{@link io.sharena.testing.ChildJvm} runs a real JVM on the current test class path: the other
 * process of the multi-process tests, the one they kill with SIGKILL or pause with SIGSTOP at a
 * chosen moment. It is used from one test thread at a time; its output is read by a daemon thread
 * of its own, so a silent or stuck child fails the test after a bound instead of hanging it.
 *
 * <p>{@link io.sharena.testing.FuzzCases} gives the seeded fuzz tests their case seeds, the line
 * that replays one failing case alone, how many stray writes a case makes, and (where a test has no
 * findings table of its own) each case run under a time limit with its failures collected.
 *
 * <p>{@link io.sharena.testing.ShmDirectory} holds a damage fuzz's case files in {@code /dev/shm}
 * when there is one.
 *
 * <p>Restricted FFM calls: none. Signals are sent with the {@code kill} command.
 */
package io.sharena.testing;
