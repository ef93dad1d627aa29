/**
 * Channels between processes: one consumer, a single-producer ring per producer process, messages
 * in place in arena pages. Design in {@link io.sharena.ipc.channel.Channel}.
 *
 * <p><b>Ownership</b>: lanes and the consumer's place are owner words of the arena's one ownership
 * primitive ({@code io.sharena.core.owner.Ownership}): claim, takeover from a dead owner and release
 * are one CAS each, so no reader sees a half-claimed lane and two producers never share one.
 *
 * <p><b>Crash model and delivery</b> (points in {@link io.sharena.ipc.channel.ChannelPoint}): a
 * producer publishes a record by one release store of the record's LENGTH word after writing it
 * whole (the consumer waits on that word, and zeroes what it consumed before the producer may
 * write there again), so a producer's death never publishes half a message. The consumer moves HEAD past each message in a
 * {@code finally} once its handler returns or throws: exactly once while consumers live, a
 * throwing handler does not get its batch again, and a consumer killed inside a handler leaves
 * that one message to its successor (at-least-once for the message in hand), flagged
 * {@code redelivered()} there. A redelivered message
 * that frees what it already freed is harmless while that memory is still free (heap and page
 * frees of free memory are no-ops).
 *
 * <p><b>Creation</b>: the header page is allocated into the name's entry and stamped "being
 * created" with its creator's owner token in one crash-safe step of the roots
 * ({@code NamedRoots.create}); each ring is allocated straight into its lane's word
 * ({@code SharedArena.allocPagesInto}); the magic, stored last, makes the channel. No page is ever
 * allocated and unrecorded: a creator that dies halfway leaves nothing (the roots' next user undoes
 * a creation killed before its format returned) or a registered, half-made channel that the next
 * create or open of the name takes over and gives back ({@code RECLAIMING}), freeing each ring
 * with its lane's word and the header with the name's entry in one crash-safe step each
 * ({@code SharedArena.freePagesFrom}, {@code NamedRoots.removeAndFree}): a reclaimer killed
 * anywhere leaves the rest named, for the next one.
 * HEAD passes a ring's wrap padding before the next message is in hand, so the in-hand mark of a
 * consumer that dies always sits at HEAD. A closed consumer's poll and a closed producer's commit
 * throw: the place or the lane may be another's by then.
 *
 * <p><b>Distrust</b>: the header is validated on open; positions and record lengths read from the
 * lanes are checked before they index a ring, so every walk ends; corruption throws
 * {@link io.sharena.core.ArenaCorruptedException}. No FFM calls.
 */
package io.sharena.ipc.channel;
