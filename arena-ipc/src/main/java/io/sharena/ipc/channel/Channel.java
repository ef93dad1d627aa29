package io.sharena.ipc.channel;

import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaFullException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.owner.Ownership;
import io.sharena.ipc.Holders;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.ChannelLayout;

import java.util.List;

/**
 * A message channel between processes, in arena pages, found by name through the named roots:
 * one consumer, up to {@link ChannelLayout#MAX_LANES} producer processes (one-to-one is one lane).
 *
 * <pre>{@code
 * Channel.create(arena, "orders", 4, 1 << 16, 1024);          // once
 * try (ChannelProducer p = Channel.open(arena, "orders").producer()) {
 *     p.offer(type, bytes, 0, bytes.length);                  // false when full
 * }
 * try (ChannelConsumer c = Channel.open(arena, "orders").consumer()) {
 *     c.poll((view, type, ptr, length) -> ..., 16);           // read in place
 * }
 * }</pre>
 *
 * <p>Each producer process claims a lane, a single-producer single-consumer ring: messages are
 * ordered per producer and delivered exactly once. Variable-length messages up to the channel's
 * maximum; {@link ChannelProducer#claim}/{@link ChannelProducer#commit} write in place
 * (zero-copy), and a message may carry arena pointers to pages or heap objects that the receiver
 * reads in place and frees.
 *
 * <p><b>Ownership</b>: a lane's producer and the channel's consumer are recorded in owner words
 * of the arena's one ownership primitive ({@link Ownership}): claimed, taken over from a dead
 * owner, and released by one CAS each. So a lane is never half-claimed: two producers can never
 * share one, and a live producer or consumer is never taken for dead in the middle of a change of
 * hands.
 *
 * <p><b>Crash model and delivery</b> (the named points are {@link ChannelPoint}): a producer
 * publishes a record only by a release store of the record's own LENGTH word, after writing it
 * whole, so a message half-written by a producer that dies is never delivered: it is simply not
 * there (the consumer waits on that word, so one cache line crosses per small message; layout and
 * the zeroing that keeps every unpublished LENGTH word 0 in {@link ChannelLayout}). A producer
 * attaching to a lane finds where its predecessor's records end and zeroes the free space behind
 * it, in case the predecessor died, or closed, in the middle of a record. The
 * consumer moves HEAD past each message as soon as its handler returns, or throws (in a
 * {@code finally}): while consumers live, every message is delivered exactly once, and a handler
 * that throws does not get that message, or the ones before it, again. <b>A consumer that dies
 * inside its handler leaves that one message to its successor: at-least-once for the message in
 * hand</b>, exactly once for every other; the successor's handler sees
 * {@link ChannelConsumer#redelivered()} true for it. A redelivered message that frees memory it already freed
 * is harmless while that memory is still free: {@code ObjectHeap.free} of a free object and
 * {@code freePages} of free pages are no-ops. The consumer notices a dead producer once its lane
 * is drained, reports it, and frees the lane for another producer; a producer may also take a dead
 * producer's drained lane over. A producer waiting for room notices a dead consumer and gives up
 * with {@link ChannelProducer#CONSUMER_DEAD}; a new consumer may take a dead one's place.
 *
 * <p><b>Corruption</b>: the header is validated when a channel is opened (lanes, sizes, ring
 * pointers, each ring pages of its own that no other structure holds); positions and record
 * lengths read from shared memory are checked before they index a ring, and a producer or consumer
 * attaching checks a lane's TAIL against the records published from HEAD. Anything out of range
 * throws {@link ArenaCorruptedException}; {@link #check} names it, and {@link #repair} gives back
 * a lost magic or lane count.
 */
public final class Channel {
    final SharedArena arena;
    final ArenaView view;
    final int header;
    final int lanes;
    final int ringBytes;
    final int maxMessage;
    final Ownership ownership;
    /**
     * Each lane's ring, as validated here (in the user pages, allocated, over no other ring or the
     * header): producers, consumers and the drain test index rings with these, never with a RING
     * word read again later, which a stray write since could have pointed anywhere.
     */
    private final int[] rings;

    private Channel(final SharedArena arena, final int header) {
        this(arena, header, true);
    }

