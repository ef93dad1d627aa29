/**
 * What sharena's own layers need of an arena beyond the public API:
 * {@link io.sharena.core.internal.ArenaInternals}. Exported only to {@code io.sharena.ipc} and
 * {@code io.sharena.cli}.
 *
 * <p>Concurrency and crash model: those of the calls it forwards to. No FFM downcalls.
 */
package io.sharena.core.internal;
