package io.sharena.ipc.channel;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.owner.Ownership;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.ChannelLayout;

/**
 * A message channel between processes, in arena pages, found by name through the named roots:
 * one consumer, up to {@link ChannelLayout#MAX_LANES} producer processes (one-to-one is one lane).
 *
 * <pre>{@code
 * Channel.create(arena, "orders", 4, 1 << 16, 1024);          // once
 * try (ChannelProducer p = Channel.open(arena, "orders").producer()) {
 *     p.offer(type, bytes, 0, bytes.length);                  // false when full
 * }
 * try (ChannelConsumer c = Channel.open(arena, "orders").consumer()) {
 *     c.poll((view, type, ptr, length) -> ..., 16);           // read in place
 * }
 * }</pre>
 *
 * <p>Each producer process claims a lane, a single-producer single-consumer ring: messages are
 * ordered per producer and delivered exactly once. Variable-length messages up to the channel's
 * maximum; {@link ChannelProducer#claim}/{@link ChannelProducer#commit} write in place
 * (zero-copy), and a message may carry arena pointers to pages or heap objects that the receiver
 * reads in place and frees.
 *
 * <p><b>Ownership</b>: a lane's producer and the channel's consumer are recorded in owner words
 * of the arena's one ownership primitive ({@link Ownership}): claimed, taken over from a dead
 * owner, and released by one CAS each. So a lane is never half-claimed: two producers can never
 * share one, and a live producer or consumer is never taken for dead in the middle of a change of
 * hands.
 *
 * <p><b>Crash model and delivery</b> (the named points are {@link ChannelPoint}): a producer
 * publishes a record only by a release store of its lane's TAIL, after writing it whole, so a
 * message half-written by a producer that dies is never delivered: it is simply not there. The
 * consumer moves HEAD past each message as soon as its handler returns, or throws (in a
 * {@code finally}): while consumers live, every message is delivered exactly once, and a handler
 * that throws does not get that message, or the ones before it, again. <b>A consumer that dies
 * inside its handler leaves that one message to its successor: at-least-once for the message in
 * hand</b>, exactly once for every other; the successor's handler sees
 * {@link ChannelConsumer#redelivered()} true for it. A redelivered message that frees memory it already freed
 * is harmless while that memory is still free: {@code ObjectHeap.free} of a free object and
 * {@code freePages} of free pages are no-ops. The consumer notices a dead producer once its lane
 * is drained, reports it, and frees the lane for another producer; a producer may also take a dead
 * producer's drained lane over. A producer waiting for room notices a dead consumer and gives up
 * with {@link ChannelProducer#CONSUMER_DEAD}; a new consumer may take a dead one's place.
 *
 * <p><b>Corruption</b>: the header is validated when a channel is opened (lanes, sizes, ring
 * pointers); positions and record lengths read from shared memory are checked before they index a
 * ring. Anything out of range throws {@link ArenaCorruptedException}.
 */
public final class Channel {
    final SharedArena arena;
    final ArenaView view;
    final int header;
    final int lanes;
    final int ringBytes;
    final int maxMessage;
    final Ownership ownership;

    private Channel(final SharedArena arena, final int header) {
        this.arena = arena;
        this.view = arena.raw();
        this.header = header;
        this.ownership = ArenaInternals.ownership(arena);
        if (!Pages.inUserRange(arena, header, 1)) {
            throw corrupted("channel header pointer", Integer.toUnsignedLong(header), "");
        }
        if (view.getIntAcquire(header + ChannelLayout.MAGIC) != ChannelLayout.MAGIC_VALUE) {
            throw new IllegalStateException("not a channel: ptr=0x" + Integer.toHexString(header));
        }
        this.lanes = view.getInt(header + ChannelLayout.LANES);
        this.ringBytes = view.getInt(header + ChannelLayout.RING_BYTES);
        this.maxMessage = view.getInt(header + ChannelLayout.MAX_MESSAGE);
        // Validated once, here: everything else indexes rings with these.
        if (lanes < 1 || lanes > ChannelLayout.MAX_LANES) {
            throw corrupted("channel lane count", lanes, "");
        }
        if (ringBytes < Geometry.PAGE_SIZE || Integer.bitCount(ringBytes) != 1 || ringBytes > arena.capacityBytes()) {
            throw corrupted("channel ring size", ringBytes, "");
        }
        if (maxMessage < 1 || ChannelLayout.recordBytes(maxMessage) > ringBytes / 4) {
            throw corrupted("channel maximum message", maxMessage, "ringBytes=" + ringBytes);
        }
        for (int i = 0; i < lanes; i++) {
            final int ring = view.getInt(ChannelLayout.lane(header, i) + ChannelLayout.RING);
            if (!Pages.inUserRange(arena, ring, ringBytes / Geometry.PAGE_SIZE)) {
                throw corrupted("channel ring pointer", Integer.toUnsignedLong(ring), "lane=" + i);
            }
        }
    }