    /**
     * @param attach false for {@link ChannelCheck}, which reads the header's other fields whatever
     *               the magic (it has looked at it) and has no ownership (its arena may be read-only)
     */
    Channel(final SharedArena arena, final int header, final boolean attach) {
        this.arena = arena;
        this.view = arena.raw();
        this.header = header;
        this.ownership = attach ? ArenaInternals.ownership(arena) : null;
        if (!Pages.inUserRange(arena, header, 1)) {
            if (attach && Pages.inUserPages(arena, header)) {
                // What a name holds is the user's: a root put by hand inside the user pages, at no
                // page start, is no channel, not damage (one outside the arena's pages is).
                throw new IllegalStateException("not a channel: ptr=0x" + Integer.toHexString(header)
                    + " is no page of the arena's user range");
            }
            throw corrupted("channel header pointer", Integer.toUnsignedLong(header), "");
        }
        if (attach && view.getIntAcquire(header + ChannelLayout.MAGIC) != ChannelLayout.MAGIC_VALUE) {
            throw new IllegalStateException("not a channel: ptr=0x" + Integer.toHexString(header));
        }
        this.lanes = view.getInt(header + ChannelLayout.LANES);
        this.ringBytes = view.getInt(header + ChannelLayout.RING_BYTES);
        this.maxMessage = view.getInt(header + ChannelLayout.MAX_MESSAGE);
        // Validated once, here: everything else indexes rings with these.
        if (lanes < 1 || lanes > ChannelLayout.MAX_LANES) {
            throw corrupted("channel lane count", lanes, "");
        }
        if (ringBytes < Geometry.PAGE_SIZE || Integer.bitCount(ringBytes) != 1 || ringBytes > arena.capacityBytes()) {
            throw corrupted("channel ring size", ringBytes, "");
        }
        if (maxMessage < 1 || maxMessage > ringBytes / 4 || ChannelLayout.recordBytes(maxMessage) > ringBytes / 4) {
            throw corrupted("channel maximum message", maxMessage, "ringBytes=" + ringBytes);
        }
        // A lane past the count with a ring: the count was lowered by a stray write (a creator
        // writes no lane past it), and those lanes' messages would go unread without a word.
        final int inUse = lanesWithRings(view, header);
        if (inUse > lanes) {
            throw corrupted("channel lane count", lanes, "lane " + (inUse - 1) + " past it has a ring");
        }
        final long check = view.getLong(header + ChannelLayout.GEOMETRY_CHECK);
        if (check != 0 && check != ChannelLayout.geometryCheck(header, lanes, ringBytes, maxMessage)) {
            throw corrupted("channel geometry check", check, "lanes=" + lanes + ", ringBytes=" + ringBytes
                + ", maxMessage=" + maxMessage + " disagree with it (one of them, or it, was hit)");
        }
        final long ringPages = ringBytes / Geometry.PAGE_SIZE;
        final long headerPage = Integer.toUnsignedLong(header) / Geometry.PAGE_SIZE;
        this.rings = new int[lanes];
        for (int i = 0; i < lanes; i++) {
            final int ring = view.getInt(ChannelLayout.lane(header, i) + ChannelLayout.RING);
            if (!Pages.inUserRange(arena, ring, ringPages)) {
                throw corrupted("channel ring pointer", Integer.toUnsignedLong(ring), "lane=" + i);
            }
            rings[i] = ring;
            // Each ring is pages of its own: a ring over the header or another lane's (a stray
            // write) would have one side's writes land in the other's.
            final long first = Integer.toUnsignedLong(ring) / Geometry.PAGE_SIZE;
            if (headerPage - first >= 0 && headerPage - first < ringPages) {
                throw corrupted("channel ring pointer", Integer.toUnsignedLong(ring), "lane=" + i + ", over the channel's header");
            }
            for (int j = 0; j < i; j++) {
                final long other = Integer.toUnsignedLong(view.getInt(ChannelLayout.lane(header, j) + ChannelLayout.RING))
                    / Geometry.PAGE_SIZE;
                if (Math.abs(first - other) < ringPages) {
                    throw corrupted("channel ring pointer", Integer.toUnsignedLong(ring), "lane=" + i + ", over lane " + j + "'s ring");
                }
            }
            // Pages the allocator may hand out again: a producer would write over their next owner's data.
            for (long p = first; attach && p < first + ringPages; p++) {
                if (Pages.state(arena, p) != PageEntry.ALLOCATED) {
                    throw corrupted("channel ring pointer", Integer.toUnsignedLong(ring), "lane=" + i + ", page " + p
                        + " of its ring not allocated");
                }
            }
        }
    }

