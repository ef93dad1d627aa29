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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Not random bytes ({@link StoreFuzzTest}) but the values a probe tries first, in every word of a
 * closed store file that another process of the user could overwrite: 0, -1, the extremes of the
 * word, the store's own header, bucket table and ring ends, a pointer to the item itself (a NEXT
 * cycle), one into the middle of another item; in the ring's head and tail, the header's geometry,
 * the ring lock, a stripe's lock and counts, a chained bucket word, and every header field of the
 * item at the ring's tail and of one in the middle. Then every operation, writes for two laps of
 * the ring, the tools, and the IPC part of {@code check --repair}: each ends in a result or a
 * documented exception (never a raw JDK one, never a hang); after the repair the store checks
 * clean, or the repair named what it could not mend; and a store the repair left clean writes two
 * laps more with every write STORED.
 */
class StoreExtremeValuesTest {
    private static final long RING = 256 << 10;
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(RING).withMaxItemSize(2048)
        .withLockTimeoutNanos(20_000_000L);
    private static final int KEYS = 300;

    @TempDir
    Path dir;

    private static byte[] key(final int i) {
        return ("key:" + i).getBytes(StandardCharsets.US_ASCII);
    }

    /** What is overwritten: a word of the header, a stripe, a bucket, or the item at the tail or in the middle. */
    enum Where { HEADER, STRIPE, BUCKET, TAIL_ITEM, MID_ITEM }

    record Target(Where where, int offset, boolean wide, String name) {
        @Override
        public String toString() {
            return where + "." + name;
        }
    }

    /** Values by name; "self", "other", "header", "buckets", "ringStart", "ringEnd" are resolved per file. */
    private static final List<String> VALUES = List.of("0", "-1", "min", "max", "header", "buckets", "ringStart",
        "ringEnd", "self", "other", "misaligned");

