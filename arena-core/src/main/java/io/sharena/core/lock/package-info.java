/**
 * The cross-process trylock that guards the allocator's metadata, and the process registry that
 * tells a dead lock owner from a living one.
 *
 * <p>Concurrency: the lock word and registry slots are shared by every thread of every process;
 * every access is an FFM var handle access on the mapped arena with its ordering in the name.
 * Taking the lock is a compare-and-set; releasing it a release store, which publishes everything
 * the holder wrote.
 *
 * <p>Crash model: the lock word names its owner's registry slot, whose pid and start time say
 * whether the owner lives. A process killed with the lock (kill -9 included) is detected by the
 * next waiter, who takes the lock over ({@link io.sharena.core.lock.LockResult#RECOVERED}) and must
 * repair the allocator before it goes on. A process killed while claiming a registry slot leaves a
 * pid without start time, judged by the pid alone. Liveness reads {@code /proc}; no FFM calls are
 * made here.
 */
package io.sharena.core.lock;
