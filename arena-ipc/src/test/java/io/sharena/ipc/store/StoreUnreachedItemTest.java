package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.ipc.IpcCheck;
import io.sharena.ipc.layout.ItemLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A word of the store's index garbled by a stray write (the fuzz campaign's "a zeroed bucket word
 * loses its chain silently"): the items the bucket word led to stay whole and LINKED in the ring,
 * but no chain reaches them, so every get misses them. They used to show only as a stripe whose
 * counts differ from its chains, and the tools' repair recounted that stripe, after which the file
 * checked clean with the items lost for good. Now {@code check} names each item no chain reaches
 * (its bucket, position and key) and {@code check --repair} links it into its bucket again; what
 * it cannot link (an older version of a key written again meanwhile, an item the tail reclaimed
 * while unreached) is counted in a line.
 */
class StoreUnreachedItemTest {
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(4L << 20).withMaxItemSize(4096)
        .withLockTimeoutNanos(200_000_000L);
    private static final int KEYS = 2000;
    private static final String UNREACHED = "item in the ring that no chain reaches: bucket=";

    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void fill(final SharedStore store) {
        for (int i = 0; i < KEYS; i++) {
            assertEquals(StoreResult.STORED, store.set(b("k" + i), Values.make(i), 0, 0));
        }
    }

    private static void assertAllRead(final SharedStore store) {
        for (int i = 0; i < KEYS; i++) {
            assertArrayEquals(Values.make(i), store.get(b("k" + i)), "k" + i);
        }
    }

    private static List<String> unreached(final List<String> found) {
        return found.stream().filter(l -> l.contains(UNREACHED)).toList();
    }

    /**
     * The fuzz campaign's case: a bucket word zeroed. Its items are missed by every get, also by
     * the next opener (an opener checks the header, not the chains); check names each of them;
     * check --repair (the CLI's code path) links them again, and nothing else: the store checks
     * clean, every key reads its value, and the ring goes round.
     */
    @Test
    void aZeroedBucketWordIsReportedAndItsItemsAreLinkedAgain() throws Exception {
        final Path file = dir.resolve("zeroed.store");
        final int bucket;
        final List<Integer> lost;
        try (SharedStore store = SharedStore.create(file, OPTIONS)) {
            fill(store);
            final BucketTable t = BucketTable.of(store.arena());
            bucket = t.longest();
            lost = t.chain(bucket);
            assertTrue(lost.size() >= 2, "chain length " + lost.size());
            t.view().putInt(t.word(bucket), 0);
            final List<String> keys = lost.stream().map(t::key).toList();
            for (final String k : keys) {
                assertNull(store.get(b(k)), k);
            }

            final List<String> found = store.check();
            assertEquals(lost.size(), unreached(found).size(), found.toString());
            for (final int p : lost) {
                assertTrue(found.contains(UNREACHED + bucket + ", pos=" + t.view().getLong(p + ItemLayout.POS)
                    + ", key=" + t.key(p)), found.toString());
            }
            assertTrue(found.stream().anyMatch(l -> l.startsWith("stripe counts differ from its chains: stripe="
                + bucket % StoreOptions.STRIPES + ", items=")), found.toString());
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            final BucketTable t = BucketTable.of(store.arena());
            for (final int p : lost) {
                assertNull(store.get(b(t.key(p))), "the next opener misses " + t.key(p) + " too");
            }
            assertEquals(lost.size(), unreached(store.check()).size());
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(lost.size(), unreached(IpcCheck.check(arena)).size());
            final long bytes = BucketTable.of(arena).bytes(lost);
            assertEquals(List.of("store sharena.store: re-linked " + lost.size() + " item(s) (" + bytes + " bytes) that"
                + " no chain reached and their stripe still counted: bucket=" + bucket + " (" + lost.size() + ")"),
                IpcCheck.repair(arena, 1_000_000_000L));
            assertEquals(List.of(), IpcCheck.check(arena));
        }
        try (SharedStore store = SharedStore.open(file, OPTIONS)) {
            assertAllRead(store);
            assertEquals((long) KEYS, store.stats().get("curr_items"));
            final long head = store.stats().get("ring_head");
            for (int i = 0; store.stats().get("ring_tail") < head; i++) {
                assertEquals(StoreResult.STORED, store.set(b("lap" + (i % 500)), Values.make(i), 0, 0), "lap " + i);
            }
            assertEquals(List.of(), store.check());
        }
    }

    /** What a stray write leaves in a bucket word besides zero. */
    enum Garble {
        /** Another item of the same chain: the items before it are skipped, silently. */
        LATER_ITEM,
        /** The first item of another bucket's chain. */
        OTHER_BUCKET,
        /** Inside the first item, 16 bytes on: no record starts there. */
        INSIDE_ITEM
    }

