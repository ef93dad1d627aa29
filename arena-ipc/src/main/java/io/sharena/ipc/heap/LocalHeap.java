package io.sharena.ipc.heap;

import io.sharena.core.ArenaView;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.layout.HeapLayout;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One thread's front end to an {@link ObjectHeap}, as a confined {@link java.lang.foreign.Arena} is
 * one thread's: it keeps up to {@link #PER_CLASS} objects of each size class that this thread freed,
 * and hands them out again to this thread's next allocations of the class, without the shared free
 * stacks' compare-and-sets or the checks of a pointer read from shared memory.
 *
 * <pre>{@code
 * try (LocalHeap local = heap.local()) {   // in the thread that uses it
 *     int node = local.allocate(64);       // zeroed; 0 when out of memory
 *     local.free(node);                    // kept here for the next allocate(64)
 * }                                        // what it keeps goes back to the shared stacks
 * }</pre>
 *
 * <p>The heap's guarantees stay: objects come zeroed; a free of a free object, from any process or
 * any local heap, is detected and does nothing ({@link ObjectHeap#doubleFrees()}), because a free
 * here clears the object's in-use bit by the same atomic operation as a shared free, before the
 * object is kept; an allocation sets the bit again by one atomic operation. Any process may free
 * an object this local heap handed out, and this one may free any object of the heap. Large
 * objects, and allocations of a class this local heap keeps nothing of, go to the shared heap.
 *
 * <p><b>What it keeps, the shared heap can see.</b> A kept object's in-use bit says free and it is
 * on no free stack; its first 8 bytes hold this process's owner token, masked with the heap's page
 * key. {@link ObjectHeap#check()} counts such an object as kept, not as lost, and
 * {@link ObjectHeap#repair()} leaves it where it is, while its process lives (in the process that
 * checks, only if one of its local heaps lists it: a stray copy of a mark hides nothing there).
 * Once the process is dead (killed with objects kept), check reports them and repair puts them
 * back on their stacks, as it does for a free killed between its bit and its push
 * ({@link HeapPoint}): nothing is lost for good. A full class gives its older half back to the
 * shared stack with one compare-and-set; {@link #close()} gives everything back. A repair and a
 * give-back of everything ({@link #close()} or the cleaner below) never run at once in one
 * process.
 *
 * <p>An allocation hands a kept object out only if its first 8 bytes still hold the mark: one
 * written after its free (by the program, a stray write, or a repair that took it for lost and
 * relinked it) is dropped and {@link io.sharena.core.ArenaCorruptedException} thrown, since it may
 * be on a free stack by then, its page even given to another owner; the next repair reclaims it.
 *
 * <p>A local heap that is dropped unclosed (its thread ended, say) gives back what it kept once the
 * garbage collector finds it unreachable, from a cleaner thread; until then its objects stay kept.
 * If the arena is closed first, they stay marked with the attachment's token, dead once it left:
 * check reports them and repair reclaims them. Every method must be called by the thread that made it ({@link WrongThreadException}
 * otherwise) and, except {@link #close()}, before it is closed ({@link IllegalStateException}).
 */
public final class LocalHeap implements AutoCloseable {
    /** Gives back what local heaps dropped without {@link #close()} kept (exceptions in its thread are ignored). */
    private static final Cleaner CLEANER = Cleaner.create();
    /**
     * Held while everything a local heap kept is given back ({@link #close()}, or the cleaner) and
     * while a repair runs ({@link HeapRepair}): a repair needs a quiet heap, and the cleaner's
     * thread, which this process runs whenever the garbage collector finds a local heap dropped,
     * is not one the caller can keep quiet.
     */
    static final Object GIVING_BACK = new Object();
    /**
     * What every local heap of this process keeps, until it is given back: check and repair ask it
     * which objects marked with this process's token a local heap really keeps (a stray copy of a
     * mark into a lost object must not hide it).
     */
    private static final Set<Kept> OPEN = ConcurrentHashMap.newKeySet();
    /** Objects kept per size class at most; a free into a full class first gives back {@link #GIVE_BACK}. */
    public static final int PER_CLASS = 32;
    static final int GIVE_BACK = PER_CLASS / 2;

    private final ObjectHeap heap;
    private final ArenaView view;
    private final Thread owner;
    /** This process's owner token masked with the heap's page key: the mark of a kept object. */
    private final long mark;
    /** What it keeps, shared with {@link #cleanable}'s action, which must not hold this local heap. */
    private final Kept state;
    private final int[][] kept;
    private final int[] counts;
    private final int[] emptied;
    private final Cleaner.Cleanable cleanable;
    private boolean closed;

    LocalHeap(final ObjectHeap heap) {
        this.heap = heap;
        this.view = heap.view;
        this.owner = Thread.currentThread();
        this.mark = ObjectHeap.keptMark(heap.ownership().process(), heap.key);
        this.state = new Kept(heap, mark);
        this.kept = state.kept;
        this.counts = state.counts;
        this.emptied = state.emptied;
        OPEN.add(state);
        this.cleanable = CLEANER.register(this, state);
    }

    /**
     * @return a zeroed object of at least {@code size} bytes, one this thread freed when it keeps
     * one of the class; 0 when the arena has no room
     * @throws IllegalArgumentException if {@code size <= 0}
     * @throws io.sharena.core.ArenaCorruptedException if a kept object is found written while kept
     * (its mark changed) or in use (a stray write set its bit), or the shared heap finds its metadata
     * corrupted; the kept object is dropped then, not handed out
     */
    public int allocate(final int size) {
        confined();
        if (size <= 0 || size > HeapLayout.MAX_SMALL) {
            return heap.allocate(size);
        }
        final int c = ObjectHeap.classOf(size);
        final int n = counts[c] - 1;
        if (n < 0) {
            return heap.allocate(size);
        }
        final int obj = kept[c][n];
        counts[c] = n;
        // A plain read: the object is this thread's since its free, no one else's to write. A mark
        // changed meanwhile is a stray write, or a repair that took the object for lost (its mark
        // wiped) and relinked it: it may be on a free stack, its page even trimmed and reused.
        if (view.getLong(obj) != mark) {
            throw heap.corrupted("heap object kept by a local heap written while kept", obj, "class=" + c);
        }
        // The freed mark back over the kept mark's upper half, before the bit: a kill from here
        // until the zeroing leaves an object the repair knows for a freed one (off every stack, or
        // in use with its freed mark: an allocation that returned nothing), as on the shared path.
        view.putInt(obj + HeapLayout.FREED_MARK, heap.freedMark(obj));
        CrashPoints.at(HeapPoint.LOCAL_TAKING);
        final int page = obj & ~(Geometry.PAGE_SIZE - 1);
        final int index = HeapLayout.index(obj - page - HeapLayout.SLAB_HEADER, c);
        final long bit = HeapLayout.bit(index);
        if ((view.getAndBitwiseOrLong(page + HeapLayout.bitmapWord(index), bit) & bit) != 0) {
            // Kept as free (its mark whole), found in use: a stray write set the bit. Not handed
            // out; its freed mark lets the next repair free it.
            throw heap.corrupted("heap object kept by a local heap found in use", obj, "class=" + c);
        }
        CrashPoints.at(HeapPoint.LOCAL_TAKEN);
        heap.zero(obj, HeapLayout.SIZES[c]);
        Reference.reachabilityFence(this);
        return obj;
    }

    /**
     * Frees an object of the heap allocated by any process: a small one is kept here for this
     * thread's next allocation of its class. NULL does nothing; so does a pointer whose object is
     * already free.
     *
     * @throws IllegalArgumentException if {@code ptr} is not an object start of this heap
     * @throws io.sharena.core.ArenaCorruptedException if the object's page header is found corrupted
     */
    public void free(final int ptr) {
        confined();
        final int c = heap.classToFree(ptr);
        if (c < 0) {
            return;
        }
        final long word = heap.markAndClear(ptr, c);
        if (word == 0) {
            return;
        }
        if (heap.emptied(ptr, c, word)) {
            emptied[c] = ptr & ~(Geometry.PAGE_SIZE - 1);
        }
        view.putLong(ptr, mark);
        CrashPoints.at(HeapPoint.LOCAL_KEPT);
        try {
            if (counts[c] == PER_CLASS) {
                giveBack(c, GIVE_BACK);
            }
        } finally {
            // Kept even if the give-back throws (its trim met a corrupted stack): cleared and marked
            // with this live process's token, held by no one, it would be lost to repair too.
            kept[c][counts[c]++] = ptr;
            // Reachable to the end: the cleaner must not give back what this call is still moving.
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Gives everything kept back to the shared free stacks; later calls but this one throw. Must be
     * called by the thread that made it.
     *
     * @throws io.sharena.core.ArenaCorruptedException if a give-back's trim finds a free stack
     * corrupted: every class is given back all the same, and the local heap is closed
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        confined();
        closed = true;
        cleanable.clean();
    }

    /**
     * @return the objects of {@code heap} that this process's local heaps keep. Read without their
     * threads' ordering: an object kept or handed out meanwhile may be missed or listed. Missed, a
     * repair relinks it, and its local heap refuses to hand it out (its mark is a link then);
     * listed, it stays off the stacks until the next repair.
     */
    static Set<Integer> keptInThisProcess(final ObjectHeap heap) {
        final Set<Integer> objects = new HashSet<>();
        for (final Kept k : OPEN) {
            if (k.heap.arena == heap.arena && k.heap.meta == heap.meta) {
                for (int c = 0; c < k.counts.length; c++) {
                    for (int i = 0; i < Math.min(k.counts[c], PER_CLASS); i++) {
                        objects.add(k.kept[c][i]);
                    }
                }
            }
        }
        return objects;
    }

    private void giveBack(final int c, final int count) {
        state.giveBack(c, count);
    }

    /**
     * What a local heap keeps, and the action that gives it all back: run by {@link #close()}, or
     * by the cleaner once the local heap is unreachable (its thread ended, or dropped it, without
     * closing it). Either way it runs once, when no thread uses the local heap any more.
     */
    private static final class Kept implements Runnable {
        private final ObjectHeap heap;
        private final int[][] kept = new int[HeapLayout.SIZES.length][PER_CLASS];
        private final int[] counts = new int[HeapLayout.SIZES.length];
        /** What {@link #giveBack} pushes, taken out of {@link #kept} first. */
        private final int[] batch = new int[PER_CLASS];
        /** The mark of the objects this local heap keeps. */
        private final long mark;
        /** Per class, the page a free of the class last left with no object in use, since the last give-back (0: none). */
        private final int[] emptied = new int[HeapLayout.SIZES.length];

        Kept(final ObjectHeap heap, final long mark) {
            this.heap = heap;
            this.mark = mark;
        }

        /**
         * Gives everything back. With the arena closed before, this throws (the cleaner ignores
         * it): what was kept carries the attachment's token, dead once it left, so check reports
         * it and repair reclaims it.
         */
        @Override
        public void run() {
            synchronized (GIVING_BACK) {
                try {
                    giveBackAll();
                } finally {
                    // What a throw left kept is lost now: check reports it, repair reclaims it.
                    OPEN.remove(this);
                }
            }
        }

        private void giveBackAll() {
            RuntimeException first = null;
            for (int c = 0; c < counts.length; c++) {
                if (counts[c] > 0) {
                    // Every class, whatever one throws: this runs once, and what it leaves kept
                    // carries a live process's mark, lost to repair until the process ends.
                    try {
                        giveBack(c, counts[c]);
                    } catch (final RuntimeException e) {
                        if (first == null) {
                            first = e;
                        } else {
                            first.addSuppressed(e);
                        }
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }

        /**
         * Links the {@code count} oldest objects kept of class {@code c} and pushes them with one
         * compare-and-set. They leave what is kept first: whatever is thrown after, none is pushed twice.
         */
        void giveBack(final int c, final int count) {
            final int[] objects = kept[c];
            int n = 0;
            for (int i = 0; i < count; i++) {
                // One whose mark a stray write changed is no longer this heap's to give: a repair
                // may have put it on a stack already, or in use again (its bit set: no mark said free).
                if (heap.view.getLong(objects[i]) == mark) {
                    batch[n++] = objects[i];
                }
            }
            System.arraycopy(objects, count, objects, 0, counts[c] - count);
            counts[c] -= count;
            if (n == 0) {
                return;
            }
            for (int i = 0; i < n; i++) {
                // A long store: the link, and the freed mark over the high half of the kept mark.
                heap.view.putLong(batch[i], (i + 1 < n ? Integer.toUnsignedLong(batch[i + 1]) : 0L)
                    | (long) heap.freedMark(batch[i]) << 32);
            }
            CrashPoints.at(HeapPoint.LOCAL_LINKED);
            final int page = emptied[c];
            emptied[c] = 0;
            heap.pushFreed(c, batch, n, page);
        }
    }

    private void confined() {
        if (Thread.currentThread() != owner) {
            throw new WrongThreadException("local heap used by a thread other than its own: owner=" + owner.getName()
                + ", caller=" + Thread.currentThread().getName());
        }
        if (closed) {
            throw new IllegalStateException("local heap closed");
        }
    }
}
