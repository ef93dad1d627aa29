package io.sharena.ipc.store;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.core.owner.Ownership;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The ring of records: reservation at the head, eviction at the tail (CLOCK by reinsertion), and
 * the tail check that validates lock-free reads. See the package documentation for the design.
 */
final class Ring {
    /*
     * Access-map bits, one byte lane per StoreLayout.MAP_GRANULE bytes of ring: FETCHED (read at
     * least once since stored) and CLOCK's use count, 0 to 3, kept in unary (USE_1, USE_2, USE_3 set
     * lowest first), so that a reader raises it with one atomic OR and two readers racing lose at
     * most one step, never corrupt it.
     */
    static final int USE_1 = 1;
    static final int FETCHED = 2;
    static final int USE_2 = 4;
    static final int USE_3 = 8;
    static final int USES = USE_1 | USE_2 | USE_3;
    /** Hot items moved to the head per reservation, at most: bounds a reservation's work. */
    static final int REINSERT_BUDGET = 16;
    /**
     * The ring keeps at least 1/SLACK_SHARE of itself free of new writes, for moving items from the
     * tail to the head: a full ring has no room to copy an item to, and would evict it. Once a record
     * larger than half that has been linked, it keeps twice the largest record free instead
     * ({@link #writable(long)}), as far as the ring can while it takes two records of the store's
     * largest size: moving a record may need a PAD to the ring's end as well as the record itself.
     */
    static final int SLACK_SHARE = 64;

    /** Whether an item is expired or flushed, now. */
    interface Staleness {
        boolean stale(int ptr);
    }

    private final ArenaView view;
    private final SharedArena arena;
    /** The arena's segment, for readers' plain loads of the tail. */
    private final MemorySegment seg;
    private final int ringPtr;
    private final long ringBytes;
    /** The store header's arena pointer. */
    private final int header;
    private final int headWord;
    private final int tailWord;
    private final int reusesWord;
    /**
     * Whether an item replaced or deleted here becomes a hole ({@link #keepReplaced}): only in a
     * store of this build's format; one of {@link StoreLayout#VERSION_SHARED} may be shared with a
     * process of the build before, whose readers check the tail alone.
     */
    private final boolean replacedHoles;
    private final int mapPtr;
    private final SharedLock lock;
    private final Ownership ownership;
    private final long owner;
    private final Counters counters;
    private final long timeoutNanos;
    /**
     * What {@link #reserve} returns when a live process held the ring lock past the timeout: no
     * record starts there (records are {@link ItemLayout#ALIGN}-aligned), so it is told from a pointer.
     */
    static final int BUSY = -1;
    /** Per thread, what it runs when a reservation at the tail makes it wait ({@link SharedStore#onTailWait}). */
    final ThreadLocal<Runnable> tailWait = new ThreadLocal<>();
    /** False: this opener's writes never evict a live item (memcached's -M); they answer NO_MEMORY. */
    private final boolean evictions;
    /** The words on the ring lock's line (StoreLayout.LARGEST_RECORD, TAIL_MET_*). */
    private final int largestWord;
    private final int metStaleWord;
    private final int metAllWord;
    /** The record of the store's largest key and value: what {@link #largestWord} is clamped to. */
    private final long maxRecord;
    /** What new writes may fill with the least slack (1/64): the measure of "roomy" and of the cold moves' floor. */
    private final long leastSlackWritable;
    private final Multiples laps;
    private Index index;
    private Staleness staleness;
    /**
     * A record given up ({@link #abandon}) of at least this many bytes is kept as a hole for this
     * attachment's next reservations; a smaller one is left to the tail.
     */
    static final int HOLE_MIN = 4096;
    /** Holes kept at most. */
    static final int HOLES = 64;
    /**
     * The holes' logical positions and sizes, {@link #holes} of them: this process's memory only,
     * guarded by {@code holePos}'s monitor. What they name is checked under the ring lock before use.
     */
    private final long[] holePos = new long[HOLES];
    private final int[] holeSize = new int[HOLES];
    /** Written under {@code holePos}'s monitor; read without it by every reservation, to skip the monitor when 0. */
    private volatile int holes;
    /**
     * Positions of items this attachment reads in place over a long time ({@link SharedStore#keepInPlace},
     * once per keep): no hole over one of them is filled. Under {@code holePos}'s monitor.
     */
    private long[] pinned = new long[8];
    private int pins;

    Ring(final SharedArena arena, final int header, final Counters counters, final long timeoutNanos,
         final boolean evictions) {
        this.arena = arena;
        this.view = arena.raw();
        this.ringPtr = view.getInt(header + StoreLayout.RING_PTR);
        this.ringBytes = view.getLong(header + StoreLayout.RING_BYTES);
        this.mapPtr = view.getInt(header + StoreLayout.MAP_PTR);
        this.seg = view.segment();
        this.header = header;
        this.headWord = header + StoreLayout.HEAD;
        this.tailWord = header + StoreLayout.TAIL;
        this.reusesWord = header + StoreLayout.REUSES;
        this.replacedHoles = view.getInt(header + StoreLayout.VERSION) == StoreLayout.VERSION_VALUE;
        // A read-only attachment (tools: stat, check, dump) inspects and never reserves or locks.
        final boolean readOnly = ArenaInternals.slot(arena) < 0;
        this.lock = readOnly ? null : arena.lockAt(header + StoreLayout.RING_LOCK);
        this.ownership = readOnly ? null : ArenaInternals.ownership(arena);
        // The whole process owns what it reserves (any of its threads may be the builder).
        this.owner = readOnly ? 0 : ownership.process();
        this.counters = counters;
        this.timeoutNanos = timeoutNanos;
        this.moveNanos = Math.min(Math.max(timeoutNanos, 0) / 16, MOVE_NANOS_MAX);
        this.evictions = evictions;
        this.largestWord = header + StoreLayout.LARGEST_RECORD;
        this.metStaleWord = header + StoreLayout.TAIL_MET_STALE;
        this.metAllWord = header + StoreLayout.TAIL_MET_ALL;
        this.maxRecord = ItemLayout.recordSize(SharedStore.MAX_KEY, view.getInt(header + StoreLayout.MAX_ITEM));
        this.laps = new Multiples(ringBytes);
        this.leastSlackWritable = ringBytes - ringBytes / SLACK_SHARE;
        this.coldMoveFloor = leastSlackWritable / 100 * ROOMY_PERCENT;
    }

    void attach(final Index idx, final Staleness stale) {
        this.index = idx;
        this.staleness = stale;
    }

    long ringBytes() {
        return ringBytes;
    }

    int ringPtr() {
        return ringPtr;
    }

