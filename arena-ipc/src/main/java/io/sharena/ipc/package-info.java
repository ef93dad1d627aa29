/**
 * What is built on the arena: {@link io.sharena.ipc.NamedRoots} here; the object heap in
 * {@code io.sharena.ipc.heap}; channels between processes in {@code io.sharena.ipc.channel}; the
 * shared store in {@code io.sharena.ipc.store}; their layouts in {@code io.sharena.ipc.layout};
 * {@link io.sharena.ipc.IpcCheck}, their check and repair for tools.
 *
 * <p><b>Concurrency</b>: lookups and value updates of named roots are lock-free (a version-tagged
 * value, re-checked against the entry's name); adding and removing names takes the directory's own
 * lock, a user lock placed in its header page (never the page allocator's lock).
 *
 * <p><b>Crash model</b>: every step boundary of a multi-step change is a named crash point
 * ({@link io.sharena.ipc.RootsPoint}). Each change is either one atomic word or recoverable after a
 * kill at any step: an add killed halfway leaves a WRITING entry that readers skip and the lock
 * held by a dead process, whose next user takes it over (RECOVERED) and repairs the directory
 * first; a remove killed before marking the entry REMOVED leaves it half-written (the repair removes
 * it), and one killed between that and bumping its version leaves the bump to whoever reuses the
 * entry (its insert bumps from whatever is there). No page is left allocated
 * and unrecorded: the directory is allocated straight into the control page's word, and
 * {@code NamedRoots.create} allocates a structure's pages straight into its name's entry
 * ({@code SharedArena.allocPagesInto}) under the lock, with a record that lets the lock's next
 * holder undo a creation whose creator died before its format returned ({@code freePagesFrom} the
 * entry, the name dropped). The store's region, the heap's metadata page and a channel's header
 * are made that way. The test suite kills a child JVM at every point and pauses a thread at every
 * point, then checks.
 *
 * <p><b>Distrust</b>: everything read from shared memory is checked before it indexes anything;
 * corruption found during use marks the structure for repair and throws
 * {@link io.sharena.core.ArenaCorruptedException} ({@link io.sharena.ipc.Corruption}).
 *
 * <p>No FFM calls are made in this module: memory is reached through {@code io.sharena.core} views,
 * whose atomics are var handle accesses, and owner words through {@code io.sharena.core.owner}.
 */
package io.sharena.ipc;
