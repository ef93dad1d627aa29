package io.sharena.core.alloc;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.os.SharedWords;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Access to the page table ({@link PageEntry}): one STATE and one LINK word per arena page.
 *
 * <p>STATE words are read with acquire and changed with compare-and-set or release stores: lock-free
 * paths (cache, pending frees) and lock holders change them concurrently, and views read them.
 * LINK words are written before the compare-and-set that publishes the node (a cache or pending
 * push), or under the lock (best-fit lists), so plain accesses suffice.
 */
final class PageTable {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final long REPAIR_PENDING = ControlLayout.word(ControlLayout.REPAIR_PENDING);

    final MemorySegment arena;
    final int firstUser;
    final int capacity;
    /**
     * The thread of this attachment running a repair, or null: what it meets is what the repair
     * rebuilds, so it marks nothing; a mark by any other thread or process while the repair runs
     * stays for the next holder's repair ({@link #clearRepairPending}).
     */
    private volatile Thread repairer;

    PageTable(final MemorySegment arena, final int firstUser, final int capacity) {
        this.arena = arena;
        this.firstUser = firstUser;
        this.capacity = capacity;
    }

    /** @return whether {@code page}, read from shared memory, names a user page */
    boolean userPage(final int page) {
        return page >= firstUser && page < capacity;
    }

    /** @return whether {@code [page, page + n)}, read from shared memory, is a non-empty range of user pages */
    boolean userSpan(final int page, final int n) {
        return page >= firstUser && n > 0 && page <= capacity - n;
    }

    /**
     * Records that shared metadata was found out of range: the arena is marked for repair, which the
     * current lock holder runs before it unlocks, or else the next one on entry. Never throws: the
     * caller goes on as if the structure ended where the bad value was.
     */
    void corrupt() {
        if (Thread.currentThread() == repairer) {
            return;
        }
        // Bit 1: corruption found. Bit 0 is a takeover's (ArenaLock): OR, so that a walk never hides
        // that the lock was taken over from a dead holder, whose intent the repair must then finish.
        SharedWords.getAndBitwiseLong(arena, REPAIR_PENDING, CORRUPTION_FOUND, SharedWords.OR);
    }

    /** {@link ControlLayout#REPAIR_PENDING} bit set by a walk that found corrupted metadata (a takeover sets 1). */
    static final long CORRUPTION_FOUND = 2L;

    /** @return whether the repair-pending word says the lock was taken over from a dead holder (bit 0) */
    boolean takenOver() {
        return ((long) LONG.getAcquire(arena, REPAIR_PENDING) & 1L) != 0;
    }

    boolean repairPending() {
        return (long) LONG.getAcquire(arena, REPAIR_PENDING) != 0;
    }

    /**
     * Begins a repair in the calling thread (the lock holder).
     *
     * @return the repair-pending word as it reads now
     */
    long beginRepair() {
        repairer = Thread.currentThread();
        return (long) LONG.getAcquire(arena, REPAIR_PENDING);
    }

    void endRepair() {
        repairer = null;
    }

    /**
     * Clears the bits of {@code seen} (the word as a repair read it before it began), by AND: a
     * corruption a lock-free walk marked while the repair ran stays marked, for the next holder's
     * repair (a plain store of 0 erased it, and what that walk met went unrepaired).
     */
    void clearRepairPending(final long seen) {
        SharedWords.getAndBitwiseLong(arena, REPAIR_PENDING, ~seen, SharedWords.AND);
    }

    long stateAcquire(final int page) {
        return (long) LONG.getAcquire(arena, PageEntry.stateOffset(page));
    }

    void setStateRelease(final int page, final long word) {
        LONG.setRelease(arena, PageEntry.stateOffset(page), word);
    }

    boolean casState(final int page, final long expected, final long word) {
        return SharedWords.casLong(arena, PageEntry.stateOffset(page), expected, word);
    }

    /**
     * Takes an ALLOCATED or RESERVED page to PENDING by CAS, naming {@code slot}, with {@code flags}
     * and {@link PageEntry#WAS_RESERVED} if it was reserved; retries while the word changes under it.
     * An ALLOCATED page a span-cache push holds ({@link PageEntry#PUSHING}) is being freed already:
     * left alone, as a page already free is.
     *
     * @return the state the page was taken from (ALLOCATED or RESERVED), or -1 if it was neither
     */
    int markPending(final int page, final int slot, final int flags) {
        while (true) {
            final long w = stateAcquire(page);
            final int s = PageEntry.stateOf(w);
            if (s != PageEntry.ALLOCATED && s != PageEntry.RESERVED
                || s == PageEntry.ALLOCATED && (PageEntry.flagsOf(w) & PageEntry.PUSHING) != 0) {
                return -1;
            }
            final int f = flags | (s == PageEntry.RESERVED ? PageEntry.WAS_RESERVED : 0);
            if (casState(page, w, PageEntry.state(PageEntry.PENDING, f, slot, 0))) {
                return s;
            }
        }
    }

    long linkPlain(final int page) {
        // Plain: written before a publishing CAS, or under the lock (see class comment).
        return arena.get(ValueLayout.JAVA_LONG, PageEntry.linkOffset(page));
    }

    void setLinkPlain(final int page, final long link) {
        arena.set(ValueLayout.JAVA_LONG, PageEntry.linkOffset(page), link);
    }

    long getLongVolatile(final long offset) {
        return (long) LONG.getVolatile(arena, offset);
    }

    void setLongVolatile(final long offset, final long value) {
        LONG.setVolatile(arena, offset, value);
    }

    void setLongRelease(final long offset, final long value) {
        LONG.setRelease(arena, offset, value);
    }

    boolean casLong(final long offset, final long expected, final long value) {
        return SharedWords.casLong(arena, offset, expected, value);
    }

    long getAndAddLong(final long offset, final long delta) {
        return SharedWords.getAndAddLong(arena, offset, delta);
    }

    int getIntVolatile(final long offset) {
        return (int) INT.getVolatile(arena, offset);
    }

    boolean casInt(final long offset, final int expected, final int value) {
        return SharedWords.casInt(arena, offset, expected, value);
    }

    /** Plain: for words only the lock holder reads and writes (free-list heads). */
    int getIntPlain(final long offset) {
        return arena.get(ValueLayout.JAVA_INT, offset);
    }

    void setIntPlain(final long offset, final int value) {
        arena.set(ValueLayout.JAVA_INT, offset, value);
    }

    static long byteOffset(final int page) {
        return Integer.toUnsignedLong(page) << Geometry.PAGE_SHIFT;
    }
}
