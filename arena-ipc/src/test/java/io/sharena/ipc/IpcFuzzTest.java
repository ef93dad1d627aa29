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
import io.sharena.ipc.heap.LocalHeap;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.testing.FuzzCases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded stray writes into the IPC structures (the roots directory, the heap's metadata page, slab
 * headers, free objects' links, a channel's header and lanes; one to four writes a case, one in half
 * the cases; a local heap's kept objects' marks among the targets), then every operation on them, through
 * the shared heap and the local heap, under a time limit: each works or throws a documented
 * exception ({@link ArenaCorruptedException} for corruption, {@link IllegalArgumentException} /
 * {@link IllegalStateException} where the Javadoc says so), never a raw JDK exception, never a hang,
 * and no heap object is handed out twice; then repair, after which check is clean. Every failing
 * case is listed with its seed and the command that replays it alone ({@link FuzzCases}):
 * {@code -Dsharena.ipcfuzz.cases=N -Dsharena.ipcfuzz.seed=S -Dsharena.ipcfuzz.case=C}.
 */
class IpcFuzzTest {
    private final FuzzCases cases = FuzzCases.of("sharena.ipcfuzz", 100, "arena-ipc", "IpcFuzzTest");

    @TempDir
    Path dir;

    @Test
    void strayWritesIntoIpcStructures() throws Exception {
        System.out.println(cases.banner("ipc fuzz"));
        final Map<String, Integer> outcomes = new ConcurrentSkipListMap<>();
        for (int i = 0; i < cases.cases(); i++) {
            final long seed = cases.caseSeed(i);
            final Path file = dir.resolve("f" + i + ".arena");
            final boolean went = cases.run(i, seed, Duration.ofSeconds(20), what -> runCase(file, seed, what, outcomes));
            Files.deleteIfExists(file);
            if (!went) {
                break;
            }
        }
        System.out.println("ipc fuzz: outcomes " + outcomes);
        cases.assertClean();
    }

