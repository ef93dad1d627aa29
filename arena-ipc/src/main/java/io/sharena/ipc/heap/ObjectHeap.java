package io.sharena.ipc.heap;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFullException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.owner.Ownership;
import io.sharena.ipc.Corruption;
import io.sharena.ipc.Holders;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.HeapLayout;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A size-classed allocator of objects from 8 bytes to many pages, in the arena, shared by every
 * process: build a list or a hash table in one process, walk it in another through arena pointers.
 *
 * <pre>{@code
 * ObjectHeap heap = ObjectHeap.of(arena);   // the arena's heap, found through the named roots
 * int node = heap.allocate(16);             // zeroed; 0 when out of memory
 * heap.free(node);                          // from any process; a second free is a no-op
 * }</pre>
 *
 * <p><b>Size classes</b> ({@link HeapLayout#SIZES}): 26 classes from 8 to 2048 bytes: steps of 8 or
 * 16 bytes up to 64, then each class at most 25 % above the last, so from 64 bytes on at most 20 %
 * of an object is rounding. Small objects live in slab pages of one class with a 128-byte header
 * (which holds the in-use bitmap) and no per-object header: 64-byte objects cost 4096 / 62 = 66.1
 * bytes each (3.2 % overhead). Larger objects get their own page run with a 64-byte header; the
 * pointer is 64 bytes into the first page.
 *
 * <p><b>Concurrency</b>: each class has one lock-free stack of free objects (Treiber stack, CAS on a
 * version-tagged head, ABA-safe), shared by all processes. allocate pops, then sets the object's
 * in-use bit; free clears the bit, then pushes. The bit is changed by one atomic read-modify-write,
 * so of two frees of one object exactly one clears it: <b>a free of an object that is already free
 * is detected and does nothing</b> (counted in {@link #doubleFrees()}), and a message delivered
 * twice can never put an object on the free stack twice. That holds while the object is free: a
 * pointer freed again after its object was handed out anew frees the new owner's object, as with
 * any allocator. An empty stack is refilled with a fresh slab page. When a free leaves a second
 * page of a class with no object in use, the class is trimmed: its free stack is taken whole,
 * every page all of whose objects are in it, but one, is retired and given back to the page
 * allocator, and the rest is pushed back.
 *
 * <p><b>Crash model</b>: every step that publishes is one CAS or one atomic bit change (the named
 * points are {@link HeapPoint}). A process killed between a pop and setting the bit, between
 * clearing the bit and the push, while refilling after formatting, or in the middle of a trim,
 * leaves objects whose bit says free but that are on no stack: {@link #check()} reports them and
 * {@link #repair()} puts them back; a retired page or a large object marked freed but not given
 * back is given back by repair. The metadata page is created under the roots in one crash-safe
 * step ({@link NamedRoots#create}). A refill allocates its page into a refill slot of the class
 * that the refilling thread owns ({@code SharedArena.allocPagesInto}) and lets go of it once its
 * objects are pushed: killed at any step, it leaves the page named by a slot whose owner is dead,
 * and the next refill of the class that takes the slot over, or a repair, gives an unformatted
 * page back to the allocator and leaves a formatted one to the heap (a trim never gives back a page
 * a slot names, so the page is still the dead refill's then). Only when every slot of a class has
 * been held by a live refill for 2 ms (seven refills of one class at once, stopped) does a refill
 * go unrecorded, and a kill in its window then leaves its page allocated to nobody. A large object
 * is handed to its caller as pages are: a process killed between its allocation and the store that
 * records it, in the heap's code or the caller's, leaves its pages allocated to nobody (the page
 * allocator's rule for pages a dead process had allocated). Objects in use are never touched by
 * any of this. A thread's {@link LocalHeap} keeps objects it freed off the stacks, bits cleared and
 * each marked with its process's owner token (masked with the page key): check counts those of a
 * live process as kept, not lost, and repair leaves them; a killed process's are reported and
 * reclaimed like any object lost between its bit and its push.
 *
 * <p><b>Corruption</b>: every pointer read from the heap's shared metadata (free-stack heads and
 * links, page headers) is checked to be an object start of the right class in an allocated slab
 * page of this heap before it is used; anything else marks the heap for repair and throws
 * {@link ArenaCorruptedException}. Misuse (freeing a pointer that is not an object start of this
 * heap) throws {@link IllegalArgumentException}.
 */
public final class ObjectHeap {
    public static final String ROOT_NAME = "sharena.heap";
    private static final String STRUCTURE = "heap free stack";
    /** Objects up to this many bytes are zeroed by long stores. */
    private static final int SMALL_ZEROING = 128;
    /** How long a refill waits for a slot while every one is held by a live refill. */
    private static final long REFILL_WAIT_NANOS = 2_000_000L;
    /** How long {@link #of} waits for a repair another live process runs on the heap. */
    static final long REPAIR_WAIT_NANOS = 30_000_000_000L;
    /** How long a large object's free waits for the allocator's lock before it leaves the pages to the repair. */
    private static final long GIVE_BACK_NANOS = 1_000_000_000L;
    private static final byte[] CLASS_OF = new byte[HeapLayout.MAX_SMALL / 8 + 1];

    static {
        int c = 0;
        for (int i = 0; i < CLASS_OF.length; i++) {
            while (HeapLayout.SIZES[c] < i * 8) {
                c++;
            }
            CLASS_OF[i] = (byte) c;
        }
    }

    final SharedArena arena;
    final ArenaView view;
    final int meta;
    /** The heap's page key ({@link HeapLayout#META_KEY}), in every page header it makes. */
    final long key;
    final int repairWord;
    /** This attachment's ownership, fetched on the first refill (a read-only attachment has none). */
    private Ownership ownership;
    private final long firstUserByte;
    private final long capacityBytes;

    ObjectHeap(final SharedArena arena, final int meta) {
        this.arena = arena;
        this.view = arena.raw();
        this.meta = meta;
        this.key = view.getLong(meta + HeapLayout.META_KEY);
        this.repairWord = meta + HeapLayout.REPAIR;
        this.firstUserByte = arena.firstUserPage() * Geometry.PAGE_SIZE;
        this.capacityBytes = arena.capacityBytes();
    }

    /**
     * @return the arena's heap, created on first use and found by every process through the named roots
     * @throws ArenaCorruptedException if the root names a page that is not the heap's metadata
     */
    public static ObjectHeap of(final SharedArena arena) {
        final NamedRoots roots = NamedRoots.of(arena);
        // A heap still being created is waited for (or undone, if its creator died) before it is used.
        int meta = roots.getCreated(ROOT_NAME);
        if (meta == 0) {
            final int lost = lostHeap(arena, 0);
            // Read the root again after the scan: a heap another process made meanwhile is not lost.
            if (lost != 0 && (meta = roots.getCreated(ROOT_NAME)) == 0) {
                // Its root lost to a stray write: a second heap beside it would leak every object.
                throw new ArenaCorruptedException("heap root", 0, "missing, while a heap's metadata no root leads to is"
                    + " at page=" + Integer.toUnsignedLong(lost) / Geometry.PAGE_SIZE + " (check --repair restores it)");
            }
        }
        if (meta == 0) {
            // Allocated into its root and formatted in one crash-safe step of the roots.
            meta = roots.create(ROOT_NAME, 1, fresh -> {
                writeKey(arena, fresh, newKey());
                arena.raw().putIntRelease(fresh + HeapLayout.META_MAGIC, HeapLayout.META_MAGIC_VALUE);
                CrashPoints.at(HeapPoint.META_ALLOCATED);
            });
            if (meta == 0) {
                throw new ArenaFullException("no room for the heap's metadata page: path=" + arena.path());
            }
        }
        final ObjectHeap heap = attach(arena, meta);
        heap.awaitRepair();
        return heap;
    }

    /**
     * Waits while another live process repairs the heap ({@link #repair(SharedArena)}): a repair
     * rebuilds the free stacks from the pages and must not meet objects handed out meanwhile. It
     * refuses to start while other processes are attached, after recording itself: a process
     * that attached after that check finds the record here (or, attached before it, made the
     * repair refuse).
     *
     * @throws IllegalStateException if a live process is still repairing it after {@link #REPAIR_WAIT_NANOS}
     */
    private void awaitRepair() {
        if (ArenaInternals.slot(arena) < 0) {
            return; // read-only: it hands nothing out
        }
        final long start = System.nanoTime();
        while (true) {
            final long owner = view.getLongAcquire(meta + HeapLayout.META_REPAIRER);
            // A word with no thread in it is no repairer's (a repair records its thread): a stray write's.
            if (owner == 0 || OwnerToken.thread(owner) == 0 || ownership().isMine(owner) || !ownership().isAlive(owner)) {
                return;
            }
            if (System.nanoTime() - start >= REPAIR_WAIT_NANOS) {
                throw new IllegalStateException("heap being repaired by a live process past " + REPAIR_WAIT_NANOS / 1_000_000_000L
                    + " s: pid=" + ownership().pidOf(owner) + " (try again once its repair is done)");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
        }
    }

    /**
     * @return the arena's heap if it has one, without creating it (for read-only tools); none while
     * it is being created (its creator died doing so: the next user of the roots undoes that)
     * @throws ArenaCorruptedException if the roots or the heap's metadata are corrupted
     */
    public static Optional<ObjectHeap> existing(final SharedArena arena) {
        return NamedRoots.existing(arena).map(r -> r.getFinished(ROOT_NAME)).filter(m -> m != 0)
            .map(m -> attach(arena, m));
    }

    private static ObjectHeap attach(final SharedArena arena, final int meta) {
        final String problem = metaProblem(arena, meta);
        if (problem != null) {
            throw new ArenaCorruptedException("heap metadata", Integer.toUnsignedLong(meta), problem);
        }
        return new ObjectHeap(arena, meta);
    }

    /** @return what is wrong with the metadata page pointer {@code meta}, or null */
    static String metaProblem(final SharedArena arena, final int meta) {
        if (!Pages.inUserRange(arena, meta, 1)) {
            return "pointer outside the user pages: ptr=0x" + Integer.toHexString(meta);
        }
        final int magic = arena.raw().getIntAcquire(meta + HeapLayout.META_MAGIC);
        if (magic == HeapLayout.META_MAGIC_UNKEYED) {
            return "a heap of an earlier format (HEA2, pages without the heap's key): magic=0x" + Integer.toHexString(magic);
        }
        if (magic == HeapLayout.META_MAGIC_UNCHECKED) {
            return "a heap of an earlier format (HEA3, large objects without a page-count check): magic=0x"
                + Integer.toHexString(magic);
        }
        if (magic != HeapLayout.META_MAGIC_VALUE) {
            return "bad magic: magic=0x" + Integer.toHexString(magic);
        }
        return keyProblem(arena, meta);
    }

    /** @return what is wrong with the page key of the heap at {@code meta} (a stray write), or null */
    static String keyProblem(final SharedArena arena, final int meta) {
        final long key = arena.raw().getLong(meta + HeapLayout.META_KEY);
        final long check = arena.raw().getLong(meta + HeapLayout.META_KEY_CHECK);
        return key != 0 && check == ~key ? null
            : "page key damaged: key=0x" + Long.toHexString(key) + ", check=0x" + Long.toHexString(check);
    }

    /** @return a fresh page key: random, nonzero, not to be guessed from outside the arena's processes */
    static long newKey() {
        final java.security.SecureRandom random = new java.security.SecureRandom();
        long key = 0;
        while (key == 0) {
            key = random.nextLong();
        }
        return key;
    }

    /** Writes the page key and its check into the metadata line of the heap at {@code meta}. */
    static void writeKey(final SharedArena arena, final int meta, final long key) {
        arena.raw().putLong(meta + HeapLayout.META_KEY, key);
        arena.raw().putLongRelease(meta + HeapLayout.META_KEY_CHECK, ~key);
    }

    /** @return the size class for {@code size} bytes (1 .. {@link HeapLayout#MAX_SMALL}) */
    static int classOf(final int size) {
        return CLASS_OF[(size + 7) >>> 3];
    }

    int head(final int c) {
        return meta + c * HeapLayout.CLASS_STRIDE + HeapLayout.FREE_HEAD;
    }

    int emptyPage(final int c) {
        return meta + c * HeapLayout.CLASS_STRIDE + HeapLayout.EMPTY_PAGE;
    }

    /**
     * @return whether no bit of {@code page}'s in-use bitmap is set in its first {@code words}
     * words, those a page of its class uses (a plain look: a hint)
     */
    boolean bitmapEmpty(final int page, final int words) {
        for (int w = 0; w < words; w++) {
            if (view.getLongAcquire(page + HeapLayout.BITMAP + w * 8) != 0) {
                return false;
            }
        }
        return true;
    }

    static long tagged(final long oldHead, final int ptr) {
        return ((oldHead >>> 32) + 1) << 32 | Integer.toUnsignedLong(ptr);
    }

    boolean inUserPages(final int ptr) {
        final long p = Integer.toUnsignedLong(ptr);
        return p >= firstUserByte && p < capacityBytes;
    }

    /** @return whether {@code page} is a slab page of this heap, by its magic, heap field and key */
    boolean isSlab(final int page) {
        return view.getIntAcquire(page + HeapLayout.MAGIC) == HeapLayout.MAGIC_SLAB && namesUs(page);
    }

    /** @return whether slab page {@code page}'s header (or a retired one's) names this heap: its HEAP and its key */
    boolean namesUs(final int page) {
        return view.getInt(page + HeapLayout.HEAP) == meta && view.getLong(page + HeapLayout.KEY) == key;
    }

    /** @return whether the header of the large object (or large object being freed) at {@code page} names this heap */
    boolean largeNamesUs(final int page) {
        return view.getInt(page + HeapLayout.LARGE_HEAP) == meta && view.getLong(page + HeapLayout.LARGE_KEY) == key;
    }

    /**
     * @return {@code obj}'s index in its page if it is an object start of a slab page of this heap of
     * class {@code c} that the page allocator has ALLOCATED; -1 otherwise. Every pointer read from a
     * free stack goes through here first. A page a trim gave back keeps its header (key included)
     * until its storage is punched, so the header alone does not make a page the heap's.
     */
    int slabIndex(final int obj, final int c) {
        if (!inUserPages(obj)) {
            return -1;
        }
        final int page = obj & ~(Geometry.PAGE_SIZE - 1);
        if (!isSlab(page) || view.getInt(page + HeapLayout.CLASS) != c
            || Pages.state(arena, Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE) != PageEntry.ALLOCATED) {
            return -1;
        }
        final int offset = obj - page - HeapLayout.SLAB_HEADER;
        if (offset < 0) {
            return -1;
        }
        final int index = HeapLayout.index(offset, c);
        return index * HeapLayout.SIZES[c] == offset && index < HeapLayout.objectsPerSlab(c) ? index : -1;
    }

    ArenaCorruptedException corrupted(final String structure, final int value, final String detail) {
        throw Corruption.found(view, repairWord, structure, Integer.toUnsignedLong(value), detail);
    }

    /**
     * @return a zeroed object of at least {@code size} bytes, or 0 when the arena has no room
     * @throws IllegalArgumentException if {@code size <= 0}
     * @throws ArenaCorruptedException  if the class's free stack is found corrupted
     */
    public int allocate(final int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("object size must be positive: size=" + size);
        }
        if (size > HeapLayout.MAX_SMALL) {
            return allocateLarge(size);
        }
        final int c = classOf(size);
        final int headWord = head(c);
        while (true) {
            final long head = view.getLongAcquire(headWord);
            final int obj = (int) head;
            if (obj == 0) {
                if (!refill(c)) {
                    return 0;
                }
                continue;
            }
            final int index = slabIndex(obj, c);
            if (index < 0) {
                if (view.getLongAcquire(headWord) == head) {
                    throw corrupted(STRUCTURE, obj, "class=" + c);
                }
                continue;
            }
            // The link and the freed mark after it may be stale (obj popped and written by its new
            // owner meanwhile): then the head's tag has moved and the CAS below fails. If it
            // succeeds, they were the real ones; the link is not checked here because it is checked
            // (above) before anything reads through it, when it is popped in turn.
            final long link = view.getLong(obj);
            final int next = (int) link;
            if (view.compareAndSetLong(headWord, head, tagged(head, next))) {
                CrashPoints.at(HeapPoint.ALLOC_POPPED);
                if ((int) (link >>> 32) != freedMark(obj)) {
                    // Every free and every push writes the mark: an object without it is one in use
                    // that a stray write linked in (and whose in-use bit it may have cleared too).
                    throw corrupted("heap object on the free stack without its freed mark", obj, "class=" + c);
                }
                final int page = obj & ~(Geometry.PAGE_SIZE - 1);
                final long bit = HeapLayout.bit(index);
                if ((view.getAndBitwiseOrLong(page + HeapLayout.bitmapWord(index), bit) & bit) != 0) {
                    // On the free stack yet in use: someone's object. Leave it to its owner.
                    throw corrupted("heap object on the free stack while in use", obj, "class=" + c);
                }
                // No hint to update: a page this takes out of emptiness may stay named by the
                // class's EMPTY_PAGE hint, which the next free that empties a page finds stale.
                zero(obj, HeapLayout.SIZES[c]);
                return obj;
            }
        }
    }

    /** Zeroes an object: small ones by long stores (no bulk call to set up), the rest by a fill. */
    void zero(final int obj, final int size) {
        if (size <= SMALL_ZEROING) {
            for (int i = 0; i < size; i += 8) {
                view.putLong(obj + i, 0L);
            }
        } else {
            view.fill(obj, size, (byte) 0);
        }
    }

    private int allocateLarge(final int size) {
        final long pages = Geometry.pagesFor((long) size + HeapLayout.LARGE_HEADER);
        if (pages > arena.capacityPages()) {
            return 0;
        }
        final int page = arena.allocPages((int) pages);
        if (page == 0) {
            return 0;
        }
        CrashPoints.at(HeapPoint.LARGE_ALLOCATED);
        view.putInt(page + HeapLayout.PAGES, (int) pages);
        view.putInt(page + HeapLayout.PAGES_CHECK, HeapLayout.pagesCheck((int) pages, key));
        view.putInt(page + HeapLayout.LARGE_HEAP, meta);
        view.putLong(page + HeapLayout.LARGE_KEY, key);
        view.putIntRelease(page + HeapLayout.MAGIC, HeapLayout.MAGIC_LARGE);
        return page + HeapLayout.LARGE_HEADER;
    }

    /**
     * Carves a fresh page into objects of class {@code c} and pushes them all with one CAS. The page
     * is allocated into a refill slot of the class that this thread owns ({@link HeapLayout}), and
     * the slot lets go of it only once its objects are on the free stack: a refill killed at any
     * step leaves its page named by a slot of a dead owner, which the next refill of the class
     * ({@link #settle}) or a repair gives back or hands to the heap. No page is lost in transit.
     *
     * @return false when the arena has no room for a page
     */
    /**
     * @return whether class {@code c}'s free stack holds an object now: the pointer half of its
     * head (the other half is the tag, nonzero after the stack's first push)
     */
    private boolean stackHolds(final int c) {
        return (int) view.getLongAcquire(head(c)) != 0;
    }

    private boolean refill(final int c) {
        final Ownership ownership = ownership();
        final long token = ownership.mine();
        int slot = claimRefillSlot(c, token);
        if (slot == 0) {
            // Every slot of the class is held by a live refill: their objects are on the way.
            final long deadline = System.nanoTime() + REFILL_WAIT_NANOS;
            while (slot == 0) {
                if (stackHolds(c) || System.nanoTime() - deadline > 0) {
                    // Objects arrived, or the refills stall (stopped processes): pop, or take a page unrecorded.
                    return stackHolds(c) || refillUnrecorded(c);
                }
                Thread.onSpinWait();
                slot = claimRefillSlot(c, token);
            }
        }
        final int word = slot + HeapLayout.REFILL_PAGE;
        try {
            CrashPoints.at(HeapPoint.REFILL_CLAIMED);
            if (view.getIntAcquire(word) != 0 && !settle(c, slot)) {
                // The allocator's lock is busy (its holder may be stopped for good): objects may
                // have arrived, else a page unrecorded, as when every slot stalls. Returning to
                // pop again would claim this same slot, fail the same settle, and spin for as
                // long as that holder stays stopped.
                return stackHolds(c) || refillUnrecorded(c);
            }
            final int page = arena.allocPagesInto(1, word);
            if (page == 0) {
                return false;
            }
            CrashPoints.at(HeapPoint.REFILL_ALLOCATED);
            carve(c, page);
            CrashPoints.at(HeapPoint.REFILL_PUSHED);
            view.putIntRelease(word, 0);
            CrashPoints.at(HeapPoint.REFILL_CLEARED);
            return true;
        } finally {
            // A refill that threw after its allocation leaves the page in the slot: the next claimer settles it.
            ownership().release(view.segment(), Integer.toUnsignedLong(slot + HeapLayout.REFILL_OWNER), token);
        }
    }

    /**
     * The refill of last resort, when every slot of the class has been held by a live refill for
     * {@link #REFILL_WAIT_NANOS}: the page is recorded nowhere until its objects are pushed, so a
     * kill between its allocation and the push would leave it allocated to nobody.
     */
    private boolean refillUnrecorded(final int c) {
        final int page = arena.allocPages(1);
        if (page == 0) {
            return false;
        }
        carve(c, page);
        return true;
    }

    /**
     * Formats {@code page} as a slab page of class {@code c} and pushes its objects. The magic goes
     * last: a page with it has every object linked and marked freed, so a repair finds them all (a
     * refill killed while marking them, with the magic out already, left the rest unmarked, which
     * a repair took for objects in use once the slot had let go of the page); before it, the page
     * is what {@link #unformattedRefill} accepts, given back by whoever settles the slot.
     */
    private void carve(final int c, final int page) {
        final int size = HeapLayout.SIZES[c];
        final int count = HeapLayout.objectsPerSlab(c);
        view.putInt(page + HeapLayout.CLASS, c);
        view.putInt(page + HeapLayout.OBJECTS, count);
        view.putInt(page + HeapLayout.HEAP, meta);
        view.putLong(page + HeapLayout.KEY, key);
        view.fill(page + HeapLayout.BITMAP, HeapLayout.BITMAP_LONGS * 8L, (byte) 0);
        final int first = page + HeapLayout.SLAB_HEADER;
        final int last = first + (count - 1) * size;
        for (int i = 0; i < count; i++) {
            // By index: a page right below 2 GiB would take the step past its last object negative.
            final int obj = first + i * size;
            view.putLong(obj, carvedWord(obj, last, size));
        }
        CrashPoints.at(HeapPoint.REFILL_LINKED);
        view.putIntRelease(page + HeapLayout.MAGIC, HeapLayout.MAGIC_SLAB);
        CrashPoints.at(HeapPoint.REFILL_FORMATTED);
        push(c, first, last);
    }

    /** @return what {@link #carve} writes in the first 8 bytes of {@code obj}: the link to the next object (none after {@code last}) and the freed mark */
    private long carvedWord(final int obj, final int last, final int size) {
        return (obj != last ? Integer.toUnsignedLong(obj + size) : 0L) | (long) freedMark(obj) << 32;
    }

    /** @return this attachment's ownership (refill slots' owner words) */
    Ownership ownership() {
        if (ownership == null) {
            ownership = ArenaInternals.ownership(arena);
        }
        return ownership;
    }

    /** @return the arena pointer of class {@code c}'s refill slot {@code i} (its owner word) */
    int refillSlot(final int c, final int i) {
        return meta + c * HeapLayout.CLASS_STRIDE + HeapLayout.REFILL_FIRST + i * HeapLayout.REFILL_STRIDE;
    }

    /**
     * Takes a refill slot of class {@code c} for {@code token}: a free one by one CAS from 0, or one
     * whose owner is dead by one CAS from its token (it may still name the dead refill's page).
     *
     * @return the slot's arena pointer, or 0 if every slot is held by a live owner
     */
    private int claimRefillSlot(final int c, final long token) {
        final Ownership ownership = ownership();
        for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
            final int slot = refillSlot(c, i);
            final long owner = view.getLongAcquire(slot + HeapLayout.REFILL_OWNER);
            if (owner == 0 ? ownership.claim(view.segment(), Integer.toUnsignedLong(slot + HeapLayout.REFILL_OWNER), token)
                : !ownership.isMine(owner) && !ownership.isAlive(owner)
                && ownership.takeOver(view.segment(), Integer.toUnsignedLong(slot + HeapLayout.REFILL_OWNER), owner, token)) {
                return slot;
            }
        }
        return 0;
    }

    /**
     * Settles what a refill slot this thread owns still names: the page of a refill that died (or
     * threw) before it let go of it. A slab page of this heap's class {@code c} is the heap's, found
     * by every scan of its pages: the slot just lets go of it (objects that refill never pushed are
     * on no stack: {@link #check()} reports them, {@link #repair()} reclaims them). A page as a
     * refill leaves it before its magic (zeros, and at most carve's header fields) was never
     * formatted, so nothing but the slot knows it: it goes back to the allocator together with the
     * slot's word. Any other page is someone else's. A trim never gives back a page a slot names, so the page is still the
     * dead refill's.
     *
     * @return whether the slot is empty now (false: the allocator's lock was busy)
     * @throws ArenaCorruptedException if the slot names what no refill can have allocated
     */
    boolean settle(final int c, final int slot) {
        final int word = slot + HeapLayout.REFILL_PAGE;
        final int page = view.getIntAcquire(word);
        if (page == 0) {
            return true;
        }
        if (!Pages.inUserRange(arena, page, 1)) {
            throw corrupted("heap refill slot", page, "class=" + c);
        }
        if (isSlab(page) && view.getInt(page + HeapLayout.CLASS) == c) {
            return view.compareAndSetInt(word, page, 0);
        }
        if (refillCannotOwn(page)) {
            throw corrupted("heap refill slot naming a page of another heap structure", page, "class=" + c);
        }
        if (!unformattedRefill(c, page)) {
            throw corrupted("heap refill slot naming a page no refill left so", page, "class=" + c);
        }
        final String holder = holderOf(page, slot);
        if (holder != null) {
            throw corrupted("heap refill slot naming a page " + holder + " holds", page, "class=" + c);
        }
        return arena.freePagesFrom(word, 1);
    }

    /**
     * The structure that holds {@code page}, for a page that looks like an unformatted refill's (all
     * zeros): a page inside one of this heap's large objects, or of a structure a root leads to (the
     * directory, a store, a channel's ring, another heap), may be all zeros too, and a slot a stray
     * write pointed at it would have it freed under its owner and handed out again. Read from the
     * structures ({@link Holders}), so only when a slot is settled: a refill that died, or a repair.
     *
     * A page another refill slot names is that refill's (a stray write copied its word).
     *
     * @param slot the slot being settled
     * @return what holds it ("the named-roots directory", "channel orders", "a large object of this
     * heap at page=N", "another refill slot of this heap"), or null if nothing does
     */
    private String holderOf(final int page, final int slot) {
        for (int c = 0; c < HeapLayout.SIZES.length; c++) {
            for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
                final int other = refillSlot(c, i);
                if (other != slot && view.getIntAcquire(other + HeapLayout.REFILL_PAGE) == page) {
                    return "another refill slot of this heap (class=" + c + ", slot=" + i + ")";
                }
            }
        }
        final int p = (int) (Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE);
        for (final Holders.Holder h : Holders.of(arena)) {
            if (h.ptr() != meta && h.pages().get(p)) {
                return h.name();
            }
        }
        final java.util.BitSet withData = ArenaInternals.pagesWithData(arena);
        if (withData == null) {
            return null;
        }
        // A large object's header page has data; its other pages may have none (never written).
        for (int q = withData.nextSetBit((int) arena.firstUserPage()); q >= 0 && q < p; q = withData.nextSetBit(q + 1)) {
            final int first = (int) (q * (long) Geometry.PAGE_SIZE);
            if (view.getIntAcquire(first + HeapLayout.MAGIC) == HeapLayout.MAGIC_LARGE
                && (view.getInt(first + HeapLayout.LARGE_HEAP) == meta || view.getLong(first + HeapLayout.LARGE_KEY) == key)) {
                final int pages = view.getInt(first + HeapLayout.PAGES);
                if (largePagesSound(first, pages) && p < q + (long) pages) {
                    return "a large object of this heap at page=" + q;
                }
            }
        }
        return null;
    }

    /**
     * @return whether {@code page} is as a refill of class {@code c} leaves it before it publishes
     * the magic ({@link #carve}): zeroed when allocated, and since then given at most the header
     * fields and the objects' first words carve writes, each 0 or its value. Any other page is
     * someone's: a slot naming it was written by a stray write, and giving it back would have it
     * handed out again while in use.
     */
    private boolean unformattedRefill(final int c, final int page) {
        final int pageClass = view.getInt(page + HeapLayout.CLASS);
        final int objects = view.getInt(page + HeapLayout.OBJECTS);
        final int heap = view.getInt(page + HeapLayout.HEAP);
        final long pageKey = view.getLong(page + HeapLayout.KEY);
        if ((pageClass != 0 && pageClass != c) || (objects != 0 && objects != HeapLayout.objectsPerSlab(c))
            || (heap != 0 && heap != meta) || (pageKey != 0 && pageKey != key)
            || view.getInt(page + HeapLayout.MAGIC) != 0
            || view.getInt(page + HeapLayout.CLASS + 4) != 0 || view.getInt(page + HeapLayout.HEAP + 4) != 0) { // the unused ints
            return false;
        }
        final int size = HeapLayout.SIZES[c];
        final int last = HeapLayout.SLAB_HEADER + (HeapLayout.objectsPerSlab(c) - 1) * size;
        for (int off = HeapLayout.KEY + 8; off < Geometry.PAGE_SIZE; off += 8) {
            final long word = view.getLong(page + off);
            // An object's first word may hold what carve writes there before the magic.
            if (word != 0 && (off < HeapLayout.SLAB_HEADER || off > last || (off - HeapLayout.SLAB_HEADER) % size != 0
                || word != carvedWord(page + off, page + last, size))) {
                return false;
            }
        }
        return true;
    }

    /** @return whether {@code page} carries one of this heap's marks that no unformatted refill page has */
    private boolean refillCannotOwn(final int page) {
        final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
        return magic == HeapLayout.MAGIC_SLAB || magic == HeapLayout.MAGIC_RETIRED
            || magic == HeapLayout.MAGIC_LARGE || magic == HeapLayout.MAGIC_LARGE_FREED
            || page == meta;
    }

    /** @return whether a refill slot of class {@code c} names {@code page} */
    private boolean inRefillSlot(final int c, final int page) {
        for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
            if (view.getIntAcquire(refillSlot(c, i) + HeapLayout.REFILL_PAGE) == page) {
                return true;
            }
        }
        return false;
    }

    /** Pushes the chain {@code first .. last} (already linked) onto class {@code c}'s stack. */
    private void push(final int c, final int first, final int last) {
        final int headWord = head(c);
        while (true) {
            final long head = view.getLongAcquire(headWord);
            view.putInt(last, (int) head);
            // Publishes the links (and a refill's page header) written before.
            if (view.compareAndSetLong(headWord, head, tagged(head, first))) {
                return;
            }
        }
    }

    /**
     * Frees an object allocated by any process. NULL does nothing; so does a pointer whose object
     * (or whose page) is already free.
     *
     * @throws IllegalArgumentException if {@code ptr} is not an object start of this heap
     * @throws ArenaCorruptedException  if the object's page header is found corrupted
     */
    public void free(final int ptr) {
        final int c = classToFree(ptr);
        if (c >= 0) {
            freeSmall(ptr, c);
        }
    }

    /**
     * The checks every free makes, and the whole of a free that is not of a small object: NULL does
     * nothing, a large object is freed, a free of free memory is counted.
     *
     * @return the class of small object {@code ptr}, which the caller frees; -1 if nothing is left to do
     * @throws IllegalArgumentException if {@code ptr} is not an object start of this heap
     * @throws ArenaCorruptedException  if the object's page header is found corrupted
     */
    int classToFree(final int ptr) {
        if (ptr == 0) {
            return -1;
        }
        if (!inUserPages(ptr)) {
            throw notAnObject(ptr);
        }
        final int page = ptr & ~(Geometry.PAGE_SIZE - 1);
        final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
        if (magic == HeapLayout.MAGIC_SLAB && namesUs(page)) {
            return slabClass(ptr, page);
        } else if (magic == HeapLayout.MAGIC_LARGE && ptr == page + HeapLayout.LARGE_HEADER && largeNamesUs(page)) {
            freeLarge(page);
        } else if (alreadyFree(ptr, page, magic)) {
            view.getAndAddLong(meta + HeapLayout.DOUBLE_FREES, 1);
        } else {
            throw notAnObject(ptr);
        }
        return -1;
    }

    /** @return whether {@code ptr}'s memory is already free: its large object freed, its page retired or not allocated */
    private boolean alreadyFree(final int ptr, final int page, final int magic) {
        if (magic == HeapLayout.MAGIC_LARGE_FREED && ptr == page + HeapLayout.LARGE_HEADER && largeNamesUs(page)) {
            return true;
        }
        if (magic == HeapLayout.MAGIC_RETIRED && namesUs(page)) {
            return true;
        }
        final int state = Pages.state(arena, Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE);
        return state == PageEntry.FREE || state == PageEntry.PENDING;
    }

    private static IllegalArgumentException notAnObject(final int ptr) {
        return new IllegalArgumentException("not an object of this heap: ptr=0x" + Integer.toHexString(ptr));
    }

    /** @return the class of {@code ptr}, an object start in slab page {@code page} of this heap (its header checked) */
    private int slabClass(final int ptr, final int page) {
        final int c = view.getInt(page + HeapLayout.CLASS);
        if (c < 0 || c >= HeapLayout.SIZES.length) {
            throw corrupted("heap slab page class", c, "page=" + Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE);
        }
        final int objects = view.getInt(page + HeapLayout.OBJECTS);
        if (objects != HeapLayout.objectsPerSlab(c)) {
            throw corrupted("heap slab page object count", objects, "page=" + Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE);
        }
        final int offset = ptr - page - HeapLayout.SLAB_HEADER;
        final int index = offset < 0 ? -1 : HeapLayout.index(offset, c);
        if (index < 0 || index * HeapLayout.SIZES[c] != offset || index >= objects) {
            throw notAnObject(ptr);
        }
        return c;
    }

    /** @return the freed mark of free object {@code obj} of this heap ({@link HeapLayout#freedMark}) */
    int freedMark(final int obj) {
        return HeapLayout.freedMark(obj, key);
    }

    /**
     * The first two steps of a free of {@code ptr}, an object of class {@code c} that
     * {@link #classToFree} checked: its freed mark written, then its in-use bit cleared
     * ({@link #clearInUse(int, int)}). A free of an object not in use (a double free) is counted and writes
     * nothing: the object may be someone else's by now.
     *
     * @return the bitmap word as it was before, its bit set; 0 for a double free
     */
    long markAndClear(final int ptr, final int c) {
        final int page = ptr & ~(Geometry.PAGE_SIZE - 1);
        final int index = HeapLayout.index(ptr - page - HeapLayout.SLAB_HEADER, c);
        if ((view.getLongAcquire(page + HeapLayout.bitmapWord(index)) & HeapLayout.bit(index)) == 0) {
            view.getAndAddLong(meta + HeapLayout.DOUBLE_FREES, 1);
            return 0;
        }
        view.putInt(ptr + HeapLayout.FREED_MARK, freedMark(ptr));
        CrashPoints.at(HeapPoint.FREE_MARKED);
        return clearInUse(ptr, index);
    }

    /**
     * Clears the in-use bit of {@code ptr} (index {@code index} in its page). Of two frees of one
     * object exactly one clears it; the other is counted as a double free and does nothing more.
     *
     * @return the bitmap word as it was before, its bit set; 0 if the bit was clear (a double free)
     */
    private long clearInUse(final int ptr, final int index) {
        final int page = ptr & ~(Geometry.PAGE_SIZE - 1);
        final long bit = HeapLayout.bit(index);
        final long word = view.getAndBitwiseAndLong(page + HeapLayout.bitmapWord(index), ~bit);
        if ((word & bit) == 0) {
            // Already free (or being freed right now by another caller): the one that cleared the
            // bit pushes it, this call does nothing.
            view.getAndAddLong(meta + HeapLayout.DOUBLE_FREES, 1);
            return 0;
        }
        CrashPoints.at(HeapPoint.FREE_CLEARED);
        return word;
    }

    private void freeSmall(final int ptr, final int c) {
        final long word = markAndClear(ptr, c);
        if (word == 0) {
            return;
        }
        // Whether the page looks empty now is read before the push: until the object is on the
        // free stack it keeps its page from being trimmed, so no write here lands on a page given
        // back meanwhile.
        final boolean trimNow = emptied(ptr, c, word) && secondEmptyPage(c, ptr & ~(Geometry.PAGE_SIZE - 1));
        push(c, ptr, ptr);
        CrashPoints.at(HeapPoint.FREE_PUSHED);
        if (trimNow) {
            trim(c);
        }
    }

    /**
     * Pushes {@code count} freed objects of class {@code c} at once, already linked from
     * {@code objects[0]} to {@code objects[count - 1]} (their in-use bits cleared): a local heap's
     * give-back. Trims as a free does when {@code emptiedPage} (0: none), a page one of the local
     * heap's frees left with no object in use, still has none: only such a free counts, as on the
     * shared path, not every page that looks empty (a page whose free objects some local heap keeps
     * looks empty for as long as they are kept, and a trim walks the whole stack).
     */
    void pushFreed(final int c, final int[] objects, final int count, final int emptiedPage) {
        // Read before the push, as a single free reads it (see freeSmall).
        final boolean trimNow = emptiedPage != 0 && bitmapEmpty(emptiedPage, HeapLayout.bitmapWords(c))
            && secondEmptyPage(c, emptiedPage);
        push(c, objects[0], objects[count - 1]);
        CrashPoints.at(HeapPoint.FREE_PUSHED);
        if (trimNow) {
            trim(c);
        }
    }

    /**
     * @return whether the free of {@code ptr} (class {@code c}) that cleared its bit out of bitmap
     * word {@code word} left its page with no object in use
     */
    boolean emptied(final int ptr, final int c, final long word) {
        // The word held the object's bit: held no other if it is a power of two. Classes of 64
        // bytes and more fit one bitmap word, which then says it all.
        final int words = HeapLayout.bitmapWords(c);
        return (word & (word - 1)) == 0 && (words == 1 || bitmapEmpty(ptr & ~(Geometry.PAGE_SIZE - 1), words));
    }

    /**
     * {@code page} of class {@code c} just looked empty. The class keeps one empty page, named by
     * its EMPTY_PAGE hint: if the hint names {@code page}, nothing to do; if it names no page, or
     * one that is no longer an empty slab page of the class (an allocation took from it since,
     * which does not update the hint), {@code page} becomes the one kept; if it names another page
     * still empty, there are two: trim.
     *
     * @return whether a trim is due
     */
    private boolean secondEmptyPage(final int c, final int page) {
        final int word = emptyPage(c);
        final int kept = view.getIntAcquire(word);
        if (kept == page) {
            return false;
        }
        if (kept != 0 && (kept & (Geometry.PAGE_SIZE - 1)) == 0 && inUserPages(kept) && isSlab(kept)
            && view.getInt(kept + HeapLayout.CLASS) == c && bitmapEmpty(kept, HeapLayout.bitmapWords(c))) {
            return true;
        }
        view.compareAndSetInt(word, kept, page); // lost to another free: its page is kept instead
        return false;
    }

    private void freeLarge(final int page) {
        // One CAS decides which of two frees of the object gives its pages back.
        if (!view.compareAndSetInt(page + HeapLayout.MAGIC, HeapLayout.MAGIC_LARGE, HeapLayout.MAGIC_LARGE_FREED)) {
            view.getAndAddLong(meta + HeapLayout.DOUBLE_FREES, 1);
            return;
        }
        giveBackLarge(page, largePages(page));
    }

    /**
     * Gives back the {@code pages} of a large object marked freed, in one crash-safe step: its
     * page pointer goes into its SELF word and the pages are freed from that word
     * ({@link SharedArena#freePagesFrom}), so a process killed at any instant leaves either every
     * page allocated, the header still naming them all (check reports it, repair gives them back),
     * or every page free. Freed one page after another, a kill partway left the pages after the
     * header's allocated, named by nothing, lost for good. Waits for the allocator's lock up to
     * {@link #GIVE_BACK_NANOS}.
     *
     * @return whether the pages were given back (false: the lock was not had in time; the object
     * stays marked freed, and the heap's repair gives its pages back)
     */
    boolean giveBackLarge(final int page, final int pages) {
        view.putIntRelease(page + HeapLayout.LARGE_SELF, page);
        CrashPoints.at(HeapPoint.LARGE_FREEING);
        final long deadline = System.nanoTime() + GIVE_BACK_NANOS;
        do {
            if (arena.freePagesFrom(page + HeapLayout.LARGE_SELF, pages)) {
                return true;
            }
        } while (System.nanoTime() - deadline < 0);
        return false;
    }

    /**
     * @return the page count of the large object at {@code page}
     * @throws ArenaCorruptedException if it leaves the user pages or disagrees with its check
     */
    private int largePages(final int page) {
        final int pages = view.getInt(page + HeapLayout.PAGES);
        if (!largePagesSound(page, pages)) {
            throw corrupted("heap large object page count", pages, "page=" + Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE);
        }
        return pages;
    }

    /** @return whether {@code pages}, read from the large object at {@code page}, lies in the user pages and agrees with its check */
    boolean largePagesSound(final int page, final int pages) {
        return Pages.inUserRange(arena, page, pages) && view.getInt(page + HeapLayout.PAGES_CHECK) == HeapLayout.pagesCheck(pages, key);
    }

    /**
     * @return the bytes usable at {@code ptr}: its class size, or the large object's room
     * @throws IllegalArgumentException if {@code ptr} is not an object start of this heap
     */
    public int usableSize(final int ptr) {
        if (!inUserPages(ptr)) {
            throw notAnObject(ptr);
        }
        final int page = ptr & ~(Geometry.PAGE_SIZE - 1);
        final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
        if (magic == HeapLayout.MAGIC_LARGE && ptr == page + HeapLayout.LARGE_HEADER && largeNamesUs(page)) {
            // In longs: an object of 2^31 - 64 bytes spans 2^19 pages, whose bytes overflow an int.
            return (int) Math.min(Integer.MAX_VALUE, (long) largePages(page) * Geometry.PAGE_SIZE - HeapLayout.LARGE_HEADER);
        }
        if (magic == HeapLayout.MAGIC_SLAB) {
            final int c = view.getInt(page + HeapLayout.CLASS);
            if (c >= 0 && c < HeapLayout.SIZES.length && slabIndex(ptr, c) >= 0) {
                return HeapLayout.SIZES[c];
            }
        }
        throw notAnObject(ptr);
    }

    /**
     * @return a front end for the calling thread that keeps the objects it frees for its own next
     * allocations ({@link LocalHeap}); close it in the same thread
     * @throws IllegalStateException if the arena is open read-only
     */
    public LocalHeap local() {
        return new LocalHeap(this);
    }

    /** @return this attachment's process token; 0 if it is read-only (it keeps nothing then) */
    long processTokenOrZero() {
        try {
            return ownership().process();
        } catch (final IllegalStateException readOnly) {
            return 0;
        }
    }

    /** @return the mark a local heap of the process whose token is {@code process} writes into each object it keeps */
    static long keptMark(final long process, final long key) {
        return process ^ key;
    }

    /**
     * @return the process token the first 8 bytes of a free object, {@code word}, name if they are a
     * local heap's mark: a whole process's token (no thread) once unmasked; 0 if they are not
     */
    long keptBy(final long word) {
        final long token = word ^ key;
        return token != 0 && OwnerToken.thread(token) == 0 && OwnerToken.generation(token) != 0 ? token : 0;
    }

    /** @return frees of already-free objects detected (and ignored) since the heap was created */
    public long doubleFrees() {
        return view.getLongAcquire(meta + HeapLayout.DOUBLE_FREES);
    }

    /**
     * Gives back empty slab pages of class {@code c}, keeping one: takes the class's whole free
     * stack, retires and frees every page all of whose objects it holds, pushes the rest back.
     * Rare: runs when a second page of the class becomes empty. A stack found corrupted is left
     * taken (its objects are reclaimed by {@link #repair()}) and reported.
     */
    private void trim(final int c) {
        final int headWord = head(c);
        long head;
        do {
            head = view.getLongAcquire(headWord);
        } while (!view.compareAndSetLong(headWord, head, tagged(head, 0)));
        CrashPoints.at(HeapPoint.TRIM_TAKEN);
        final Map<Integer, Integer> freeIn = new HashMap<>();
        final Set<Integer> seen = new HashSet<>();
        for (int obj = (int) head; obj != 0; obj = view.getInt(obj)) {
            if (slabIndex(obj, c) < 0) {
                throw corrupted(STRUCTURE, obj, "class=" + c + ", in trim");
            }
            if (!seen.add(obj)) {
                throw corrupted(STRUCTURE, obj, "class=" + c + ", listed twice (a cycle), in trim");
            }
            freeIn.merge(obj & ~(Geometry.PAGE_SIZE - 1), 1, Integer::sum);
        }
        int kept = -1;
        final Set<Integer> release = new HashSet<>();
        final int perPage = HeapLayout.objectsPerSlab(c);
        for (final Map.Entry<Integer, Integer> e : freeIn.entrySet()) {
            // A page a refill slot still names stays (read after the stack was taken: a refill lets
            // go of its page only after pushing it, so one pushed before the take is seen here or
            // already let go of). Its refill may die: the next claimer of the slot finds the page
            // still this class's slab, not given back and reused by someone else.
            if (e.getValue() == perPage && !inRefillSlot(c, e.getKey())) {
                if (kept == -1) {
                    kept = e.getKey();
                } else {
                    release.add(e.getKey());
                }
            }
        }
        int first = 0;
        int last = 0;
        for (int obj = (int) head; obj != 0; ) {
            final int next = view.getInt(obj);
            if (!release.contains(obj & ~(Geometry.PAGE_SIZE - 1))) {
                if (first == 0) {
                    first = obj;
                } else {
                    view.putInt(last, obj);
                }
                last = obj;
            }
            obj = next;
        }
        if (first != 0) {
            push(c, first, last);
        }
        CrashPoints.at(HeapPoint.TRIM_PUSHED_BACK);
        for (final int page : release) {
            // Retired first: a late free of one of its objects now reads "already free", and a
            // repair after a kill right here gives the page back.
            view.putIntRelease(page + HeapLayout.MAGIC, HeapLayout.MAGIC_RETIRED);
            CrashPoints.at(HeapPoint.TRIM_RETIRED);
            arena.freePages(page, 1);
        }
        // The hint names the page kept (a plain store: a hint, checked before it is trusted).
        view.putIntRelease(emptyPage(c), kept == -1 ? 0 : kept);
    }

    /**
     * Verifies the heap, read-only: every free-stack entry is a free object start in an allocated
     * slab page of its class, none is listed twice, no stack is cyclic; every object whose bit says
     * free is on its stack; no page is left retired or a large object half-freed. Exact only on a
     * quiet heap.
     *
     * @return the violations, one line each
     */
    public List<String> check() {
        return new HeapRepair(this).check();
    }

    /**
     * Repairs the heap: rebuilds every class's free stack from the slab pages' in-use bitmaps (so
     * objects lost in transit by a killed process come back, and a corrupted stack is replaced),
     * recounts the hints, gives back retired pages and half-freed large objects, and drops from the
     * heap (leaving them allocated, and saying so) slab pages whose header is corrupted. Afterwards
     * {@link #check()} reports nothing. Run it on a quiet heap: no process allocating or freeing.
     *
     * @return what was changed or lost, one line each; empty if nothing was wrong
     */
    public List<String> repair() {
        return new HeapRepair(this).repair();
    }

    /**
     * Checks the arena's heap, if it has one, including its metadata pointer. Never throws for
     * corruption: it is what this reports.
     *
     * @return the violations, one line each
     */
    public static List<String> check(final SharedArena arena) {
        final Optional<Integer> meta = rootValue(arena);
        if (meta.isEmpty() || metaProblem(arena, meta.get()) != null) {
            final int lost = lostHeap(arena, meta.orElse(0));
            if (lost != 0) {
                return List.of("heap metadata no root leads to: page=" + Integer.toUnsignedLong(lost) / Geometry.PAGE_SIZE
                    + ", root=0x" + Integer.toHexString(meta.orElse(0)));
            }
        }
        if (meta.isEmpty()) {
            return List.of();
        }
        final String problem = metaProblem(arena, meta.get());
        if (problem != null) {
            return List.of("heap metadata corrupted: " + problem);
        }
        return new ObjectHeap(arena, meta.get()).check();
    }

    /**
     * Adds to {@code into} the pages the heap at {@code meta} holds, read from the pages themselves
     * whatever state the page table gives them: the metadata page, every slab page and large object
     * whose header carries the heap's magic and its metadata pointer or its page key (a stray write
     * may have hit the other, which the heap's repair then mends or reports), and the page each
     * refill in flight names. For a repair to keep allocated ({@code IpcCheck.heldPages}): a page
     * table entry a stray write turned FREE would otherwise have the page punched out and handed to
     * a second owner while its objects are still in use. A page the heap gave back carries another
     * mark (retired, freed large object) or none (an unformatted refill page), so no free page is
     * taken for the heap's. Only pages whose storage holds data are read (a scan faulting in every
     * hole of a sparse file would give it memory on tmpfs); none when the file system cannot say.
     *
     * @return whether {@code meta} is a sound heap's metadata page (nothing is added otherwise)
     */
    public static boolean heldPages(final SharedArena arena, final int meta, final java.util.BitSet into) {
        return heldPages(arena, meta, into, false);
    }

    /**
     * {@link #heldPages(SharedArena, int, java.util.BitSet)}, or with {@code bothMarks} only the
     * pages whose header carries the heap's magic, its metadata pointer and its page key: the pages
     * the heap holds beyond doubt, for telling which structure's pages another structure's pointer
     * names (a message in a channel's ring may carry one mark; all three only a copy of a heap page).
     */
    public static boolean heldPages(final SharedArena arena, final int meta, final java.util.BitSet into,
                                    final boolean bothMarks) {
        if (metaProblem(arena, meta) != null) {
            return false;
        }
        final ObjectHeap heap = new ObjectHeap(arena, meta);
        final long metaPage = Integer.toUnsignedLong(meta) / Geometry.PAGE_SIZE;
        into.set((int) metaPage);
        for (int c = 0; c < HeapLayout.SIZES.length; c++) {
            for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
                final int page = heap.view.getIntAcquire(heap.refillSlot(c, i) + HeapLayout.REFILL_PAGE);
                if (page != 0 && Pages.inUserRange(arena, page, 1)
                    && (heap.isSlab(page) ? heap.view.getInt(page + HeapLayout.CLASS) == c : heap.unformattedRefill(c, page))) {
                    into.set((int) (Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE));
                }
            }
        }
        final java.util.BitSet withData = ArenaInternals.pagesWithData(arena);
        if (withData == null) {
            return true;
        }
        final java.util.BitSet others = (java.util.BitSet) into.clone();
        for (int p = withData.nextSetBit((int) arena.firstUserPage()); p >= 0 && p < arena.capacityPages();
             p = withData.nextSetBit(p + 1)) {
            if (others.get(p)) {
                continue; // another structure's (a store's values may carry anything)
            }
            final int page = (int) (p * (long) Geometry.PAGE_SIZE);
            final int magic = heap.view.getIntAcquire(page + HeapLayout.MAGIC);
            // One of the two marks is enough to keep a page allocated (a stray write may have hit the
            // other): a page kept that was not the heap's is a leak; one freed that was, a double owner.
            if (magic == HeapLayout.MAGIC_SLAB && marked(heap.view.getInt(page + HeapLayout.HEAP) == meta,
                heap.view.getLong(page + HeapLayout.KEY) == heap.key, bothMarks)) {
                into.set(p);
            } else if (magic == HeapLayout.MAGIC_LARGE && marked(heap.view.getInt(page + HeapLayout.LARGE_HEAP) == meta,
                heap.view.getLong(page + HeapLayout.LARGE_KEY) == heap.key, bothMarks)) {
                final int pages = heap.view.getInt(page + HeapLayout.PAGES);
                if (heap.largePagesSound(page, pages)) {
                    into.set(p, p + pages);
                    p += pages - 1; // the object's own bytes are its caller's
                }
            }
        }
        return true;
    }

    private static boolean marked(final boolean meta, final boolean key, final boolean both) {
        return both ? meta && key : meta || key;
    }

    /**
     * Repairs the arena's heap, if it has one: a metadata pointer outside the arena is dropped from
     * the roots (the heap is lost, and said); a metadata page with a bad magic is formatted anew,
     * unless another structure holds it (the named-roots directory, or the page another root names:
     * the heap is dropped then, that page left alone); then {@link #repair()}. Refused while another
     * live process is attached to the arena: the rebuild of the free stacks is only safe on a quiet
     * heap. To keep it quiet, the repair records its thread in the metadata page
     * ({@link HeapLayout#META_REPAIRER}) and checks again: a process that attaches later waits in
     * {@link #of} until the record is gone (or its process is).
     *
     * @return what was changed or lost, one line each
     * @throws IllegalStateException if another live process is attached, or is repairing the heap
     * (nothing changed then)
     */
    public static List<String> repair(final SharedArena arena) {
        final Optional<Integer> meta = rootValue(arena);
        if (meta.isEmpty() || metaProblem(arena, meta.get()) != null) {
            // The root lost or garbled: the heap it led to is found again, objects and all.
            final int lost = lostHeap(arena, meta.orElse(0));
            if (lost != 0) {
                NamedRoots.of(arena).put(ROOT_NAME, lost);
                final List<String> restored = new java.util.ArrayList<>();
                restored.add("heap root " + (meta.isEmpty() ? "missing" : "damaged (0x" + Integer.toHexString(meta.get()) + ")")
                    + ": set to the metadata found at page=" + Integer.toUnsignedLong(lost) / Geometry.PAGE_SIZE);
                restored.addAll(repair(arena));
                return restored;
            }
        }
        if (meta.isEmpty()) {
            return List.of();
        }
        final List<Long> others = ArenaInternals.otherLiveProcesses(arena);
        if (!others.isEmpty()) {
            throw new IllegalStateException("heap not repaired: other live processes are attached and may be using it: pids="
                + others + " (the repair rebuilds the free stacks and needs a quiet heap)");
        }
        final int m = meta.get();
        if (!Pages.inUserRange(arena, m, 1)
            || Pages.state(arena, Integer.toUnsignedLong(m) / Geometry.PAGE_SIZE) != PageEntry.ALLOCATED) {
            NamedRoots.of(arena).compareAndSet(ROOT_NAME, m, 0);
            return List.of("heap dropped, its objects lost: metadata pointer does not name an allocated page: ptr=0x"
                + Integer.toHexString(m));
        }
        final String owner = metaProblem(arena, m) == null ? null : otherOwner(arena, m);
        if (owner != null) {
            // A page without the heap's magic that another structure holds was never the heap's: a
            // garbled root. Formatting it anew would wipe that structure.
            NamedRoots.of(arena).compareAndSet(ROOT_NAME, m, 0);
            return List.of("heap dropped, its objects lost: metadata pointer names " + owner + ", left to it: ptr=0x"
                + Integer.toHexString(m));
        }
        // Recorded before the quiet heap is checked again: a process attaching from now on waits in
        // of() until the repair is done; one attached before the record is among the others.
        final Ownership me = ArenaInternals.ownership(arena);
        final long token = me.mine();
        final int repairer = m + HeapLayout.META_REPAIRER;
        final long was = arena.raw().getLongAcquire(repairer);
        final boolean stray = was != 0 && OwnerToken.thread(was) == 0;
        if (!(was == 0 ? me.claim(arena.raw().segment(), Integer.toUnsignedLong(repairer), token)
            : stray ? arena.raw().compareAndSetLong(repairer, was, token)
            : me.isMine(was) || me.takeOver(arena.raw().segment(), Integer.toUnsignedLong(repairer), was, token))) {
            throw new IllegalStateException("heap not repaired: a live process is repairing it: pid=" + me.pidOf(was));
        }
        try {
            final List<Long> attached = ArenaInternals.otherLiveProcesses(arena);
            if (!attached.isEmpty()) {
                throw new IllegalStateException("heap not repaired: other live processes attached meanwhile: pids="
                    + attached + " (the repair rebuilds the free stacks and needs a quiet heap)");
            }
            return repairQuiet(arena, m, token);
        } finally {
            arena.raw().compareAndSetLong(repairer, token, 0L);
        }
    }

    /** {@link #repair(SharedArena)} of the heap at {@code m}, this process recorded as its repairer with {@code token}. */
    private static List<String> repairQuiet(final SharedArena arena, final int m, final long token) {
        final List<String> done = new java.util.ArrayList<>();
        final boolean anew = arena.raw().getIntAcquire(m + HeapLayout.META_MAGIC) != HeapLayout.META_MAGIC_VALUE;
        if (anew || keyProblem(arena, m) != null) {
            // The pages keep the key: without it, none of them would be the heap's any more.
            final long[] found = HeapRepair.keyOfPages(arena, m);
            if (anew) {
                arena.raw().fill(m, Geometry.PAGE_SIZE, (byte) 0);
                // The record again, before the magic: until then no process takes the page for a heap.
                arena.raw().putLongRelease(m + HeapLayout.META_REPAIRER, token);
                done.add("heap metadata page formatted anew (free stacks rebuilt below): page="
                    + Integer.toUnsignedLong(m) / Geometry.PAGE_SIZE);
            }
            writeKey(arena, m, found[0] != 0 ? found[0] : newKey());
            done.add(found[0] != 0
                ? "heap page key restored from its pages: " + found[1] + " of " + found[2] + " page headers agree"
                : "heap page key made anew: no page header names the heap");
            arena.raw().putIntRelease(m + HeapLayout.META_MAGIC, HeapLayout.META_MAGIC_VALUE);
        }
        done.addAll(new ObjectHeap(arena, m).repair());
        return done;
    }

    /**
     * @return which other structure holds page-aligned {@code meta}'s page (the named-roots directory,
     * or the structure another root names), or null
     */
    private static String otherOwner(final SharedArena arena, final int meta) {
        final long page = Integer.toUnsignedLong(meta) / Geometry.PAGE_SIZE;
        final long dir = Integer.toUnsignedLong(ArenaInternals.rootsDirectory(arena)) / Geometry.PAGE_SIZE;
        if (dir != 0 && page >= dir && page < dir + io.sharena.ipc.layout.RootsLayout.PAGES) {
            return "the named-roots directory";
        }
        for (final var root : NamedRoots.existing(arena).map(NamedRoots::list).orElse(Map.of()).entrySet()) {
            if (!root.getKey().equals(ROOT_NAME) && Integer.toUnsignedLong(root.getValue()) / Geometry.PAGE_SIZE == page) {
                return "the structure of root " + root.getKey();
            }
        }
        return null;
    }

    /** @return the pids of live processes other than this one registered in the arena */
    /**
     * @return the heap root's value, if the arena has roots and a finished heap; empty when the roots
     * are unusable, or while the heap is being created (the roots' check names a dead creator's)
     */
    /**
     * @return the one heap metadata page in the arena other than {@code current} (its page
     * allocated, its magic and page key whole), or 0 if there is none or more than one: a heap root
     * a stray write removed, zeroed or garbled would otherwise lose the heap, and a second heap be
     * made beside it. Reads the pages whose storage holds data (every allocated page where the file
     * system cannot say), outside the stores' regions.
     */
    static int lostHeap(final SharedArena arena, final int current) {
        return Pages.onlyPage(arena, current, page -> arena.raw().getIntAcquire(page + HeapLayout.META_MAGIC)
            == HeapLayout.META_MAGIC_VALUE && metaProblem(arena, page) == null);
    }

    private static Optional<Integer> rootValue(final SharedArena arena) {
        try {
            return NamedRoots.existing(arena).map(r -> r.getFinished(ROOT_NAME)).filter(m -> m != 0);
        } catch (final ArenaCorruptedException rootsBroken) {
            return Optional.empty(); // the roots' own check reports it
        }
    }
}
