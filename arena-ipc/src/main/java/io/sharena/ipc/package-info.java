/**
 * What is built on the arena: named roots, an object heap, channels between processes and the
 * shared store. This module only frames the package for now; its structures come with the
 * allocator they stand on.
 *
 * <p>No FFM calls are made here: memory is reached through {@code io.sharena.core} views.
 */
package io.sharena.ipc;
