package io.sharena.ipc.store;

import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.LockWord;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.StoreLayout;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The stores of an arena as tools see them ({@code arena stat}, {@code check}, {@code dump}): found
 * by their named roots, inspected read-only (a read-only attachment is enough) and without locks.
 *
 * <pre>{@code
 * for (String name : StoreTools.stores(arena)) {
 *     Map<String, Long> figures = StoreTools.stats(arena, name);   // SharedStore#stats, plus the ring's records
 *     List<String> wrong = StoreTools.check(arena, name);          // empty when consistent
 * }
 * }</pre>
 *
 * Like every check, exact only while no process changes the store.
 */
public final class StoreTools {
    private static final String DOES_NOT_OPEN = "store does not open: ";

    private StoreTools() {
    }

    /**
     * @return the stores, or none if the named roots do not check clean: listing a damaged directory
     * would throw, and on a writable attachment mark it for repair, where a check must only report
     * (the roots' own check reports it; their repair comes first)
     */
    private static List<String> storesOrNone(final SharedArena arena) {
        if (!NamedRoots.check(arena).isEmpty()) {
            return List.of();
        }
        try {
            return stores(arena);
        } catch (final io.sharena.core.ArenaCorruptedException e) {
            return List.of();
        }
    }

    /** The parts of a store this attachment inspects; no lock, no counter of its own. */
    private record Inspected(ArenaView view, int header, Ring ring, Index index, Counters counters) {
        static Inspected of(final SharedArena arena, final String name) throws ArenaFormatException {
            final int header = rootOf(arena, name);
            StoreFormat.validate(arena, header);
            final ArenaView v = arena.raw();
            final Counters counters = new Counters(v, header, Math.max(0, ArenaInternals.slot(arena)));
            final Ring ring = new Ring(arena, header, counters, 0, true); // read-only: reserves nothing
            final Index index = new Index(arena, v.getInt(header + StoreLayout.BUCKETS_PTR),
                1 << v.getInt(header + StoreLayout.BUCKET_BITS), v.getInt(header + StoreLayout.STRIPES_PTR),
                v.getInt(header + StoreLayout.STRIPES), ring, v.getInt(header + StoreLayout.MAX_ITEM));
            return new Inspected(v, header, ring, index, counters);
        }
    }

    private static int rootOf(final SharedArena arena, final String name) throws ArenaFormatException {
        final int region = NamedRoots.existing(arena).map(r -> r.get(name)).orElse(0);
        if (region == 0) {
            throw new ArenaFormatException("store.root", "no store in the arena: name=" + name + ", path=" + arena.path());
        }
        return region;
    }

    /**
     * @return the names of the arena's named roots that point at a store header (or at one whose
     * magic or version alone a stray write hit: check reports it, repair restores it), in directory order
     */
    public static List<String> stores(final SharedArena arena) {
        final List<String> names = new ArrayList<>();
        NamedRoots.existing(arena).ifPresent(roots -> roots.list().forEach((name, ptr) -> {
            if (storeHeaderAt(arena, ptr)) {
                names.add(name);
            }
        }));
        return names;
    }

    /**
     * @return whether a store header begins at {@code ptr} (a page of the user range): its magic,
     * or all of it but the magic or version, which a stray write alone hit
     */
    private static boolean storeHeaderAt(final SharedArena arena, final int ptr) {
        final long at = Integer.toUnsignedLong(ptr);
        return at != 0 && at % arena.pageSize() == 0 && at + StoreLayout.HEADER_BYTES <= arena.capacityBytes()
            && at >= arena.firstUserPage() * arena.pageSize()
            && (arena.raw().getLongAcquire(ptr + StoreLayout.MAGIC) == StoreLayout.MAGIC_VALUE
            || StoreFormat.soundButMarks(arena, ptr));
    }

