package io.sharena.ipc.channel;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.owner.Ownership;
import io.sharena.core.owner.ProcessIdentity;
import io.sharena.ipc.layout.ChannelLayout;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The consumer end of a {@link Channel}: polls every lane round-robin, delivering messages in place.
 * Use from one thread at a time.
 *
 * <p>HEAD moves past each message right after its handler returns or throws: a message is never
 * delivered twice to live consumers, a throwing handler's exception propagates out of
 * {@link #poll} with the messages after it left for the next poll, and a consumer killed inside a
 * handler leaves only that message to its successor (at-least-once for the message in hand).
 */
public final class ChannelConsumer implements AutoCloseable {
    /** Empty polls of a lane between two looks at its producer's liveness. */
    private static final int EMPTY_POLLS_PER_CHECK = 1_024;
    /** And at least this long between two looks, which read {@code /proc}. */
    private static final long LIVENESS_PERIOD_NANOS = 50_000_000L;

    private final Channel channel;
    private final ArenaView view;
    private final Ownership ownership;
    private final long token;
    private final long[] nextLivenessCheck;
    private final int[] emptyPolls;
    /** Each lane's ring (fixed at creation, validated when the channel was opened), HEAD and CLEARED (written only by this consumer). */
    private final int[] rings;
    private final long[] heads;
    private final long[] cleared;
    /** Consumed bytes a lane lets build up before it zeroes them and moves CLEARED: a quarter ring, at most 4 KiB. */
    private final int clearBatch;
    /** Per lane, the position of a message a dead predecessor was handling when it died, or -1. */
    private final long[] redeliverAt;
    /** Whether any lane still has such a message: until then the per-message test is skipped. */
    private boolean redeliveryPending;
    private boolean redelivering;
    private final int lanes;
    private final int ringBytes;
    private final int maxMessage;
    /** Per lane, the address of its words (fixed at creation). */
    private final int[] laneWords;
    private int nextLane;
    /** The channel's death count when this consumer attached: it reports those since. */
    private final long deadAtAttach;
    private boolean closed;
    /** Set while {@link #poll} runs: a handler that polls again is refused. */
    private boolean polling;

    ChannelConsumer(final Channel channel) {
        this.channel = channel;
        this.view = channel.view;
        this.ownership = channel.ownership;
        this.token = ownership.process();
        this.nextLivenessCheck = new long[channel.lanes];
        this.emptyPolls = new int[channel.lanes];
        this.rings = new int[channel.lanes];
        this.heads = new long[channel.lanes];
        this.cleared = new long[channel.lanes];
        this.clearBatch = Math.min(channel.ringBytes / 4, 4096);
        this.redeliverAt = new long[channel.lanes];
        this.lanes = channel.lanes;
        this.ringBytes = channel.ringBytes;
        this.maxMessage = channel.maxMessage;
        this.laneWords = new int[channel.lanes];
        final int word = channel.header + ChannelLayout.CONSUMER;
        final long current = view.getLongAcquire(word);
        // One CAS, from no owner or from a dead one: never a half-claimed consumer place.
        final boolean won = current == 0
            ? ownership.claim(view.segment(), Integer.toUnsignedLong(word), token)
            : ownership.takeOver(view.segment(), Integer.toUnsignedLong(word), current, token);
        if (!won) {
            final long now = view.getLongAcquire(word);
            throw new IllegalStateException("the channel already has a live consumer: pid="
                + view.getLongAcquire(channel.header + ChannelLayout.CONSUMER_PID) + ", owner=0x" + Long.toHexString(now));
        }
        CrashPoints.at(ChannelPoint.CONSUMER_CLAIMED);
        view.putLongRelease(channel.header + ChannelLayout.CONSUMER_PID, ProcessIdentity.selfPid());
        this.deadAtAttach = view.getLongAcquire(channel.header + ChannelLayout.DEAD_PRODUCERS);
        for (int i = 0; i < channel.lanes; i++) {
            final int l = ChannelLayout.lane(channel.header, i);
            rings[i] = channel.ring(i);
            heads[i] = view.getLongAcquire(l + ChannelLayout.HEAD);
            cleared[i] = view.getLongAcquire(l + ChannelLayout.CLEARED);
            if (((heads[i] | cleared[i]) & 7) != 0 || heads[i] - cleared[i] < 0 || heads[i] - cleared[i] > ringBytes) {
                close();
                throw channel.corrupted("channel lane head", heads[i], "lane=" + i + ", cleared=" + cleared[i]);
            }
            // TAIL read before and after the walk: a live producer publishes before it moves TAIL,
            // so the first is never past the walk's end, and the second lags it by a record at most.
            final long tailBefore = view.getLongAcquire(l + ChannelLayout.TAIL);
            final long end = channel.publishedEnd(rings[i], heads[i], cleared[i]);
            final String tail = end < 0 ? null : channel.tailProblem(tailBefore, end, view.getLongAcquire(l + ChannelLayout.TAIL));
            if (tail != null) {
                close();
                throw channel.corrupted("channel lane tail", tailBefore, "lane=" + i + ", head=" + heads[i] + ": " + tail);
            }
            laneWords[i] = l;
            redeliverAt[i] = view.getLongAcquire(l + ChannelLayout.IN_HAND) == heads[i] + 1 ? heads[i] : -1;
            redeliveryPending |= redeliverAt[i] >= 0;
        }
    }

    /**
     * Delivers up to {@code limit} messages to {@code handler}, in place. If the handler throws,
     * the message it threw on counts as delivered and the exception propagates.
     *
     * @return the number delivered
     * @throws ArenaCorruptedException if a lane's position or a record's length is out of range
     * @throws IllegalStateException   if this consumer was closed: its place may be another's now,
     *                                 and its HEADs, cached here, would deliver that one's messages
     *                                 again; or if called from inside its own handler (the message in
     *                                 hand is still at HEAD: it would be delivered twice)
     * @throws IllegalArgumentException if {@code limit} is below 1
     * @throws NullPointerException     if {@code handler} is null (before any message is taken)
     */
    public int poll(final MessageHandler handler, final int limit) {
        if (closed) {
            throw new IllegalStateException("consumer closed: channel=0x" + Integer.toHexString(channel.header));
        }
        if (polling) {
            throw new IllegalStateException("poll called from inside its own handler: channel=0x"
                + Integer.toHexString(channel.header));
        }
        Objects.requireNonNull(handler, "handler");
        if (limit < 1) {
            throw new IllegalArgumentException("limit below 1: " + limit);
        }
        polling = true;
        try {
            if (lanes == 1) {
                return pollLane(0, handler, limit);
            }
            int delivered = 0;
            for (int n = 0; n < lanes && delivered < limit && !closed; n++) {
                final int lane = nextLane;
                nextLane = lane + 1 == lanes ? 0 : lane + 1;
                delivered += pollLane(lane, handler, limit - delivered);
            }
            return delivered;
        } finally {
            polling = false;
        }
    }

    private int pollLane(final int lane, final MessageHandler handler, final int limit) {
        final int l = laneWords[lane];
        final int ring = rings[lane];
        final int ringBytes = this.ringBytes;
        final int mask = ringBytes - 1;
        final long start = heads[lane];
        long head = start;
        int delivered = 0;
        // A ring's worth consumed and not yet cleared: the word at HEAD is an old record's, and
        // nothing can be published there before CLEARED moves.
        while (delivered < limit && head - cleared[lane] < ringBytes) {
            final int index = (int) (head & mask);
            // A plain load and an acquire fence: the ordering of an acquire load, without the
            // alignment check a var handle's acquire access makes on every call.
            final int stamp = view.getInt(ring + index + ChannelLayout.LENGTH);
            VarHandle.acquireFence();
            if (stamp == ChannelLayout.UNPUBLISHED) {
                break;
            }
            final int bytes = ChannelLayout.publishedBytes(stamp, index, ringBytes, maxMessage);
            final long next = head + bytes;
            // Every step moves HEAD forward, within the ring and within a ring of CLEARED (nothing
            // is published past it): the walk ends.
            if (bytes < 0 || next - cleared[lane] > ringBytes) {
                throw badPosition(stamp, lane, head);
            }
            if (stamp == ChannelLayout.PADDING) {
                // The rest of the ring, up to its end.
                // HEAD passes the padding now, before the next message's IN_HAND is said: a
                // successor knows a message was in hand by IN_HAND == HEAD + 1, which a padding
                // left between HEAD and the message would hide (it would deliver the message
                // again without saying so).
                head = next;
                heads[lane] = next;
                VarHandle.releaseFence();
                view.putLong(l + ChannelLayout.HEAD, next);
                continue;
            }
            final int length = stamp - 1;
            if (redeliveryPending) {
                redelivering = head == redeliverAt[lane];
            }
            // Said before the handler runs (same line as HEAD, which this consumer owns): if this
            // consumer dies inside the handler, its successor knows the message was in hand.
            VarHandle.releaseFence();
            view.putLong(l + ChannelLayout.IN_HAND, head + 1);
            final int at = ring + index;
            try {
                handler.onMessage(view, view.getInt(at + ChannelLayout.TYPE), at + ChannelLayout.RECORD_HEADER, length);
            } finally {
                // Delivered, even if the handler threw: HEAD moves past it now, so no live consumer
                // sees it again. Killed before this store, the successor delivers it again.
                delivered(lane, l + ChannelLayout.HEAD, next);
            }
            head = next;
            delivered++;
            if (closed) {
                // The handler closed this consumer: its place is given up, the next is another's.
                return delivered;
            }
        }
        if (head == start) {
            reapIfDead(lane, l);
        }
        if (head - cleared[lane] >= clearBatch) {
            clear(lane, l, head);
        }
        return delivered;
    }

    /**
     * Zeroes what was consumed since CLEARED and moves CLEARED to {@code head}: the producer may
     * write there again only then, and finds every LENGTH word it has not published 0. Done in
     * batches of {@link #clearBatch} bytes, not per message: a reply the caller sends after a poll
     * is then rarely held up behind the zeroing's stores (x86 makes stores visible in order, so the
     * reply's publication would wait for the zeroed line to be taken back from the producer's
     * core), and a batch is small enough to be zeroed while still in this core's first-level cache.
     */
    private void clear(final int lane, final int l, final long head) {
        CrashPoints.at(ChannelPoint.CLEARING);
        // HEAD (a plain store) is seen before the zeroes: a producer attaching reads HEAD, then
        // the words after it, and must not meet a zeroed record with the HEAD before it (on x86
        // stores are seen in order; on aarch64 and to the JIT, plain stores are not).
        VarHandle.releaseFence();
        Channel.zero(view, rings[lane], ringBytes, cleared[lane], head);
        CrashPoints.at(ChannelPoint.CLEARED_ZEROED);
        cleared[lane] = head;
        view.putLongRelease(l + ChannelLayout.CLEARED, head);
    }

    /** After a message's handler returned or threw: HEAD moves past it. */
    private void delivered(final int lane, final int headWord, final long next) {
        if (redeliveryPending) {
            redelivering = false;
            redeliverAt[lane] = -1;
            redeliveryPending = anyRedelivery();
        }
        CrashPoints.at(ChannelPoint.DELIVERED);
        heads[lane] = next;
        VarHandle.releaseFence();
        view.putLong(headWord, next);
    }

    /** Built only on the failure path (kept out of the poll loop's code). */
    private ArenaCorruptedException badPosition(final int stamp, final int lane, final long head) {
        return channel.corrupted("channel record length", stamp, "lane=" + lane + ", position=" + head);
    }

    private boolean anyRedelivery() {
        for (final long at : redeliverAt) {
            if (at >= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * A drained lane whose producer died is reported once and made free for reuse (one CAS of its
     * owner word, from the dead owner's). The look at liveness reads {@code /proc}, so it is kept
     * off the spin path: only every {@value #EMPTY_POLLS_PER_CHECK} empty polls of the lane, and at
     * most every 50 ms.
     */
    private void reapIfDead(final int lane, final int l) {
        if (++emptyPolls[lane] < EMPTY_POLLS_PER_CHECK) {
            return;
        }
        emptyPolls[lane] = 0;
        final long owner = view.getLongAcquire(l + ChannelLayout.OWNER);
        if (owner == 0) {
            return;
        }
        final long now = System.nanoTime();
        if (now - nextLivenessCheck[lane] < 0) {
            return;
        }
        nextLivenessCheck[lane] = now + LIVENESS_PERIOD_NANOS;
        final long pid = view.getLongAcquire(l + ChannelLayout.OWNER_PID);
        if (!ownership.isAlive(owner) && channel.drained(lane)) {
            CrashPoints.at(ChannelPoint.REAPING);
            // A dead owner's word never comes back to life, so the CAS frees the lane only if no
            // producer took it over meanwhile (that one reported the death itself).
            if (ownership.release(view.segment(), Integer.toUnsignedLong(l + ChannelLayout.OWNER), owner)) {
                channel.recordDeadProducer(pid);
            }
        }
    }

    /**
     * For a handler: whether the message it is handling now may have been handled before, by a
     * consumer that died inside its handler for it (the at-least-once case). A handler whose work
     * is not idempotent checks this; a free of memory the message owns is harmless to repeat only
     * while nothing has been handed that memory again.
     *
     * @return true only during a handler call for such a message
     */
    public boolean redelivered() {
        return redelivering;
    }

    /**
     * Waits for at least one message with {@code idle}, up to {@code timeoutNanos}.
     *
     * @return the number delivered, 0 on timeout
     */
    public int poll(final MessageHandler handler, final int limit, final IdleStrategy idle, final long timeoutNanos) {
        final long start = System.nanoTime();
        idle.reset();
        int n;
        while ((n = poll(handler, limit)) == 0) {
            if (System.nanoTime() - start >= timeoutNanos) {
                return 0;
            }
            idle.idle();
        }
        return n;
    }

    /**
     * @return producers found dead since this consumer attached, by this consumer or by a producer
     * that took a dead one's drained lane over
     */
    public long deadProducers() {
        return view.getLongAcquire(channel.header + ChannelLayout.DEAD_PRODUCERS) - deadAtAttach;
    }

    /** @return the pid of the last producer found dead, 0 if none */
    public long lastDeadPid() {
        return view.getLongAcquire(channel.header + ChannelLayout.LAST_DEAD_PID);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ownership.release(view.segment(), Integer.toUnsignedLong(channel.header + ChannelLayout.CONSUMER), token);
        }
    }
}
