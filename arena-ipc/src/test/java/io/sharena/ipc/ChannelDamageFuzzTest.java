package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Every 4-byte word of a channel's header page, up to the end of its second lane, set to each of a
 * dozen values a stray write leaves (0, all ones, 1, the value moved by a record or a page, a
 * pointer to the heap's metadata or another channel's ring, the being-created magic, a padding),
 * in a file whose channel has messages waiting on both lanes past a lap of its ring. Then the
 * channel is checked, opened, drained, used for one more message, and the other structures read.
 *
 * <p>The oracle: when {@code check} calls the file clean, every message that waited is delivered,
 * once, in its lane's order, the new one too, and the heap's object and the other channel's
 * messages are whole: nothing is lost or made up without a word. When it does not, a use may
 * refuse with {@link ArenaCorruptedException}, {@link IllegalStateException} or
 * {@link IllegalArgumentException} (never another exception, never a hang), and the other
 * structures are whole all the same.
 */
class ChannelDamageFuzzTest {
    private static final int RING = 1 << 14;
    private static final int MAX = 200;
    private static final long OBJECT_VALUE = 0x0123_4567_89AB_CDEFL;

    @TempDir
    Path dir;

    /** A message as the consumer saw it: its type, its length and its first byte. */
    record Message(int type, int length, int first) {
    }

    /** What the base file holds, to compare each case with. */
    record Base(Path file, List<Message> lane0, List<Message> lane1, int heapMeta, int object, int otherRing,
                int[] othersPages, byte[][] othersBytes) {
    }

    /** @return the bytes of the pages at {@code pointers} */
    private static byte[][] pages(final ArenaView v, final int[] pointers) {
        final byte[][] bytes = new byte[pointers.length][4096];
        for (int i = 0; i < pointers.length; i++) {
            v.getBytes(pointers[i], bytes[i], 0, 4096);
        }
        return bytes;
    }