    /**
     * The store's {@link SharedStore#stats()} (get hits and misses lag by what each thread has not
     * added yet), and what the ring holds between tail and head, record by record:
     * {@code ring_linked}, {@code ring_dead}, {@code ring_reserved} (being written, or left by a
     * process that died: the tail passes those) and {@code ring_pad}; {@code ring_lock_slot} is
     * the registry slot holding the ring lock, -1 if free.
     *
     * @throws ArenaFormatException if {@code name} is not a valid store
     */
    public static Map<String, Long> stats(final SharedArena arena, final String name) throws ArenaFormatException {
        final Inspected s = Inspected.of(arena, name);
        final Map<String, Long> figures = StoreFigures.stats(s.view(), s.header(), s.ring(), s.index(), s.counters(),
            System.currentTimeMillis());
        final long[] census = new StoreChecker(s.view(), s.ring(), s.index()).census();
        figures.put("ring_linked", census[0]);
        figures.put("ring_dead", census[1]);
        figures.put("ring_reserved", census[2]);
        figures.put("ring_pad", census[3]);
        figures.put("ring_lock_slot", (long) LockWord.slot(s.view().getLongVolatile(s.header() + StoreLayout.RING_LOCK)));
        return figures;
    }

    /**
     * Verifies the store: its header and that the arena accounts every page of its region as
     * allocated ({@link SharedStore#open} would refuse it otherwise), and {@link SharedStore#check()}.
     *
     * @return the violations, one line each; empty when consistent
     */
    public static List<String> check(final SharedArena arena, final String name) {
        final Inspected s;
        try {
            s = Inspected.of(arena, name);
        } catch (final ArenaFormatException e) {
            return List.of(DOES_NOT_OPEN + e.getMessage() + " (field " + e.field() + ")");
        }
        // The region's pages are all allocated: StoreFormat.validate checked them.
        return new StoreChecker(s.view(), s.ring(), s.index()).check();
    }

    /**
     * @return up to {@code max} keys of the store, as {@link SharedStore#keys(int)} lists them
     * @throws ArenaFormatException     if {@code name} is not a valid store
     * @throws IllegalArgumentException if {@code max} is negative
     */
    public static List<byte[]> keys(final SharedArena arena, final String name, final int max)
        throws ArenaFormatException {
        final Inspected s = Inspected.of(arena, name);
        return StoreFigures.keys(s.ring(), s.index(), max);
    }

    /**
     * Marks in {@code into} the pages of the store region whose header is at {@code ptr}, if its
     * header is a store's (magic, version, geometry and parts as {@link SharedStore#open} checks
     * them, or all of them but the magic or version, which the repair restores; not the pages' states, which
     * this is for): what a repair keeps allocated
     * ({@code ArenaInternals.repair} with held pages).
     *
     * @return whether {@code ptr} holds a store header
     */
    public static boolean heldPages(final SharedArena arena, final int ptr, final java.util.BitSet into) {
        final long at = Integer.toUnsignedLong(ptr);
        if (at == 0 || at % arena.pageSize() != 0 || at < arena.firstUserPage() * arena.pageSize()) {
            return false;
        }
        int pages;
        try {
            pages = StoreFormat.regionPages(arena, ptr);
        } catch (final ArenaFormatException e) {
            if (!StoreFormat.soundButMarks(arena, ptr)) {
                return false;
            }
            pages = arena.raw().getInt(ptr + StoreLayout.REGION_PAGES); // checked with the rest of the header
        }
        final int first = (int) (at / arena.pageSize());
        into.set(first, first + pages);
        return true;
    }

