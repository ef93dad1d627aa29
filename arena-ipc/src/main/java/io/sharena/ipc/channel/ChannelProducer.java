package io.sharena.ipc.channel;

import io.sharena.core.ArenaView;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.owner.Ownership;
import io.sharena.core.owner.ProcessIdentity;
import io.sharena.ipc.layout.ChannelLayout;
import org.agrona.concurrent.IdleStrategy;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * One producer process's end of a {@link Channel}: its own lane, a single-producer ring. Use from
 * one thread at a time (the lane is single-producer).
 */
public final class ChannelProducer implements AutoCloseable {
    /** Reads of a lane's positions until CLEARED reads the same on both sides of HEAD. */
    private static final int STABLE_READS = 1_000;
    /** Results of the blocking {@link #offer(int, byte[], int, int, IdleStrategy, long)}. */
    public static final int OK = 0;
    public static final int TOO_LARGE = 2;
    public static final int CONSUMER_DEAD = 3;
    public static final int TIMEOUT = 4;

    private static final long CONSUMER_CHECK_NANOS = 1_000_000L;

    private final Channel channel;
    private final ArenaView view;
    private final int lane;
    private final int ring;
    private final int mask;
    private final int ringBytes;
    private final int maxMessage;
    private final int tailWord;
    private final int clearedWord;
    /** The end of what this lane has published (or, after a padding, where the next record starts). */
    private long tail;
    /** The consumer's CLEARED as last read: it only grows, so room known from it is really there. */
    private long clearedCache;
    private long claimedTail = -1;
    /** The claimed record's address and payload length, for its commit. */
    private int claimedAt;
    private int claimedLength;
    private boolean closed;

