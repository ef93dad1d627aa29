package io.sharena.ipc.heap;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.owner.Ownership;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.HeapLayout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The heap's check and repair: walks every free stack (bounded: a stack can hold at most every
 * object of its class in the arena; a revisit is a cycle) and every allocated page of the arena
 * that carries the heap's magic, metadata pointer and page key ({@link HeapLayout}), except the
 * pages of the arena's shared stores ({@link Pages#storeRegions}, which the key alone would
 * already keep out): other owners' pages hold bytes from outside (stored values, messages, a
 * user's data), and a page taken for the heap's would be freed, or its memory put on a free stack,
 * while its owner still uses it. Never throws for what it finds: it reports.
 */
final class HeapRepair {
    private final ObjectHeap heap;
    private final SharedArena arena;
    private final ArenaView view;
    /** Whether the process each kept-object mark names lives, asked once per mark in a pass. */
    private final Map<Long, Boolean> liveKeepers = new HashMap<>();
    /** Slab pages whose key a stray write hit, found by the last {@link #check()} through the free stacks. */
    private final Set<Integer> keyHit = new HashSet<>();
    /** The objects the last {@link #check()} found on the free stacks. */
    private final Set<Integer> stacked = new HashSet<>();
    /** The pages refill slots named at the last {@link #check()}: refills in flight, or killed. */
    private final Set<Integer> refilling = new HashSet<>();
    /** What this process's local heaps keep, read once per pass when an object carries this process's mark. */
    private Set<Integer> keptHere;
    /** This attachment's process token (0 if read-only), read with {@link #keptHere}. */
    private long ownToken;

    HeapRepair(final ObjectHeap heap) {
        this.heap = heap;
        this.arena = heap.arena;
        this.view = heap.view;
    }

    private static String hex(final int ptr) {
        return "0x" + Integer.toHexString(ptr);
    }

    /** @return the free objects on class {@code c}'s stack, walking it; problems go to {@code violations} */
    private Set<Integer> walk(final int c, final List<String> violations) {
        final Set<Integer> free = new HashSet<>();
        for (int obj = (int) view.getLongAcquire(heap.head(c)); obj != 0; obj = view.getInt(obj)) {
            int index = heap.slabIndex(obj, c);
            if (index < 0 && (index = keyHitIndex(obj, c)) >= 0) {
                final int page = obj & ~(Geometry.PAGE_SIZE - 1);
                if (keyHit.add(page)) {
                    violations.add("heap slab page's key hit, its free objects on the heap's stack (restored by the repair): page="
                        + Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE + ", class=" + c);
                }
            }
            if (index < 0) {
                violations.add("heap free stack entry not an object of its class: class=" + c + ", ptr=" + hex(obj));
                break;
            }
            if (!free.contains(obj) && !freedMarked(obj)) {
                // Every free and every push writes the mark: this is an object in use a stray write
                // linked in (its in-use bit may be cleared too). Not free: the repair keeps it in use.
                violations.add("heap free stack entry without a free object's mark (an object in use linked in):"
                    + " class=" + c + ", ptr=" + hex(obj));
                break;
            }
            if (!free.add(obj)) {
                violations.add("heap free stack cyclic (object listed twice): class=" + c + ", ptr=" + hex(obj));
                break;
            }
            final int page = obj & ~(Geometry.PAGE_SIZE - 1);
            if ((view.getLongAcquire(page + HeapLayout.bitmapWord(index)) & HeapLayout.bit(index)) != 0) {
                violations.add("heap object both free and in use: class=" + c + ", ptr=" + hex(obj));
            }
        }
        return free;
    }

    /**
     * @return {@code obj}'s index in its page if the heap's free stack of class {@code c} leads to it
     * on a page that is the heap's in all but its key: allocated, the slab magic, the heap's metadata
     * pointer, class {@code c}, a sound header, {@code obj} one of its objects; -1 otherwise. The
     * pointer alone is easy to guess, so a page with another key is not the heap's (its bytes may be
     * anyone's); one the heap's own stack leads into is: a stray write hit its key.
     */
    private int keyHitIndex(final int obj, final int c) {
        final int page = obj & ~(Geometry.PAGE_SIZE - 1);
        if (!Pages.inUserRange(arena, page, 1) || Pages.state(arena, Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE) != PageEntry.ALLOCATED
            || view.getIntAcquire(page + HeapLayout.MAGIC) != HeapLayout.MAGIC_SLAB || view.getInt(page + HeapLayout.HEAP) != heap.meta
            || view.getInt(page + HeapLayout.CLASS) != c || slabHeaderProblem(page) != null) {
            return -1;
        }
        final int offset = obj - page - HeapLayout.SLAB_HEADER;
        final int index = offset < 0 ? -1 : HeapLayout.index(offset, c);
        return index < 0 || index * HeapLayout.SIZES[c] != offset || index >= HeapLayout.objectsPerSlab(c) ? -1 : index;
    }

