package io.sharena.ipc.store;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.IpcCheck;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.testing.ShmDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * One stray write into a store file, systematically placed: every field of the store header (its
 * unused words too, and the first process's counter block), the stripes and bucket words of sixteen
 * keys, every header field of eight items (a small one, one over a page, an empty value, a counter,
 * one with flags and expiry, the head and the tail of a chain of two, a medium one), a few bytes of
 * their keys and values and their access-map bytes; each set to values a stray write leaves (0, all
 * ones, 1, +1, -1, +8, +16, + a page, + a lap of the ring, bit 31 or 63 flipped, the same word of a
 * neighbouring item or bucket, a pointer to another item, the item itself, PAD for a state, the
 * first attachment's token for a lock word). The file beside the store holds a named root, a heap
 * object and a channel with a waiting message.
 *
 * <p>The oracle: when {@code check} calls the damaged file clean, every key gets exactly its value
 * and flags (a miss is "silent loss", counted apart; other bytes, another length or another key's
 * value is "made up"); every key then takes a new value and reads it back exactly, the root, the
 * heap object and the message are intact, the check is still clean, and once every key is deleted
 * the store counts no item, no byte and no LINKED record. When {@code check} reports damage (or the
 * store is refused at open with a documented exception), {@code IpcCheck.repair} runs on the file:
 * the check must then be clean unless the repair said what it could not mend, and the same oracle
 * runs, with a miss allowed but never a wrong value. A raw JDK exception or a hang is a finding.
 *
 * <p>Prints a table of outcomes per region and field and per value, every finding with its case,
 * and the run's case count and time. Fails on findings not in {@link #knownLeft}.
 */
class StoreDamageFuzzTest {
    private static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(1 << 20).withMaxItemSize(8192)
        .withBuckets(1024).withLockTimeoutNanos(50_000_000L);
    private static final int KEYS = 300;
    private static final long HANG = 20;
    private static final long REPAIR_TIMEOUT = 200_000_000L;
    private static final int PAGE = Geometry.PAGE_SIZE;
    private static final String ROOT = "fuzz.root";
    private static final int ROOT_VALUE = 0x0123_4560;
    private static final int MESSAGE_TYPE = 42;
    private static final byte[] MESSAGE = {9, 8, 7, 6, 5, 4, 3, 2};
    private static final int HEAP_BYTES = 64;
    /** Sets or deletes that fail in a row before a case stops trying (a lock a stray write left held waits each time). */
    private static final int GIVE_UP = 3;

    @TempDir
    Path tempDir;
    private Path dir;
    private ShmDirectory shm;

    /** A key as the template holds it. */
    record Entry(String name, byte[] key, byte[] value, int flags, long cas, long expires) {
    }

    /** The template: its nonzero pages, what it holds, and where the store's parts are. */
    record Base(long size, Map<Long, byte[]> pages, List<Entry> entries, int header, int ring, long ringBytes,
                int buckets, int stripes, int map, int heapObject, byte[] heapBytes,
                Map<String, Integer> chosen, List<Integer> sampleBuckets) {
        int getInt(final long at) {
            final byte[] p = pages.get(at / PAGE * PAGE);
            return p == null ? 0 : ByteBuffer.wrap(p).order(ByteOrder.nativeOrder()).getInt((int) (at % PAGE));
        }

        long getLong(final long at) {
            final byte[] p = pages.get(at / PAGE * PAGE);
            return p == null ? 0 : ByteBuffer.wrap(p).order(ByteOrder.nativeOrder()).getLong((int) (at % PAGE));
        }

        byte getByte(final long at) {
            final byte[] p = pages.get(at / PAGE * PAGE);
            return p == null ? 0 : p[(int) (at % PAGE)];
        }
    }

    /** One stray write: {@code width} bytes (1, 4 or 8) at {@code at} set to {@code value}. */
    record Hit(String region, String field, String target, String label, int at, int width, long value, long was) {
        String name() {
            return region + "." + field + (target.isEmpty() ? "" : "[" + target + "]") + " @0x" + Integer.toHexString(at)
                + " = " + label + " (0x" + Long.toHexString(value) + ", was 0x" + Long.toHexString(was) + ")";
        }
    }

    @BeforeEach
    void shm() throws Exception {
        shm = ShmDirectory.create(tempDir, "storedamage");
        dir = shm.path();
    }

    @AfterEach
    void clean() throws Exception {
        shm.close();
    }

    // ------------------------------------------------------------------ the template

    private static byte[] key(final int i) {
        return ("key:" + i + "/" + "x".repeat(i % 37)).getBytes(StandardCharsets.US_ASCII);
    }

    private static int valueLength(final int i) {
        if (i % 50 == 7) {
            return 4097 + i * 13 % 2000; // over a page
        }
        if (i % 10 == 3) {
            return 300 + i * 7 % 1000;
        }
        return i % 97; // key 0: an empty value
    }

    /** A value of key {@code i} in round {@code round}: its first bytes name the key, so another key's value is told. */
    private static byte[] value(final int i, final int round, final int length) {
        final byte[] b = new byte[length];
        for (int j = 0; j < length; j++) {
            b[j] = (byte) (i * 131 + j * 7 + round * 29 + 1);
        }
        if (length >= 4) {
            ByteBuffer.wrap(b).putInt(i * 4 + round);
        }
        return b;
    }

    private static byte[] newValue(final int i) {
        return value(i, 1, valueLength(i) == 0 ? 3 : valueLength(i) + 5);
    }

    private Base base() throws Exception {
        final Path file = dir.resolve("template.arena");
        final long farFuture = System.currentTimeMillis() / 1000 + 10L * 365 * 86_400;
        final List<Entry> entries = new ArrayList<>();
        final int heapObject;
        final byte[] heapBytes = new byte[HEAP_BYTES];
        final Map<String, Integer> chosen = new LinkedHashMap<>();
        final List<Integer> sample = new ArrayList<>();
        final int header;
        final int ring;
        final long ringBytes;
        final int buckets;
        final int stripes;
        final int map;
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("8M"), ArenaOptions.defaults());
             SharedStore store = SharedStore.of(arena, SharedStore.DEFAULT_ROOT, OPTIONS)) {
            final byte[] counter = "counter".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < KEYS; i++) {
                final int flags = i % 17 == 5 ? 0xF1A6_0000 | i : 0;
                final long exptime = i % 23 == 4 || i % 34 == 5 ? farFuture : 0;
                assertEquals(StoreResult.STORED, store.set(key(i), value(i, 0, valueLength(i)), flags, exptime), "key " + i);
            }
            assertEquals(StoreResult.STORED, store.set(counter, "100".getBytes(StandardCharsets.US_ASCII), 0, 0));
            final long[] n = new long[1];
            for (int i = 0; i < 3; i++) {
                assertEquals(StoreResult.STORED, store.incr(counter, 7, n));
            }
            for (int i = 0; i < KEYS; i++) {
                final StoreItem it = store.gets(key(i));
                entries.add(new Entry("key:" + i, key(i), it.value(), it.flags(), it.cas(), it.expires()));
            }
            final StoreItem c = store.gets(counter);
            assertEquals("121", new String(c.value(), StandardCharsets.US_ASCII));
            entries.add(new Entry("counter", counter, c.value(), c.flags(), c.cas(), c.expires()));

            NamedRoots.of(arena).put(ROOT, ROOT_VALUE);
            heapObject = ObjectHeap.of(arena).allocate(HEAP_BYTES);
            for (int i = 0; i < HEAP_BYTES; i++) {
                heapBytes[i] = (byte) (0xA0 + i);
            }
            arena.raw().putBytes(heapObject, heapBytes, 0, HEAP_BYTES);
            try (ChannelProducer p = Channel.create(arena, "chan", 1, 4096, 64).producer()) {
                assertEquals(true, p.offer(MESSAGE_TYPE, MESSAGE, 0, MESSAGE.length));
            }

            final ArenaView v = arena.raw();
            header = NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT);
            ring = v.getInt(header + StoreLayout.RING_PTR);
            ringBytes = v.getLong(header + StoreLayout.RING_BYTES);
            buckets = v.getInt(header + StoreLayout.BUCKETS_PTR);
            stripes = v.getInt(header + StoreLayout.STRIPES_PTR);
            map = v.getInt(header + StoreLayout.MAP_PTR);
            final int bucketCount = 1 << v.getInt(header + StoreLayout.BUCKET_BITS);
            // Every item by its key, and the chains.
            final Map<String, Integer> byKey = new HashMap<>();
            final Map<Integer, List<Integer>> chains = new TreeMap<>();
            for (int b = 0; b < bucketCount; b++) {
                final List<Integer> chain = new ArrayList<>();
                for (int p = v.getInt(buckets + 4 * b); p != 0; p = v.getInt(p + ItemLayout.NEXT)) {
                    chain.add(p);
                    final byte[] k = new byte[v.getInt(p + ItemLayout.KEY_LEN)];
                    v.getBytes(p + ItemLayout.KEY, k, 0, k.length);
                    byKey.put(new String(k, StandardCharsets.US_ASCII), p);
                }
                if (!chain.isEmpty()) {
                    chains.put(b, chain);
                }
            }
            final List<Integer> ofTwo = chains.values().stream().filter(ch -> ch.size() == 2).findFirst().orElseThrow();
            final java.util.function.IntFunction<Integer> single = i -> {
                final int p = byKey.get(new String(key(i), StandardCharsets.US_ASCII));
                return chains.get((v.getInt(p + ItemLayout.HASH)) & (bucketCount - 1)).size() == 1 ? p : null;
            };
            chosen.put("small", firstSingle(single, i -> valueLength(i) >= 20 && valueLength(i) < 60 && i % 17 != 5 && i % 23 != 4 && i % 34 != 5));
            chosen.put("multipage", firstSingle(single, i -> valueLength(i) > PAGE));
            chosen.put("empty", byKey.get(new String(key(0), StandardCharsets.US_ASCII)));
            chosen.put("counter", byKey.get("counter"));
            chosen.put("flags+expiry", firstSingle(single, i -> i % 34 == 5));
            chosen.put("chainHead", ofTwo.get(0));
            chosen.put("chainTail", ofTwo.get(1));
            chosen.put("medium", firstSingle(single, i -> valueLength(i) >= 300 && valueLength(i) < 1300));
            for (final int p : chosen.values()) {
                final int b = v.getInt(p + ItemLayout.HASH) & (bucketCount - 1);
                if (!sample.contains(b)) {
                    sample.add(b);
                }
            }
            for (final int b : chains.keySet()) {
                if (sample.size() >= 16) {
                    break;
                }
                if (!sample.contains(b) && b % 37 == 0) {
                    sample.add(b);
                }
            }
            for (final int b : chains.keySet()) {
                if (sample.size() >= 16) {
                    break;
                }
                if (!sample.contains(b)) {
                    sample.add(b);
                }
            }
            assertEquals(List.of(), IpcCheck.check(arena), "template clean");
        }
        final Map<Long, byte[]> pages = new TreeMap<>();
        final long size = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            final byte[] zero = new byte[PAGE];
            for (long at = 0; at < size; at += PAGE) {
                final ByteBuffer page = ByteBuffer.allocate(PAGE);
                while (page.hasRemaining() && ch.read(page, at + page.position()) > 0) {
                    continue;
                }
                if (!Arrays.equals(page.array(), zero)) {
                    pages.put(at, page.array());
                }
            }
        }
        final Base b = new Base(size, pages, List.copyOf(entries), header, ring, ringBytes, buckets, stripes, map, heapObject,
            heapBytes, chosen, sample);
        // Arena pointers are file offsets: the header's magic is where its pointer says.
        assertEquals(StoreLayout.MAGIC_VALUE, b.getLong(header + StoreLayout.MAGIC), "pointers are file offsets");
        return b;
    }

    /** A key whose item is alone in its chain and that {@code want} accepts. */
    private static int firstSingle(final java.util.function.IntFunction<Integer> single,
                                   final java.util.function.IntPredicate want) {
        for (int i = 0; i < KEYS; i++) {
            if (want.test(i) && single.apply(i) != null) {
                return single.apply(i);
            }
        }
        throw new AssertionError("no such key");
    }

    /** Copies the template sparsely (its nonzero pages), with the stray write applied. */
    private static void copy(final Base base, final Path file, final Hit hit) throws Exception {
        Files.deleteIfExists(file);
        final long hitPage = Integer.toUnsignedLong(hit.at()) / PAGE * PAGE;
        final byte[] damaged = base.pages().getOrDefault(hitPage, new byte[PAGE]).clone();
        final ByteBuffer w = ByteBuffer.wrap(damaged).order(ByteOrder.nativeOrder());
        final int off = (int) (Integer.toUnsignedLong(hit.at()) - hitPage);
        switch (hit.width()) {
            case 1 -> w.put(off, (byte) hit.value());
            case 4 -> w.putInt(off, (int) hit.value());
            default -> w.putLong(off, hit.value());
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(base.size());
            final FileChannel ch = raf.getChannel();
            final Map<Long, byte[]> pages = new TreeMap<>(base.pages());
            pages.put(hitPage, damaged);
            for (final Map.Entry<Long, byte[]> e : pages.entrySet()) {
                final ByteBuffer b = ByteBuffer.wrap(e.getValue());
                while (b.hasRemaining()) {
                    ch.write(b, e.getKey() + b.position());
                }
            }
        }
    }

    // ------------------------------------------------------------------ the stray writes

    private static void put(final Map<Long, String> values, final long v, final String label) {
        values.putIfAbsent(v, label);
    }

    private static Map<Long, String> intValues(final int was, final Integer neighbour, final Integer other) {
        final Map<Long, String> m = new LinkedHashMap<>();
        put(m, 0, "0");
        put(m, -1, "~0");
        put(m, 1, "1");
        put(m, was + 1, "+1");
        put(m, was - 1, "-1");
        put(m, was + 8, "+8");
        put(m, was + PAGE, "+page");
        put(m, was ^ 0x8000_0000, "^bit31");
        if (neighbour != null) {
            put(m, neighbour, "neighbour");
        }
        if (other != null) {
            put(m, other, "other item");
        }
        m.remove((long) was);
        return m;
    }

    private static Map<Long, String> longValues(final long was, final long ringBytes, final Long neighbour) {
        final Map<Long, String> m = new LinkedHashMap<>();
        put(m, 0L, "0");
        put(m, -1L, "~0");
        put(m, 1L, "1");
        put(m, was + 1, "+1");
        put(m, was - 1, "-1");
        put(m, was + 8, "+8");
        put(m, was + 16, "+16");
        put(m, was + PAGE, "+page");
        put(m, was + ringBytes, "+lap");
        put(m, was ^ 0x8000_0000L, "^bit31");
        put(m, was ^ Long.MIN_VALUE, "^bit63");
        if (neighbour != null) {
            put(m, neighbour, "neighbour");
        }
        m.remove(was);
        return m;
    }

    private static void add(final List<Hit> into, final String region, final String field, final String target, final int at,
                            final int width, final long was, final Map<Long, String> values) {
        values.forEach((v, label) -> into.add(new Hit(region, field, target, label, at, width,
            width == 4 ? (long) (int) (long) v : v, was)));
    }

    /** The first attachment's process token (thread 0, slot 0): a lock word a stray bit can make. */
    private static final long FIRST_TOKEN = 0x40L;

    private static List<Hit> hits(final Base b) {
        final List<Hit> hits = new ArrayList<>();
        final int h = b.header();
        // The header: every field, by its width.
        final Map<Integer, String> longs = new LinkedHashMap<>();
        longs.put(StoreLayout.MAGIC, "MAGIC");
        longs.put(StoreLayout.RING_BYTES, "RING_BYTES");
        longs.put(StoreLayout.CREATED_MILLIS, "CREATED_MILLIS");
        longs.put(StoreLayout.HEAD, "HEAD");
        longs.put(StoreLayout.TAIL, "TAIL");
        longs.put(StoreLayout.CAS_COUNTER, "CAS_COUNTER");
        longs.put(StoreLayout.FLUSH_CAS, "FLUSH_CAS");
        longs.put(StoreLayout.FLUSH_MILLIS, "FLUSH_MILLIS");
        longs.put(StoreLayout.RING_LOCK, "RING_LOCK");
        longs.put(StoreLayout.CLOCK_SECONDS, "CLOCK_SECONDS");
        final Map<Integer, String> ints = new LinkedHashMap<>();
        ints.put(StoreLayout.VERSION, "VERSION");
        ints.put(StoreLayout.STRIPES, "STRIPES");
        ints.put(StoreLayout.RING_PTR, "RING_PTR");
        ints.put(StoreLayout.BUCKETS_PTR, "BUCKETS_PTR");
        ints.put(StoreLayout.BUCKET_BITS, "BUCKET_BITS");
        ints.put(StoreLayout.MAX_ITEM, "MAX_ITEM");
        ints.put(StoreLayout.MAP_PTR, "MAP_PTR");
        ints.put(StoreLayout.STRIPES_PTR, "STRIPES_PTR");
        ints.put(StoreLayout.REGION_PAGES, "REGION_PAGES");
        ints.put(StoreLayout.REGION_PAGES + 4, "unused52");
        final int anItem = b.chosen().get("medium");
        longs.forEach((off, name) -> {
            final long was = b.getLong(h + off);
            final Long neighbour = off == StoreLayout.HEAD ? (Long) b.getLong(h + StoreLayout.TAIL)
                : off == StoreLayout.TAIL ? (Long) b.getLong(h + StoreLayout.HEAD)
                : off == StoreLayout.FLUSH_CAS ? (Long) b.getLong(h + StoreLayout.CAS_COUNTER) : null;
            final Map<Long, String> values = longValues(was, b.ringBytes(), neighbour);
            if (off == StoreLayout.RING_LOCK) {
                put(values, FIRST_TOKEN, "first token");
            }
            add(hits, "header", name, "", h + off, 8, was, values);
        });
        ints.forEach((off, name) -> {
            final int was = b.getInt(h + off);
            add(hits, "header", name, "", h + off, 4, was, intValues(was, b.getInt(h + off + 4), anItem));
        });
        // Every other word of the header's first 1,024 bytes (padding between the lines): two values each.
        for (int off = 0; off < StoreLayout.COUNTERS; off += 8) {
            final int o = off;
            if (longs.containsKey(o) || ints.containsKey(o) || ints.containsKey(o + 4) || o == StoreLayout.REGION_PAGES) {
                continue;
            }
            final long was = b.getLong(h + o);
            final Map<Long, String> values = new LinkedHashMap<>();
            put(values, -1L, "~0");
            put(values, 1L, "1");
            values.remove(was);
            add(hits, "header", "unused", "+" + o, h + o, 8, was, values);
        }
        // The counter block of the template's process (the first that holds a count).
        int block = -1;
        for (int s = 0; s < StoreLayout.COUNTER_SLOTS && block < 0; s++) {
            for (int c = 0; c < StoreLayout.COUNTER_BLOCK / 8; c++) {
                if (b.getLong(h + StoreLayout.counter(s, c)) != 0) {
                    block = s;
                    break;
                }
            }
        }
        for (int c = 0; c < StoreLayout.COUNTER_BLOCK / 8 && block >= 0; c++) {
            final int at = h + StoreLayout.counter(block, c);
            final long was = b.getLong(at);
            final Map<Long, String> values = new LinkedHashMap<>();
            put(values, 0L, "0");
            put(values, -1L, "~0");
            values.remove(was);
            add(hits, "counters", "slot" + block, "#" + c, at, 8, was, values);
        }
        // Bucket words of sixteen keys.
        final List<Integer> sample = b.sampleBuckets();
        for (int i = 0; i < sample.size(); i++) {
            final int at = b.buckets() + 4 * sample.get(i);
            final int was = b.getInt(at);
            final int neighbourWord = b.getInt(b.buckets() + 4 * sample.get((i + 1) % sample.size()));
            final int other = b.chosen().get(was == b.chosen().get("multipage") ? "small" : "multipage");
            final Map<Long, String> values = intValues(was, neighbourWord, other);
            final int second = b.getInt(was + ItemLayout.NEXT);
            if (second != 0) {
                put(values, second, "chain's 2nd");
            }
            add(hits, "bucket", "word", "b" + sample.get(i), at, 4, was, values);
        }
        // The stripes of the chosen items.
        final List<String> names = new ArrayList<>(b.chosen().keySet());
        for (final String name : names) {
            final int stripe = b.getInt(b.chosen().get(name) + ItemLayout.HASH) & (StoreOptions.STRIPES - 1);
            final int s = b.stripes() + stripe * StoreLayout.STRIPE_SIZE;
            for (final int[] f : new int[][] {{StoreLayout.STRIPE_LOCK, 0}, {StoreLayout.STRIPE_ITEMS, 1},
                {StoreLayout.STRIPE_BYTES, 2}, {StoreLayout.STRIPE_RELINK, 3}}) {
                final String field = new String[] {"LOCK", "ITEMS", "BYTES", "RELINK"}[f[1]];
                final long was = b.getLong(s + f[0]);
                final Map<Long, String> values = longValues(was, b.ringBytes(), null);
                values.remove(was + b.ringBytes());
                if (f[0] == StoreLayout.STRIPE_LOCK) {
                    put(values, FIRST_TOKEN, "first token");
                }
                add(hits, "stripe", field, name, s + f[0], 8, was, values);
            }
        }
        // Every header field of the chosen items; a few bytes of their keys and values; their access-map bytes.
        for (int i = 0; i < names.size(); i++) {
            final String name = names.get(i);
            final int p = b.chosen().get(name);
            final int q = b.chosen().get(names.get((i + 1) % names.size()));
            final int other = b.chosen().get(names.get((i + 3) % names.size()));
            for (final int off : new int[] {ItemLayout.POS, ItemLayout.CAS}) {
                final long was = b.getLong(p + off);
                add(hits, "item", off == ItemLayout.POS ? "POS" : "CAS", name, p + off, 8, was,
                    longValues(was, b.ringBytes(), b.getLong(q + off)));
            }
            final int[] intFields = {ItemLayout.SIZE, ItemLayout.STATE, ItemLayout.NEXT, ItemLayout.HASH, ItemLayout.EXPIRES,
                ItemLayout.STORED, ItemLayout.FLAGS, ItemLayout.KEY_LEN, ItemLayout.VALUE_LEN, ItemLayout.META};
            final String[] intNames = {"SIZE", "STATE", "NEXT", "HASH", "EXPIRES", "STORED", "FLAGS", "KEY_LEN", "VALUE_LEN", "META"};
            for (int f = 0; f < intFields.length; f++) {
                final int was = b.getInt(p + intFields[f]);
                final Map<Long, String> values = intValues(was, b.getInt(q + intFields[f]), other);
                if (intFields[f] == ItemLayout.STATE) {
                    put(values, ItemLayout.PAD, "PAD");
                }
                if (intFields[f] == ItemLayout.NEXT) {
                    put(values, p, "self");
                }
                values.remove((long) was);
                add(hits, "item", intNames[f], name, p + intFields[f], 4, was, values);
            }
            final int keyLen = b.getInt(p + ItemLayout.KEY_LEN);
            final int valueLen = b.getInt(p + ItemLayout.VALUE_LEN);
            for (final int k : new int[] {0, keyLen - 1}) {
                final int at = p + ItemLayout.KEY + k;
                final byte was = b.getByte(at);
                add(hits, "key", "byte", name + " +" + k, at, 1, was, new LinkedHashMap<>(Map.of((long) (was ^ 1), "^bit0")));
            }
            for (final int k : valueLen == 0 ? new int[0] : new int[] {0, valueLen / 2, valueLen - 1}) {
                final int at = p + ItemLayout.KEY + keyLen + k;
                final byte was = b.getByte(at);
                add(hits, "value", "byte", name + " +" + k, at, 1, was, new LinkedHashMap<>(Map.of((long) (was ^ 1), "^bit0")));
            }
            final int mapByte = b.map() + (p - b.ring()) / StoreLayout.MAP_GRANULE;
            final byte was = b.getByte(mapByte);
            final Map<Long, String> mapValues = new LinkedHashMap<>();
            put(mapValues, 0L, "0");
            put(mapValues, 0xFFL, "~0");
            mapValues.remove((long) (was & 0xFF));
            add(hits, "map", "byte", name, mapByte, 1, was, mapValues);
        }
        return hits;
    }

    // ------------------------------------------------------------------ the cases

    /** What a finding's kind says, for the report. */
    private static final Map<String, String> KINDS = new TreeMap<>(Map.ofEntries(
        Map.entry("M", "MADE UP with check clean: a get returned other bytes, another length, another key's value or other flags"),
        Map.entry("m", "MADE UP after the repair (check clean again): a get returned other bytes, length or flags"),
        Map.entry("S", "SILENT LOSS: check clean, a key missed"),
        Map.entry("E", "THREW WITH CHECK CLEAN: a use threw ArenaCorrupted/IllegalState though check (or the repair) called the file clean"),
        Map.entry("W", "WRITES FAILED OR READ BACK WRONG after check (or the repair) called the file clean"),
        Map.entry("O", "ANOTHER STRUCTURE CHANGED: the named root, heap object or channel message"),
        Map.entry("C", "CHECK CLEAN BEFORE THE USE, REPORTING AFTER IT"),
        Map.entry("L", "LEAK: after every key was deleted the store still counts items or bytes, or holds LINKED records"),
        Map.entry("U", "REPAIR UNSAID: after the repair check still reports, and the repair did not say what it left"),
        Map.entry("P", "REPAIRED CLEAN BUT THE STORE STILL REFUSED AT OPEN"),
        Map.entry("c", "CAS OR EXPIRY CHANGED with check clean (value and flags exact)"),
        Map.entry("X", "RAW JDK EXCEPTION"),
        Map.entry("T", "HANG")));

    /** One case's result: how the first look went, the final code, and the findings (kind, text). */
    record Outcome(String stage, char code, List<String[]> findings, int lost, String note) {
        Outcome(final String stage, final char code, final List<String[]> findings) {
            this(stage, code, findings, 0, "");
        }
    }

    /** {@code -Dsharena.storedamage.verbose=true}: every case that is not clean and whole, with the check's and the repair's lines. */
    private static final boolean VERBOSE = Boolean.getBoolean("sharena.storedamage.verbose");
    /**
     * {@code -Dsharena.storedamage.only=TEXT}: only the cases whose printed name contains TEXT, for
     * instance {@code "item.POS[small] @0x3ca10 = +lap"} (a case's name is as the findings print it).
     */
    private static final String ONLY = System.getProperty("sharena.storedamage.only", "");

    @Test
    void everyWordOfAStoreDamagedIsRefusedNamedOrHarmless() throws Exception {
        final long start = System.nanoTime();
        final Base base = base();
        final List<Hit> hits = hits(base).stream().filter(h -> h.name().contains(ONLY)).toList();
        final long built = System.nanoTime();
        final Map<String, int[]> byRegion = new TreeMap<>();
        final Map<String, int[]> byValue = new TreeMap<>();
        final Map<String, List<String>> findings = new TreeMap<>();
        final Map<String, List<String>> known = new TreeMap<>();
        int n = 0;
        for (final Hit hit : hits) {
            final Path file = dir.resolve("case-" + n++ + ".arena");
            final Outcome o = guarded(() -> run(base, hit, file));
            final String row = hit.region() + "." + hit.field();
            count(byRegion, row, o);
            if (VERBOSE && o.code() != 'H') {
                System.out.println("case " + hit.name() + ": " + o.stage() + " " + o.code() + " lost=" + o.lost() + " " + o.note());
            }
            count(byValue, hit.label(), o);
            for (final String[] f : o.findings()) {
                final String line = hit.name() + ": [" + o.stage() + "] " + f[1];
                (knownLeft(hit, f[0]) ? known : findings).computeIfAbsent(f[0], k -> new ArrayList<>()).add(line);
            }
            if (o.code() != 'T') {
                Files.deleteIfExists(file); // a hung case's thread may still have it mapped
            }
        }
        final long ms = (System.nanoTime() - built) / 1_000_000;
        System.out.println("store damage fuzz: " + hits.size() + " cases in " + ms + " ms (" + (ms * 1000 / Math.max(1, hits.size()))
            + " us a case; template " + (built - start) / 1_000_000 + " ms)");
        System.out.println("columns: refused = refused at open, reported = check reported; final: H clean and whole,"
            + " R repaired whole, r repaired with keys missing (allowed), N the repair named what it left, K known"
            + " finding (documented), F finding; keysLost: keys missing after a repair, summed");
        table("region.field", byRegion);
        table("value", byValue);
        final int[] total = new int[COLUMNS.length];
        byRegion.values().forEach(c -> {
            for (int i = 0; i < total.length; i++) {
                total[i] += c[i];
            }
        });
        System.out.println(String.format("%-24s", "TOTAL") + cells(total));
        print("FINDINGS", findings);
        print("KNOWN (documented: items carry no checksum; a flush watermark hit below the CAS counter)", known);
        final Map<String, Integer> counts = new TreeMap<>();
        findings.forEach((k, l) -> counts.put(KINDS.get(k), l.size()));
        assertEquals(Map.of(), counts, "findings (listed in the test's output)");
    }

    /**
     * @return whether a finding is damage the store documents it leaves (docs/store.md, "Items carry
     * no checksum"): a value byte overwritten, or a word of an item's header that nothing can check
     * (flags, expiry, CAS, store time, meta), served as it reads; a value length moved within its
     * record's padding
     */
    private static boolean knownLeft(final Hit hit, final String kind) {
        if ("header".equals(hit.region()) && "FLUSH_CAS".equals(hit.field())) {
            // A watermark at or below the CAS counter is what flush_all writes: the items it hides read
            // as flushed, as an item whose expiry was hit reads as expired (docs/store.md).
            return "S".equals(kind);
        }
        if (!"item".equals(hit.region()) && !"value".equals(hit.region())) {
            return false;
        }
        // A VALUE_LEN the check passes is one within its record's padding (the check compares the record's size).
        final boolean served = "value".equals(hit.region())
            || List.of("FLAGS", "CAS", "EXPIRES", "STORED", "META", "VALUE_LEN").contains(hit.field());
        return served && List.of("M", "m", "S", "c").contains(kind);
    }

    private static final String[] COLUMNS = {"cases", "refused", "reported", "H", "R", "r", "N", "K", "F", "keysLost"};

    private static void count(final Map<String, int[]> table, final String row, final Outcome o) {
        final int[] c = table.computeIfAbsent(row, k -> new int[COLUMNS.length]);
        c[0]++;
        if ("refused".equals(o.stage())) {
            c[1]++;
        } else if ("reported".equals(o.stage())) {
            c[2]++;
        }
        switch (o.code()) {
            case 'H' -> c[3]++;
            case 'R' -> c[4]++;
            case 'r' -> c[5]++;
            case 'N' -> c[6]++;
            case 'K' -> c[7]++;
            default -> c[8]++;
        }
        c[9] += o.lost();
    }

    private static String cells(final int[] c) {
        final StringBuilder s = new StringBuilder();
        for (final int x : c) {
            s.append(String.format("%9d", x));
        }
        return s.toString();
    }

    private static void table(final String title, final Map<String, int[]> rows) {
        final StringBuilder head = new StringBuilder(String.format("%-24s", title));
        for (final String c : COLUMNS) {
            head.append(String.format("%9s", c));
        }
        System.out.println(head);
        rows.forEach((row, c) -> System.out.println(String.format("%-24s", row) + cells(c)));
    }

    private static void print(final String title, final Map<String, List<String>> byKind) {
        final int n = byKind.values().stream().mapToInt(List::size).sum();
        System.out.println(title + " (" + n + ")");
        byKind.forEach((kind, list) -> {
            System.out.println("  " + kind + " " + KINDS.get(kind) + " (" + list.size() + ")");
            list.forEach(l -> System.out.println("    " + l));
        });
    }

    private static Outcome guarded(final Callable<Outcome> c) {
        try {
            return assertTimeoutPreemptively(Duration.ofSeconds(HANG), c::call);
        } catch (final org.opentest4j.AssertionFailedError e) {
            return new Outcome("?", 'T', List.<String[]>of(new String[] {"T", "hang: " + e.getMessage()}));
        } catch (final RuntimeException e) {
            return new Outcome("?", 'X', List.<String[]>of(new String[] {"X", "the case threw " + e}));
        }
    }

    private static boolean documented(final RuntimeException e) {
        return e instanceof ArenaCorruptedException || e instanceof IllegalStateException;
    }

    private Outcome run(final Base base, final Hit hit, final Path file) throws Exception {
        copy(base, file, hit);
        final List<String[]> found = new ArrayList<>();
        String stage;
        SharedStore store = null;
        try {
            store = SharedStore.open(file, OPTIONS);
        } catch (final ArenaFormatException | ArenaCorruptedException e) {
            stage = "refused";
        } catch (final RuntimeException e) {
            return new Outcome("open", 'X', List.<String[]>of(new String[] {"X", "open threw " + e}));
        }
        List<String> reported = List.of();
        if (store != null) {
            try (SharedStore s = store) {
                try {
                    reported = IpcCheck.check(s.arena());
                } catch (final RuntimeException e) {
                    return new Outcome("check", 'X', List.<String[]>of(new String[] {"X", "check threw " + e}));
                }
                if (reported.isEmpty()) {
                    use(s, base, true, found);
                    return new Outcome("clean", found.isEmpty() ? 'H' : allKnown(hit, found) ? 'K' : 'F', found);
                }
            }
            stage = "reported";
        } else {
            stage = "refused";
        }
        // Reported or refused: the tools' repair, then the check again.
        final List<String> done;
        final List<String> left;
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            try {
                done = IpcCheck.repair(arena, REPAIR_TIMEOUT);
            } catch (final IllegalStateException e) {
                return new Outcome(stage, 'N', found); // documented: a lock held by a live process
            } catch (final RuntimeException e) {
                found.add(new String[] {"X", "repair threw " + e + " (check said " + first(reported) + ")"});
                return new Outcome(stage, 'F', found);
            }
            try {
                left = IpcCheck.check(arena);
            } catch (final RuntimeException e) {
                found.add(new String[] {"X", "check after the repair threw " + e});
                return new Outcome(stage, 'F', found);
            }
        } catch (final ArenaFormatException e) {
            return new Outcome(stage, 'N', found);
        }
        if (!left.isEmpty()) {
            if (done.stream().noneMatch(d -> d.contains("not repaired") || d.contains("not formatted"))) {
                found.add(new String[] {"U", "left " + first(left) + "; the repair said " + done});
                return new Outcome(stage, 'F', found);
            }
            return new Outcome(stage, 'N', found);
        }
        final SharedStore repaired;
        try {
            repaired = SharedStore.open(file, OPTIONS);
        } catch (final ArenaFormatException | ArenaCorruptedException e) {
            found.add(new String[] {"P", "open after the repair: " + e + "; the repair said " + done});
            return new Outcome(stage, 'F', found);
        } catch (final RuntimeException e) {
            found.add(new String[] {"X", "open after the repair threw " + e});
            return new Outcome(stage, 'F', found);
        }
        final int[] missing = new int[1];
        try (repaired) {
            missing[0] = use(repaired, base, false, found);
        }
        if (!found.isEmpty()) {
            for (final String[] f : found) {
                f[1] = f[1] + " (repair: " + done + ")";
            }
            return new Outcome(stage, allKnown(hit, found) ? 'K' : 'F', found, missing[0], "");
        }
        return new Outcome(stage, missing[0] == 0 ? 'R' : 'r', found, missing[0],
            "check: " + first(reported) + "; repair: " + done);
    }

    private static boolean allKnown(final Hit hit, final List<String[]> found) {
        return found.stream().allMatch(f -> knownLeft(hit, f[0]));
    }

    private static String first(final List<String> lines) {
        return lines.isEmpty() ? "nothing" : lines.getFirst() + (lines.size() > 1 ? " (+" + (lines.size() - 1) + " more)" : "");
    }

    /**
     * The oracle on an open store: reads, a new value for every key, the other structures, the check,
     * every key deleted and the accounting. {@code strict}: check called the file clean, so a miss is
     * a finding ("S"); else misses are allowed and counted.
     *
     * @return the keys that missed
     */
    private static int use(final SharedStore store, final Base base, final boolean strict, final List<String[]> found) {
        final String made = strict ? "M" : "m";
        int missing = 0;
        try {
            final Map<String, String> byValue = new HashMap<>();
            for (final Entry e : base.entries()) {
                byValue.putIfAbsent(Arrays.toString(e.value()), e.name());
            }
            final List<String> lost = new ArrayList<>();
            final List<String> wrong = new ArrayList<>();
            final List<String> meta = new ArrayList<>();
            for (final Entry e : base.entries()) {
                final StoreItem it = store.gets(e.key());
                if (it == null) {
                    lost.add(e.name());
                    continue;
                }
                if (!Arrays.equals(it.value(), e.value())) {
                    final String other = byValue.get(Arrays.toString(it.value()));
                    wrong.add(e.name() + (other != null ? " reads " + other + "'s value"
                        : " reads " + it.value().length + " bytes (want " + e.value().length + "), first difference at "
                        + Arrays.mismatch(it.value(), e.value())));
                }
                if (it.flags() != e.flags()) {
                    wrong.add(e.name() + " flags 0x" + Integer.toHexString(it.flags()) + " (want 0x" + Integer.toHexString(e.flags()) + ")");
                }
                if (it.cas() != e.cas() || it.expires() != e.expires()) {
                    meta.add(e.name() + " cas " + it.cas() + " (want " + e.cas() + "), expires " + it.expires() + " (want "
                        + e.expires() + ")");
                }
            }
            missing = lost.size();
            if (!wrong.isEmpty()) {
                found.add(new String[] {made, wrong.size() + " key(s): " + brief(wrong)});
            }
            if (strict && !lost.isEmpty()) {
                found.add(new String[] {"S", lost.size() + " key(s) missed: " + brief(lost)});
            }
            if (strict && !meta.isEmpty() && wrong.isEmpty()) {
                found.add(new String[] {"c", meta.size() + " key(s): " + brief(meta)});
            }
            // Every key a new value: each must store and read back exactly.
            final List<String> writes = new ArrayList<>();
            int failed = 0;
            for (int i = 0; i <= KEYS && failed < GIVE_UP; i++) {
                final Entry e = base.entries().get(i);
                final StoreResult r = store.set(e.key(), i < KEYS ? newValue(i) : "7".getBytes(StandardCharsets.US_ASCII), 0, 0);
                if (r != StoreResult.STORED) {
                    writes.add("set " + e.name() + ": " + r);
                    failed++;
                }
            }
            if (failed < GIVE_UP) {
                for (int i = 0; i <= KEYS; i++) {
                    final Entry e = base.entries().get(i);
                    final byte[] want = i < KEYS ? newValue(i) : "7".getBytes(StandardCharsets.US_ASCII);
                    final StoreItem it = store.gets(e.key());
                    if (it == null || !Arrays.equals(it.value(), want) || it.flags() != 0) {
                        writes.add(e.name() + " after its set reads " + (it == null ? "nothing" : it.value().length + " bytes, flags "
                            + it.flags()));
                    }
                }
            }
            if (!writes.isEmpty()) {
                found.add(new String[] {"W", writes.size() + ": " + brief(writes)});
            }
            others(store.arena(), base, found);
            final List<String> after = IpcCheck.check(store.arena());
            if (!after.isEmpty()) {
                found.add(new String[] {"C", "after the writes: " + first(after)});
                return missing;
            }
            // Every key deleted: the store's accounting back to empty.
            failed = 0;
            for (int i = 0; i <= KEYS && failed < GIVE_UP; i++) {
                final StoreResult r = store.delete(base.entries().get(i).key());
                if (r != StoreResult.DELETED) {
                    writes.add("delete " + base.entries().get(i).name() + ": " + r);
                    failed++;
                }
            }
            if (failed > 0) {
                found.add(new String[] {"W", "deletes: " + brief(writes)});
                return missing;
            }
            Map<String, Long> stats = store.stats();
            long linked = linkedRecords(store);
            String lap = "";
            if (linked != 0) {
                // LINKED records no chain reaches (an item the repair dropped, left to the tail): the
                // tail passes them on its next lap. Made to go round once, then they must be gone.
                lap = " after a lap of the ring (" + linked + " LINKED record(s) before it)";
                final long head = stats.get("ring_head");
                int i = 0;
                for (; store.stats().get("ring_tail") < head && i < 10_000; i++) {
                    if (store.set(("lap:" + i % 50).getBytes(StandardCharsets.US_ASCII), new byte[4000], 0, 0) != StoreResult.STORED) {
                        found.add(new String[] {"W", "lap set " + i + " failed"});
                        return missing;
                    }
                }
                for (int j = 0; j < Math.min(i, 50); j++) {
                    store.delete(("lap:" + j).getBytes(StandardCharsets.US_ASCII));
                }
                stats = store.stats();
                linked = linkedRecords(store);
            }
            if (stats.get("curr_items") != 0 || stats.get("bytes") != 0 || linked != 0) {
                found.add(new String[] {"L", "curr_items=" + stats.get("curr_items") + ", bytes=" + stats.get("bytes")
                    + ", ring_linked=" + linked + lap});
            }
            final List<String> end = IpcCheck.check(store.arena());
            if (!end.isEmpty()) {
                found.add(new String[] {"C", "after the deletes: " + first(end)});
            }
        } catch (final RuntimeException e) {
            found.add(new String[] {documented(e) ? "E" : "X", "threw " + e});
        }
        return missing;
    }

    /** @return the LINKED records between the ring's tail and head ({@code arena stat}'s ring_linked) */
    private static long linkedRecords(final SharedStore store) {
        try {
            return StoreTools.stats(store.arena(), SharedStore.DEFAULT_ROOT).get("ring_linked");
        } catch (final ArenaFormatException e) {
            throw new IllegalStateException("stat refused the store: " + e.getMessage(), e);
        }
    }

    private static String brief(final List<String> lines) {
        return lines.size() <= 3 ? lines.toString() : lines.subList(0, 3) + " ...";
    }

    /** The named root, the heap object and the channel's waiting message, as the template left them. */
    private static void others(final SharedArena arena, final Base base, final List<String[]> found) {
        final List<String> wrong = new ArrayList<>();
        if (NamedRoots.of(arena).get(ROOT) != ROOT_VALUE) {
            wrong.add("root reads 0x" + Integer.toHexString(NamedRoots.of(arena).get(ROOT)));
        }
        final byte[] heap = new byte[HEAP_BYTES];
        arena.raw().getBytes(base.heapObject(), heap, 0, HEAP_BYTES);
        if (!Arrays.equals(heap, base.heapBytes())) {
            wrong.add("heap object bytes changed");
        }
        final List<String> got = new ArrayList<>();
        try (ChannelConsumer c = Channel.open(arena, "chan").consumer()) {
            c.poll((view, type, ptr, length) -> {
                final byte[] m = new byte[length];
                view.getBytes(ptr, m, 0, length);
                got.add(type + ":" + Arrays.toString(m));
            }, 8);
        } catch (final ArenaCorruptedException | IllegalStateException e) {
            wrong.add("channel: " + e);
        }
        if (!got.equals(List.of(MESSAGE_TYPE + ":" + Arrays.toString(MESSAGE)))) {
            wrong.add("channel delivered " + got);
        }
        if (!wrong.isEmpty()) {
            found.add(new String[] {"O", wrong.toString()});
        }
    }
}
