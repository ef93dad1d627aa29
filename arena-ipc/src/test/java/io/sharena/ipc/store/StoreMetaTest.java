package io.sharena.ipc.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static io.sharena.ipc.store.SharedStoreTest.b;
import static io.sharena.ipc.store.SharedStoreTest.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the store keeps for memcached's meta protocol: hit-before and last-access, win tokens
 * (vivify, recache, invalidate), stale items, and the one-step compare-and-act calls (delete and
 * arithmetic with a CAS, stores returning their own CAS). Time moves by a test clock.
 */
class StoreMetaTest {
    static final long T0 = SharedStoreTest.T0;
    static final long T0_S = T0 / 1000;

    @TempDir
    Path dir;
    final AtomicLong now = new AtomicLong(T0);
    SharedStore store;
    StoreReader r;

    @BeforeEach
    void create() throws Exception {
        store = SharedStore.create(dir.resolve("m.store"), StoreOptions.defaults().withMemoryLimit(8L << 20)
            .withMaxItemSize(64 << 10).withClock(now::get));
        r = store.reader();
    }

    @AfterEach
    void checkAndClose() throws Exception {
        assertEquals(List.of(), store.check());
        store.close();
    }

    private String value() {
        final byte[] v = new byte[r.valueLength()];
        assertTrue(r.copyValue(v, 0));
        return s(v);
    }