    /** @return what is wrong with slab page {@code page}'s header, or null */
    private String slabHeaderProblem(final int page) {
        final int c = view.getInt(page + HeapLayout.CLASS);
        if (c < 0 || c >= HeapLayout.SIZES.length) {
            return "class=" + c;
        }
        final int objects = view.getInt(page + HeapLayout.OBJECTS);
        if (objects != HeapLayout.objectsPerSlab(c)) {
            return "objects=" + objects + ", class=" + c;
        }
        for (int w = 0; w < HeapLayout.BITMAP_LONGS; w++) {
            final long word = view.getLongAcquire(page + HeapLayout.BITMAP + w * 8);
            final int valid = Math.max(0, Math.min(64, objects - w * 64));
            final long beyond = valid == 64 ? 0 : word & (-1L << valid);
            if (beyond != 0) {
                return "in-use bits beyond the last object: word=" + w;
            }
        }
        return null;
    }


    /**
     * @return what is wrong with the identity of a page that carries a live heap magic (slab or large
     * object) and the heap's key but another metadata pointer, or null: a stray write into the
     * pointer. The key, which only the arena's processes can know, makes it the heap's page. Such a
     * page used to be neither the heap's nor reported: its objects could not be freed. (One with the
     * heap's pointer but another key may be anyone's bytes, the pointer being easy to guess: it is
     * neither reported nor written, only kept allocated by the tools' repair: {@link ObjectHeap#heldPages}.)
     */
    private String identityProblem(final int page, final int magic) {
        final boolean slab = magic == HeapLayout.MAGIC_SLAB;
        if (!slab && magic != HeapLayout.MAGIC_LARGE) {
            final int lost = lostMagic(page, magic);
            return lost == 0 ? null : (lost == HeapLayout.MAGIC_SLAB ? "slab page" : "large object")
                + ": its magic was hit, its metadata pointer and key are the heap's (restored by the repair): magic=0x"
                + Integer.toHexString(magic);
        }
        final boolean heapField = view.getInt(page + (slab ? HeapLayout.HEAP : HeapLayout.LARGE_HEAP)) == heap.meta;
        final boolean keyField = view.getLong(page + (slab ? HeapLayout.KEY : HeapLayout.LARGE_KEY)) == heap.key;
        if (largeKeyHit(page, magic)) {
            return "large object: its key was hit, its page-count check is keyed with the heap's (restored by the repair)";
        }
        return keyField && !heapField
            ? (slab ? "slab page" : "large object") + ": its key is the heap's, its metadata pointer is not (restored by the repair)"
            : null;
    }

    /**
     * @return whether {@code page} is a large object of this heap whose key word a stray write hit:
     * the large magic, the heap's metadata pointer, another key, and a page count (in range) whose
     * check word is the one the heap's key gives, which only the arena's processes can compute
     */
    private boolean largeKeyHit(final int page, final int magic) {
        if (magic != HeapLayout.MAGIC_LARGE || view.getInt(page + HeapLayout.LARGE_HEAP) != heap.meta
            || view.getLong(page + HeapLayout.LARGE_KEY) == heap.key) {
            return false;
        }
        final int pages = view.getInt(page + HeapLayout.PAGES);
        return pages >= 1 && Pages.inUserRange(arena, page, pages)
            && view.getInt(page + HeapLayout.PAGES_CHECK) == HeapLayout.pagesCheck(pages, heap.key);
    }

