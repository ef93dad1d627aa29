package io.sharena.ipc.store;

import io.sharena.core.layout.Geometry;
import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A memcached-like key/value store in an arena, shared by every process that opens it.
 *
 * <pre>{@code
 * try (SharedStore store = SharedStore.create(path, StoreOptions.defaults().withMemoryLimit(256L << 20))) {
 *     store.set(key, value, 0, 0);                 // STORED
 * }
 * // in any other process, at the same time or after a restart:
 * try (SharedStore store = SharedStore.open(path, StoreOptions.defaults())) {
 *     byte[] v = store.get(key);                    // no lock, no system call
 * }
 * }</pre>
 *
 * <p>Semantics are memcached's (see each method). Keys are 1 to {@value #MAX_KEY} arbitrary bytes
 * (the text protocol's rules on spaces and control characters are the server's business). Values
 * are up to the store's max item size. Outcomes are {@link StoreResult}s; misuse (a null or
 * out-of-range key, a null value) throws {@link IllegalArgumentException}; corruption found in the
 * file throws {@link ArenaCorruptedException}.
 *
 * <p>Expiry times ({@code exptime}) follow memcached: 0 never expires, negative is already expired,
 * up to {@value #RELATIVE_EXPIRY_LIMIT} seconds (30 days) is relative to now, larger is an absolute
 * Unix time. Thread safety: every method may be called from any thread.
 */
public final class SharedStore implements AutoCloseable {
    /** The named root under which an arena's default store is found. */
    public static final String DEFAULT_ROOT = "sharena.store";
    public static final int MAX_KEY = 250;
    public static final long RELATIVE_EXPIRY_LIMIT = 2_592_000L;
    /**
     * Pages a store file's arena gets beyond its region and its page table: room for the header,
     * control page, registry and named-roots directory, with some to spare.
     */
    private static final int MAX_ARENA_META_SLACK_PAGES = 1024;
    /**
     * Gets a thread counts before it adds them to the shared get_hits/get_misses. Stats read by
     * another thread or process may lag by this much per reading thread; {@link #stats()} and
     * {@link #close()} add the calling thread's.
     */
    static final int GET_COUNT_BATCH = 64;
    /** Passed as an expected CAS value: no check (no item ever has this CAS value). */
    public static final long ANY_CAS = -1L;
    /** Passed as an exptime: leave the item's expiry as it is. */
    public static final long KEEP_EXPIRY = Long.MIN_VALUE;
    /** An item's last-access time moves at most this often (memcached's update interval). */
    static final long ACCESS_UPDATE_SECONDS = 60;

    private final SharedArena arena;
    private final boolean ownsArena;
    private final int header;
    private final ArenaView view;
    /** The arena's segment, for the read path's plain loads and copies. */
    private final MemorySegment seg;
    private final long flushMillisOffset;
    private final long flushCasOffset;
    private final long clockOffset;
    /** The Unix second the store was created: items' last-access times count from it. */
    private final long createdSeconds;
    private final Ring ring;
    private final Index index;
    private final Counters counters;
    private final LongSupplier clock;
    private final long timeoutNanos;
    private final int maxItem;
    private final ThreadLocal<Cursor> cursors = ThreadLocal.withInitial(Cursor::new);
    /** A second cursor per thread, for a locked look-up made while the first still describes a read. */
    private final ThreadLocal<Cursor> lockedCursors = ThreadLocal.withInitial(Cursor::new);
    private final boolean evictions;
    private final ThreadLocal<byte[][]> scratch = ThreadLocal.withInitial(() -> new byte[][] {new byte[256]});

    private SharedStore(final SharedArena arena, final boolean ownsArena, final int header, final StoreOptions o) {
        this.evictions = o.evictions();
        this.arena = arena;
        this.ownsArena = ownsArena;
        this.header = header;
        this.view = arena.raw();
        this.seg = view.segment();
        this.flushMillisOffset = Integer.toUnsignedLong(header + StoreLayout.FLUSH_MILLIS);
        this.flushCasOffset = Integer.toUnsignedLong(header + StoreLayout.FLUSH_CAS);
        this.clockOffset = Integer.toUnsignedLong(header + StoreLayout.CLOCK_SECONDS);
        this.createdSeconds = view.getLong(header + StoreLayout.CREATED_MILLIS) / 1000;
        this.clock = o.clock();
        this.timeoutNanos = o.lockTimeoutNanos();
        this.maxItem = view.getInt(header + StoreLayout.MAX_ITEM);
        this.counters = new Counters(view, header, ArenaInternals.slot(arena));
        this.ring = new Ring(arena, header, counters, timeoutNanos, o.evictions());
        this.index = new Index(arena, view.getInt(header + StoreLayout.BUCKETS_PTR),
            1 << view.getInt(header + StoreLayout.BUCKET_BITS), view.getInt(header + StoreLayout.STRIPES_PTR),
            view.getInt(header + StoreLayout.STRIPES), ring, maxItem);
        ring.attach(index, this::staleAt);
    }

    // ------------------------------------------------------------------ open / create

    /**
     * Creates a store file: an arena holding one store of {@code options.memoryLimit()} bytes.
     *
     * @throws IllegalArgumentException if the file exists (unless replaced through {@code arenaOptions}) or the
     *                                  limits do not fit
     */
    public static SharedStore create(final Path path, final StoreOptions options) throws IOException {
        return create(path, options, ArenaOptions.defaults());
    }

    public static SharedStore create(final Path path, final StoreOptions options, final ArenaOptions arenaOptions)
        throws IOException {
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        StoreFormat.checkFits(o);
        // The region, plus room for the arena's header and page table, which grow with its size.
        final long pages = StoreFormat.regionPages(o);
        final long capacity = (pages + pages / 256 + MAX_ARENA_META_SLACK_PAGES) * (long) Geometry.PAGE_SIZE;
        final SharedArena arena = SharedArena.create(path, Capacity.ofBytes(capacity), arenaOptions);
        try {
            final int region = StoreFormat.create(arena, NamedRoots.of(arena), DEFAULT_ROOT, o, o.clock().getAsLong());
            if (region == 0) {
                throw new IOException("no room for the store in its own arena: pages=" + pages + ", path=" + path);
            }
            return attach(arena, DEFAULT_ROOT, o, true);
        } catch (final IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Opens a store file created by {@link #create}.
     *
     * @throws io.sharena.core.ArenaFormatException if the file is not an arena, or holds no valid store
     */
    public static SharedStore open(final Path path, final StoreOptions options) throws IOException {
        final SharedArena arena = SharedArena.open(path, ArenaOptions.defaults());
        try {
            return attach(arena, DEFAULT_ROOT, options, true);
        } catch (final IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Opens the store file, creating it if there is none. A file that is an arena without its store
     * (its creator was killed before the store was made, which the next user of its roots undoes)
     * gets the store made in place with {@code options}, when the arena has room for it. Several
     * processes calling this at once on a new path all end up with the one store.
     *
     * @throws io.sharena.core.ArenaFormatException if the file is not an arena, or its store is damaged
     * @throws IOException if the arena has no room for a store of {@code options}, or the file cannot be made
     */
    public static SharedStore openOrCreate(final Path path, final StoreOptions options) throws IOException {
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        if (!java.nio.file.Files.exists(path)) {
            try {
                return create(path, o);
            } catch (final java.nio.file.FileAlreadyExistsException e) {
                // Another process made it first: open theirs.
            } catch (final IllegalArgumentException e) {
                if (!java.nio.file.Files.exists(path)) {
                    throw e;
                }
            }
        }
        final SharedArena arena = openWhileCreated(path);
        try {
            final NamedRoots roots = NamedRoots.of(arena);
            if (roots.getCreated(DEFAULT_ROOT) == 0
                && StoreFormat.create(arena, roots, DEFAULT_ROOT, o, o.clock().getAsLong()) == 0) {
                throw new IOException("no room for the store in the arena: pages=" + StoreFormat.regionPages(o)
                    + ", path=" + path);
            }
            return attach(arena, DEFAULT_ROOT, o, true);
        } catch (final IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Opens an arena file another process may be creating right now: {@link SharedArena#create} makes
     * the file (empty) before it sizes it and writes its header, so a racing opener sees a file too
     * short, with no magic yet, or a header copy half-written. That is retried for a while; a file
     * still no arena then is refused.
     */
    private static SharedArena openWhileCreated(final Path path) throws IOException {
        final long start = System.nanoTime();
        while (true) {
            try {
                return SharedArena.open(path, ArenaOptions.defaults());
            } catch (final io.sharena.core.ArenaFormatException e) {
                // Any header field may be read half-written; a path that is no regular file never becomes one.
                final boolean young = !"fileType".equals(e.field());
                if (!young || System.nanoTime() - start > io.sharena.ipc.Pages.SETUP_TIMEOUT_NANOS) {
                    throw e;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        }
    }

    /**
     * The store named {@code name} in an arena this process has open, created with {@code options}
     * if the arena has none by that name. Closing the store leaves the arena open.
     *
     * @throws IllegalArgumentException if the arena was opened read-only: every get and set writes
     *                                  shared words (clock, counters, access map, locks); tools read a
     *                                  store through {@link StoreTools}
     */
    public static SharedStore of(final SharedArena arena, final String name, final StoreOptions options)
        throws IOException {
        if (ArenaInternals.slot(arena) < 0) {
            throw new IllegalArgumentException("a store needs a writable arena attachment: readOnly=true, path="
                + arena.path() + " (tools read stores through StoreTools)");
        }
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        final NamedRoots roots = NamedRoots.of(arena);
        // Created under the roots' lock in one crash-safe step; a process that comes second gets the
        // first one's region (or waits for it to be formatted, in attach).
        if (roots.getCreated(name) == 0 && StoreFormat.create(arena, roots, name, o, o.clock().getAsLong()) == 0) {
            throw new IOException("no room for a store in the arena: pages=" + StoreFormat.regionPages(o)
                + ", path=" + arena.path());
        }
        return attach(arena, name, o, false);
    }

    static SharedStore attach(final SharedArena arena, final String name, final StoreOptions options,
                                      final boolean ownsArena) throws IOException {
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        // A store still being created (its creator holds the roots' lock, or died holding it) is
        // waited for, or undone, before its region is read.
        final int region = NamedRoots.existing(arena).map(r -> r.getCreated(name)).orElse(0);
        if (region == 0) {
            throw new io.sharena.core.ArenaFormatException("store.root", "no store in the arena: name=" + name
                + ", path=" + arena.path());
        }
        StoreFormat.validate(arena, region);
        return new SharedStore(arena, ownsArena, region, o);
    }

    /** @return the arena the store lives in */
    public SharedArena arena() {
        return arena;
    }

    /** @return the largest value that stores */
    public int maxItemSize() {
        return maxItem;
    }

    /**
     * @return the largest max item size a store of {@code memoryLimit} bytes can be created with
     * (its ring holds two such items with a 250-byte key, and the slack new writes leave free)
     * @throws IllegalArgumentException for a memory limit out of {@link StoreOptions#withMemoryLimit}'s range
     */
    public static int largestItemSize(final long memoryLimit) {
        return StoreFormat.largestItemSize(memoryLimit);
    }

    /** @return whether this opener's writes may evict live items ({@link StoreOptions#evictions()}) */
    public boolean evictions() {
        return evictions;
    }

    /** @return the memory limit: bytes of item space */
    public long memoryLimit() {
        return ring.ringBytes();
    }

    // ------------------------------------------------------------------ helpers

    private static void checkKey(final byte[] key) {
        if (key == null || key.length == 0 || key.length > MAX_KEY) {
            throw new IllegalArgumentException("key length out of range: length=" + (key == null ? "null" : key.length)
                + ", min=1, max=" + MAX_KEY);
        }
    }

    private static void checkValue(final byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("value must not be null: value=null");
        }
    }

    /** @return memcached's exptime as absolute Unix seconds: 0 never, 1 (the past) for already expired */
    static long expiresAt(final long exptime, final long nowMillis) {
        if (exptime == 0) {
            return 0;
        }
        if (exptime < 0) {
            return 1;
        }
        if (exptime <= RELATIVE_EXPIRY_LIMIT) {
            return nowMillis / 1000 + exptime;
        }
        // Items keep expiry times as unsigned 32-bit seconds: the year 2106 at the latest.
        return Math.min(exptime, 0xFFFF_FFFFL);
    }

    private boolean stale(final long expires, final long cas, final long stored, final long nowMillis) {
        if (expires != 0 && expires <= nowMillis / 1000) {
            return true;
        }
        if (cas != 0 && Long.compareUnsigned(cas, view.getLongAcquire(header + StoreLayout.FLUSH_CAS)) <= 0) {
            return true;
        }
        // A delayed flush invalidates items stored in the seconds before the one it fires in (as
        // memcached's does: items are stored to the second).
        final long flushAt = view.getLongAcquire(header + StoreLayout.FLUSH_MILLIS);
        return flushAt != 0 && nowMillis >= flushAt && stored < flushAt / 1000;
    }

    private boolean stale(final Cursor c, final long nowMillis) {
        return stale(c.expires, c.cas, c.stored, nowMillis);
    }

    /** As {@link #stale(Cursor, long)}, reading the clock only when the item or a pending flush needs it. */
    private boolean staleNow(final Cursor c) {
        // Plain loads of the two flush words, then an acquire fence: ordered as acquire loads are.
        final long flushMillis = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, flushMillisOffset);
        final long flushCas = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, flushCasOffset);
        VarHandle.acquireFence();
        if (c.expires == 0 && flushMillis == 0) {
            return c.cas != 0 && Long.compareUnsigned(c.cas, flushCas) <= 0;
        }
        final long now = clock.getAsLong();
        advanceClock(now);
        return stale(c, now);
    }

    /**
     * Moves the store's coarse clock forward to {@code nowMillis}, never back: a store at most once
     * a second, by whichever process reads the real clock first in that second.
     */
    private void advanceClock(final long nowMillis) {
        final long seconds = nowMillis / 1000;
        long seen;
        while ((seen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, clockOffset)) < seconds) {
            if (view.compareAndSetLong(header + StoreLayout.CLOCK_SECONDS, seen, seconds)) {
                return;
            }
        }
    }

    /**
     * Moves the store's coarse clock to now. Every write and every 64th get of a thread does it;
     * a long-running reader that may go idle for minutes (a server's event loop) calls this when it
     * wakes, so that items' last-access times stay right to the minute.
     */
    public void tick() {
        advanceClock(clock.getAsLong());
    }

    /** @return the META word's access field for {@code nowMillis} */
    private int accessField(final long nowMillis) {
        return (int) Math.max(0, Math.min(ItemLayout.META_ACCESS_MASK, nowMillis / 1000 - createdSeconds));
    }

    /** Eviction's question: is the item at {@code p} expired or flushed now? (Its stripe lock is held.) */
    private boolean staleAt(final int p) {
        return stale(Integer.toUnsignedLong(view.getIntAcquire(p + ItemLayout.EXPIRES)), view.getLong(p + ItemLayout.CAS),
            Integer.toUnsignedLong(view.getInt(p + ItemLayout.STORED)), clock.getAsLong());
    }

    private long nextCas() {
        return view.getAndAddLong(header + StoreLayout.CAS_COUNTER, 1) + 1;
    }

    /**
     * Looks the key up without a lock and validates what it read. The value bytes are read by
     * {@code copy} between lookup and validation.
     *
     * @return whether a live item was found (the cursor then holds it)
     */
    private boolean readLive(final byte[] key, final int hash, final Cursor c, final byte[] dst, final int dstOff) {
        int retries = 0;
        while (true) {
            // The tail before the walk: every record the walk can reach was linked at some instant
            // after this load, so sits at or above it; one that does not parse was reused only if the
            // tail has moved since (its own position word may be another record's by then).
            final long tailBefore = ring.tail();
            final boolean walked = index.find(key, key.length, hash, tailBefore, c);
            if (walked) {
                if (c.ptr != 0) {
                    // Before the value is read: the two loads miss in parallel, not one after the other.
                    c.accessBits = ring.accessBits(c.ptr);
                }
                if (c.ptr != 0 && dst != null && c.valueLen <= dst.length - dstOff) {
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, Integer.toUnsignedLong(c.valuePtr()), dst, dstOff,
                        c.valueLen);
                }
                if (ring.valid(c.minPos)) {
                    if (retries != 0) {
                        counters.add(StoreCounter.READ_RETRIES, retries);
                    }
                    return c.ptr != 0 && !staleNow(c);
                }
            } else if (ring.valid(tailBefore)) {
                // Nothing was reclaimed during the walk, yet what it read is not a chain: the index is broken.
                throw new ArenaCorruptedException("store index", Integer.toUnsignedLong(c.minPos == Long.MAX_VALUE ? 0
                    : (int) c.minPos), "bucket chain does not parse: hash=" + hash);
            }
            retries++;
        }
    }

    /** As {@link #readLive}, counting a get. */
    private boolean getCounted(final byte[] key, final Cursor c, final byte[] dst, final int dstOff) {
        return getCounted(key, c, dst, dstOff, c, true);
    }

    /**
     * As {@link #readLive}, counting a get in {@code counts} (this thread's cursor); a hit is marked
     * fetched and its last-access time kept to the minute unless {@code bump} is false.
     */
    private boolean getCounted(final byte[] key, final Cursor c, final byte[] dst, final int dstOff,
                               final Cursor counts, final boolean bump) {
        checkKey(key);
        // cmd_get is get_hits + get_misses, summed when stats are read. Both are batched per thread:
        // an atomic add per get would be a full fence on the read path.
        final int hash = Index.hash(key, key.length);
        if (readLive(key, hash, c, dst, dstOff)) {
            if (++counts.pendingHits == GET_COUNT_BATCH) {
                flushGets(counts);
            }
            if (bump) {
                c.fetchedBefore = ring.touchedByReader(c.ptr, c.accessBits);
                final long coarse = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, clockOffset);
                if (coarse - createdSeconds - (c.meta & ItemLayout.META_ACCESS_MASK) >= ACCESS_UPDATE_SECONDS) {
                    updateMeta(key, hash, c, ItemLayout.META_ACCESS_MASK, accessField(coarse * 1000), false);
                }
            } else {
                c.fetchedBefore = ring.fetched(c.ptr);
            }
            return true;
        }
        if (++counts.pendingMisses == GET_COUNT_BATCH) {
            flushGets(counts);
        }
        if (c.ptr != 0) {
            counters.add(c.expires != 0 && c.expires <= clock.getAsLong() / 1000 ? StoreCounter.GET_EXPIRED
                : StoreCounter.GET_FLUSHED, 1);
        }
        return false;
    }

    private void flushGets(final Cursor c) {
        // Also where a thread that only reads keeps the store's coarse clock moving.
        advanceClock(clock.getAsLong());
        counters.add(StoreCounter.GET_HITS, c.pendingHits);
        counters.add(StoreCounter.GET_MISSES, c.pendingMisses);
        c.pendingHits = 0;
        c.pendingMisses = 0;
    }

    // ------------------------------------------------------------------ reads

    /** @return a copy of the key's value, or null on a miss */
    public byte[] get(final byte[] key) {
        final Cursor c = cursors.get();
        while (true) {
            byte[] buf = scratch.get()[0];
            if (!getCounted(key, c, buf, 0)) {
                return null;
            }
            if (c.valueLen <= buf.length) {
                final byte[] out = new byte[c.valueLen];
                System.arraycopy(buf, 0, out, 0, c.valueLen);
                return out;
            }
            scratch.get()[0] = new byte[Math.max(c.valueLen, buf.length * 2)];
        }
    }

    /**
     * Copies the key's value into {@code dst} from offset 0, allocating nothing.
     *
     * @return the value's length (bytes copied only if it is at most {@code dst.length}), or -1 on a miss
     */
    public int get(final byte[] key, final byte[] dst) {
        final Cursor c = cursors.get();
        return getCounted(key, c, dst, 0) ? c.valueLen : -1;
    }

    /** @return the key's value, flags and CAS value, or null on a miss */
    public StoreItem gets(final byte[] key) {
        final Cursor c = cursors.get();
        while (true) {
            final byte[] buf = scratch.get()[0];
            if (!getCounted(key, c, buf, 0)) {
                return null;
            }
            if (c.valueLen <= buf.length) {
                return new StoreItem(java.util.Arrays.copyOf(buf, c.valueLen), c.flags, c.cas, c.expires);
            }
            scratch.get()[0] = new byte[Math.max(c.valueLen, buf.length * 2)];
        }
    }

    /** @return each key's item ({@link #gets}), null where it missed, in the order of the keys */
    public StoreItem[] getMulti(final byte[]... keys) {
        final StoreItem[] items = new StoreItem[keys.length];
        for (int i = 0; i < keys.length; i++) {
            items[i] = gets(keys[i]);
        }
        return items;
    }

    /** @return a reader for zero-copy access: one per thread, reused */
    public StoreReader reader() {
        return new StoreReader(this);
    }

    boolean readerGet(final byte[] key, final Cursor c, final boolean bump) {
        return getCounted(key, c, null, 0, cursors.get(), bump);
    }

    /** As {@link #readerGet} with no bump, and not counted as a get: for listings. */
    boolean readerPeek(final byte[] key, final Cursor c) {
        checkKey(key);
        if (readLive(key, Index.hash(key, key.length), c, null, 0)) {
            c.fetchedBefore = ring.fetched(c.ptr);
            return true;
        }
        return false;
    }

    boolean stillValid(final Cursor c) {
        return ring.valid(c.minPos);
    }

    ArenaView view() {
        return view;
    }

    // ------------------------------------------------------------------ writes

    private static final byte[] EMPTY = new byte[0];

    /** Stores the value whatever the key holds. */
    public StoreResult set(final byte[] key, final byte[] value, final int flags, final long exptime) {
        return store(StoreMode.SET, key, value, flags, exptime, ANY_CAS, false, null);
    }

    /** Stores the value only if the key holds no live item; NOT_STORED otherwise. */
    public StoreResult add(final byte[] key, final byte[] value, final int flags, final long exptime) {
        return store(StoreMode.ADD, key, value, flags, exptime, ANY_CAS, false, null);
    }

    /** Stores the value only if the key holds a live item; NOT_STORED otherwise. */
    public StoreResult replace(final byte[] key, final byte[] value, final int flags, final long exptime) {
        return store(StoreMode.REPLACE, key, value, flags, exptime, ANY_CAS, false, null);
    }

    /**
     * Stores the value only if the key's item still has CAS value {@code casUnique}: STORED, EXISTS
     * (changed since), or NOT_FOUND (no live item).
     */
    public StoreResult cas(final byte[] key, final byte[] value, final int flags, final long exptime,
                           final long casUnique) {
        return store(StoreMode.CAS, key, value, flags, exptime, casUnique, false, null);
    }

    /**
     * Every storage command in one call, with what memcached's meta {@code ms} adds to them.
     *
     * <ul>
     *   <li>{@link StoreMode#CAS} compares {@code expectedCas}; {@link StoreMode#APPEND} and
     *       {@link StoreMode#PREPEND} answer EXISTS when {@code expectedCas} is not {@link #ANY_CAS}
     *       and differs from the item's (they keep the item's flags and expiry, ignoring
     *       {@code flags} and {@code exptime}); the other modes ignore it.</li>
     *   <li>{@code invalidate} (CAS mode only): when {@code expectedCas} is lower than the item's,
     *       the value is stored anyway but marked stale ({@link StoreReader#stale()}), keeping the
     *       item's expiry and whether its win token was handed out.</li>
     *   <li>{@code casOut}, when not null, receives in {@code casOut[0]} the CAS value of the item
     *       this call stored (STORED only): the item's own, whatever other writers do after.</li>
     * </ul>
     *
     * @return STORED, NOT_STORED, EXISTS, NOT_FOUND, TOO_LARGE, NO_MEMORY or BUSY, as the mode's own
     * method answers
     * @throws IllegalArgumentException for a null mode, an out-of-range key, a null value or an empty {@code casOut}
     */
    public StoreResult store(final StoreMode mode, final byte[] key, final byte[] value, final int flags,
                             final long exptime, final long expectedCas, final boolean invalidate,
                             final long[] casOut) {
        if (mode == null) {
            throw new IllegalArgumentException("mode must not be null: mode=null");
        }
        if (casOut != null && casOut.length == 0) {
            throw new IllegalArgumentException("casOut must hold one long: casOut=long[0]");
        }
        return switch (mode) {
            case APPEND, PREPEND -> concat(key, value, mode == StoreMode.APPEND, expectedCas, casOut);
            default -> write(mode, key, value, flags, exptime, expectedCas, invalidate && mode == StoreMode.CAS, 0,
                casOut);
        };
    }

    /**
     * memcached's vivify-on-miss ({@code mg N}): when the key holds no live item, stores an empty
     * one (flags 0) whose win token is already handed out, to the caller.
     *
     * @return STORED (created: the caller won and should fill the key), NOT_STORED (a live item is
     * there: read it, {@link StoreReader#tokenSent()} says whether someone else won), NO_MEMORY or BUSY
     */
    public StoreResult vivify(final byte[] key, final long exptime) {
        return write(StoreMode.ADD, key, EMPTY, 0, exptime, ANY_CAS, false, ItemLayout.META_TOKEN, null);
    }

    private StoreResult write(final StoreMode mode, final byte[] key, final byte[] value, final int flags,
                              final long exptime, final long expectedCas, final boolean invalidate,
                              final int meta, final long[] casOut) {
        checkKey(key);
        checkValue(value);
        counters.add(StoreCounter.CMD_SET, 1);
        if (value.length > maxItem) {
            return StoreResult.TOO_LARGE;
        }
        final long now = clock.getAsLong();
        final int hash = Index.hash(key, key.length);
        final int y = build(key, hash, value, 0, value.length, null, 0, 0, flags, expiresAt(exptime, now), now, meta);
        if (y == 0) {
            return StoreResult.NO_MEMORY;
        }
        return publishBuilt(mode, key, hash, y, now, expectedCas, invalidate, casOut);
    }

    /**
     * The second half of a storage command: {@code y} is a RESERVED record of this process, built
     * with the key's hash, key, value and fields; checks the mode's condition under the stripe lock
     * and publishes it, or gives it up.
     */
    private StoreResult publishBuilt(final StoreMode mode, final byte[] key, final int hash, final int y,
                                     final long now, final long expectedCas, final boolean invalidate,
                                     final long[] casOut) {
        CrashPoints.at(StorePoint.SET_BUILT);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            ring.abandon(y);
            return StoreResult.BUSY;
        }
        try {
            final Cursor c = cursors.get();
            final boolean found = index.findLocked(key, key.length, hash, c);
            final boolean live = found && !stale(c, now);
            // ms I: a CAS older than the item's stores the value as stale instead of failing.
            final boolean staleWrite = mode == StoreMode.CAS && live && c.cas != expectedCas && invalidate
                && Long.compareUnsigned(expectedCas, c.cas) < 0;
            final StoreResult refused = switch (mode) {
                case ADD -> live ? StoreResult.NOT_STORED : null;
                case REPLACE -> live ? null : StoreResult.NOT_STORED;
                case CAS -> !live ? StoreResult.NOT_FOUND
                    : c.cas != expectedCas && !staleWrite ? StoreResult.EXISTS : null;
                default -> null;
            };
            if (mode == StoreMode.CAS) {
                counters.add(refused == null ? StoreCounter.CAS_HITS
                    : refused == StoreResult.EXISTS ? StoreCounter.CAS_BADVAL : StoreCounter.CAS_MISSES, 1);
            }
            if (refused != null) {
                ring.abandon(y);
                return refused;
            }
            if (staleWrite) {
                // y is still RESERVED, this thread's alone: its header may change until published.
                view.putInt(y + ItemLayout.EXPIRES, (int) c.expires);
                view.putInt(y + ItemLayout.META, ItemLayout.META_STALE | (c.meta & ItemLayout.META_TOKEN) | accessField(now));
            }
            final long cas = nextCas();
            if (!index.publishLocked(c, y, cas, stripe, StorePoint.SET_LINKED, StorePoint.SET_PUBLISHED)) {
                return StoreResult.NO_MEMORY;
            }
            if (found && !live) {
                counters.add(StoreCounter.RECLAIMED, 1);
            }
            counters.add(StoreCounter.TOTAL_ITEMS, 1);
            if (casOut != null) {
                casOut[0] = cas;
            }
            return StoreResult.STORED;
        } catch (final RuntimeException e) {
            // A chain that does not parse under the lock: y goes to the tail as a dead record,
            // not left RESERVED by a live process, which the tail would wait on while it lives.
            ring.abandon(y);
            throw e;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * Reserves and fills a record: key, then {@code a[aOff..aOff+aLen)} followed by
     * {@code b[0..bLen)} (b may be null) as the value; {@code meta} holds the META word's flag bits.
     *
     * @return the RESERVED record, or 0 when no room could be made
     */
    private int build(final byte[] key, final int hash, final byte[] a, final int aOff, final int aLen,
                      final byte[] b, final int bOff, final int bLen, final int flags, final long expires,
                      final long now, final int meta) {
        final int y = buildHeader(key, hash, aLen + bLen, flags, expires, now, meta);
        if (y != 0) {
            view.putBytes(y + ItemLayout.KEY + key.length, a, aOff, aLen);
            if (bLen > 0) {
                view.putBytes(y + ItemLayout.KEY + key.length + aLen, b, bOff, bLen);
            }
        }
        return y;
    }

    /** As {@link #build}, leaving the value's {@code valueLen} bytes to the caller. */
    private int buildHeader(final byte[] key, final int hash, final int valueLen, final int flags, final long expires,
                            final long now, final int meta) {
        final int y = ring.reserve(ItemLayout.recordSize(key.length, valueLen));
        if (y == 0) {
            return 0;
        }
        advanceClock(now);
        view.putInt(y + ItemLayout.HASH, hash);
        view.putInt(y + ItemLayout.EXPIRES, (int) expires);
        view.putInt(y + ItemLayout.STORED, (int) (now / 1000));
        view.putInt(y + ItemLayout.FLAGS, flags);
        view.putInt(y + ItemLayout.KEY_LEN, key.length);
        view.putInt(y + ItemLayout.VALUE_LEN, valueLen);
        view.putInt(y + ItemLayout.META, meta | accessField(now));
        view.putBytes(y + ItemLayout.KEY, key, 0, key.length);
        return y;
    }

    // ------------------------------------------------------------------ values written in place

    /**
     * Reserves an item's record so that the caller writes its value in place (a server reading a
     * large value from a socket straight into shared memory, with no copy through the heap):
     * {@code into.value()} is the value's memory, {@code valueLength} bytes of this store's
     * mapping, then {@link #commit} stores it as {@link #store} would, or {@link #abandon} gives it up.
     *
     * <p>The record is this process's own until then (no reader sees it; a process killed
     * meanwhile leaves it to the ring's tail, as a set killed halfway does), and eviction waits
     * for it: every writer that needs its space waits, up to the store's lock timeout, then gets
     * NO_MEMORY. So hold a reservation only while the value's bytes are at hand: never across a
     * wait for a slow peer. {@code key} must not change until then.
     *
     * @return whether the record was reserved (false: no room could be made, NO_MEMORY)
     * @throws IllegalArgumentException for an out-of-range key, a negative length or one above
     *                                  {@link #maxItemSize()} (a set of it answers TOO_LARGE), or a
     *                                  reservation still held
     */
    public boolean reserve(final byte[] key, final int valueLength, final int flags, final long exptime,
                           final StoreReservation into) {
        checkKey(key);
        if (valueLength < 0 || valueLength > maxItem) {
            throw new IllegalArgumentException("value length out of range: valueLength=" + valueLength
                + ", maxItemSize=" + maxItem);
        }
        if (into.ptr != 0) {
            throw new IllegalArgumentException("reservation still held: commit or abandon it first");
        }
        counters.add(StoreCounter.CMD_SET, 1);
        final long now = clock.getAsLong();
        final int hash = Index.hash(key, key.length);
        final int y = buildHeader(key, hash, valueLength, flags, expiresAt(exptime, now), now, 0);
        if (y == 0) {
            return false;
        }
        into.hold(this, key, hash, y, now, ArenaInternals.segment(arena).asSlice(
            Integer.toUnsignedLong(y) + ItemLayout.KEY + key.length, valueLength));
        return true;
    }

    /**
     * Stores a reserved item whose value the caller has written: {@link StoreMode#SET},
     * {@link StoreMode#ADD}, {@link StoreMode#REPLACE} or {@link StoreMode#CAS}, with the
     * arguments and results of {@link #store}. The reservation is spent either way.
     *
     * @throws IllegalArgumentException for APPEND or PREPEND, or a reservation not held by this store
     */
    public StoreResult commit(final StoreReservation r, final StoreMode mode, final long expectedCas,
                              final boolean invalidate, final long[] casOut) {
        if (mode == null || mode == StoreMode.APPEND || mode == StoreMode.PREPEND) {
            throw new IllegalArgumentException("commit stores SET, ADD, REPLACE or CAS: mode=" + mode);
        }
        final byte[] key = r.key;
        final int hash = r.hash;
        final long now = r.now;
        final int y = r.take(this);
        return publishBuilt(mode, key, hash, y, now, expectedCas, invalidate && mode == StoreMode.CAS, casOut);
    }

    /** Gives a reservation up: nothing is stored, the ring's tail passes its record. */
    public void abandon(final StoreReservation r) {
        ring.abandon(r.take(this));
    }

    /** Appends {@code data} to the key's value: NOT_STORED if the key holds no live item. */
    public StoreResult append(final byte[] key, final byte[] data) {
        return concat(key, data, true, ANY_CAS, null);
    }

    /** Prepends {@code data} to the key's value: NOT_STORED if the key holds no live item. */
    public StoreResult prepend(final byte[] key, final byte[] data) {
        return concat(key, data, false, ANY_CAS, null);
    }

    private StoreResult concat(final byte[] key, final byte[] data, final boolean append, final long expectedCas,
                               final long[] casOut) {
        checkKey(key);
        checkValue(data);
        counters.add(StoreCounter.CMD_SET, 1);
        final int hash = Index.hash(key, key.length);
        final Cursor c = cursors.get();
        while (true) {
            final byte[] old = snapshot(key, hash, c);
            if (old == null) {
                return StoreResult.NOT_STORED;
            }
            if (expectedCas != ANY_CAS && c.cas != expectedCas) {
                return StoreResult.EXISTS;
            }
            if ((long) c.valueLen + data.length > maxItem) {
                return StoreResult.TOO_LARGE;
            }
            final long now = clock.getAsLong();
            final int y = append
                ? build(key, hash, old, 0, c.valueLen, data, 0, data.length, c.flags, c.expires, now, 0)
                : build(key, hash, data, 0, data.length, old, 0, c.valueLen, c.flags, c.expires, now, 0);
            if (y == 0) {
                return StoreResult.NO_MEMORY;
            }
            CrashPoints.at(StorePoint.SET_BUILT);
            final StoreResult r = swapIfSame(key, hash, c, y, true, StorePoint.SET_LINKED, StorePoint.SET_PUBLISHED);
            if (r == StoreResult.STORED) {
                // A new item linked, as memcached counts it.
                counters.add(StoreCounter.TOTAL_ITEMS, 1);
                if (casOut != null) {
                    casOut[0] = c.newCas;
                }
            }
            if (r != null) {
                return r == StoreResult.NOT_FOUND ? StoreResult.NOT_STORED : r;
            }
        }
    }

    /**
     * Reads the key's live item without a lock into this thread's scratch buffer.
     *
     * @return the buffer (value in its first {@code c.valueLen} bytes), or null on a miss
     */
    private byte[] snapshot(final byte[] key, final int hash, final Cursor c) {
        while (true) {
            final byte[] buf = scratch.get()[0];
            if (!readLive(key, hash, c, buf, 0)) {
                return null;
            }
            if (c.valueLen <= buf.length) {
                return buf;
            }
            scratch.get()[0] = new byte[Math.max(c.valueLen, buf.length * 2)];
        }
    }

    /**
     * Publishes {@code y} in place of the item the cursor read, if that item is still the key's
     * (its CAS value then goes to {@code c.newCas}). With {@code keepExpiry}, y gets the item's
     * expiry as it stands under the lock (in {@code c.expires} then): the one field of a
     * published item that changes in place, so a touch made since the lock-free read is kept.
     *
     * @return STORED; NOT_FOUND if the key has no live item any more; BUSY; or null if the item
     * changed (the caller reads again and retries); y is abandoned unless STORED
     */
    private StoreResult swapIfSame(final byte[] key, final int hash, final Cursor c, final int y,
                                   final boolean keepExpiry, final StorePoint linked, final StorePoint published) {
        final int readPtr = c.ptr;
        final long readPos = c.pos;
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            ring.abandon(y);
            return StoreResult.BUSY;
        }
        try {
            final boolean found = index.findLocked(key, key.length, hash, c);
            if (!found || stale(c, clock.getAsLong())) {
                ring.abandon(y);
                return StoreResult.NOT_FOUND;
            }
            if (c.ptr != readPtr || c.pos != readPos) {
                ring.abandon(y);
                return null;
            }
            if (keepExpiry) {
                // Same record, but touch may have moved its expiry since it was read; y is still
                // RESERVED and this thread's, so its header may change until published.
                view.putInt(y + ItemLayout.EXPIRES, (int) c.expires);
            }
            final long cas = nextCas();
            if (!index.publishLocked(c, y, cas, stripe, linked, published)) {
                return StoreResult.NO_MEMORY;
            }
            c.newCas = cas;
            return StoreResult.STORED;
        } catch (final RuntimeException e) {
            ring.abandon(y); // as in publishBuilt
            throw e;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * Adds {@code delta} (unsigned) to the key's decimal value, wrapping at 2^64.
     *
     * @param result receives the new value (unsigned) in {@code result[0]} when STORED
     * @return STORED, NOT_FOUND, NON_NUMERIC, NO_MEMORY or BUSY
     */
    public StoreResult incr(final byte[] key, final long delta, final long[] result) {
        return arith(key, delta, true, ANY_CAS, KEEP_EXPIRY, result);
    }

    /**
     * Subtracts {@code delta} (unsigned) from the key's decimal value, stopping at 0.
     *
     * @param result receives the new value (unsigned) in {@code result[0]} when STORED
     * @return STORED, NOT_FOUND, NON_NUMERIC, NO_MEMORY or BUSY
     */
    public StoreResult decr(final byte[] key, final long delta, final long[] result) {
        return arith(key, delta, false, ANY_CAS, KEEP_EXPIRY, result);
    }

    /**
     * {@link #incr(byte[], long, long[])} as memcached's meta {@code ma} does it, in one step: only if
     * the item's CAS value is {@code expectedCas} (unless {@link #ANY_CAS}: EXISTS otherwise), with
     * the expiry set to {@code exptime} (unless {@link #KEEP_EXPIRY}).
     *
     * @param result {@code result[0]} receives the new value; when it holds three longs, also the
     *               new item's CAS value ({@code result[1]}) and expiry ({@code result[2]}, absolute
     *               Unix seconds, 0 never)
     * @return STORED, EXISTS, NOT_FOUND, NON_NUMERIC, NO_MEMORY or BUSY
     */
    public StoreResult incr(final byte[] key, final long delta, final long expectedCas, final long exptime,
                            final long[] result) {
        return arith(key, delta, true, expectedCas, exptime, result);
    }

    /** {@link #decr(byte[], long, long[])} with {@link #incr(byte[], long, long, long, long[])}'s additions. */
    public StoreResult decr(final byte[] key, final long delta, final long expectedCas, final long exptime,
                            final long[] result) {
        return arith(key, delta, false, expectedCas, exptime, result);
    }

    private StoreResult arith(final byte[] key, final long delta, final boolean incr, final long expectedCas,
                              final long exptime, final long[] result) {
        checkKey(key);
        if (result == null || result.length == 0) {
            throw new IllegalArgumentException("result array must hold one long: result="
                + (result == null ? "null" : "long[0]"));
        }
        final int hash = Index.hash(key, key.length);
        final Cursor c = cursors.get();
        final byte[] digits = c.digits;
        while (true) {
            final byte[] old = snapshot(key, hash, c);
            if (old == null) {
                counters.add(incr ? StoreCounter.INCR_MISSES : StoreCounter.DECR_MISSES, 1);
                return StoreResult.NOT_FOUND;
            }
            if (expectedCas != ANY_CAS && c.cas != expectedCas) {
                return StoreResult.EXISTS;
            }
            if (!Numbers.isUnsigned(old, c.valueLen)) {
                return StoreResult.NON_NUMERIC;
            }
            final long value = Numbers.parseUnsigned(old, c.valueLen);
            final long next = incr ? value + delta
                : Long.compareUnsigned(value, delta) <= 0 ? 0 : value - delta;
            final int len = Numbers.format(next, digits);
            final long now = clock.getAsLong();
            final long expires = exptime == KEEP_EXPIRY ? c.expires : expiresAt(exptime, now);
            final int y = build(key, hash, digits, digits.length - len, len, null, 0, 0, c.flags, expires, now, 0);
            if (y == 0) {
                return StoreResult.NO_MEMORY;
            }
            CrashPoints.at(StorePoint.INCR_BUILT);
            final StoreResult r = swapIfSame(key, hash, c, y, exptime == KEEP_EXPIRY, StorePoint.SET_LINKED,
                StorePoint.INCR_PUBLISHED);
            if (r == StoreResult.NOT_FOUND) {
                counters.add(incr ? StoreCounter.INCR_MISSES : StoreCounter.DECR_MISSES, 1);
                return r;
            }
            if (r != null) {
                if (r == StoreResult.STORED) {
                    counters.add(incr ? StoreCounter.INCR_HITS : StoreCounter.DECR_HITS, 1);
                    result[0] = next;
                    if (result.length >= 3) {
                        result[1] = c.newCas;
                        result[2] = exptime == KEEP_EXPIRY ? c.expires : expires;
                    }
                }
                return r;
            }
        }
    }

    /** Removes the key's item: DELETED, or NOT_FOUND if it holds no live item. */
    public StoreResult delete(final byte[] key) {
        return delete(key, ANY_CAS);
    }

    /**
     * Removes the key's item if its CAS value is {@code expectedCas} (memcached's {@code md C}),
     * in one step.
     *
     * @return DELETED; NOT_FOUND (no live item); EXISTS (another CAS value, unless
     * {@code expectedCas} is {@link #ANY_CAS}); BUSY
     */
    public StoreResult delete(final byte[] key, final long expectedCas) {
        checkKey(key);
        final int hash = Index.hash(key, key.length);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return StoreResult.BUSY;
        }
        try {
            final Cursor c = cursors.get();
            if (!index.findLocked(key, key.length, hash, c)) {
                counters.add(StoreCounter.DELETE_MISSES, 1);
                return StoreResult.NOT_FOUND;
            }
            final boolean live = !stale(c, clock.getAsLong());
            if (live && expectedCas != ANY_CAS && c.cas != expectedCas) {
                counters.add(StoreCounter.DELETE_MISSES, 1);
                return StoreResult.EXISTS;
            }
            index.unlinkLocked(c, stripe, StorePoint.DELETE_UNLINKED);
            counters.add(live ? StoreCounter.DELETE_HITS : StoreCounter.DELETE_MISSES, 1);
            if (!live) {
                counters.add(StoreCounter.RECLAIMED, 1);
            }
            return live ? StoreResult.DELETED : StoreResult.NOT_FOUND;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * Unlinks the key's item if it has expired or was flushed, as a crawler does (memcached's
     * {@code lru_crawler crawl}): the same one-store unlink as {@link #delete(byte[])}, counted
     * as {@code reclaimed}. A live item, or none, is left alone.
     *
     * @return whether an item was reclaimed; false also when the key's lock stayed busy (BUSY)
     */
    public boolean reclaimIfStale(final byte[] key) {
        checkKey(key);
        final int hash = Index.hash(key, key.length);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return false;
        }
        try {
            final Cursor c = cursors.get();
            if (!index.findLocked(key, key.length, hash, c) || !stale(c, clock.getAsLong())) {
                return false;
            }
            index.unlinkLocked(c, stripe, StorePoint.DELETE_UNLINKED);
            counters.add(StoreCounter.RECLAIMED, 1);
            return true;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * memcached's invalidate ({@code md I}): the item stays, marked stale, with a new CAS value,
     * its win token taken back (the next reader of the stale item wins) and its expiry set to
     * {@code exptime} unless that is {@link #KEEP_EXPIRY}. Checks {@code expectedCas} as
     * {@link #delete(byte[], long)} does.
     *
     * @return STORED; NOT_FOUND; EXISTS; TOO_LARGE never; NO_MEMORY; BUSY
     */
    public StoreResult invalidate(final byte[] key, final long expectedCas, final long exptime) {
        checkKey(key);
        final int hash = Index.hash(key, key.length);
        final Cursor c = cursors.get();
        while (true) {
            final byte[] old = snapshot(key, hash, c);
            if (old == null) {
                return StoreResult.NOT_FOUND;
            }
            if (expectedCas != ANY_CAS && c.cas != expectedCas) {
                return StoreResult.EXISTS;
            }
            final long now = clock.getAsLong();
            final long expires = exptime == KEEP_EXPIRY ? c.expires : expiresAt(exptime, now);
            final int y = build(key, hash, old, 0, c.valueLen, null, 0, 0, c.flags, expires, now,
                ItemLayout.META_STALE);
            if (y == 0) {
                return StoreResult.NO_MEMORY;
            }
            CrashPoints.at(StorePoint.SET_BUILT);
            final StoreResult r = swapIfSame(key, hash, c, y, exptime == KEEP_EXPIRY, StorePoint.SET_LINKED,
                StorePoint.SET_PUBLISHED);
            if (r != null) {
                return r;
            }
        }
    }

    /**
     * Sets the bits {@code mask} of the META word of the key's item to {@code bits}, under the
     * key's stripe lock (so the item cannot be reclaimed or moved meanwhile), if the item is still
     * the one {@code read} describes (same CAS value).
     *
     * @param wait whether to wait for the lock (the lock timeout) or give up at once if it is held
     * @return the META word before, as an unsigned int; -1 if the item changed or is gone, or the lock was not had
     */
    private long updateMeta(final byte[] key, final int hash, final Cursor read, final int mask, final int bits,
                            final boolean wait) {
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, wait ? timeoutNanos : 0)) {
            return -1;
        }
        try {
            final Cursor c = lockedCursors.get();
            if (!index.findLocked(key, key.length, hash, c) || c.cas != read.cas) {
                return -1;
            }
            final int old = view.getInt(c.ptr + ItemLayout.META);
            view.putIntRelease(c.ptr + ItemLayout.META, (old & ~mask) | bits);
            return Integer.toUnsignedLong(old);
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /** The reader's win: @return whether this call handed out the item's win token */
    boolean claimToken(final byte[] key, final Cursor read) {
        final long old = updateMeta(key, Index.hash(key, key.length), read, ItemLayout.META_TOKEN,
            ItemLayout.META_TOKEN, true);
        return old >= 0 && (old & ItemLayout.META_TOKEN) == 0;
    }

    /** @return seconds from the read item's last access (as read) to now */
    long secondsSinceAccess(final Cursor c) {
        return Math.max(0, clock.getAsLong() / 1000 - createdSeconds - (c.meta & ItemLayout.META_ACCESS_MASK));
    }

    /**
     * Sets the key's expiry.
     *
     * @return TOUCHED; NOT_FOUND if the key holds no live item; BUSY if a live process held the
     * key's stripe lock past the lock timeout (nothing changed: retry, or give up the touch)
     */
    public StoreResult touch(final byte[] key, final long exptime) {
        return touch(key, exptime, null, null, false);
    }

    /**
     * Get-and-touch (memcached's {@code gat}): sets the key's expiry and, in the same step under
     * the key's lock, copies its item (with the new expiry) into {@code item[0]}.
     *
     * <p>BUSY is {@link #touch}'s BUSY: a live process (a stopped one, say) held the key's stripe
     * lock past the lock timeout; nothing changed and {@code item[0]} is left alone. A caller
     * retries, or answers from {@link #gets}, which takes no lock, without moving the expiry.
     *
     * @param item receives the item when TOUCHED
     * @return TOUCHED, NOT_FOUND (no live item) or BUSY
     * @throws IllegalArgumentException if {@code item} is null or empty, or the key is out of range
     */
    public StoreResult getAndTouch(final byte[] key, final long exptime, final StoreItem[] item) {
        if (item == null || item.length == 0) {
            throw new IllegalArgumentException("item array must hold one item: item="
                + (item == null ? "null" : "StoreItem[0]"));
        }
        return touch(key, exptime, item, null, true);
    }

    /**
     * Get-and-touch, for callers that treat a busy lock as an error: the item, or null if the key
     * holds no live item. {@link #getAndTouch(byte[], long, StoreItem[])} says BUSY as a value.
     *
     * @throws IllegalStateException where the three-argument form answers BUSY
     */
    public StoreItem getAndTouch(final byte[] key, final long exptime) {
        final StoreItem[] item = new StoreItem[1];
        final StoreResult r = touch(key, exptime, item, null, true);
        if (r == StoreResult.BUSY) {
            throw new IllegalStateException("stripe lock busy: a live process holds it past the timeout: "
                + "timeoutNanos=" + timeoutNanos);
        }
        return item[0];
    }

    /** The reader's get-and-touch: the item found goes to {@code into}, validated as a lock-free read is. */
    StoreResult readerTouch(final byte[] key, final long exptime, final Cursor into, final boolean bump) {
        return touch(key, exptime, null, into, bump);
    }

    /** touch, gat ({@code item} not null) and the reader's get-and-touch ({@code into} not null): one locked path. */
    private StoreResult touch(final byte[] key, final long exptime, final StoreItem[] item, final Cursor into,
                              final boolean bump) {
        checkKey(key);
        counters.add(StoreCounter.CMD_TOUCH, 1);
        final int hash = Index.hash(key, key.length);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return StoreResult.BUSY;
        }
        try {
            final Cursor c = into != null ? into : cursors.get();
            final long now = clock.getAsLong();
            if (!index.findLocked(key, key.length, hash, c) || stale(c, now)) {
                counters.add(StoreCounter.TOUCH_MISSES, 1);
                if (item != null) {
                    counters.add(StoreCounter.GET_MISSES, 1);
                }
                c.ptr = 0;
                return StoreResult.NOT_FOUND;
            }
            final long expires = expiresAt(exptime, now);
            // One word: readers see the old expiry or the new one.
            view.putIntRelease(c.ptr + ItemLayout.EXPIRES, (int) expires);
            c.expires = expires;
            counters.add(StoreCounter.TOUCH_HITS, 1);
            if (bump) {
                c.fetchedBefore = ring.touchedByReader(c.ptr);
            } else {
                c.fetchedBefore = ring.fetched(c.ptr);
            }
            if (item != null) {
                counters.add(StoreCounter.GET_HITS, 1);
                // Under the stripe lock the item cannot be reclaimed: its bytes are stable.
                final byte[] value = new byte[c.valueLen];
                view.getBytes(c.valuePtr(), value, 0, c.valueLen);
                item[0] = new StoreItem(value, c.flags, c.cas, expires);
            }
            if (into != null) {
                // Read after the lock is let go: valid while the tail has not passed the item.
                c.minPos = c.pos;
            }
            return StoreResult.TOUCHED;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * Invalidates every item, now ({@code delaySeconds <= 0}) or once {@code delaySeconds} have
     * passed (items stored before then). As in memcached, a later flush_all replaces a pending one.
     */
    public void flushAll(final long delaySeconds) {
        counters.add(StoreCounter.CMD_FLUSH, 1);
        if (delaySeconds <= 0) {
            final long cas = view.getLongAcquire(header + StoreLayout.CAS_COUNTER);
            // Items with a CAS at or below this are invalid; later writes get higher ones.
            long seen;
            while (Long.compareUnsigned(seen = view.getLongAcquire(header + StoreLayout.FLUSH_CAS), cas) < 0
                && !view.compareAndSetLong(header + StoreLayout.FLUSH_CAS, seen, cas)) {
                Thread.onSpinWait();
            }
            view.putLongRelease(header + StoreLayout.FLUSH_MILLIS, 0);
        } else {
            view.putLongRelease(header + StoreLayout.FLUSH_MILLIS, clock.getAsLong() + delaySeconds * 1000);
        }
    }

    // ------------------------------------------------------------------ stats, check, close

    /**
     * Lists up to {@code max} keys, bucket by bucket, without a lock (for tools such as dump).
     * Each bucket's keys are a consistent snapshot of that bucket; expired and flushed items that
     * were not reclaimed yet are listed too.
     *
     * @throws IllegalArgumentException if {@code max} is negative
     */
    public List<byte[]> keys(final int max) {
        return StoreFigures.keys(ring, index, max);
    }

    /**
     * @return how many buckets the index has: {@link #bucketKeys} walks the keys one bucket at a
     * time, for listings and crawls that go through a large store without holding every key
     */
    public int keyBuckets() {
        return index.bucketCount();
    }

    /**
     * Adds to {@code out} the keys chained in bucket {@code b} (0 to {@link #keyBuckets()} - 1),
     * read without a lock, expired ones included: each key as it was linked at one instant of the
     * walk. A key stored meanwhile may be missing, or listed in its new bucket too.
     */
    public void bucketKeys(final int b, final List<byte[]> out) {
        if (b < 0 || b >= index.bucketCount()) {
            throw new IllegalArgumentException("bucket out of range: b=" + b + ", buckets=" + index.bucketCount());
        }
        StoreFigures.bucketKeys(ring, index, b, out);
    }

    /**
     * @return memcached-named figures, summed over every process, read without locks: {@code bytes}
     * counts whole records (header, key, value, padding to 16) of the items in the index;
     * {@code curr_items} includes expired items not reclaimed yet; {@code ring_head}/{@code ring_tail}
     * are the ring's logical positions and {@code ring_used} the bytes between them (items, and
     * records not reclaimed yet)
     */
    public Map<String, Long> stats() {
        flushGets(cursors.get());
        return StoreFigures.stats(view, header, ring, index, counters, clock.getAsLong());
    }

    /**
     * Sets the call counters back to zero, in every process's share (memcached's {@code stats
     * reset}): {@code cmd_get}, hits and misses, {@code cmd_set}, {@code total_items},
     * {@code evictions}, {@code reclaimed} and the rest of {@link #stats()}'s counts. What describes
     * the store now ({@code curr_items}, {@code bytes}, {@code limit_maxbytes}) is not a count and
     * stays. Counts other threads add meanwhile are kept; gets another thread made but has not added
     * yet (each thread adds its gets in batches) count after the reset.
     */
    public void resetStats() {
        final Cursor mine = cursors.get();
        mine.pendingHits = 0;
        mine.pendingMisses = 0;
        counters.reset();
    }

    /**
     * Verifies the store, read-only: the ring parses from tail to head, every chain holds LINKED
     * items of its bucket inside the live part of the ring, no item is in two chains, and each
     * stripe's counts match its chains. Exact only on a quiet store.
     *
     * @return the violations, one line each
     */
    public List<String> check() {
        return new StoreChecker(view, ring, index).check();
    }

    /**
     * Takes over every store lock a dead process left held (stripe locks: the stripe's counts are
     * recounted), as the next writer to need each one would. Records a dead process left in the
     * ring need nothing: the tail passes them.
     *
     * @return the number of locks taken over
     * @throws IllegalStateException if a live process holds a lock past the store's lock timeout
     */
    public int repair() {
        final int stripes = index.repairStripes(timeoutNanos);
        if (stripes < 0) {
            throw new IllegalStateException("store lock held by a live process past the timeout: stripe="
                + (-1 - stripes) + ", timeoutNanos=" + timeoutNanos);
        }
        return stripes + (ring.repairLock() ? 1 : 0);
    }

    /**
     * The tools' repair ({@code arena check --repair}): takes over every lock a dead process held, as
     * {@link #repair()} does; mends the ring and the chains ({@link StoreRepair}: stretches of the
     * ring that do not parse become padding, chains are cut at a link to what is not a whole item);
     * then recounts every stripe's item and byte counts from its chains under its lock.
     *
     * @param done receives what the ring and chain repair did, one line each
     * @return {locks taken over, stripes whose counts were wrong}
     * @throws IllegalStateException if a live process holds a lock past the store's lock timeout
     */
    int[] repairAll(final List<String> done) {
        final int[] locks = new int[1];
        done.addAll(new StoreRepair(ring, index).run(timeoutNanos, locks));
        final int recounted = index.recountStripes(timeoutNanos);
        if (recounted < 0) {
            throw new IllegalStateException("store lock held by a live process past the timeout: stripe="
                + (-1 - recounted) + ", timeoutNanos=" + timeoutNanos);
        }
        return new int[] {locks[0], recounted};
    }

    /** Closes the store; if it opened its own arena file, closes that too. */
    @Override
    public void close() throws IOException {
        flushGets(cursors.get());
        if (ownsArena) {
            arena.close();
        }
    }
}
