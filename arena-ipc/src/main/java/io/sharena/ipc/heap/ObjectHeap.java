package io.sharena.ipc.heap;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.HeapLayout;

import java.util.HashMap;
import java.util.Map;

/**
 * A size-classed allocator of objects from 8 bytes to many pages, in the arena, shared by every
 * process: build a list or a hash table in one process, walk it in another through arena pointers.
 *
 * <pre>{@code
 * ObjectHeap heap = ObjectHeap.of(arena);   // the arena's heap, found through the named roots
 * int node = heap.allocate(16);             // zeroed; 0 when out of memory
 * heap.free(node);                          // from any process
 * }</pre>
 *
 * <p><b>Size classes</b> ({@link HeapLayout#SIZES}): 26 classes from 8 to 2048 bytes: steps of 8 or
 * 16 bytes up to 64, then each class at most 25 % above the last, so from 64 bytes on at most 20 %
 * of an object is rounding. Small objects live in slab
 * pages of one class with a 64-byte header and no per-object header: 64-byte objects cost
 * 4096 / 63 = 65.0 bytes each (1.6 % overhead). Larger objects get their own page run with a
 * 64-byte header; the pointer is 64 bytes into the first page.
 *
 * <p><b>Concurrency</b>: each class has one lock-free stack of free objects (Treiber stack, CAS on a
 * version-tagged head, ABA-safe), shared by all processes. allocate pops, free pushes; an empty
 * stack is refilled with a fresh slab page from the page allocator (lock-free itself in the common
 * case). When a free leaves a second page of a class with no object in use, the class is trimmed:
 * its free stack is taken whole, every page all of whose objects are in it, but one, is given back to
 * the page allocator, and the rest is pushed back.
 *
 * <p><b>Crash model</b>: every step that publishes is one CAS. A process killed between popping an
 * object and using it loses that object; killed while refilling, it loses that page (allocated,
 * never linked). A process killed in the middle of a trim loses the free objects it had taken (a
 * leak, not an inconsistency). Objects in use are never touched by any of this, so the heap stays
 * consistent: {@link #check()} verifies it.
 *
 * <p>Misuse (freeing a pointer that is not an object start of this heap) throws
 * {@link IllegalArgumentException}. A double free is not detected (as with {@code free(3)}); it
 * cannot crash the JVM, but it corrupts the class's free stack.
 */
public final class ObjectHeap {
    public static final String ROOT_NAME = "sharena.heap";
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

    private final SharedArena arena;
    private final ArenaView view;
    private final int meta;

    private ObjectHeap(final SharedArena arena, final int meta) {
        this.arena = arena;
        this.view = arena.raw();
        this.meta = meta;
    }

    /** @return the arena's heap, created on first use and found by every process through the named roots */
    public static ObjectHeap of(final SharedArena arena) {
        final NamedRoots roots = NamedRoots.of(arena);
        int meta = roots.get(ROOT_NAME);
        if (meta == 0) {
            final int fresh = Pages.allocate(arena, 1, Pages.SETUP_TIMEOUT_NANOS);
            if (fresh == 0) {
                throw new IllegalStateException("no room for the heap's metadata page: path=" + arena.path());
            }
            if (roots.compareAndSet(ROOT_NAME, 0, fresh)) {
                meta = fresh;
            } else {
                arena.freePages(fresh, 1);
                meta = roots.get(ROOT_NAME);
            }
        }
        return new ObjectHeap(arena, meta);
    }

    /** @return the arena's heap if it has one, without creating it (for read-only tools) */
    public static java.util.Optional<ObjectHeap> existing(final SharedArena arena) {
        return NamedRoots.existing(arena).map(r -> r.get(ROOT_NAME)).filter(m -> m != 0)
            .map(m -> new ObjectHeap(arena, m));
    }

    /** @return the size class for {@code size} bytes (1 .. {@link HeapLayout#MAX_SMALL}) */
    static int classOf(final int size) {
        return CLASS_OF[(size + 7) >>> 3];
    }

    private int head(final int c) {
        return meta + c * HeapLayout.CLASS_STRIDE + HeapLayout.FREE_HEAD;
    }

    private int emptyPages(final int c) {
        return meta + c * HeapLayout.CLASS_STRIDE + HeapLayout.EMPTY_PAGES;
    }

