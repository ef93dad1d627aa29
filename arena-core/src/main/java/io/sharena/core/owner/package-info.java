/**
 * Ownership of shared structures across processes: the process registry, the one ownership
 * primitive every owned word uses, and the cross-process lock built on it, for the allocator and
 * for users.
 *
 * <p><b>One ownership primitive.</b> Each attachment (open arena) holds a registry slot whose
 * {@link io.sharena.core.layout.ProcessWord} packs pid, start time and a generation into one word.
 * Structures that have an owner (the allocator's lock word, user locks, channel lanes, consumer
 * slots) record it as an {@link io.sharena.core.layout.OwnerToken}: slot, generation and, for
 * locks, the thread. {@link io.sharena.core.owner.Ownership} claims, takes over and releases such
 * words, each with one compare-and-set. A token is alive while its slot still holds its generation
 * and the slot's process exists with its start time. Every slot claim and takeover bumps the
 * generation, so a dead owner's token stays dead and a compare-and-set from it fails once the slot
 * has changed hands (no ABA across slot reuse, even when the new owner's thread has the same id).
 *
 * <p><b>Locks.</b> {@link io.sharena.core.owner.CrossProcessLock} is the one lock implementation:
 * a CAS from 0 to the caller's token, a release store of 0, DEADLOCK for the thread that already
 * holds it, bounded waiting with Agrona's idle strategy, and takeover from a dead holder
 * (RECOVERED). {@link io.sharena.core.owner.ArenaLock} is the allocator's (it adds counters and flags
 * the allocator for repair on takeover); {@link io.sharena.core.lock.SharedLock} is placed by
 * users at an arena pointer in their own structures.
 *
 * <p>Concurrency: owner words and registry slots are shared by every thread of every process; every
 * access is an FFM var handle access on the mapped arena with its ordering in the name. Taking a
 * lock is a compare-and-set; releasing it a release store, which publishes everything the holder
 * wrote.
 *
 * <p>Crash model: every change of hands is one atomic word, so a process killed at any point
 * leaves either the old owner or the new one, never a mix; the step boundaries that remain (after a
 * claim, a takeover, before a release's CAS, around a lock takeover) are the
 * {@link io.sharena.core.owner.LockPoint}s, each tested by killing a process and pausing a thread
 * there. A process killed holding a lock (kill -9 included) is detected by the next waiter, who
 * takes the lock over; for the allocator's lock the allocator then repairs before it goes on, for
 * a user lock the caller repairs its structure. When every registry slot is held, attach takes a
 * dead process's slot over and the open's recovery reclaims what that process had in transit
 * before the slot is used (if the lock stays busy, the slot is given up as dead and open fails).
 * A stopped or paused process is alive and keeps what it owns: no heartbeats, no leases.
 *
 * <p>Liveness reads {@code /proc}; no FFM downcalls are made here.
 */
package io.sharena.core.owner;