    /** A count of an item the caller holds a reply of is a new item of the number's length, as memcached writes it. */
    @Test
    void aCountOfAHeldItemIsANewItemOfTheNumbersLength() {
        final long[] result = new long[3];
        store.set(b("c"), b("10"), 0, 0);
        assertEquals(StoreResult.STORED, store.invalidate(b("c"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY));
        assertTrue(r.get(b("c")));
        final long held = r.cas();
        assertEquals(StoreResult.STORED, store.count(b("c"), 1, false, SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY,
            held + 1, result));
        assertTrue(r.peek(b("c")));
        assertEquals("9 ", value(), "another item held: counted in place, padded");
        assertTrue(r.stale(), "in place: the stale mark stays");
        assertEquals(StoreResult.STORED, store.count(b("c"), 1, false, SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY,
            r.cas(), result));
        assertTrue(r.peek(b("c")));
        assertEquals("8", value(), "held: a new item of the number's length");
        assertFalse(r.stale(), "a new item: no stale mark");
        assertEquals(8, result[0]);
    }

    /** memcached's item flag for a key written in base64: set by the write, kept in place, dropped by new items. */
    @Test
    void aBase64KeyMarkIsWrittenWithTheItemAndKeptOnlyInPlace() {
        final long[] casOut = new long[1];
        final java.util.function.Predicate<String> marked = k -> {
            assertTrue(r.peek(b(k)), k);
            return r.binaryKey();
        };
        for (final StoreMode mode : new StoreMode[] {StoreMode.SET, StoreMode.ADD, StoreMode.REPLACE}) {
            store.set(b("x"), b("0"), 0, 0);
            if (mode == StoreMode.ADD) {
                store.delete(b("x"));
            }
            assertEquals(StoreResult.STORED, store.store(mode, b("x"), b("9"), 0, 0, SharedStore.ANY_CAS, false, true,
                casOut));
            assertTrue(marked.test("x"), mode.name());
            assertEquals(StoreResult.STORED, store.set(b("x"), b("1"), 0, 0));
            assertFalse(marked.test("x"), "a write without the mark after " + mode);
        }
        assertTrue(r.peek(b("x")));
        assertEquals(StoreResult.STORED, store.store(StoreMode.CAS, b("x"), b("10"), 0, 0, r.cas(), false, true, casOut));
        assertTrue(marked.test("x"), "cas");

        final long[] result = new long[1];
        assertEquals(StoreResult.STORED, store.decr(b("x"), 3, result));
        assertTrue(marked.test("x"), "a decr in place keeps it");
        assertEquals(StoreResult.TOUCHED, store.touch(b("x"), 100));
        assertTrue(marked.test("x"), "touch keeps it");
        assertEquals(StoreResult.STORED, store.invalidate(b("x"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY));
        assertTrue(marked.test("x") && r.stale(), "invalidate keeps it");
        assertTrue(r.peek(b("x")));
        assertEquals(StoreResult.STORED, store.store(StoreMode.CAS, b("x"), b("99"), 0, 0, r.cas() - 1, true, true,
            casOut));
        assertTrue(marked.test("x") && r.stale(), "a stale write with the mark");
        assertEquals(StoreResult.STORED, store.store(StoreMode.CAS, b("x"), b("99"), 0, 0, casOut[0] - 1, true, false,
            casOut));
        assertFalse(marked.test("x"), "a stale write without it");
        assertEquals(StoreResult.STORED, store.store(StoreMode.SET, b("x"), b("99"), 0, 0, SharedStore.ANY_CAS, false,
            true, casOut));
        assertEquals(StoreResult.STORED, store.incr(b("x"), 1, result));
        assertFalse(marked.test("x"), "an incr that lengthens the number makes a new item");

        store.store(StoreMode.SET, b("y"), b("v"), 0, 0, SharedStore.ANY_CAS, false, true, casOut);
        assertEquals(StoreResult.STORED, store.store(StoreMode.APPEND, b("y"), b("w"), 0, 0, SharedStore.ANY_CAS,
            false, true, casOut));
        assertFalse(marked.test("y"), "append makes an unmarked item, as memcached's");
        assertEquals(StoreResult.STORED, store.vivify(b("z"), 30));
        assertFalse(marked.test("z"), "vivify");
        assertFalse(r.peek(b("none")));
        assertThrows(IllegalStateException.class, r::binaryKey, "a miss has no mark to read");
    }

    @Test
    void hitBeforeAndLastAccessAsMemcachedKeepsThem() {
        store.set(b("k"), b("v"), 0, 0);
        assertTrue(r.get(b("k")));
        assertFalse(r.fetchedBefore(), "first read");
        assertEquals(0, r.secondsSinceAccess());
        now.addAndGet(2_000);
        assertTrue(r.get(b("k")));
        assertTrue(r.fetchedBefore(), "second read");
        assertEquals(2, r.secondsSinceAccess(), "reads within the minute leave the access time");

        store.set(b("u"), b("v"), 0, 0);
        assertTrue(r.get(b("u"), false));
        assertFalse(r.fetchedBefore());
        assertTrue(r.get(b("u"), false));
        assertFalse(r.fetchedBefore(), "a read without bump marks nothing");

        now.addAndGet(61_000);
        store.tick();
        assertTrue(r.get(b("k")));
        assertEquals(63, r.secondsSinceAccess(), "as it stood before this read");
        assertTrue(r.get(b("k")));
        assertEquals(0, r.secondsSinceAccess(), "a read a minute on moves it");
        assertTrue(r.get(b("u"), false));
        assertEquals(61, r.secondsSinceAccess(), "stored two seconds after k");
        assertTrue(r.get(b("u"), false));
        assertEquals(61, r.secondsSinceAccess(), "a read without bump leaves it");

        store.set(b("k"), b("w"), 0, 0);
        assertTrue(r.get(b("k")));
        assertFalse(r.fetchedBefore(), "a new value is a new item");
    }

    @Test
    void vivifyHandsTheTokenToTheCreatorOnly() {
        assertEquals(StoreResult.STORED, store.vivify(b("k"), 30));
        assertTrue(r.get(b("k")));
        assertEquals(0, r.valueLength());
        assertTrue(r.tokenSent(), "the creator won");
        assertEquals(T0_S + 30, r.expires());
        assertFalse(r.claimToken(), "nobody else wins");
        assertEquals(StoreResult.NOT_STORED, store.vivify(b("k"), 30));

        store.set(b("k"), b("filled"), 0, 0);
        assertTrue(r.get(b("k")));
        assertFalse(r.tokenSent(), "a new value starts without a token");
        assertTrue(r.claimToken(), "recache: the first to ask wins");
        assertFalse(r.claimToken());
        assertTrue(r.get(b("k")));
        assertTrue(r.tokenSent());
        assertFalse(r.claimToken());
    }

    @Test
    void aTokenClaimedFromAReplacedItemIsNotWon() {
        store.set(b("k"), b("a"), 0, 0);
        assertTrue(r.get(b("k")));
        store.set(b("k"), b("b"), 0, 0);
        assertFalse(r.claimToken(), "the item read is gone");
        assertTrue(r.get(b("k")));
        assertFalse(r.tokenSent());
    }

    @Test
    void oneWinnerAmongThreads() throws Exception {
        final int threads = 4;
        for (int round = 0; round < 50; round++) {
            store.set(b("k"), b("v" + round), 0, 0);
            final CyclicBarrier go = new CyclicBarrier(threads);
            final ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                final List<Future<Boolean>> wins = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    wins.add(pool.submit(() -> {
                        final StoreReader mine = store.reader();
                        go.await();
                        return mine.get(b("k")) && mine.claimToken();
                    }));
                }
                int won = 0;
                for (final Future<Boolean> w : wins) {
                    won += w.get() ? 1 : 0;
                }
                assertEquals(1, won, "round " + round);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * memcached rewrites a counter in place when the new number is no longer than the old value,
     * and marks an item stale in place: the item keeps its fetched mark, and the counter its stale
     * mark and win token. A number that grows is a new item in memcached too: none of them kept.
     */
    @Test
    void whatMemcachedRewritesInPlaceKeepsItsMarks() {
        final long[] n = new long[1];
        store.set(b("c"), b("5"), 0, 0);
        assertTrue(r.get(b("c")));
        assertTrue(r.claimToken());
        assertEquals(StoreResult.STORED, store.incr(b("c"), 1, n));
        assertTrue(r.get(b("c"), false));
        assertEquals("6", value());
        assertTrue(r.fetchedBefore(), "the fetched mark stays");
        assertTrue(r.tokenSent(), "the token stays out");
        assertEquals(StoreResult.STORED, store.incr(b("c"), 10, n));
        assertTrue(r.get(b("c"), false));
        assertEquals("16", value());
        assertFalse(r.fetchedBefore(), "a longer number is a new item");
        assertFalse(r.tokenSent());

        store.set(b("s"), b("5"), 0, 0);
        assertTrue(r.get(b("s")));
        assertEquals(StoreResult.STORED, store.invalidate(b("s"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY));
        assertTrue(r.get(b("s"), false));
        assertTrue(r.fetchedBefore(), "an invalidated item stays fetched");
        assertTrue(r.stale());
        assertTrue(r.claimToken(), "the first reader of a stale item wins");
        assertEquals(StoreResult.STORED, store.decr(b("s"), 1, n));
        assertTrue(r.get(b("s"), false));
        assertEquals("4", value());
        assertTrue(r.stale(), "a counted stale item stays stale");
        assertTrue(r.tokenSent());
        assertTrue(r.fetchedBefore());

        store.set(b("g"), b("9"), 0, 0);
        assertEquals(StoreResult.STORED, store.invalidate(b("g"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY));
        assertTrue(r.get(b("g")));
        assertTrue(r.claimToken());
        assertEquals(StoreResult.STORED, store.incr(b("g"), 1, n));
        assertTrue(r.get(b("g"), false));
        assertEquals("10", value());
        assertFalse(r.stale(), "a longer number is a new item, not stale");
        assertFalse(r.tokenSent());
    }

    @Test
    void invalidateThenServeStaleThenRevalidate() {
        store.set(b("k"), b("moo"), 0, 0);
        final long cas0 = store.gets(b("k")).cas();
        assertEquals(StoreResult.EXISTS, store.invalidate(b("k"), cas0 + 1, 30));
        assertEquals(StoreResult.NOT_FOUND, store.invalidate(b("none"), SharedStore.ANY_CAS, 30));
        assertEquals(StoreResult.STORED, store.invalidate(b("k"), cas0, 30));
        assertTrue(r.get(b("k")));
        assertTrue(r.stale());
        assertFalse(r.tokenSent());
        assertNotEquals(cas0, r.cas(), "invalidate bumps the CAS");
        assertEquals(T0_S + 30, r.expires());
        assertEquals("moo", value());
        assertTrue(r.claimToken(), "the first reader of a stale item wins");
        final long staleCas = r.cas();

        final long[] cas = new long[1];
        assertEquals(StoreResult.EXISTS, store.store(StoreMode.CAS, b("k"), b("f"), 0, 90, 1, false, cas),
            "an old CAS without invalidate");
        assertEquals(StoreResult.STORED, store.store(StoreMode.CAS, b("k"), b("f"), 0, 90, 1, true, cas),
            "an old CAS with invalidate stores a stale value");
        assertTrue(r.get(b("k")));
        assertEquals(cas[0], r.cas());
        assertTrue(r.stale());
        assertTrue(r.tokenSent(), "the token stays out");
        assertEquals(T0_S + 30, r.expires(), "the expiry stays");
        assertEquals("f", value());
        assertEquals(StoreResult.EXISTS, store.store(StoreMode.CAS, b("k"), b("h"), 0, 90, cas[0] + 1, true, cas),
            "a CAS above the item's is no invalidation");

        assertEquals(StoreResult.STORED, store.store(StoreMode.CAS, b("k"), b("g"), 0, 90, r.cas(), false, cas));
        assertTrue(r.get(b("k")));
        assertFalse(r.stale());
        assertFalse(r.tokenSent());
        assertEquals(T0_S + 90, r.expires());
        assertNotEquals(staleCas, r.cas());
        assertEquals("g", value());
    }

    @Test
    void deleteWithACasComparesAndDeletesInOneStep() {
        store.set(b("k"), b("v"), 0, 0);
        final long cas = store.gets(b("k")).cas();
        assertEquals(StoreResult.EXISTS, store.delete(b("k"), cas + 1));
        assertArrayEquals(b("v"), store.get(b("k")), "a failed compare deletes nothing");
        assertEquals(StoreResult.DELETED, store.delete(b("k"), cas));
        assertNull(store.get(b("k")));
        assertEquals(StoreResult.NOT_FOUND, store.delete(b("k"), cas));
    }

    @Test
    void storesReturnTheirOwnCas() {
        final long[] cas = new long[1];
        assertEquals(StoreResult.STORED, store.store(StoreMode.SET, b("k"), b("a"), 7, 0, SharedStore.ANY_CAS, false,
            cas));
        assertEquals(store.gets(b("k")).cas(), cas[0]);
        final long first = cas[0];
        assertEquals(StoreResult.EXISTS, store.store(StoreMode.APPEND, b("k"), b("b"), 0, 0, first + 1, false, cas));
        assertEquals(StoreResult.STORED, store.store(StoreMode.APPEND, b("k"), b("b"), 0, 0, first, false, cas));
        assertNotEquals(first, cas[0]);
        final StoreItem item = store.gets(b("k"));
        assertEquals(cas[0], item.cas());
        assertEquals("ab", s(item.value()));
        assertEquals(7, item.flags(), "append keeps the flags");
        assertEquals(StoreResult.STORED, store.store(StoreMode.PREPEND, b("k"), b("z"), 0, 0, SharedStore.ANY_CAS,
            false, cas));
        assertEquals(store.gets(b("k")).cas(), cas[0]);
        assertEquals(StoreResult.NOT_STORED, store.store(StoreMode.APPEND, b("none"), b("z"), 0, 0, 5, false, cas));
        assertEquals(StoreResult.NOT_STORED, store.store(StoreMode.ADD, b("k"), b("z"), 0, 0, SharedStore.ANY_CAS,
            false, cas));
        assertEquals(StoreResult.STORED, store.store(StoreMode.REPLACE, b("k"), b("r"), 0, 0, SharedStore.ANY_CAS,
            false, cas));
        assertEquals(store.gets(b("k")).cas(), cas[0]);
    }

    @Test
    void arithmeticWithCasAndTtlInOneStep() {
        store.set(b("n"), b("10"), 0, 0);
        final long cas = store.gets(b("n")).cas();
        final long[] out = new long[3];
        assertEquals(StoreResult.EXISTS, store.incr(b("n"), 5, cas + 1, SharedStore.KEEP_EXPIRY, out));
        assertEquals("10", s(store.get(b("n"))));
        assertEquals(StoreResult.STORED, store.incr(b("n"), 5, cas, 100, out));
        assertEquals(15, out[0]);
        final StoreItem item = store.gets(b("n"));
        assertEquals(item.cas(), out[1]);
        assertEquals(T0_S + 100, out[2]);
        assertEquals(T0_S + 100, item.expires());
        assertEquals(StoreResult.STORED, store.decr(b("n"), 20, SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY, out));
        assertEquals(0, out[0], "decr stops at 0");
        assertEquals(T0_S + 100, out[2], "the expiry kept");
        assertEquals(StoreResult.NOT_FOUND, store.incr(b("none"), 1, SharedStore.ANY_CAS, 0, out));
    }

    @Test
    void readerGetAndTouch() {
        store.set(b("k"), b("value"), 0, 0);
        assertEquals(StoreResult.TOUCHED, r.getAndTouch(b("k"), 50));
        assertEquals(T0_S + 50, r.expires());
        assertEquals("value", value());
        assertTrue(r.validate());
        assertEquals(T0_S + 50, store.gets(b("k")).expires());
        assertEquals(StoreResult.NOT_FOUND, r.getAndTouch(b("none"), 50));
        assertFalse(r.validate());

        store.set(b("u"), b("v"), 0, 0);
        assertEquals(StoreResult.TOUCHED, r.getAndTouch(b("u"), 60, false));
        assertFalse(r.fetchedBefore());
        assertEquals(StoreResult.TOUCHED, r.getAndTouch(b("u"), 70, false));
        assertFalse(r.fetchedBefore(), "a touch without bump marks nothing");
        assertEquals(T0_S + 70, r.expires());
        assertEquals(StoreResult.TOUCHED, r.getAndTouch(b("u"), 80));
        assertFalse(r.fetchedBefore());
        assertTrue(r.get(b("u")));
        assertTrue(r.fetchedBefore(), "a touch with bump marks it");
    }

    @Test
    void expiryTimesBeyondThirtyTwoBitsAreClampedNotWrapped() {
        store.set(b("k"), b("v"), 0, Long.MAX_VALUE);
        assertEquals(0xFFFF_FFFFL, store.gets(b("k")).expires());
    }
}