    private static long tagged(final long oldHead, final int ptr) {
        return ((oldHead >>> 32) + 1) << 32 | Integer.toUnsignedLong(ptr);
    }

    /**
     * @return a zeroed object of at least {@code size} bytes, or 0 when the arena has no room
     * @throws IllegalArgumentException if {@code size <= 0}
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
            // The link may be stale if obj was popped meanwhile; the tag makes that CAS fail.
            final int next = view.getInt(obj);
            if (view.compareAndSetLong(headWord, head, tagged(head, next))) {
                final int page = obj & ~4095;
                if (view.getAndAddInt(page + HeapLayout.IN_USE, 1) == 0) {
                    view.getAndAddInt(emptyPages(c), -1);
                }
                view.fill(obj, HeapLayout.SIZES[c], (byte) 0);
                return obj;
            }
        }
    }

    private int allocateLarge(final int size) {
        final long pages = (size + (long) HeapLayout.HEADER + 4095) >>> 12;
        if (pages > arena.capacityPages()) {
            return 0;
        }
        final int page = arena.allocPages((int) pages);
        if (page == 0) {
            return 0;
        }
        view.putInt(page + HeapLayout.PAGES, (int) pages);
        view.putIntRelease(page + HeapLayout.MAGIC, HeapLayout.MAGIC_LARGE);
        return page + HeapLayout.HEADER;
    }

    /** Carves a fresh page into objects of class {@code c} and pushes them all with one CAS. */
    private boolean refill(final int c) {
        final int page = arena.allocPages(1);
        if (page == 0) {
            return false;
        }
        final int size = HeapLayout.SIZES[c];
        final int count = (4096 - HeapLayout.HEADER) / size;
        view.putInt(page + HeapLayout.CLASS, c);
        view.putInt(page + HeapLayout.OBJECTS, count);
        view.putInt(page + HeapLayout.IN_USE, 0);
        view.putIntRelease(page + HeapLayout.MAGIC, HeapLayout.MAGIC_SLAB);
        view.getAndAddInt(emptyPages(c), 1); // a fresh page is empty until its first object is taken
        final int first = page + HeapLayout.HEADER;
        final int last = first + (count - 1) * size;
        for (int obj = first; obj < last; obj += size) {
            view.putInt(obj, obj + size);
        }
        final int headWord = head(c);
        while (true) {
            final long head = view.getLongAcquire(headWord);
            view.putInt(last, (int) head);
            // Publishes the page header and every link written above.
            if (view.compareAndSetLong(headWord, head, tagged(head, first))) {
                return true;
            }
        }
    }

    /** Frees an object allocated by any process. NULL does nothing. */
    public void free(final int ptr) {
        if (ptr == 0) {
            return;
        }
        final int page = ptr & ~4095;
        final int magic = magicOf(ptr, page);
        if (magic == HeapLayout.MAGIC_LARGE) {
            arena.freePages(page, view.getInt(page + HeapLayout.PAGES));
            return;
        }
        final int c = view.getInt(page + HeapLayout.CLASS);
        // Count the page down before the push: until the object is on the free stack it keeps its
        // page from being trimmed, so this write cannot land on a page given back meanwhile.
        final boolean trimNow = view.getAndAddInt(page + HeapLayout.IN_USE, -1) == 1
            && view.getAndAddInt(emptyPages(c), 1) >= 1;
        final int headWord = head(c);
        while (true) {
            final long head = view.getLongAcquire(headWord);
            view.putInt(ptr, (int) head);
            if (view.compareAndSetLong(headWord, head, tagged(head, ptr))) {
                break;
            }
        }
        if (trimNow) {
            trim(c);
        }
    }

    /** @return the bytes usable at {@code ptr}: its class size, or the large object's room */
    public int usableSize(final int ptr) {
        final int page = ptr & ~4095;
        if (magicOf(ptr, page) == HeapLayout.MAGIC_LARGE) {
            return view.getInt(page + HeapLayout.PAGES) * 4096 - HeapLayout.HEADER;
        }
        return HeapLayout.SIZES[view.getInt(page + HeapLayout.CLASS)];
    }

