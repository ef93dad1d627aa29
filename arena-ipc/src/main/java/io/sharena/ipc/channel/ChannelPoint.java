package io.sharena.ipc.channel;

import io.sharena.core.crash.CrashPoint;

/** The step boundaries of a channel's multi-step changes (see {@link Channel}'s crash model). */
public enum ChannelPoint implements CrashPoint {
    /** Creation: the header page allocated into the name's root and written "being created"; the roots' creation not yet finished. */
    CREATED,
    /** Creation: a ring allocated and recorded in its lane; the channel not yet made (its magic). */
    RING_RECORDED,
    /** Creation: the channel made (its magic); its creator word not yet cleared, which says to a reader of its header that it was made. */
    MADE,
    /** A half-made channel's creator word taken over (its creator died, or ran out of room); nothing given back yet. */
    RECLAIMING,
    /** A producer claimed a lane (or took a dead producer's over), its positions not yet read. */
    LANE_CLAIMED,
    /** A consumer claimed the channel (or took a dead consumer's place), its positions not yet read. */
    CONSUMER_CLAIMED,
    /** A producer wrote a record's header in the ring (claim), not yet published. */
    CLAIMED,
    /** A producer is about to publish a record with a release store of its LENGTH word (commit). */
    COMMITTING,
    /** A producer published a record (its LENGTH word); TAIL not yet moved past it. */
    PUBLISHED,
    /** The consumer's handler returned for a message (or threw); HEAD not yet moved past it. */
    DELIVERED,
    /** The consumer moved HEAD past what it delivered; the ring bytes below HEAD not yet zeroed, CLEARED not yet moved. */
    CLEARING,
    /**
     * The consumer zeroed the ring bytes below HEAD; CLEARED not yet moved up to it (killed here, it
     * leaves zeros from CLEARED to HEAD, over the message it handled last).
     */
    CLEARED_ZEROED,
    /** The consumer found a drained lane's producer dead and is about to free the lane. */
    REAPING
}
