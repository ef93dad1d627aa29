package io.sharena.core.check;

import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.LockWord;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;
import io.sharena.core.owner.ProcessRegistry;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code arena stat} shows about the allocator, read without the lock: page counts per state
 * (one pass over the page table), the counters, the registered processes, the lock owner and the
 * pending frees. Each figure is exact for the instant it was read; while other processes work they
 * may not add up to one instant.
 *
 * @param pages    pages per state name (META, FREE, CACHED, ALLOCATED, RESERVED, PENDING, and INVALID
 *                 when a stray write left a value that is no state)
 * @param counters counter name to value
 */
public record ArenaStats(Map<String, Long> pages, Map<String, Long> counters, List<ProcessRegistry.Entry> processes,
                         int lockSlot, long lockPid, boolean lockOwnerAlive, long pendingSpans, long quotaPages) {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    public static ArenaStats read(final SharedArena arena) {
        final MemorySegment s = ArenaInternals.segment(arena);
        final long[] byState = new long[PageEntry.STATE_VALUES]; // any 4-bit value a stray write can leave
        for (int p = (int) arena.firstUserPage(); p < arena.capacityPages(); p++) {
            byState[PageEntry.stateOf((long) LONG.getAcquire(s, PageEntry.stateOffset(p)))]++;
        }
        final Map<String, Long> pages = new LinkedHashMap<>();
        pages.put("META", arena.firstUserPage());
        pages.put("FREE", byState[PageEntry.FREE] + byState[PageEntry.CACHED]);
        pages.put("CACHED", byState[PageEntry.CACHED]);
        pages.put("ALLOCATED", byState[PageEntry.ALLOCATED]);
        pages.put("RESERVED", byState[PageEntry.RESERVED]);
        pages.put("PENDING", byState[PageEntry.PENDING]);
        long invalid = 0;
        for (int st = PageEntry.CACHED + 1; st < byState.length; st++) {
            invalid += byState[st];
        }
        if (invalid > 0) {
            pages.put("INVALID", invalid);
        }
        final Map<String, Long> counters = new LinkedHashMap<>();
        for (int c = 0; c < ControlLayout.COUNTER_COUNT; c++) {
            counters.put(ControlLayout.COUNTER_NAMES[c], (long) LONG.getAcquire(s, ControlLayout.counter(c)));
        }
        // Per-process counters: retired counts plus those of the processes attached now.
        counters.put("allocations", ArenaInternals.registry(arena).sum(RegistryLayout.ALLOCATIONS, ControlLayout.C_ALLOCATIONS));
        counters.put("frees", ArenaInternals.registry(arena).sum(RegistryLayout.FREES, ControlLayout.C_FREES));
        final long lockWord = (long) LONG.getAcquire(s, ControlLayout.word(ControlLayout.LOCK_WORD));
        final int lockSlot = lockWord == 0 ? -1 : LockWord.slot(lockWord);
        final ProcessRegistry registry = ArenaInternals.registry(arena);
        long spans = 0;
        final long capacity = arena.capacityPages();
        for (int h = TaggedHead.page((long) LONG.getAcquire(s, ControlLayout.word(ControlLayout.PENDING_HEAD)));
             h >= arena.firstUserPage() && h < capacity && spans < capacity;
             h = (int) (long) LONG.getAcquire(s, PageEntry.linkOffset(h))) {
            spans++;
        }
        return new ArenaStats(pages, counters, registry.entries(), lockSlot,
            lockSlot < 0 ? 0 : registry.pid(lockSlot), registry.isOwnerAlive(lockWord), spans,
            (long) LONG.getAcquire(s, ControlLayout.word(ControlLayout.QUOTA_PAGES)));
    }
}