    static Stream<Object[]> cases() {
        final List<Target> targets = new ArrayList<>();
        targets.add(new Target(Where.HEADER, StoreLayout.HEAD, true, "HEAD"));
        targets.add(new Target(Where.HEADER, StoreLayout.TAIL, true, "TAIL"));
        targets.add(new Target(Where.HEADER, StoreLayout.RING_LOCK, true, "RING_LOCK"));
        targets.add(new Target(Where.HEADER, StoreLayout.RING_PTR, false, "RING_PTR"));
        targets.add(new Target(Where.HEADER, StoreLayout.BUCKET_BITS, false, "BUCKET_BITS"));
        targets.add(new Target(Where.HEADER, StoreLayout.MAX_ITEM, false, "MAX_ITEM"));
        targets.add(new Target(Where.HEADER, StoreLayout.CAS_COUNTER, true, "CAS_COUNTER"));
        targets.add(new Target(Where.HEADER, StoreLayout.FLUSH_MILLIS, true, "FLUSH_MILLIS"));
        targets.add(new Target(Where.STRIPE, StoreLayout.STRIPE_LOCK, true, "LOCK"));
        targets.add(new Target(Where.STRIPE, StoreLayout.STRIPE_ITEMS, true, "ITEMS"));
        targets.add(new Target(Where.STRIPE, StoreLayout.STRIPE_BYTES, true, "BYTES"));
        targets.add(new Target(Where.BUCKET, 0, false, "word"));
        for (final Where w : new Where[] {Where.TAIL_ITEM, Where.MID_ITEM}) {
            targets.add(new Target(w, ItemLayout.POS, true, "POS"));
            targets.add(new Target(w, ItemLayout.SIZE, false, "SIZE"));
            targets.add(new Target(w, ItemLayout.STATE, false, "STATE"));
            targets.add(new Target(w, ItemLayout.NEXT, false, "NEXT"));
            targets.add(new Target(w, ItemLayout.HASH, false, "HASH"));
            targets.add(new Target(w, ItemLayout.CAS, true, "CAS"));
            targets.add(new Target(w, ItemLayout.EXPIRES, false, "EXPIRES"));
            targets.add(new Target(w, ItemLayout.KEY_LEN, false, "KEY_LEN"));
            targets.add(new Target(w, ItemLayout.VALUE_LEN, false, "VALUE_LEN"));
        }
        return targets.stream().flatMap(t -> VALUES.stream().map(v -> new Object[] {t, v}));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("cases")
    void anExtremeValueEndsInAResultOrADocumentedErrorAndTheRepairMendsOrNamesIt(final Target target,
                                                                                 final String value) throws Exception {
        final Path file = dir.resolve("x.store");
        Files.deleteIfExists(file);
        try (SharedStore store = SharedStore.create(file, OPTIONS.withBuckets(1024))) {
            // Past one lap: the tail sits on an item, chains hold several items.
            for (int i = 0; store.stats().get("evictions") == 0 || i < 3 * KEYS; i++) {
                assertEquals(StoreResult.STORED, store.set(key(i % KEYS), Values.make(i), 0, 0));
            }
        }
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            write(file, target, value);
            exercise(file);
            final boolean clean = repairThenCheck(file);
            if (clean) {
                try (SharedStore store = SharedStore.open(file, OPTIONS)) {
                    final long head = store.stats().get("ring_head");
                    for (int i = 0; store.stats().get("ring_tail") < head + RING; i++) {
                        assertEquals(StoreResult.STORED, store.set(key(i % KEYS), Values.make(i), 0, 0), "lap write " + i);
                    }
                    assertEquals(List.of(), store.check());
                }
            }
        });
    }

    private static void write(final Path file, final Target t, final String value) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final int header = NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT);
            final int ring = v.getInt(header + StoreLayout.RING_PTR);
            final int buckets = v.getInt(header + StoreLayout.BUCKETS_PTR);
            final long tail = v.getLong(header + StoreLayout.TAIL);
            final int tailItem = (int) (ring + tail % RING);
            final int midItem = chained(v, buckets, 1 << v.getInt(header + StoreLayout.BUCKET_BITS), tailItem);
            final int at = switch (t.where()) {
                case HEADER -> header + t.offset();
                case STRIPE -> v.getInt(header + StoreLayout.STRIPES_PTR) + 3 * StoreLayout.STRIPE_SIZE + t.offset();
                case BUCKET -> bucketOf(v, buckets, midItem);
                case TAIL_ITEM -> tailItem + t.offset();
                case MID_ITEM -> midItem + t.offset();
            };
            final int self = t.where() == Where.TAIL_ITEM ? tailItem : midItem;
            final long x = switch (value) {
                case "0" -> 0;
                case "-1" -> -1;
                case "min" -> t.wide() ? Long.MIN_VALUE : Integer.MIN_VALUE;
                case "max" -> t.wide() ? Long.MAX_VALUE : Integer.MAX_VALUE;
                case "header" -> header;
                case "buckets" -> buckets;
                case "ringStart" -> ring;
                case "ringEnd" -> ring + RING - ItemLayout.ALIGN;
                case "self" -> self;
                case "other" -> (self == tailItem ? midItem : tailItem) + ItemLayout.KEY;
                default -> self + 4;
            };
            if (t.wide()) {
                v.putLong(at, x);
            } else {
                v.putInt(at, (int) x);
            }
        }
    }

    /** @return a chained item that is not {@code not}, preferring one with a successor */
    private static int chained(final ArenaView v, final int buckets, final int count, final int not) {
        int found = 0;
        for (int b = 0; b < count; b++) {
            final int p = v.getInt(buckets + 4 * b);
            if (p != 0 && p != not) {
                if (v.getInt(p + ItemLayout.NEXT) != 0) {
                    return p;
                }
                found = found == 0 ? p : found;
            }
        }
        return found;
    }

    private static int bucketOf(final ArenaView v, final int buckets, final int item) {
        for (int b = 0; ; b++) {
            if (v.getInt(buckets + 4 * b) == item) {
                return buckets + 4 * b;
            }
        }
    }

    /** Every operation and the tools; @throws AssertionError on anything but a result or a documented exception */
    private static void exercise(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            try {
                StoreTools.stats(arena, SharedStore.DEFAULT_ROOT);
                StoreTools.keys(arena, SharedStore.DEFAULT_ROOT, 10_000);
                StoreTools.check(arena, SharedStore.DEFAULT_ROOT);
            } catch (final ArenaFormatException | ArenaCorruptedException expected) {
                // documented
            }
            IpcCheck.check(arena);
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            final byte[] dst = new byte[4096];
            final StoreReader reader = store.reader();
            for (int i = 0; i < 4 * KEYS; i++) {
                final byte[] k = key(i % KEYS);
                try {
                    switch (i % 9) {
                        case 0 -> store.delete(k);
                        case 1 -> store.incr(k, 1, new long[1]);
                        case 2 -> store.touch(k, 100);
                        case 3 -> store.append(k, new byte[3]);
                        case 4 -> {
                            final StoreItem item = store.gets(k);
                            assertTrue(item == null || item.value().length <= store.maxItemSize());
                        }
                        case 5 -> {
                            if (reader.get(k)) {
                                reader.validate();
                            }
                        }
                        case 6 -> store.stats();
                        case 7 -> store.get(k, dst);
                        default -> store.set(k, new byte[(i * 37) % 1500], 0, 0);
                    }
                } catch (final ArenaCorruptedException expected) {
                    // documented
                }
            }
            try {
                store.keys(10_000);
                store.check();
            } catch (final ArenaCorruptedException expected) {
                // documented
            }
        } catch (final ArenaFormatException refused) {
            // documented: the file does not open as a store
        }
    }

    /** @return whether the store checks clean after the repair (else the repair must have named what it left) */
    private static boolean repairThenCheck(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final List<String> done;
            try {
                done = IpcCheck.repair(arena, 20_000_000L);
            } catch (final IllegalStateException lockHeld) {
                // Documented: a lock word that names a live holder cannot be told from a held lock.
                // Any other IllegalStateException is a finding.
                if (!StoreFuzzTest.documentedRefusal(lockHeld)) {
                    throw lockHeld;
                }
                return false;
            }
            final List<String> left = IpcCheck.check(arena);
            assertTrue(left.isEmpty() || done.stream().anyMatch(l -> l.contains("not repaired")),
                "after the repair: " + left + "; the repair said " + done);
            return left.isEmpty() && StoreTools.stores(arena).contains(SharedStore.DEFAULT_ROOT);
        }
    }
}
