/**
 * The page allocator: SPEC §2 and §4, shared by every process that maps the arena.
 *
 * <h2>Who owns which pages</h2>
 * Every user page has a STATE word in the page table ({@link io.sharena.core.layout.PageEntry}),
 * and that word is the truth; every other structure is an index over it.
 * <ul>
 *   <li><b>FREE</b> pages belong to the <b>best-fit lists</b> ({@code FreeRuns}): maximal runs, one
 *       doubly linked, address-sorted list per size class, boundary-tagged for coalescing. Only the
 *       lock holder reads or writes them. Their storage is punched out of the file, so they cost
 *       nothing and read as zeros.</li>
 *   <li><b>CACHED</b> pages (FREE to the outside) belong to one process's <b>lock-free span cache</b>
 *       ({@code SpanCache}): a stack per span size (1, 2, 4, 8, 16 pages) in that process's registry
 *       slot, at most 96 pages per process, resident and zeroed. Only that process's threads push
 *       and pop, by CAS on a version-tagged head.</li>
 *   <li><b>PENDING</b> pages belong to the shared <b>pending-free list</b> ({@code PendingFrees}):
 *       spans freed while the lock was busy, pushed by CAS by any process, taken whole by the next
 *       lock holder with one CAS.</li>
 *   <li><b>ALLOCATED</b> and <b>RESERVED</b> pages belong to whoever allocated or reserved them; the
 *       allocator keeps no per-allocation record, so freeing any part of them is allowed.</li>
 * </ul>
 *
 * <h2>How spans move</h2>
 * <ul>
 *   <li>{@code allocPages(n)}: if {@code n} has a cache size, pop this process's stack (no lock, no
 *       system call). Otherwise, or on a miss, take the lock (bounded wait; 0 on timeout), apply
 *       pending frees, and carve the best-fitting run from its lowest address, committing storage
 *       with {@code fallocate} (on ENOSPC the run goes back and the call returns 0). If nothing
 *       fits, this process's cache is flushed into the lists and the search runs once more.</li>
 *   <li>{@code freePages}: a span of a cache size whose pages are all ALLOCATED is zeroed and pushed
 *       on this process's stack while the stack has room. Otherwise one CAS tries the lock: if taken,
 *       the pages are punched out (one {@code fallocate(PUNCH_HOLE)} per contiguous run) and merged
 *       into the lists; if not, they are marked PENDING and pushed on the pending list, and the
 *       call returns. It never waits.</li>
 *   <li>{@code allocPagesAt} and {@code reservePages} work under the lock on the run that holds the
 *       range; a range that touches this process's cached pages flushes the cache first, so a page
 *       just freed can be taken back at its address.</li>
 *   <li>Spans go from the lists to a cache only by being allocated and then freed; they go back
 *       when the process closes the arena, when an allocation finds nothing else, or when the
 *       process dies (recovery).</li>
 * </ul>
 * A consequence worth knowing: within one process, a freed span of a cache size is reused
 * last-in-first-out by the next allocation of that size. Best fit with the lowest address on ties
 * holds for everything that goes through the lists: a fresh arena hands out pages in order, and
 * freed holes are taken before new ground.
 *
 * <h2>Crash argument, step by step</h2>
 * Assume any process can die (SIGKILL) between any two instructions.
 * <ul>
 *   <li><b>Under the lock</b>, before changing any page state the holder writes an
 *       {@link io.sharena.core.layout.Intent} (release store) and clears it when done. The next
 *       waiter sees the holder dead (its pid is gone or reused: {@code io.sharena.core.lock}),
 *       takes the lock over ({@code RECOVERED}) and runs {@code Recovery}: an interrupted
 *       ALLOC or RESERVE is rolled back (its caller never saw the pages), a FREE rolled forward (its
 *       caller had given them up); the lists, which may be half-edited, are rebuilt from the page
 *       states in one pass, and every free run is punched again (a dying free may not have punched
 *       yet). Every step is idempotent, so a recoverer that dies leaves work the next one redoes.</li>
 *   <li><b>Cache push</b>: pages ALLOCATED → CACHED(slot) one CAS each; zero; tag the first page;
 *       CAS the head. Killed before the head CAS: CACHED pages of a dead slot that no stack
 *       reaches. <b>Cache pop</b>: CAS the head; mark the pages ALLOCATED. Killed between: pages
 *       CACHED(dead slot) or already ALLOCATED. Recovery frees every CACHED page of a dead slot and
 *       empties its stacks (no live process touches a dead process's stacks, so nothing races
 *       this); ALLOCATED pages stay allocated.</li>
 *   <li><b>Pending push</b>: pages ALLOCATED/RESERVED → PENDING(slot) one CAS each; tag; CAS the
 *       shared head. Killed before the CAS: PENDING pages of a dead slot, not on the list; recovery,
 *       having drained the list, frees them. Pages a <em>live</em> pusher has marked but not yet
 *       pushed carry a live slot and are left alone.</li>
 *   <li><b>Pending drain</b>: one CAS empties the list; the holder re-tags every taken page with its
 *       own slot before freeing span by span, so if it dies the remaining PENDING pages carry a
 *       dead slot and recovery frees them.</li>
 *   <li><b>Opening</b> an arena with dead processes registered runs the same recovery, so pages a
 *       dead process left in transit come back even if no one ever waits on the lock.</li>
 * </ul>
 * Pages a dead process had allocated stay ALLOCATED (they may be linked into shared data); no page
 * is ever in two structures that hand it out, because handing out always goes through a CAS or a
 * store on the page's own STATE word by the structure that owns it.
 *
 * <h2>Memory</h2>
 * Storage is committed by {@code fallocate} when pages leave the lists, so a full file system fails
 * an allocation rather than raising SIGBUS later; it is punched out when they come back, in one call
 * per contiguous run, so a large free costs one system call however many pages it has. The span
 * caches keep at most 96 pages (384 KiB) per process resident: they are why a small alloc/free needs
 * neither the lock nor a system call.
 *
 * <h2>FFM</h2>
 * No downcalls here: {@code fallocate} goes through {@link io.sharena.core.os.NativeFile}; shared words
 * are FFM var handle accesses on the mapped segment, atomics through
 * {@link io.sharena.core.os.SharedWords}.
 */
package io.sharena.core.alloc;
