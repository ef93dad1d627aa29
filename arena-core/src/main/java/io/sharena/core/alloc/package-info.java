/**
 * The page allocator, shared by every process that maps the arena: its design, concurrency and
 * crash model.
 *
 * <h2>Who owns which pages</h2>
 * Every user page has a STATE word in the page table ({@link io.sharena.core.layout.PageEntry}),
 * and that word is the truth; every other structure is an index over it.
 * <ul>
 *   <li><b>FREE</b> pages belong to the <b>best-fit lists</b> ({@code FreeRuns}): maximal runs, one
 *       doubly linked, address-sorted list per size class, boundary-tagged for coalescing. Only the
 *       lock holder reads or writes them. A FREE page is either clean (punched out of the file: it
 *       costs nothing and reads as zeros) or <b>dirty</b> ({@code PageEntry.DIRTY}: its storage is still
 *       committed and may hold old bytes), and a run that may hold dirty pages says so on its head
 *       ({@code RUN_DIRTY}); see "Memory" below.</li>
 *   <li><b>CACHED</b> pages (FREE to the outside) sit in one process's <b>lock-free span cache</b>
 *       ({@code SpanCache}): a stack per span size (1, 2, 4, 8, 16 pages) in that process's registry
 *       slot, at most 96 pages per process, resident. Only that process pushes and pops, by CAS on a
 *       version-tagged head; the lock holder may take a whole stack of any process (below).</li>
 *   <li><b>PENDING</b> pages belong to the shared <b>pending-free list</b> ({@code PendingFrees}):
 *       spans freed while the lock was busy, pushed by CAS by any process, taken whole by the next
 *       lock holder with one CAS. A PENDING page with the {@code FREEING} flag is one a lock holder's
 *       free has taken and is about to put in the lists.</li>
 *   <li><b>ALLOCATED</b> and <b>RESERVED</b> pages belong to whoever allocated or reserved them; the
 *       allocator keeps no per-allocation record, so freeing any part of them is allowed.</li>
 * </ul>
 *
 * <h2>How spans move</h2>
 * <ul>
 *   <li>{@code allocPages(n)}: if {@code n} has a cache size, pop this process's stack (no lock, no
 *       system call) and claim each page CACHED → ALLOCATED by CAS. Otherwise, or on a miss, take the
 *       lock (bounded wait; 0 on timeout), and carve the best-fitting run from its lowest address.
 *       Before the carve, while the pages are still FREE, dirty pages are zeroed (a store of zeros:
 *       their storage is committed) and clean ones are proved clean with {@code lseek(SEEK_DATA)} or
 *       punched again (so that they read zero whatever raw writes hit them while FREE) and committed
 *       with {@code fallocate}; on ENOSPC nothing is carved and the call returns 0 (after a purge and
 *       one more try). A clean allocation commits up to 2 MiB of the run after it ahead, marked
 *       dirty, so fresh ground costs one {@code fallocate} per 2 MiB. If nothing fits, this process's
 *       cache goes back to the lists and the search runs again; then every other process's caches,
 *       since a FREE page is free for everyone. A miss of a cache size under 8 pages (1, 2, 4) takes
 *       a whole <b>group of 8 pages</b> when a run of 8 fits and no smaller hole fits the request
 *       (best fit comes first: a freed hole of 1 to 7 pages is refilled before a group is carved
 *       elsewhere): the first span for the caller, the
 *       others into this process's cache. So a process's small spans sit together in the page table
 *       (eight 16-byte entries are 128 bytes): two processes' hot pages never share a page-table
 *       cache line, which every pop and push writes, and a run of small allocations takes the lock
 *       once per group.</li>
 *   <li>{@code freePages}: a span of a cache size whose pages are all ALLOCATED is pushed on this
 *       process's stack while the stack has room. Otherwise one CAS tries the lock: if taken, the
 *       pages are taken PENDING(holder, FREEING), then set FREE and dirty (clean if they were
 *       reserved) and merged into the lists, and if the stack was full (of a size a group refill serves:
 *       1, 2 or 4 pages) this process's stack of that size goes back to the lists with them (what it holds is older than the frees it turns away, and
 *       would otherwise be handed out before the holes they leave); if not, they are marked PENDING
 *       and pushed on the pending list, and the call returns. It never waits, and it makes no system call unless the
 *       purge delay is 0 (then each contiguous run is punched at once, as one call).</li>
 *   <li>{@code allocPagesAt} and {@code reservePages} work under the lock on the run that holds the
 *       range; a range that touches CACHED pages takes the caches of the processes that own them
 *       first, so a page parked in anyone's cache is available at its address. Pages a process is
 *       popping or pushing at that very instant are not FREE at that instant, and the call fails as
 *       for any page in use.</li>
 *   <li>Spans go from the lists to a cache by being allocated and then freed, or by a group refill;
 *       they go back
 *       when the process closes the arena, when an allocation (anyone's) finds nothing else, when a
 *       range is asked for at their address, on repair, or when the process dies.</li>
 * </ul>
 * A consequence worth knowing: within one process, a freed span of a cache size is reused
 * last-in-first-out by the next allocation of that size. Best fit with the lowest address on ties
 * holds for everything that goes through the lists: a fresh arena hands out pages in order, and
 * freed holes are taken before new ground. A group refill's tail is what a cache holds that no
 * free put there; a burst of frees larger than the stack sends the stack back to the lists
 * with them, so the holes such a burst leaves are refilled before it (the kernel's {@code big_alloc2}
 * checks exactly this: {@code KernelSelftestScenariosTest.sequentialFirstPassThenGapsAreRefilled}). Pages are zeroed when a cache hands them out, not when
 * they are cached.
 *
 * <h2>Taking another process's cache: the race argument</h2>
 * The lock holder swaps a stack's head to empty with one CAS (tag bumped) and so owns every span
 * that was on it; the owner's concurrent pop or push CASes a head that has changed and retries on the
 * empty stack. A pop that moved the head past a span before the swap keeps that span (it was no
 * longer on the stack). Every transition out of CACHED, by a popper, a taker or a repair, is a CAS
 * from the exact CACHED word, so exactly one of them gets each page: a page is never handed out
 * twice. Stacks are only ever taken whole, so no stack keeps a node taken from under it.
 *
 * <h2>A repair while a live process has a span in transit</h2>
 * A repair frees every CACHED page no stack holds: it cannot tell a dead process's span in transit
 * from a live one's. So each slot has a <b>repair epoch</b> ({@code RegistryLayout.REPAIR_EPOCH}),
 * odd while a repair takes that slot's stacks and scans, even otherwise. A pop or push that reads it
 * odd stays off the cache (the locked path waits for the repair; a free goes the slow way). A push
 * takes its first page by CAS to ALLOCATED with {@code PageEntry.PUSHING} and its slot, writes the
 * page's link (no one else takes a page in that state: a concurrent second free of it does nothing,
 * a repair keeps it), marks the pages CACHED, and CASes the head only if the epoch still reads as
 * before: a repair moves the epoch, then changes every head of the slot (its tag, an empty head
 * too), then takes the stacks, so such a push read its head before the change, and its CAS fails if
 * the change came first (if not, the span is on the stack and the take gets it). A push that loses
 * takes its pages back by CAS: those the repair freed stay freed, the rest are freed the slow way,
 * with no corruption mark. A pop whose claim loses a page and finds the epoch moved frees the pages
 * it did claim the slow way. A repair killed before it ends leaves the epoch odd: that slot's cache
 * stays shut until the next repair, which the takeover of its lock brings, or which the slot's own
 * process starts at its next locked call (an odd epoch of its own under the lock marks the arena).
 *
 * <p>A push or pop whose thread stalls across a <em>whole</em> repair could meet its span again:
 * freed by the repair, then handed to the same process by a refill and freed back onto its stack,
 * CACHED with the very word the stalled call expects. So a CACHED word also carries the slot's
 * <b>repair stamp</b> ({@code PageEntry.repairStamp}: half the epoch, the same during a repair as
 * before it, one more after it): a push marks its pages with the stamp of the epoch it read, a refill
 * with the current one (under the lock, which no repair changes meanwhile), and a pop claims with the
 * stamp of the epoch it read between the head and the head's CAS (read before the head, it could be
 * a whole repair older than the span it pops, whose claim would then fail for nothing), so its CAS
 * fails on a span cached after a repair it slept through, and it finds the epoch moved and gives up
 * as above. A take reads each span's stamp from its first page
 * (a repair killed with the epoch odd leaves stacks pushed under the stamp before it).
 *
 * <h2>One way into the locked region</h2>
 * Every allocator path that comes to hold the lock goes through {@code enterLocked} before it reads
 * any list: {@code acquire} (allocation, allocPagesAt, reserve; RECOVERED and DEADLOCK included),
 * the free path's single CAS, a free by a thread that already holds the lock, {@code detach};
 * {@code recoverIfNeeded} on open and {@code SharedArena.repair} repair outright. If the
 * repair-pending word is set, {@code enterLocked} repairs; otherwise it applies pending frees. This
 * covers every holder because the word is set (release) by whoever takes the lock over from a dead
 * owner, inside the takeover itself, whatever it then does (named roots, a tool, a user); a holder
 * that is not the allocator never touches the allocator's lists, intent or page states; and the
 * allocator's structures are only read or written by this package's code under the lock, which
 * always entered through {@code enterLocked}. So the first allocator code to run after any takeover
 * repairs before it reads anything the dead holder may have left half-edited. The same word is set
 * when a walk finds corrupted metadata, and the holder repairs before it unlocks.
 *
 * <h2>Distrust</h2>
 * Every page number, length and link read from shared metadata (span-cache heads and links, pending
 * spans, free-run heads, links and boundary tags, the intent, slots in page states) is
 * range-checked against the user pages before it is used to punch, hand out or change a page, and
 * every walk is bounded by what the structure can hold. A bad value marks the arena for repair
 * (the repair-pending word) and the walk stops there; the call returns 0 or repairs and retries. A
 * page is handed out only after its state was checked FREE (or claimed from CACHED by CAS) and
 * within the user pages. Repair sets a state value that is no state to ALLOCATED (never frees by
 * guess) and names what it could not fix ({@code SharedArena.repairNotes}).
 *
 * <h2>Crash argument, step by step</h2>
 * Assume any process can die (SIGKILL) between any two instructions. Each step boundary is an
 * {@link io.sharena.core.alloc.AllocPoint}; tests kill a real process and pause a thread at each.
 * <ul>
 *   <li><b>Allocation under the lock</b>: the holder writes an {@link io.sharena.core.layout.Intent}
 *       (ALLOC or RESERVE, release store) before carving and clears it when done. The next waiter
 *       sees the holder dead (its pid is gone or reused: {@code io.sharena.core.owner}), takes the
 *       lock over and repairs: the intent is rolled back (its caller never saw the pages; the range
 *       came from the lists, so no one else can have got a page of it), the lists, which may be
 *       half-edited, are rebuilt from the page states in one pass, and every free run is punched
 *       again.</li>
 *   <li><b>Allocation into a word</b> ({@code allocPagesInto}): as above under an ALLOC_INTO intent
 *       whose word ({@code INTENT_DEST}, written first) gets the range's pointer by one CAS from 0
 *       after the carve and before the intent is cleared. Repair keeps the range when the word holds
 *       its pointer (published: someone may use it) and rolls it back otherwise. A word another
 *       writer filled meanwhile: the intent becomes ALLOC and the range is freed under it. Between
 *       the CAS and the intent's clearing others may read the word and free the pages: such a free
 *       never goes into a span cache (it checks the intent first), since a cache would hand the
 *       pages out again before a repair decides, from the word, whether to roll back; the locked
 *       free and the pending list both act after the repair.</li>
 *   <li><b>Free from a word</b> ({@code freePagesFrom}): under a FREE_FROM intent naming the word and
 *       the range, one CAS takes the pointer out, then the range is freed as below. Repair does
 *       nothing while the word still holds the pointer and frees the range's ALLOCATED and RESERVED
 *       pages once it does not (those the free had taken are PENDING with a dead slot, freed by the
 *       rebuild). As
 *       for ALLOC_INTO, a free of pages the intent names skips the span caches: another process may
 *       take the pointer out of the word of a dead free-er and free the pages before the repair.</li>
 *   <li><b>Free under the lock</b>: each page ALLOCATED/RESERVED → PENDING(holder, FREEING) by CAS,
 *       then per run FREE, punch, link. Killed midway: the pages it took name a dead slot and repair
 *       frees exactly those; a page it skipped (already free, or in someone's cache) is never
 *       touched, so a page someone else got meanwhile stays theirs. Pages not yet taken stay
 *       ALLOCATED, as if that part of the free had not been called.</li>
 *   <li><b>Cache push</b>: the first page ALLOCATED → PUSHING(slot) by CAS; link it; the other pages
 *       ALLOCATED → CACHED(slot) one CAS each; the first → CACHED tagged with the span's length (a
 *       store: it is the push's); CAS the head. <b>Cache pop</b>: CAS the head; claim the pages by
 *       CAS. Killed in between: a PUSHING page of a dead slot (repair makes it plainly ALLOCATED:
 *       kept, as a free not yet called), CACHED pages in no stack, or pages already ALLOCATED.
 *       Repair takes every stack and frees every CACHED page no stack holds; ALLOCATED pages stay
 *       allocated. A push killed while it takes its pages back after a lost CAS leaves some
 *       ALLOCATED (kept) and some CACHED (freed).</li>
 *   <li><b>Group refill</b>: under the ALLOC intent of the whole group, the group is carved
 *       ALLOCATED, then the spans meant for the cache are set CACHED(slot) (release stores: no one
 *       else knows these pages), then the intent is cleared, then each is pushed (link, head CAS).
 *       Killed before the intent is cleared: repair rolls the caller's span back by the intent and
 *       frees the CACHED spans no stack holds; after: the caller's span stays ALLOCATED (as for any
 *       allocation the caller had not returned yet), the spans not yet pushed are freed by repair.</li>
 *   <li><b>Pending push</b>: pages ALLOCATED/RESERVED → PENDING(slot) one CAS each; tag; CAS the
 *       shared head. Killed before the CAS: PENDING pages of a dead slot, not on the list; repair,
 *       having drained the list, frees them. Pages a <em>live</em> pusher has marked but not yet
 *       pushed carry a live slot and are left alone.</li>
 *   <li><b>Pending drain</b>: the holder re-tags every page of the list with its own slot while the
 *       list is still published, then takes it with one CAS (re-tagging spans pushed meanwhile and
 *       retrying), then frees span by span. Killed before the CAS, the list is still there; after it,
 *       every taken page names the dead drainer and repair frees it. No page ever sits PENDING off
 *       the list under a live slot that is not pushing it.</li>
 *   <li><b>Taking a cache</b> (flush, steal, repair): one head CAS, then per span CAS CACHED → FREE,
 *       punch, link. Killed midway: FREE pages outside the lists (relinked by repair) or CACHED pages
 *       in no stack (freed by repair).</li>
 *   <li><b>Dirty pages</b>: a free sets each page FREE and DIRTY (one release store each, the pages
 *       are the holder's) before the run is linked, with RUN_DIRTY on the merged run's head;
 *       committing ahead sets RUN_DIRTY on the run's head, then DIRTY on each page whose storage
 *       {@code fallocate} has just committed; a purge clears DIRTY on a stretch, then punches it, and
 *       resets the count last. Killed anywhere: a DIRTY page always has storage, RUN_DIRTY is a
 *       superset hint, the count may be off; repair punches every free run, clears every bit and sets
 *       the count to 0. Allocation zeroes or commits the range before the carve, under its intent.</li>
 *   <li><b>Repair</b> itself is idempotent, page states being the truth, so a recoverer that dies
 *       leaves work the next one redoes; it clears the repair-pending word last.</li>
 *   <li><b>Opening</b> an arena with dead processes registered, or a repair pending, runs the same
 *       repair, so pages a dead process left in transit come back even if no one waits on the
 *       lock.</li>
 * </ul>
 * Pages a dead process had allocated stay ALLOCATED (they may be linked into shared data); no page
 * is ever in two structures that hand it out, because handing out always goes through a CAS or a
 * store on the page's own STATE word by the structure that owns it, under the lock for the lists.
 *
 * <h2>Memory</h2>
 * Storage is committed by {@code fallocate} before pages leave the lists, so a full file system fails
 * an allocation rather than raising SIGBUS later. Freed pages keep their storage ("dirty", as
 * jemalloc's dirty pages) so that reusing them costs a {@code memset} instead of {@code fallocate}
 * and a punch (tens of microseconds on ext4); the storage goes back to the operating system by a
 * <b>purge</b>: one {@code fallocate(PUNCH_HOLE)} per contiguous stretch of dirty pages, which the
 * kernel applies to every process's mapping at once. A purge runs when the oldest dirty page has
 * waited the purge delay ({@code ArenaOptions.withPurgeDelayNanos}, about a second by default;
 * {@code DIRTY_SINCE} in the control page is when the count last left 0), or at once when more than
 * the dirty limit are dirty, by whichever process releases the lock next, or by that process's idle
 * purge thread ({@code Purger}, one CAS on the lock, never a wait); on {@code purge()}, on close, on
 * ENOSPC, and when a reserve covers dirty pages. With a delay of 0 every free punches its own pages
 * before it returns. The DIRTY bit is set only once storage is known committed and cleared before a
 * punch, so it never names a hole: a page handed out as dirty (zeroed by a store, never faulting in a
 * hole) cannot SIGBUS; a clean page that holds data (a raw write while FREE, or a purge killed
 * between clearing the bit and punching) is what {@code SEEK_DATA} catches. A repair punches every
 * free run and leaves nothing dirty. The span caches keep at most 96 pages (384 KiB) per process
 * resident (a refill may leave up to 7 spans more on a stack for a while; frees then go the slow way
 * until it drains): they are why a small alloc/free needs neither the lock nor a system call.
 *
 * <h2>FFM</h2>
 * No downcalls here: {@code fallocate} goes through {@link io.sharena.core.os.NativeFile}; shared words
 * are FFM var handle accesses on the mapped segment, atomics through
 * {@link io.sharena.core.os.SharedWords}.
 */
package io.sharena.core.alloc;