    /**
     * @return the magic a page of this heap whose magic word a stray write hit had, or 0 if
     * {@code page} is no such page: a magic none of the heap's own, and both of the page's marks (the
     * metadata pointer and the key, which only the arena's processes know) the heap's, in a slab
     * page's places with a sound header, or in a large object's with a sound page count. A page the
     * repair dropped (magic 0, for a header it could not mend) has neither, so it stays out.
     */
    private int lostMagic(final int page, final int magic) {
        if (magic == HeapLayout.MAGIC_SLAB || magic == HeapLayout.MAGIC_LARGE || magic == HeapLayout.MAGIC_RETIRED
            || magic == HeapLayout.MAGIC_LARGE_FREED) {
            return 0;
        }
        if (view.getInt(page + HeapLayout.HEAP) == heap.meta && view.getLong(page + HeapLayout.KEY) == heap.key
            && slabHeaderProblem(page) == null) {
            return HeapLayout.MAGIC_SLAB;
        }
        if (view.getInt(page + HeapLayout.LARGE_HEAP) == heap.meta && view.getLong(page + HeapLayout.LARGE_KEY) == heap.key
            && heap.largePagesSound(page, view.getInt(page + HeapLayout.PAGES))) {
            // Being freed (its SELF word set) or not.
            return view.getInt(page + HeapLayout.LARGE_SELF) == page ? HeapLayout.MAGIC_LARGE_FREED : HeapLayout.MAGIC_LARGE;
        }
        return 0;
    }

    /**
     * @return the page count of the large object at {@code page} when a stray write hit one of its
     * two words (PAGES, PAGES_CHECK) and only one of the counts they give can be the object's: inside
     * the arena, every page allocated, and none after the first carrying a page header of this heap
     * (the next slab page or large object); 0 when neither or both can (then nothing tells which
     * word was hit: a count too large would give another owner's pages back with the object's)
     */
    private int mendablePages(final int page) {
        final int pages = view.getInt(page + HeapLayout.PAGES);
        final int fromCheck = ~(view.getInt(page + HeapLayout.PAGES_CHECK) ^ (int) (heap.key >>> 32));
        final boolean byCount = couldBeLarge(page, pages);
        final boolean byCheck = couldBeLarge(page, fromCheck);
        if (byCount == byCheck) {
            return 0;
        }
        return byCount ? pages : fromCheck;
    }