    private static void runCase(final Path file, final long seed, final Consumer<String> what,
                                final Map<String, Integer> outcomes) throws Exception {
        final SplittableRandom r = new SplittableRandom(seed);
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("4M"), ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final NamedRoots roots = NamedRoots.of(arena);
            final ObjectHeap heap = ObjectHeap.of(arena);
            final Channel channel = Channel.create(arena, "ch", 2, 1 << 13, 64);
            for (int i = 0; i < 20; i++) {
                roots.put("name" + i, i + 1);
            }
            final Set<Integer> live = new HashSet<>();
            final List<Integer> freed = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                final int p = heap.allocate(8 + r.nextInt(3000));
                if (r.nextBoolean()) {
                    heap.free(p);
                    freed.add(p);
                } else {
                    live.add(p);
                }
            }
            try (ChannelProducer p = channel.producer()) {
                for (int i = 0; i < 10; i++) {
                    p.offer(i, new byte[16], 0, 16);
                }
            }
            // A local heap keeps some freed objects across the stray writes (their marks may be hit).
            final LocalHeap local = heap.local();
            final List<Integer> kept = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                final int p = heap.allocate(8 + r.nextInt(200));
                local.free(p);
                kept.add(p);
            }
            final List<String> regions = strayWrites(arena, v, r, live, freed, kept);
            what.accept(String.join(" + ", regions));
            final String outcome = (regions.size() == 1 ? regions.getFirst() : regions.size() + " writes") + ": "
                + exercise(arena, live, freed, local, r);
            outcomes.merge(outcome, 1, Integer::sum);
            closeAsDocumented(local);
            final List<String> left = new ArrayList<>();
            NamedRoots.repair(arena, 1_000_000_000L);
            ObjectHeap.repair(arena);
            left.addAll(NamedRoots.check(arena));
            left.addAll(ObjectHeap.check(arena));
            assertEquals(List.of(), left, "check after repair");
        }
    }

    /**
     * One to {@link FuzzCases#MAX_STRAY_WRITES} stray writes, each into a random IPC structure. Where
     * the structures lie is read before the first write, so a later write lands where the healthy
     * arena had that structure, never where an earlier one pointed it. @return the regions written
     */
    private static List<String> strayWrites(final SharedArena arena, final ArenaView v, final SplittableRandom r,
                                            final Set<Integer> live, final List<Integer> freed, final List<Integer> kept) {
        final int dir = v.getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
        final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
        final int channel = NamedRoots.of(arena).get("ch");
        final int lanes = ChannelLayout.LANE_BASE + 2 * ChannelLayout.LANE_STRIDE;
        final int smallFreed = freed.stream().filter(p -> (p & 4095) != HeapLayout.LARGE_HEADER).findFirst().orElse(0);
        final int[] tops = new int[HeapLayout.SIZES.length];
        for (int c = 0; c < tops.length; c++) {
            tops[c] = (int) v.getLongAcquire(meta + c * HeapLayout.CLASS_STRIDE);
        }
        final List<Integer> objects = new ArrayList<>(live); // a HashSet of Integers iterates in one order: seeds replay
        final List<String> regions = new ArrayList<>();
        for (int w = FuzzCases.strayWrites(r); w > 0; w--) {
            final int[] targets;
            switch (r.nextInt(7)) {
                case 6 -> {
                    regions.add("kept object mark");
                    targets = new int[] {kept.get(r.nextInt(kept.size())), 8};
                }
                case 0 -> {
                    regions.add("roots header");
                    targets = new int[] {dir, 256};
                }
                case 1 -> {
                    regions.add("roots entries");
                    targets = new int[] {dir + RootsLayout.ENTRY_BASE, RootsLayout.ENTRIES * RootsLayout.ENTRY_SIZE};
                }
                case 2 -> {
                    regions.add("heap metadata");
                    targets = new int[] {meta, 4096};
                }
                case 3 -> {
                    regions.add("slab header");
                    final int page = (smallFreed == 0 ? live.iterator().next() : smallFreed) & ~4095;
                    targets = new int[] {page, HeapLayout.BITMAP}; // the bitmap is the truth: a stray bit there is undetectable
                }
                case 4 -> {
                    regions.add("free object link");
                    int top = 0;
                    for (int c = r.nextInt(tops.length), k = 0; top == 0 && k < tops.length; k++) {
                        top = tops[(c + k) % tops.length];
                    }
                    targets = new int[] {top == 0 ? meta : top, 4};
                }
                default -> {
                    regions.add("channel header");
                    targets = new int[] {channel, lanes};
                }
            }
            final int at = targets[0] + (r.nextInt(targets[1]) & ~3);
            switch (r.nextInt(4)) {
                case 0 -> v.putInt(at, r.nextInt());
                case 1 -> v.putInt(at, r.nextInt(4) == 0 ? 0 : r.nextInt(-8, 1 << 24));
                // A word that passes a range check: an object's pointer, live or freed.
                case 2 -> v.putInt(at, r.nextBoolean() || freed.isEmpty() ? objects.get(r.nextInt(objects.size()))
                    : freed.get(r.nextInt(freed.size())));
                default -> v.putByte(at, (byte) (v.getByte(at) ^ (1 << r.nextInt(8))));
            }
        }
        return regions;
    }

    /** Closes a local heap: gives back what it kept, or throws what its javadoc names. */
    private static void closeAsDocumented(final LocalHeap local) {
        try {
            local.close();
        } catch (final ArenaCorruptedException e) {
            // A stray write the give-back tripped over: the heap is marked for repair, which follows.
        }
    }

    /** Every operation; @return which documented outcome it ended in */
    private static String exercise(final SharedArena arena, final Set<Integer> live, final List<Integer> freed,
                                   final LocalHeap local, final SplittableRandom r) {
        try {
            final NamedRoots roots = NamedRoots.of(arena);
            for (int i = 0; i < 20; i++) {
                roots.get("name" + i);
            }
            roots.list();
            roots.put("name" + r.nextInt(30), 5);
            roots.compareAndSet("name" + r.nextInt(30), 5, 6);
            roots.remove("name" + r.nextInt(30));
            final ObjectHeap heap = ObjectHeap.of(arena);
            final Set<Integer> out = new HashSet<>();
            for (int i = 0; i < 200; i++) {
                final int size = 8 + r.nextInt(i % 2 == 0 ? 200 : 3000);
                final int p = i % 2 == 0 ? local.allocate(size) : heap.allocate(size);
                assertTrue(p == 0 || (!live.contains(p) && out.add(p)), "object handed out twice: 0x" + Integer.toHexString(p));
            }
            int n = 0;
            for (final int p : out) {
                if (n++ % 2 == 0) {
                    local.free(p);
                } else {
                    heap.free(p);
                }
            }
            for (final int p : live) {
                heap.free(p);
            }
            final Channel channel = Channel.open(arena, "ch");
            try (ChannelConsumer c = channel.consumer(); ChannelProducer p = channel.producer()) {
                c.poll((view, type, ptr, length) -> { }, 100);
                p.offer(1, new byte[16], 0, 16);
                c.poll((view, type, ptr, length) -> { }, 100);
            }
            return "ok";
        } catch (final ArenaCorruptedException e) {
            return "ArenaCorruptedException(" + e.structure() + ")";
        } catch (final IllegalArgumentException | IllegalStateException e) {
            final String said = e.getMessage() == null ? "" : e.getMessage();
            if (DOCUMENTED.stream().noneMatch(said::startsWith)) {
                throw new AssertionError("an exception no javadoc of the calls made names: " + e, e);
            }
            return e.getClass().getSimpleName() + "(" + said.replaceAll("[=:].*", "") + ")";
        }
    }

    /**
     * How the documented argument and state exceptions of the calls {@link #exercise} makes begin
     * (their {@code @throws}): a stray write can make a freed pointer not an object, a channel's
     * header not a channel, a lane's or the consumer's owner word name a live process, the
     * directory full, or a creation look unfinished.
     */
    private static final List<String> DOCUMENTED = List.of("not an object of this heap", "not a channel",
        "no channel", "the channel already has a live consumer", "every lane of the channel has a live producer",
        "named-roots directory full", "named-roots lock busy", "a dead creator's unfinished creation is not undone yet",
        "no room for");
}
