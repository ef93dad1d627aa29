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
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded stray writes into the IPC structures (the roots directory, the heap's metadata page, slab
 * headers, free objects' links, a channel's header and lanes), then every operation on them under a
 * time limit: each works or throws a documented exception ({@link ArenaCorruptedException} for
 * corruption, {@link IllegalArgumentException} / {@link IllegalStateException} where the Javadoc
 * says so), never a raw JDK exception, never a hang, and no heap object is handed out twice; then
 * repair, after which check is clean. {@code -Dsharena.ipcfuzz.cases=N -Dsharena.ipcfuzz.seed=S}.
 */
class IpcFuzzTest {
    private static final int CASES = Integer.getInteger("sharena.ipcfuzz.cases", 100);
    private static final long SEED = Long.getLong("sharena.ipcfuzz.seed", System.nanoTime());

    @TempDir
    Path dir;

    @Test
    void strayWritesIntoIpcStructures() {
        System.out.println("ipc fuzz: seed=" + SEED + ", cases=" + CASES);
        final Map<String, Integer> outcomes = new TreeMap<>();
        final SplittableRandom seeds = new SplittableRandom(SEED);
        for (int i = 0; i < CASES; i++) {
            final long seed = seeds.nextLong();
            final int n = i;
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> runCase(n, seed, outcomes),
                "case " + n + " seed " + seed + " hung");
        }
        System.out.println("ipc fuzz: outcomes " + outcomes);
    }

    private void runCase(final int n, final long seed, final Map<String, Integer> outcomes) throws Exception {
        final SplittableRandom r = new SplittableRandom(seed);
        final Path file = dir.resolve("f" + n + ".arena");
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
            final String region = strayWrite(arena, v, r, live, freed);
            final String outcome = region + ": " + exercise(arena, live, freed, r);
            outcomes.merge(outcome, 1, Integer::sum);
            final List<String> left = new ArrayList<>();
            NamedRoots.repair(arena, 1_000_000_000L);
            ObjectHeap.repair(arena);
            left.addAll(NamedRoots.check(arena));
            left.addAll(ObjectHeap.check(arena));
            assertEquals(List.of(), left, "case " + n + " seed " + seed + " (" + region + "): check after repair");
        }
    }

    /** One stray write into a random IPC structure. @return the region written */
    private static String strayWrite(final SharedArena arena, final ArenaView v, final SplittableRandom r,
                                     final Set<Integer> live, final List<Integer> freed) {
        final int dir = v.getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
        final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
        final int channel = NamedRoots.of(arena).get("ch");
        final int lanes = ChannelLayout.LANE_BASE + 2 * ChannelLayout.LANE_STRIDE;
        final int smallFreed = freed.stream().filter(p -> (p & 4095) != HeapLayout.LARGE_HEADER).findFirst().orElse(0);
        final int[] targets;
        final String region;
        switch (r.nextInt(6)) {
            case 0 -> {
                region = "roots header";
                targets = new int[] {dir, 256};
            }
            case 1 -> {
                region = "roots entries";
                targets = new int[] {dir + RootsLayout.ENTRY_BASE, RootsLayout.ENTRIES * RootsLayout.ENTRY_SIZE};
            }
            case 2 -> {
                region = "heap metadata";
                targets = new int[] {meta, 4096};
            }
            case 3 -> {
                region = "slab header";
                final int page = (smallFreed == 0 ? live.iterator().next() : smallFreed) & ~4095;
                targets = new int[] {page, HeapLayout.BITMAP}; // the bitmap is the truth: a stray bit there is undetectable
            }
            case 4 -> {
                region = "free object link";
                int top = 0;
                for (int c = r.nextInt(HeapLayout.SIZES.length), k = 0; top == 0 && k < HeapLayout.SIZES.length; k++) {
                    top = (int) v.getLongAcquire(meta + ((c + k) % HeapLayout.SIZES.length) * HeapLayout.CLASS_STRIDE);
                }
                targets = new int[] {top == 0 ? meta : top, 4};
            }
            default -> {
                region = "channel header";
                targets = new int[] {channel, lanes};
            }
        }
        final int at = targets[0] + (r.nextInt(targets[1]) & ~3);
        switch (r.nextInt(3)) {
            case 0 -> v.putInt(at, r.nextInt());
            case 1 -> v.putInt(at, r.nextInt(4) == 0 ? 0 : r.nextInt(-8, 1 << 24));
            default -> v.putByte(at, (byte) (v.getByte(at) ^ (1 << r.nextInt(8))));
        }
        return region;
    }

    /** Every operation; @return which documented outcome it ended in */
    private static String exercise(final SharedArena arena, final Set<Integer> live, final List<Integer> freed,
                                   final SplittableRandom r) {
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
                final int p = heap.allocate(8 + r.nextInt(3000));
                assertTrue(p == 0 || (!live.contains(p) && out.add(p)), "object handed out twice: 0x" + Integer.toHexString(p));
            }
            for (final int p : out) {
                heap.free(p);
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
            return e.getClass().getSimpleName() + "(" + e.getMessage().replaceAll("[=:].*", "") + ")";
        }
    }
}