    ChannelProducer(final Channel channel) {
        this.channel = channel;
        this.view = channel.view;
        this.lane = claimLane(channel);
        final int l = ChannelLayout.lane(channel.header, lane);
        this.ring = channel.ring(lane);
        this.ringBytes = channel.ringBytes;
        this.maxMessage = channel.maxMessage;
        this.mask = ringBytes - 1;
        this.tailWord = l + ChannelLayout.TAIL;
        this.clearedWord = l + ChannelLayout.CLEARED;
        // HEAD between two equal reads of CLEARED: a consumer delivering and clearing while they
        // are read would otherwise have them look out of step (HEAD behind CLEARED, or more than
        // a ring ahead of it), which is how damage looks.
        long cleared;
        long head;
        long storedTail;
        int reads = 0;
        do {
            cleared = view.getLongAcquire(clearedWord);
            storedTail = view.getLongAcquire(tailWord);
            head = view.getLongAcquire(l + ChannelLayout.HEAD);
        } while (view.getLongAcquire(clearedWord) != cleared && ++reads < STABLE_READS);
        this.clearedCache = cleared;
        try {
            if (((storedTail | head | clearedCache) & 7) != 0 || head - clearedCache < 0 || head - clearedCache > ringBytes
                || storedTail - clearedCache < -ringBytes || storedTail - clearedCache > ringBytes) {
                throw channel.corrupted("channel lane tail", storedTail, "lane=" + lane + ", head=" + head
                    + ", cleared=" + clearedCache);
            }
            // From HEAD, the consumer's, not from TAIL: TAIL lags what is published by one record if
            // the last producer died between its two stores, and a stray write there must not have
            // this producer write past a gap the consumer never crosses (or over records not yet read).
            this.tail = publishedEnd(head, l + ChannelLayout.HEAD);
            // TAIL is this lane's own (no other producer moves it now): read once.
            final String problem = channel.tailProblem(storedTail, tail, storedTail);
            if (problem != null) {
                throw channel.corrupted("channel lane tail", storedTail, "lane=" + lane + ", head=" + head + ": " + problem);
            }
            // A predecessor that died, or closed, with a claim not committed left its bytes past the
            // end: zeroed, so that no LENGTH word this producer has not published reads other than 0.
            Channel.zero(view, ring, ringBytes, tail, clearedCache + ringBytes);
            // TAIL caught up with what is published: a predecessor killed between its record's
            // publication and its TAIL store left it a record behind, and a lag that grew with each
            // such death would pass the most a kill can leave (what attaching takes for damage).
            if (storedTail != tail) {
                view.putLongRelease(tailWord, tail);
            }
        } catch (final RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Walks the published records from position {@code from} (at or past HEAD) to the first word
     * that says nothing is published; again from HEAD if the consumer passed that point meanwhile
     * (it zeroes what it consumed, so a record it took may read as nothing).
     *
     * @return the end of what is published
     */
    private long publishedEnd(final long from, final int headWord) {
        long end = from;
        while (true) {
            end = channel.publishedEnd(ring, end, clearedCache);
            if (end < 0) {
                // Nothing published lies past CLEARED + the ring: a walk that would go there reads garbage.
                throw channel.corrupted("channel record length", channel.stampAt(ring, -1 - end), "lane=" + lane
                    + ", position=" + (-1 - end));
            }
            final long head = view.getLongAcquire(headWord);
            if (head - end <= 0) {
                return end;
            }
            end = head;
        }
    }

    /**
     * Takes a free lane, or the drained lane of a dead producer, by one CAS of its owner word
     * (claim from 0, or takeover from the dead owner's word): no reader ever sees the lane
     * half-claimed, so two producers can never share it.
     */
    private static int claimLane(final Channel channel) {
        final ArenaView v = channel.view;
        final Ownership me = channel.ownership;
        final long token = me.process();
        for (int i = 0; i < channel.lanes; i++) {
            final int l = ChannelLayout.lane(channel.header, i);
            final long owner = v.getLongAcquire(l + ChannelLayout.OWNER);
            final boolean won;
            if (owner == 0) {
                won = me.claim(v.segment(), Integer.toUnsignedLong(l + ChannelLayout.OWNER), token);
            } else {
                // A dead producer's lane is taken only once drained: its last messages are still
                // to be delivered from where it left TAIL, and it can add no more.
                final long deadPid = v.getLongAcquire(l + ChannelLayout.OWNER_PID);
                won = channel.drained(i) && me.takeOver(v.segment(), Integer.toUnsignedLong(l + ChannelLayout.OWNER), owner, token);
                if (won) {
                    // The consumer may not have seen this death yet: report it for it.
                    channel.recordDeadProducer(deadPid);
                }
            }
            if (won) {
                CrashPoints.at(ChannelPoint.LANE_CLAIMED);
                v.putLongRelease(l + ChannelLayout.OWNER_PID, ProcessIdentity.selfPid());
                return i;
            }
        }
        throw new IllegalStateException("every lane of the channel has a live producer: lanes=" + channel.lanes);
    }

    /** @return this producer's lane */
    public int lane() {
        return lane;
    }

    /**
     * Reserves room for a message of {@code length} bytes and returns the arena pointer of its
     * payload, to be written in place and published by {@link #commit()}.
     *
     * @return the payload pointer, or 0 if the lane is full or the message too large
     * @throws IllegalArgumentException if {@code length} is negative
     * @throws IllegalStateException    if this producer was closed (its lane may be another's now)
     */
    public int claim(final int type, final int length) {
        if (length < 0 || length > maxMessage || closed) {
            if (closed) {
                throw new IllegalStateException("producer closed: channel=0x" + Integer.toHexString(channel.header)
                    + ", lane=" + lane);
            }
            if (length < 0) {
                throw new IllegalArgumentException("negative message length: " + length);
            }
            return 0;
        }
        final int record = ChannelLayout.recordBytes(length);
        long t = tail;
        int index = (int) (t & mask);
        final int toEnd = ringBytes - index;
        final int padding = record > toEnd ? toEnd : 0;
        if (t + padding + record - clearedCache > ringBytes && !room(t, padding + record)) {
            return 0;
        }
        if (padding > 0) {
            // Published at once: the consumer passes it to the ring's start, where it waits for the record.
            view.putIntRelease(ring + index + ChannelLayout.LENGTH, ChannelLayout.PADDING);
            t += padding;
            index = 0;
        }
        view.putInt(ring + index + ChannelLayout.TYPE, type);
        CrashPoints.at(ChannelPoint.CLAIMED);
        claimedTail = t + record;
        claimedAt = ring + index;
        claimedLength = length;
        tail = t;
        return ring + index + ChannelLayout.RECORD_HEADER;
    }

    /**
     * Only when the cached CLEARED shows no room: crosses to the consumer's cache line for it.
     *
     * @return whether {@code bytes} fit past position {@code t} now
     */
    private boolean room(final long t, final int bytes) {
        final long c = view.getLongAcquire(clearedWord);
        if (c - clearedCache < 0 || t - c < 0 || (c & 7) != 0) {
            throw channel.corrupted("channel lane cleared", c, "lane=" + lane + ", tail=" + t);
        }
        clearedCache = c;
        return t + bytes - c <= ringBytes;
    }

    /**
     * Publishes the message claimed last: one release store of its record's LENGTH word (then
     * TAIL, for whoever attaches to the lane next).
     *
     * @throws IllegalStateException if nothing is claimed, or this producer was closed since its
     *                               claim (the lane may be another producer's now: the claim is dropped)
     */
    public void commit() {
        if (closed) {
            claimedTail = -1;
            throw new IllegalStateException("producer closed, its claim dropped: lane=" + lane);
        }
        if (claimedTail < 0) {
            throw new IllegalStateException("nothing claimed to commit: lane=" + lane);
        }
        tail = claimedTail;
        claimedTail = -1;
        CrashPoints.at(ChannelPoint.COMMITTING);
        // Release stores as a release fence and plain stores (no alignment check per call).
        VarHandle.releaseFence();
        view.putInt(claimedAt + ChannelLayout.LENGTH, claimedLength + 1);
        CrashPoints.at(ChannelPoint.PUBLISHED);
        VarHandle.releaseFence();
        view.putLong(tailWord, tail);
    }

    /** @return whether the message was queued (false: full, or larger than the channel's maximum) */
    public boolean offer(final int type, final byte[] src, final int offset, final int length) {
        final int payload = claim(type, length);
        if (payload == 0) {
            return false;
        }
        view.putBytes(payload, src, offset, length);
        commit();
        return true;
    }

    /** Zero-copy from a segment. @return whether the message was queued */
    public boolean offer(final int type, final MemorySegment src, final long offset, final int length) {
        final int payload = claim(type, length);
        if (payload == 0) {
            return false;
        }
        view.copyFrom(src, offset, payload, length);
        commit();
        return true;
    }

    /**
     * Offers, waiting for room with {@code idle} up to {@code timeoutNanos}.
     *
     * @return {@link #OK}, {@link #TOO_LARGE}, {@link #CONSUMER_DEAD} or {@link #TIMEOUT}
     */
    public int offer(final int type, final byte[] src, final int offset, final int length, final IdleStrategy idle,
                     final long timeoutNanos) {
        if (length > channel.maxMessage) {
            return TOO_LARGE;
        }
        final long start = System.nanoTime();
        long nextCheck = start + CONSUMER_CHECK_NANOS;
        idle.reset();
        while (!offer(type, src, offset, length)) {
            final long now = System.nanoTime();
            if (now - nextCheck >= 0) {
                if (!channel.consumerAlive()) {
                    return CONSUMER_DEAD;
                }
                nextCheck = now + CONSUMER_CHECK_NANOS;
            }
            if (now - start >= timeoutNanos) {
                return TIMEOUT;
            }
            idle.idle();
        }
        return OK;
    }

    /** Gives the lane up (messages already published are still delivered). */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            final int l = ChannelLayout.lane(channel.header, lane);
            // Positions stay: the next producer on this lane continues from the end of what is
            // published, behind what the consumer has yet to read. One CAS gives the lane up.
            channel.ownership.release(view.segment(), Integer.toUnsignedLong(l + ChannelLayout.OWNER), channel.ownership.process());
        }
    }
}
