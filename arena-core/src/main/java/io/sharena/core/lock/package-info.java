/**
 * Ownership of shared structures across processes: the process registry, the one ownership
 * primitive every owned word uses, and the cross-process lock built on it.
 *
 * <p><b>One ownership primitive.</b> Each attachment holds a registry slot whose
 * {@link io.sharena.core.layout.ProcessWord} packs pid, start time and a generation in one word.
 * Structures that have an owner (the allocator's lock word, user locks, channel lanes, consumer
 * slots) record it as an {@link io.sharena.core.layout.OwnerToken}: slot, generation and, for
 * locks, the thread. {@link io.sharena.core.lock.Ownership} claims, takes over and releases such
 * words, each with one compare-and-set; a token is alive while its slot still holds its generation
 * and the slot's process exists with its start time. Every slot claim and takeover bumps the
 * generation, so a dead owner's token stays dead and a compare-and-set from it fails once the slot
 * has changed hands (no ABA across slot reuse).
 *
 * <p>Concurrency: owner words and registry slots are shared by every thread of every process; every
 * access is an FFM var handle access on the mapped arena with its ordering in the name. Taking a
 * lock is a compare-and-set; releasing it a release store, which publishes everything the holder
 * wrote.
 *
 * <p>Crash model: every change of hands is one atomic word, so a process killed at any point
 * leaves either the old owner or the new one, never a mix. A process killed holding a lock
 * (kill -9 included) is detected by the next waiter, who takes the lock over
 * ({@link io.sharena.core.lock.LockResult#RECOVERED}); for the allocator's lock the allocator then
 * repairs before it goes on. When every registry slot is held, attach takes a dead process's slot
 * over and repairs at once, reclaiming what that process had in transit before the slot is used.
 * A stopped or paused process is alive and keeps what it owns. Liveness reads {@code /proc}; no
 * FFM downcalls are made here.
 */
package io.sharena.core.lock;
