package io.sharena.ipc.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.sharena.ipc.store.SharedStoreTest.b;
import static io.sharena.ipc.store.SharedStoreTest.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * memcached's edge cases, command by command, beyond {@link SharedStoreTest}: expiry boundaries to
 * the second, every command on expired and flushed items, keys with the bytes the text protocol
 * forbids, the max item size for every writing command, and the exact stats a scripted session
 * leaves. Time moves by a test clock.
 */
class StoreSemanticsTest {
    static final long T0 = SharedStoreTest.T0;
    static final long T0_S = T0 / 1000;

    @TempDir
    Path dir;
    final AtomicLong now = new AtomicLong(T0);
    SharedStore store;

    @BeforeEach
    void create() throws Exception {
        store = SharedStore.create(dir.resolve("s.store"), StoreOptions.defaults().withMemoryLimit(8L << 20)
            .withMaxItemSize(64 << 10).withClock(now::get));
    }

    @AfterEach
    void checkAndClose() throws Exception {
        assertEquals(List.of(), store.check());
        store.close();
    }

    @Test
    void expiryBoundariesToTheSecond() {
        now.set(T0 + 499); // relative times count from the nearest second: T0_S here
        store.set(b("never"), b("v"), 0, 0);
        store.set(b("minus1"), b("v"), 0, -1);
        store.set(b("minusBig"), b("v"), 0, Long.MIN_VALUE);
        store.set(b("rel1"), b("v"), 0, 1);
        store.set(b("rel30d"), b("v"), 0, SharedStore.RELATIVE_EXPIRY_LIMIT);
        store.set(b("absPast"), b("v"), 0, SharedStore.RELATIVE_EXPIRY_LIMIT + 1);
        store.set(b("absNow"), b("v"), 0, T0_S);
        store.set(b("absNext"), b("v"), 0, T0_S + 1);
        assertEquals(0, store.gets(b("never")).expires());
        assertNull(store.get(b("minus1")), "negative: expired at once");
        assertNull(store.get(b("minusBig")));
        assertNull(store.get(b("absPast")), "just over 30 days is an absolute time, long past");
        assertNull(store.get(b("absNow")), "an absolute time equal to now is expired");
        assertEquals(T0_S + 1, store.gets(b("rel1")).expires(), "relative: from now, in whole seconds");
        assertEquals(T0_S + SharedStore.RELATIVE_EXPIRY_LIMIT, store.gets(b("rel30d")).expires(),
            "exactly 30 days is still relative");
        assertEquals(T0_S + 1, store.gets(b("absNext")).expires());
        now.set(T0 + 1000);
        assertNull(store.get(b("rel1")), "expired when its second begins");
        assertNull(store.get(b("absNext")));
        assertEquals("v", s(store.get(b("rel30d"))));
        now.set((T0_S + SharedStore.RELATIVE_EXPIRY_LIMIT) * 1000 - 1);
        assertEquals("v", s(store.get(b("rel30d"))));
        now.addAndGet(1);
        assertNull(store.get(b("rel30d")));
        assertEquals("v", s(store.get(b("never"))));
    }