    /** @return lane {@code i}'s ring, as validated when the channel was opened */
    int ring(final int i) {
        return rings[i];
    }

    /**
     * Refuses a channel whose header or rings another structure holds ({@link Holders}): a ring
     * word a stray write pointed at the heap's metadata, a store's region or another channel's
     * ring would have the next message written over that structure's data.
     *
     * @throws ArenaCorruptedException naming the structure
     */
    private void ownPagesOnly() {
        final java.util.BitSet mine = new java.util.BitSet();
        if (!ChannelCheck.heldPages(arena, header, mine)) {
            return; // no made channel's header: the caller's validation has said what is wrong
        }
        for (final Holders.Holder other : Holders.of(arena)) {
            final String both = other.ptr() == header ? null : Holders.shared(mine, other.pages());
            if (both != null) {
                throw corrupted("channel pages", Integer.toUnsignedLong(header), "held by " + other.name() + " too: " + both);
            }
        }
    }

    /**
     * @return the end of the records published from position {@code from} (at or past CLEARED) of
     * the ring at {@code ring}: the first position whose LENGTH word reads unpublished, or a ring's
     * worth past CLEARED; if a record on the way is out of range, {@code -1 - its position}
     */
    long publishedEnd(final int ring, final long from, final long cleared) {
        final int mask = ringBytes - 1;
        long at = from;
        // Every step moves at least 8 bytes and stays within a ring of CLEARED: the walk ends.
        while (at - cleared < ringBytes) {
            final int index = (int) (at & mask);
            final int stamp = view.getIntAcquire(ring + index + ChannelLayout.LENGTH);
            if (stamp == ChannelLayout.UNPUBLISHED) {
                return at;
            }
            final int bytes = ChannelLayout.publishedBytes(stamp, index, ringBytes, maxMessage);
            if (bytes < 0 || at + bytes - cleared > ringBytes) {
                return -1 - at;
            }
            at += bytes;
        }
        return at;
    }

    /** @return the LENGTH word of the record at position {@code at} of the ring at {@code ring} */
    int stampAt(final int ring, final long at) {
        return view.getIntAcquire(ring + (int) (at & (ringBytes - 1)) + ChannelLayout.LENGTH);
    }

    /**
     * @return what is wrong with a lane's TAIL, read as {@code tailBefore} before the walk from HEAD
     * that found the records published up to {@code end}, and as {@code tailAfter} after it; null if
     * nothing. TAIL is never past what is published (a producer moves it after publishing), and lags
     * it by at most a padding and a record (one that died between the two stores): a TAIL past the
     * end means a gap in the records, where a length word or HEAD was hit, and records past it that
     * no consumer would read (nor a producer keep: it writes from the end); HEAD further past TAIL
     * was moved over messages not read, or into the free space.
     */
    String tailProblem(final long tailBefore, final long end, final long tailAfter) {
        if (tailBefore - end > 0) {
            return "past a gap in the records (a length word or HEAD was hit): tail=" + tailBefore + ", published to=" + end;
        }
        if (end - tailAfter >= ChannelLayout.maxTailLag(maxMessage)) {
            return "behind what is published by more than a record (HEAD moved over messages, or into the free space):"
                + " tail=" + tailAfter + ", published to=" + end;
        }
        return null;
    }

    /** @return one more than the last lane whose ring word is set, of all a header page has room for */
    static int lanesWithRings(final ArenaView view, final int header) {
        for (int i = ChannelLayout.MAX_LANES - 1; i >= 0; i--) {
            if (view.getInt(ChannelLayout.lane(header, i) + ChannelLayout.RING) != 0) {
                return i + 1;
            }
        }
        return 0;
    }

    /** @return the exception for a corrupted channel (channels have no repair of their own) */
    ArenaCorruptedException corrupted(final String structure, final long value, final String detail) {
        return new ArenaCorruptedException(structure, value, "channel=0x" + Integer.toHexString(header)
            + (detail.isEmpty() ? "" : ", " + detail));
    }

