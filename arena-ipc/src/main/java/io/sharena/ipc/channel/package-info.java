/**
 * Channels between processes: one consumer, a single-producer ring per producer process, messages
 * in place in arena pages. Design and crash model in {@link io.sharena.ipc.channel.Channel}. No FFM
 * calls.
 */
package io.sharena.ipc.channel;
