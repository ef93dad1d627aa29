package io.sharena.ipc.channel;

import io.sharena.core.ArenaView;
import io.sharena.core.lock.ProcessIdentity;
import io.sharena.ipc.layout.ChannelLayout;
import org.agrona.concurrent.IdleStrategy;

/**
 * The consumer end of a {@link Channel}: polls every lane round-robin, delivering messages in place.
 * Use from one thread at a time.
 */
public final class ChannelConsumer implements AutoCloseable {
    /** Empty polls of a lane between two looks at its producer's liveness. */
    private static final int EMPTY_POLLS_PER_CHECK = 1_024;
    /** And at least this long between two looks, which read {@code /proc}. */
    private static final long LIVENESS_PERIOD_NANOS = 50_000_000L;

    private final Channel channel;
    private final ArenaView view;
    private final long[] nextLivenessCheck;
    private final int[] emptyPolls;
    /** Each lane's ring (fixed at creation) and HEAD (written only by this consumer), kept here. */
    private final int[] rings;
    private final long[] heads;
    private int nextLane;
    /** The channel's death count when this consumer attached: it reports those since. */
    private final long deadAtAttach;
    private boolean closed;

    ChannelConsumer(final Channel channel) {
        this.channel = channel;
        this.view = channel.view;
        this.nextLivenessCheck = new long[channel.lanes];
        this.emptyPolls = new int[channel.lanes];
        this.rings = new int[channel.lanes];
        this.heads = new long[channel.lanes];
        final int pidWord = channel.header + ChannelLayout.CONSUMER_PID;
        final long current = view.getLongAcquire(pidWord);
        if (current != 0 && channel.consumerAlive()) {
            throw new IllegalStateException("the channel already has a live consumer: pid=" + current);
        }
        if (!view.compareAndSetLong(pidWord, current, ProcessIdentity.selfPid())) {
            throw new IllegalStateException("another process became the consumer first: pid="
                + view.getLongAcquire(pidWord));
        }
        view.putLongRelease(channel.header + ChannelLayout.CONSUMER_START, ProcessIdentity.selfStartTicks());
        this.deadAtAttach = view.getLongAcquire(channel.header + ChannelLayout.DEAD_PRODUCERS);
        for (int i = 0; i < channel.lanes; i++) {
            final int l = ChannelLayout.lane(channel.header, i);
            rings[i] = view.getInt(l + ChannelLayout.RING);
            heads[i] = view.getLongAcquire(l + ChannelLayout.HEAD);
        }
    }

    /**
     * Delivers up to {@code limit} messages to {@code handler}, in place.
     *
     * @return the number delivered
     */
    public int poll(final MessageHandler handler, final int limit) {
        int delivered = 0;
        for (int n = 0; n < channel.lanes && delivered < limit; n++) {
            final int lane = nextLane;
            nextLane = lane + 1 == channel.lanes ? 0 : lane + 1;
            delivered += pollLane(lane, handler, limit - delivered);
        }
        return delivered;
    }

    private int pollLane(final int lane, final MessageHandler handler, final int limit) {
        final int l = ChannelLayout.lane(channel.header, lane);
        final long tail = view.getLongAcquire(l + ChannelLayout.TAIL);
        long head = heads[lane];
        if (head == tail) {
            reapIfDead(lane, l, head);
            return 0;
        }
        final int ring = rings[lane];
        final int mask = channel.ringBytes - 1;
        int delivered = 0;
        while (head < tail && delivered < limit) {
            final int index = (int) (head & mask);
            final int length = view.getInt(ring + index + ChannelLayout.LENGTH);
            if (length == ChannelLayout.PADDING) {
                head += channel.ringBytes - index;
                continue;
            }
            handler.onMessage(view, view.getInt(ring + index + ChannelLayout.TYPE),
                ring + index + ChannelLayout.RECORD_HEADER, length);
            head += ChannelLayout.recordBytes(length);
            delivered++;
        }
        // Frees the space: the producer may now overwrite what was delivered.
        heads[lane] = head;
        view.putLongRelease(l + ChannelLayout.HEAD, head);
        return delivered;
    }

    /**
     * A drained lane whose producer died (or left) is reported once and made free for reuse. The
     * look at liveness reads {@code /proc}, so it is kept off the spin path: only every
     * {@value #EMPTY_POLLS_PER_CHECK} empty polls of the lane, and at most every 50 ms.
     */
    private void reapIfDead(final int lane, final int l, final long head) {
        if (++emptyPolls[lane] < EMPTY_POLLS_PER_CHECK) {
            return;
        }
        emptyPolls[lane] = 0;
        final long owner = view.getLongAcquire(l + ChannelLayout.OWNER_PID);
        if (owner == 0) {
            return;
        }
        final long now = System.nanoTime();
        if (now - nextLivenessCheck[lane] < 0) {
            return;
        }
        nextLivenessCheck[lane] = now + LIVENESS_PERIOD_NANOS;
        if (!ProcessIdentity.isAlive(owner, view.getLongAcquire(l + ChannelLayout.OWNER_START))
            && view.getLongAcquire(l + ChannelLayout.TAIL) == head
            && view.compareAndSetLong(l + ChannelLayout.OWNER_PID, owner, 0)) {
            channel.recordDeadProducer(owner);
        }
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

    /** @return how many lanes have a live producer now */
    public int liveProducers() {
        int live = 0;
        for (int i = 0; i < channel.lanes; i++) {
            final int l = ChannelLayout.lane(channel.header, i);
            final long owner = view.getLongAcquire(l + ChannelLayout.OWNER_PID);
            if (owner != 0 && ProcessIdentity.isAlive(owner, view.getLongAcquire(l + ChannelLayout.OWNER_START))) {
                live++;
            }
        }
        return live;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            view.putLongRelease(channel.header + ChannelLayout.CONSUMER_START, 0);
            view.putLongRelease(channel.header + ChannelLayout.CONSUMER_PID, 0);
        }
    }
}
