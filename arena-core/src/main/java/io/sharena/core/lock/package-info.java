/**
 * Locks users place in their own shared structures: {@link io.sharena.core.lock.SharedLock}, made
 * by {@code SharedArena.lockAt}, and what taking one came to, {@link io.sharena.core.lock.LockResult}.
 *
 * <p>The implementation (the cross-process lock, owner tokens, the process registry) is
 * {@code io.sharena.core.owner}, which is not exported to users.
 */
package io.sharena.core.lock;
