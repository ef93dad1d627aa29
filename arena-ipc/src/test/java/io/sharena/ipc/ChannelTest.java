package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.layout.ChannelLayout;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChannelTest {
    @TempDir
    Path dir;
    SharedArena arena;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("c.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    private static byte[] message(final int seq, final int length) {
        final byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seq * 31 + i);
        }
        return b;
    }

    @Test
    void offerPollInOrderAcrossManyWrapArounds() {
        Channel.create(arena, "q", 1, 4096, 1000);
        final Channel ch = Channel.open(arena, "q");
        final List<byte[]> got = new ArrayList<>();
        try (ChannelProducer p = ch.producer(); ChannelConsumer c = ch.consumer()) {
            int sent = 0;
            int received = 0;
            while (received < 2000) {
                while (sent < 2000 && p.offer(sent, message(sent, sent % 997), 0, sent % 997)) {
                    sent++;
                }
                received += c.poll((view, type, ptr, len) -> {
                    final byte[] b = new byte[len];
                    view.getBytes(ptr, b, 0, len);
                    assertEquals(got.size(), type);
                    got.add(b);
                }, 100);
            }
        }
        for (int i = 0; i < 2000; i++) {
            assertArrayEquals(message(i, i % 997), got.get(i), "message " + i);
        }
    }

    @Test
    void limitsAndResults() {
        final Channel ch = Channel.create(arena, "q", 1, 4096, 1000);
        assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, "q", 1, 4096, 10), "name taken");
        assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, "x", 0, 4096, 10));
        assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, "x", 1, 5000, 10));
        assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, "x", 1, 4096, 2000));
        assertThrows(IllegalArgumentException.class, () -> Channel.open(arena, "none"));
        try (ChannelProducer p = ch.producer(); ChannelConsumer c = ch.consumer()) {
            assertFalse(p.offer(0, new byte[1001], 0, 1001), "larger than the maximum");
            assertEquals(ChannelProducer.TOO_LARGE, p.offer(0, new byte[1001], 0, 1001, new NoOpIdleStrategy(), 1000));
            int queued = 0;
            while (p.offer(0, new byte[100], 0, 100)) {
                queued++;
            }
            assertEquals(4096 / ChannelLayout.recordBytes(100), queued, "full at the ring's size");
            assertEquals(ChannelProducer.TIMEOUT, p.offer(0, new byte[100], 0, 100, new NoOpIdleStrategy(), 1_000_000));
            assertThrows(IllegalStateException.class, ch::producer, "one lane only");
            assertEquals(1, c.poll((v, t, ptr, l) -> { }, 1, new BusySpinIdleStrategy(), 0), "one waiting");
            assertEquals(queued - 1, c.poll((v, t, ptr, l) -> { }, 1000));
            assertEquals(0, c.poll((v, t, ptr, l) -> { }, 1000, new NoOpIdleStrategy(), 1_000_000), "timeout");
        }
    }

    @Test
    void claimCommitWritesInPlaceAndPointerMessagesCarryPages() {
        final Channel ch = Channel.create(arena, "q", 2, 8192, 64);
        try (ChannelProducer p = ch.producer(); ChannelConsumer c = ch.consumer()) {
            final int big = arena.allocPages(16);
            arena.raw().fill(big, 16 * 4096, (byte) 7);
            final int payload = p.claim(42, 8);
            assertTrue(payload != 0);
            arena.raw().putInt(payload, big);
            arena.raw().putInt(payload + 4, 16);
            assertEquals(0, c.poll((v, t, ptr, l) -> { }, 10), "nothing before commit");
            p.commit();
            assertThrows(IllegalStateException.class, p::commit);
            final int[] seen = new int[3];
            assertEquals(1, c.poll((v, type, ptr, len) -> {
                seen[0] = type;
                final int pages = v.getInt(ptr);
                final int n = v.getInt(ptr + 4);
                seen[1] = v.getByte(pages + n * 4096 - 1); // read the 64 KiB in place
                arena.freePages(pages, n);                // and free it
                seen[2] = len;
            }, 10));
            assertArrayEquals(new int[] {42, 7, 8}, seen);
            assertEquals(0, arena.lenient().getByte(big), "freed by the receiver");
        }
    }

    @Test
    void aDeadProducersLaneTakenOverByANewProducerIsStillReported() throws Exception {
        final Channel ch = Channel.create(arena, "q", 1, 4096, 100);
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        try (ChannelConsumer c = ch.consumer()) {
            // The only lane belongs to a producer that died with its lane drained.
            final int lane = ChannelLayout.lane(NamedRoots.of(arena).get("q"), 0);
            arena.raw().putLongVolatile(lane + ChannelLayout.OWNER_PID, gone.pid());
            arena.raw().putLongVolatile(lane + ChannelLayout.OWNER, ChannelOwnershipTest.DEAD_OWNER);
            assertEquals(0, c.deadProducers());
            try (ChannelProducer p = ch.producer()) {
                assertEquals(0, p.lane(), "the abandoned lane is taken over");
                assertEquals(1, c.deadProducers(), "and the death is reported all the same");
                assertEquals(gone.pid(), c.lastDeadPid());
                assertTrue(p.offer(0, new byte[8], 0, 8));
                assertEquals(1, c.poll((v, t, ptr, l) -> { }, 10));
            }
        }
    }

    @Test
    void producerWaitingOnADeadConsumerGivesUp() throws Exception {
        final Channel ch = Channel.create(arena, "q", 1, 4096, 100);
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final int header = NamedRoots.of(arena).get("q");
        arena.raw().putLongVolatile(header + ChannelLayout.CONSUMER_PID, gone.pid());
        arena.raw().putLongVolatile(header + ChannelLayout.CONSUMER, ChannelOwnershipTest.DEAD_OWNER);
        try (ChannelProducer p = ch.producer()) {
            while (p.offer(0, new byte[50], 0, 50)) {
                // fill it
            }
            assertFalse(ch.consumerAlive());
            assertEquals(ChannelProducer.CONSUMER_DEAD,
                p.offer(0, new byte[50], 0, 50, new BusySpinIdleStrategy(), 5_000_000_000L));
        }
        try (ChannelConsumer c = ch.consumer()) {
            assertTrue(ch.consumerAlive(), "a new consumer takes the dead one's place");
            assertThrows(IllegalStateException.class, ch::consumer, "only one live consumer");
            assertTrue(c.poll((v, t, ptr, l) -> { }, 1000) > 0, "messages left by the producer are still there");
        }
    }
}