    long tail() {
        final long t = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Integer.toUnsignedLong(tailWord));
        VarHandle.acquireFence();
        return t;
    }

    /**
     * @return how many records were placed in holes so far ({@link #takeHole}): a lock-free reader
     * loads it (with the tail, on the same line) before it reads any record, and {@link #valid}
     * checks it has not moved
     */
    long reuses() {
        final long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Integer.toUnsignedLong(reusesWord));
        VarHandle.acquireFence();
        return n;
    }

    /** @return {head, tail} as they were at one instant, without the ring lock ({@link StoreFormat#positions}) */
    long[] positions() {
        return StoreFormat.positions(view, headWord, tailWord);
    }

    long head() {
        return view.getLongAcquire(headWord);
    }

    /**
     * @return whether a head and tail could be this ring's: {@code 0 <= tail <= head <= tail +
     * ringBytes}, both multiples of {@link ItemLayout#ALIGN}. Anything else is a damaged file.
     */
    boolean positionsValid(final long head, final long tail) {
        return StoreFormat.positionsSound(head, tail, tail, ringBytes);
    }

    /** @throws ArenaCorruptedException unless {@link #positionsValid} */
    void checkPositions(final long head, final long tail) {
        if (!positionsValid(head, tail)) {
            throw new ArenaCorruptedException("store ring", head, "ring positions out of range: head=" + head
                + ", tail=" + tail + ", ringBytes=" + ringBytes);
        }
    }

    /** @return whether {@code p} could start an item: inside the ring, aligned, with room for a header */
    boolean contains(final int p) {
        final long off = Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr);
        return off >= 0 && off <= ringBytes - ItemLayout.HEADER && (off & (ItemLayout.ALIGN - 1)) == 0;
    }

    /**
     * @return whether ring position {@code pos} is the record at {@code p} (its physical place),
     * i.e. {@code pos >= 0 && ringPtr + pos % ringBytes == p}
     */
    boolean at(final int p, final long pos) {
        // Readers ask this at every hop, so without a division (see Multiples): pos - off must be
        // a multiple of ringBytes, where off = p - ringPtr is in [0, ringBytes).
        final long off = Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr);
        return pos >= off && off >= 0 && off < ringBytes && laps.divides(pos - off);
    }

    /** @return whether a key and value of these lengths at {@code p} stay inside the ring */
    boolean fits(final int p, final int keyLen, final int valueLen) {
        final long end = Integer.toUnsignedLong(p) + ItemLayout.HEADER + Integer.toUnsignedLong(keyLen)
            + Integer.toUnsignedLong(valueLen);
        return keyLen >= 0 && valueLen >= 0 && end <= Integer.toUnsignedLong(ringPtr) + ringBytes;
    }

    /**
     * The seqlock check of a lock-free walk: true if no record at or above {@code minPos} has been
     * reclaimed by the tail, and no hole has been filled since the reader loaded {@code reuses}
     * ({@link #reuses()}, before its first read of a record), i.e. nothing the reader read could
     * have been reused under it. Any placement anywhere fails it: meant for a walk and the fields
     * of the item it finds, not for the reads of a value that may take long ({@link #itemValid}).
     */
    boolean valid(final long minPos, final long reuses) {
        // Orders the reader's loads of the records before its loads of the tail and the reuse count
        // (plain loads: the fence keeps them after those and out of a retry loop's hoisting).
        VarHandle.loadLoadFence();
        return seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Integer.toUnsignedLong(tailWord)) <= minPos
            && seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Integer.toUnsignedLong(reusesWord)) == reuses;
    }

    /**
     * The seqlock check of reads of one item found by a walk that {@link #valid} held for, made
     * after it: true if the tail has not passed the item's position and its CAS word still holds
     * the CAS value the walk read. The tail's check covers the space the head takes again; the CAS
     * word, a placement in a hole, whose first change to the hole is to clear its record's CAS word
     * ({@link #takeHole}), and which keeps the hole's position. The word then holds 0, then the
     * placing process's owner token, then the new item's CAS value: an item's CAS value is above 0
     * and every token ({@link StoreWriter#CAS_FLOOR}) and no earlier item's, so the word never
     * comes back to it. A
     * placement elsewhere leaves this item's readers alone (a server sending a large value from the
     * mapping as the socket takes it is not cut off by another client's large set).
     */
    boolean itemValid(final int p, final long pos, final long cas) {
        VarHandle.loadLoadFence();
        return seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Integer.toUnsignedLong(tailWord)) <= pos
            && seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Integer.toUnsignedLong(p) + ItemLayout.CAS) == cas;
    }

    /** {@link #itemValid} of the item at ring position {@code pos} (a mark a caller kept: may be anything) */
    boolean itemValid(final long pos, final long cas) {
        if (pos < 0) {
            return false;
        }
        final int p = (int) (ringPtr + pos % ringBytes);
        return contains(p) && itemValid(p, pos, cas);
    }

    /**
     * Loads a word from each of the first three cache lines of the record at {@code p} and its
     * access-map word, so that their misses start now, together with other keys' ({@link
     * StoreReads#prefetch}). {@code p} is unvalidated: a place where no record can start is left
     * alone, and the loads stay inside the ring.
     *
     * @return the sum of what was loaded: meaningless, kept only so that the loads are made
     */
    long touch(final int p) {
        if (!contains(p)) {
            return 0;
        }
        final long at = Integer.toUnsignedLong(p);
        final long lastWord = Integer.toUnsignedLong(ringPtr) + ringBytes - Long.BYTES;
        return seg.get(ValueLayout.JAVA_LONG_UNALIGNED, at)
            + seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Math.min(at + 64, lastWord))
            + seg.get(ValueLayout.JAVA_LONG_UNALIGNED, Math.min(at + 128, lastWord))
            + accessBits(p);
    }

    /**
     * @return the NEXT link of the record at {@code p} if its hash is not {@code hash} (the chain
     * goes on past it for that key), else 0; unvalidated, as {@link #touch}
     */
    int nextIfOther(final int p, final int hash) {
        if (!contains(p)) {
            return 0;
        }
        final long at = Integer.toUnsignedLong(p);
        return seg.get(ValueLayout.JAVA_INT_UNALIGNED, at + ItemLayout.HASH) == hash ? 0
            : seg.get(ValueLayout.JAVA_INT_UNALIGNED, at + ItemLayout.NEXT);
    }

    /**
     * Marks the item fetched and raises its use count by one (readers); a store only when that
     * changes something, so an item at the top count costs its readers no write at all.
     *
     * @return whether the item was marked fetched before this call
     */
    boolean touchedByReader(final int p) {
        return touchedByReader(p, accessBits(p));
    }

    /**
     * @return the access-map bits of the item at {@code p}, a plain load (readers load them early,
     * so that this miss overlaps the value's)
     */
    int accessBits(final int p) {
        final long granule = (Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr)) / StoreLayout.MAP_GRANULE;
        final int word = mapPtr + (int) (granule & ~3L);
        return seg.get(ValueLayout.JAVA_INT_UNALIGNED, Integer.toUnsignedLong(word)) >>> (8 * (int) (granule & 3));
    }

    /** As {@link #touchedByReader(int)}, given the bits {@link #accessBits} read. */
    boolean touchedByReader(final int p, final int bits) {
        final long granule = (Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr)) / StoreLayout.MAP_GRANULE;
        final int word = mapPtr + (int) (granule & ~3L);
        final int shift = 8 * (int) (granule & 3);
        final int want = FETCHED | ((bits & USE_1) == 0 ? USE_1 : (bits & USE_2) == 0 ? USE_2 : USE_3);
        if ((bits & want) != want) {
            // A stale reader may set the bits of a record that reused the space: only a hint, benign.
            view.getAndBitwiseOrInt(word, want << shift);
        }
        return (bits & FETCHED) != 0;
    }

    /** @return whether the item at {@code p} was read since it was stored (a hint, as the bits are) */
    boolean fetched(final int p) {
        return (mapBits(p) & FETCHED) != 0;
    }

    /** @return the use count (0 to 3) held in an item's access-map bits */
    static int uses(final int bits) {
        return Integer.bitCount(bits & USES);
    }

    /** @return access-map bits holding a use count of {@code uses} (0 to 3) */
    static int usesBits(final int uses) {
        return uses <= 0 ? 0 : uses == 1 ? USE_1 : uses == 2 ? USE_1 | USE_2 : USES;
    }

    /**
     * Gives the record at {@code to} (reserved by the caller, not yet published) the access-map
     * bits the item at {@code from} has now: an item that replaces another as if rewritten in place.
     */
    void inheritAccess(final int from, final int to) {
        setMapBits(to, mapBits(from));
    }

    private int mapBits(final int p) {
        final long granule = (Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr)) / StoreLayout.MAP_GRANULE;
        return (view.getInt(mapPtr + (int) (granule & ~3L)) >>> (8 * (int) (granule & 3))) & 0xFF;
    }

    private void setMapBits(final int p, final int bits) {
        final long granule = (Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr)) / StoreLayout.MAP_GRANULE;
        final int word = mapPtr + (int) (granule & ~3L);
        final int shift = 8 * (int) (granule & 3);
        view.getAndBitwiseAndInt(word, ~(0xFF << shift));
        if (bits != 0) {
            view.getAndBitwiseOrInt(word, bits << shift);
        }
    }

    // ------------------------------------------------------------------ reservation

    /** @return the store header's arena pointer */
    int header() {
        return header;
    }

    /**
     * @return what is wrong with the flush watermark, or null: a FLUSH_CAS above the CAS counter
     * (a flush raises it only to a value the counter had) makes every item read as flushed, and
     * every one written from then on too, until the counter passes it
     */
    String flushWatermarkProblem() {
        // The copy first: a flush raises the watermark, then the copy, so the copy read before the
        // watermark is never above it but by a stray write.
        final long copy = view.getLongAcquire(header + StoreLayout.FLUSH_CAS_COPY);
        final long flushCas = view.getLongAcquire(header + StoreLayout.FLUSH_CAS);
        final long casCounter = view.getLongAcquire(header + StoreLayout.CAS_COUNTER); // read last: it only grows
        if (Long.compareUnsigned(flushCas, casCounter) > 0) {
            return "flush watermark above the CAS counter (every item reads as flushed, new ones too): flushCas="
                + Long.toUnsignedString(flushCas) + ", casCounter=" + Long.toUnsignedString(casCounter);
        }
        return copy == 0 || Long.compareUnsigned(copy - 1, flushCas) <= 0 ? null
            : "flush watermark's copy above the watermark (the repair would restore it from there): copy="
                + Long.toUnsignedString(copy - 1) + ", flushCas=" + Long.toUnsignedString(flushCas);
    }

    /**
     * The CAS counter never legitimately comes near this (2^62 writes would take a century at a
     * billion a second): a counter at or past it is a stray write, one about to wrap.
     */
    static final long CAS_COUNTER_LIMIT = 1L << 62;

    /**
     * @param newestCas the largest CAS value below {@link #CAS_COUNTER_LIMIT} of an item the chains
     *                  reach (one past it is that item's damage, not the counter's)
     * @return what is wrong with the CAS counter (below an item's CAS value: new items would reuse
     * CAS values and a flush would leave items visible; or about to wrap), or null
     */
    String casCounterProblem(final long newestCas) {
        final long casCounter = view.getLongAcquire(header + StoreLayout.CAS_COUNTER); // read after the items
        if (Long.compareUnsigned(casCounter, CAS_COUNTER_LIMIT) >= 0) {
            return "CAS counter past any count a store reaches (about to wrap): casCounter="
                + Long.toUnsignedString(casCounter);
        }
        return Long.compareUnsigned(newestCas, casCounter) <= 0 ? null
            : "CAS counter below an item's CAS value (new items would take CAS values in use, a flush would miss"
                + " items): casCounter=" + casCounter + ", itemCas=" + Long.toUnsignedString(newestCas);
    }

    /**
     * Sets a CAS counter that {@link #casCounterProblem} names to the largest CAS value in use (an
     * item's, or the flush watermark's when that is a count the store could reach), before the flush
     * watermark is checked against it.
     *
     * @return what was done, or null if the counter was sound
     */
    String mendCasCounter(final long newestCas) {
        final String problem = casCounterProblem(newestCas);
        if (problem == null) {
            return null;
        }
        // The watermark counts only as far as its copy vouches for it (when one is kept): a watermark
        // a stray write raised would otherwise raise the counter past it, and every item would stay
        // hidden, the watermark no longer above the counter to be restored from the copy.
        final long copy = view.getLongAcquire(header + StoreLayout.FLUSH_CAS_COPY);
        final long flushRead = view.getLongAcquire(header + StoreLayout.FLUSH_CAS);
        final long flushCas = copy != 0 && Long.compareUnsigned(copy - 1, flushRead) < 0 ? copy - 1 : flushRead;
        // A compare-and-set, not a store: a writer of another stripe may take a value from the
        // counter meanwhile, and a store of what was read before would hand that value out again.
        long casCounter;
        long set;
        do {
            casCounter = view.getLongAcquire(header + StoreLayout.CAS_COUNTER);
            set = Math.max(Math.max(newestCas, sane(casCounter)), sane(flushCas));
        } while (!view.compareAndSetLong(header + StoreLayout.CAS_COUNTER, casCounter, set));
        return problem + ": set to " + set + ", the largest CAS value in use";
    }

    /** @return {@code cas} if below {@link #CAS_COUNTER_LIMIT}, else 0 */
    private static long sane(final long cas) {
        return Long.compareUnsigned(cas, CAS_COUNTER_LIMIT) < 0 ? cas : 0;
    }

    /**
     * Lowers a FLUSH_CAS above the CAS counter ({@link #flushWatermarkProblem}), which no flush
     * writes: to the last flush's watermark as its copy keeps it ({@link StoreLayout#FLUSH_CAS_COPY})
     * when that is known and at or below the counter, so that the items the stray write hid show
     * again and those a flush hid stay hidden; else to the counter, every item written so far
     * staying hidden. The copy is then set to what the watermark holds; so is a copy a stray
     * write raised above a sound watermark.
     *
     * @return what was done, or null if the watermark and its copy were sound
     */
    String mendFlushWatermark() {
        final String problem = flushWatermarkProblem();
        if (problem == null) {
            return null;
        }
        final long copy = view.getLongAcquire(header + StoreLayout.FLUSH_CAS_COPY);
        final long flushCas = view.getLongAcquire(header + StoreLayout.FLUSH_CAS);
        final long casCounter = view.getLongAcquire(header + StoreLayout.CAS_COUNTER);
        String done = ": its copy set to the watermark";
        long watermark = flushCas;
        if (Long.compareUnsigned(flushCas, casCounter) <= 0 && copy != 0 && Long.compareUnsigned(copy - 1, casCounter) <= 0) {
            // The copy above a sound watermark: no flush lowers the watermark, so either word may
            // be the one hit. The higher is kept: a flushed item shown again is worse in a cache
            // than an item hidden.
            watermark = copy - 1;
            view.compareAndSetLong(header + StoreLayout.FLUSH_CAS, flushCas, watermark);
            done = ": the watermark raised to its copy, " + Long.toUnsignedString(watermark) + " (no flush lowers it)";
        } else if (Long.compareUnsigned(flushCas, casCounter) > 0) {
            final boolean fromCopy = copy != 0 && Long.compareUnsigned(copy - 1, casCounter) <= 0;
            watermark = fromCopy ? copy - 1 : casCounter;
            view.compareAndSetLong(header + StoreLayout.FLUSH_CAS, flushCas, watermark);
            done = fromCopy ? ": restored from its copy, the last flush's: " + Long.toUnsignedString(watermark)
                + " (the items it hid show again)" : ": lowered to the counter (" + (copy == 0 ? "no copy kept"
                : "its copy is above it too") + "); the items it hid stay flushed, new ones show";
        }
        view.compareAndSetLong(header + StoreLayout.FLUSH_CAS_COPY, copy, watermark + 1);
        return problem + done;
    }

    /**
     * Reserves a record of {@code size} bytes (a multiple of {@link ItemLayout#ALIGN}), evicting as
     * needed. The record is RESERVED and owned by this process: the caller fills it and then
     * publishes it or marks it DEAD.
     *
     * <p>Taken in turns of the ring lock: a turn that has moved items for its time
     * ({@link #moveNanos}) gives the lock up, lets the writers waiting for it have a turn, and
     * goes on from the tail as they left it, for as long as the lock timeout from its first cut
     * turn; then the write is refused (NO_MEMORY).
     *
     * @return its arena pointer; 0 if no room could be made within the timeout; {@link #BUSY} if a
     * live process held the ring lock past the timeout (a stopped process)
     */
    int reserve(final long size) {
        long deadline = 0;
        boolean cut = false;
        while (true) {
            final int p = reserveTurn(size);
            if (p != CUT) {
                return p;
            }
            counters.add(StoreCounter.MOVES_CUT, 1);
            final long now = System.nanoTime();
            if (!cut) {
                cut = true;
                deadline = now + timeoutNanos;
            } else if (now - deadline >= 0) {
                counters.add(StoreCounter.OUT_OF_MEMORY, 1);
                return 0;
            }
            // Longer than a lock waiter's longest park, so that one takes the lock before this thread does again.
            LockSupport.parkNanos(TURN_PAUSE_NANOS);
        }
    }

    /** What {@link #reserveTurn} answers when its turn has moved items for its time: the lock is given up. */
    private static final int CUT = -2;
    /** The pause between two turns of one write: the lock's waiters park for 100 µs at most. */
    private static final long TURN_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    /** One turn of {@link #reserve} under the ring lock: as it, or {@link #CUT}. */
    private int reserveTurn(final long size) {
        final LockResult r = lock.lock(timeoutNanos);
        if (r == LockResult.TIMEOUT) {
            return BUSY;
        }
        refuseNested(r);
        // A dead holder leaves nothing to repair: the head moves only after the header it covers is
        // written, and the tail only after the record it passes is unlinked or dead.
        try {
            if (!largestSeeded) {
                seedLargest(view.getLong(headWord), view.getLong(tailWord));
            }
            final long writable = writable(size);
            assert size > 0 && size % ItemLayout.ALIGN == 0 && size <= writable / 2 : "record size: size=" + size;
            // The clock is read only once a wait begins (a read costs 30 ns here, a few % of a set).
            long deadline = 0;
            IdleStrategy idle = null;
            int budget = REINSERT_BUDGET;
            // Without evictions a write moves live items for as long as it takes to reach free space
            // (one lap at most), while the live items leave room for it (holdsRoomFor).
            keepColdBytes = evictions ? Math.max((long) size * COLD_MOVE_ALLOWANCE, coldMoveFloor) : writable;
            reserving = size;
            reservingWritable = writable;
            reread = false;
            creepBytes = size;
            long moveWork = 0;
            long nextLook = MOVES_UNTIMED;
            long movesTimedFrom = 0;
            boolean timed = false;
            while (true) {
                final long head = view.getLong(headWord); // plain: only the ring lock holder writes it
                final long tail = view.getLong(tailWord);
                checkPositions(head, tail);
                if (holes != 0) {
                    final int p = takeHole(size, head, tail, writable);
                    if (p != 0) {
                        return p;
                    }
                }
                if (head + need(head, size) - tail <= writable) {
                    return reserveLocked(head, size);
                }
                final int step = evictOne(tail, budget);
                if (step == EVICT_REINSERTED) {
                    budget--;
                } else if (step == EVICT_KEPT_COLD) {
                    // Moves gain no room (head and tail advance together): a store whose free
                    // space lies far from the tail could keep one write moving for a lap. A move
                    // counts one, and one more per 4 KiB it copied (plain read: the lock holder's tail).
                    moveWork += 1 + ((view.getLong(tailWord) - tail) >>> MOVE_WORK_SHIFT);
                    if (moveWork >= nextLook) {
                        nextLook = moveWork + MOVES_PER_LOOK;
                        final long now = System.nanoTime();
                        if (!timed) {
                            timed = true;
                            movesTimedFrom = now;
                        } else if (now - movesTimedFrom >= moveNanos) {
                            return CUT;
                        }
                    }
                    continue;
                } else if (step == EVICT_FULL) {
                    counters.add(StoreCounter.OUT_OF_MEMORY, 1);
                    return 0;
                } else if (step == EVICT_WAIT) {
                    if (idle == null) {
                        // The first wait: a thread holding reservations of its own gives them up
                        // (none of them can end while it waits here); the lock timeout counts from here.
                        final Runnable giveUp = tailWait.get();
                        if (giveUp != null) {
                            giveUp.run();
                        }
                        deadline = System.nanoTime() + timeoutNanos;
                        idle = new BackoffIdleStrategy(16, 16, TimeUnit.MICROSECONDS.toNanos(1),
                            TimeUnit.MICROSECONDS.toNanos(200));
                    } else if (System.nanoTime() - deadline >= 0) {
                        counters.add(StoreCounter.OUT_OF_MEMORY, 1);
                        return 0;
                    }
                    idle.idle();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Raises the largest record linked to {@code size} if it is larger: called before an item is
     * published, so that the room kept free can move it once it reaches the tail. Only linked items
     * count: a reservation given up or refused (a client that declares a large value and hangs up)
     * keeps no room. A kill right after it leaves only more room kept free; one that raced a
     * publish of another process loses nothing (compare-and-set).
     */
    void raiseLargest(final long size) {
        if (size <= knownLargest) {
            return; // the word only rises: no read of the ring lock's line, which every reservation writes
        }
        long cur = view.getLong(largestWord);
        while (size > cur && !view.compareAndSetLong(largestWord, cur, size)) {
            cur = view.getLong(largestWord);
        }
        knownLargest = Math.max(size, cur);
    }

    /** A value the largest-record word held or passed, as this process last saw it (it only rises). */
    private volatile long knownLargest;

    /**
     * Once per attachment, under the ring lock, if the largest-record word is 0 (a file made before
     * it, or a stray write): raises it to the largest item linked in the ring, walked from tail to
     * head. Without it, an item larger than 1/64 of the ring stored before the word existed was
     * evicted at the tail, or with evictions off stopped every write (found by a review).
     */
    private void seedLargest(final long head, final long tail) {
        largestSeeded = true;
        if (view.getLong(largestWord) != 0) {
            return;
        }
        long largest = 0;
        for (long pos = tail; pos - head < 0; ) {
            final int p = (int) (ringPtr + pos % ringBytes);
            final int size = view.getInt(p + ItemLayout.SIZE);
            if (!parses(view.getLong(p + ItemLayout.POS), pos, size)) {
                break; // not a record: the eviction's own checks will say so
            }
            if (view.getIntAcquire(p + ItemLayout.STATE) == ItemLayout.LINKED) {
                largest = Math.max(largest, size);
            }
            pos += size;
        }
        if (largest > 0) {
            raiseLargest(largest);
        }
    }

    /** @return whether a record header saying {@code pos} and {@code size}, found at ring position {@code at}, is one */
    private boolean parses(final long pos, final long at, final int size) {
        return pos == at && size >= ItemLayout.PAD_HEADER && size % ItemLayout.ALIGN == 0 && at % ringBytes + size <= ringBytes;
    }

    /** Whether {@link #seedLargest} ran for this attachment (ring lock holder only). */
    private boolean largestSeeded;

    /**
     * @return the bytes new writes may fill while a record of {@code size} is reserved: the ring
     * less the room kept free for moving items to the head ({@link #SLACK_SHARE}), twice the
     * largest record linked or this one, whichever is larger. The record counts before it is
     * linked: a 1 MB item admitted into a store of 32 MiB near full, with the room of the smaller
     * items before it, could never be moved once the tail reached it, and without evictions every
     * write after was refused however much was deleted (a probe, 2026-12-07). Ring lock held.
     */
    private long writable(final long size) {
        // A stray write to the word costs room, never more than the store's largest record needs.
        final long largest = Math.max(Math.min(Math.max(view.getLong(largestWord), 0L), maxRecord), Math.min(size, maxRecord));
        return ringBytes - Math.max(ringBytes / SLACK_SHARE, Math.min(2 * largest, ringBytes - 2 * maxRecord));
    }

    /** @return the bytes a record of {@code size} takes at {@code head}, with the PAD before it if it cannot fit */
    private long need(final long head, final long size) {
        final long phys = head % ringBytes;
        return phys + size > ringBytes ? ringBytes - phys + size : size;
    }

    /** Writes the record's header (after a PAD if needed), then advances the head. Ring lock held, room made. */
    private int reserveLocked(final long head, final long size) {
        long pos = head;
        long phys = pos % ringBytes;
        if (phys + size > ringBytes) {
            final int pad = (int) (ringPtr + phys);
            view.putLong(pad + ItemLayout.POS, pos);
            view.putInt(pad + ItemLayout.SIZE, (int) (ringBytes - phys));
            view.putInt(pad + ItemLayout.STATE, ItemLayout.PAD);
            pos += ringBytes - phys;
            phys = 0;
        }
        final int p = (int) (ringPtr + phys);
        view.putLong(p + ItemLayout.POS, pos);
        view.putInt(p + ItemLayout.SIZE, (int) size);
        view.putLong(p + ItemLayout.CAS, owner);
        view.putInt(p + ItemLayout.NEXT, 0);
        view.putIntVolatile(p + ItemLayout.STATE, ItemLayout.RESERVED);
        setMapBits(p, 0);
        CrashPoints.at(StorePoint.RESERVE_HEADER_WRITTEN);
        // Publishes the header(s) above to the next ring lock holder.
        view.putLongRelease(headWord, pos + size);
        CrashPoints.at(StorePoint.RESERVE_HEAD_ADVANCED);
        return p;
    }

    /**
     * Takes the ring lock over if a dead process holds it; nothing to repair then.
     *
     * @return whether it was taken over
     * @throws IllegalStateException if a live process holds it past the timeout
     */
    boolean repairLock() {
        final LockResult r = lock.lock(timeoutNanos);
        if (r == LockResult.TIMEOUT) {
            throw new ArenaBusyException("ring lock held by a live process past the timeout: timeoutNanos="
                + timeoutNanos);
        }
        if (r != LockResult.DEADLOCK) {
            lock.unlock();
        }
        return r == LockResult.RECOVERED;
    }

    /**
     * Takes the ring lock for the tools' repair (reservation and eviction wait meanwhile).
     *
     * @return ACQUIRED, RECOVERED (from a dead holder: nothing to repair for the lock itself) or TIMEOUT
     */
    LockResult lockForRepair(final long timeout) {
        final LockResult r = lock.lock(timeout);
        refuseNested(r);
        return r;
    }

    /**
     * Refuses a ring lock this thread holds already: a write from the {@link SharedStore#onTailWait}
     * callback, which runs under it. Going on would unlock the lock at the end of the inner call while
     * the outer one goes on as its holder, beside whoever takes it next (one record for two owners).
     */
    private static void refuseNested(final LockResult r) {
        if (r == LockResult.DEADLOCK) {
            throw new IllegalStateException("a store write made while this thread holds the store's ring lock"
                + " (from the onTailWait callback, which must not write)");
        }
    }

    /** @return whether a thread of the attachment {@code ownership} names holds the ring lock */
    boolean heldBy(final io.sharena.core.owner.Ownership ownership) {
        return lock != null && ownership.isMine(lock.ownerWord());
    }

    void unlockAfterRepair() {
        lock.unlock();
    }

    /** @return the physical start of the record at {@code p} (inside the ring), in {@link ItemLayout#ALIGN} units */
    int unitOf(final int p) {
        return (int) ((Integer.toUnsignedLong(p) - Integer.toUnsignedLong(ringPtr)) / ItemLayout.ALIGN);
    }

    /**
     * Writes a PAD record over {@code [pos, pos + size)} (tools' repair, ring lock held): bytes
     * between tail and head that do not parse as records become one record the tail passes.
     * {@code size} is a multiple of {@link ItemLayout#ALIGN}, and the span does not cross the
     * ring's end.
     */
    void padForRepair(final long pos, final int size) {
        final int p = (int) (ringPtr + pos % ringBytes);
        view.putLong(p + ItemLayout.POS, pos);
        view.putInt(p + ItemLayout.SIZE, size);
        CrashPoints.at(StoreRepairPoint.PAD_STATE_PENDING);
        // Last: the tail parses it from here on.
        view.putIntRelease(p + ItemLayout.STATE, ItemLayout.PAD);
        CrashPoints.at(StoreRepairPoint.PAD_WRITTEN);
    }

    /**
     * @return the size of the record at logical position {@code pos}, if it parses as one between
     * {@code pos} and {@code head}: its POS word is {@code pos}, its size a multiple of
     * {@link ItemLayout#ALIGN}, at least a PAD's, not past the ring's end nor the head, its state
     * known; else 0
     */
    int parses(final long pos, final long head) {
        return recordAt(view, ringPtr, ringBytes, pos, head);
    }

    /**
     * {@link #parses} for a ring read raw, by the tools, without a {@link Ring}: {@code pos} must
     * be non-negative.
     */
    static int recordAt(final ArenaView view, final int ringPtr, final long ringBytes, final long pos, final long head) {
        final long phys = pos % ringBytes;
        final int p = (int) (ringPtr + phys);
        final int size = view.getInt(p + ItemLayout.SIZE);
        final int state = view.getIntAcquire(p + ItemLayout.STATE);
        if (view.getLong(p + ItemLayout.POS) != pos || size < ItemLayout.PAD_HEADER || size % ItemLayout.ALIGN != 0
            || phys + size > ringBytes || pos + size > head || state < ItemLayout.RESERVED || state > ItemLayout.PAD) {
            return 0;
        }
        return size;
    }

    /**
     * Whether a record the tail passes without reading it (PAD, DEAD) has a SIZE that runs over a
     * LINKED record: a stray write there would have the tail skip a live item, chained and
     * readable while the head reuses its space. A record whose key and value
     * lengths give its size is taken as read (a linked item's, marked DEAD since); any other (a PAD,
     * a reservation given up) is scanned for a LINKED record starting inside it: one whose POS names
     * its place (leftovers of earlier laps name theirs) and whose lengths give its size. The scan
     * happens once a lap for the PAD at the ring's end and after a reservation was given up.
     *
     * @return whether such a record starts inside {@code [pos, pos + size)}, past {@code pos}
     */
    static boolean hidesLinked(final ArenaView view, final int ringPtr, final long ringBytes, final long pos,
                               final int size) {
        return linkedInside(view, ringPtr, ringBytes, pos, size) != 0;
    }

    /** @return the first record {@link #hidesLinked} finds inside the one at {@code pos}, or 0 */
    private static int linkedInside(final ArenaView view, final int ringPtr, final long ringBytes, final long pos,
                                    final int size) {
        final long phys = pos % ringBytes;
        final int p = (int) (ringPtr + phys);
        if (size >= ItemLayout.HEADER && ownLengths(view, p, size)) {
            return 0;
        }
        for (int off = ItemLayout.ALIGN; off < size && phys + off + ItemLayout.HEADER <= ringBytes; off += ItemLayout.ALIGN) {
            final int q = p + off;
            if (view.getLong(q + ItemLayout.POS) == pos + off && view.getIntAcquire(q + ItemLayout.STATE) == ItemLayout.LINKED
                && ownLengths(view, q, view.getInt(q + ItemLayout.SIZE))) {
                return q;
            }
        }
        return 0;
    }

    /** @return whether the record at {@code p} is exactly its key and value of the lengths its header gives */
    private static boolean ownLengths(final ArenaView view, final int p, final int size) {
        final int keyLen = view.getInt(p + ItemLayout.KEY_LEN);
        final int valueLen = view.getInt(p + ItemLayout.VALUE_LEN);
        return keyLen >= 1 && keyLen <= SharedStore.MAX_KEY && valueLen >= 0 && ItemLayout.recordSize(keyLen, valueLen) == size;
    }

    /** @return the state word of the record at logical position {@code pos} */
    int stateAt(final long pos) {
        return view.getIntAcquire((int) (ringPtr + pos % ringBytes) + ItemLayout.STATE);
    }

    /**
     * Gives up a RESERVED record of this process: the tail will pass it. A record of {@link
     * #HOLE_MIN} bytes or more is also kept as a hole, which this attachment's next reservations
     * fill ({@link #takeHole}) instead of taking the same bytes again at the head: a client that
     * declares large values and never sends them (or a slow one whose values move to the heap)
     * would otherwise push a record's worth of live items out of the cache each time. No lock: a
     * hole is only a position noted in this process, checked under the ring lock when it is used.
     */
    void abandon(final int p) {
        // Read while the record is still this process's: once DEAD, the tail may pass it and the
        // head write another record there.
        final int size = view.getInt(p + ItemLayout.SIZE);
        final long pos = view.getLong(p + ItemLayout.POS);
        if (view.compareAndSetInt(p + ItemLayout.STATE, ItemLayout.RESERVED, ItemLayout.DEAD)) {
            keepHole(pos, size);
        }
    }

    /**
     * {@link #keepHole} of a linked item this process's writer just replaced or deleted, marked
     * DEAD ({@link Index#publishLocked}, {@link Index#unlinkLocked}; its size and position read
     * while it was still LINKED), in a store of this build's format ({@link #replacedHoles}).
     */
    void keepReplaced(final long pos, final int size) {
        if (replacedHoles) {
            keepHole(pos, size);
        }
    }

    /**
     * Keeps the record at ring position {@code pos}, of {@code size} bytes, as a hole if it is
     * {@link #HOLE_MIN} bytes or more: a record this process just gave up ({@link #abandon}), or a
     * linked item its writer just replaced or deleted ({@link #keepReplaced}). A value
     * that replaces itself then takes back the space its last version left, as memcached's slab
     * chunk is, instead of making the tail pass as many bytes of other items (each live one moved
     * to the head while the store is roomy: about 250 small items per 100 KiB set).
     */
    void keepHole(final long pos, final int size) {
        if (size < HOLE_MIN || lock == null) {
            return;
        }
        synchronized (holePos) {
            int slot = holes;
            if (slot == HOLES) {
                // Full: the hole nearest the tail (the first the tail takes back) gives way, if older.
                slot = 0;
                for (int i = 1; i < HOLES; i++) {
                    slot = holePos[i] < holePos[slot] ? i : slot;
                }
                if (holePos[slot] > pos) {
                    return;
                }
            } else {
                holes = slot + 1;
            }
            holePos[slot] = pos;
            holeSize[slot] = size;
        }
    }

    /** {@link SharedStore#keepInPlace}. */
    void pin(final long pos) {
        synchronized (holePos) {
            if (pins == pinned.length) {
                pinned = java.util.Arrays.copyOf(pinned, pins * 2);
            }
            pinned[pins++] = pos;
        }
    }

    /** {@link SharedStore#releaseInPlace}. */
    void unpin(final long pos) {
        synchronized (holePos) {
            for (int i = 0; i < pins; i++) {
                if (pinned[i] == pos) {
                    pinned[i] = pinned[--pins];
                    return;
                }
            }
        }
    }

    /** @return whether an item kept in place starts in {@code [pos, pos + bytes)}. {@code holePos}'s monitor held. */
    private boolean pinnedIn(final long pos, final int bytes) {
        for (int i = 0; i < pins; i++) {
            if (pinned[i] - pos >= 0 && pinned[i] - pos < bytes) {
                return true;
            }
        }
        return false;
    }

    /**
     * Reserves a record of {@code size} bytes inside a hole this attachment kept ({@link #keepHole}),
     * if one still lies between tail and head, as it was left, and the tail reaches it only after
     * half a ring of writes (the newest such): a record placed near the tail, held a while (a server
     * reading a value into it), would stop every writer at the tail, which passes records in order;
     * and an item placed there would be the next evicted. Ring lock held.
     * A hole is a DEAD record (or the PAD left of one) that the tail has not passed: one given up
     * before it was linked, or an item replaced or deleted. A record placed there takes the
     * positions it had, so the tail alone no longer tells a lock-free reader that what it read
     * is unchanged: a reader may still be reading the replaced item. So the first two steps tell
     * readers before any other byte of the hole changes: a walk checks the store's reuse count
     * ({@link #valid}), a reader of one item's value that item's CAS word ({@link #itemValid}).
     * (A reader's stale link into that space still finds a position a whole ring past what it
     * linked, see {@link Index#find}; and a writer that read an item lock-free and swaps in its new
     * version under the stripe lock checks the item's CAS value too, not only its place.) The
     * steps, each leaving a ring the tail parses:
     * <ol>
     *   <li>the reuse count raised ({@link StorePoint#HOLE_REUSE_COUNTED}): walks in progress
     *       start again; nothing else changed;</li>
     *   <li>the hole record's CAS word set to 0, then a store fence ({@link
     *       StorePoint#HOLE_CAS_CLEARED}): readers of the replaced item's value read again; a DEAD
     *       record's CAS word means nothing to the tail;</li>
     *   <li>the rest of the hole, past the new record, written as a PAD ({@link
     *       StorePoint#HOLE_REST_PADDED}); the DEAD record still covers it;</li>
     *   <li>the DEAD record's SIZE lowered to the new record's ({@link StorePoint#HOLE_SHRUNK}):
     *       the tail now passes it, then the PAD;</li>
     *   <li>its owner word, NEXT and state written as {@link #reserveLocked} writes them
     *       ({@link StorePoint#HOLE_RESERVED}): a RESERVED record of this process, as one
     *       reserved at the head.</li>
     * </ol>
     *
     * @return the record's arena pointer, or 0 if no hole takes it
     */
    private int takeHole(final long size, final long head, final long tail, final long writable) {
        synchronized (holePos) {
            return takeHoleLocked(size, head, tail, writable);
        }
    }

    private int takeHoleLocked(final long size, final long head, final long tail, final long writable) {
        // The newest hole that takes the record, among those the tail reaches only after half a
        // ring of writes (those to fill the room left, then those that move the tail up to it).
        final long room = Math.max(0L, writable - (head - tail));
        int best;
        do {
            // Chosen from the positions alone (the reservation's path reads no record for it);
            // only the chosen one's header is read, and one a repair rewrote is forgotten.
            best = -1;
            for (int i = 0; i < holes; i++) {
                final long pos = holePos[i];
                final int holeBytes = holeSize[i];
                if (pos - tail < 0 || pos + holeBytes > head) {
                    forgetHole(i--); // the tail took it back
                    continue;
                }
                if (holeBytes >= size && pos - tail + room >= ringBytes / 2 && (best < 0 || pos > holePos[best])
                    && (pins == 0 || !pinnedIn(pos, holeBytes))) {
                    best = i;
                }
            }
            if (best < 0) {
                return 0;
            }
            if (holeAsLeft(holePos[best], holeSize[best])) {
                break;
            }
            forgetHole(best);
        } while (true);
        final long pos = holePos[best];
        final long rest = holeSize[best] - size;
        final int p = (int) (ringPtr + pos % ringBytes);
        view.getAndAddLong(reusesWord, 1);
        CrashPoints.at(StorePoint.HOLE_REUSE_COUNTED);
        view.putLong(p + ItemLayout.CAS, 0L);
        // No store below becomes visible before the two above (a seqlock writer's barrier, as in advanceTail).
        VarHandle.storeStoreFence();
        CrashPoints.at(StorePoint.HOLE_CAS_CLEARED);
        if (rest > 0) {
            final int q = p + (int) size;
            view.putLong(q + ItemLayout.POS, pos + size);
            view.putInt(q + ItemLayout.SIZE, (int) rest);
            view.putIntRelease(q + ItemLayout.STATE, ItemLayout.PAD);
            CrashPoints.at(StorePoint.HOLE_REST_PADDED);
        }
        view.putIntRelease(p + ItemLayout.SIZE, (int) size);
        CrashPoints.at(StorePoint.HOLE_SHRUNK);
        view.putLong(p + ItemLayout.CAS, owner);
        view.putInt(p + ItemLayout.NEXT, 0);
        view.putIntVolatile(p + ItemLayout.STATE, ItemLayout.RESERVED);
        setMapBits(p, 0);
        CrashPoints.at(StorePoint.HOLE_RESERVED);
        if (rest >= HOLE_MIN) {
            holePos[best] = pos + size;
            holeSize[best] = (int) rest;
        } else {
            forgetHole(best);
        }
        counters.add(StoreCounter.HOLES_FILLED, 1);
        return p;
    }

    /** @return whether the record at {@code pos} (between tail and head) is still the DEAD record or PAD a hole was left as */
    private boolean holeAsLeft(final long pos, final int holeBytes) {
        final int p = (int) (ringPtr + pos % ringBytes);
        final int state = view.getIntAcquire(p + ItemLayout.STATE);
        return view.getLong(p + ItemLayout.POS) == pos && view.getInt(p + ItemLayout.SIZE) == holeBytes
            && (state == ItemLayout.DEAD || state == ItemLayout.PAD);
    }

    /** Drops hole {@code i}, the last one taking its slot. {@code holePos}'s monitor held. */
    private void forgetHole(final int i) {
        final int last = holes - 1;
        holePos[i] = holePos[last];
        holeSize[i] = holeSize[last];
        holes = last;
    }

    // ------------------------------------------------------------------ eviction

    private static final int EVICT_PASSED = 0;
    private static final int EVICT_REINSERTED = 1;
    private static final int EVICT_WAIT = 2;
    /** Without evictions: a live item at the tail that cannot be moved; no room for this write. */
    private static final int EVICT_FULL = 3;
    /** A cold item moved to the head while the store is roomy ({@link #roomy}): costs no second-chance budget. */
    private static final int EVICT_KEPT_COLD = 4;

    /** Handles the record at the tail: passes it, or moves it to the head, or reports that it must wait. */
    private int evictOne(final long tail, final int budget) {
        final int p = (int) (ringPtr + tail % ringBytes);
        final long pos = view.getLong(p + ItemLayout.POS);
        final int size = view.getInt(p + ItemLayout.SIZE);
        if (!parses(pos, tail, size)) {
            throw new ArenaCorruptedException("store ring", tail, "record at the tail does not parse: ptr=0x"
                + Integer.toHexString(p) + ", pos=" + pos + ", size=" + size);
        }
        final int state = view.getIntAcquire(p + ItemLayout.STATE);
        switch (state) {
            case ItemLayout.PAD, ItemLayout.DEAD -> {
                if (!passable(p, tail, size)) {
                    return EVICT_WAIT;
                }
                met(size, false);
                advanceTail(tail + size);
                return EVICT_PASSED;
            }
            case ItemLayout.RESERVED -> {
                final long who = view.getLongAcquire(p + ItemLayout.CAS);
                if (ownership.isAlive(who)) {
                    return EVICT_WAIT;
                }
                // Its writer died while building it. A CAS, not a store: had the writer been alive and
                // linked it meanwhile (owner word already replaced), the CAS fails and we look again.
                if (view.compareAndSetInt(p + ItemLayout.STATE, ItemLayout.RESERVED, ItemLayout.DEAD)) {
                    met(size, false);
                    advanceTail(tail + size);
                }
                return EVICT_PASSED;
            }
            case ItemLayout.LINKED -> {
                return evictLinked(p, tail, size, budget);
            }
            default -> throw new ArenaCorruptedException("store ring", state, "record state unknown: ptr=0x"
                + Integer.toHexString(p) + ", pos=" + pos);
        }
    }

    private int evictLinked(final int x, final long tail, final int size, final int budget) {
        final int hash = view.getInt(x + ItemLayout.HASH);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, 0) && !index.lockStripe(stripe, timeoutNanos)) {
            return EVICT_WAIT;
        }
        int result = EVICT_PASSED;
        boolean reclaimed = false;
        try {
            if (view.getIntAcquire(x + ItemLayout.STATE) == ItemLayout.LINKED) {
                final int pred = index.predLocked(x, hash);
                if (pred == 0) {
                    // Left LINKED but unpublished, or replaced but not yet marked, by a writer that died.
                    view.putIntRelease(x + ItemLayout.STATE, ItemLayout.DEAD);
                } else {
                    checkRecordSize(x, tail, size);
                    final int bits = mapBits(x);
                    final boolean stale = staleness.stale(x);
                    // A used item past the second-chance budget is kept as a cold one is while the
                    // store is roomy: items moved by one reservation lie together at the head, and
                    // the tail meets them together a lap later, more than the budget in a row.
                    // Without evictions every live item is moved while the live items leave room
                    // for the write; once they do not, the write moves at most its own size of
                    // them before it is refused, so that the tail still comes to expired items as
                    // a crawler would (the store API has none): not 16 items whatever their size
                    // (a refused set in a full store moved 16 MB of 1 MB items).
                    final boolean secondChance = evictions && uses(bits) > 0 && budget > 0;
                    boolean keepCold = !stale && !secondChance && keepColdBytes >= size
                        && (evictions ? roomy() : holdsRoomFor());
                    if (!evictions && !stale && !keepCold && creepBytes >= size) {
                        creepBytes -= size;
                        keepCold = true;
                    }
                    if (!stale && (secondChance || keepCold) && reinsert(x, pred, size, Math.max(0, uses(bits) - 1))) {
                        if (keepCold) {
                            keepColdBytes -= size;
                            result = EVICT_KEPT_COLD;
                        } else {
                            result = EVICT_REINSERTED;
                        }
                    } else if (!stale && !evictions) {
                        return EVICT_FULL; // the tail stays: nothing changed
                    } else {
                        view.putIntRelease(pred, view.getInt(x + ItemLayout.NEXT));
                        CrashPoints.at(StorePoint.EVICT_UNLINKED);
                        view.putIntRelease(x + ItemLayout.STATE, ItemLayout.DEAD);
                        index.addLocked(stripe, -1, -size);
                        seenGone(stripe, size);
                        reclaimed = stale;
                        if (stale) {
                            counters.add(StoreCounter.RECLAIMED, 1);
                            if ((bits & FETCHED) == 0) {
                                counters.add(StoreCounter.EXPIRED_UNFETCHED, 1);
                            }
                        } else {
                            counters.add(StoreCounter.EVICTIONS, 1);
                            if ((bits & FETCHED) == 0) {
                                counters.add(StoreCounter.EVICTED_UNFETCHED, 1);
                            }
                        }
                    }
                }
            }
        } finally {
            index.unlockStripe(stripe);
        }
        met(size, reclaimed);
        advanceTail(tail + size);
        return result;
    }

    /**
     * Live items fill less than this share of the ring ({@link #roomy}): a cold item at the tail is
     * moved to the head, not evicted. memcached evicts only when its memory is full; the ring's tail
     * comes round after every lap of writes, overwrites included, so without this a live item nobody
     * read went after one lap however empty the store was (100 KB live in 64 MiB). Below this share
     * a lap moves at most as many bytes of cold items as it writes, on average; one reservation may
     * move up to {@link #COLD_MOVE_ALLOWANCE} bytes of them for each byte it reserves
     * ({@link #keepColdBytes}), for small items bunched at the tail when a large value is written.
     * Past the allowance, or above the share, cold items go as CLOCK has them go. At three quarters
     * (3 bytes moved per byte written) a set of the store benchmark (1 M items, 69 % of the memory
     * live) cost 1,335 ns on uniform keys and 969 ns on Zipf keys, against 1,025 and 767 ns at one
     * half (JMH, one fork each, Dec 5). One half is where a lap moves as much as it writes; above
     * it the moves grow fast (3 bytes per byte written at three quarters, 9 at nine tenths).
     */
    private static final int ROOMY_PERCENT = 50;
    /**
     * The moves one turn of the ring lock makes before it reads the clock ({@link #moveNanos}),
     * counted as {@link #MOVE_WORK_SHIFT} says: about a millisecond of small items or 16 MiB of
     * large ones, so a store's usual writes, which move a few items each, never read it.
     */
    static final int MOVES_UNTIMED = 4_096;
    /** Once timed, the moves between two reads of the clock: 256 small items, or 1 MiB. */
    private static final int MOVES_PER_LOOK = 256;
    /** A move counts one, and one more per 2^12 bytes it copied: a 1 MB item is worth 245 small ones. */
    private static final int MOVE_WORK_SHIFT = 12;
    /** The longest {@link #moveNanos}: a turn that holds the lock longer stops other writers too long. */
    private static final long MOVE_NANOS_MAX = TimeUnit.MILLISECONDS.toNanos(20);
    /**
     * How long one turn of the ring lock moves items once it has made {@link #MOVES_UNTIMED} moves:
     * a sixteenth of the lock timeout, at most {@link #MOVE_NANOS_MAX}. Then the turn ends (counted
     * in {@code moves_cut}); every item moved stays moved, and the write takes another turn after
     * the writers waiting for the lock ({@link #reserve}). Moving an item gains no room, so a store
     * whose free space lies far from its tail (the newest items deleted, a bulk load followed by
     * writes and deletes) had one write move up to a lap of items under the ring lock: a second and
     * more in a store of small items with evictions off, while other writers timed out as if a
     * stopped process held it. Set by tests only ({@link #moveNanos(long)}).
     */
    private long moveNanos;

    /** Tests: sets {@link #moveNanos} (before any write of this attachment). */
    void moveNanos(final long nanos) {
        moveNanos = nanos;
    }
    /** Bytes of cold items one reservation may move per byte it reserves (while {@link #roomy}). */
    private static final int COLD_MOVE_ALLOWANCE = 3;
    /**
     * What one reservation may move of cold items at least: as much as a roomy store holds live,
     * so that it moves every cold item it meets while the store is roomy. With only the allowance,
     * a small set that met large cold items at the tail evicted them however empty the store was (a
     * kill probe saw 600 KiB values go with the store 15 % full): moving one gains no room, so the
     * tail meets the next, and a run of them outlasted the allowance. Each live item is moved at most
     * once a lap, so a lap's moves stay below its writes while the store is roomy; one reservation
     * that meets a run of large cold items copies them all (at most half the ring, once a lap).
     */
    private final long coldMoveFloor;
    /** What the reservation in progress may still move of cold items (ring lock holder only). */
    private long keepColdBytes;
    /** The reservation in progress: its size, and the bytes new writes may fill with it (ring lock holder only). */
    private long reserving;
    private long reservingWritable;
    /** Whether the reservation in progress read every stripe's live bytes again ({@link #holdsRoomFor}). */
    private boolean reread;
    /** What a reservation without evictions may still move once the live items leave it no room. */
    private long creepBytes;

    /**
     * @return whether the live items fill less than {@link #ROOMY_PERCENT} % of what new writes may
     * fill: the live bytes of every stripe ({@link #liveBytes}), less the expired items among them
     * ({@link #expiredBytes}). Ring lock held.
     *
     * <p>Before, the live bytes were estimated from 32 stripes every 256 decisions, scaled to all:
     * one 120 KB item in a sampled stripe read as half of an 8 MiB store, expired items not yet
     * reclaimed counted as live, and each answer was kept for 256 decisions however much changed
     * meanwhile (a probe lost 771 of 4,000 unread items with the store 8 % full). A measure of what
     * the ring's tail met alone, tried the same day, fed on itself: the items one reservation moves
     * lie together, the tail meets them together a lap later, the measure read "full" there, and
     * every item evicted after counted as live met, so it stayed "full" and the store lost half to
     * all of its items from 40 % live on (a second probe). Live bytes fall as items are evicted,
     * which ends an eviction run where it should.
     */
    private boolean roomy() {
        final long live = liveBytes();
        return (live - expiredBytes(live)) * 100 < leastSlackWritable * ROOMY_PERCENT;
    }

    /**
     * @return whether the live items (less the expired ones among them) leave room for the
     * reservation in progress in what new writes may fill: without evictions, whether a write that meets
     * a run of live items at the tail moves them on to the free space behind them or is refused
     * (the store full, memcached's {@code -M} answer). It used to be refused after 16 moves: a
     * store 60 % live whose dead records lay between runs of live ones refused writes (a
     * second-chance budget is for hot items among cold ones, not for items that may never go).
     * Ring lock held.
     */
    private boolean holdsRoomFor() {
        if (fits(liveBytes())) {
            return true;
        }
        if (reread) {
            return false;
        }
        // Before a refusal, every stripe again: what this and other processes deleted since shows
        // there only as stripes are read again (a probe saw a 1 MB set refused 50 times in a row
        // after a tenth of a full store was deleted).
        reread = true;
        seen = null;
        seenSum = 0;
        return fits(liveBytes());
    }

    private boolean fits(final long live) {
        return live - expiredBytes(live) + reserving <= reservingWritable;
    }

    /** Stripes whose counts {@link #liveBytes} reads again per decision. */
    private static final int STRIPES_PER_DECISION = 2;
    /** Each stripe's live bytes as last read, and their sum (ring lock holder only). */
    private long[] seen;
    private long seenSum;
    private int seenNext;

    /**
     * @return the live bytes of all stripes: read whole once, then {@link #STRIPES_PER_DECISION}
     * stripes again per decision and a round of the table per 8th of the ring the tail passed,
     * with this process's own evictions taken off at once ({@link #seenGone}). What other
     * processes and this one's writers changed shows within a round of the table (512 decisions
     * with 1,024 stripes, or an 8th of a lap of the tail, whichever comes first).
     */
    private long liveBytes() {
        if (seen == null) {
            seen = new long[index.stripes()];
            for (int i = 0; i < seen.length; i++) {
                seen[i] = stripeLive(i);
                seenSum += seen[i];
            }
            passedSinceRead = 0;
            return seenSum;
        }
        // What was written since shows only as stripes are read again: more of them the farther
        // the tail went (a whole round per 8th of the ring), or large writes would run ahead of the
        // sum and a full store read as roomy (a review saw 64 KB sets in 8 MiB move 2.7 items each).
        final long n = Math.min(seen.length, STRIPES_PER_DECISION + passedSinceRead * 8 * seen.length / ringBytes);
        passedSinceRead = 0;
        for (int k = 0; k < n; k++) {
            final int i = seenNext;
            seenNext = i + 1 == seen.length ? 0 : i + 1;
            final long now = stripeLive(i);
            seenSum += now - seen[i];
            seen[i] = now;
        }
        return seenSum;
    }

    /** @return stripe {@code i}'s live bytes, held to [0, ring] (a stray write may have put anything there) */
    private long stripeLive(final int i) {
        return Math.min(Math.max(0L, index.stripeBytes(i)), ringBytes);
    }

    /** Bytes the tail passed since {@link #liveBytes} last read stripes (ring lock holder only). */
    private long passedSinceRead;

    /** Takes an item this ring lock holder evicted or reclaimed off {@link #liveBytes}. */
    private void seenGone(final int stripe, final long size) {
        if (seen != null) {
            seen[stripe] -= size;
            seenSum -= size;
        }
    }

    /**
     * @return the bytes of expired or flushed items among {@code live}, estimated from what the
     * tail met lately ({@link #met}): its share of such items among all it passed, applied to the
     * ring (0 until it has passed a 128th of the ring). They stay in the stripes' counts until the
     * tail or the crawler reclaims them: 6 MB of expired items in 8 MiB read as a store three
     * quarters full, and a probe lost all 500 unread live items among them. Taken too high (the
     * tail in a run of expired items, live ones elsewhere), it makes the tail move items it could
     * evict: work, never a loss; too low, the store evicts as it did without it.
     */
    private long expiredBytes(final long live) {
        final long all = view.getLong(metAllWord);
        final long stale = view.getLong(metStaleWord);
        if (all < ringBytes / 128 || stale <= 0 || stale > all) {
            return 0;
        }
        return Math.min(live, (long) ((double) stale / all * ringBytes));
    }

    /**
     * Counts a record of {@code bytes} the tail passed, {@code stale} if it was an expired or
     * flushed item it reclaimed. Both counts are halved when all passes a 16th of the ring: what
     * the tail met over the last 32nd to 16th of the ring. Values a stray write left out of their
     * range start again from nothing. Ring lock held.
     */
    private void met(final long bytes, final boolean stale) {
        passedSinceRead += bytes;
        long all = view.getLong(metAllWord);
        long st = view.getLong(metStaleWord);
        if (all < 0 || st < 0 || st > all || all > ringBytes) {
            all = 0;
            st = 0;
        }
        all += bytes;
        st += stale ? bytes : 0;
        if (all >= ringBytes / 16) {
            all >>= 1;
            st >>= 1;
        }
        view.putLong(metStaleWord, st);
        view.putLong(metAllWord, all);
    }

    /**
     * Checks that the tail may step over the record at {@code p} by its SIZE without a look inside
     * ({@link #hidesLinked}). A record that looks LINKED inside it is one only if its bucket's chain
     * leads to it: the bytes a PAD covers are an earlier lap's, a client's value among them, and a
     * value can be written to look like a linked header at a place the next lap's PAD will cover;
     * taken on its looks, it would end every write that reaches the tail.
     *
     * @return false if the stripe lock of the record found inside could not be had (wait and retry)
     */
    private boolean passable(final int p, final long tail, final int size) {
        final int q = linkedInside(view, ringPtr, ringBytes, tail, size);
        if (q == 0) {
            return true;
        }
        final int hash = view.getInt(q + ItemLayout.HASH);
        final int stripe = index.stripeOf(hash);
        if (!index.lockStripe(stripe, timeoutNanos)) {
            return false;
        }
        try {
            if (index.predLocked(q, hash) != 0) {
                throw new ArenaCorruptedException("store ring", tail, "the record at the tail runs over a linked record: ptr=0x"
                    + Integer.toHexString(p) + ", size=" + size + ", linked=0x" + Integer.toHexString(q));
            }
            return true;
        } finally {
            index.unlockStripe(stripe);
        }
    }

    /**
     * Checks that a chained item's record is exactly its header's key and value, before the tail
     * copies it ({@link #reinsert}) or steps past it: readers never use SIZE, so a stray write there
     * shows only here. An unchained item (cut by the tools' repair) is passed without this check.
     */
    private void checkRecordSize(final int x, final long tail, final int size) {
        if (size < ItemLayout.HEADER || !ownLengths(view, x, size)) {
            throw new ArenaCorruptedException("store ring", tail, "linked record at the tail does not match its header:"
                + " ptr=0x" + Integer.toHexString(x) + ", size=" + size + ", keyLen=" + view.getInt(x + ItemLayout.KEY_LEN)
                + ", valueLen=" + view.getInt(x + ItemLayout.VALUE_LEN));
        }
    }

    /**
     * Another chance: copies item {@code x}, used since it was stored or last moved, to the head and
     * swaps it in for itself with its use count one lower, if the free space takes it without
     * evicting (the slack that new writes leave free is for this). Ring lock and the item's stripe
     * lock held.
     */
    private boolean reinsert(final int x, final int pred, final int size, final int uses) {
        final long head = view.getLong(headWord);
        final long tail = view.getLong(tailWord);
        if (head + need(head, size) - tail > ringBytes) {
            return false;
        }
        final int y = reserveLocked(head, size);
        // The hash, and everything from EXPIRES on: expiry, flags, lengths, meta, key, value. Not the
        // CAS word yet: while y is RESERVED it names y's owner, and a copy killed here must leave
        // the tail a record owned by the dead process, not one whose owner word is a CAS value that
        // may read as a live process's token (the tail would wait on it for as long as that one lives).
        view.putInt(y + ItemLayout.HASH, view.getInt(x + ItemLayout.HASH));
        view.copyTo(x + ItemLayout.EXPIRES, ArenaInternals.segment(arena), Integer.toUnsignedLong(y) + ItemLayout.EXPIRES,
            size - ItemLayout.EXPIRES);
        CrashPoints.at(StorePoint.EVICT_COPIED);
        if (!view.compareAndSetInt(y + ItemLayout.STATE, ItemLayout.RESERVED, ItemLayout.LINKED)) {
            throw new IllegalStateException("reinserted record taken from its owner: ptr=0x" + Integer.toHexString(y));
        }
        CrashPoints.at(StorePoint.EVICT_COPY_LINKED);
        // LINKED and not yet reachable: the item keeps its CAS value.
        view.putLong(y + ItemLayout.CAS, view.getLong(x + ItemLayout.CAS));
        view.putInt(y + ItemLayout.NEXT, view.getInt(x + ItemLayout.NEXT));
        // Fetched only if it was: a cold item kept while the store is roomy may never have been read.
        setMapBits(y, (mapBits(x) & FETCHED) | usesBits(uses));
        // Publishes the copy in the item's place: readers see x or y, the same item.
        view.putIntRelease(pred, y);
        CrashPoints.at(StorePoint.EVICT_REINSERTED);
        view.putIntRelease(x + ItemLayout.STATE, ItemLayout.DEAD);
        counters.add(StoreCounter.REINSERTED, 1);
        return true;
    }

    private void advanceTail(final long tail) {
        // Publishes the unlink or DEAD mark above before the space may be reused; readers that see
        // this tail re-read.
        view.putLongRelease(tailWord, tail);
        // The seqlock writer's barrier: this thread may reuse the space at once (reserveLocked's
        // header stores follow with no atomic between), and a release store orders only what came
        // before it. Without this fence a weakly ordered CPU (aarch64) may make the new record's
        // POS, NEXT = 0 or owner word visible before the tail, so a reader still walking the passed
        // record reads them, loads the old tail, and trusts them: a chain cut short (a spurious
        // miss), a foreign CAS value, or a walk declared corrupt. Free on x86, whose stores are
        // seen in order.
        VarHandle.storeStoreFence();
        CrashPoints.at(StorePoint.EVICT_TAIL_ADVANCED);
    }
}
