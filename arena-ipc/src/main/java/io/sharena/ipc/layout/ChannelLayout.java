package io.sharena.ipc.layout;

import io.sharena.core.layout.Geometry;

/**
 * A channel: one header page, and per lane a ring of arena pages. A lane has one producer process
 * and the channel's one consumer, so each ring is single-producer single-consumer.
 *
 * <pre>
 *  header page:
 *    0 MAGIC  4 LANES  8 RING_BYTES  12 MAX_MESSAGE
 *    16 CONSUMER (8): the consumer's owner word (an OwnerToken of the arena's ownership primitive), 0 if none
 *    24 CONSUMER_PID (8): the consumer's pid, for reports only (written after the claim)
 *    32 DEAD_PRODUCERS (8)  40 LAST_DEAD_PID (8): deaths seen by whoever freed a dead producer's lane
 *    48 CREATOR (8): while the channel is being created (MAGIC_CREATING), its creator's owner
 *       token, then a reclaimer's (an owner word); 0 once the channel is made
 *    56 GEOMETRY_CHECK (8): a check of LANES, RING_BYTES, MAX_MESSAGE and the header's pointer,
 *       written with them; 0 in a channel made before it
 *    LANE_BASE + lane * LANE_STRIDE:
 *      +0   producer line (128 bytes): OWNER(8) OWNER_PID(8, reports only) TAIL(8) RING(4)
 *      +128 consumer line (128 bytes): HEAD(8) IN_HAND(8): position + 1 of the message whose handler runs
 *           CLEARED(8)
 *
 *  ring (RING_BYTES, a power of two), records 8-byte aligned, never wrapping:
 *      +0 LENGTH (int): 0 while nothing is published here; payload bytes + 1 once the record is
 *         published; PADDING (published) to the end of the ring, which is then shorter than the
 *         largest record (a producer pads only a rest its record does not fit in)
 *      +4 TYPE (int): the sender's message type
 *      +8 payload
 * </pre>
 *
 * <p>OWNER and CONSUMER are owner words: claimed, taken over from a dead owner and released by one
 * CAS each, so a lane or the consumer's place never reads as half-claimed. TAIL, HEAD and CLEARED
 * are byte positions that only grow; index = position & (RING_BYTES - 1).
 *
 * <p><b>Publication is the record's own word.</b> The producer writes a record past the last one
 * it published and publishes it with a release store of its LENGTH word; the consumer waits on the
 * LENGTH word at HEAD (acquire), so one cache line, the record's, crosses from producer to
 * consumer per small message. The producer then stores TAIL (release), for whoever attaches to the
 * lane next: TAIL is never ahead of what is published, and may lag behind it by the one record of
 * a producer that died between the two stores. The consumer moves HEAD past each message it
 * delivered, then zeroes the ring bytes from CLEARED to HEAD (in batches of a quarter ring, at
 * most 4 KiB) and moves CLEARED up (release): the
 * producer writes only below CLEARED + RING_BYTES, so every LENGTH word it has not published reads
 * 0. CLEARED <= HEAD <= the end of what is published <= CLEARED + RING_BYTES. A producer attaching
 * to a lane finds the end of what is published from HEAD and zeroes the free space once
 * (a predecessor that died, or closed, with a claim not committed left its bytes there); a
 * consumer attaching zeroes from CLEARED to HEAD (a predecessor that died in between). The
 * producer's line and the consumer's line are 128 bytes apart: each is written by one process.
 */
public final class ChannelLayout {
    /** "CHN3": records published by their LENGTH word ("CHN2", published by TAIL, is an earlier format). */
    public static final int MAGIC_VALUE = 0x43484E33;
    public static final int MAGIC = 0;
    public static final int LANES = 4;
    public static final int RING_BYTES = 8;
    public static final int MAX_MESSAGE = 12;
    public static final int CONSUMER = 16;
    public static final int CONSUMER_PID = 24;
    /** Counted (get-and-add) by whoever frees a dead producer's lane: the consumer, or a producer taking it over. */
    public static final int DEAD_PRODUCERS = 32;
    public static final int LAST_DEAD_PID = 40;
    /** While the channel is being created, the creator's owner token (then a reclaimer's), an owner word; 0 once it is made. */
    public static final int CREATOR = 48;
    /**
     * A check of the header's geometry, written with it when the channel is created
     * ({@link #geometryCheck}): one stray write to LANES, RING_BYTES or MAX_MESSAGE no longer agrees
     * with it (a RING_BYTES doubled had producers write past their ring into the next owner's page,
     * with every check clean). 0 in a channel made before it: not checked.
     */
    public static final int GEOMETRY_CHECK = 56;
    /** Odd multipliers: the check is linear in each field, and a repair solves it for the field a stray write hit. */
    private static final long K_LANES = 0x9E3779B97F4A7C15L;
    private static final long K_RING = 0xC2B2AE3D27D4EB4FL;
    private static final long K_MAX = 0x165667B19E3779F9L;
    private static final long K_HEADER = 0x27D4EB2F165667C5L;

