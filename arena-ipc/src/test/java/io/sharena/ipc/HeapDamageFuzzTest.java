package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.testing.ShmDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * One 4-byte stray write into the object heap's metadata page (the class lines in use, an unused
 * one, the metadata line), a slab page's header (two classes) or a large object's header, set to a
 * value a stray write leaves (0, all ones, 1, was +- 8, was + a page, a live object of the class,
 * another structure's page, a free page, the sign bit flipped), in a file whose heap holds live objects of four
 * classes and a large object, each filled with a known pattern, beside freed ones, and a channel.
 *
 * <p>The oracle: the file is checked, then used: new objects of each class are allocated (none may
 * overlap a live object, another new one, a heap header or another structure's page), every live
 * object's bytes compared, every object freed, the file checked again. When {@code check} called
 * the file clean, any exception, any overlap or overwritten byte is silent damage. When it did
 * not, {@link ArenaCorruptedException}, {@link IllegalStateException} and
 * {@link IllegalArgumentException} may be thrown, but no live byte may change and no object be
 * handed out twice. A reported case is also repaired ({@code IpcCheck.repair}) on a fresh copy and
 * used the same way: a repair that leaves check clean must leave every live object whole and owned.
 */
class HeapDamageFuzzTest {
    /** Object sizes of the small classes used: classes 1, 5, 13 and 25. */
    private static final int[] SIZES = {16, 64, 256, 2048};
    private static final int[] LIVE = {30, 40, 12, 4};
    /** Freed in the base: every third, except one 2048-byte object (a second would trim). */
    private static final int[] FRESH = {40, 40, 20, 3};
    private static final int LARGE = 3 * Geometry.PAGE_SIZE;
    private static final int LARGE_FRESH = 2;
    private static final long HANG = 20;
    /** A page the allocator has FREE in the base (the 16M arena uses a few dozen pages). */
    private static final int FREE_PAGE = 2048 * Geometry.PAGE_SIZE;
    /** What each outcome code means, for the report. */
    private static final Map<String, String> KINDS = Map.of(
        "S", "SILENT: check clean, then an object lost/overwritten/handed out twice or an exception",
        "D", "REPORTED BUT DAMAGING: check reported, yet a live object overwritten or handed out twice",
        "X", "RAW EXCEPTION (not ArenaCorrupted/IllegalState/IllegalArgument)",
        "T", "HANG",
        "C", "check clean before the use, reporting after it",
        "L", "LEAK: check clean, objects still in use after every object was freed");

    @TempDir
    Path tempDir;
    private Path dir;
    private ShmDirectory shm;

    /** A live object: where, how many bytes are its pattern's, and the pattern's seed. */
    record Obj(int ptr, int size, int seed) {
    }

    /** What the base file holds. */
    record Base(Path file, long size, Map<Long, byte[]> data, List<Obj> live, int meta, int slab1, int slab5, int slab25, int large, int otherPage,
                Map<Integer, Integer> liveOfClass, int[] othersPages, byte[][] othersBytes, List<int[]> headers) {
    }

    @BeforeEach
    void shm() throws Exception {
        shm = ShmDirectory.create(tempDir, "heapfuzz");
        dir = shm.path();
    }

    @AfterEach
    void clean() throws Exception {
        shm.close();
    }

    private static byte pattern(final int seed, final int i) {
        return (byte) (seed * 31 + i * 7 + 1);
    }

    private static void fill(final ArenaView v, final Obj o) {
        final byte[] b = new byte[o.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = pattern(o.seed(), i);
        }
        v.putBytes(o.ptr(), b, 0, b.length);
    }

    /** @return the first offset at which {@code o}'s bytes differ from its pattern, -1 if none */
    private static int damaged(final ArenaView v, final Obj o) {
        final byte[] b = new byte[o.size()];
        v.getBytes(o.ptr(), b, 0, b.length);
        for (int i = 0; i < b.length; i++) {
            if (b[i] != pattern(o.seed(), i)) {
                return i;
            }
        }
        return -1;
    }

    private static byte[][] pages(final ArenaView v, final int[] pointers) {
        final byte[][] bytes = new byte[pointers.length][Geometry.PAGE_SIZE];
        for (int i = 0; i < pointers.length; i++) {
            v.getBytes(pointers[i], bytes[i], 0, Geometry.PAGE_SIZE);
        }
        return bytes;
    }

    private static int page(final int ptr) {
        return ptr & ~(Geometry.PAGE_SIZE - 1);
    }

    /** @return the base with its file's nonzero pages read, for {@link #copy} */
    private Base base() throws Exception {
        final Base b = made();
        final Map<Long, byte[]> data = new TreeMap<>();
        try (FileChannel ch = FileChannel.open(b.file(), StandardOpenOption.READ)) {
            final byte[] zero = new byte[Geometry.PAGE_SIZE];
            for (long at = 0; at < b.size(); at += Geometry.PAGE_SIZE) {
                final ByteBuffer page = ByteBuffer.allocate(Geometry.PAGE_SIZE);
                while (page.hasRemaining() && ch.read(page, at + page.position()) > 0) {
                    continue;
                }
                if (!Arrays.equals(page.array(), zero)) {
                    data.put(at, page.array());
                }
            }
        }
        return new Base(b.file(), b.size(), data, b.live(), b.meta(), b.slab1(), b.slab5(), b.slab25(), b.large(), b.otherPage(),
            b.liveOfClass(), b.othersPages(), b.othersBytes(), b.headers());
    }

    /**
     * Copies the base file sparsely: its nonzero pages only. A dense copy would give every page of
     * the 16M file storage, and the check reads every page whose storage holds data.
     */
    private static void copy(final Base base, final Path file) throws Exception {
        Files.deleteIfExists(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(base.size());
            final FileChannel ch = raf.getChannel();
            for (final Map.Entry<Long, byte[]> e : base.data().entrySet()) {
                final ByteBuffer b = ByteBuffer.wrap(e.getValue());
                while (b.hasRemaining()) {
                    ch.write(b, e.getKey() + b.position());
                }
            }
        }
    }

    private Base made() throws Exception {
        final Path file = dir.resolve("base.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final ObjectHeap heap = ObjectHeap.of(arena);
            final List<Obj> live = new ArrayList<>();
            final List<Integer> toFree = new ArrayList<>();
            final Map<Integer, Integer> liveOfClass = new TreeMap<>();
            int seed = 1;
            for (int k = 0; k < SIZES.length; k++) {
                for (int i = 0; i < LIVE[k]; i++) {
                    final int p = heap.allocate(SIZES[k]);
                    if (SIZES[k] == 2048 ? i == 1 : i % 3 == 1) {
                        toFree.add(p);
                    } else {
                        final Obj o = new Obj(p, SIZES[k], seed++);
                        fill(v, o);
                        live.add(o);
                        liveOfClass.putIfAbsent(v.getInt(page(p) + HeapLayout.CLASS), p);
                    }
                }
            }
            final int largeObj = heap.allocate(LARGE);
            final Obj large = new Obj(largeObj, heap.usableSize(largeObj), seed++);
            fill(v, large);
            live.add(large);
            toFree.forEach(heap::free);

            final Channel other = Channel.create(arena, "other", 1, 4096, 64);
            try (ChannelProducer p = other.producer()) {
                for (int i = 0; i < 3; i++) {
                    p.offer(500 + i, new byte[] {1, 2, 3, (byte) i}, 0, 4);
                }
            }
            final int otherHeader = NamedRoots.of(arena).get("other");
            final int otherRing = v.getInt(ChannelLayout.lane(otherHeader, 0) + ChannelLayout.RING);
            final int directory = ArenaInternals.rootsDirectory(arena);
            final int[] others = new int[2 + RootsLayout.PAGES];
            others[0] = otherHeader;
            others[1] = otherRing;
            for (int i = 0; i < RootsLayout.PAGES; i++) {
                others[2 + i] = directory + i * Geometry.PAGE_SIZE;
            }
            final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
            // Heap headers no object may overlap: the metadata page, every slab page's header, the large object's.
            final List<int[]> headers = new ArrayList<>();
            headers.add(new int[] {meta, Geometry.PAGE_SIZE});
            live.stream().map(o -> page(o.ptr())).distinct().forEach(pg -> headers.add(new int[] {pg, HeapLayout.SLAB_HEADER}));
            assertEquals(List.of(), IpcCheck.check(arena), "base file clean");
            assertEquals(PageEntry.FREE, Pages.state(arena, Integer.toUnsignedLong(FREE_PAGE) / Geometry.PAGE_SIZE), "a free page");
            return new Base(file, Files.size(file), null, List.copyOf(live), meta, page(liveOfClass.get(1)), page(liveOfClass.get(5)), page(liveOfClass.get(25)),
                page(largeObj), otherHeader, liveOfClass, others, pages(v, others), headers);
        }
    }

    /** A stray write: the word at {@code at} set to {@code value}. */
    record Hit(String where, int at, int value) {
    }

    /**
     * Adds the hits of every value at each of {@code offsets} from {@code region}: the "live object"
     * value for an offset is {@code liveOf.applyAsInt(offset)}.
     */
    private static void hits(final Base base, final String name, final int region, final int[] offsets,
                             final IntUnaryOperator liveOf, final List<Hit> into) throws Exception {
        try (SharedArena arena = SharedArena.open(base.file(), ArenaOptions.defaults().withReadOnly(true))) {
            for (final int offset : offsets) {
                final int was = arena.raw().getInt(region + offset);
                final LinkedHashSet<Integer> values = new LinkedHashSet<>(List.of(0, -1, 1, was + 8, was - 8,
                    was + Geometry.PAGE_SIZE, liveOf.applyAsInt(offset), base.otherPage(), FREE_PAGE, was ^ 0x8000_0000));
                values.remove(was);
                for (final int value : values) {
                    into.add(new Hit(name + "+" + offset + " (was 0x" + Integer.toHexString(was) + ")", region + offset, value));
                }
            }
        }
    }

    private static int[] range(final int from, final int to) {
        final List<Integer> o = new ArrayList<>();
        for (int i = from; i < to; i += 4) {
            o.add(i);
        }
        return o.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int[] concat(final int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void metadataPageWordsDamaged() throws Exception {
        final Base base = base();
        final List<Hit> hits = new ArrayList<>();
        // The lines of the classes in use (1, 5, 13, 25) and of an unused one (0), the metadata
        // line, and a sample of the unused rest.
        final int[] offsets = concat(range(0, 256), range(5 * 128, 6 * 128), range(13 * 128, 14 * 128),
            range(25 * 128, 26 * 128), range(HeapLayout.META_LINE, HeapLayout.META_LINE + 64),
            new int[] {26 * 128, 27 * 128 - 4, HeapLayout.META_LINE + 64, HeapLayout.META_LINE + 124, 3600, 4092});
        hits(base, "meta", base.meta(), offsets,
            off -> base.liveOfClass().getOrDefault(off / HeapLayout.CLASS_STRIDE, base.liveOfClass().get(5)), hits);
        runAll(base, "heap metadata", hits);
    }

    @Test
    void slabHeaderWordsDamaged() throws Exception {
        final Base base = base();
        final List<Hit> hits = new ArrayList<>();
        hits(base, "slab16", base.slab1(), range(0, HeapLayout.SLAB_HEADER), off -> base.liveOfClass().get(1), hits);
        hits(base, "slab64", base.slab5(), range(0, HeapLayout.SLAB_HEADER), off -> base.liveOfClass().get(5), hits);
        // A page none of whose objects is free: no free-stack entry leads to it.
        hits(base, "slab2048", base.slab25(), range(0, HeapLayout.SLAB_HEADER), off -> base.liveOfClass().get(25), hits);
        runAll(base, "slab header", hits);
    }

    @Test
    void largeHeaderWordsDamaged() throws Exception {
        final Base base = base();
        final List<Hit> hits = new ArrayList<>();
        hits(base, "large", base.large(), range(0, HeapLayout.LARGE_HEADER), off -> base.liveOfClass().get(5), hits);
        runAll(base, "large header", hits);
    }

    /**
     * @return whether {@code hit} is damage the heap is known to leave (docs/crash-safety.md, "A
     * heap page's magic, or a large object's page count, hit"): a slab page's key hit when no free
     * object of it is on a stack (the 2048-byte page's objects are all in use), a slab page's class
     * word hit (dropped when its bits fit both classes), and a large object's page count hit to one
     * page (which could be its own as well as the check's). Counted and printed, not failed.
     */
    private static boolean knownLeft(final Hit hit) {
        final String w = hit.where();
        return w.startsWith("slab2048+24 ") || w.startsWith("slab2048+28 ") || w.matches("slab\\d+\\+4 .*")
            || w.startsWith("large+4 ") && hit.value() == 1;
    }

    private void runAll(final Base base, final String what, final List<Hit> hits) throws Exception {
        final long start = System.nanoTime();
        final Map<String, List<String>> failures = new TreeMap<>();
        final List<String> left = new ArrayList<>();
        final List<String> notes = new ArrayList<>();
        int reported = 0;
        int harmless = 0;
        int repairedClean = 0;
        for (final Hit hit : hits) {
            final String name = hit.where() + " = 0x" + Integer.toHexString(hit.value());
            final String outcome = guarded(() -> run(base, hit, false));
            switch (outcome.charAt(0)) {
                case 'H' -> harmless++;
                case 'R' -> {
                    reported++;
                    final String repaired = guarded(() -> run(base, hit, true));
                    if (repaired.charAt(0) == 'H') {
                        repairedClean++;
                    } else if (repaired.charAt(0) == 'N') {
                        notes.add(name + ": " + repaired.substring(2));
                    } else if (repaired.charAt(0) != 'R' && knownLeft(hit)) {
                        left.add(name + ": " + repaired.substring(2));
                    } else if (repaired.charAt(0) != 'R') {
                        failures.computeIfAbsent("AFTER REPAIR (check clean again) " + KINDS.get(repaired.substring(0, 1)),
                                k -> new ArrayList<>())
                            .add(name + ": " + repaired.substring(2));
                    }
                }
                default -> {
                    if (knownLeft(hit)) {
                        left.add(name + ": " + outcome.substring(2));
                    } else {
                        failures.computeIfAbsent(KINDS.get(outcome.substring(0, 1)), k -> new ArrayList<>())
                            .add(name + ": " + outcome.substring(2));
                    }
                }
            }
        }
        final int failed = failures.values().stream().mapToInt(List::size).sum();
        System.out.println(what + " fuzz: " + hits.size() + " cases, " + harmless + " harmless, " + reported
            + " reported (" + repairedClean + " repaired whole), " + failed + " failures, "
            + (System.nanoTime() - start) / 1_000_000 + " ms");
        failures.forEach((kind, list) -> {
            System.out.println("  " + kind + " (" + list.size() + ")");
            list.forEach(s -> System.out.println("    " + s));
        });
        if (!left.isEmpty()) {
            System.out.println("  left, as docs/crash-safety.md says (" + left.size() + ")");
            left.forEach(l -> System.out.println("    " + l));
        }
        if (!notes.isEmpty()) {
            System.out.println("  repair left check reporting (" + notes.size() + ")");
            notes.forEach(s -> System.out.println("    " + s));
        }
        final Map<String, Integer> counts = new TreeMap<>();
        failures.forEach((kind, list) -> counts.put(kind, list.size()));
        assertEquals(Map.of(), counts, what + ": failures (listed in the test's output)");
    }

    /** @return the outcome, or "T " for a hang */
    private static String guarded(final java.util.concurrent.Callable<String> c) {
        try {
            return assertTimeoutPreemptively(Duration.ofSeconds(HANG), c::call);
        } catch (final org.opentest4j.AssertionFailedError e) {
            return "T hang: " + e.getMessage();
        }
    }

    /**
     * Outcome codes: "H " whole, "R " reported and refused or harmless, "S " silent damage (check
     * clean), "D " reported but damaging, "X " a raw exception, "L " objects still in use after every
     * one was freed (check clean), "C " check clean before the use, not after; with {@code repair}:
     * "R " the repair left check reporting (or refused), else as above about the repaired file.
     */
    private String run(final Base base, final Hit hit, final boolean repair) throws Exception {
        final Path file = dir.resolve("case.arena");
        copy(base, file);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            v.putIntRelease(hit.at(), hit.value());
            String repaired = "";
            if (repair) {
                try {
                    final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
                    repaired = " [repair: " + String.join("; ", done) + "]";
                } catch (final ArenaCorruptedException | IllegalStateException | IllegalArgumentException e) {
                    return "R repair refused: " + e;
                } catch (final RuntimeException e) {
                    return "X repair threw " + e;
                }
            }
            final List<String> found;
            try {
                found = IpcCheck.check(arena);
            } catch (final RuntimeException e) {
                return "X check threw " + e;
            }
            if (repair && !found.isEmpty()) {
                return "N repair left check reporting: " + found + repaired;
            }
            final List<String> damage = new ArrayList<>();
            RuntimeException thrown = null;
            boolean verified = false;
            final List<Obj> fresh = new ArrayList<>();
            try {
                final ObjectHeap heap = ObjectHeap.of(arena);
                int seed = 10_000;
                for (int k = 0; k <= SIZES.length; k++) {
                    final int size = k < SIZES.length ? SIZES[k] : LARGE;
                    for (int i = 0; i < (k < SIZES.length ? FRESH[k] : LARGE_FRESH); i++) {
                        final int p = heap.allocate(size);
                        if (p == 0) {
                            damage.add("allocate(" + size + ") gave 0");
                            continue;
                        }
                        final Obj o = new Obj(p, size, seed++);
                        final String overlap = overlap(base, fresh, o, arena);
                        if (overlap != null) {
                            damage.add("new " + size + "-byte object 0x" + Integer.toHexString(p) + " " + overlap);
                        }
                        fresh.add(o);
                        fill(v, o);
                    }
                }
                verifyLive(v, base, damage);
                verified = true;
                for (final Obj o : fresh) {
                    if (damaged(v, o) >= 0) {
                        damage.add("new object 0x" + Integer.toHexString(o.ptr()) + " overwritten");
                    }
                }
                for (final Obj o : base.live()) {
                    heap.free(o.ptr());
                }
                for (final Obj o : fresh) {
                    heap.free(o.ptr());
                }
            } catch (final RuntimeException e) {
                thrown = e;
            }
            if (!verified) {
                verifyLive(v, base, damage);
            }
            final byte[][] now = pages(v, base.othersPages());
            for (int i = 0; i < now.length; i++) {
                if (!Arrays.equals(now[i], base.othersBytes()[i])) {
                    damage.add("another structure's page " + (base.othersPages()[i] >>> 12) + " written");
                }
            }
            final String raw = thrown == null || thrown instanceof ArenaCorruptedException
                || thrown instanceof IllegalStateException || thrown instanceof IllegalArgumentException ? null : thrown.toString();
            final String tail = (thrown == null ? "" : " (threw " + thrown + ")") + repaired;
            if (!found.isEmpty()) {
                if (!damage.isEmpty()) {
                    return "D " + damage + tail + " check: " + found;
                }
                return raw != null ? "X " + raw + " check: " + found : "R";
            }
            if (!damage.isEmpty()) {
                return "S " + damage + tail;
            }
            if (thrown != null) {
                return (raw != null ? "X " : "S ") + "threw with check clean: " + thrown + repaired;
            }
            final List<String> after = IpcCheck.check(arena);
            if (!after.isEmpty()) {
                return "C check clean before the use, after: " + after + repaired;
            }
            final int leaked = inUse(arena, base.meta());
            return leaked > 0 ? "L " + leaked + " objects still in use after all were freed" + repaired : "H";
        }
    }

    private static void verifyLive(final ArenaView v, final Base base, final List<String> damage) {
        for (final Obj o : base.live()) {
            final int at = damaged(v, o);
            if (at >= 0) {
                damage.add("live " + o.size() + "-byte object 0x" + Integer.toHexString(o.ptr()) + " overwritten at +" + at);
            }
        }
    }

    /** @return how {@code o} overlaps what it must not, or null */
    private static String overlap(final Base base, final List<Obj> fresh, final Obj o, final SharedArena arena) {
        final long lo = Integer.toUnsignedLong(o.ptr());
        final long hi = lo + o.size();
        if (lo < arena.firstUserPage() * Geometry.PAGE_SIZE || hi > arena.capacityBytes()) {
            return "outside the user pages";
        }
        for (final Obj l : base.live()) {
            if (lo < Integer.toUnsignedLong(l.ptr()) + l.size() && Integer.toUnsignedLong(l.ptr()) < hi) {
                return "overlaps live object 0x" + Integer.toHexString(l.ptr());
            }
        }
        for (final Obj l : fresh) {
            if (lo < Integer.toUnsignedLong(l.ptr()) + l.size() && Integer.toUnsignedLong(l.ptr()) < hi) {
                return "handed out twice (overlaps new object 0x" + Integer.toHexString(l.ptr()) + ")";
            }
        }
        for (final int[] h : base.headers()) {
            if (lo < Integer.toUnsignedLong(h[0]) + h[1] && Integer.toUnsignedLong(h[0]) < hi) {
                return "overlaps a heap header at 0x" + Integer.toHexString(h[0]);
            }
        }
        for (final int p : base.othersPages()) {
            if (lo < Integer.toUnsignedLong(p) + Geometry.PAGE_SIZE && Integer.toUnsignedLong(p) < hi) {
                return "overlaps another structure's page " + (p >>> 12);
            }
        }
        return null;
    }

    /** @return the objects the heap at {@code meta} has in use: in-use bits of its slab pages, its large objects */
    private static int inUse(final SharedArena arena, final int meta) {
        final ArenaView v = arena.raw();
        int n = 0;
        for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
            if (Pages.state(arena, p) != PageEntry.ALLOCATED) {
                continue;
            }
            final int page = (int) (p * Geometry.PAGE_SIZE);
            final int magic = v.getInt(page + HeapLayout.MAGIC);
            if (magic == HeapLayout.MAGIC_SLAB && v.getInt(page + HeapLayout.HEAP) == meta) {
                for (int w = 0; w < HeapLayout.BITMAP_LONGS; w++) {
                    n += Long.bitCount(v.getLong(page + HeapLayout.BITMAP + w * 8));
                }
            } else if (magic == HeapLayout.MAGIC_LARGE && v.getInt(page + HeapLayout.LARGE_HEAP) == meta) {
                n++;
            }
        }
        return n;
    }
}