    /** @return whether a large object at {@code page} could be {@code pages} pages long (see {@link #mendablePages}) */
    private boolean couldBeLarge(final int page, final int pages) {
        if (pages < 1 || !Pages.inUserRange(arena, page, pages)) {
            return false;
        }
        final long first = Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE;
        for (long p = first; p < first + pages; p++) {
            final int at = (int) (p * Geometry.PAGE_SIZE);
            if (Pages.state(arena, p) != PageEntry.ALLOCATED
                || p > first && (heap.namesUs(at) && view.getInt(at + HeapLayout.MAGIC) == HeapLayout.MAGIC_SLAB
                || heap.largeNamesUs(at) && view.getInt(at + HeapLayout.MAGIC) == HeapLayout.MAGIC_LARGE)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Mends what {@link #identityProblem} finds: the metadata pointer written back.
     *
     * @return what was done, or null if there was nothing to mend
     */
    private String mendIdentity(final int page, final int magic) {
        if (identityProblem(page, magic) == null) {
            return null;
        }
        final int lost = lostMagic(page, magic);
        if (lost != 0) {
            view.putIntRelease(page + HeapLayout.MAGIC, lost);
            return "heap " + (lost == HeapLayout.MAGIC_SLAB ? "slab page" : "large object")
                + "'s magic restored (its metadata pointer and key are the heap's)";
        }
        if (largeKeyHit(page, magic)) {
            view.putLongRelease(page + HeapLayout.LARGE_KEY, heap.key);
            return "heap large object's key restored (its page-count check is keyed with the heap's)";
        }
        final boolean slab = magic == HeapLayout.MAGIC_SLAB;
        view.putIntRelease(page + (slab ? HeapLayout.HEAP : HeapLayout.LARGE_HEAP), heap.meta);
        return "heap " + (slab ? "slab page" : "large object") + "'s metadata pointer restored (its key is the heap's)";
    }

    /**
     * Mends a slab header the heap's own page carries wrong where the rest says what it must be: in-use
     * bits past the last object cleared (no object is there), the object count rewritten from the
     * class, or the class from the object count. One stray write hit one of the two words; which one
     * is told by the count (a count no class has was hit), else by the in-use bits (a class whose
     * last object comes before a set bit was hit). When nothing tells (a count of another class and
     * bits that fit both), nothing is written and the page is left out of the heap, its objects
     * still allocated: mending the wrong word would hand live objects out again, or free them.
     *
     * @return what was mended, or null if nothing could be
     */
    private String mendSlabHeader(final int page) {
        final int c = view.getInt(page + HeapLayout.CLASS);
        final int objects = view.getInt(page + HeapLayout.OBJECTS);
        final boolean classValid = c >= 0 && c < HeapLayout.SIZES.length;
        final int counted = classWithCount(objects);
        final int highest = highestInUseBit(page);
        final int chosen;
        final String mended;
        if (classValid && objects == HeapLayout.objectsPerSlab(c)) {
            chosen = c;
            mended = null;
        } else if (classValid && counted == NO_CLASS) {
            chosen = c; // no class has this count: the count was hit (and bits past the class's last object are strays)
            mended = "object count from its class";
        } else if (!classValid && counted >= 0 && highest < HeapLayout.objectsPerSlab(counted)) {
            chosen = counted;
            mended = "class from its object count";
        } else if (classValid && counted >= 0 && highest >= HeapLayout.objectsPerSlab(c)
            && highest < HeapLayout.objectsPerSlab(counted)) {
            chosen = counted; // an object in use past the class's last one: the class was hit
            mended = "class from its object count (an object in use lies past the class's last one)";
        } else if (classValid && counted >= 0 && highest >= HeapLayout.objectsPerSlab(counted)
            && highest < HeapLayout.objectsPerSlab(c)) {
            chosen = c;
            mended = "object count from its class (an object in use lies past the count's last one)";
        } else {
            return null;
        }
        final List<String> done = new ArrayList<>();
        if (chosen != c) {
            view.putInt(page + HeapLayout.CLASS, chosen);
            done.add(mended);
        } else if (mended != null) {
            view.putInt(page + HeapLayout.OBJECTS, HeapLayout.objectsPerSlab(chosen));
            done.add(mended);
        }
        final int per = HeapLayout.objectsPerSlab(chosen);
        for (int w = 0; w < HeapLayout.BITMAP_LONGS; w++) {
            final int at = page + HeapLayout.BITMAP + w * 8;
            final int valid = Math.max(0, Math.min(64, per - w * 64));
            final long beyond = valid == 64 ? 0 : view.getLongAcquire(at) & (-1L << valid);
            if (beyond != 0) {
                view.getAndBitwiseAndLong(at, ~beyond);
                done.add("in-use bits past the last object cleared in word " + w);
            }
        }
        return done.isEmpty() ? null : String.join(", ", done);
    }

    private static final int NO_CLASS = -1;
    private static final int MANY_CLASSES = -2;

    /** @return the one class whose slabs hold {@code objects} objects, {@link #NO_CLASS} or {@link #MANY_CLASSES} */
    private static int classWithCount(final int objects) {
        int only = NO_CLASS;
        for (int k = 0; k < HeapLayout.SIZES.length; k++) {
            if (HeapLayout.objectsPerSlab(k) == objects) {
                only = only == NO_CLASS ? k : MANY_CLASSES;
            }
        }
        return only;
    }

    /** @return the index of the highest in-use bit of a slab page's bitmap, -1 if none */
    private int highestInUseBit(final int page) {
        for (int w = HeapLayout.BITMAP_LONGS - 1; w >= 0; w--) {
            final long bits = view.getLongAcquire(page + HeapLayout.BITMAP + w * 8);
            if (bits != 0) {
                return w * 64 + 63 - Long.numberOfLeadingZeros(bits);
            }
        }
        return -1;
    }

    List<String> check() {
        keyHit.clear();
        stacked.clear();
        refilling.clear();
        final List<String> violations = new ArrayList<>();
        if (view.getLongAcquire(heap.repairWord) != 0) {
            violations.add("heap marked for repair (corruption was found during use)");
        }
        final List<Set<Integer>> free = new ArrayList<>();
        for (int c = 0; c < HeapLayout.SIZES.length; c++) {
            free.add(walk(c, violations));
            stacked.addAll(free.get(c));
            checkRefillSlots(c, violations);
            for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
                final int page = view.getIntAcquire(heap.refillSlot(c, i) + HeapLayout.REFILL_PAGE);
                if (page != 0) {
                    refilling.add(page);
                }
            }
        }
        final List<long[]> stores = Pages.storeRegions(arena);
        for (long p = candidate(arena.firstUserPage(), stores); p < arena.capacityPages(); p = candidate(p + 1, stores)) {
            final int page = (int) (p * Geometry.PAGE_SIZE);
            final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
            final String identity = identityProblem(page, magic);
            if (identity != null) {
                violations.add("heap page's identity damaged: page=" + p + ", " + identity);
                continue;
            }
            if (magic == HeapLayout.MAGIC_SLAB && heap.namesUs(page)) {
                final String problem = slabHeaderProblem(page);
                if (problem != null) {
                    violations.add("heap slab page header corrupted: page=" + p + ", " + problem);
                    continue;
                }
                final int c = view.getInt(page + HeapLayout.CLASS);
                int lost = 0;
                int cleared = 0;
                int markedInUse = 0;
                for (int i = 0; i < HeapLayout.objectsPerSlab(c); i++) {
                    final boolean inUse = (view.getLongAcquire(page + HeapLayout.bitmapWord(i)) & HeapLayout.bit(i)) != 0;
                    final int obj = page + HeapLayout.SLAB_HEADER + i * HeapLayout.SIZES[c];
                    if (inUse && freedMarked(obj)) {
                        markedInUse++;
                    }
                    if (!inUse && !free.get(c).contains(obj) && !keptByLiveProcess(obj)) {
                        if (freed(obj, page)) {
                            lost++;
                        } else {
                            cleared++;
                        }
                    }
                }
                if (lost > 0) {
                    violations.add("heap objects neither in use nor on the free stack (repair reclaims them): page="
                        + p + ", class=" + c + ", objects=" + lost);
                }
                if (cleared > 0) {
                    violations.add("heap objects whose in-use bit is clear but that carry no free object's mark (a stray"
                        + " write cleared it; the repair sets it again): page=" + p + ", class=" + c + ", objects=" + cleared);
                }
                if (markedInUse > 0) {
                    violations.add("heap objects in use that carry a free object's mark (a free or an allocation killed"
                        + " halfway, or a stray write set the bit; the repair frees them): page=" + p + ", class=" + c
                        + ", objects=" + markedInUse);
                }
            } else if (magic == HeapLayout.MAGIC_LARGE && heap.largeNamesUs(page)) {
                final int pages = view.getInt(page + HeapLayout.PAGES);
                if (!heap.largePagesSound(page, pages)) {
                    violations.add("heap large object page count out of range or disagreeing with its check: page=" + p
                        + ", pages=" + pages + (mendablePages(page) != 0 ? " (the repair restores it from the other word)" : ""));
                } else {
                    p += pages - 1;
                }
            } else if (magic == HeapLayout.MAGIC_RETIRED && heap.namesUs(page)) {
                violations.add("heap page retired but not given back: page=" + p);
            } else if (magic == HeapLayout.MAGIC_LARGE_FREED && heap.largeNamesUs(page)) {
                violations.add("heap large object freed but its pages not given back: page=" + p);
            }
        }
        return violations;
    }

    /**
     * @return whether object {@code obj} of slab page {@code page}, its in-use bit clear and on no
     * free stack, was freed (or popped by an allocation) by a process killed before its next step:
     * it carries its freed mark, or a local heap's kept mark, or its page is a refill's that has not
     * pushed its objects yet. Otherwise its bit was cleared by a stray write while it is in use.
     */
    private boolean freed(final int obj, final int page) {
        return freedMarked(obj) || heap.keptBy(view.getLong(obj)) != 0 || refilling.contains(page);
    }

    /** @return whether object {@code obj} carries its freed mark (an allocation's zeroing clears it) */
    private boolean freedMarked(final int obj) {
        return view.getInt(obj + HeapLayout.FREED_MARK) == heap.freedMark(obj);
    }

    /**
     * @return whether free object {@code obj} (on no stack) carries the mark of a {@link LocalHeap}
     * of a process that still lives: kept for that process's next allocation, not lost
     */
    private boolean keptByLiveProcess(final int obj) {
        final long token = heap.keptBy(view.getLong(obj));
        if (token == 0) {
            return false;
        }
        if (keptHere == null) {
            // Once per pass: a read-only attachment's token is asked for by a throw.
            ownToken = heap.processTokenOrZero();
            keptHere = LocalHeap.keptInThisProcess(heap);
        }
        if (token == ownToken) {
            // This process's mark: kept only if one of its local heaps says so.
            return keptHere.contains(obj);
        }
        return liveKeepers.computeIfAbsent(token, t -> ArenaInternals.registry(arena).isOwnerAlive(t));
    }

    /** @return whether refill slot {@code slot} is left by a refill no longer running: no owner, or a dead one */
    private boolean abandoned(final int slot) {
        final long owner = view.getLongAcquire(slot + HeapLayout.REFILL_OWNER);
        return owner == 0 || !ArenaInternals.registry(arena).isOwnerAlive(owner);
    }

    /**
     * Reports class {@code c}'s refill slots that name a page no live refill is formatting: a page in
     * transit that only the slot knows. (A slot left naming one of the class's slab pages loses
     * nothing: the page is the heap's; the next refill that takes the slot lets go of it.)
     */
    private void checkRefillSlots(final int c, final List<String> violations) {
        for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
            final int slot = heap.refillSlot(c, i);
            final int page = view.getIntAcquire(slot + HeapLayout.REFILL_PAGE);
            if (page == 0 || !abandoned(slot)) {
                continue;
            }
            final boolean notAPage = !Pages.inUserRange(arena, page, 1);
            if (notAPage || !heap.isSlab(page) || view.getInt(page + HeapLayout.CLASS) != c) {
                violations.add("heap refill slot names a page its dead refill left in transit (repair settles it): class="
                    + c + ", slot=" + i + ", page=" + (Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE)
                    + (notAPage ? " (not a page: corrupted)" : ""));
            }
        }
    }

    /**
     * Settles every refill slot a dead refill left naming a page, before the scan: an unformatted
     * page goes back to the allocator, a formatted one stays to the scan; a slot naming what no
     * refill can have allocated is cleared, freeing nothing.
     */
    private void settleRefillSlots(final List<String> done) {
        final Ownership ownership = heap.ownership();
        final long token = ownership.mine();
        for (int c = 0; c < HeapLayout.SIZES.length; c++) {
            for (int i = 0; i < HeapLayout.REFILL_SLOTS; i++) {
                final int slot = heap.refillSlot(c, i);
                final int word = slot + HeapLayout.REFILL_PAGE;
                final int page = view.getIntAcquire(word);
                if (page == 0 || !abandoned(slot)) {
                    continue;
                }
                final long owner = view.getLongAcquire(slot + HeapLayout.REFILL_OWNER);
                if (!(owner == 0 ? ownership.claim(view.segment(), Integer.toUnsignedLong(slot), token)
                    : ownership.takeOver(view.segment(), Integer.toUnsignedLong(slot), owner, token))) {
                    continue;
                }
                try {
                    final long pageNumber = Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE;
                    final boolean formatted = Pages.inUserRange(arena, page, 1) && heap.isSlab(page);
                    String what;
                    try {
                        what = heap.settle(c, slot) ? (formatted ? "its slab page kept" : "its unformatted page given back")
                            : "not settled (the allocator's lock was busy)";
                    } catch (final ArenaCorruptedException e) {
                        view.putIntRelease(word, 0);
                        what = "cleared, nothing freed: it named what no refill allocates";
                    }
                    done.add("heap refill slot of a dead refill settled, " + what + ": class=" + c + ", slot=" + i
                        + ", page=" + pageNumber);
                } finally {
                    ownership.release(view.segment(), Integer.toUnsignedLong(slot), token);
                }
            }
        }
    }

    /** Repairs, while no local heap of this process gives everything back (its cleaner's thread may, at any time). */
    List<String> repair() {
        synchronized (LocalHeap.GIVING_BACK) {
            return rebuild();
        }
    }

    private List<String> rebuild() {
        final List<String> done = new ArrayList<>();
        for (final String v : check()) {
            done.add("found: " + v);
        }
        if (done.isEmpty()) {
            return done;
        }
        for (final int page : keyHit) {
            view.putLongRelease(page + HeapLayout.KEY, heap.key);
            done.add("heap slab page's key restored (the heap's free stack led into it): page="
                + Integer.toUnsignedLong(page) / Geometry.PAGE_SIZE);
        }
        settleRefillSlots(done);
        final int classes = HeapLayout.SIZES.length;
        final int[] first = new int[classes];
        final int[] last = new int[classes];
        final int[] empty = new int[classes];
        // Every stack is emptied before the scan links the free objects anew: those links overwrite
        // the old stacks' links in place, so an old head still published when a repair is killed
        // (at REPAIR_CLASS, say) would lead into the new chain, whose end is not yet cut: a cycle
        // that the next allocations follow. Emptied first, a kill anywhere below leaves objects on
        // no stack (reclaimed by the next repair), never a stack that lists one twice.
        for (int c = 0; c < classes; c++) {
            final long old = view.getLongAcquire(heap.head(c));
            view.putLongRelease(heap.head(c), ObjectHeap.tagged(old, 0));
        }
        final List<long[]> stores = Pages.storeRegions(arena);
        for (long p = candidate(arena.firstUserPage(), stores); p < arena.capacityPages(); p = candidate(p + 1, stores)) {
            final int page = (int) (p * Geometry.PAGE_SIZE);
            final int was = view.getIntAcquire(page + HeapLayout.MAGIC);
            final String identity = mendIdentity(page, was);
            if (identity != null) {
                done.add(identity + ": page=" + p);
            }
            final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
            if (magic == HeapLayout.MAGIC_SLAB && heap.namesUs(page) && slabHeaderProblem(page) != null) {
                final String mended = mendSlabHeader(page);
                if (mended != null) {
                    done.add("heap slab page header mended (" + mended + "): page=" + p);
                }
            }
            if (magic == HeapLayout.MAGIC_SLAB && heap.namesUs(page)) {
                final String problem = slabHeaderProblem(page);
                if (problem != null) {
                    // Its objects' size or state cannot be known; some may be in use, so the page is
                    // neither freed nor reused: it leaves the heap, allocated.
                    view.putIntRelease(page + HeapLayout.MAGIC, 0);
                    done.add("heap slab page dropped from the heap, left allocated, its free objects lost: page=" + p
                        + ", " + problem);
                    continue;
                }
                final int c = view.getInt(page + HeapLayout.CLASS);
                final int size = HeapLayout.SIZES[c];
                int inUse = 0;
                int setAgain = 0;
                int freedAgain = 0;
                for (int i = 0; i < HeapLayout.objectsPerSlab(c); i++) {
                    final int obj = page + HeapLayout.SLAB_HEADER + i * size;
                    if ((view.getLongAcquire(page + HeapLayout.bitmapWord(i)) & HeapLayout.bit(i)) != 0) {
                        if (!freedMarked(obj)) {
                            inUse++;
                            continue;
                        }
                        // Its mark says free: a free killed between its mark and its bit, an allocation
                        // between its bit and its zeroing (it returned nothing), or a stray bit.
                        view.getAndBitwiseAndLong(page + HeapLayout.bitmapWord(i), ~HeapLayout.bit(i));
                        freedAgain++;
                    }
                    if (keptByLiveProcess(obj)) {
                        continue; // a live process's local heap hands it out next (only this one's: the heap is quiet)
                    }
                    if (!stacked.contains(obj) && !freed(obj, page)) {
                        // Its bit cleared by a stray write while its owner holds it: in use again.
                        view.getAndBitwiseOrLong(page + HeapLayout.bitmapWord(i), HeapLayout.bit(i));
                        inUse++;
                        setAgain++;
                        continue;
                    }
                    view.putInt(obj + HeapLayout.FREED_MARK, heap.freedMark(obj));
                    if (first[c] == 0) {
                        first[c] = obj;
                    } else {
                        view.putInt(last[c], obj);
                    }
                    last[c] = obj;
                }
                if (setAgain > 0) {
                    done.add("heap objects' in-use bits set again (cleared by a stray write: no free object's mark): page="
                        + p + ", class=" + c + ", objects=" + setAgain);
                }
                if (freedAgain > 0) {
                    done.add("heap objects in use that carried a free object's mark freed: page=" + p + ", class=" + c
                        + ", objects=" + freedAgain);
                }
                if (inUse == 0 && empty[c] == 0) {
                    empty[c] = page;
                }
            } else if (magic == HeapLayout.MAGIC_LARGE && heap.largeNamesUs(page)) {
                final int pages = view.getInt(page + HeapLayout.PAGES);
                final int mended = heap.largePagesSound(page, pages) ? 0 : mendablePages(page);
                if (mended != 0) {
                    // One of the two words was hit, and the other says which: both written sound.
                    view.putInt(page + HeapLayout.PAGES, mended);
                    view.putIntRelease(page + HeapLayout.PAGES_CHECK, HeapLayout.pagesCheck(mended, heap.key));
                    done.add("heap large object's page count restored from its other word: page=" + p + ", pages=" + mended);
                    p += mended - 1;
                } else if (heap.largePagesSound(page, pages)) {
                    p += pages - 1;
                } else {
                    // Its length cannot be known: the object stays allocated, out of the heap.
                    view.putIntRelease(page + HeapLayout.MAGIC, 0);
                    done.add("heap large object with a corrupted page count dropped from the heap, left allocated: page="
                        + p + ", pages=" + pages);
                }
            } else if (magic == HeapLayout.MAGIC_RETIRED && heap.namesUs(page)) {
                arena.freePages(page, 1);
                done.add("retired heap page given back: page=" + p);
            } else if (magic == HeapLayout.MAGIC_LARGE_FREED && heap.largeNamesUs(page)) {
                // Its header page still allocated: none of its pages was given back (they go all at once).
                final int pages = view.getInt(page + HeapLayout.PAGES);
                final int count = heap.largePagesSound(page, pages) ? pages : 1;
                done.add(heap.giveBackLarge(page, count)
                    ? "freed heap large object's pages given back: page=" + p + ", pages=" + count
                    : "freed heap large object's pages not given back (the allocator's lock was held): page=" + p);
                p += count - 1;
            }
        }
        for (int c = 0; c < classes; c++) {
            CrashPoints.at(HeapPoint.REPAIR_CLASS);
            if (last[c] != 0) {
                view.putInt(last[c], 0);
            }
            final long old = view.getLongAcquire(heap.head(c));
            view.putLongRelease(heap.head(c), ObjectHeap.tagged(old, first[c]));
            view.putIntRelease(heap.emptyPage(c), empty[c]);
        }
        view.putLongRelease(heap.repairWord, 0L);
        done.add("heap free stacks rebuilt from the in-use bitmaps");
        return done;
    }

    /**
     * The page key of the heap at {@code meta} as its pages carry it, for a metadata line whose key
     * a stray write damaged (or that is formatted anew): the key most of the page headers naming
     * this heap agree on. A page's header can be damaged too, and other owners' pages can carry
     * anything, so one vote decides nothing against many.
     *
     * @return {the key (0 if no page names this heap with a nonzero key), its votes, the votes cast}
     */
    static long[] keyOfPages(final SharedArena arena, final int meta) {
        final ArenaView view = arena.raw();
        final Map<Long, Integer> votes = new HashMap<>();
        final List<long[]> stores = Pages.storeRegions(arena);
        for (long p = candidate(arena, arena.firstUserPage(), stores); p < arena.capacityPages();
             p = candidate(arena, p + 1, stores)) {
            final int page = (int) (p * Geometry.PAGE_SIZE);
            final int magic = view.getIntAcquire(page + HeapLayout.MAGIC);
            final long key;
            if ((magic == HeapLayout.MAGIC_SLAB || magic == HeapLayout.MAGIC_RETIRED)
                && view.getInt(page + HeapLayout.HEAP) == meta) {
                key = view.getLong(page + HeapLayout.KEY);
            } else if ((magic == HeapLayout.MAGIC_LARGE || magic == HeapLayout.MAGIC_LARGE_FREED)
                && view.getInt(page + HeapLayout.LARGE_HEAP) == meta) {
                key = view.getLong(page + HeapLayout.LARGE_KEY);
                final int pages = view.getInt(page + HeapLayout.PAGES);
                if (Pages.inUserRange(arena, page, pages)) {
                    p += pages - 1; // the object's own bytes are its caller's: no vote from them
                }
            } else {
                continue;
            }
            if (key != 0) {
                votes.merge(key, 1, Integer::sum);
            }
        }
        long best = 0;
        int most = 0;
        int cast = 0;
        for (final Map.Entry<Long, Integer> e : votes.entrySet()) {
            cast += e.getValue();
            if (e.getValue() > most) {
                best = e.getKey();
                most = e.getValue();
            }
        }
        return new long[] {best, most, cast};
    }

    /**
     * @return the first page from {@code p} on that may be one of the heap's: ALLOCATED and outside
     * the arena's stores (a store's ring values may read as one of our page headers); the capacity
     * if none is
     */
    private long candidate(final long from, final List<long[]> stores) {
        return candidate(arena, from, stores);
    }

    private static long candidate(final SharedArena arena, final long from, final List<long[]> stores) {
        for (long p = from; p < arena.capacityPages(); p++) {
            final long store = Pages.regionEnd(stores, p);
            if (store >= 0) {
                p = store - 1;
            } else if (Pages.state(arena, p) == PageEntry.ALLOCATED) {
                return p;
            }
        }
        return arena.capacityPages();
    }
}