    /**
     * Creates a channel and registers it under {@code name}.
     *
     * <p>The header page is allocated into the name's entry and marked "being created" with this
     * process's owner token ({@link ChannelLayout#CREATOR}) in one crash-safe step ({@link NamedRoots#create});
     * each ring is allocated straight into its lane's word ({@link SharedArena#allocPagesInto});
     * one release store of the magic then makes the channel. A creator killed inside the roots'
     * step leaves nothing once the roots' next user has undone it; one killed after leaves a
     * registered, half-made channel whose creator is dead: the next {@link #create} or
     * {@link #open} of the name takes it over ({@link ChannelPoint#RECLAIMING}) and gives its pages
     * back, each ring with its lane's word and the header with the name's entry in one crash-safe
     * step ({@link SharedArena#freePagesFrom}): no kill, of a creator or of a reclaimer, leaves a
     * page allocated and unrecorded.
     *
     * @param lanes      producer processes it can have at once (1 .. {@value ChannelLayout#MAX_LANES})
     * @param ringBytes  bytes per lane, a power of two of at least one page ({@value io.sharena.core.layout.Geometry#PAGE_SIZE})
     * @param maxMessage largest payload, at most a quarter of the ring
     * @throws IllegalArgumentException for bad sizes or a name already in use
     * @throws IllegalStateException if the arena has no room
     */
    public static Channel create(final SharedArena arena, final String name, final int lanes, final int ringBytes,
                                 final int maxMessage) {
        if (lanes < 1 || lanes > ChannelLayout.MAX_LANES) {
            throw new IllegalArgumentException("lanes out of range: lanes=" + lanes + ", max=" + ChannelLayout.MAX_LANES);
        }
        if (ringBytes < Geometry.PAGE_SIZE || Integer.bitCount(ringBytes) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two >= " + Geometry.PAGE_SIZE + ": ringBytes=" + ringBytes);
        }
        if (maxMessage < 1 || maxMessage > ringBytes / 4 || ChannelLayout.recordBytes(maxMessage) > ringBytes / 4) {
            throw new IllegalArgumentException("max message must be positive and at most a quarter of the ring: "
                + "maxMessage=" + maxMessage + ", ringBytes=" + ringBytes);
        }
        final NamedRoots roots = NamedRoots.of(arena);
        final int existing = roots.getCreated(name);
        if (existing != 0) {
            reclaimIfAbandoned(arena, roots, name, existing);
        }
        // A name that names another structure is refused below (the roots' create returns its
        // pointer, formatting nothing); one that names nothing (a give-back killed before the name
        // went) is made anew.
        // The header page is allocated into the name's root and stamped "being created" by this
        // process in one crash-safe step of the roots: a creator killed at any instant leaves no
        // page, or a registered header whose rings the next create or open gives back.
        final ArenaView v = arena.raw();
        final boolean[] made = {false};
        final int header = roots.create(name, 1, h -> {
            v.putInt(h + ChannelLayout.LANES, lanes);
            v.putInt(h + ChannelLayout.RING_BYTES, ringBytes);
            v.putInt(h + ChannelLayout.MAX_MESSAGE, maxMessage);
            v.putLong(h + ChannelLayout.GEOMETRY_CHECK, ChannelLayout.geometryCheck(h, lanes, ringBytes, maxMessage));
            v.putLongRelease(h + ChannelLayout.CREATOR, ArenaInternals.ownership(arena).process());
            v.putIntRelease(h + ChannelLayout.MAGIC, ChannelLayout.MAGIC_CREATING);
            CrashPoints.at(ChannelPoint.CREATED);
            made[0] = true;
        });
        if (header == 0) {
            throw new ArenaFullException("no room for the channel: name=" + name + ", lanes=" + lanes
                + ", ringBytes=" + ringBytes);
        }
        if (!made[0]) {
            throw new IllegalArgumentException("name already in use: name=" + name);
        }
        for (int i = 0; i < lanes; i++) {
            // Allocated straight into the lane's word: a creator killed at any instant leaves the ring
            // recorded (the reclaim frees it) or not allocated, never allocated and unrecorded.
            final int ring = Pages.allocateInto(arena, ringBytes / Geometry.PAGE_SIZE,
                ChannelLayout.lane(header, i) + ChannelLayout.RING, Pages.SETUP_TIMEOUT_NANOS);
            if (ring == 0) {
                reclaim(arena, roots, name, header);
                throw new ArenaFullException("no room for the channel: name=" + name + ", lanes=" + lanes
                    + ", ringBytes=" + ringBytes);
            }
            CrashPoints.at(ChannelPoint.RING_RECORDED);
        }
        v.putIntRelease(header + ChannelLayout.MAGIC, ChannelLayout.MAGIC_VALUE);
        CrashPoints.at(ChannelPoint.MADE);
        // Nothing needs the creator's token once the channel is made; cleared, it tells a made
        // channel whose magic a stray write set to "being created" from a half-made one.
        v.putLongRelease(header + ChannelLayout.CREATOR, 0);
        return new Channel(arena, header);
    }

