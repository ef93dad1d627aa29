/**
 * The layout of shared structures: one class per structure, holding only {@code static final}
 * offsets and sizes with an ASCII diagram. No other class hard-codes an offset into the arena.
 *
 * <p>Concurrency and crash model: these classes describe memory, they do not touch it. Which words
 * are written once and which are mutated concurrently is stated per structure.
 * No FFM calls are made here.
 */
package io.sharena.core.layout;
