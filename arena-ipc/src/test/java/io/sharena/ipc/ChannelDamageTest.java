package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A channel's header and rings damaged by a stray write where a corrupted-file campaign found the
 * damage unnoticed: a padding record at HEAD, a made channel's magic reading "being created", ring
 * words naming the header, another lane's ring or another structure's pages. Each is refused with
 * {@link ArenaCorruptedException} or named by the check, nothing is given back that a structure
 * holds, and no message is skipped without a word.
 */
class ChannelDamageTest {
    private static final int RING = 1 << 14;
    private static final int MAX = 200;

    @TempDir
    Path dir;
    SharedArena arena;
    ArenaView v;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("c.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
        v = arena.raw();
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    private int header(final String name) {
        return NamedRoots.of(arena).get(name);
    }

    private int ringWord(final String name, final int lane) {
        return ChannelLayout.lane(header(name), lane) + ChannelLayout.RING;
    }

    private long allocated() {
        return ChannelCreationCrashTest.allocatedPages(arena);
    }

    /** @return the types of the messages a poll delivers */
    private static List<Integer> drain(final ChannelConsumer c) {
        final List<Integer> types = new ArrayList<>();
        while (c.poll((view, type, ptr, length) -> types.add(type), 64) > 0) {
            continue;
        }
        return types;
    }

    /**
     * Messages of every size up to the maximum over twenty laps of the ring: each padding the
     * producer writes is one the consumer passes (the bound a padding now has is one every real
     * padding keeps).
     */
    @Test
    void everyPaddingAProducerWritesIsPassed() {
        final Channel channel = Channel.create(arena, "c", 1, RING, MAX);
        final Random random = new Random(7);
        int sent = 0;
        int received = 0;
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            while (sent < 20 * RING / 64) {
                final int length = random.nextInt(MAX + 1);
                if (p.offer(sent, new byte[length], 0, length)) {
                    sent++;
                }
                for (final int type : drain(c)) {
                    assertEquals(received++, type);
                }
            }
            for (final int type : drain(c)) {
                assertEquals(received++, type);
            }
        }
        assertEquals(sent, received);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * A padding written at HEAD, more than the largest record from the ring's end: the consumer
     * skipped every message it covered without a word. It throws now; the check and a producer
     * successor consumer say the same.
     */
    @Test
    void aPaddingWhereNoProducerPadsThrowsInsteadOfSkippingMessages() {
        final Channel channel = Channel.create(arena, "c", 1, RING, MAX);
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            for (int i = 0; i < 10; i++) {
                assertTrue(p.offer(i, new byte[40], 0, 40));
            }
            assertEquals(3, c.poll((view, type, ptr, length) -> { }, 3));
            final int head = (int) v.getLongAcquire(ChannelLayout.lane(header("c"), 0) + ChannelLayout.HEAD);
            v.putIntRelease(v.getInt(ringWord("c", 0)) + head + ChannelLayout.LENGTH, ChannelLayout.PADDING);
            assertEquals("channel record length",
                assertThrows(ArenaCorruptedException.class, () -> c.poll((view, type, ptr, length) -> { }, 16)).structure());
            assertEquals(1, IpcCheck.check(arena).size(), IpcCheck.check(arena).toString());
            assertTrue(IpcCheck.check(arena).get(0).startsWith("channel c: record length out of range"),
                IpcCheck.check(arena).toString());
        }
        try (ChannelConsumer next = Channel.open(arena, "c").consumer()) {
            assertEquals("channel record length",
                assertThrows(ArenaCorruptedException.class, () -> next.poll((view, type, ptr, length) -> { }, 16)).structure());
        }
    }