    private static byte[] payload(final int type, final int length) {
        final byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (type * 31 + i);
        }
        return b;
    }

    private Base base() throws Exception {
        final Path file = dir.resolve("base.arena");
        final List<Message> lane0 = new ArrayList<>();
        final List<Message> lane1 = new ArrayList<>();
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            final int object = heap.allocate(64);
            arena.raw().putLong(object, OBJECT_VALUE);
            final Channel other = Channel.create(arena, "other", 1, 4096, 64);
            try (ChannelProducer p = other.producer()) {
                for (int i = 0; i < 3; i++) {
                    p.offer(500 + i, payload(500 + i, 20), 0, 20);
                }
            }
            final Channel c = Channel.create(arena, "c", 2, RING, MAX);
            try (ChannelProducer p0 = c.producer(); ChannelProducer p1 = c.producer(); ChannelConsumer consumer = c.consumer()) {
                // Past a lap of the ring, paddings included, then messages left waiting on both lanes.
                int type = 0;
                for (int round = 0; round < 30; round++) {
                    for (int i = 0; i < 10; i++, type++) {
                        final int length = (type * 37) % (MAX + 1);
                        if (!p0.offer(type, payload(type, length), 0, length)) {
                            throw new AssertionError("full");
                        }
                    }
                    while (consumer.poll((view, t, ptr, length) -> { }, 64) > 0) {
                        continue;
                    }
                }
                for (int i = 0; i < 12; i++, type++) {
                    final int length = (type * 37) % (MAX + 1);
                    p0.offer(type, payload(type, length), 0, length);
                    lane0.add(new Message(type, length, length == 0 ? -1 : payload(type, length)[0]));
                }
                for (int i = 0; i < 4; i++) {
                    p1.offer(1000 + i, payload(1000 + i, 9), 0, 9);
                    lane1.add(new Message(1000 + i, 9, payload(1000 + i, 9)[0]));
                }
            }
            final int otherHeader = NamedRoots.of(arena).get("other");
            final int otherRing = arena.raw().getInt(ChannelLayout.lane(otherHeader, 0) + ChannelLayout.RING);
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            final int directory = arena.raw().getIntAcquire(
                (int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.ROOTS_PTR));
            // The other structures' pages: the heap's metadata and its object's page, the other
            // channel's header and ring, the directory's pages.
            final int[] others = {meta, object & ~4095, otherHeader, otherRing, directory, directory + 4096};
            return new Base(file, lane0, lane1, meta, object, otherRing, others, pages(arena.raw(), others));
        }
    }

    private static List<Message> drain(final ChannelConsumer c) {
        final List<Message> got = new ArrayList<>();
        for (int i = 0; i < 100 && c.poll((view, type, ptr, length) ->
            got.add(new Message(type, length, length == 0 ? -1 : view.getByte(ptr))), 64) > 0; i++) {
            continue;
        }
        return got;
    }

    @Test
    void everyWordOfTheHeaderDamagedIsRefusedNamedOrHarmless() throws Exception {
        final Base base = base();
        final List<String> silent = new ArrayList<>();
        final List<String> raw = new ArrayList<>();
        final List<String> othersHit = new ArrayList<>();
        int reported = 0;
        int harmless = 0;
        int cases = 0;
        final int end = ChannelLayout.lane(0, 2);
        for (int offset = 0; offset < end; offset += 4) {
            final Path file = dir.resolve("case.arena");
            final int[] values;
            try (SharedArena arena = SharedArena.open(base.file(), ArenaOptions.defaults().withReadOnly(true))) {
                final int header = NamedRoots.existing(arena).orElseThrow().get("c");
                final int was = arena.raw().getInt(header + offset);
                values = new int[] {0, -1, 1, was + 8, was - 8, was + 4096, was + RING / 2, base.heapMeta(), base.otherRing(),
                    ChannelLayout.MAGIC_CREATING, ChannelLayout.PADDING, was ^ 0x8000_0000};
            }
            for (final int value : values) {
                cases++;
                Files.copy(base.file(), file, StandardCopyOption.REPLACE_EXISTING);
                final String what = "offset=" + offset + ", value=0x" + Integer.toHexString(value);
                final int at = offset;
                final String outcome = assertTimeoutPreemptively(Duration.ofSeconds(20),
                    () -> run(base, file, (v, header) -> v.putIntRelease(header + at, value)));
                switch (outcome.charAt(0)) {
                    case 'S' -> silent.add(what + ": " + outcome);
                    case 'X' -> raw.add(what + ": " + outcome);
                    case 'O' -> othersHit.add(what + ": " + outcome);
                    case 'R' -> reported++;
                    default -> harmless++;
                }
            }
        }
        System.out.println("channel header fuzz: " + cases + " cases, " + reported + " reported, " + harmless
            + " harmless, " + silent.size() + " silent, " + raw.size() + " raw exceptions, " + othersHit.size() + " other structures hit");
        silent.forEach(s -> System.out.println("  silent " + s));
        raw.forEach(s -> System.out.println("  raw " + s));
        othersHit.forEach(s -> System.out.println("  others " + s));
        assertEquals(List.of(), silent, "lost or made up with check clean");
        assertEquals(List.of(), raw, "raw exceptions");
        assertEquals(List.of(), othersHit, "another structure's data hit");
    }

    /**
     * Each LENGTH word of the records waiting on the first lane set to a value a stray write leaves:
     * 0, all ones, 1, a padding, one past the maximum, the largest int, and lengths whose record is
     * 8 or 16 bytes longer or shorter. Not tried, for records carry no checksum and nothing can tell
     * the damage from a message sent: a length within the same 8-byte record (a message shorter or
     * longer by a few bytes), and the last record grown into the free space after it.
     */
    @Test
    void everyRecordLengthDamagedIsRefusedNamedOrHarmless() throws Exception {
        final Base base = base();
        final List<Integer> stamps = new ArrayList<>();
        final List<Integer> at = new ArrayList<>();
        try (SharedArena arena = SharedArena.open(base.file(), ArenaOptions.defaults().withReadOnly(true))) {
            final ArenaView v = arena.raw();
            final int l = ChannelLayout.lane(NamedRoots.existing(arena).orElseThrow().get("c"), 0);
            final int ring = v.getInt(l + ChannelLayout.RING);
            long p = v.getLongAcquire(l + ChannelLayout.HEAD);
            while (true) {
                final int index = (int) (p & (RING - 1));
                final int stamp = v.getInt(ring + index);
                if (stamp == ChannelLayout.UNPUBLISHED) {
                    break;
                }
                stamps.add(stamp);
                at.add(ring + index);
                p += ChannelLayout.publishedBytes(stamp, index, RING, MAX);
            }
        }
        assertEquals(base.lane0().size(), stamps.stream().filter(x -> x != ChannelLayout.PADDING).count());
        final List<String> silent = new ArrayList<>();
        int cases = 0;
        for (int i = 0; i < stamps.size(); i++) {
            final int was = stamps.get(i);
            final int word = at.get(i);
            for (final int value : new int[] {0, -1, 1, ChannelLayout.PADDING, MAX + 2, Integer.MAX_VALUE,
                was + 8, was - 8, was + 16, was - 16}) {
                final boolean sameRecord = value >= 1 && value - 1 <= MAX && was >= 1
                    && ChannelLayout.recordBytes(value - 1) == ChannelLayout.recordBytes(was - 1);
                // The last record grown into the free space after it reads as a producer's last
                // record whose TAIL store it died before: a longer message, nothing to tell it by.
                final boolean lastGrown = i == stamps.size() - 1 && value > was && value - 1 <= MAX;
                if (value == was || sameRecord || lastGrown) {
                    continue;
                }
                cases++;
                final Path file = dir.resolve("case.arena");
                Files.copy(base.file(), file, StandardCopyOption.REPLACE_EXISTING);
                final String outcome = assertTimeoutPreemptively(Duration.ofSeconds(20),
                    () -> run(base, file, (v, header) -> v.putIntRelease(word, value)));
                if ("SXO".indexOf(outcome.charAt(0)) >= 0) {
                    silent.add("record " + i + " (length word " + was + "), value=" + value + ": " + outcome);
                }
            }
        }
        System.out.println("channel record fuzz: " + cases + " cases, " + silent.size() + " silent, raw or hitting others");
        silent.forEach(s -> System.out.println("  " + s));
        assertEquals(List.of(), silent);
    }

    /** A stray write into a file whose channel "c" has its header at {@code header}. */
    interface Damage {
        void apply(ArenaView v, int header);
    }

    /** @return "H" harmless, "R" reported, "S..." silent, "X..." a raw exception, "O..." another structure hit */
    private static String run(final Base base, final Path file, final Damage damage) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final int header = NamedRoots.of(arena).get("c");
            damage.apply(v, header);
            final List<String> found = IpcCheck.check(arena);
            String result;
            try {
                final List<Message> got = new ArrayList<>();
                final Channel channel = Channel.open(arena, "c");
                try (ChannelConsumer consumer = channel.consumer()) {
                    got.addAll(drain(consumer));
                    try (ChannelProducer p = channel.producer()) {
                        p.offer(7777, payload(7777, 5), 0, 5);
                    }
                    got.addAll(drain(consumer));
                }
                final List<Message> lane0 = got.stream().filter(m -> m.type() < 1000).toList();
                final List<Message> lane1 = got.stream().filter(m -> m.type() >= 1000 && m.type() != 7777).toList();
                final long fresh = got.stream().filter(m -> m.type() == 7777).count();
                final boolean whole = lane0.equals(base.lane0()) && lane1.equals(base.lane1()) && fresh == 1;
                result = whole ? "H" : found.isEmpty() ? "S lane0=" + lane0 + " lane1=" + lane1 + " new=" + fresh : "R";
            } catch (final ArenaCorruptedException | IllegalStateException | IllegalArgumentException e) {
                result = found.isEmpty() ? "S refused with check clean: " + e : "R";
            } catch (final RuntimeException e) {
                result = "X " + e;
            }
            final byte[][] now = pages(v, base.othersPages());
            for (int i = 0; i < now.length; i++) {
                if (!java.util.Arrays.equals(now[i], base.othersBytes()[i])) {
                    return "O page " + (base.othersPages()[i] >>> 12) + " of another structure written; " + result;
                }
            }
            return result;
        }
    }
}