    /** @return the {@link #GEOMETRY_CHECK} of a channel at {@code header} with this geometry (never 0) */
    public static long geometryCheck(final int header, final int lanes, final int ringBytes, final int maxMessage) {
        final long c = K_HEADER * (Integer.toUnsignedLong(header) + 1) + K_LANES * lanes + K_RING * ringBytes
            + K_MAX * maxMessage;
        return c == 0 ? 1 : c;
    }

    /**
     * The value each geometry field would need for {@code check} to agree with the others as they
     * are: {lanes, ringBytes, maxMessage}, each a 64-bit number (one a stray write hit solves to
     * its old value; the others, almost surely, to no value an int field can hold).
     */
    public static long[] geometrySolutions(final long check, final int header, final int lanes, final int ringBytes,
                                           final int maxMessage) {
        final long base = K_HEADER * (Integer.toUnsignedLong(header) + 1);
        final long l = K_LANES * lanes;
        final long r = K_RING * ringBytes;
        final long m = K_MAX * maxMessage;
        return new long[] {
            (check - base - r - m) * inverse(K_LANES),
            (check - base - l - m) * inverse(K_RING),
            (check - base - l - r) * inverse(K_MAX)};
    }

    /** @return the multiplicative inverse of odd {@code k} modulo 2^64 (Newton's iteration) */
    private static long inverse(final long k) {
        long x = k;
        for (int i = 0; i < 5; i++) {
            x *= 2 - k * x;
        }
        return x;
    }

    /** The header's magic while the channel is being created ("CHNC"): registered, not yet made. */
    public static final int MAGIC_CREATING = 0x43484E43;

    public static final int LANE_BASE = 128;
    public static final int LANE_STRIDE = 256;
    public static final int MAX_LANES = (Geometry.PAGE_SIZE - LANE_BASE) / LANE_STRIDE;
    public static final int OWNER = 0;
    public static final int OWNER_PID = 8;
    public static final int TAIL = 16;
    public static final int RING = 24;
    public static final int HEAD = 128;
    /**
     * The position of the message being handled, plus one (0: none), stored before its handler
     * runs. Equal to HEAD + 1 only while a handler runs, or after a consumer died inside one: then
     * the successor knows that message may have been handled before (a redelivery).
     */
    public static final int IN_HAND = 136;
    /** The consumer's position below which the ring is zeroed again: the producer's room ends at CLEARED + RING_BYTES. */
    public static final int CLEARED = 144;

    public static final int RECORD_HEADER = 8;
    public static final int LENGTH = 0;
    public static final int TYPE = 4;
    public static final int PADDING = -1;
    /** The LENGTH word of a record not (yet) published. */
    public static final int UNPUBLISHED = 0;

    private ChannelLayout() {
    }

    public static int lane(final int header, final int lane) {
        return header + LANE_BASE + lane * LANE_STRIDE;
    }

    /** @return the ring bytes a record of {@code length} payload bytes takes */
    public static int recordBytes(final int length) {
        return (RECORD_HEADER + length + 7) & ~7;
    }

    /**
     * @return how far HEAD may be past TAIL: a padding and the record after it (a padding is
     * shorter than the largest record), published by a producer that died before its TAIL store
     */
    public static long maxTailLag(final int maxMessage) {
        return 2L * recordBytes(maxMessage);
    }

    /**
     * @return the ring bytes a published record whose LENGTH word reads {@code stamp} takes at ring
     * index {@code index} (a message's record, or a padding's rest of the ring); -1 if no record
     * reads so: a length out of range, a record past the ring's end, a padding where no producer
     * writes one (a producer pads only a rest of the ring too short for the record it claims, so a
     * padding is shorter than the largest record: one starting the ring, or further from its end,
     * is a stray write that would have the consumer skip the messages it covers)
     */
    public static int publishedBytes(final int stamp, final int index, final int ringBytes, final int maxMessage) {
        if (stamp == PADDING) {
            final int rest = ringBytes - index;
            return rest >= recordBytes(maxMessage) ? -1 : rest;
        }
        if (stamp <= UNPUBLISHED || stamp - 1 > maxMessage) {
            return -1;
        }
        final int record = recordBytes(stamp - 1);
        return index + record > ringBytes ? -1 : record;
    }
}
