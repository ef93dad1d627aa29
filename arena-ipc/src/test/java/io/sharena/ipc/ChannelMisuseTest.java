package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.channel.MessageHandler;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A channel used wrongly: each misuse is an exception at once, and no message is delivered twice or
 * lost for it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChannelMisuseTest {
    @TempDir
    Path dir;
    SharedArena arena;
    Channel channel;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("m.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
        channel = Channel.create(arena, "q", 1, 4096, 100);
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    private static void offer(final ChannelProducer p, final int... types) {
        for (final int type : types) {
            assertTrue(p.offer(type, new byte[8], 0, 8));
        }
    }

    private static List<Integer> drain(final ChannelConsumer c) {
        final List<Integer> types = new ArrayList<>();
        while (c.poll((v, type, ptr, len) -> types.add(type), 100) > 0) {
            // until empty
        }
        return types;
    }

    /** A handler that polled again was handed the message it was handling a second time. */
    @Test
    void aHandlerThatPollsAgainIsRefusedAndTheMessageIsDeliveredOnce() {
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            offer(p, 1, 2);
            final List<Integer> got = new ArrayList<>();
            final List<Throwable> refused = new ArrayList<>();
            c.poll((v, type, ptr, len) -> {
                got.add(type);
                try {
                    c.poll((v2, t2, p2, l2) -> got.add(t2), 1);
                } catch (final IllegalStateException e) {
                    refused.add(e);
                }
            }, 1);
            assertEquals(1, refused.size());
            got.addAll(drain(c));
            assertEquals(List.of(1, 2), got);
        }
    }

    /** A handler that closed its consumer had the poll go on delivering up to its limit. */
    @Test
    void aHandlerThatClosesItsConsumerEndsThePoll() {
        try (ChannelProducer p = channel.producer()) {
            offer(p, 1, 2, 3);
            final ChannelConsumer c = channel.consumer();
            final List<Integer> got = new ArrayList<>();
            assertEquals(1, c.poll((v, type, ptr, len) -> {
                got.add(type);
                c.close();
            }, 10));
            try (ChannelConsumer next = channel.consumer()) {
                got.addAll(drain(next));
            }
            assertEquals(List.of(1, 2, 3), got);
        }
    }

    /** A null handler threw inside the delivery, after HEAD had moved past the message: lost. */
    @Test
    void aNullHandlerIsRefusedBeforeAnyMessageIsTaken() {
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            offer(p, 7);
            assertThrows(NullPointerException.class, () -> c.poll(null, 1));
            assertThrows(IllegalArgumentException.class, () -> c.poll((v, type, ptr, len) -> { }, 0));
            assertEquals(List.of(7), drain(c));
        }
    }

    /** The blocking poll with a limit of 0 delivered nothing and waited out its whole timeout. */
    @Test
    void theBlockingPollRefusesALimitBelowOne() {
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            offer(p, 7);
            final MessageHandler none = (v, type, ptr, len) -> { };
            assertThrows(IllegalArgumentException.class,
                () -> c.poll(none, 0, NoOpIdleStrategy.INSTANCE, Long.MAX_VALUE));
        }
    }

    /** A closed producer, or a negative length, read as "lane full": a blocking offer waited forever. */
    @Test
    void aClosedProducerAndANegativeLengthAreRefusedNotWaitedOn() {
        try (ChannelConsumer c = channel.consumer()) {
            final ChannelProducer p = channel.producer();
            assertThrows(IllegalArgumentException.class, () -> p.claim(1, -1));
            assertThrows(IllegalArgumentException.class,
                () -> p.offer(1, new byte[8], 0, -1, NoOpIdleStrategy.INSTANCE, Long.MAX_VALUE));
            p.close();
            assertThrows(IllegalStateException.class, () -> p.claim(1, 8));
            assertThrows(IllegalStateException.class,
                () -> p.offer(1, new byte[8], 0, 8, NoOpIdleStrategy.INSTANCE, Long.MAX_VALUE));
            assertEquals(List.of(), drain(c));
        }
    }

    /** A maximum message near 2^31 overflowed the record size: created, then unusable. */
    @Test
    void aMaximumMessageWhoseRecordOverflowsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, "huge", 1, 4096, Integer.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, "huge", 1, 4096, Integer.MAX_VALUE - 10));
        assertEquals(0, NamedRoots.of(arena).get("huge"));
    }

    /** A root a user put by hand, inside the user pages at no page start, read as a damaged channel. */
    @Test
    void aUsersRootIsNotAChannel() {
        NamedRoots.of(arena).put("mine", arena.allocPages(1) + 100);
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> Channel.open(arena, "mine"));
        assertTrue(e.getMessage().startsWith("not a channel"), e.getMessage());
    }
}
