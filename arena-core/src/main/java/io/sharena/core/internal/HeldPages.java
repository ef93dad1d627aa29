package io.sharena.core.internal;

import io.sharena.core.SharedArena;

import java.util.BitSet;

/**
 * The pages that structures built on an arena hold, read from the structures themselves: a
 * service the allocator's repair asks, so that a page table damaged to call such a page FREE
 * (or CACHED, RESERVED, orphaned PENDING) does not have the page punched out and handed to a second
 * owner. sharena's IPC module provides one (its named roots, stores, channels and heap); with none
 * on the module or class path, a repair keeps what the page table says.
 *
 * <p>Called with the allocator's lock held, by whichever process repairs (an opener, a lock holder
 * that found the allocator marked, the tools): it must only read the arena, take no lock, allocate
 * nothing, and treat what it cannot read as holding nothing.
 */
public interface HeldPages {
    /** @return page numbers the structures hold, whatever their page-table state; never null */
    BitSet of(SharedArena arena);
}