    /** @return the exception for a corrupted channel (channels have no repair of their own) */
    ArenaCorruptedException corrupted(final String structure, final long value, final String detail) {
        return new ArenaCorruptedException(structure, value, "channel=0x" + Integer.toHexString(header)
            + (detail.isEmpty() ? "" : ", " + detail));
    }

    /**
     * Creates a channel and registers it under {@code name}.
     *
     * @param lanes      producer processes it can have at once (1 .. {@value ChannelLayout#MAX_LANES})
     * @param ringBytes  bytes per lane, a power of two of at least one page ({@value io.sharena.core.layout.Geometry#PAGE_SIZE})
     * @param maxMessage largest payload, at most a quarter of the ring
     * @throws IllegalArgumentException for bad sizes or a name already in use
     * @throws IllegalStateException if the arena has no room
     */
    public static Channel create(final SharedArena arena, final String name, final int lanes, final int ringBytes,
                                 final int maxMessage) {
        if (lanes < 1 || lanes > ChannelLayout.MAX_LANES) {
            throw new IllegalArgumentException("lanes out of range: lanes=" + lanes + ", max=" + ChannelLayout.MAX_LANES);
        }
        if (ringBytes < Geometry.PAGE_SIZE || Integer.bitCount(ringBytes) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two >= " + Geometry.PAGE_SIZE + ": ringBytes=" + ringBytes);
        }
        if (maxMessage < 1 || ChannelLayout.recordBytes(maxMessage) > ringBytes / 4) {
            throw new IllegalArgumentException("max message must be positive and at most a quarter of the ring: "
                + "maxMessage=" + maxMessage + ", ringBytes=" + ringBytes);
        }
        final NamedRoots roots = NamedRoots.of(arena);
        if (roots.contains(name)) {
            throw new IllegalArgumentException("name already in use: name=" + name);
        }
        final int header = Pages.allocate(arena, 1, Pages.SETUP_TIMEOUT_NANOS);
        final int[] rings = new int[lanes];
        boolean ok = header != 0;
        for (int i = 0; ok && i < lanes; i++) {
            rings[i] = Pages.allocate(arena, ringBytes / Geometry.PAGE_SIZE, Pages.SETUP_TIMEOUT_NANOS);
            ok = rings[i] != 0;
        }
        if (!ok) {
            release(arena, header, rings, ringBytes);
            throw new IllegalStateException("no room for the channel: name=" + name + ", lanes=" + lanes
                + ", ringBytes=" + ringBytes);
        }
        final ArenaView v = arena.raw();
        v.putInt(header + ChannelLayout.LANES, lanes);
        v.putInt(header + ChannelLayout.RING_BYTES, ringBytes);
        v.putInt(header + ChannelLayout.MAX_MESSAGE, maxMessage);
        for (int i = 0; i < lanes; i++) {
            v.putInt(ChannelLayout.lane(header, i) + ChannelLayout.RING, rings[i]);
        }
        v.putIntRelease(header + ChannelLayout.MAGIC, ChannelLayout.MAGIC_VALUE);
        CrashPoints.at(ChannelPoint.CREATED);
        final boolean registered;
        try {
            registered = roots.compareAndSet(name, 0, header);
        } catch (final RuntimeException e) {
            release(arena, header, rings, ringBytes); // the roots' lock was busy, say: nothing is left behind
            throw e;
        }
        if (!registered) {
            release(arena, header, rings, ringBytes);
            throw new IllegalArgumentException("name already in use: name=" + name);
        }
        return new Channel(arena, header);
    }

    private static void release(final SharedArena arena, final int header, final int[] rings, final int ringBytes) {
        for (final int ring : rings) {
            arena.freePages(ring, ringBytes / Geometry.PAGE_SIZE);
        }
        arena.freePages(header, 1);
    }

    /**
     * @return the channel registered under {@code name}
     * @throws IllegalArgumentException if there is none
     */
    public static Channel open(final SharedArena arena, final String name) {
        final int header = NamedRoots.of(arena).get(name);
        if (header == 0) {
            throw new IllegalArgumentException("no channel: name=" + name);
        }
        return new Channel(arena, header);
    }

    /** @return this process as a producer, on a lane of its own */
    public ChannelProducer producer() {
        return new ChannelProducer(this);
    }

    /** @return this process as the consumer (taking over from a dead one, if need be) */
    public ChannelConsumer consumer() {
        return new ChannelConsumer(this);
    }

    public int maxMessage() {
        return maxMessage;
    }

    public int lanes() {
        return lanes;
    }

    /**
     * Records that the producer {@code pid} died, once, by whoever freed its lane: the consumer
     * when it finds the lane drained, or a producer that takes the drained lane over first.
     */
    void recordDeadProducer(final long pid) {
        view.putLongRelease(header + ChannelLayout.LAST_DEAD_PID, pid);
        view.getAndAddLong(header + ChannelLayout.DEAD_PRODUCERS, 1);
    }

    /** @return whether a consumer is attached and its process lives */
    public boolean consumerAlive() {
        final long owner = view.getLongAcquire(header + ChannelLayout.CONSUMER);
        return owner != 0 && ownership.isAlive(owner);
    }
}