    private int magicOf(final int ptr, final int page) {
        if (Long.compareUnsigned(Integer.toUnsignedLong(ptr), arena.capacityBytes()) >= 0 || page == 0) {
            throw new IllegalArgumentException("not an object of this heap: ptr=0x" + Integer.toHexString(ptr));
        }
        final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
        if (magic == HeapLayout.MAGIC_LARGE && ptr == page + HeapLayout.HEADER) {
            return magic;
        }
        if (magic == HeapLayout.MAGIC_SLAB) {
            final int c = view.getInt(page + HeapLayout.CLASS);
            final int offset = ptr - page - HeapLayout.HEADER;
            if (c >= 0 && c < HeapLayout.SIZES.length && offset >= 0 && offset % HeapLayout.SIZES[c] == 0
                && offset / HeapLayout.SIZES[c] < view.getInt(page + HeapLayout.OBJECTS)) {
                return magic;
            }
        }
        throw new IllegalArgumentException("not an object of this heap: ptr=0x" + Integer.toHexString(ptr));
    }

    /**
     * Gives back empty slab pages of class {@code c}, keeping one: takes the class's whole free
     * stack, frees every page all of whose objects it holds, pushes the rest back. Rare: runs when
     * a second page of the class becomes empty.
     */
    private void trim(final int c) {
        final int headWord = head(c);
        long head;
        do {
            head = view.getLongAcquire(headWord);
        } while (!view.compareAndSetLong(headWord, head, tagged(head, 0)));
        final Map<Integer, Integer> freeIn = new HashMap<>();
        final long limit = arena.capacityBytes() / HeapLayout.SIZES[0];
        long steps = 0;
        for (int obj = (int) head; obj != 0 && steps++ < limit; obj = view.getInt(obj)) {
            freeIn.merge(obj & ~4095, 1, Integer::sum);
        }
        int kept = -1;
        final Map<Integer, Boolean> release = new HashMap<>();
        for (final Map.Entry<Integer, Integer> e : freeIn.entrySet()) {
            if (e.getValue() == view.getInt(e.getKey() + HeapLayout.OBJECTS)) {
                if (kept < 0) {
                    kept = e.getKey();
                } else {
                    release.put(e.getKey(), true);
                }
            }
        }
        int first = 0;
        int last = 0;
        steps = 0;
        for (int obj = (int) head; obj != 0 && steps++ < limit; ) {
            final int next = view.getInt(obj);
            if (!release.containsKey(obj & ~4095)) {
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
            while (true) {
                final long h = view.getLongAcquire(headWord);
                view.putInt(last, (int) h);
                if (view.compareAndSetLong(headWord, h, tagged(h, first))) {
                    break;
                }
            }
        }
        for (final int page : release.keySet()) {
            view.putIntRelease(page + HeapLayout.MAGIC, 0);
            arena.freePages(page, 1);
        }
        view.getAndAddInt(emptyPages(c), -release.size());
    }

    /**
     * Verifies the heap, read-only: every free-stack entry is an object start in a slab page of its
     * class, none is listed twice, and no stack is cyclic. Exact only on a quiet heap.
     *
     * @return the violations, one line each
     */
    public java.util.List<String> check() {
        final java.util.List<String> violations = new java.util.ArrayList<>();
        final java.util.Set<Integer> seen = new java.util.HashSet<>();
        final long limit = arena.capacityBytes() / HeapLayout.SIZES[0];
        for (int c = 0; c < HeapLayout.SIZES.length; c++) {
            long steps = 0;
            for (int obj = (int) view.getLongAcquire(head(c)); obj != 0; obj = view.getInt(obj)) {
                if (++steps > limit) {
                    violations.add("heap free stack cyclic: class=" + c);
                    break;
                }
                final int page = obj & ~4095;
                if (view.getIntAcquire(page + HeapLayout.MAGIC) != HeapLayout.MAGIC_SLAB
                    || view.getInt(page + HeapLayout.CLASS) != c
                    || (obj - page - HeapLayout.HEADER) % HeapLayout.SIZES[c] != 0) {
                    violations.add("heap free stack entry not an object of its class: class=" + c + ", ptr=0x"
                        + Integer.toHexString(obj));
                    break;
                }
                if (!seen.add(obj)) {
                    violations.add("heap object free twice: ptr=0x" + Integer.toHexString(obj));
                    break;
                }
            }
        }
        return violations;
    }
}
