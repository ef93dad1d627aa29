package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoints;

import io.sharena.core.ArenaView;
import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.layout.StoreLayout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongSupplier;

/**
 * The store's time: memcached's expiry times, flush_all (at once or delayed), the coarse clock
 * word every process moves forward, and items' last-access fields, which count in seconds from
 * the store's creation. An item is stale once it has expired or a flush covers it. The read path
 * ({@link StoreReads}) tests the common case, no expiry and no flush pending, itself.
 */
final class StoreClock {
    private final ArenaView view;
    /** The arena's segment, for plain loads of the clock word. */
    private final MemorySegment seg;
    private final int header;
    final long clockOffset;
    /** The Unix second the store was created: items' last-access times count from it. */
    final long createdSeconds;
    private final LongSupplier clock;

    StoreClock(final ArenaView view, final int header, final LongSupplier clock) {
        this.view = view;
        this.seg = view.segment();
        this.header = header;
        this.clockOffset = Integer.toUnsignedLong(header + StoreLayout.CLOCK_SECONDS);
        this.createdSeconds = view.getLong(header + StoreLayout.CREATED_MILLIS) / 1000;
        this.clock = clock;
    }

    /** @return memcached's exptime as absolute Unix seconds ({@link SharedStore#expiresAt}) at {@code nowMillis} */
    static long expiresAt(final long exptime, final long nowMillis) {
        return SharedStore.expiresAt(exptime, SharedStore.relativeBase(nowMillis));
    }

    private boolean stale(final long expires, final long cas, final long stored, final long nowMillis) {
        if (expires != 0 && expires <= nowMillis / 1000) {
            return true;
        }
        if (cas != 0 && Long.compareUnsigned(cas, view.getLongAcquire(header + StoreLayout.FLUSH_CAS)) <= 0) {
            return true;
        }
        // A delayed flush invalidates items stored in the seconds before the one it fires in (as
        // memcached's does: items are stored to the second).
        final long flushAt = view.getLongAcquire(header + StoreLayout.FLUSH_MILLIS);
        return flushAt != 0 && nowMillis >= flushAt && stored < flushAt / 1000;
    }

    boolean stale(final Cursor c, final long nowMillis) {
        return stale(c.expires, c.cas, c.stored, nowMillis);
    }

    /**
     * Moves the store's coarse clock forward to {@code nowMillis}, never back: a store at most once
     * a second, by whichever process reads the real clock first in that second.
     */
    void advanceClock(final long nowMillis) {
        final long seconds = nowMillis / 1000;
        long seen;
        while ((seen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, clockOffset)) < seconds) {
            if (view.compareAndSetLong(header + StoreLayout.CLOCK_SECONDS, seen, seconds)) {
                return;
            }
        }
    }

    /** @return the META word's access field for {@code nowMillis} */
    int accessField(final long nowMillis) {
        return (int) Math.max(0, Math.min(ItemLayout.META_ACCESS_MASK, nowMillis / 1000 - createdSeconds));
    }

    /** Eviction's question: is the item at {@code p} expired or flushed now? (Its stripe lock is held.) */
    boolean staleAt(final int p) {
        return stale(Integer.toUnsignedLong(view.getIntAcquire(p + ItemLayout.EXPIRES)), view.getLong(p + ItemLayout.CAS),
            Integer.toUnsignedLong(view.getInt(p + ItemLayout.STORED)), clock.getAsLong());
    }

    /** @return seconds from the read item's last access (as read) to now */
    long secondsSinceAccess(final Cursor c) {
        return Math.max(0, clock.getAsLong() / 1000 - createdSeconds - (c.meta & ItemLayout.META_ACCESS_MASK));
    }

    /** {@link SharedStore#flushMark}. */
    long flushMark() {
        final long cas = view.getLongAcquire(header + StoreLayout.FLUSH_CAS);
        final long at = view.getLongAcquire(header + StoreLayout.FLUSH_MILLIS);
        return at != 0 && clock.getAsLong() >= at ? cas ^ Long.rotateLeft(at, 21) : cas;
    }

    /** {@link SharedStore#flushAll}: moves the flush words (the caller counts the command). */
    void flushAll(final long delaySeconds) {
        if (delaySeconds <= 0) {
            // The delayed flush this one replaces, read first: one another process asks for after
            // this read comes after this flush, and stays.
            final long pending = view.getLongAcquire(header + StoreLayout.FLUSH_MILLIS);
            final long cas = view.getLongAcquire(header + StoreLayout.CAS_COUNTER);
            // Items with a CAS at or below this are invalid; later writes get higher ones.
            long seen;
            while (Long.compareUnsigned(seen = view.getLongAcquire(header + StoreLayout.FLUSH_CAS), cas) < 0
                && !view.compareAndSetLong(header + StoreLayout.FLUSH_CAS, seen, cas)) {
                Thread.onSpinWait();
            }
            // Killed here, every item is flushed and the delayed flush still pending fires in its time.
            CrashPoints.at(StorePoint.FLUSH_CAS_RAISED);
            // The copy the repair restores a FLUSH_CAS a stray write raised from (killed before it,
            // the copy holds the flush before this one: it is read only for a FLUSH_CAS no flush wrote).
            while (Long.compareUnsigned(seen = view.getLongAcquire(header + StoreLayout.FLUSH_CAS_COPY), cas + 1) < 0
                && !view.compareAndSetLong(header + StoreLayout.FLUSH_CAS_COPY, seen, cas + 1)) {
                Thread.onSpinWait();
            }
            CrashPoints.at(StorePoint.FLUSH_CAS_COPIED);
            if (pending != 0) {
                view.compareAndSetLong(header + StoreLayout.FLUSH_MILLIS, pending, 0);
            }
        } else {
            view.putLongRelease(header + StoreLayout.FLUSH_MILLIS, clock.getAsLong() + delaySeconds * 1000);
        }
    }
}
