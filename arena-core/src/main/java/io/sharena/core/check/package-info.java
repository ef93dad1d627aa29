/**
 * Reading an arena's allocator state from outside: the consistency checker
 * ({@link io.sharena.core.check.ArenaChecker}) and the figures {@code arena stat} shows
 * ({@link io.sharena.core.check.ArenaStats}).
 *
 * <p>Concurrency: both read shared words with acquire loads and never take the lock, so they can
 * run beside working processes; the checker's verdict is exact only on a quiet arena. Crash model:
 * they write nothing, so there is nothing to crash. Every walk of a shared list is bounded by the
 * page count. No FFM calls are made here.
 */
package io.sharena.core.check;