    /**
     * A bucket word pointed elsewhere: pointed at a later item of its own chain, the items before
     * it are missed silently; pointed at what is not an item of the bucket, reads of the bucket end
     * in {@link ArenaCorruptedException}. Either way check names the items the chain no longer
     * reaches (beside what it says of the garbled link itself), and the repair cuts the link where
     * it is not a whole item of the bucket and links the unreached items again (before, the cut
     * dropped them).
     */
    @ParameterizedTest
    @EnumSource(Garble.class)
    void aBucketWordPointedElsewhereIsReportedAndRepaired(final Garble garble) throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve(garble + ".store"), OPTIONS)) {
            fill(store);
            final BucketTable t = BucketTable.of(store.arena());
            final int bucket = t.longest();
            final List<Integer> chain = t.chain(bucket);
            int other = 0;
            while (other == bucket || t.chain(other).isEmpty()) {
                other++;
            }
            final int target = switch (garble) {
                case LATER_ITEM -> chain.get(chain.size() - 1);
                case OTHER_BUCKET -> t.chain(other).get(0);
                case INSIDE_ITEM -> chain.get(0) + ItemLayout.ALIGN;
            };
            t.view().putInt(t.word(bucket), target);
            final List<Integer> lost = garble == Garble.LATER_ITEM ? chain.subList(0, chain.size() - 1) : chain;
            for (final int p : lost) {
                if (garble == Garble.LATER_ITEM) {
                    assertNull(store.get(b(t.key(p))), t.key(p)); // silently
                } else {
                    // A link to what is not an item of the bucket: readers see the damage.
                    assertThrows(ArenaCorruptedException.class, () -> store.get(b(t.key(p))), t.key(p));
                }
            }

            final List<String> found = store.check();
            assertEquals(lost.size(), unreached(found).size(), found.toString());
            for (final int p : lost) {
                assertTrue(found.contains(UNREACHED + bucket + ", pos=" + t.view().getLong(p + ItemLayout.POS)
                    + ", key=" + t.key(p)), found.toString());
            }

            final List<String> done = IpcCheck.repair(store.arena(), 1_000_000_000L);
            assertTrue(done.contains("store sharena.store: re-linked " + lost.size() + " item(s) (" + t.bytes(lost)
                + " bytes) that no chain reached and their stripe still counted: bucket=" + bucket + " ("
                + lost.size() + ")"), done.toString());
            assertEquals(garble != Garble.LATER_ITEM, done.stream().anyMatch(l -> l.startsWith("store sharena.store:"
                + " cut 1 chain(s)")), done.toString());
            assertEquals(List.of(), store.check());
            assertAllRead(store);
            assertEquals((long) KEYS, store.stats().get("curr_items"));
        }
    }

    /** What a stray write leaves in a header word of the first item of a chain. */
    enum ItemGarble {
        /** NEXT zeroed: the chain ends there, silently. */
        NEXT_ZEROED(ItemLayout.NEXT),
        /** A state no record has: the ring does not parse there. */
        STATE(ItemLayout.STATE),
        /** Another bucket's hash. */
        HASH(ItemLayout.HASH),
        /** A key length the record cannot hold. */
        KEY_LEN(ItemLayout.KEY_LEN);

        final int field;

        ItemGarble(final int field) {
            this.field = field;
        }
    }

    /**
     * A word of a chain's first item garbled. A zeroed NEXT is silent, as a zeroed bucket word is:
     * the items past it are whole but no chain reaches them, and check names them. Any other word
     * check names as damage, and the repair cuts the chain at that item. Either way the repair
     * links the items past it again (after a cut, it used to drop them): every key but the damaged
     * item's reads its value.
     */
    @ParameterizedTest
    @EnumSource(ItemGarble.class)
    void theItemsPastAGarbledItemAreLinkedAgain(final ItemGarble garble) throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve(garble + ".store"), OPTIONS)) {
            fill(store);
            final BucketTable t = BucketTable.of(store.arena());
            final int bucket = t.longest();
            final List<Integer> chain = t.chain(bucket);
            final int first = chain.get(0);
            final String damaged = t.key(first);
            final List<Integer> past = chain.subList(1, chain.size());
            final ArenaView v = t.view();
            v.putInt(first + garble.field, switch (garble) {
                case NEXT_ZEROED -> 0;
                case STATE -> 77;
                case HASH -> v.getInt(first + ItemLayout.HASH) ^ 0x5555;
                case KEY_LEN -> 300;
            });

            final List<String> found = store.check();
            if (garble == ItemGarble.NEXT_ZEROED) {
                assertEquals(past.size(), unreached(found).size(), found.toString());
                for (final int p : past) {
                    assertTrue(found.contains(UNREACHED + bucket + ", pos=" + v.getLong(p + ItemLayout.POS) + ", key="
                        + t.key(p)), found.toString());
                }
            } else {
                // The check walks on past the damaged item, which it names.
                assertTrue(found.stream().anyMatch(l -> l.contains("pos=" + v.getLong(first + ItemLayout.POS))),
                    found.toString());
            }
            final List<String> done = IpcCheck.repair(store.arena(), 1_000_000_000L);
            assertTrue(done.contains("store sharena.store: re-linked " + past.size() + " item(s) (" + t.bytes(past)
                + " bytes) that no chain reached and their stripe still counted: bucket=" + bucket + " ("
                + past.size() + ")"), done.toString());
            assertEquals(List.of(), store.check());
            for (int i = 0; i < KEYS; i++) {
                final byte[] value = store.get(b("k" + i));
                if (!damaged.equals("k" + i) || garble == ItemGarble.NEXT_ZEROED) {
                    assertArrayEquals(Values.make(i), value, "k" + i);
                }
            }
        }
    }

    /**
     * A lost key written again before the repair: the next writer found it absent and stored it
     * anew. The repair keeps the new value and leaves the lost one, an older version, to the tail,
     * saying so (and the stripe's counts, which held both, are recounted); the other lost items are
     * linked again.
     */
    @Test
    void aLostKeyWrittenAgainKeepsItsNewValue() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("again.store"), OPTIONS)) {
            fill(store);
            final BucketTable t = BucketTable.of(store.arena());
            final int bucket = t.longest();
            final List<Integer> lost = t.chain(bucket);
            t.view().putInt(t.word(bucket), 0);
            final String again = t.key(lost.get(0));
            assertEquals(StoreResult.STORED, store.add(b(again), b("new"), 0, 0), "absent to the writer");

            final List<String> found = store.check();
            assertEquals(lost.size() - 1, unreached(found).size(), found.toString());
            assertTrue(found.stream().noneMatch(l -> l.endsWith(", key=" + again)), found.toString());

            final long older = t.bytes(lost.subList(0, 1));
            final List<Integer> relinked = lost.subList(1, lost.size());
            assertEquals(List.of("store sharena.store: re-linked " + relinked.size() + " item(s) (" + t.bytes(relinked)
                    + " bytes) that no chain reached and their stripe still counted: bucket=" + bucket + " ("
                    + relinked.size() + ")",
                "store sharena.store: left 1 unreached item(s) (" + older + " bytes) to the tail: older versions of"
                    + " keys their chains hold",
                "store sharena.store: recounted 1 stripe(s) whose item or byte counts differed from their chains"),
                IpcCheck.repair(store.arena(), 1_000_000_000L));
            assertEquals(List.of(), store.check());
            assertArrayEquals(b("new"), store.get(b(again)));
            for (final int p : relinked) {
                final String k = t.key(p);
                assertArrayEquals(Values.make(Integer.parseInt(k.substring(1))), store.get(b(k)), k);
            }
        }
    }

    /**
     * The tail reached the lost items before any repair: it passed them as garbage (no chain
     * holds them), and their space is reused. Check still sees the stripe's counts hold more than
     * its chains; the repair says how many items (and bytes) that is, lost before it ran, and
     * recounts.
     */
    @Test
    void itemsTheTailReclaimedWhileUnreachedAreCountedAsLost() throws Exception {
        try (SharedStore store = SharedStore.create(dir.resolve("reclaimed.store"), OPTIONS)) {
            fill(store);
            final BucketTable t = BucketTable.of(store.arena());
            final int bucket = t.longest();
            final List<Integer> lost = t.chain(bucket);
            final long bytes = t.bytes(lost);
            final List<String> keys = lost.stream().map(t::key).toList();
            t.view().putInt(t.word(bucket), 0);
            final long head = store.stats().get("ring_head");
            for (int i = 0; store.stats().get("ring_tail") < head; i++) {
                assertEquals(StoreResult.STORED, store.set(b("lap" + (i % 3000)), Values.make(i), 0, 0), "lap " + i);
            }

            final List<String> found = store.check();
            assertEquals(List.of(), unreached(found), found.toString());
            assertTrue(found.stream().anyMatch(l -> l.startsWith("stripe counts differ from its chains: stripe="
                + bucket % StoreOptions.STRIPES + ", items=")), found.toString());
            assertEquals(List.of("store sharena.store: the counts of 1 stripe(s) held " + lost.size() + " item(s) ("
                    + bytes + " bytes) that no chain reaches and no whole record of the ring holds: items lost before"
                    + " this repair (reclaimed by the tail while unreached, or garbled), or counts garbled themselves",
                "store sharena.store: recounted 1 stripe(s) whose item or byte counts differed from their chains"),
                IpcCheck.repair(store.arena(), 1_000_000_000L));
            assertEquals(List.of(), store.check());
            for (final String k : keys) {
                assertNull(store.get(b(k)), k);
            }
        }
    }
}
