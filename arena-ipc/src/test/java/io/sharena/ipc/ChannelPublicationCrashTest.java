package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoint;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelPoint;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A channel's records are published by their own LENGTH word, and the consumer zeroes what it
 * consumed a quarter ring at a time. Real child processes are killed at each step of that: a
 * producer in the middle of a record (before, at and after its publication, TAIL not yet moved),
 * and a consumer that moved HEAD but had not yet zeroed. After each kill, every published message
 * arrives once, in order and intact, and the lane or the consumer's place serves a successor across
 * several wraps with nothing of the dead one's half-written bytes read as a message.
 */
class ChannelPublicationCrashTest {
    private static final int RING = 4096;
    private static final int FILL = 0x5A;

    @TempDir
    Path dir;

    /** Message {@code seq}: its number, then bytes that are never 0; 4 to 103 bytes long. */
    static byte[] message(final int seq) {
        final byte[] msg = new byte[4 + seq % 100];
        Arrays.fill(msg, (byte) FILL);
        ByteBuffer.wrap(msg).order(ByteOrder.nativeOrder()).putInt(0, seq);
        return msg;
    }

    private static ChildJvm killedAt(final CrashPoint point, final long skip, final String... args) throws Exception {
        final ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point.id(),
            "-Dsharena.crashpoint.skip=" + skip, "-Dsharena.crashpoint.action=kill"), args);
        return child;
    }

    /** One poll, checking each message is the next one, whole. */
    private static int pollChecked(final ChannelConsumer consumer, final int[] next) {
        return consumer.poll((view, type, ptr, length) -> {
            final byte[] b = new byte[length];
            view.getBytes(ptr, b, 0, length);
            assertArrayEquals(message(next[0]), b, "message " + next[0] + " (type " + type + ")");
            next[0]++;
        }, 16);
    }

    /** Polls until {@code until} messages arrived in all, checking each is the next one, whole. */
    private static int receive(final ChannelConsumer consumer, final int[] next, final int until) {
        final long deadline = System.nanoTime() + 30_000_000_000L;
        int got = 0;
        while (next[0] < until && System.nanoTime() < deadline) {
            got += pollChecked(consumer, next);
        }
        return got;
    }

    static Stream<Arguments> producerKills() {
        // Skips: the first record, one in the first lap, and ones past wraps (the consumer drains meanwhile).
        final List<Arguments> all = new ArrayList<>();
        for (final ChannelPoint point : List.of(ChannelPoint.CLAIMED, ChannelPoint.COMMITTING, ChannelPoint.PUBLISHED)) {
            for (final long skip : new long[] {0, 37, 211, 400}) {
                all.add(Arguments.of(point, skip));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} skip {1}")
    @MethodSource("producerKills")
    void aProducerKilledInARecordLeavesWhatItPublishedAndALaneThatServesItsSuccessor(final ChannelPoint point,
                                                                                      final long skip) throws Exception {
        final Path file = dir.resolve("p.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final Channel channel = Channel.create(arena, "c", 1, RING, 1000);
            try (ChannelConsumer consumer = channel.consumer()) {
                final int[] next = {0};
                try (ChildJvm child = killedAt(point, skip, "producefill", file.toString(), "c", "1000")) {
                    while (ProcessHandle.of(child.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                        pollChecked(consumer, next);
                    }
                    assertTrue(child.output().contains("crashpoint: " + point.id() + " kill"), child.output().toString());
                    assertEquals(128 + 9, child.waitFor(10));
                }
                // Everything published arrives: up to the killed record, or with it once its LENGTH was stored.
                final int published = (int) skip + (point == ChannelPoint.PUBLISHED ? 1 : 0);
                receive(consumer, next, published);
                assertEquals(published, next[0]);
                assertEquals(0, consumer.poll((view, type, ptr, length) -> { }, 16), "nothing past it");
                // The dead producer's drained lane is taken over; its records start where the dead one's ended.
                final int[] again = {0};
                try (ChannelProducer successor = channel.producer()) {
                    for (int seq = 0; seq < 600; seq++) {
                        final byte[] msg = message(seq);
                        assertTrue(successor.offer(2, msg, 0, msg.length));
                        // Each message taken at once: the consumer then waits on the word past it,
                        // where the dead producer's half-written record may lie.
                        receive(consumer, again, seq + 1);
                        assertEquals(0, consumer.poll((view, type, ptr, length) -> { }, 16), "nothing past message " + seq);
                    }
                    receive(consumer, again, 600);
                }
                assertEquals(600, again[0]);
                assertEquals(0, consumer.poll((view, type, ptr, length) -> { }, 16));
            }
        }
    }

    @Test
    void aConsumerKilledBeforeZeroingWhatItConsumedLeavesItsSuccessorEveryMessageAfterOnce() throws Exception {
        final Path file = dir.resolve("c.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final Channel channel = Channel.create(arena, "c", 1, RING, 1000);
            try (ChannelProducer producer = channel.producer()) {
                // 60 messages of 4 to 63 bytes. The child polls 16 at a time: 992 bytes of records
                // after two polls, under the quarter ring (1,024) a consumer clears at, 1,800 after
                // the third, which then clears: it dies there with 48 delivered and 12 left.
                for (int seq = 0; seq < 60; seq++) {
                    final byte[] msg = message(seq);
                    assertTrue(producer.offer(1, msg, 0, msg.length));
                }
                try (ChildJvm child = killedAt(ChannelPoint.CLEARING, 0, "drain", file.toString(), "c")) {
                    assertEquals(128 + 9, child.waitFor(60), child.output().toString());
                    assertTrue(child.output().contains("crashpoint: " + ChannelPoint.CLEARING.id() + " kill"),
                        child.output().toString());
                }
                try (ChannelConsumer successor = channel.consumer()) {
                    // The dead consumer moved HEAD past what it delivered: the successor starts there.
                    final int[] first = {-1};
                    successor.poll((view, type, ptr, length) -> first[0] = view.getInt(ptr), 1);
                    assertEquals(48, first[0], "the first message after those the dead consumer delivered");
                    final int[] next = {first[0] + 1};
                    // Then several wraps' worth through the space the dead consumer left unzeroed.
                    for (int seq = 60; seq < 800; seq++) {
                        final byte[] msg = message(seq);
                        while (!producer.offer(1, msg, 0, msg.length)) {
                            receive(successor, next, next[0] + 1);
                        }
                    }
                    receive(successor, next, 800);
                    assertEquals(800, next[0]);
                    assertEquals(0, successor.poll((view, type, ptr, length) -> { }, 16));
                }
            }
        }
    }

    /** Drains what {@code child} publishes until it is dead, then what is left; asserts it died at PUBLISHED. */
    private static int drainUntilDead(final ChannelConsumer consumer, final ChildJvm child) throws Exception {
        int got = 0;
        while (ProcessHandle.of(child.pid()).map(ProcessHandle::isAlive).orElse(false)) {
            got += consumer.poll((view, type, ptr, length) -> { }, 16);
        }
        assertEquals(128 + 9, child.waitFor(60), child.output().toString());
        assertTrue(child.output().contains("crashpoint: " + ChannelPoint.PUBLISHED.id() + " kill"), child.output().toString());
        for (int i = 0; i < 100; i++) {
            got += consumer.poll((view, type, ptr, length) -> { }, 16);
        }
        return got;
    }

    /**
     * Two producers of one lane in turn, each killed between its record's publication and its TAIL
     * store: a producer stored TAIL only when it committed, so the second left TAIL behind both
     * records, further than one death can leave it, and every producer and consumer after that took
     * the lane for damaged (for good: check named it, its repair did not mend it). A producer now
     * catches TAIL up with what is published when it takes the lane.
     */
    @Test
    void twoProducersKilledInTurnAfterPublishingLeaveALaneTheNextProducerAndConsumerUse() throws Exception {
        final Path file = dir.resolve("t.arena");
        final int max = 200;
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final Channel channel = Channel.create(arena, "c", 1, RING, max);
            try (ChannelConsumer consumer = channel.consumer()) {
                try (ChildJvm a = killedAt(ChannelPoint.PUBLISHED, 3, "producesize", file.toString(), "c", "1000",
                    Integer.toString(max))) {
                    assertEquals(4, drainUntilDead(consumer, a), "three messages and the one published at the kill");
                }
                try (ChildJvm b = killedAt(ChannelPoint.PUBLISHED, 0, "producesize", file.toString(), "c", "1000",
                    Integer.toString(max))) {
                    assertEquals(1, drainUntilDead(consumer, b), "the message published at the kill");
                }
                assertEquals(List.of(), Channel.check(arena));
                try (ChannelProducer c = channel.producer()) {
                    assertTrue(c.offer(1, new byte[8], 0, 8));
                }
                assertEquals(1, consumer.poll((view, type, ptr, length) -> { }, 16));
            }
            try (ChannelConsumer again = channel.consumer()) {
                assertEquals(0, again.poll((view, type, ptr, length) -> { }, 16));
            }
            assertEquals(List.of(), Channel.check(arena));
        }
    }

    /**
     * A consumer killed between zeroing what it consumed and moving CLEARED, after a producer was
     * killed before moving TAIL past its last record: the zeros run from CLEARED to HEAD, past
     * TAIL, which check took for HEAD moved over messages (a violation no repair cleared); it now
     * tells them by the message the consumer handled last, which lies among them.
     */
    @Test
    void aConsumerKilledBetweenItsZeroingAndItsClearedStoreLeavesACleanCheck() throws Exception {
        final Path file = dir.resolve("z.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            Channel.create(arena, "c", 1, RING, 200);
        }
        try (ChildJvm producer = killedAt(ChannelPoint.PUBLISHED, 5, "producesize", file.toString(), "c", "1000", "200")) {
            assertEquals(128 + 9, producer.waitFor(60), producer.output().toString());
        }
        try (ChildJvm consumer = killedAt(ChannelPoint.CLEARED_ZEROED, 0, "drain", file.toString(), "c")) {
            assertEquals(128 + 9, consumer.waitFor(60), consumer.output().toString());
            assertTrue(consumer.output().contains("crashpoint: " + ChannelPoint.CLEARED_ZEROED.id() + " kill"),
                consumer.output().toString());
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(List.of(), Channel.check(arena));
            final Channel channel = Channel.open(arena, "c");
            try (ChannelConsumer c = channel.consumer(); ChannelProducer p = channel.producer()) {
                assertTrue(p.offer(1, new byte[8], 0, 8));
                assertEquals(1, c.poll((view, type, ptr, length) -> { }, 16), "only the new message: the six were delivered");
            }
            assertEquals(List.of(), Channel.check(arena));
        }
    }

    /**
     * What the zeros' rule must still tell: HEAD moved by a stray write into the zeroed free space
     * past TAIL, the consumer's last message below CLEARED.
     */
    @Test
    void headMovedIntoTheFreeSpaceIsStillNamed() throws Exception {
        final Path file = dir.resolve("h.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final Channel channel = Channel.create(arena, "c", 1, RING, 200);
            try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
                // Past a quarter ring: the consumer clears all it took.
                for (int i = 0; i < 8; i++) {
                    assertTrue(p.offer(1, new byte[200], 0, 200));
                }
                assertEquals(8, c.poll((view, type, ptr, length) -> { }, 16));
            }
            final int lane = ChannelLayout.lane(NamedRoots.of(arena).get("c"), 0);
            final long head = arena.raw().getLongAcquire(lane + ChannelLayout.HEAD);
            assertEquals(head, arena.raw().getLongAcquire(lane + ChannelLayout.CLEARED));
            arena.raw().putLongRelease(lane + ChannelLayout.HEAD, head + 64);
            final List<String> violations = Channel.check(arena);
            assertEquals(1, violations.size(), violations.toString());
            assertTrue(violations.get(0).contains("lane head past what is published from TAIL"), violations.toString());
        }
    }
}
