package io.sharena.ipc;

import io.sharena.core.SharedArena;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.store.StoreTools;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The IPC structures' check and repair, for tools ({@code arena check [--repair]}): the named
 * roots, the shared stores, the object heap, and the channels (whose repair restores a lost magic and names again a channel no root leads to). Neither throws for corruption: what is wrong is the result.
 *
 * <pre>{@code
 * List<String> done = IpcCheck.repair(arena, timeout);   // writable arena, quiet heap; after arena.repair
 * List<String> left = IpcCheck.check(arena);             // read-only is fine; empty when consistent
 * }</pre>
 */
public final class IpcCheck {
    private IpcCheck() {
    }

    /**
     * Checks the named roots, the stores ({@link StoreTools#checkAll}), the heap and the channels
     * ({@link Channel#check}), and that no two of them hold one page ({@link Holders}), read-only
     * (works on a read-only attachment). Exact only while no process changes them.
     *
     * @return the violations, one line each; empty when consistent
     */
    public static List<String> check(final SharedArena arena) {
        final List<String> violations = new ArrayList<>(NamedRoots.check(arena));
        violations.addAll(StoreTools.checkAll(arena));
        violations.addAll(ObjectHeap.check(arena));
        violations.addAll(Channel.check(arena));
        violations.addAll(Holders.overlaps(Holders.of(arena)));
        return violations;
    }

    /**
     * The pages the IPC structures hold, read from the named roots without trusting the page table:
     * the directory's and each store's region. Pass them to {@code ArenaInternals.repair} so that
     * the allocator's repair keeps them allocated where a damaged page table calls them free (it
     * would otherwise punch them out and hand them to someone else). Never throws for corruption: a
     * structure that cannot be read holds nothing here.
     *
     * @return page numbers
     */
    public static java.util.BitSet heldPages(final SharedArena arena) {
        return RootsRepair.heldPages(arena);
    }

    /**
     * Repairs the named roots (under their lock), then the stores (takes over the locks dead
     * processes held, as their next user would), then the heap (which must be quiet: no process
     * allocating or freeing objects meanwhile), then the channels' magic ({@link Channel#repair}). Run after the allocator's own repair, so the page
     * states it reads are settled. After it returns, {@link #check} reports nothing; what could
     * not be kept (a dropped directory, a slab page left out of the heap) is in the result.
     *
     * @return what was changed or lost, one line each; empty if nothing was wrong
     * @throws IllegalStateException if the roots' lock could not be had within {@code timeoutNanos}
     *                               (nothing changed then), a live process holds a store lock that
     *                               long, another live process is attached (the heap is then left
     *                               alone), or the arena is read-only
     */
    public static List<String> repair(final SharedArena arena, final long timeoutNanos) {
        return repair(arena, timeoutNanos, Long.MAX_VALUE);
    }

    /**
     * {@link #repair(SharedArena, long)} after a cut of the file whose size was restored from byte
     * {@code lostFrom} on (zeros there now): the stores drop every record the cut reached
     * ({@link StoreTools#repairAll(SharedArena, long, long)}).
     */
    public static List<String> repair(final SharedArena arena, final long timeoutNanos, final long lostFrom) {
        final List<String> done = new ArrayList<>(NamedRoots.repair(arena, timeoutNanos));
        try {
            done.addAll(StoreTools.repairAll(arena, timeoutNanos, lostFrom));
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
        done.addAll(ObjectHeap.repair(arena));
        done.addAll(Channel.repair(arena));
        return done;
    }
}