    /**
     * Store regions no named root leads to: a header that opens (magic, fields, every page of its
     * region allocated) at the start of an allocated page that no named store's region, nor the
     * roots directory, holds. Only a stray write into the roots (a root's state, or its value) leaves
     * one: its items are whole and its pages allocated to no one else, but nothing finds them.
     * Not looked for while the roots are damaged (their check and repair come first: a pointer
     * garbled away from the directory leaves none, and every store then shows here) or a creation
     * under them is in flight (its store is not named yet).
     *
     * @return the headers' pointers, in address order
     */
    static List<Integer> orphans(final SharedArena arena) {
        final int dir = ArenaInternals.rootsDirectory(arena);
        if (dir != 0 && (!NamedRoots.check(arena).isEmpty()
            || arena.raw().getLongAcquire(dir + io.sharena.ipc.layout.RootsLayout.CREATING) != 0)) {
            return List.of();
        }
        final long pageSize = arena.pageSize();
        final java.util.BitSet known = new java.util.BitSet();
        if (dir != 0) {
            final int dirPage = (int) (Integer.toUnsignedLong(dir) / pageSize);
            known.set(dirPage, dirPage + io.sharena.ipc.layout.RootsLayout.PAGES);
            for (final String name : stores(arena)) {
                heldPages(arena, NamedRoots.existing(arena).orElseThrow().get(name), known);
            }
        }
        final List<Integer> found = new ArrayList<>();
        final ArenaView v = arena.raw();
        final long end = arena.capacityPages();
        for (long p = arena.firstUserPage(); p < end; p++) {
            if (known.get((int) p) || io.sharena.ipc.Pages.state(arena, p) != io.sharena.core.layout.PageEntry.ALLOCATED) {
                continue;
            }
            final int ptr = (int) (p * pageSize);
            if (v.getLongAcquire(ptr + StoreLayout.MAGIC) != StoreLayout.MAGIC_VALUE) {
                continue;
            }
            try {
                StoreFormat.validate(arena, ptr);
            } catch (final ArenaFormatException e) {
                continue;
            }
            found.add(ptr);
            p += v.getInt(ptr + StoreLayout.REGION_PAGES) - 1; // its ring's bytes are values, not headers
        }
        return found;
    }

    /**
     * @return the page the default store's root names if it is allocated and reads all zeros, 0
     * otherwise: a file cut through the store (its size restored since) leaves its root so, and
     * {@code serve} refuses the file ("not a store")
     */
    private static int zeroedDefaultStore(final SharedArena arena) {
        final int ptr;
        try {
            if (!NamedRoots.check(arena).isEmpty()) {
                return 0;
            }
            ptr = NamedRoots.existing(arena).map(r -> r.get(SharedStore.DEFAULT_ROOT)).orElse(0);
        } catch (final io.sharena.core.ArenaCorruptedException e) {
            return 0;
        }
        final long page = Integer.toUnsignedLong(ptr) / arena.pageSize();
        return ptr != 0 && io.sharena.ipc.Pages.inUserRange(arena, ptr, StoreLayout.HEADER_PAGES)
            && io.sharena.ipc.Pages.state(arena, page) == io.sharena.core.layout.PageEntry.ALLOCATED
            && blankHeader(arena, ptr) ? ptr : 0;
    }

    /**
     * @return the violation when the default store's root names an allocated page that holds neither
     * a store header nor zeros (a stray write over the header, magic and all): {@code serve} refuses
     * the file, so the check may not call it sound; null otherwise
     */
    private static String garbledDefaultStore(final SharedArena arena) {
        final int ptr;
        try {
            if (!NamedRoots.check(arena).isEmpty()) {
                return null;
            }
            ptr = NamedRoots.existing(arena).map(r -> r.get(SharedStore.DEFAULT_ROOT)).orElse(0);
        } catch (final io.sharena.core.ArenaCorruptedException e) {
            return null;
        }
        if (ptr == 0 || !io.sharena.ipc.Pages.inUserRange(arena, ptr, StoreLayout.HEADER_PAGES)
            || storeHeaderAt(arena, ptr)) {
            return null;
        }
        return "store " + SharedStore.DEFAULT_ROOT + ": its root names a page that holds no store header (magic=0x"
            + Long.toHexString(arena.raw().getLongAcquire(ptr + StoreLayout.MAGIC)) + ", header=0x"
            + Integer.toHexString(ptr) + "); serve cannot use the file: the header is not rebuilt, remove the root"
            + " or the file to start a new store";
    }