    /**
     * If {@code header} (what {@code name} holds) is a channel being created whose creator is dead,
     * takes it over and gives its pages back.
     *
     * @return whether it did
     */
    private static boolean reclaimIfAbandoned(final SharedArena arena, final NamedRoots roots, final String name,
                                              final int header) {
        if (!Pages.inUserRange(arena, header, 1)) {
            return false;
        }
        final ArenaView v = arena.raw();
        if (v.getIntAcquire(header + ChannelLayout.MAGIC) != ChannelLayout.MAGIC_CREATING
            || Pages.state(arena, Integer.toUnsignedLong(header) / Geometry.PAGE_SIZE) != PageEntry.ALLOCATED) {
            return false;
        }
        // What a creator writes before it registers the name: a page that is no such header (a
        // name that never named a channel) is never taken for one, nor are pages freed from it.
        final int lanes = v.getInt(header + ChannelLayout.LANES);
        final int ringBytes = v.getInt(header + ChannelLayout.RING_BYTES);
        final int maxMessage = v.getInt(header + ChannelLayout.MAX_MESSAGE);
        if (lanes < 1 || lanes > ChannelLayout.MAX_LANES || ringBytes < Geometry.PAGE_SIZE || Integer.bitCount(ringBytes) != 1
            || maxMessage < 1 || maxMessage > ringBytes / 4 || ChannelLayout.recordBytes(maxMessage) > ringBytes / 4) {
            return false;
        }
        if (wasMade(v, header)) {
            return false; // the magic is a stray write's: Channel.open and check say so
        }
        final Ownership me = ArenaInternals.ownership(arena);
        final long creator = v.getLongAcquire(header + ChannelLayout.CREATOR);
        // One CAS from the dead creator's token (or a dead reclaimer's): one taker, and a taker
        // killed halfway leaves the rest to the next, from where it stopped. A reclaimer holds it
        // with its thread's token (a creator with its process's), so the same thread resumes a
        // reclaim it could not finish (the roots' lock was busy, say).
        if (creator != me.mine() && !me.takeOver(v.segment(), Integer.toUnsignedLong(header + ChannelLayout.CREATOR), creator, me.mine())) {
            return false;
        }
        reclaim(arena, roots, name, header);
        return true;
    }

    /**
     * @return whether the header at {@code header} is a made channel's whatever its magic says: its
     * creator word cleared (a creator clears it once the channel is made; a reclaimer holds it), or
     * a word only use writes set (a consumer, a lane's owner or positions, a dead producer counted).
     * While a channel is being created, its creator writes nothing else in its header but the rings'
     * pointers.
     */
    static boolean wasMade(final ArenaView v, final int header) {
        if (v.getLongAcquire(header + ChannelLayout.CREATOR) == 0) {
            return true;
        }
        for (int at = ChannelLayout.CONSUMER; at < ChannelLayout.CREATOR; at += Long.BYTES) {
            if (v.getLong(header + at) != 0) {
                return true;
            }
        }
        for (int i = 0; i < ChannelLayout.MAX_LANES; i++) {
            final int l = ChannelLayout.lane(header, i);
            if ((v.getLong(l + ChannelLayout.OWNER) | v.getLong(l + ChannelLayout.OWNER_PID) | v.getLong(l + ChannelLayout.TAIL)
                | v.getLong(l + ChannelLayout.HEAD) | v.getLong(l + ChannelLayout.IN_HAND) | v.getLong(l + ChannelLayout.CLEARED)) != 0) {
                return true;
            }
        }
        return false;
    }

