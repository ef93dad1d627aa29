package io.sharena.core.alloc;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Intent;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;
import io.sharena.core.lock.ProcessRegistry;

/**
 * Brings the allocator back to a consistent state after a process died (lock holder only).
 *
 * <ol>
 *   <li>The dead lock holder's {@link Intent}: an ALLOC or RESERVE is rolled back (its caller never
 *       got the pages), a FREE rolled forward (its caller had given them up).</li>
 *   <li>The pending list is drained as usual.</li>
 *   <li>Dead processes' span caches are emptied (nobody else pops them).</li>
 *   <li>One pass over the page table: CACHED and PENDING pages of dead slots become FREE (spans in
 *       transit when their process died); RESERVED pages are counted; every maximal run of FREE
 *       pages is relinked into the best-fit lists and its storage punched out (a dead process may
 *       have freed pages it had not yet punched).</li>
 *   <li>The dead slots are released.</li>
 * </ol>
 *
 * <p>Page states are the truth and every step is idempotent, so a recoverer that dies itself
 * leaves work the next one redoes. Pages a dead process had allocated stay ALLOCATED: they may be
 * linked into shared data.
 */
final class Recovery {
    private final PageTable table;
    private final FreeRuns runs;
    private final ProcessRegistry registry;
    private final Backing backing;

    Recovery(final PageTable table, final FreeRuns runs, final ProcessRegistry registry, final Backing backing) {
        this.table = table;
        this.runs = runs;
        this.registry = registry;
        this.backing = backing;
    }

    /** Rolls the interrupted lock holder's operation back or forward. */
    void fixIntent() {
        final long offset = ControlLayout.word(ControlLayout.INTENT);
        final long intent = table.getLong(offset);
        final int op = Intent.op(intent);
        final int first = Intent.first(intent);
        final int end = Math.min(first + Intent.pages(intent), table.capacity);
        for (int p = Math.max(first, table.firstUser); op != Intent.NONE && p < end; p++) {
            final int s = PageEntry.stateOf(table.state(p));
            final boolean undo = switch (op) {
                case Intent.ALLOC -> s == PageEntry.ALLOCATED;
                case Intent.RESERVE -> s == PageEntry.RESERVED;
                case Intent.FREE -> s == PageEntry.ALLOCATED || s == PageEntry.RESERVED;
                default -> false;
            };
            if (undo) {
                table.setState(p, PageEntry.state(PageEntry.FREE, 0, 0, 0));
            }
        }
        table.setLong(offset, Intent.encode(Intent.NONE, 0, 0));
    }

    /** Steps 3 to 5; the caller has fixed the intent and drained the pending list. */
    void reclaimAndRebuild() {
        final boolean[] dead = new boolean[RegistryLayout.SLOTS];
        for (final int slot : registry.deadSlots()) {
            dead[slot] = true;
            for (int c = 0; c < RegistryLayout.CACHE_SIZES.length; c++) {
                final long head = RegistryLayout.cacheHead(slot, c);
                table.setLong(head, TaggedHead.next(table.getLong(head), 0, 0));
            }
        }
        rebuild(dead);
        for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
            if (dead[slot]) {
                registry.release(slot);
            }
        }
    }

    private void rebuild(final boolean[] dead) {
        runs.clear();
        final int[] tails = new int[ControlLayout.BUCKETS];
        long reserved = 0;
        int runStart = -1;
        for (int p = table.firstUser; p <= table.capacity; p++) {
            boolean free = false;
            if (p < table.capacity) {
                final long w = table.state(p);
                final int s = PageEntry.stateOf(w);
                if ((s == PageEntry.CACHED || s == PageEntry.PENDING) && dead[PageEntry.slotOf(w)]) {
                    table.setState(p, PageEntry.state(PageEntry.FREE, 0, 0, 0));
                    free = true;
                } else {
                    free = s == PageEntry.FREE;
                    reserved += s == PageEntry.RESERVED ? 1 : 0;
                }
            }
            if (free && runStart < 0) {
                runStart = p;
            } else if (!free && runStart >= 0) {
                appendRun(tails, runStart, p - runStart);
                backing.release(runStart, p - runStart);
                runStart = -1;
            }
        }
        table.setLong(ControlLayout.word(ControlLayout.RESERVED_PAGES), reserved);
    }

    /** Links a run at the end of its list: the scan goes in address order, so lists stay sorted. */
    private void appendRun(final int[] tails, final int head, final int len) {
        final int bucket = ControlLayout.bucketOf(len);
        table.setState(head, PageEntry.state(PageEntry.FREE, 0, 0, len));
        if (len > 1) {
            table.setState(head + len - 1, PageEntry.state(PageEntry.FREE, 0, 0, len));
        }
        final int tail = tails[bucket];
        table.setLink(head, PageEntry.link(tail, 0));
        if (tail == 0) {
            table.setInt(ControlLayout.bucketHead(bucket), head);
        } else {
            table.setLink(tail, PageEntry.link(PageEntry.prevOf(table.link(tail)), head));
        }
        tails[bucket] = head;
        table.addLong(ControlLayout.word(ControlLayout.TREE_FREE_PAGES), len);
    }
}
