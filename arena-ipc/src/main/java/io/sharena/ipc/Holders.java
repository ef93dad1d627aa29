package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.ipc.store.StoreTools;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * The pages each IPC structure holds, structure by structure, read from the named roots and the
 * structures themselves, never from the page table: the directory's pages, each store's region,
 * each channel's header and rings, and the heap's pages beyond doubt (its metadata page, and those
 * whose header carries all three of its marks). Two structures holding one page means a stray
 * write pointed one at the other's pages (a channel's ring word, say), and the next write through
 * it would land in the other's data: {@link IpcCheck#check} names each such page, and
 * {@link Channel#open} refuses a channel whose pages another structure holds.
 */
public final class Holders {
    /**
     * One structure's pages.
     *
     * @param name  what the structure is and its root's name ("channel orders")
     * @param ptr   its pointer (the root's value; the directory's own pointer for the directory)
     * @param pages page numbers
     */
    public record Holder(String name, int ptr, BitSet pages) {
    }

    private Holders() {
    }

    /**
     * @return every structure the named roots lead to, with its pages; none when the arena has no
     * sound directory (the roots' own check names what is wrong there)
     */
    public static List<Holder> of(final SharedArena arena) {
        final List<Holder> all = new ArrayList<>();
        final int dir = io.sharena.core.internal.ArenaInternals.rootsDirectory(arena);
        final Map<String, Integer> roots;
        try {
            if (dir == 0 || RootsRepair.directoryProblem(arena, dir) != null) {
                return all;
            }
            roots = NamedRoots.existing(arena).map(NamedRoots::list).orElse(Map.of());
        } catch (final ArenaCorruptedException e) {
            return all;
        }
        final BitSet dirPages = new BitSet();
        final int first = (int) (Integer.toUnsignedLong(dir) / Geometry.PAGE_SIZE);
        dirPages.set(first, first + RootsLayout.PAGES);
        all.add(new Holder("named-roots directory", dir, dirPages));
        // Pages whose bytes may be anything (a store's values): not looked at for the heap's marks.
        final BitSet anyBytes = (BitSet) dirPages.clone();
        final List<Map.Entry<String, Integer>> rest = new ArrayList<>();
        for (final Map.Entry<String, Integer> root : roots.entrySet()) {
            final BitSet pages = new BitSet();
            if (StoreTools.heldPages(arena, root.getValue(), pages)) {
                all.add(new Holder("store " + root.getKey(), root.getValue(), pages));
                anyBytes.or(pages);
            } else if (Channel.heldPages(arena, root.getValue(), pages)) {
                all.add(new Holder("channel " + root.getKey(), root.getValue(), pages));
            } else {
                rest.add(root);
            }
        }
        for (final Map.Entry<String, Integer> root : rest) {
            final BitSet pages = (BitSet) anyBytes.clone();
            if (ObjectHeap.heldPages(arena, root.getValue(), pages, true)) {
                pages.andNot(anyBytes);
                all.add(new Holder("heap " + root.getKey(), root.getValue(), pages));
            }
        }
        return all;
    }

    /** @return every page some structure the named roots lead to holds ({@link #of}) */
    public static BitSet allPages(final SharedArena arena) {
        final BitSet all = new BitSet();
        for (final Holder h : of(arena)) {
            all.or(h.pages());
        }
        return all;
    }

    /** @return one line for each two structures that hold a page in common; empty if none do */
    public static List<String> overlaps(final List<Holder> holders) {
        final List<String> found = new ArrayList<>();
        for (int i = 0; i < holders.size(); i++) {
            for (int j = i + 1; j < holders.size(); j++) {
                final String both = shared(holders.get(i).pages(), holders.get(j).pages());
                if (both != null) {
                    found.add("pages held by two structures, " + holders.get(i).name() + " and " + holders.get(j).name()
                        + ": " + both);
                }
            }
        }
        return found;
    }

    /** @return the pages both sets hold ("page=N" or "pages=K from page=N"), or null if none */
    public static String shared(final BitSet a, final BitSet b) {
        final BitSet both = (BitSet) a.clone();
        both.and(b);
        if (both.isEmpty()) {
            return null;
        }
        final int n = both.cardinality();
        return (n == 1 ? "" : "pages=" + n + " from ") + "page=" + both.nextSetBit(0);
    }
}
