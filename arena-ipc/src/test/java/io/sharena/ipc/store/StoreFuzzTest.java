package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.ipc.IpcCheck;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.testing.FuzzCases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded stray writes into a closed store file (the store header's geometry, head and tail, the CAS
 * and flush words, stripes, buckets, the access map, item headers, item bytes; one to four writes a
 * case, one in half the cases), then the file is opened again and every operation runs on it under
 * a time limit: each works or ends in a documented exception ({@link ArenaFormatException} when the file is refused at open,
 * {@link ArenaCorruptedException} when damage is met in use), never a raw JDK exception, never a
 * hang; the tools ({@code stat}, {@code check}, {@code dump --keys}) answer or report corruption the
 * same way, and a read never hands back a value longer than the largest the store can hold. Then
 * the IPC part of {@code check --repair} runs: afterwards the store checks clean, or the repair
 * named what it could not mend. Every failing case is listed with its seed and the command that
 * replays it alone ({@link FuzzCases}): {@code -Dsharena.storefuzz.cases=N
 * -Dsharena.storefuzz.seed=S -Dsharena.storefuzz.case=C} (the run's seed fills the template file).
 */
class StoreFuzzTest {
    private static final int KEYS = 400;
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(256 << 10).withMaxItemSize(4096)
        .withLockTimeoutNanos(20_000_000L);

    private final FuzzCases cases = FuzzCases.of("sharena.storefuzz", 120, "arena-ipc",
        "StoreFuzzTest#strayWritesIntoAStoreFile");

    @TempDir
    Path dir;

    @Test
    void strayWritesIntoAStoreFile() throws Exception {
        System.out.println(cases.banner("store fuzz"));
        final Path template = dir.resolve("template.store");
        fill(template, new SplittableRandom(cases.seed()));
        final Map<String, Integer> outcomes = new ConcurrentSkipListMap<>();
        for (int i = 0; i < cases.cases(); i++) {
            final long seed = cases.caseSeed(i);
            final Path file = dir.resolve("f" + i + ".store");
            Files.copy(template, file, StandardCopyOption.REPLACE_EXISTING);
            final boolean went = cases.run(i, seed, Duration.ofSeconds(20), what -> {
                final SplittableRandom r = new SplittableRandom(seed);
                final List<String> regions = strayWrites(file, r);
                what.accept(String.join(" + ", regions));
                outcomes.merge((regions.size() == 1 ? regions.getFirst() : regions.size() + " writes") + ": "
                    + exercise(file, r), 1, Integer::sum);
            });
            if (!went) {
                break; // the stuck case may still hold the file
            }
            Files.delete(file);
        }
        System.out.println("store fuzz: outcomes " + outcomes);
        cases.assertClean();
    }

    /**
     * A write that finds its chain broken under the stripe lock fails with the corruption error and
     * gives its reserved record up: the ring's tail passes it, so writes to other buckets go on
     * storing lap after lap (the record left RESERVED by this live process stopped them all).
     */
    @Test
    void aWriteThatMeetsABrokenChainGivesItsRecordUp() throws Exception {
        final Path file = dir.resolve("chain.store");
        final byte[] broken = key(-1);
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(broken, new byte[40], 0, 0));
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final int header = NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT);
            final int buckets = v.getInt(header + StoreLayout.BUCKETS_PTR);
            final int item = v.getInt(buckets + 4 * firstUsedBucket(v, buckets,
                1 << v.getInt(header + StoreLayout.BUCKET_BITS), new SplittableRandom(1)));
            v.putInt(item + ItemLayout.STATE, ItemLayout.DEAD); // still chained: the chain no longer parses
        }
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (SharedStore store = SharedStore.open(file, OPTIONS)) {
                assertThrows(ArenaCorruptedException.class, () -> store.set(broken, new byte[40], 0, 0));
                int stored = 0;
                int corrupt = 0;
                // About 20 laps of the ring.
                for (int i = 0; i < 20 * (256 << 10) / 200; i++) {
                    try {
                        final StoreResult r = store.set(key(i), new byte[100], 0, 0);
                        assertEquals(StoreResult.STORED, r, "set " + i);
                        stored++;
                    } catch (final ArenaCorruptedException e) {
                        corrupt++; // a key of the broken bucket
                    }
                }
                assertTrue(stored > 20 * corrupt, "stored=" + stored + ", corrupt=" + corrupt);
            }
        });
    }

    /** A store that has lapped its ring: live items of many sizes, deleted ones, chains longer than one. */
    private static void fill(final Path file, final SplittableRandom r) throws Exception {
        try (SharedStore store = SharedStore.create(file, OPTIONS.withBuckets(1024))) {
            for (int i = 0; i < 6 * KEYS; i++) {
                final byte[] key = key(r.nextInt(KEYS));
                switch (r.nextInt(8)) {
                    case 0 -> store.delete(key);
                    case 1 -> store.incr(key, 1, new long[1]);
                    case 2 -> store.set(key, "12".getBytes(StandardCharsets.US_ASCII), 0, 0);
                    default -> store.set(key, new byte[r.nextInt(r.nextInt(10) == 0 ? 3000 : 300)], r.nextInt(), 0);
                }
            }
        }
    }

    private static byte[] key(final int i) {
        return ("key:" + i).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * One to {@link FuzzCases#MAX_STRAY_WRITES} stray writes, each into a random part of the store.
     * The header's pointers are read before the first write; an item is found through its bucket at
     * each write, and a bucket an earlier write sent outside the ring stands for the ring's start.
     * @return the parts written
     */
    private static List<String> strayWrites(final Path file, final SplittableRandom r) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final int header = NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT);
            final int ring = v.getInt(header + StoreLayout.RING_PTR);
            final int ringBytes = (int) v.getLong(header + StoreLayout.RING_BYTES);
            final int buckets = v.getInt(header + StoreLayout.BUCKETS_PTR);
            final int bucketCount = 1 << v.getInt(header + StoreLayout.BUCKET_BITS);
            final int stripes = v.getInt(header + StoreLayout.STRIPES_PTR);
            final int map = v.getInt(header + StoreLayout.MAP_PTR);
            final List<String> regions = new ArrayList<>();
            for (int w = FuzzCases.strayWrites(r); w > 0; w--) {
                final int at;
                switch (r.nextInt(9)) {
                    case 0 -> {
                        regions.add("geometry");
                        at = header + r.nextInt(StoreLayout.CREATED_MILLIS + 8);
                    }
                    case 1 -> {
                        regions.add("head or tail");
                        at = header + (r.nextBoolean() ? StoreLayout.HEAD : StoreLayout.TAIL) + 4 * r.nextInt(2);
                    }
                    case 2 -> {
                        regions.add("cas, flush or clock");
                        final int[] words = {StoreLayout.CAS_COUNTER, StoreLayout.FLUSH_CAS, StoreLayout.FLUSH_MILLIS,
                            StoreLayout.CLOCK_SECONDS, StoreLayout.RING_LOCK};
                        at = header + words[r.nextInt(words.length)] + 4 * r.nextInt(2);
                    }
                    case 3 -> {
                        regions.add("stripe");
                        at = stripes + r.nextInt(StoreOptions.STRIPES) * StoreLayout.STRIPE_SIZE + 4 * r.nextInt(6);
                    }
                    case 4 -> {
                        regions.add("bucket");
                        at = buckets + 4 * firstUsedBucket(v, buckets, bucketCount, r);
                    }
                    case 5 -> {
                        regions.add("access map");
                        at = map + r.nextInt(ringBytes / StoreLayout.MAP_GRANULE);
                    }
                    case 6, 7 -> {
                        regions.add("item header");
                        final int item = v.getInt(buckets + 4 * firstUsedBucket(v, buckets, bucketCount, r));
                        final boolean inRing = item - ring >= 0 && item - ring <= ringBytes - ItemLayout.HEADER;
                        at = (inRing ? item : ring) + 4 * r.nextInt(ItemLayout.HEADER / 4);
                    }
                    default -> {
                        regions.add("ring bytes");
                        at = ring + r.nextInt(ringBytes);
                    }
                }
                switch (r.nextInt(6)) {
                    case 0 -> v.putInt(at & ~3, r.nextInt());
                    case 1 -> v.putInt(at & ~3, r.nextInt(4) == 0 ? 0 : r.nextInt(-8, 1 << 24));
                    case 2 -> v.putInt(at & ~3, v.getInt(at & ~3) + r.nextInt(-300, 300));
                    // Words that pass a range check: another chain's first item, another record's position.
                    case 3 -> v.putInt(at & ~3, v.getInt(buckets + 4 * firstUsedBucket(v, buckets, bucketCount, r)));
                    case 4 -> {
                        final int item = v.getInt(buckets + 4 * firstUsedBucket(v, buckets, bucketCount, r));
                        final boolean inRing = item - ring >= 0 && item - ring <= ringBytes - ItemLayout.HEADER;
                        v.putLong(at & ~7, v.getLong((inRing ? item : ring) + ItemLayout.POS));
                    }
                    default -> v.putByte(at, (byte) (v.getByte(at) ^ (1 << r.nextInt(8))));
                }
            }
            return regions;
        }
    }

    private static int firstUsedBucket(final ArenaView v, final int buckets, final int count, final SplittableRandom r) {
        final int start = r.nextInt(count);
        for (int i = 0; i < count; i++) {
            final int b = (start + i) & (count - 1);
            if (v.getInt(buckets + 4 * b) != 0) {
                return b;
            }
        }
        return start;
    }

    /** Opens the damaged file and runs every operation; @return the documented outcome it ended in */
    private static String exercise(final Path file, final SplittableRandom r) throws Exception {
        final List<String> notes = new ArrayList<>();
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            notes.add(tools(arena));
        } catch (final ArenaFormatException | ArenaCorruptedException e) {
            notes.add("tools refused");
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            notes.add(operations(store, r));
        } catch (final ArenaFormatException e) {
            notes.add("open refused");
        }
        notes.add(repaired(file));
        return String.join(", ", notes);
    }

    /**
     * The IPC part of {@code check --repair}, then the check: clean, or the repair named what it
     * could not mend (a header the store does not open with).
     */
    private static String repaired(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final List<String> done;
            try {
                done = IpcCheck.repair(arena, 20_000_000L);
            } catch (final IllegalStateException e) {
                // Documented: a lock word that names a live holder cannot be told from a held lock.
                // Any other IllegalStateException is a finding, not an outcome.
                if (!documentedRefusal(e)) {
                    throw e;
                }
                return "repair: lock held";
            }
            final List<String> left = IpcCheck.check(arena);
            assertTrue(left.isEmpty() || done.stream().anyMatch(l -> l.contains("not repaired")),
                "after the repair: " + left + "; the repair said " + done);
            return left.isEmpty() ? (done.isEmpty() ? "nothing to repair" : "repaired clean") : "repair named what it left";
        }
    }

    private static String tools(final SharedArena arena) {
        try {
            StoreTools.stats(arena, SharedStore.DEFAULT_ROOT);
            StoreTools.keys(arena, SharedStore.DEFAULT_ROOT, 10_000);
            return StoreTools.check(arena, SharedStore.DEFAULT_ROOT).isEmpty() ? "check clean" : "check found it";
        } catch (final ArenaFormatException e) {
            return "tools: format";
        } catch (final ArenaCorruptedException e) {
            return "tools: corrupted";
        }
    }

    private static String operations(final SharedStore store, final SplittableRandom r) {
        int corrupted = 0;
        final byte[] dst = new byte[4096];
        final StoreReader reader = store.reader();
        for (int i = 0; i < 3 * KEYS; i++) {
            final byte[] key = key(r.nextInt(KEYS));
            try {
                switch (r.nextInt(10)) {
                    case 0 -> store.delete(key);
                    case 1 -> store.incr(key, 3, new long[1]);
                    case 2 -> store.touch(key, 100);
                    case 3 -> store.append(key, new byte[5]);
                    case 4 -> store.set(key, new byte[r.nextInt(2000)], 0, 0);
                    case 5 -> {
                        final StoreItem item = store.gets(key);
                        assertTrue(item == null || item.value().length <= store.maxItemSize(),
                            "a value longer than the store holds");
                    }
                    case 6 -> {
                        if (reader.get(key)) {
                            reader.validate();
                        }
                    }
                    case 7 -> store.stats();
                    default -> store.get(key, dst);
                }
            } catch (final ArenaCorruptedException e) {
                corrupted++;
            }
        }
        String repair = "";
        try {
            store.check();
            store.repair();
        } catch (final ArenaCorruptedException e) {
            corrupted++;
        } catch (final IllegalStateException e) {
            // Documented: a lock word that names a live holder cannot be told from a held lock.
            if (!documentedRefusal(e)) {
                throw e;
            }
            repair = ", repair: lock held";
        }
        return (corrupted == 0 ? "ops ok" : "ops met corruption") + repair;
    }

    /**
     * The refusals {@code IpcCheck.repair} and {@code SharedStore.repair} document: a lock (the
     * roots', a store's, the allocator's) held by a live process past the timeout, or another live
     * process attached (the heap's repair).
     */
    static boolean documentedRefusal(final IllegalStateException e) {
        final String m = String.valueOf(e.getMessage());
        return m.contains("lock held by a live process") || m.contains("lock busy") || m.contains("lock stayed busy")
            || m.startsWith("heap not repaired: other live processes are attached");
    }
}
