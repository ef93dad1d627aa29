package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelPoint;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.layout.ChannelLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A producer or consumer paused in the middle of claiming its lane or its channel, while another claims too. */
class ChannelOwnershipTest {
    @TempDir
    Path dir;
    SharedArena arena;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("o.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    /** An owner word whose owner is dead: its registry slot (the last) holds no such generation. */
    static final long DEAD_OWNER = OwnerToken.encode(RegistryLayout.SLOTS - 1, 1, 0);

    /** The lane's producer died with its lane drained: the next producer takes it over. */
    private static void deadLane(final SharedArena arena, final int header) {
        arena.raw().putLongRelease(ChannelLayout.lane(header, 0) + ChannelLayout.OWNER, DEAD_OWNER);
    }

    @Test
    void aSecondProducerNeverTakesTheLaneOfAProducerPausedWhileClaimingIt() throws Exception {
        final Channel channel = Channel.create(arena, "p", 1, 1 << 14, 64);
        deadLane(arena, NamedRoots.of(arena).get("p"));
        final Throwable[] failure = new Throwable[1];
        final ChannelProducer[] first = new ChannelProducer[1];
        try (PointPause pause = new PointPause(ChannelPoint.LANE_CLAIMED)) {
            final Thread t = PointPause.start(() -> first[0] = channel.producer(), failure);
            assertTrue(pause.awaitReached());
            assertThrows(IllegalStateException.class, channel::producer, "the only lane is being claimed");
            pause.release();
            t.join(10_000);
        }
        assertNull(failure[0]);
        try (ChannelProducer p = first[0]; ChannelConsumer c = channel.consumer()) {
            assertTrue(p.offer(7, new byte[8], 0, 8));
            assertEquals(1, c.poll((view, type, ptr, length) -> assertEquals(7, type), 16));
            final long owner = arena.raw().getLongAcquire(ChannelLayout.lane(NamedRoots.of(arena).get("p"), 0)
                + ChannelLayout.OWNER);
            assertTrue(owner != 0 && ArenaInternals.ownership(arena).isAlive(owner), "the claiming producer owns the lane");
        }
    }

    @Test
    void aSecondConsumerNeverTakesTheChannelFromAConsumerPausedWhileClaimingIt() throws Exception {
        final Channel channel = Channel.create(arena, "c", 1, 1 << 14, 64);
        arena.raw().putLongRelease(NamedRoots.of(arena).get("c") + ChannelLayout.CONSUMER, DEAD_OWNER);
        final Throwable[] failure = new Throwable[1];
        final ChannelConsumer[] first = new ChannelConsumer[1];
        try (PointPause pause = new PointPause(ChannelPoint.CONSUMER_CLAIMED)) {
            final Thread t = PointPause.start(() -> first[0] = channel.consumer(), failure);
            assertTrue(pause.awaitReached());
            assertThrows(IllegalStateException.class, channel::consumer, "the channel is being claimed");
            pause.release();
            t.join(10_000);
        }
        assertNull(failure[0]);
        first[0].close();
    }

    /**
     * A consumer handle kept after close: its place went to another consumer, which must be the only
     * one to get the messages (the closed one's HEAD cache would deliver them again).
     */
    @Test
    void aClosedConsumerNoLongerDeliversWhatItsSuccessorDelivers() {
        final Channel channel = Channel.create(arena, "cc", 1, 1 << 14, 64);
        final ChannelConsumer first = channel.consumer();
        first.close();
        try (ChannelConsumer second = channel.consumer(); ChannelProducer producer = channel.producer()) {
            producer.offer(1, new byte[8], 0, 8);
            final List<String> got = new ArrayList<>();
            assertThrows(IllegalStateException.class, () -> first.poll((view, type, ptr, length) -> got.add("first"), 16));
            assertEquals(1, second.poll((view, type, ptr, length) -> got.add("second"), 16));
            assertEquals(List.of("second"), got);
        }
    }

    /**
     * A producer that claimed a record, then closed: its lane went to another producer, and its
     * late commit must not publish the other producer's lane up to a record it never wrote.
     */
    @Test
    void aClosedProducersLateCommitCannotPublishIntoTheLaneItsSuccessorHolds() {
        final Channel channel = Channel.create(arena, "cp", 1, 1 << 14, 256);
        final ChannelProducer first = channel.producer();
        assertTrue(first.claim(7, 200) != 0);
        first.close();
        try (ChannelProducer second = channel.producer(); ChannelConsumer consumer = channel.consumer()) {
            assertEquals(first.lane(), second.lane());
            assertTrue(second.offer(8, new byte[16], 0, 16));
            assertThrows(IllegalStateException.class, first::commit);
            final List<Integer> types = new ArrayList<>();
            consumer.poll((view, type, ptr, length) -> types.add(type), 64);
            assertEquals(List.of(8), types, "only the successor's message is published");
        }
    }
}