    /** @return whether the {@code bytes} bytes at {@code ptr} (whole pages) are all zero */
    private static boolean zeroed(final ArenaView v, final int ptr, final int bytes) {
        for (int i = 0; i < bytes; i += Long.BYTES) {
            if (v.getLong(ptr + i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Gives back a half-made channel whose {@link ChannelLayout#CREATOR} word this process holds: each ring is
     * taken out of its lane's word and freed in one crash-safe step ({@link SharedArena#freePagesFrom}),
     * then the header out of the name's entry, and the name removed ({@link NamedRoots#removeAndFree}).
     * Killed at any instant, a reclaimer leaves each page either freed or still named where the next
     * reclaimer finds it: nothing leaks, nothing is freed twice.
     *
     * @throws IllegalStateException if the allocator's lock stayed busy: the reclaim is left where
     *                               it stopped, to be resumed by this thread or taken over
     */
    private static void reclaim(final SharedArena arena, final NamedRoots roots, final String name, final int header) {
        final ArenaView v = arena.raw();
        CrashPoints.at(ChannelPoint.RECLAIMING);
        final int lanes = v.getInt(header + ChannelLayout.LANES);
        final int ringBytes = v.getInt(header + ChannelLayout.RING_BYTES);
        final int ringPages = ringBytes / Geometry.PAGE_SIZE;
        for (int i = 0; i < Math.min(Math.max(lanes, 0), ChannelLayout.MAX_LANES); i++) {
            final int word = ChannelLayout.lane(header, i) + ChannelLayout.RING;
            final int ring = v.getIntAcquire(word);
            if (ring == 0) {
                continue;
            }
            if (!Pages.inUserRange(arena, ring, ringPages) || !zeroed(v, ring, ringBytes)) {
                // Not a ring any creator allocated (those are zeroed pages that nothing writes before
                // the magic: a stray write naming another structure's pages): the word is cleared,
                // nothing freed.
                v.compareAndSetInt(word, ring, 0);
                continue;
            }
            if (!Pages.freeFrom(arena, word, ringPages, Pages.SETUP_TIMEOUT_NANOS)) {
                throw new ArenaBusyException("channel not given back yet (the allocator's lock stayed busy): name="
                    + name);
            }
        }
        if (!roots.removeAndFree(name, header, 1) && roots.get(name) == header) {
            throw new ArenaBusyException("channel header not given back yet (the allocator's lock stayed busy): name="
                + name);
        }
    }

    /**
     * @return the channel registered under {@code name}
     * @throws IllegalArgumentException if there is none, or it is still being created (a creator
     *                                  that died before it was made leaves one that this gives back)
     * @throws IllegalStateException    if the name's pages are not a channel's header (another
     *                                  structure's name, or a header whose magic a stray write changed)
     * @throws ArenaCorruptedException  if the header is a channel's but out of range, its rings
     *                                  overlap, or it reads "being created" though the channel was
     *                                  made (a stray write; {@code check --repair} restores it)
     */
    public static Channel open(final SharedArena arena, final String name) {
        final NamedRoots roots = NamedRoots.of(arena);
        // A header still being allocated and stamped under the roots is waited for (or undone).
        final int header = roots.getCreated(name);
        if (header == 0) {
            throw new IllegalArgumentException("no channel: name=" + name);
        }
        if (Pages.inUserRange(arena, header, 1) && arena.raw().getIntAcquire(header + ChannelLayout.MAGIC) == ChannelLayout.MAGIC_CREATING) {
            if (wasMade(arena.raw(), header)) {
                throw new ArenaCorruptedException("channel header magic", ChannelLayout.MAGIC_CREATING,
                    "channel=0x" + Integer.toHexString(header) + ", name=" + name
                        + ": reads being created, but the channel was made (check --repair restores it)");
            }
            final boolean reclaimed = reclaimIfAbandoned(arena, roots, name, header);
            throw new IllegalArgumentException("no channel yet: name=" + name + (reclaimed
                ? " (its creator died before it was made; its pages were given back)" : " (being created)"));
        }
        final Channel channel = new Channel(arena, header);
        channel.ownPagesOnly();
        return channel;
    }

    /**
     * Checks every channel a named root points at, read-only (works on a read-only attachment):
     * its header, the allocation of its pages, each lane's positions and the records published
     * past its HEAD, as producers and the consumer check them; a header that is a channel's in all
     * but its magic is reported too, and rings that overlap each other, the header, or another
     * structure's pages. Exact only while no process uses the channels. Their repair
     * ({@link #repair}) restores a lost magic only: make a channel damaged otherwise again.
     *
     * @return the violations, one line each, prefixed {@code channel NAME: }; empty when consistent
     */
    public static List<String> check(final SharedArena arena) {
        return ChannelCheck.check(arena);
    }

    /**
     * Restores the magic of every channel whose header is a made channel's in all but its magic
     * (what {@link #check} reports as "header magic damaged"): a stray write there would otherwise
     * lose the channel, or have {@link #open} take it for a half-made one and give its pages back;
     * and raises a lane count a stray write lowered below the lanes that have rings; and names again a
     * made channel that no root leads to ({@code lost-channel-0x<header>}: its root was lost to a
     * stray write). Channels have no other repair.
     *
     * @return what was restored, one line each
     */
    public static List<String> repair(final SharedArena arena) {
        return ChannelCheck.repair(arena);
    }

    /**
     * Marks in {@code into} the pages of the channel whose header is at {@code ptr} (its header page
     * and every lane's ring), if a made channel's header is there, its fields in range: what a repair
     * keeps allocated ({@code ArenaInternals.repair} with held pages).
     *
     * @return whether {@code ptr} holds a channel's header
     */
    public static boolean heldPages(final SharedArena arena, final int ptr, final java.util.BitSet into) {
        return ChannelCheck.heldPages(arena, ptr, into);
    }

    /**
     * @return this process as a producer, on a lane of its own
     * @throws IllegalStateException if every lane has a live producer
     */
    public ChannelProducer producer() {
        return new ChannelProducer(this);
    }

    /**
     * @return this process as the consumer (taking over from a dead one, if need be)
     * @throws IllegalStateException if the channel already has a live consumer
     */
    public ChannelConsumer consumer() {
        return new ChannelConsumer(this);
    }

    public int maxMessage() {
        return maxMessage;
    }

    public int lanes() {
        return lanes;
    }

    /**
     * Records that the producer {@code pid} died, once, by whoever freed its lane: the consumer
     * when it finds the lane drained, or a producer that takes the drained lane over first.
     */
    void recordDeadProducer(final long pid) {
        view.putLongRelease(header + ChannelLayout.LAST_DEAD_PID, pid);
        view.getAndAddLong(header + ChannelLayout.DEAD_PRODUCERS, 1);
    }

    /**
     * @return whether lane {@code i} has nothing published past its HEAD (the consumer
     * stops only where nothing is published, so HEAD moves no further)
     */
    boolean drained(final int i) {
        final int l = ChannelLayout.lane(header, i);
        final int ring = rings[i];
        final long cleared = view.getLongAcquire(l + ChannelLayout.CLEARED);
        final long head = view.getLongAcquire(l + ChannelLayout.HEAD);
        if ((head & 7) != 0) {
            // Records start at multiples of 8: a stray write (the record's word there would be read misaligned).
            throw corrupted("channel lane head", head, "lane at 0x" + Integer.toHexString(l) + ", cleared=" + cleared);
        }
        // A ring's worth consumed and not yet cleared: the word at HEAD is an old record's.
        return head - cleared >= ringBytes
            || view.getIntAcquire(ring + (int) (head & (ringBytes - 1)) + ChannelLayout.LENGTH) == ChannelLayout.UNPUBLISHED;
    }

    /** Zeroes a ring's bytes at positions {@code from} to {@code to} (at most a ring's worth), wrapping at its end. */
    static void zero(final ArenaView view, final int ring, final int ringBytes, final long from, final long to) {
        final long bytes = to - from;
        if (bytes <= 0) {
            return;
        }
        final int index = (int) (from & (ringBytes - 1));
        final long first = Math.min(bytes, ringBytes - index);
        view.fill(ring + index, first, (byte) 0);
        if (bytes > first) {
            view.fill(ring, bytes - first, (byte) 0);
        }
    }

    /** @return whether a consumer is attached and its process lives */
    public boolean consumerAlive() {
        final long owner = view.getLongAcquire(header + ChannelLayout.CONSUMER);
        return owner != 0 && ownership.isAlive(owner);
    }
}
