/**
 * The shared store: a memcached-like key/value cache that lives entirely in an arena file, used by
 * any number of JVM processes at once. Readers take no lock and make no system call; writes are
 * atomic per key; a process killed at any instant leaves every key with its old or its new value.
 *
 * <h2>Memory: one ring, written as a log</h2>
 * The memory limit is one contiguous run of arena pages, allocated when the store is created: the
 * <b>ring</b>. Items are records appended at the ring's <b>head</b> and reclaimed at its <b>tail</b>,
 * both 64-bit <i>logical</i> positions that only grow (the physical offset is {@code pos % ringBytes};
 * a record never straddles the end: a PAD record fills the gap). Every record starts with its own
 * logical position, its size and its state ({@link io.sharena.ipc.layout.ItemLayout}). Records are
 * never changed in place once published, except three single words: the chain link, the state, and
 * the expiry ({@code touch}). An update writes a new record and swaps it in.
 *
 * <p>Why a log rather than size classes and free lists: (1) nothing can leak: whatever a dead
 * process had in transit (a half-written record, a record built for a {@code cas} that lost) is
 * garbage the tail passes over on its next lap, with no free list to repair; (2) readers need no
 * epochs or hazard pointers: a record's bytes can only be reused after the tail has passed its
 * position, so a reader validates what it read by checking the tail afterwards (a seqlock whose
 * sequence is the tail: the ring lock holder fences its stores after each move of the tail, as a
 * seqlock writer does after bumping its sequence, since it may write into the space it just passed
 * at once, and a release store does not keep later stores after it on weakly ordered CPUs); (3) allocation is a bump of the head. Its cost: an update rewrites the
 * whole item (as memcached does), and space of deleted items returns only when the tail reaches it,
 * except for records of 4 KiB or more: one given up, replaced or deleted by a process is a
 * <b>hole</b> that process's next large writes fill ({@code Ring.takeHole}), so that a large value
 * replacing itself takes back the space its last version left instead of making the tail pass (and
 * move) as many bytes of other items. A record placed in a hole keeps the hole's position, so the
 * tail alone cannot tell a reader of the replaced item that its bytes changed: a placement first
 * raises the store's reuse count ({@code StoreLayout.REUSES}, on the tail's line), which walks
 * check with the tail, and clears the hole record's CAS word, which readers of that item's value
 * check. Only in a store of this build's format ({@code StoreLayout.VERSION_VALUE}): one of the
 * format before may be shared with a process of the build before, whose readers check the tail
 * alone.
 *
 * <h2>Index</h2>
 * A chained hash table of {@code 2^k} buckets, each a 32-bit arena pointer to the first item of its
 * chain; items link through their NEXT word. Buckets are grouped into <b>stripes</b>
 * ({@code bucket % stripes}); each stripe has a lock word and the item count and byte count of its
 * buckets ({@link io.sharena.ipc.layout.StoreLayout}, one 128-byte line per stripe, so two stripes
 * never share a cache line). The table does not grow: its size is chosen at creation from the
 * memory limit (one bucket per 256 bytes of ring by default); a fuller table only means longer chains.
 *
 * <h2>Readers (get, gets, multi-get): no lock</h2>
 * A reader loads the bucket (acquire), walks the chain comparing hash and key, and keeps the lowest
 * logical position it read. At a hit it reads the item's fields; then, after a load fence, it
 * loads the tail and the reuse count (loaded before the walk too): if the tail is still at or below
 * every position it read and the count has not moved, none of those records was reused while it
 * read them. Then it reads the value and checks, after a load fence, that the tail is still at or
 * below the item and its CAS word still holds the CAS value read (a placement in its space clears
 * that word first, and no later item has that value): the value is exactly one that was stored
 * (never torn); otherwise it starts again. Each record it visits is also checked to sit where its own position
 * says and in the reader's bucket, so bytes of reused space are recognised before they are trusted
 * (such a walk starts again if the tail or the reuse count has moved since it began: the position
 * word it would have checked may already be another record's; with both still, the index itself is
 * broken),
 * and every length read is clamped to the ring, so garbage can never make a read leave it. A
 * reader may see the version a writer is replacing (old or new, each whole). A zero-copy reader
 * ({@link io.sharena.ipc.store.StoreReader}) gets a {@link java.lang.foreign.MemorySegment} of the
 * value in the ring and calls {@code validate()} after using it, the same check, deferred (its
 * {@code memory()} and {@code valueOffset()} address the value with no object at all). Readers
 * write one byte outside the items: the item's use count in the access map (below), while it is below three.
 *
 * <p>What a get costs: its misses come one after another (key, bucket word, the item's header,
 * then its key and value lines and its access-map byte), about four dependent cache misses on a
 * million items; the position check at each hop multiplies rather than divides ({@code Multiples}),
 * so that the instructions between misses stay few.
 *
 * <h2>Writers: per-stripe lock, pointer swap</h2>
 * Every mutation that stores a value first builds the new record with no lock held (reserve space,
 * write header, key and value), then takes the stripe lock, checks its condition against the
 * current item (absent for add, present for replace, same CAS for cas, the very item it read for
 * append/prepend/incr/decr, which otherwise start again), and publishes with one release store of
 * the predecessor's link (the bucket word or the previous item's NEXT): readers see the old item or
 * the new one. An update that keeps the item's expiry (append, prepend, incr, decr, invalidate)
 * copies it into the new record under that lock, not from its lock-free read: touch changes the
 * expiry in place without changing the item's position, so the read may be older than a touch
 * already acknowledged. The new record is marked LINKED before that store, the old one DEAD after it. Delete
 * is one release store that unlinks; touch is one release store of the expiry word. A writer reads
 * what it needs of the old record (its size, for the stripe's byte count) before marking it DEAD:
 * from that store on, the tail may pass it without the stripe lock and the head reuse its space. Nothing that
 * holds a stripe lock ever waits for ring space, so eviction (which takes stripe locks while it
 * holds the ring lock) cannot deadlock with writers. A record that loses its condition is marked
 * DEAD and left to the tail.
 *
 * <h2>Space: the ring lock, eviction by CLOCK</h2>
 * Reserving space takes the ring lock: it writes the new record's header (state RESERVED, owner's
 * process token) at the head and then advances the head with a release store, so the
 * record at the head is always parsable. When the head would come closer than the record's size to
 * the tail plus the ring size, the tail advances record by record: PAD and DEAD records are simply
 * passed; a RESERVED record whose owner is dead is garbage and passed; one whose owner lives is
 * waited for (bounded: a set then fails with NO_MEMORY rather than hang); a LINKED record is
 * unlinked under its stripe lock and counted as an eviction (or reclaimed, if expired or flushed),
 * unless its use count is above zero: then it is copied to the head and swapped in for itself
 * with its count one lower, at most {@code 16} such moves per reservation. A cold item (count 0),
 * and a used one past those 16, is moved the same way, not evicted, while the live items fill less
 * than half of the ring (the stripes' byte counts, read whole once, then again two stripes per
 * decision and a round per 8th of the ring the tail passes, the ring lock holder's own evictions
 * taken off at once, less the expired items among
 * them as estimated from the share of such items the tail reclaimed lately: words on the ring
 * lock's line), up to 3 bytes moved for each
 * byte the reservation asks for: memcached evicts only when its memory is full, and a log whose
 * tail comes round after every lap of writes would otherwise drop an unread key from a store that
 * is nearly empty. Above half, a lap would move more than it writes ({@code Ring.ROOMY_PERCENT}
 * has the measured cost), so cold items go. New writes leave
 * 1/64 of the ring free so that a full ring still has room for these copies (without it the item
 * at the tail of a full ring could only be evicted), or twice the largest record ever linked
 * when that is more (a move may need a PAD to the ring's end as well as the record), as far as
 * the ring still takes two records of the largest size. So items may use {@code 63/64} of the
 * memory limit in a store of small items, less where large ones were written (62/64 in 64 MiB
 * after a 1 MiB value).
 *
 * <p>Policy: <b>CLOCK with a use count</b> (FIFO with reinsertion, up to three laps). Each hit
 * raises the item's count, 0 to 3, kept in unary in its byte of a side map so that a reader raises
 * it with one atomic OR; a reader writes only while the count is below 3, so a hot item costs its
 * readers no store at all. There are no list moves on reads, which would mean locks or contended
 * writes in memory shared between processes (memcached's LRU bumps are why it holds item locks on
 * reads). Measured on the benchmark's Zipf(0.99) trace, a million keys and room for a tenth of
 * them: a single CLOCK bit hit 76.53 %, memcached's segmented LRU at the same limit 76.92 %, an
 * exact LRU 75.92 %; the count of three (with the slack cut from 1/32 to 1/64) hits 77.20 %, at
 * the price of about a fifth more copies at the tail (with the 64-byte item headers of then; since
 * headers shrank to 56 bytes, 77.85 % against memcached's 76.91 %). SIEVE needs a hand that sweeps items that
 * stay where they are, and S3-FIFO a second queue; in a log whose space must be freed in order at
 * the tail, reinsertion is the natural fit.
 *
 * <h2>Expiry and flush</h2>
 * memcached's rules: an exptime of 0 never expires; a negative one is already expired; up to 30
 * days (2,592,000 s) is relative to now; above, an absolute Unix time. Items store an absolute
 * wall-clock second, so expiry survives restarts. An item is expired when its time is at or before
 * now. A relative time counts from the nearest second, not the one begun: an item set for 1 s lives
 * 0.5 to 1.5 s, never a millisecond (memcached's coarse clock gives 0 to 1 s, so a set followed at
 * once by a touch misses whenever its clock ticks in between; its own tests do that).
 * {@code flush_all} with no delay invalidates every item whose CAS is at or below the CAS
 * counter at that moment; with a delay, every item stored before the deadline, once it has passed.
 * Expired and flushed items read as misses and are reclaimed lazily: by the next write to their
 * key or when the tail reaches them ({@code curr_items} counts them until then, as memcached's does
 * between crawls).
 *
 * <h2>Stats</h2>
 * Item and byte counts live in the stripes (changed under their locks). Call counters live in one
 * block per arena registry slot, so processes never write the same counter; a reader sums them.
 * Get hits and misses are counted per thread and added every 64 gets (an atomic add per get would
 * be a full fence on the read path): another process's view of them may lag by that much.
 *
 * <h2>Tools</h2>
 * {@link io.sharena.ipc.store.StoreTools} finds an arena's stores by their named roots and reads
 * them through a read-only attachment, with no lock and no counter block of its own: the stats and
 * the ring's records by state ({@code arena stat}), the checker ({@code arena check}) and the key
 * listing ({@code arena dump --keys}). Its repair ({@code check --repair}) first sets header words
 * a stray write changed from what the records say ({@link io.sharena.ipc.store.HeaderEvidence}:
 * the ring's head and tail, a max item size below a whole item's value, a CAS counter below an
 * item's), then attaches for writing,
 * takes over the locks of dead processes, turns stretches of the ring that do not parse into
 * padding and cuts chains at a link to what is not a whole item of their bucket
 * ({@link io.sharena.ipc.store.StoreRepair}: damage from another process's stray write or a file
 * cut short, never from a kill), links the whole items that no chain reaches into their bucket
 * again where the stripe's counts show its chains lost them
 * ({@link io.sharena.ipc.store.StoreRelink}: a bucket word or link zeroed or pointed elsewhere; a
 * kill's unreached records are not, their stripe recounted when its lock was taken over), and
 * recounts every stripe from its chains.
 *
 * <h2>Memory per item</h2>
 * A record is a 56-byte header, the key and the value, rounded up to 16 bytes: 176 bytes for a
 * 16-byte key and a 100-byte value (expiry and store time are 32-bit seconds). Around it: 4 bytes
 * of bucket per 256 bytes of ring (up to twice that after rounding the count up to a power of two),
 * 1 byte of access map per 64, and the 1/64 slack: 184 to 187 bytes per such item, against about 200 for
 * memcached 1.6 by its documented layout (48-byte header, 8-byte CAS, key + 1, value + 2, in the
 * 192-byte slab class, plus its hash table). The whole ring is allocated, with its storage
 * committed, when the store is created.
 *
 * <h2>What the meta protocol needs</h2>
 * Each item has a META word beside its header fields: a stale bit (memcached's invalidate), a
 * win-token bit, a bit saying its key was given in base64 (meta {@code b}, written with the item
 * and kept by rewrites in place, as memcached keeps its item flag), and its last access in seconds
 * since the store was created. Invalidating, and a
 * stale store ({@code ms I}), write a new record as every other change does. The token bit is set
 * under the key's stripe lock, on the item found there if it still has the CAS value the reader
 * saw, so exactly one caller wins per item version, whichever process it is in. The access time
 * moves at most once a minute (memcached's interval), also under the lock, taken only if free:
 * a reader never waits for it, and a record is never written by a reader that does not hold the
 * lock (its space may have been reused). Readers compare it with the store's coarse clock (a
 * header word moved forward by writes, by every 64th get of a thread and by {@code tick()}),
 * not with the real clock, which costs 30 ns a read on this machine. Hit-before is the access
 * map's FETCHED bit.
 *
 * <h2>Crash argument</h2>
 * Every change of shared state is one atomic word, or leaves a state that is recognised and
 * finished or ignored:
 * <ul>
 *   <li>Create: the region (header, stripes, buckets, access map, ring) is allocated straight into
 *       the store's named root and formatted as one crash-safe step of the roots
 *       ({@code NamedRoots.create}): a creator killed at any instant leaves no store and no page
 *       allocated, or the whole store.</li>
 *   <li>Reserve: the header is written before the head moves; a kill between leaves the head where it
 *       was, and the next reservation overwrites the header. In a hole: the reuse count raised and
 *       the hole record's CAS word cleared first (a kill then leaves only readers reading again),
 *       then the hole's rest padded, its record shrunk, and the record reserved; each leaves a ring
 *       the tail parses.</li>
 *   <li>Build: a kill leaves a RESERVED record owned by a dead process: the tail passes it. A
 *       record keeps its owner word until it is LINKED (a set writes its CAS value when it
 *       publishes it, the tail's second chance when its copy is LINKED), so a RESERVED record is
 *       always judged by its owner, never by a CAS value that may read as a live process's token.</li>
 *   <li>Publish: the new record is LINKED before the one link store that publishes it; a kill before
 *       that store leaves a LINKED record in no chain; after it, an old record still LINKED but in no
 *       chain. Eviction finds either at the tail, looks it up in its chain under the stripe lock,
 *       does not find it, and passes it.</li>
 *   <li>Delete and eviction unlink with one store; the tail moves after the unlink.</li>
 *   <li>A lock whose owner died is taken over by the next waiter (owner identity: registry slot
 *       and generation; liveness by the registry). A stripe lock taken over recounts its stripe's item and
 *       byte counts from its chains, the only state a dead holder could leave half-updated.</li>
 *   <li>{@code flushAll} with no delay is two stores, the CAS watermark raised (every item is
 *       flushed from then on), then a pending delayed flush cleared (by CAS from the one read before,
 *       so that one another process asks for meanwhile stays): a kill between them leaves that
 *       delayed flush pending, and it still fires in its time (crash point
 *       {@code FLUSH_CAS_RAISED}). Making the two one step needs another header word. Between
 *       them the watermark's copy is raised ({@code FLUSH_CAS_COPIED}): evidence for the tools'
 *       repair of a watermark a stray write raised above the CAS counter, read for nothing else
 *       (killed before it, it holds the flush before).</li>
 * </ul>
 * So after a kill every key has its old or its new item, and nothing leaks: ring space is
 * reclaimed by the tail whatever its state, and per-process call counters are sums that a dead
 * process simply stops adding to. Stats counters ({@code cmd_get}, ...) may miss the increments of
 * the operation in flight. Warm restart needs no step at all: the file is the store.
 *
 * <h2>Locks</h2>
 * Stripe and ring locks are the arena's user-placeable {@link io.sharena.core.lock.SharedLock}s
 * (owner token of registry slot, generation and thread; results ACQUIRED, TIMEOUT, DEADLOCK,
 * RECOVERED; dead-owner takeover by one compare-and-set). RESERVED records name their owner with
 * the same kind of token (the process's, without a thread), judged by the same liveness rule. No
 * heartbeat: a stopped process keeps its locks and records, and callers then get a bounded wait
 * and a BUSY or NO_MEMORY result.
 *
 * <h2>FFM</h2>
 * This package makes no downcalls and no restricted calls: it reads and writes the arena's mapped
 * segment through its views and var handles.
 */
package io.sharena.ipc.store;