    /**
     * @return whether the store header at {@code ptr} reads zeros but for what {@link StoreFormat}'s
     * format writes before the magic, and is not whole (a whole one lacking only its magic gets
     * the magic back): a header a cut took, or one whose format over zeros was killed midway
     */
    private static boolean blankHeader(final SharedArena arena, final int ptr) {
        return arena.raw().getLong(ptr + StoreLayout.MAGIC) == 0 && zerosFrom(arena, ptr, StoreLayout.FORMAT_FIELDS_END,
            StoreLayout.FLUSH_CAS_COPY) && !StoreFormat.soundButMarks(arena, ptr);
    }

    /**
     * Formats an empty store over the zeroed pages the default root names, when a cut of the file took
     * them ({@code lostFrom} at or before the header): nothing there was anyone's any more. Stops at
     * the first page another structure holds, or that is not allocated, or not all zeros. Without
     * the cut to explain the zeros (a stray write, a garbled root value) nothing is written: the
     * pages may be someone's.
     *
     * @return what was done, for the repair's line
     */
    private static String formatOverZeros(final SharedArena arena, final int header, final long lostFrom) {
        if (lostFrom > Integer.toUnsignedLong(header)) {
            return "not repaired: no cut of the file explains the zeros, and the pages there may be another owner's;"
                + " remove the root, or the file, to start a new store";
        }
        final List<Long> others = ArenaInternals.otherLiveProcesses(arena);
        if (!others.isEmpty()) {
            // They may still have the old store open, with its geometry in hand: a new one formatted
            // under them would be two stores in one region.
            return NOT_FORMATTED + "other live processes are attached and may still use the old store: pids=" + others
                + "; stop them, then run check --repair again";
        }
        final java.util.BitSet held = io.sharena.ipc.IpcCheck.heldPages(arena);
        final long first = Integer.toUnsignedLong(header) / arena.pageSize();
        // The header page itself may hold what a format killed midway wrote (blankHeader).
        long p = first + 1;
        while (p < arena.capacityPages() && !held.get((int) p)
            && io.sharena.ipc.Pages.state(arena, p) == io.sharena.core.layout.PageEntry.ALLOCATED
            && zeroPage(arena, (int) (p * arena.pageSize()))) {
            p++;
        }
        final long run = p - first;
        final StoreOptions o = StoreFormat.formatOverZeros(arena, header, run, System.currentTimeMillis());
        if (o == null) {
            return "not repaired: " + run + " zeroed page(s) there, too few for a store";
        }
        final long used = StoreFormat.regionPages(o);
        return "an empty store formatted over " + used + " of its " + run + " zeroed allocated page(s): memory limit "
            + o.memoryLimit() + ", max item " + o.maxItemSize() + (used == run ? ""
            : "; the " + (run - used) + " page(s) after it stay allocated, to no structure the check knows (the old"
            + " store's, or another owner's cut to zeros too: nothing tells which, so none is freed)");
    }

    private static final String NOT_FORMATTED = "not formatted now: ";

    private static boolean zeroPage(final SharedArena arena, final int ptr) {
        return zerosFrom(arena, ptr, 0, -1);
    }

