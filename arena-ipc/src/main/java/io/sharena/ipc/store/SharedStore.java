package io.sharena.ipc.store;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFaultException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.io.IOException;
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
 * Unix time. A relative time counts from the nearest whole second ({@link #relativeBase}), so an
 * item set for N seconds lives N seconds give or take half of one. Thread safety: every method may
 * be called from any thread.
 */
public final class SharedStore implements AutoCloseable {
    /** The named root under which an arena's default store is found. */
    public static final String DEFAULT_ROOT = "sharena.store";
    public static final int MAX_KEY = 250;
    public static final long RELATIVE_EXPIRY_LIMIT = 2_592_000L;
    /**
     * The longest delay {@link #flushAll} takes: 2^32 seconds (a memcached delay is 32 bits, an
     * absolute time included). A longer one would overflow the flush time's milliseconds.
     */
    public static final long MAX_FLUSH_DELAY_SECONDS = 1L << 32;
    /** Passed as an expected CAS value: no check (no item ever has this CAS value). */
    public static final long ANY_CAS = -1L;
    /** Passed as an exptime: leave the item's expiry as it is. */
    public static final long KEEP_EXPIRY = Long.MIN_VALUE;

    /**
     * The Unix second a relative exptime counts from at {@code nowMillis}: the nearest one. An item
     * expires once the clock reaches its second, so counting from the second just begun would give
     * an item set for 1 s anything from a millisecond to a second (a client that sets an item for
     * 1 s and at once touches it would miss it whenever a second began in between); from the
     * nearest, its life is within half a second of what was asked. Front ends that show a TTL
     * (seconds left) count it from here too, so an item set for N seconds shows N.
     */
    public static long relativeBase(final long nowMillis) {
        return (nowMillis + 500) / 1000;
    }

    /**
     * memcached's exptime as the absolute Unix second an item expires in: 0 for never, 1 (the
     * past) for a negative exptime, {@code baseSecond + exptime} for a relative one (up to
     * {@link #RELATIVE_EXPIRY_LIMIT}), the exptime itself for an absolute one, held to the year
     * 2106 because items keep expiry times as unsigned 32-bit seconds.
     *
     * @param baseSecond the second relative exptimes count from, {@link #relativeBase} of now
     */
    public static long expiresAt(final long exptime, final long baseSecond) {
        if (exptime == 0) {
            return 0;
        }
        if (exptime < 0) {
            return 1;
        }
        if (exptime <= RELATIVE_EXPIRY_LIMIT) {
            return baseSecond + exptime;
        }
        return Math.min(exptime, 0xFFFF_FFFFL);
    }

    final SharedArena arena;
    /** Set by the first {@link #close}: a second does nothing. */
    private volatile boolean closed;
    private final boolean ownsArena;
    final int header;
    final ArenaView view;
    final Ring ring;
    final Index index;
    final Counters counters;
    final LongSupplier clock;
    final long timeoutNanos;
    final int maxItem;
    /** Each thread's cursor, shared by its reads and writes; it also batches the thread's get counts. */
    final ThreadLocal<Cursor> cursors = ThreadLocal.withInitial(Cursor::new);
    /** Each thread's buffer for values read before a copy (gets, and the values rewrites start from). */
    final ThreadLocal<byte[][]> scratch = ThreadLocal.withInitial(() -> new byte[][] {new byte[256]});
    private final boolean evictions;
    final StoreClock times;
    final StoreReads reads;
    private final StoreWriter writer;
    private final StoreRewriter rewriter;
    private final StoreEdits edits;
    /** Whether the kernel took this opener's advice of 2 MiB pages for the region ({@link StoreOptions#hugePages()}). */
    final boolean hugePages;

    private SharedStore(final SharedArena arena, final boolean ownsArena, final int header, final StoreOptions o) {
        this.evictions = o.evictions();
        this.arena = arena;
        this.ownsArena = ownsArena;
        this.header = header;
        this.view = arena.raw();
        this.clock = o.clock();
        this.timeoutNanos = o.lockTimeoutNanos();
        this.maxItem = view.getInt(header + StoreLayout.MAX_ITEM);
        this.counters = new Counters(view, header, ArenaInternals.slot(arena));
        this.ring = new Ring(arena, header, counters, timeoutNanos, o.evictions());
        this.index = new Index(arena, view.getInt(header + StoreLayout.BUCKETS_PTR),
            1 << view.getInt(header + StoreLayout.BUCKET_BITS), view.getInt(header + StoreLayout.STRIPES_PTR),
            view.getInt(header + StoreLayout.STRIPES), ring, maxItem);
        this.times = new StoreClock(view, header, clock);
        ring.attach(index, times::staleAt);
        this.reads = new StoreReads(this);
        this.writer = new StoreWriter(this);
        this.rewriter = new StoreRewriter(this, writer);
        this.edits = new StoreEdits(this);
        // Validated against the region's parts when the store was opened (StoreFormat.validate).
        this.hugePages = o.hugePages() && ArenaInternals.adviseHugePages(arena, header,
            (long) view.getInt(header + StoreLayout.REGION_PAGES) * Geometry.PAGE_SIZE);
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
        return StoreOpening.create(path, options, arenaOptions);
    }

    /**
     * Opens a store file created by {@link #create}.
     *
     * @throws io.sharena.core.ArenaFormatException if the file is not an arena, or holds no valid store
     */
    public static SharedStore open(final Path path, final StoreOptions options) throws IOException {
        return StoreOpening.open(path, options);
    }

    /**
     * Opens the store file, creating it if there is none. A file that is an arena without its store
     * (its creator was killed before the store was made, which the next user of its roots undoes)
     * gets the store made in place with {@code options}, when the arena has room for it. Several
     * processes calling this at once on a new path all end up with the one store.
     *
     * @throws io.sharena.core.ArenaFormatException if the file is not an arena, or its store is damaged,
     *     or it holds a store whose root a stray write took ({@code store.root}: a new store is not made
     *     beside it; {@code check --repair} names it again)
     * @throws IOException if the arena has no room for a store of {@code options}, or the file cannot be made
     */
    public static SharedStore openOrCreate(final Path path, final StoreOptions options) throws IOException {
        return StoreOpening.openOrCreate(path, options);
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
        return StoreOpening.of(arena, name, options);
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

    static void checkKey(final byte[] key) {
        if (key == null || key.length == 0 || key.length > MAX_KEY) {
            throw new IllegalArgumentException("key length out of range: length=" + (key == null ? "null" : key.length)
                + ", min=1, max=" + MAX_KEY);
        }
    }

    static void checkValue(final byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("value must not be null: value=null");
        }
    }

    /**
     * Moves the store's coarse clock to now. Every write and every 64th get of a thread does it;
     * a long-running reader that may go idle for minutes (a server's event loop) calls this when it
     * wakes, so that items' last-access times stay right to the minute.
     */
    public void tick() {
        times.advanceClock(clock.getAsLong());
    }

    /**
     * @return a number that changes whenever a {@link #flushAll} takes effect, asked for by any
     * process (an immediate one at once, a delayed one when its time comes): a crawler compares it
     * from one look to the next to reclaim the flushed items soon after, as memcached's does
     */
    public long flushMark() {
        return times.flushMark();
    }

    // ------------------------------------------------------------------ reads

    /** @return a copy of the key's value, or null on a miss */
    public byte[] get(final byte[] key) {
        return reads.get(key);
    }

    /**
     * Copies the key's value into {@code dst} from offset 0, allocating nothing.
     *
     * @return the value's length (bytes copied only if it is at most {@code dst.length}), or -1 on a miss
     */
    public int get(final byte[] key, final byte[] dst) {
        return reads.get(key, dst);
    }

    /** @return the key's value, flags and CAS value, or null on a miss */
    public StoreItem gets(final byte[] key) {
        return reads.gets(key);
    }

    /**
     * Starts the memory reads of these keys' look-ups together, so that gets of them made next find
     * their index words and items in cache. A get alone waits for one cache miss after another (the
     * bucket, then the item, then its value); for a batch of keys this puts the misses of up to 16
     * keys in flight at once. A hint: it changes nothing in the store and no result of any call,
     * and reads nothing it would trust. Call it just before the gets of those keys: what it
     * loads stays in cache only until other reads push it out. {@link #getMulti} does it itself.
     *
     * @throws IllegalArgumentException  as {@link #get(byte[])} for a key that is not a key
     * @throws IndexOutOfBoundsException if {@code from} and {@code to} are not a range of {@code keys}
     */
    public void prefetch(final byte[][] keys, final int from, final int to) {
        reads.prefetch(keys, from, to);
    }

    /** @return each key's item ({@link #gets}), null where it missed, in the order of the keys */
    public StoreItem[] getMulti(final byte[]... keys) {
        prefetch(keys, 0, keys.length);
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
        return store(mode, key, value, flags, exptime, expectedCas, invalidate, false, casOut);
    }

    /**
     * {@link #store(StoreMode, byte[], byte[], int, long, long, boolean, long[])}, marking the item
     * with {@code binaryKey}: that its key was given in base64 (memcached's meta {@code b}), which
     * {@link StoreReader#binaryKey()} then tells, so that a meta get shows the key as it was written.
     * As in memcached, APPEND and PREPEND make an unmarked item whatever they are given, and the
     * rewrites in place (incr and decr that fit, touch, invalidate) keep the item's mark.
     */
    public StoreResult store(final StoreMode mode, final byte[] key, final byte[] value, final int flags,
                             final long exptime, final long expectedCas, final boolean invalidate,
                             final boolean binaryKey, final long[] casOut) {
        if (mode == null) {
            throw new IllegalArgumentException("mode must not be null: mode=null");
        }
        if (casOut != null && casOut.length == 0) {
            throw new IllegalArgumentException("casOut must hold one long: casOut=long[0]");
        }
        return switch (mode) {
            case APPEND, PREPEND -> rewriter.concat(key, value, mode == StoreMode.APPEND, expectedCas, casOut);
            default -> writer.write(mode, key, value, flags, exptime, expectedCas,
                invalidate && mode == StoreMode.CAS, binaryKey ? ItemLayout.META_KEY_BINARY : 0, casOut);
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
        return vivify(key, exptime, null);
    }

    /**
     * {@link #vivify(byte[], long)}, with the created item's CAS value in {@code casOut[0]} when
     * STORED (a caller answering for an item created already expired has nothing to read it from).
     */
    public StoreResult vivify(final byte[] key, final long exptime, final long[] casOut) {
        if (casOut != null && casOut.length == 0) {
            throw new IllegalArgumentException("casOut must hold one long: casOut=long[0]");
        }
        return writer.write(StoreMode.ADD, key, EMPTY, 0, exptime, ANY_CAS, false, ItemLayout.META_TOKEN, casOut);
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
        return writer.reserve(key, valueLength, flags, exptime, into);
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
        return writer.publishBuilt(mode, key, hash, y, now, expectedCas, invalidate && mode == StoreMode.CAS, casOut);
    }

    /**
     * Asks that this attachment place no new item in the space of the item {@code mark} names
     * ({@link StoreReader#itemMark()}) until {@link #releaseInPlace}, though the item be replaced or
     * deleted meanwhile: for a reader that reads a large value in place over a long time, as a
     * server sends it while a slow client takes it (memcached keeps such an item whole until its
     * send ends). Calls nest (one release per keep). Other processes' writes are not held back: a
     * value of 4 KiB or more that one of them replaces may still be written over in its space,
     * and the reader's validation then fails, as it does when the ring's tail passes the item.
     */
    public void keepInPlace(final long mark) {
        ring.pin(mark);
    }

    /** Ends one {@link #keepInPlace} of {@code mark}. */
    public void releaseInPlace(final long mark) {
        ring.unpin(mark);
    }

    /** Gives a reservation up: nothing is stored, the ring's tail passes its record. */
    public void abandon(final StoreReservation r) {
        ring.abandon(r.take(this));
    }

    /**
     * Sets what the calling thread does when one of its writes finds a reserved record at the
     * ring's tail and has to wait for it. A thread that holds reservations of its own (a server's
     * worker reading several large values into place at once) must give them up then ({@link
     * #abandon}, after keeping what it read): nothing else will end them while it waits, and the
     * write would answer NO_MEMORY after the lock timeout. Run once per wait, under the ring's
     * lock: it may give reservations up, and must not write to this store.
     *
     * @param giveUp what to run, or null for nothing (the default)
     */
    public void onTailWait(final Runnable giveUp) {
        ring.tailWait.set(giveUp);
    }

    /** Appends {@code data} to the key's value: NOT_STORED if the key holds no live item. */
    public StoreResult append(final byte[] key, final byte[] data) {
        return rewriter.concat(key, data, true, ANY_CAS, null);
    }

    /** Prepends {@code data} to the key's value: NOT_STORED if the key holds no live item. */
    public StoreResult prepend(final byte[] key, final byte[] data) {
        return rewriter.concat(key, data, false, ANY_CAS, null);
    }

    /**
     * Adds {@code delta} (unsigned) to the key's decimal value, wrapping at 2^64.
     *
     * @param result receives the new value (unsigned) in {@code result[0]} when STORED
     * @return STORED, NOT_FOUND, NON_NUMERIC, NO_MEMORY or BUSY
     */
    public StoreResult incr(final byte[] key, final long delta, final long[] result) {
        return rewriter.arith(key, delta, true, ANY_CAS, KEEP_EXPIRY, NONE_HELD, result);
    }

    /**
     * Subtracts {@code delta} (unsigned) from the key's decimal value, stopping at 0.
     *
     * @param result receives the new value (unsigned) in {@code result[0]} when STORED
     * @return STORED, NOT_FOUND, NON_NUMERIC, NO_MEMORY or BUSY
     */
    public StoreResult decr(final byte[] key, final long delta, final long[] result) {
        return rewriter.arith(key, delta, false, ANY_CAS, KEEP_EXPIRY, NONE_HELD, result);
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
        return rewriter.arith(key, delta, true, expectedCas, exptime, NONE_HELD, result);
    }

    /** {@link #decr(byte[], long, long[])} with {@link #incr(byte[], long, long, long, long[])}'s additions. */
    public StoreResult decr(final byte[] key, final long delta, final long expectedCas, final long exptime,
                            final long[] result) {
        return rewriter.arith(key, delta, false, expectedCas, exptime, NONE_HELD, result);
    }

    /** {@link #count}'s {@code heldCas} when the caller holds no reply of the key's item. */
    public static final long NONE_HELD = 0L;

    /**
     * {@link #incr(byte[], long, long, long, long[])} ({@code incr} true) or
     * {@link #decr(byte[], long, long, long, long[])} for a caller that may still hold a reply of
     * the key's item, not yet sent: a server that answered a read and sends its replies later, as
     * memcached holds the item then. A number no longer than the value is written over it in place
     * (padded with spaces, the item keeping its marks, as memcached does when nothing else holds
     * the item) unless the item's CAS value is {@code heldCas}: then, as memcached does, it goes
     * into a new item of the number's own length, taking over none of the item's marks.
     *
     * @param heldCas the CAS value of the key's item the caller holds a reply of, or {@link #NONE_HELD}
     */
    public StoreResult count(final byte[] key, final long delta, final boolean incr, final long expectedCas,
                             final long exptime, final long heldCas, final long[] result) {
        return rewriter.arith(key, delta, incr, expectedCas, exptime, heldCas, result);
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
        return edits.delete(key, expectedCas, true);
    }

    /**
     * Removes the key's item as {@link #delete(byte[])} does, but counts it in neither
     * {@code delete_hits} nor {@code delete_misses}: what memcached does to a key whose set it
     * refuses (a value over the largest item), so that the old value is not served after the
     * refusal, with no delete the client sent.
     *
     * @return DELETED; NOT_FOUND (no live item; a stale one is reclaimed); BUSY
     */
    public StoreResult discard(final byte[] key) {
        return edits.delete(key, ANY_CAS, false);
    }

    /**
     * Unlinks the key's item if it has expired or was flushed, as a crawler does (memcached's
     * {@code lru_crawler crawl}): the same one-store unlink as {@link #delete(byte[])}, counted
     * as {@code reclaimed}. A live item, or none, is left alone.
     *
     * @return whether an item was reclaimed; false also when the key's lock stayed busy (BUSY)
     */
    public boolean reclaimIfStale(final byte[] key) {
        return edits.reclaimIfStale(key);
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
        return rewriter.invalidate(key, expectedCas, exptime);
    }

    /**
     * Sets the key's expiry.
     *
     * @return TOUCHED; NOT_FOUND if the key holds no live item; BUSY if a live process held the
     * key's stripe lock past the lock timeout (nothing changed: retry, or give up the touch)
     */
    public StoreResult touch(final byte[] key, final long exptime) {
        return edits.touch(key, exptime, null, null, false);
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
        return edits.touch(key, exptime, item, null, true);
    }

    /**
     * Get-and-touch, for callers that treat a busy lock as an error: the item, or null if the key
     * holds no live item. {@link #getAndTouch(byte[], long, StoreItem[])} says BUSY as a value.
     *
     * @throws IllegalStateException where the three-argument form answers BUSY
     */
    public StoreItem getAndTouch(final byte[] key, final long exptime) {
        final StoreItem[] item = new StoreItem[1];
        final StoreResult r = edits.touch(key, exptime, item, null, true);
        if (r == StoreResult.BUSY) {
            throw new ArenaBusyException("stripe lock busy: a live process holds it past the timeout: "
                + "timeoutNanos=" + timeoutNanos);
        }
        return item[0];
    }

    /** The reader's get-and-touch: the item found goes to {@code into}, validated as a lock-free read is. */
    StoreResult readerTouch(final byte[] key, final long exptime, final Cursor into, final boolean bump) {
        return edits.touch(key, exptime, null, into, bump);
    }

    /**
     * Invalidates every item, now ({@code delaySeconds <= 0}) or once {@code delaySeconds} have
     * passed (items stored before then). As in memcached, a later flush_all replaces a pending one.
     *
     * @throws IllegalArgumentException if {@code delaySeconds} is over {@link #MAX_FLUSH_DELAY_SECONDS}
     */
    public void flushAll(final long delaySeconds) {
        if (delaySeconds > MAX_FLUSH_DELAY_SECONDS) {
            throw new IllegalArgumentException("flush delay over " + MAX_FLUSH_DELAY_SECONDS + " seconds: " + delaySeconds);
        }
        counters.add(StoreCounter.CMD_FLUSH, 1);
        times.flushAll(delaySeconds);
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
     * @throws ArenaFaultException if the file was cut short under the mapping (the other calls
     *                             meet such a cut as the arena's views do: an {@link InternalError})
     */
    public Map<String, Long> stats() {
        try {
            reads.flushGets(cursors.get());
            return StoreFigures.stats(view, header, ring, index, counters, clock.getAsLong());
        } catch (final InternalError e) {
            throw ArenaFaultException.of(arena, "stats", e);
        }
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
     * stripe's counts match its chains; where a stripe counts more items than its chains hold,
     * each LINKED item of it that no chain reaches (lost by a garbled bucket word or link) is
     * named. Exact only on a quiet store.
     *
     * @return the violations, one line each
     * @throws ArenaFaultException if the file was cut short under the mapping
     */
    public List<String> check() {
        try {
            return new StoreChecker(view, ring, index).check();
        } catch (final InternalError e) {
            throw ArenaFaultException.of(arena, "check", e);
        }
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
        try {
            final int stripes = index.repairStripes(timeoutNanos);
            if (stripes < 0) {
                throw new ArenaBusyException("store lock held by a live process past the timeout: stripe="
                    + (-1 - stripes) + ", timeoutNanos=" + timeoutNanos);
            }
            return stripes + (ring.repairLock() ? 1 : 0);
        } catch (final InternalError e) {
            throw ArenaFaultException.of(arena, "repair", e);
        }
    }

    /**
     * The tools' repair ({@code arena check --repair}): takes over every lock a dead process held, as
     * {@link #repair()} does; mends the ring and the chains ({@link StoreRepair}: stretches of the
     * ring that do not parse become padding, chains are cut at a link to what is not a whole item,
     * whole items no chain reaches are linked again where their stripe still counts them); then
     * recounts every stripe's item and byte counts from its chains under its lock.
     *
     * @param done receives what the ring and chain repair did, one line each
     * @param lostFrom the first arena byte a cut of the file took (zeros since its size was restored),
     *                 or {@link Long#MAX_VALUE}: records reaching it are dropped
     * @return {locks taken over, stripes whose counts were wrong}
     * @throws IllegalStateException if a live process holds a lock past the store's lock timeout
     */
    int[] repairAll(final List<String> done, final long lostFrom) {
        final int[] locks = new int[1];
        done.addAll(new StoreRepair(view, ring, index, lostFrom).run(timeoutNanos, locks));
        final int recounted = index.recountStripes(timeoutNanos);
        if (recounted < 0) {
            throw new ArenaBusyException("store lock held by a live process past the timeout: stripe="
                + (-1 - recounted) + ", timeoutNanos=" + timeoutNanos);
        }
        return new int[] {locks[0], recounted};
    }

    /** The longest {@link #close} waits for another thread of this process to let go of the store's locks. */
    static final long CLOSE_WAIT_SECONDS = 30;

    /** Waits until no thread of this process holds the ring lock or a stripe lock (see {@link #close}). */
    private void awaitOwnLocks() {
        final io.sharena.core.owner.Ownership mine = ArenaInternals.ownership(arena);
        final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(CLOSE_WAIT_SECONDS);
        try {
            while ((ring.heldBy(mine) || index.stripeHeldBy(mine)) && System.nanoTime() - deadline < 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
        } catch (final InternalError cut) {
            // The file was cut short under the mapping: the arena's close reports it.
        }
    }

    /**
     * Closes the store; if it opened its own arena file, closes that too. A file cut short under
     * the mapping does not stop the close: this thread's uncounted gets are dropped, and closing the
     * arena reports the cut. A second close does nothing. A store that opened its own arena answers
     * every call after the close with {@link IllegalStateException}; one over an arena its caller
     * opened ({@link #of}) holds nothing of its own and works for as long as that arena is open.
     *
     * <p>Closing the arena gives this process's registry slot back, after which its lock tokens
     * read as a dead process's: a write of another thread still holding a stripe or the ring lock
     * would be taken over by another process while it runs, and its last stores could drop an
     * acknowledged write of that process. So a close that opened its own arena first waits, for
     * {@value #CLOSE_WAIT_SECONDS} s at most, until no thread of this process holds one of the
     * store's locks. Closing a store that other threads still use is the caller's mistake, and the
     * wait narrows what it can cost without closing it: a write between its steps, holding no lock
     * at the moment the close looks (its record reserved, its stripe not yet locked), goes on
     * after the look (calls are not counted in and out: that would cost every get an atomic).
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (ownsArena) {
            awaitOwnLocks();
        }
        try {
            reads.flushGets(cursors.get());
        } catch (final InternalError e) {
            final ArenaFaultException fault = ArenaFaultException.of(arena, "close", e);
            if (!ownsArena) {
                throw fault;
            }
        }
        if (ownsArena) {
            arena.close();
        }
    }
}