    /**
     * A made channel whose magic a stray write set to "being created": {@code Channel.open} took it
     * for a dead creator's half-made channel and gave it back (messages lost, a ring that held some
     * left allocated and named by nothing). Now open refuses it, create leaves it, the check names
     * it, and the repair restores the magic with every message there.
     */
    @Test
    void aMadeChannelWhoseMagicReadsBeingCreatedIsRestoredWithItsMessages() {
        final Channel channel = Channel.create(arena, "used", 2, RING, MAX);
        try (ChannelProducer p = channel.producer()) {
            for (int i = 0; i < 3; i++) {
                assertTrue(p.offer(i, new byte[16], 0, 16));
            }
        }
        Channel.create(arena, "unused", 1, RING, MAX); // made, never attached to: its creator word says it was made
        final long pages = allocated();
        for (final String name : List.of("used", "unused")) {
            v.putIntRelease(header(name) + ChannelLayout.MAGIC, ChannelLayout.MAGIC_CREATING);
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, name));
            assertEquals("channel header magic", x.structure());
            assertThrows(IllegalArgumentException.class, () -> Channel.create(arena, name, 1, RING, MAX));
            assertEquals(pages, allocated(), "nothing given back");
        }
        assertEquals(List.of(
                "channel unused: header magic damaged (the rest of its header is a channel's, made and used): magic=0x43484e43",
                "channel used: header magic damaged (the rest of its header is a channel's, made and used): magic=0x43484e43"),
            IpcCheck.check(arena).stream().sorted().toList());
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertEquals(2, done.stream().filter(d -> d.contains("header magic restored")).count(), done.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
        try (ChannelConsumer c = Channel.open(arena, "used").consumer()) {
            assertEquals(List.of(0, 1, 2), drain(c));
        }
        try (ChannelProducer p = Channel.open(arena, "unused").producer();
             ChannelConsumer c = Channel.open(arena, "unused").consumer()) {
            assertTrue(p.offer(9, new byte[1], 0, 1));
            assertEquals(List.of(9), drain(c));
        }
        assertEquals(pages, allocated());
    }

    /**
     * A lane's TAIL moved forward, or its HEAD moved into the free space, by a stray write, with
     * messages waiting (found by {@code ChannelDamageFuzzTest}): the next producer wrote past a gap
     * the consumer never crossed, or the consumer skipped every waiting message, the check clean.
     * Both are refused now (a producer walks from HEAD, and TAIL must agree with the records it
     * finds), and named by the check.
     */
    @Test
    void aTailOrHeadMovedOverTheRecordsIsRefusedAndNamed() {
        final Channel channel = Channel.create(arena, "c", 1, RING, MAX);
        try (ChannelProducer p = channel.producer()) {
            for (int i = 0; i < 5; i++) {
                assertTrue(p.offer(i, new byte[30], 0, 30));
            }
        }
        final int lane = ChannelLayout.lane(header("c"), 0);
        for (final int word : new int[] {ChannelLayout.TAIL, ChannelLayout.HEAD}) {
            final long was = v.getLongAcquire(lane + word);
            v.putLongRelease(lane + word, was + 4096);
            assertEquals("channel lane tail", assertThrows(ArenaCorruptedException.class, channel::consumer).structure());
            assertEquals("channel lane tail", assertThrows(ArenaCorruptedException.class, channel::producer).structure());
            final List<String> found = IpcCheck.check(arena);
            assertEquals(1, found.size(), found.toString());
            assertTrue(found.get(0).startsWith("channel c: lane tail " + (word == ChannelLayout.TAIL ? "past a gap" : "behind what")),
                found.toString());
            v.putLongRelease(lane + word, was);
        }
        assertEquals(List.of(), IpcCheck.check(arena));
        try (ChannelConsumer c = channel.consumer()) {
            assertEquals(List.of(0, 1, 2, 3, 4), drain(c));
        }
    }

    /**
     * A lane count lowered by a stray write: the lanes past it went unread without a word (found by
     * {@code ChannelDamageFuzzTest}). A lane past the count with a ring is refused now, and the
     * repair raises the count again, the messages there read: from the geometry check, or in a
     * channel made before it ({@code olderChannel}, no check) from the lanes that have rings.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aLaneCountLoweredIsRefusedAndRaisedAgainByTheRepair(final boolean olderChannel) {
        final Channel channel = Channel.create(arena, "c", 3, RING, MAX);
        try (ChannelProducer a = channel.producer(); ChannelProducer b = channel.producer(); ChannelProducer c = channel.producer()) {
            assertEquals(List.of(0, 1, 2), List.of(a.lane(), b.lane(), c.lane()));
            assertTrue(c.offer(30, new byte[3], 0, 3));
        }
        if (olderChannel) {
            v.putLong(header("c") + ChannelLayout.GEOMETRY_CHECK, 0);
        }
        v.putIntRelease(header("c") + ChannelLayout.LANES, 1);
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c"));
        assertEquals("channel lane count", x.structure());
        assertTrue(x.getMessage().contains("lane 2 past it has a ring"), x.getMessage());
        assertEquals(1, IpcCheck.check(arena).size(), IpcCheck.check(arena).toString());
        assertEquals(List.of(olderChannel ? "channel c: lane count raised from 1 to 3 (the lanes past it had rings)"
            : "channel c: lane count restored from its geometry check: 1 -> 3"), IpcCheck.repair(arena, 1_000_000_000L));
        assertEquals(List.of(), IpcCheck.check(arena));
        try (ChannelConsumer c = Channel.open(arena, "c").consumer()) {
            assertEquals(List.of(30), drain(c));
        }
    }

    /**
     * One write doubling a channel's ring size (a hostile-file campaign): the ring's pages then ran
     * into the next page, a user's root's, which the producer wrote messages over and the consumer
     * zeroed, every check clean. The header's geometry check disagrees now: the channel is refused,
     * named by the check, and the repair solves the check for the word that was hit. Each field hit
     * in turn, and the check word itself.
     */
    @ParameterizedTest
    @ValueSource(ints = {ChannelLayout.LANES, ChannelLayout.RING_BYTES, ChannelLayout.MAX_MESSAGE, ChannelLayout.GEOMETRY_CHECK})
    void aGeometryWordHitIsRefusedAndRestoredFromTheCheck(final int word) {
        final Channel channel = Channel.create(arena, "c", 1, RING, MAX);
        final int ring = v.getInt(ChannelLayout.lane(header("c"), 0) + ChannelLayout.RING);
        final int after = ring + RING;
        assertEquals(after, arena.allocPagesAt(after, 1), "the page after the ring is free to take");
        NamedRoots.of(arena).put("plain", after);
        v.fill(after, 4096, (byte) 0x33);
        try (ChannelProducer p = channel.producer()) {
            assertTrue(p.offer(7, new byte[3], 0, 3));
        }
        final int h = header("c");
        switch (word) {
            case ChannelLayout.LANES -> v.putInt(h + word, 2);
            case ChannelLayout.GEOMETRY_CHECK -> v.putLong(h + word, v.getLong(h + word) ^ 0x40);
            case ChannelLayout.MAX_MESSAGE -> v.putInt(h + word, MAX / 2);
            default -> v.putInt(h + word, RING * 2);
        }
        if (word != ChannelLayout.GEOMETRY_CHECK) {
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c").producer());
            assertEquals("channel geometry check", x.structure(), x.getMessage());
        }
        assertFalse(IpcCheck.check(arena).isEmpty());
        final List<String> repaired = IpcCheck.repair(arena, 1_000_000_000L);
        assertEquals(1, repaired.size(), repaired.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
        try (ChannelProducer p = Channel.open(arena, "c").producer(); ChannelConsumer c = Channel.open(arena, "c").consumer()) {
            for (int i = 0; i < 40; i++) { // around the ring several times
                assertTrue(p.offer(8, new byte[MAX], 0, MAX));
                drain(c);
            }
        }
        for (int i = 0; i < 4096; i += 8) {
            assertEquals(0x3333_3333_3333_3333L, v.getLong(after + i), "the user's page is untouched");
        }
    }

    /**
     * RING_BYTES and MAX_MESSAGE are one aligned 8-byte word, which one stray write may hit whole (a
     * review): no single field solved the check, the channel read sound as it was, and the repair
     * wrote the check again for the damage (half a ring kept for good, or refused for good when
     * doubled). The repair solves the pair: each ring size with the largest message it solves to.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"32768,208", "8192,100", "16384,100", "4096,0"})
    void oneWordOverRingSizeAndLargestMessageIsRestored(final int ringHit, final int maxHit) {
        final Channel channel = Channel.create(arena, "c", 1, RING, MAX);
        try (ChannelProducer p = channel.producer()) {
            for (int i = 0; i < 60; i++) { // past half the ring
                assertTrue(p.offer(i, new byte[MAX], 0, MAX));
            }
        }
        final int h = header("c");
        v.putLong(h + ChannelLayout.RING_BYTES, ((long) maxHit << 32) | ringHit);
        assertFalse(IpcCheck.check(arena).isEmpty());
        final List<String> repaired = IpcCheck.repair(arena, 1_000_000_000L);
        assertEquals(1, repaired.size(), repaired.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(RING, v.getInt(h + ChannelLayout.RING_BYTES));
        assertEquals(MAX, v.getInt(h + ChannelLayout.MAX_MESSAGE));
        try (ChannelConsumer c = Channel.open(arena, "c").consumer()) {
            final List<Integer> got = drain(c);
            assertEquals(60, got.size(), got.toString());
        }
    }

    /** Two lanes on one ring, or a ring over the channel's own header: refused when opened, named by the check. */
    @Test
    void aRingOverAnotherLanesRingOrTheHeaderIsRefused() {
        Channel.create(arena, "c", 3, RING, MAX);
        final int own = v.getInt(ringWord("c", 2));
        for (final int ring : new int[] {v.getInt(ringWord("c", 0)), v.getInt(ringWord("c", 1)) + 4096, header("c")}) {
            v.putIntRelease(ringWord("c", 2), ring);
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c"));
            assertEquals("channel ring pointer", x.structure());
            assertTrue(x.getMessage().contains("lane=2, over"), x.getMessage());
            assertEquals(1, IpcCheck.check(arena).size(), IpcCheck.check(arena).toString());
            assertTrue(IpcCheck.check(arena).get(0).startsWith("channel c: arena metadata corrupted: channel ring pointer"),
                IpcCheck.check(arena).toString());
        }
        v.putIntRelease(ringWord("c", 2), own);
        assertEquals(List.of(), IpcCheck.check(arena));
        Channel.open(arena, "c");
    }

    /**
     * A ring word pointed at free pages: the open accepted it, and the producer zeroed and wrote
     * messages into pages the allocator could hand to a new owner (found by an audit of the read
     * paths; the check named it, the open did not). Now the open refuses it.
     */
    @Test
    void aRingOverFreePagesIsRefused() {
        Channel.create(arena, "c", 1, RING, MAX);
        final int own = v.getInt(ringWord("c", 0));
        final int free = arena.allocPages(RING / 4096);
        arena.freePages(free, RING / 4096);
        v.putIntRelease(ringWord("c", 0), free);
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c"));
        assertEquals("channel ring pointer", x.structure());
        assertTrue(x.getMessage().contains("not allocated"), x.getMessage());
        v.putIntRelease(ringWord("c", 0), own);
        Channel.open(arena, "c");
    }

    /**
     * A ring word changed after the channel was opened: producers and consumers made from the
     * open handle read the word again and wrote where it now pointed. They use the rings the open
     * validated.
     */
    @Test
    void aRingWordChangedAfterTheOpenIsNotFollowed() {
        final Channel channel = Channel.create(arena, "c", 1, RING, MAX);
        final int own = v.getInt(ringWord("c", 0));
        v.putIntRelease(ringWord("c", 0), 0x7fff_f000);
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            assertTrue(p.offer(5, new byte[] {1, 2, 3}, 0, 3));
            assertEquals(List.of(5), drain(c));
        }
        v.putIntRelease(ringWord("c", 0), own);
    }

    /**
     * A lane's HEAD not at a record start while its producer holds the lane: a second producer's
     * lane claim looked at the word there and got the JDK's "Misaligned access". Now it is named.
     */
    @Test
    void aMisalignedHeadOnAnOwnedLaneIsNamed() {
        final Channel channel = Channel.create(arena, "c", 2, RING, MAX);
        try (ChannelProducer first = channel.producer()) {
            final int lane = ChannelLayout.lane(header("c"), first.lane());
            v.putLongRelease(lane + ChannelLayout.HEAD, 4);
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, channel::producer);
            assertEquals("channel lane head", x.structure(), x.getMessage());
            v.putLongRelease(lane + ChannelLayout.HEAD, 0);
        }
    }

    /**
     * A ring word pointed at another structure's pages: the heap's metadata page or a slab page of
     * it, the named-roots directory, another channel's header or ring. The next message would have
     * been written over that structure's data (found by a corrupted-file campaign: into the heap's
     * metadata), with the check calling the file clean. Open refuses it now, and the check names both.
     */
    @Test
    void aRingOverAnotherStructuresPagesIsRefusedAndNamedByTheCheck() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int object = heap.allocate(64);
        v.putLong(object, 0x5555_6666_7777_8888L);
        Channel.create(arena, "other", 1, 4096, 64);
        Channel.create(arena, "c", 1, 4096, 64);
        final int own = v.getInt(ringWord("c", 0));
        final int[] targets = {
            header(ObjectHeap.ROOT_NAME),
            object & ~4095,
            v.getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR)),
            header("other"),
            v.getInt(ringWord("other", 0)),
        };
        final String[] holders = {"heap sharena.heap", "heap sharena.heap", "named-roots directory", "channel other", "channel other"};
        for (int i = 0; i < targets.length; i++) {
            v.putIntRelease(ringWord("c", 0), targets[i]);
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c"));
            assertEquals("channel pages", x.structure());
            assertTrue(x.getMessage().contains("held by " + holders[i] + " too: page=" + (targets[i] >>> 12)), x.getMessage());
            final List<String> found = IpcCheck.check(arena);
            final String holder = holders[i];
            final String page = "page=" + (targets[i] >>> 12);
            assertTrue(found.stream().anyMatch(f -> f.startsWith("pages held by two structures, ")
                    && f.contains(holder) && f.contains("channel c") && f.endsWith(page)),
                found.toString());
        }
        v.putIntRelease(ringWord("c", 0), own);
        assertEquals(List.of(), IpcCheck.check(arena));
        try (ChannelProducer p = Channel.open(arena, "c").producer(); ChannelConsumer c = Channel.open(arena, "c").consumer()) {
            assertTrue(p.offer(5, new byte[64], 0, 64));
            assertEquals(List.of(5), drain(c));
        }
        assertEquals(0x5555_6666_7777_8888L, v.getLong(object));
        heap.free(object);
        assertEquals(List.of(), IpcCheck.check(arena));
    }
}
