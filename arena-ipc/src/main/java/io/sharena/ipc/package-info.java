/**
 * What is built on the arena: {@link io.sharena.ipc.NamedRoots} here; the object heap in
 * {@code io.sharena.ipc.heap}; channels between processes in {@code io.sharena.ipc.channel}.
 *
 * <p>Concurrency and crash model are stated per class. No FFM calls are made in this module: memory
 * is reached through {@code io.sharena.core} views, whose atomics are var handle accesses.
 */
package io.sharena.ipc;
