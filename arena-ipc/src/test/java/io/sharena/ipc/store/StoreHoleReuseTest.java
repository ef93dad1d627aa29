package io.sharena.ipc.store;

import io.sharena.ipc.PointPause;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.sharena.ipc.store.StoreCrashTest.b;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A large item replaced or deleted leaves a hole that this attachment's next large write of a size
 * it takes fills ({@link Ring#keepHole}): a value that replaces itself takes back the space its last
 * version left, as memcached's slab chunk is, instead of making the ring's tail pass (and move)
 * other items. The record placed there keeps the hole's position, so lock-free readers check the
 * store's reuse count as well as the tail, and a rewrite that read the item lock-free checks its
 * CAS value as well as its place.
 */
class StoreHoleReuseTest {
    private static final long RING = StoreHoleTest.RING;
    private static final int BIG = StoreHoleTest.BIG;

    @TempDir
    Path dir;

    private SharedStore create() throws IOException {
        return StoreHoleTest.create(dir.resolve("r.store"));
    }

    /**
     * Runs {@code op} on a thread paused at {@code point}, runs {@code meanwhile} while it waits
     * there, then lets it finish and checks that it did without failing.
     */
    private static void whilePaused(final StorePoint point, final Runnable op, final Runnable meanwhile)
        throws InterruptedException {
        final Throwable[] failure = new Throwable[1];
        final Thread paused;
        try (PointPause pause = new PointPause(point)) {
            paused = PointPause.start(op, failure);
            assertTrue(pause.awaitReached(), "the paused thread reached " + point.id());
            meanwhile.run();
            pause.release();
            paused.join(10_000);
        }
        assertNull(failure[0], () -> "the paused thread failed: " + failure[0]);
    }

    /** A value of {@code len} bytes whose every 8-byte word is {@code seq}: a torn read shows. */
    static byte[] value(final long seq, final int len) {
        final ByteBuffer buf = ByteBuffer.allocate(len).order(ByteOrder.nativeOrder());
        while (buf.remaining() >= Long.BYTES) {
            buf.putLong(seq);
        }
        return buf.array();
    }

    /** @return the one word every 8 bytes of {@code v} hold, or -1 if they differ (a torn value) */
    static long seqOf(final MemorySegment v) {
        final long first = v.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        for (long at = 8; at + 8 <= v.byteSize(); at += 8) {
            if (v.get(ValueLayout.JAVA_LONG_UNALIGNED, at) != first) {
                return -1;
            }
        }
        return first;
    }

    @Test
    void aLargeValueThatReplacesItselfTakesTheSpaceItsLastVersionLeft() throws IOException {
        try (SharedStore store = create()) {
            // A third of the ring in small live items: the tail would move them all each lap.
            int items = 0;
            while (store.stats().get("bytes") < RING / 3) {
                assertEquals(StoreResult.STORED, store.set(b("item" + items), Values.make(items % 50), 0, 0));
                items++;
            }
            store.set(b("big"), value(0, BIG), 0, 0);
            store.set(b("big"), value(1, BIG), 0, 0);
            final Map<String, Long> before = store.stats();
            final int sets = 200; // 40 MB through a 4 MiB ring
            for (int i = 2; i < sets; i++) {
                assertEquals(StoreResult.STORED, store.set(b("big"), value(i, BIG), 0, 0));
                assertEquals(i, seqOf(MemorySegment.ofArray(store.get(b("big")))), "set " + i);
            }
            final Map<String, Long> after = store.stats();
            assertEquals(before.get("ring_head"), after.get("ring_head"), "every set placed where a version before it was");
            assertEquals(before.get("ring_tail"), after.get("ring_tail"), "the tail did not move");
            assertEquals(sets - 2, after.get("holes_filled") - before.get("holes_filled"));
            assertEquals(before.get("reinserted"), after.get("reinserted"), "no item moved");
            assertEquals(0L, after.get("evictions"));
            for (int i = 0; i < items; i++) {
                assertArrayEquals(Values.make(i % 50), store.get(b("item" + i)), "item" + i);
            }
            assertEquals(List.of(), store.check());
        }
    }

    @Test
    void theNextLargeWriteTakesTheSpaceOfADeletedItem() throws IOException {
        try (SharedStore store = create()) {
            store.set(b("gone"), value(1, BIG), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("gone")));
            final long where = r.value().address();
            store.set(b("after"), b("v"), 0, 0);
            assertEquals(StoreResult.DELETED, store.delete(b("gone")));
            store.set(b("else"), value(2, BIG), 0, 0);
            assertTrue(r.get(b("else")));
            assertEquals(where, r.value().address(), "placed where the deleted item was");
            assertEquals(2, seqOf(r.value()));
            assertTrue(r.validate());
            assertEquals(1L, store.stats().get("holes_filled"));
            assertArrayEquals(b("v"), store.get(b("after")));
            assertEquals(List.of(), store.check());
        }
    }

    @Test
    void aReaderOfAnItemWhoseSpaceWasReusedKnowsItThoughTheTailStoodStill() throws IOException {
        try (SharedStore store = create()) {
            store.set(b("big"), value(1, BIG), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("big")));
            final MemorySegment seen = r.value();
            final long mark = r.itemMark();
            final long cas = r.cas();
            final long tail = store.stats().get("ring_tail");
            store.set(b("big"), value(2, BIG), 0, 0); // the first version's space is a hole now
            assertTrue(r.validate(), "replaced, its bytes not reused yet: still whole");
            store.set(b("big"), value(3, BIG), 0, 0); // placed in that hole
            assertEquals(3, seqOf(seen), "the reader's segment holds the third version's bytes");
            assertEquals(tail, store.stats().get("ring_tail"), "the tail alone would have said nothing changed");
            assertFalse(r.validate(), "a zero-copy read of the first version is not valid any more");
            assertFalse(r.validate(mark, cas), "nor by its mark");
            assertTrue(r.get(b("big")));
            assertEquals(3, seqOf(r.value()));
            assertTrue(r.validate());
        }
    }

    /**
     * A store of the format before (made by the build before) may be shared with a process of that
     * build, whose readers check the tail alone: nothing is placed there in the space of an item
     * replaced or deleted. A store this build makes has its own format, which the build before
     * refuses to open (found by a review: the version had stayed the same).
     */
    @Test
    void aStoreOfTheFormatBeforeKeepsNoHoleOfAReplacedItem() throws IOException {
        final Path file = dir.resolve("v.store");
        try (SharedStore store = StoreHoleTest.create(file)) {
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            assertEquals(StoreLayout.VERSION_VALUE, store.arena().raw().getInt(header + StoreLayout.VERSION));
            store.arena().raw().putInt(header + StoreLayout.VERSION, StoreLayout.VERSION_SHARED);
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final StoreReader r = store.reader();
            store.set(b("big"), value(1, BIG), 0, 0);
            assertTrue(r.get(b("big")));
            final long first = r.value().address();
            store.set(b("big"), value(2, BIG), 0, 0);
            store.set(b("big"), value(3, BIG), 0, 0);
            assertTrue(r.get(b("big")));
            assertTrue(r.value().address() != first, "placed at the head, not in the first version's space");
            assertEquals(3, seqOf(r.value()));
            assertEquals(0L, store.stats().get("holes_filled"));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * An item kept in place (a server's send from the mapping to a slow client) is not written over
     * while it is kept, though deleted, as memcached keeps an item whole until its send ends (its
     * own multiversioning.t, which the first version of this change failed); once released, its
     * space is taken again.
     */
    @Test
    void anItemKeptInPlaceIsNotWrittenOverUntilReleased() throws IOException {
        try (SharedStore store = create()) {
            store.set(b("big"), value(1, BIG), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("big")));
            final long mark = r.itemMark();
            final long cas = r.cas();
            final MemorySegment seen = r.value();
            store.keepInPlace(mark);
            assertEquals(StoreResult.DELETED, store.delete(b("big")));
            store.set(b("else"), value(2, BIG), 0, 0);
            assertEquals(1, seqOf(seen), "the deleted item's value is still whole");
            assertTrue(r.validate(mark, cas));
            assertEquals(0L, store.stats().get("holes_filled"));
            store.releaseInPlace(mark);
            store.set(b("else"), value(3, BIG), 0, 0);
            assertEquals(1L, store.stats().get("holes_filled"), "the space is taken once released");
            assertFalse(r.validate(mark, cas));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * A placement tells only the readers of the item whose space it takes: a zero-copy read, or a
     * server's send from the mapping, of another item goes on (with one count for the whole store,
     * found by a review, every large set closed every connection sending a large value).
     */
    @Test
    void aHoleFilledElsewhereLeavesTheReadersOfAnotherItemAlone() throws IOException {
        try (SharedStore store = create()) {
            store.set(b("cold"), value(7, BIG), 0, 0);
            store.set(b("hot"), value(1, 8192), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("cold")));
            final long mark = r.itemMark();
            final long cas = r.cas();
            store.set(b("hot"), value(2, 8192), 0, 0); // hot's first version: a hole
            store.set(b("hot"), value(3, 8192), 0, 0); // placed in it
            assertEquals(1L, store.stats().get("holes_filled"));
            assertEquals(7, seqOf(r.value()));
            assertTrue(r.validate(mark, cas), "a mark of cold still holds");
            assertTrue(r.validate(), "a zero-copy read of cold still holds");
            final byte[] dst = new byte[BIG];
            assertEquals(BIG, store.get(b("cold"), dst));
            assertEquals(0L, store.stats().get("read_retries"), "no read was made again");
        }
    }

    /**
     * A placement smaller than the hole writes the PAD of the rest into the replaced item's value
     * before it reserves the record (whose owner word is the CAS word): a reader of that value must
     * know from the first step on, so the CAS word is cleared before anything else.
     */
    @Test
    void aReaderKnowsFromThePlacementsFirstWriteIntoTheReplacedItem() throws Exception {
        try (SharedStore store = create()) {
            store.set(b("big"), value(1, BIG), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("big")));
            store.set(b("big"), value(2, BIG), 0, 0); // the first version's space: a hole
            whilePaused(StorePoint.HOLE_REST_PADDED,
                () -> assertEquals(StoreResult.STORED, store.set(b("other"), value(9, 8192), 0, 0)), () -> {
                    assertEquals(-1, seqOf(r.value()), "the rest's PAD header written inside the first version's value");
                    assertFalse(r.validate(), "a reader of the first version knows");
                });
            assertEquals(9, seqOf(MemorySegment.ofArray(store.get(b("other")))));
            assertEquals(2, seqOf(MemorySegment.ofArray(store.get(b("big")))));
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * While a record is built in a hole its CAS word holds the placing process's owner token, and
     * then, marked LINKED, still holds it until its CAS value is written: were a CAS value equal to
     * a token (both counted from small numbers), a reader of the replaced item whose CAS value it
     * was would take the record being built for the item it read. CAS values are kept above every
     * token ({@link StoreWriter#CAS_FLOOR}): here the counter is set so that, counted from where it
     * stood, the item's CAS value would be this process's token.
     */
    @Test
    void aReaderKnowsOfAPlacementWhoseOwnerTokenWasItsItemsCasValue() throws Exception {
        try (SharedStore store = create()) {
            final long token = io.sharena.core.internal.ArenaInternals.ownership(store.arena()).process();
            final int header = io.sharena.ipc.NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putLong(header + StoreLayout.CAS_COUNTER, token - 1);
            store.set(b("big"), value(1, BIG), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("big")));
            final long cas = r.cas();
            store.set(b("big"), value(2, BIG), 0, 0); // the first version's space: a hole
            whilePaused(StorePoint.HOLE_RESERVED,
                () -> assertEquals(StoreResult.STORED, store.set(b("else"), value(9, BIG), 0, 0)),
                () -> assertFalse(r.validate(), "a reader of the first version knows"));
            assertEquals(9, seqOf(MemorySegment.ofArray(store.get(b("else")))));
            assertTrue(cas > StoreWriter.CAS_FLOOR, "CAS value " + cas + ", token " + token);
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * A rewrite (append) reads the item lock-free, builds the new version and is paused before it
     * takes the stripe lock; meanwhile the item is replaced twice, the second time into the first
     * version's space, at the same pointer and position. The append must see that the item changed
     * and read it again: with the place compared alone, it published the first version plus its
     * suffix over the third.
     */
    @Test
    void aRewriteOfAnItemReplacedIntoItsOwnSpaceReadsItAgain() throws Exception {
        try (SharedStore store = create()) {
            final int len = BIG - 1024;
            store.set(b("big"), value(1, len), 0, 0);
            final StoreReader r = store.reader();
            assertTrue(r.get(b("big")));
            final long where = r.value().address();
            whilePaused(StorePoint.SET_BUILT, () -> assertEquals(StoreResult.STORED, store.append(b("big"), b("!"))), () -> {
                store.set(b("big"), value(2, len), 0, 0);
                store.set(b("big"), value(3, len), 0, 0);
                assertTrue(r.get(b("big")));
                assertEquals(where, r.value().address(), "the third version sits where the first did");
            });
            final byte[] v = store.get(b("big"));
            assertEquals(len + 1, v.length);
            assertEquals('!', v[len]);
            assertEquals(3, seqOf(MemorySegment.ofArray(v).asSlice(0, len)), "appended to the third version");
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * The same across processes: a child JVM reads two large items in place while this one replaces
     * them over and over in the spaces of their versions before last. The reuse count the child
     * checks is the shared one.
     */
    @Test
    void aReaderInAnotherProcessNeverSeesATornValueWhileLargeItemsAreReplacedInPlace() throws Exception {
        final Path file = dir.resolve("p.store");
        try (SharedStore store = StoreHoleTest.create(file)) {
            store.set(b("big0"), value(0, BIG), 0, 0);
            store.set(b("big1"), value(0, BIG), 0, 0);
            final long filledBefore = store.stats().get("holes_filled");
            try (ChildJvm child = StoreChild.start("bigread", file.toString(), "3000")) {
                child.await("opened");
                // Replaces until the child has read for its time (and for a minute at most).
                final long end = System.nanoTime() + 60_000_000_000L;
                for (long seq = 1; child.output().stream().noneMatch(l -> l.startsWith("bigread"))
                    && System.nanoTime() - end < 0; seq++) {
                    assertEquals(StoreResult.STORED, store.set(b("big" + (seq & 1)), value(seq, BIG), 0, 0));
                }
                final String[] line = child.await("bigread").split(" ");
                final long reads = Long.parseLong(line[1]);
                assertTrue(reads > 100, "the child's reads: " + reads);
                assertEquals(0L, Long.parseLong(line[2]), "torn reads among " + reads);
                assertTrue(store.stats().get("holes_filled") - filledBefore > 100, "sets placed in holes");
            }
            assertEquals(List.of(), store.check());
        }
    }

    /**
     * One thread replaces two large items over and over (each set placed in the space of the version
     * before last), while readers copy them and read them in place: no read that validates is torn.
     */
    @Test
    void readersNeverSeeATornValueWhileLargeItemsAreReplacedInPlace() throws Exception {
        try (SharedStore store = create()) {
            final byte[][] keys = {b("big0"), b("big1")};
            store.set(keys[0], value(0, BIG), 0, 0);
            store.set(keys[1], value(0, BIG), 0, 0);
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong torn = new AtomicLong();
            final AtomicLong reads = new AtomicLong();
            final Throwable[] failure = new Throwable[3];
            final Thread writer = new Thread(() -> {
                try {
                    for (long seq = 1; !stop.get(); seq++) {
                        assertEquals(StoreResult.STORED, store.set(keys[(int) (seq & 1)], value(seq, BIG), 0, 0));
                    }
                } catch (final Throwable e) {
                    failure[0] = e;
                }
            });
            final Thread copier = new Thread(() -> {
                try {
                    final byte[] dst = new byte[BIG];
                    for (int i = 0; !stop.get(); i++) {
                        if (store.get(keys[i & 1], dst) == BIG) {
                            reads.incrementAndGet();
                            if (seqOf(MemorySegment.ofArray(dst)) < 0) {
                                torn.incrementAndGet();
                            }
                        }
                    }
                } catch (final Throwable e) {
                    failure[1] = e;
                }
            });
            final Thread inPlace = new Thread(() -> {
                try {
                    final StoreReader r = store.reader();
                    for (int i = 0; !stop.get(); i++) {
                        if (r.get(keys[i & 1])) {
                            final long seq = seqOf(r.value());
                            if (r.validate()) {
                                reads.incrementAndGet();
                                if (seq < 0) {
                                    torn.incrementAndGet();
                                }
                            }
                        }
                    }
                } catch (final Throwable e) {
                    failure[2] = e;
                }
            });
            writer.start();
            copier.start();
            inPlace.start();
            Thread.sleep(2_000);
            stop.set(true);
            writer.join(10_000);
            copier.join(10_000);
            inPlace.join(10_000);
            for (final Throwable t : failure) {
                assertNull(t, () -> "a thread failed: " + t);
            }
            final Map<String, Long> st = store.stats();
            assertTrue(st.get("holes_filled") > 100, "sets placed in holes: " + st.get("holes_filled"));
            assertTrue(reads.get() > 100, "reads: " + reads.get());
            assertEquals(0L, torn.get(), "torn reads among " + reads.get() + " (read retries "
                + st.get("read_retries") + ", holes filled " + st.get("holes_filled") + ")");
            assertEquals(List.of(), store.check());
        }
    }
}