    /** A delay whose milliseconds overflow wrapped to a flush time in the past: everything flushed at once. */
    @Test
    void aFlushDelayPastTheLimitIsRefusedAndFlushesNothing() {
        assertEquals(StoreResult.STORED, store.set(b("k"), b("v"), 0, 0));
        now.addAndGet(2_000);
        assertThrows(IllegalArgumentException.class, () -> store.flushAll(Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> store.flushAll(SharedStore.MAX_FLUSH_DELAY_SECONDS + 1));
        assertEquals("v", s(store.get(b("k"))));
        store.flushAll(SharedStore.MAX_FLUSH_DELAY_SECONDS);
        now.addAndGet(2_000);
        assertEquals("v", s(store.get(b("k"))));
    }

    /** A store that opened its own arena: the second close threw the JDK's "Already closed". */
    @Test
    void aSecondCloseDoesNothing() throws Exception {
        final SharedStore own = SharedStore.create(dir.resolve("twice.store"), StoreOptions.defaults().withMemoryLimit(4L << 20));
        own.close();
        own.close();
        assertThrows(IllegalStateException.class, () -> own.get(b("k")));
    }

    /**
     * A value longer than the thread's scratch buffer is read twice (the buffer grows between):
     * the second read counted a second hit and a second use.
     */
    @Test
    void aLongValueReadIsOneHit() throws Exception {
        assertEquals(StoreResult.STORED, store.set(b("long"), new byte[5_000], 0, 0));
        store.resetStats();
        // A thread of its own: its scratch buffer starts short.
        final AtomicReference<Map<String, Long>> seen = new AtomicReference<>();
        final Thread reader = Thread.ofPlatform().start(() -> {
            assertEquals(5_000, store.get(b("long")).length);
            assertEquals(5_000, store.gets(b("long")).value().length);
            seen.set(store.stats());
        });
        reader.join();
        final Map<String, Long> st = seen.get();
        assertEquals(2L, st.get("get_hits"), st.toString());
        assertEquals(2L, st.get("cmd_get"), st.toString());
        assertEquals(0L, st.get("get_misses"), st.toString());
    }

    @Test
    void expiredAndFlushedItemsAreMissesForEveryCommand() {
        final long[] r = new long[1];
        for (final String how : List.of("expired", "flushed")) {
            store.set(b("k"), b("7"), 0, "expired".equals(how) ? 5 : 0);
            final long cas = store.gets(b("k")).cas();
            if ("expired".equals(how)) {
                now.addAndGet(5_000);
            } else {
                store.flushAll(0);
            }
            assertNull(store.get(b("k")), how);
            assertNull(store.gets(b("k")), how);
            assertEquals(StoreResult.NOT_FOUND, store.cas(b("k"), b("x"), 0, 0, cas), how);
            assertEquals(StoreResult.NOT_STORED, store.replace(b("k"), b("x"), 0, 0), how);
            assertEquals(StoreResult.NOT_STORED, store.append(b("k"), b("x")), how);
            assertEquals(StoreResult.NOT_STORED, store.prepend(b("k"), b("x")), how);
            assertEquals(StoreResult.NOT_FOUND, store.incr(b("k"), 1, r), how);
            assertEquals(StoreResult.NOT_FOUND, store.decr(b("k"), 1, r), how);
            assertEquals(StoreResult.NOT_FOUND, store.touch(b("k"), 0), how);
            assertEquals(StoreResult.NOT_FOUND, store.getAndTouch(b("k"), 0, new StoreItem[1]), how);
            assertEquals(StoreResult.NOT_FOUND, store.delete(b("k")), how);
            assertEquals(StoreResult.STORED, store.add(b("k"), b("new"), 0, 0), how + ": add takes the key");
            assertEquals("new", s(store.get(b("k"))));
            store.delete(b("k"));
        }
    }

    @Test
    void aLaterFlushAllReplacesAPendingOne() {
        store.set(b("a"), b("1"), 0, 0);
        store.flushAll(10);
        store.flushAll(0);
        assertNull(store.get(b("a")), "flushed now");
        store.set(b("b"), b("2"), 0, 0);
        store.flushAll(5);
        now.addAndGet(4_999);
        assertEquals("2", s(store.get(b("b"))), "not yet");
        now.addAndGet(1);
        assertNull(store.get(b("b")), "at the deadline");
        assertEquals(2L, store.stats().get("get_flushed"));
    }

    @Test
    void casNeedsTheExactValueAndALiveItem() {
        assertEquals(StoreResult.NOT_FOUND, store.cas(b("k"), b("v"), 0, 0, 0));
        store.set(b("k"), b("v"), 0, 0);
        final long cas = store.gets(b("k")).cas();
        assertEquals(StoreResult.EXISTS, store.cas(b("k"), b("w"), 0, 0, cas + 1));
        assertEquals(StoreResult.EXISTS, store.cas(b("k"), b("w"), 0, 0, 0), "0 is no wildcard");
        assertEquals(StoreResult.STORED, store.cas(b("k"), b("w"), 9, 0, cas));
        assertEquals(9, store.gets(b("k")).flags());
        store.delete(b("k"));
        assertEquals(StoreResult.NOT_FOUND, store.cas(b("k"), b("x"), 0, 0, cas), "deleted: NOT_FOUND, not EXISTS");
    }

    @Test
    void incrAndDecrEdges() {
        final long[] r = new long[1];
        store.set(b("n"), b("10"), 0, 0);
        assertEquals(StoreResult.STORED, store.decr(b("n"), 1, r));
        assertArrayEquals(b("9 "), store.get(b("n")), "decr keeps the value's length, padded with spaces");
        assertEquals(StoreResult.STORED, store.decr(b("n"), 9, r));
        assertEquals(StoreResult.STORED, store.decr(b("n"), 1, r));
        assertEquals(0, r[0], "decr below 0 stays at 0");
        store.set(b("n"), b("18446744073709551615"), 0, 0);
        assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
        assertEquals(0, r[0], "2^64 - 1 + 1 wraps to 0");
        assertEquals(StoreResult.STORED, store.decr(b("n"), 0, r));
        assertArrayEquals(b("0" + " ".repeat(19)), store.get(b("n")));
        store.set(b("n"), b("007"), 0, 0);
        assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
        assertArrayEquals(b("8  "), store.get(b("n")), "leading zeros are a number; the result has none, padded");
        store.set(b("n"), b("99"), 0, 0);
        assertEquals(StoreResult.STORED, store.incr(b("n"), 1, r));
        assertArrayEquals(b("100"), store.get(b("n")), "a longer result takes its own length");
        // A non-number is a result, not an exception: another process may store one at any time.
        for (final String v : List.of("1.5", "+1", "0x10", "1 2", "\u0661")) {
            store.set(b("n"), b(v), 0, 0);
            assertEquals(StoreResult.NON_NUMERIC, store.incr(b("n"), 1, r), v);
        }
        assertEquals("result array must hold one long: result=long[0]",
            assertThrows(IllegalArgumentException.class, () -> store.incr(b("n"), 1, new long[0])).getMessage());
        assertEquals("result array must hold one long: result=null",
            assertThrows(IllegalArgumentException.class, () -> store.decr(b("n"), 1, null)).getMessage());
    }

    /**
     * Keys are any 1 to 250 bytes: the API stores what the text protocol cannot carry (spaces,
     * control characters, bytes above 0x7F); refusing them is the protocol front end's business.
     */
    @Test
    void keysAreArbitraryBytes() {
        final List<byte[]> keys = List.of(b("a b"), b("a\r\nb"), new byte[] {0}, new byte[] {0, 0}, b("a\tb"),
            new byte[] {(byte) 0xFF, (byte) 0x80}, b("\u00e9"), b("a"));
        for (int i = 0; i < keys.size(); i++) {
            assertEquals(StoreResult.STORED, store.set(keys.get(i), b("v" + i), 0, 0));
        }
        for (int i = 0; i < keys.size(); i++) {
            assertEquals("v" + i, s(store.get(keys.get(i))), "key " + i + " is itself, no other");
        }
        assertEquals(keys.size(), store.keys(100).size());
        final byte[] k250 = new byte[250];
        final byte[] k250b = new byte[250];
        k250b[249] = 1;
        store.set(k250, b("x"), 0, 0);
        store.set(k250b, b("y"), 0, 0);
        assertEquals("x", s(store.get(k250)), "250-byte keys differing in the last byte");
        assertEquals("key length out of range: length=251, min=1, max=250",
            assertThrows(IllegalArgumentException.class, () -> store.add(new byte[251], b("v"), 0, 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> store.touch(new byte[251], 0));
        assertThrows(IllegalArgumentException.class, () -> store.getAndTouch(new byte[0], 0, new StoreItem[1]));
        assertEquals("item array must hold one item: item=null",
            assertThrows(IllegalArgumentException.class, () -> store.getAndTouch(b("a"), 0, null)).getMessage());
    }

    @Test
    void theMaxItemSizeHoldsForEveryWritingCommand() {
        final int max = store.maxItemSize();
        final byte[] full = new byte[max];
        final byte[] over = new byte[max + 1];
        assertEquals(StoreResult.TOO_LARGE, store.add(b("k"), over, 0, 0));
        assertEquals(StoreResult.STORED, store.add(b("k"), full, 0, 0));
        assertEquals(StoreResult.TOO_LARGE, store.replace(b("k"), over, 0, 0));
        assertEquals(StoreResult.STORED, store.replace(b("k"), full, 0, 0));
        assertEquals(StoreResult.TOO_LARGE, store.cas(b("k"), over, 0, 0, store.gets(b("k")).cas()));
        assertEquals(StoreResult.TOO_LARGE, store.prepend(b("k"), b("x")));
        store.set(b("k"), new byte[max - 2], 0, 0);
        assertEquals(StoreResult.STORED, store.append(b("k"), b("x")));
        assertEquals(StoreResult.STORED, store.prepend(b("k"), b("y")), "exactly the max");
        assertEquals(max, store.get(b("k")).length);
        assertEquals(StoreResult.TOO_LARGE, store.append(b("k"), new byte[0x1]));
        assertEquals(max, store.get(b("k")).length, "a refused append changes nothing");
        assertEquals(StoreResult.TOO_LARGE, store.set(b("k"), over, 0, 0));
        assertEquals(max, store.get(b("k")).length, "a refused set leaves the old value");
    }

    /** Every memcached stat the store keeps, after a scripted session: exact values. */
    @Test
    void statsAfterAScriptedSession() {
        final long[] r = new long[1];
        store.set(b("a"), b("1"), 0, 0);
        store.set(b("b"), b("2"), 0, 10);
        store.get(b("a"));
        store.get(b("x"));
        store.get(b("a"));
        now.addAndGet(10_000);
        store.get(b("b"));                                  // expired
        store.touch(b("a"), 100);
        store.touch(b("x"), 100);
        store.getAndTouch(b("a"), 100, new StoreItem[1]);   // a touch and a get hit
        store.delete(b("a"));
        store.delete(b("x"));
        store.set(b("n"), b("5"), 0, 0);
        store.incr(b("n"), 1, r);
        store.incr(b("x"), 1, r);
        store.decr(b("n"), 1, r);
        store.decr(b("x"), 1, r);
        store.cas(b("x"), b("v"), 0, 0, 1);                 // miss
        final long cas = store.gets(b("n")).cas();          // a get hit
        store.cas(b("n"), b("7"), 0, 0, cas);               // hit
        store.cas(b("n"), b("8"), 0, 0, cas);               // bad value
        store.append(b("n"), b("0"));                       // "70"
        store.flushAll(0);
        store.get(b("n"));                                  // flushed
        final Map<String, Long> want = new LinkedHashMap<>();
        want.put("curr_items", 2L);       // b (expired) and n (flushed): reclaimed lazily, as memcached's
        want.put("total_items", 5L);      // set a, set b, set n, cas n, append n
        want.put("bytes", 128L);          // two records of 64 bytes (56-byte header, key, value, to 16)
        want.put("limit_maxbytes", 8L << 20);
        want.put("get_hits", 4L);
        want.put("get_misses", 3L);
        want.put("cmd_get", 7L);
        want.put("get_expired", 1L);
        want.put("get_flushed", 1L);
        want.put("cmd_set", 7L);          // set ×3, cas ×3, append
        want.put("cmd_touch", 3L);
        want.put("touch_hits", 2L);
        want.put("touch_misses", 1L);
        want.put("delete_hits", 1L);
        want.put("delete_misses", 1L);
        want.put("incr_hits", 1L);
        want.put("incr_misses", 1L);
        want.put("decr_hits", 1L);
        want.put("decr_misses", 1L);
        want.put("cas_hits", 1L);
        want.put("cas_misses", 1L);
        want.put("cas_badval", 1L);
        want.put("evictions", 0L);
        want.put("expired_unfetched", 0L);
        want.put("evicted_unfetched", 0L);
        want.put("cmd_flush", 1L);
        // The store's other counters (the javadoc says every one): nothing reclaimed by a crawl or
        // the tail, nothing reinserted, no read retried, no write refused for memory.
        want.put("reclaimed", 0L);
        want.put("reinserted", 0L);
        want.put("read_retries", 0L);
        want.put("outofmemory", 0L);
        want.put("item_size_max", (long) store.maxItemSize());
        final Map<String, Long> got = new LinkedHashMap<>();
        final Map<String, Long> st = store.stats();
        want.keySet().forEach(k -> got.put(k, st.get(k)));
        assertEquals(want, got);
        assertEquals(T0_S + 10, st.get("time"));
        assertEquals(10L, st.get("uptime"));
    }

    @Test
    void aCrawlReclaimsExpiredAndFlushedItemsOnlyAndBucketsListEveryKey() {
        store.set(b("forever"), b("1"), 0, 0);
        store.set(b("later"), b("2"), 0, 100);
        store.set(b("soon"), b("3"), 0, 1);
        now.addAndGet(2000);
        final java.util.List<byte[]> all = new java.util.ArrayList<>();
        for (int bucket = 0; bucket < store.keyBuckets(); bucket++) {
            store.bucketKeys(bucket, all);
        }
        assertEquals(java.util.Set.of("forever", "later", "soon"),
            all.stream().map(SharedStoreTest::s).collect(java.util.stream.Collectors.toSet()), "expired ones listed too");
        assertEquals(3L, store.stats().get("curr_items"));
        assertEquals(false, store.reclaimIfStale(b("forever")));
        assertEquals(false, store.reclaimIfStale(b("later")));
        assertEquals(false, store.reclaimIfStale(b("missing")));
        assertEquals(true, store.reclaimIfStale(b("soon")));
        assertEquals(false, store.reclaimIfStale(b("soon")), "once");
        assertEquals(2L, store.stats().get("curr_items"));
        assertEquals(1L, store.stats().get("reclaimed"));
        store.flushAll(0);
        now.addAndGet(1000);
        assertEquals(true, store.reclaimIfStale(b("forever")), "a flushed item is stale too");
        assertEquals(1L, store.stats().get("curr_items"));
        assertEquals(java.util.List.of(), store.check());
        assertThrows(IllegalArgumentException.class, () -> store.bucketKeys(store.keyBuckets(), all));
    }

    @Test
    void withoutEvictionsAFullStoreRefusesAndLosesNothing() throws Exception {
        try (SharedStore full = SharedStore.create(dir.resolve("m.store"), StoreOptions.defaults()
            .withMemoryLimit(256 << 10).withMaxItemSize(8 << 10).withClock(now::get).withEvictions(false))) {
            assertEquals(false, full.evictions());
            final byte[] value = new byte[4000];
            int stored = 0;
            StoreResult r;
            while ((r = full.set(b("k" + stored), value, 0, stored % 2 == 0 ? 0 : 10)) == StoreResult.STORED) {
                stored++;
            }
            assertEquals(StoreResult.NO_MEMORY, r);
            assertTrue(stored > 30, "stored=" + stored);
            assertEquals(StoreResult.NO_MEMORY, full.set(b("more"), value, 0, 0), "still full");
            for (int i = 0; i < stored; i++) {
                assertArrayEquals(value, full.get(b("k" + i)), "k" + i + " kept");
            }
            assertEquals(0L, full.stats().get("evictions"));
            assertTrue(full.stats().get("outofmemory") >= 2);
            // Items that expired make room again; the live ones stay.
            now.addAndGet(11_000);
            assertEquals(StoreResult.STORED, full.set(b("after"), value, 0, 0));
            for (int i = 0; i < stored; i += 2) {
                assertArrayEquals(value, full.get(b("k" + i)), "k" + i + " kept");
            }
            assertEquals(0L, full.stats().get("evictions"));
            assertEquals(java.util.List.of(), full.check());
        }
        // Another opener of the same file with evictions (the default) makes room by evicting.
        try (SharedStore evicting = SharedStore.open(dir.resolve("m.store"), StoreOptions.defaults().withClock(now::get))) {
            for (int i = 0; i < 200; i++) {
                assertEquals(StoreResult.STORED, evicting.set(b("e" + i), new byte[4000], 0, 0));
            }
            assertTrue(evicting.stats().get("evictions") > 0);
        }
    }
}