    /**
     * @return whether the page at {@code ptr} reads zeros from byte {@code from} (a multiple of 8) to
     * its end, but for the 8 bytes at {@code skip} (a word the format writes among its fields; -1 for none)
     */
    private static boolean zerosFrom(final SharedArena arena, final int ptr, final long from, final long skip) {
        final java.lang.foreign.MemorySegment page = arena.raw().segment().asSlice(Integer.toUnsignedLong(ptr), arena.pageSize());
        for (long at = from; at < page.byteSize(); at += 8) {
            if (at != skip && page.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The name a store that lost its root is given again: the default store's ({@link SharedStore#DEFAULT_ROOT},
     * what {@code serve} opens) if no root has it or the one that has it leads to no store (a stray
     * write into its value), else a name of its own.
     */
    private static String recoveredName(final SharedArena arena, final NamedRoots roots, final int header) {
        return !storeHeaderAt(arena, roots.get(SharedStore.DEFAULT_ROOT)) ? SharedStore.DEFAULT_ROOT
            : SharedStore.DEFAULT_ROOT + ".recovered." + Integer.toUnsignedString(header, 16);
    }

    /**
     * @return {@link #check} of every store of the arena, each line prefixed with {@code store NAME: };
     * a named-roots directory too damaged to list is left to the roots' own check
     */
    public static List<String> checkAll(final SharedArena arena) {
        final List<String> violations = new ArrayList<>();
        if (zeroedDefaultStore(arena) != 0) {
            violations.add("store " + SharedStore.DEFAULT_ROOT + ": its root names a page of zeros, no store (a cut"
                + " through the file, or a stray write, took its header, or a format of it was killed midway); serve"
                + " cannot use the file: check --repair of a cut file formats an empty store there, else remove the"
                + " root or the file");
        } else {
            final String garbled = garbledDefaultStore(arena);
            if (garbled != null) {
                violations.add(garbled);
            }
        }
        for (final String name : storesOrNone(arena)) {
            check(arena, name).forEach(v -> violations.add("store " + name + ": " + v));
        }
        for (final int header : orphans(arena)) {
            violations.add("a store that no named root leads to (its root was lost; check --repair names it again):"
                + " header=0x" + Integer.toHexString(header) + ", pages="
                + arena.raw().getInt(header + StoreLayout.REGION_PAGES));
        }
        return violations;
    }

    /**
     * Repairs every store of a writable arena: takes over the locks dead processes left held, as
     * {@link SharedStore#repair()} does; turns stretches of the ring that do not parse as records
     * into padding and cuts every chain at a link to what is not a whole item of its bucket (damage
     * a kill never leaves, but another process's stray write or a file cut short does), and links
     * the whole items no chain reaches into their bucket again where their stripe still counts
     * them (a bucket word or link garbled, or the cut, lost them); then recounts every stripe's
     * item and byte counts from its chains under its lock. First, a store no named root leads to
     * ({@link #orphans}) is named again: {@link SharedStore#DEFAULT_ROOT} if that name is free or
     * leads to no store, else a name of its own. Safe while other
     * processes use the stores. Never throws for corruption: what it could not mend is a line of
     * the result.
     *
     * @return what was done, one line per store that needed it
     * @throws IllegalStateException if a live process holds a store lock past {@code timeoutNanos}
     */
    public static List<String> repairAll(final SharedArena arena, final long timeoutNanos) throws IOException {
        return repairAll(arena, timeoutNanos, Long.MAX_VALUE);
    }

    /**
     * {@link #repairAll(SharedArena, long)} after a cut of the file whose size was restored: every
     * record that reaches byte {@code lostFrom} (zeros from there on) is dropped, padded over, rather
     * than kept whole-looking with zeros for its value's end.
     */
    public static List<String> repairAll(final SharedArena arena, final long timeoutNanos, final long lostFrom)
        throws IOException {
        final List<String> done = new ArrayList<>();
        for (final int header : orphans(arena)) {
            final NamedRoots roots = NamedRoots.of(arena);
            final String name = recoveredName(arena, roots, header);
            final int before = roots.put(name, header);
            done.add("store " + name + ": a store that no named root led to (its root was lost) named again: header=0x"
                + Integer.toHexString(header) + (before != 0 ? " (the name led to 0x" + Integer.toHexString(before)
                + ", no store)" : ""));
        }
        // After the orphans: a store found elsewhere has the default name back by now.
        final int zeroed = zeroedDefaultStore(arena);
        boolean cutLeft = false;
        if (zeroed != 0) {
            final String format = formatOverZeros(arena, zeroed, lostFrom);
            cutLeft = format.startsWith(NOT_FORMATTED);
            done.add("store " + SharedStore.DEFAULT_ROOT + ": its root named a page of zeros (its header was lost): " + format);
        } else {
            final String garbled = garbledDefaultStore(arena);
            if (garbled != null) {
                done.add(garbled.replaceFirst(": its root names", ": not repaired: its root names"));
                cutLeft = true;
            }
        }
        for (final String name : storesOrNone(arena)) {
            final SharedStore store;
            try {
                final int header = rootOf(arena, name);
                if (StoreFormat.soundButMarks(arena, header)) {
                    final long magic = arena.raw().getLongAcquire(header + StoreLayout.MAGIC);
                    if (magic != StoreLayout.MAGIC_VALUE
                        && arena.raw().compareAndSetLong(header + StoreLayout.MAGIC, magic, StoreLayout.MAGIC_VALUE)) {
                        done.add("store " + name + ": header magic restored (the rest of its header is sound): was 0x"
                            + Long.toHexString(magic));
                    }
                    final int version = arena.raw().getIntAcquire(header + StoreLayout.VERSION);
                    // The older of the two formats this build reads: it holds in a store of either
                    // (the newer only adds placements in replaced items' space, which it turns off).
                    if (!StoreFormat.readable(version)
                        && arena.raw().compareAndSetInt(header + StoreLayout.VERSION, version, StoreLayout.VERSION_SHARED)) {
                        done.add("store " + name + ": header version restored (the rest of its header is sound): was "
                            + version);
                    }
                }
                // A stray write into the header's fixed fields: set back from those that agree.
                final String geometry = StoreRepair.mendGeometry(arena, header);
                if (geometry != null) {
                    done.add("store " + name + ": " + geometry);
                }
                // Head and tail out of range, or contradicted by the chains: set from the records, so
                // that the store opens again with the items it holds.
                String positions;
                try {
                    StoreFormat.validate(arena, header);
                    positions = StoreRepair.mendPositions(arena, header, timeoutNanos);
                } catch (final ArenaFormatException e) {
                    positions = "store.positions".equals(e.field())
                        ? StoreRepair.mendPositions(arena, header, timeoutNanos) : null;
                }
                if (positions != null) {
                    done.add("store " + name + ": " + positions);
                }
                try {
                    StoreFormat.validate(arena, header); // the header's other fields first: the attach below names them
                    final String maxItem = StoreRepair.mendMaxItem(arena, header);
                    if (maxItem != null) {
                        done.add("store " + name + ": " + maxItem);
                    }
                } catch (final ArenaFormatException e) {
                    // Named by the attach.
                }
                store = SharedStore.attach(arena, name, StoreOptions.defaults().withLockTimeoutNanos(timeoutNanos), false);
            } catch (final ArenaFormatException e) {
                // A header this damaged is not rebuilt: check names it.
                done.add("store " + name + ": not repaired: " + DOES_NOT_OPEN + e.getMessage());
                cutLeft = true;
                continue;
            }
            try (store) {
                final List<String> mended = new ArrayList<>();
                final int[] r;
                try {
                    r = store.repairAll(mended, lostFrom);
                } catch (final io.sharena.core.ArenaCorruptedException e) {
                    // Damage the repair does not mend (the ring positions changed under it, say): named, and
                    // the repair of the other stores and of the heap goes on.
                    mended.forEach(line -> done.add("store " + name + ": " + line));
                    done.add("store " + name + ": not repaired: " + e.getMessage());
                    cutLeft = true;
                    continue;
                }
                mended.forEach(line -> done.add("store " + name + ": " + line));
                if (r[0] > 0) {
                    done.add("store " + name + ": took over " + r[0] + " lock(s) a dead process held");
                }
                if (r[1] > 0) {
                    done.add("store " + name + ": recounted " + r[1] + " stripe(s) whose item or byte counts"
                        + " differed from their chains");
                }
            }
        }
        if (lostFrom != Long.MAX_VALUE && !cutLeft) {
            // Every store the cut reached is repaired: the file's record of the cut may go (until
            // now, a repair killed on the way, or one that could not finish, left it to the next).
            ArenaInternals.cutRepaired(arena);
        }
        return done;
    }

    /**
     * @return a key as text, for tools' output: printable ASCII as is, every other byte and the
     * backslash as {@code \xNN}
     */
    public static String keyText(final byte[] key) {
        final StringBuilder b = new StringBuilder(key.length);
        for (final byte x : key) {
            if (x > 0x20 && x < 0x7F && x != '\\') {
                b.append((char) x);
            } else {
                b.append(String.format(java.util.Locale.ROOT, "\\x%02x", x & 0xFF));
            }
        }
        return b.toString();
    }
}
