/**
 * sharena's core API: create or open an arena file ({@link io.sharena.core.SharedArena}), address
 * it with 32-bit arena pointers ({@link io.sharena.core.ArenaPointers}) and read and write it through
 * views ({@link io.sharena.core.ArenaView}).
 *
 * <p>Concurrency: an arena is shared by every thread of every process that maps it. The views are
 * stateless flyweights over the mapped segment; ordering between processes comes only from the
 * acquire/release/volatile and atomic accessors, which are FFM var handle accesses on the mapped
 * memory and therefore work across processes exactly as across threads.
 *
 * <p>Crash model: creation writes the header body before a release store of the magic word, and
 * a replacing create builds the new file beside the old and renames it over, so a creator killed
 * at any instant leaves either no arena or a complete one. Opening validates the header from a
 * {@code pread} before mapping, so a corrupt file is rejected with
 * {@link io.sharena.core.ArenaFormatException} rather than touched.
 *
 * <p>FFM: this package makes no downcalls; {@link io.sharena.core.os} does them all.
 */
package io.sharena.core;
