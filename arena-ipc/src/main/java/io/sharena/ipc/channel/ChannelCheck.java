package io.sharena.ipc.channel;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.Holders;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.layout.ChannelLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The channels' check, for tools ({@code arena check}): every channel a named root points at, read
 * without attaching to it, and made channels no root leads to ({@link #orphans}). Exact only while
 * no process uses the channel. Their repair restores a magic a stray write changed, when the rest
 * of the header is a made channel's, and names a channel no root leads to again; anything else a
 * check finds, a user mends by making the channel again.
 */
final class ChannelCheck {
    private ChannelCheck() {
    }

    /** {@link Channel#check(SharedArena)}. */
    static List<String> check(final SharedArena arena) {
        final Map<String, Integer> roots;
        try {
            roots = NamedRoots.existing(arena).map(NamedRoots::list).orElse(Map.of());
        } catch (final ArenaCorruptedException e) {
            return List.of(); // the roots' own check names the directory
        }
        final List<String> violations = new ArrayList<>();
        for (final int header : orphans(arena)) {
            violations.add("a channel that no named root leads to (its root was lost; check --repair names it again):"
                + " header=0x" + Integer.toHexString(header) + ", lanes=" + arena.raw().getInt(header + ChannelLayout.LANES));
        }
        roots.forEach((name, ptr) -> {
            if (!Pages.inUserRange(arena, ptr, 1)) {
                return;
            }
            final int magic = arena.raw().getIntAcquire(ptr + ChannelLayout.MAGIC);
            if (magic == ChannelLayout.MAGIC_VALUE) {
                check(arena, ptr, violations, "channel " + name + ": ");
            } else if (magicLost(arena, name, ptr)) {
                violations.add("channel " + name + ": header magic damaged (the rest of its header is a channel's"
                    + (magic == ChannelLayout.MAGIC_CREATING ? ", made and used" : "") + "): magic=0x" + Integer.toHexString(magic));
            }
        });
        return violations;
    }

    /** {@link Channel#repair(SharedArena)}. */
    static List<String> repair(final SharedArena arena) {
        final Map<String, Integer> roots;
        try {
            roots = NamedRoots.existing(arena).map(NamedRoots::list).orElse(Map.of());
        } catch (final ArenaCorruptedException e) {
            return List.of();
        }
        final List<String> done = new ArrayList<>();
        // Named again only while no other process is attached: a channel being created, or a root
        // another process's repair is about to restore, reads as no root's for a moment.
        for (final int header : io.sharena.core.internal.ArenaInternals.otherLiveProcesses(arena).isEmpty()
            ? orphans(arena) : List.<Integer>of()) {
            final NamedRoots named = NamedRoots.of(arena);
            String name = LOST_PREFIX + Integer.toHexString(header);
            for (int n = 2; named.get(name) != 0; n++) {
                name = LOST_PREFIX + Integer.toHexString(header) + "-" + n;
            }
            try {
                named.put(name, header);
                done.add("channel " + name + ": a channel that no named root led to (its root was lost) named again:"
                    + " header=0x" + Integer.toHexString(header));
            } catch (final RuntimeException e) {
                done.add("a channel that no named root leads to not named again (" + e.getMessage() + "): header=0x"
                    + Integer.toHexString(header));
            }
        }
        roots.forEach((name, ptr) -> {
            if (!Pages.inUserRange(arena, ptr, 1)) {
                return;
            }
            restoreGeometry(arena, name, ptr, done);
            raiseLaneCount(arena, name, ptr, done);
            if (magicLost(arena, name, ptr)) {
                final int magic = arena.raw().getIntAcquire(ptr + ChannelLayout.MAGIC);
                if (arena.raw().compareAndSetInt(ptr + ChannelLayout.MAGIC, magic, ChannelLayout.MAGIC_VALUE)) {
                    done.add("channel " + name + ": header magic restored (was 0x" + Integer.toHexString(magic)
                        + "; the rest of its header is a made channel's)");
                }
            }
        });
        return done;
    }

    /**
     * Gives a channel's geometry back when one stray write hit LANES, RING_BYTES or MAX_MESSAGE
     * (its {@link ChannelLayout#GEOMETRY_CHECK} disagrees): the check is solved for each field with
     * the other two as they are, and the one field whose solution is a value it can hold, with which
     * the channel is sound, gets it back; then for RING_BYTES and MAX_MESSAGE together (one aligned
     * word), each ring size with the largest message it solves to. When none is, and the channel is
     * sound as it is, the check word itself was hit: written again. Left as it was otherwise (and
     * reported).
     */
    private static void restoreGeometry(final SharedArena arena, final String name, final int ptr, final List<String> done) {
        final ArenaView v = arena.raw();
        final int magic = v.getIntAcquire(ptr + ChannelLayout.MAGIC);
        final long check = v.getLong(ptr + ChannelLayout.GEOMETRY_CHECK);
        final int[] now = {v.getInt(ptr + ChannelLayout.LANES), v.getInt(ptr + ChannelLayout.RING_BYTES),
            v.getInt(ptr + ChannelLayout.MAX_MESSAGE)};
        if ((magic != ChannelLayout.MAGIC_VALUE && magic != ChannelLayout.MAGIC_CREATING) || check == 0
            || check == ChannelLayout.geometryCheck(ptr, now[0], now[1], now[2])) {
            return;
        }
        final int[] words = {ChannelLayout.LANES, ChannelLayout.RING_BYTES, ChannelLayout.MAX_MESSAGE};
        final String[] names = {"lane count", "ring size", "maximum message"};
        final long[] solved = ChannelLayout.geometrySolutions(check, ptr, now[0], now[1], now[2]);
        for (int i = 0; i < words.length; i++) {
            if (solved[i] != (int) solved[i] || !inRange(arena, ptr, i, (int) solved[i], now)) {
                continue;
            }
            v.putIntRelease(ptr + words[i], (int) solved[i]);
            if (sound(arena, ptr)) {
                done.add("channel " + name + ": " + names[i] + " restored from its geometry check: " + now[i] + " -> "
                    + solved[i]);
                return;
            }
            v.putIntRelease(ptr + words[i], now[i]);
        }
        // RING_BYTES and MAX_MESSAGE share one aligned 8-byte word, which one stray write may hit
        // whole: each ring size a ring may have, with the largest message the check solves to.
        for (long ring = Geometry.PAGE_SIZE; ring <= Math.min(arena.capacityBytes(), 1L << 30); ring <<= 1) {
            final long max = ChannelLayout.geometrySolutions(check, ptr, now[0], (int) ring, now[2])[2];
            final int[] pair = {now[0], (int) ring, (int) max};
            if (ring == now[1] || max != (int) max || !inRange(arena, ptr, 2, (int) max, pair)) {
                continue;
            }
            v.putIntRelease(ptr + ChannelLayout.RING_BYTES, (int) ring);
            v.putIntRelease(ptr + ChannelLayout.MAX_MESSAGE, (int) max);
            if (sound(arena, ptr)) {
                done.add("channel " + name + ": ring size and maximum message restored from its geometry check (one"
                    + " word hit both): " + now[1] + " -> " + ring + ", " + now[2] + " -> " + max);
                return;
            }
            v.putIntRelease(ptr + ChannelLayout.RING_BYTES, now[1]);
            v.putIntRelease(ptr + ChannelLayout.MAX_MESSAGE, now[2]);
        }
        v.putLong(ptr + ChannelLayout.GEOMETRY_CHECK, ChannelLayout.geometryCheck(ptr, now[0], now[1], now[2]));
        if (sound(arena, ptr)) {
            done.add("channel " + name + ": geometry check written again (it alone was hit; lanes=" + now[0]
                + ", ringBytes=" + now[1] + ", maxMessage=" + now[2] + " are sound)");
            return;
        }
        v.putLong(ptr + ChannelLayout.GEOMETRY_CHECK, check);
    }

    /** @return whether geometry field {@code field} (0 lanes, 1 ring bytes, 2 max message) may hold {@code value}, the others as {@code now} */
    private static boolean inRange(final SharedArena arena, final int ptr, final int field, final int value, final int[] now) {
        final int ringBytes = field == 1 ? value : now[1];
        final int maxMessage = field == 2 ? value : now[2];
        return switch (field) {
            case 0 -> value >= Math.max(1, Channel.lanesWithRings(arena.raw(), ptr)) && value <= ChannelLayout.MAX_LANES;
            default -> ringBytes >= Geometry.PAGE_SIZE && Integer.bitCount(ringBytes) == 1 && ringBytes <= arena.capacityBytes()
                && maxMessage >= 1 && maxMessage <= ringBytes / 4 && ChannelLayout.recordBytes(maxMessage) <= ringBytes / 4;
        };
    }

    /** @return whether the channel header at {@code ptr} reads sound, its pages allocated */
    private static boolean sound(final SharedArena arena, final int ptr) {
        try {
            new Channel(arena, ptr, false);
            return pagesProblem(arena, ptr) == null;
        } catch (final ArenaCorruptedException e) {
            return false;
        }
    }

    /**
     * Gives a channel's lane count back when a stray write lowered it below the lanes that have rings
     * (a creator writes no lane past the count), if the header is sound with it: those lanes'
     * messages are read again. Left as it was otherwise.
     */
    private static void raiseLaneCount(final SharedArena arena, final String name, final int ptr, final List<String> done) {
        final ArenaView v = arena.raw();
        final int magic = v.getIntAcquire(ptr + ChannelLayout.MAGIC);
        final int lanes = v.getInt(ptr + ChannelLayout.LANES);
        final int inUse = Channel.lanesWithRings(v, ptr);
        if ((magic != ChannelLayout.MAGIC_VALUE && magic != ChannelLayout.MAGIC_CREATING) || lanes < 0 || lanes >= inUse) {
            return;
        }
        v.putIntRelease(ptr + ChannelLayout.LANES, inUse);
        try {
            new Channel(arena, ptr, false);
            if (pagesProblem(arena, ptr) == null) {
                done.add("channel " + name + ": lane count raised from " + lanes + " to " + inUse
                    + " (the lanes past it had rings)");
                return;
            }
        } catch (final ArenaCorruptedException e) {
            // Not sound with the count raised either: left as it was, and reported.
        }
        v.putIntRelease(ptr + ChannelLayout.LANES, lanes);
    }

    /**
     * @return whether the header at {@code ptr}, named {@code name}, is a made channel's in all but
     * its magic: not the heap's nor a store's header, its magic neither a
     * channel's magic nor a half-made one's (that one only when the header shows the channel was
     * made, {@link Channel#wasMade}), the rest of its header in range and its pages allocated
     */
    private static boolean magicLost(final SharedArena arena, final String name, final int ptr) {
        if (name.equals(io.sharena.ipc.heap.ObjectHeap.ROOT_NAME)) {
            return false; // the heap's metadata (its own check names a lost magic)
        }
        final int magic = arena.raw().getIntAcquire(ptr + ChannelLayout.MAGIC);
        return magic != ChannelLayout.MAGIC_VALUE
            && !io.sharena.ipc.store.StoreTools.heldPages(arena, ptr, new java.util.BitSet()) // a store's header, its magic lost

            && (magic != ChannelLayout.MAGIC_CREATING || Channel.wasMade(arena.raw(), ptr))
            && soundButMagic(arena, ptr);
    }

    /** The name a repair gives a channel no root led to, followed by its header's pointer in hex. */
    static final String LOST_PREFIX = "lost-channel-0x";

    /**
     * Made channels that no named root leads to: a channel's header (its magic, its fields in range,
     * its rings apart, every page of it allocated) at the start of a page that no structure a root
     * leads to holds ({@link Holders}), nor its rings, read again after the scan. The repair names
     * them only while no other process is attached. Only a stray write into the roots leaves one
     * (a root's state, name or value hit): its messages are whole and its pages allocated to no one
     * else, but nothing finds them. Not looked for while the roots are damaged (their check and
     * repair come first) or a creation under them is in flight (its channel is not named yet).
     *
     * @return the headers' pointers, in address order
     */
    static List<Integer> orphans(final SharedArena arena) {
        final int dir = io.sharena.core.internal.ArenaInternals.rootsDirectory(arena);
        if (dir == 0 || !NamedRoots.check(arena).isEmpty()
            || arena.raw().getLongAcquire(dir + io.sharena.ipc.layout.RootsLayout.CREATING) != 0) {
            return List.of();
        }
        final java.util.BitSet known = Holders.allPages(arena);
        final java.util.BitSet withData = io.sharena.core.internal.ArenaInternals.pagesWithData(arena);
        final List<Integer> found = new ArrayList<>();
        if (withData == null) {
            return found;
        }
        for (int p = withData.nextSetBit((int) arena.firstUserPage()); p >= 0 && p < arena.capacityPages();
             p = withData.nextSetBit(p + 1)) {
            final int ptr = (int) (p * (long) Geometry.PAGE_SIZE);
            if (known.get(p) || arena.raw().getIntAcquire(ptr + ChannelLayout.MAGIC) != ChannelLayout.MAGIC_VALUE
                || Pages.state(arena, p) != PageEntry.ALLOCATED || !soundButMagic(arena, ptr)) {
                continue;
            }
            final java.util.BitSet pages = new java.util.BitSet();
            if (heldPages(arena, ptr, pages) && !pages.intersects(known)) {
                found.add(ptr);
                known.or(pages);
            }
        }
        if (found.isEmpty()) {
            return found;
        }
        // The roots once more, after the magic was read: a channel's root is written before its
        // magic, so one created while the scan ran is named by now.
        final java.util.BitSet named = Holders.allPages(arena);
        found.removeIf(ptr -> named.get((int) (Integer.toUnsignedLong(ptr) / Geometry.PAGE_SIZE)));
        return found;
    }

    /** {@link Channel#heldPages}. */
    static boolean heldPages(final SharedArena arena, final int ptr, final java.util.BitSet into) {
        if (!Pages.inUserRange(arena, ptr, 1)
            || arena.raw().getIntAcquire(ptr + ChannelLayout.MAGIC) != ChannelLayout.MAGIC_VALUE) {
            return false;
        }
        final Channel c;
        try {
            c = new Channel(arena, ptr, false);
        } catch (final ArenaCorruptedException e) {
            return false;
        }
        final int header = (int) (Integer.toUnsignedLong(ptr) / Geometry.PAGE_SIZE);
        into.set(header);
        final int ringPages = c.ringBytes / Geometry.PAGE_SIZE;
        for (int i = 0; i < c.lanes; i++) {
            final int first = (int) (Integer.toUnsignedLong(c.view.getInt(ChannelLayout.lane(ptr, i) + ChannelLayout.RING))
                / Geometry.PAGE_SIZE);
            into.set(first, first + ringPages);
        }
        return true;
    }

    /** @return whether the header at {@code ptr} is a channel's in all but its magic, its pages allocated */
    private static boolean soundButMagic(final SharedArena arena, final int ptr) {
        try {
            new Channel(arena, ptr, false);
        } catch (final ArenaCorruptedException e) {
            return false;
        }
        return pagesProblem(arena, ptr) == null;
    }

    /** @return what is wrong with the allocation of the channel's header page and rings, or null */
    private static String pagesProblem(final SharedArena arena, final int header) {
        final ArenaView v = arena.raw();
        final int lanes = v.getInt(header + ChannelLayout.LANES);
        final int ringPages = v.getInt(header + ChannelLayout.RING_BYTES) / Geometry.PAGE_SIZE;
        final long headerPage = Integer.toUnsignedLong(header) / Geometry.PAGE_SIZE;
        if (Pages.state(arena, headerPage) != PageEntry.ALLOCATED) {
            return "header page not allocated: page=" + headerPage;
        }
        for (int i = 0; i < lanes; i++) {
            final long first = Integer.toUnsignedLong(v.getInt(ChannelLayout.lane(header, i) + ChannelLayout.RING))
                / Geometry.PAGE_SIZE;
            for (long p = first; p < first + ringPages; p++) {
                if (Pages.state(arena, p) != PageEntry.ALLOCATED) {
                    return "ring page not allocated: lane=" + i + ", page=" + p;
                }
            }
        }
        return null;
    }

    private static void check(final SharedArena arena, final int header, final List<String> violations,
                              final String prefix) {
        final Channel c;
        try {
            c = new Channel(arena, header, false);
        } catch (final ArenaCorruptedException e) {
            violations.add(prefix + e.getMessage());
            return;
        }
        final String pages = pagesProblem(arena, header);
        if (pages != null) {
            violations.add(prefix + pages);
            return;
        }
        final ArenaView v = c.view;
        for (int lane = 0; lane < c.lanes; lane++) {
            final int l = ChannelLayout.lane(header, lane);
            final long tail = v.getLongAcquire(l + ChannelLayout.TAIL);
            final long head = v.getLongAcquire(l + ChannelLayout.HEAD);
            final long cleared = v.getLongAcquire(l + ChannelLayout.CLEARED);
            // What producers and the consumer check when they attach (CLEARED <= HEAD <= CLEARED + ring,
            // TAIL within a ring of CLEARED, every position 8-byte aligned).
            if (((tail | head | cleared) & 7) != 0 || head - cleared < 0 || head - cleared > c.ringBytes
                || tail - cleared < -c.ringBytes || tail - cleared > c.ringBytes) {
                violations.add(prefix + "lane positions out of range: lane=" + lane + ", tail=" + tail + ", head=" + head
                    + ", cleared=" + cleared + ", ringBytes=" + c.ringBytes);
                continue;
            }
            // The published records from HEAD, as the consumer will walk them, to the first word
            // that says nothing is published.
            final int ring = v.getInt(l + ChannelLayout.RING);
            final long end = c.publishedEnd(ring, head, cleared);
            if (end < 0) {
                violations.add(prefix + "record length out of range: position=" + (-1 - end) + ", length word="
                    + c.stampAt(ring, -1 - end) + ": lane=" + lane);
                continue;
            }
            final String tailProblem = c.tailProblem(tail, end, tail);
            if (tailProblem != null) {
                violations.add(prefix + "lane tail " + tailProblem + ": lane=" + lane + ", head=" + head);
                continue;
            }
            final String headProblem = headProblem(c, l, ring, head, tail, cleared);
            if (headProblem != null) {
                violations.add(prefix + "lane head " + headProblem + ": lane=" + lane);
            }
        }
    }

    /**
     * @return what is wrong with a lane's HEAD that the walk from it cannot show, or null: moved back
     * behind the message the consumer last handled (those messages would be delivered again, not as
     * redeliveries), moved past TAIL further than the records published from TAIL reach (messages
     * skipped), or into the middle of a record
     */
    private static String headProblem(final Channel c, final int l, final int ring, final long head, final long tail,
                                      final long cleared) {
        final long inHand = c.view.getLongAcquire(l + ChannelLayout.IN_HAND);
        if (inHand != 0 && head < inHand - 1) {
            return "behind the message last handled (moved back: those messages would be delivered again): head="
                + head + ", last handled at " + (inHand - 1);
        }
        // Past TAIL, HEAD can only be past records a producer published and died before moving TAIL
        // over; behind it, past records the consumer took and has not zeroed yet (a consumer that
        // died zeroing them leaves zeros from CLEARED, and then there is nothing to go by).
        final boolean pastTail = head > tail && cleared <= tail;
        long at = pastTail ? tail : cleared;
        while (at < head) {
            final int stamp = c.stampAt(ring, at);
            if (stamp == ChannelLayout.UNPUBLISHED) {
                return pastTail && !zeroedByItsConsumer(c, ring, inHand, head, cleared)
                    ? "past what is published from TAIL (moved over messages, or into the free space): head="
                    + head + ", tail=" + tail + ", published to=" + at : null;
            }
            final int bytes = ChannelLayout.publishedBytes(stamp, (int) (at & (c.ringBytes - 1)), c.ringBytes, c.maxMessage);
            if (bytes < 0) {
                return null; // a length word out of range below HEAD: read by no one
            }
            at += bytes;
        }
        return at != head ? "inside a record (moved over part of a message): head=" + head + ", a record ends at " + at : null;
    }

    /**
     * @return whether zeros between CLEARED and HEAD are a consumer's that died between its zeroing
     * and its CLEARED store ({@link ChannelPoint#CLEARED_ZEROED}): they start at CLEARED, and the
     * message it handled last lies among them, HEAD at most a padding and a record past it. HEAD
     * moved into the free space by a stray write has below it either records the consumer took and
     * has not cleared yet (CLEARED's record whole) or zeros it cleared (its last message below
     * CLEARED).
     */
    private static boolean zeroedByItsConsumer(final Channel c, final int ring, final long inHand, final long head,
                                               final long cleared) {
        final long last = inHand - 1;
        return inHand != 0 && last >= cleared && last < head && head - last <= ChannelLayout.maxTailLag(c.maxMessage)
            && c.stampAt(ring, cleared) == ChannelLayout.UNPUBLISHED;
    }
}
