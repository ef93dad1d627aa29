package io.sharena.server;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * memcached's {@code stats detail}: while it is on, text gets, storage commands and deletes count per key
 * prefix, the part of the key before its first {@code ':'} (keys without one are not counted).
 * Off by default; when off, a command pays one volatile read. The counts are this process's and
 * live until {@code stats reset}.
 *
 * <p>At most {@value #MAX_PREFIXES} prefixes are counted: once that many were seen, a new one is
 * not counted (the ones seen go on counting). memcached grows its table until malloc fails, so a
 * client sending keys of millions of distinct prefixes would fill the heap here (and every
 * thread with it). The dump is bounded with it: at most {@value #MAX_PREFIXES} lines of at most
 * about 330 bytes.
 *
 * <p>Concurrency: any worker records, any worker dumps or clears. A prefix's counts are an atomic
 * array of its own and the table is concurrent, so recording takes no lock shared by every key.
 * A clear swaps in a fresh table: a record racing it may land in the old one and be lost, as a
 * count made just before the reset would be.
 */
final class PrefixStats {
    /** Prefixes counted at most: a few thousand namespaces are far more than detail stats are read for. */
    static final int MAX_PREFIXES = 4096;
    private static final byte DELIMITER = ':';
    private static final int GETS = 0;
    private static final int HITS = 1;
    private static final int SETS = 2;
    private static final int DELETES = 3;

    private volatile boolean enabled;
    private volatile Table table = new Table();

    /** The prefixes seen since the last clear, and the order they were first seen in (the dump's). */
    private static final class Table {
        final ConcurrentHashMap<String, Counts> byPrefix = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<Counts> inOrder = new ConcurrentLinkedQueue<>();
        /** Prefixes taken, against {@link #MAX_PREFIXES}; claimed before the entry is made. */
        final AtomicInteger taken = new AtomicInteger();
    }

    /** One prefix's {gets, hits, sets, deletes}. */
    private static final class Counts {
        final String prefix;
        final AtomicLongArray c = new AtomicLongArray(4);

        Counts(final String prefix) {
            this.prefix = prefix;
        }
    }

    boolean enabled() {
        return enabled;
    }

    void enable(final boolean on) {
        enabled = on;
    }

    void recordGet(final byte[] key, final int off, final int len, final boolean hit) {
        record(key, off, len, GETS, hit);
    }

    void recordSet(final byte[] key, final int off, final int len) {
        record(key, off, len, SETS, false);
    }

    void recordDelete(final byte[] key, final int off, final int len) {
        record(key, off, len, DELETES, false);
    }

    private void record(final byte[] key, final int off, final int len, final int field, final boolean hit) {
        final int end = prefixEnd(key, off, len);
        if (end < 0) {
            return;
        }
        final Table t = table;
        final String prefix = new String(key, off, end - off, StandardCharsets.ISO_8859_1);
        Counts counts = t.byPrefix.get(prefix);
        if (counts == null) {
            counts = add(t, prefix);
            if (counts == null) {
                return; // the table is full: a new prefix is not counted
            }
        }
        counts.c.getAndIncrement(field);
        if (hit) {
            counts.c.getAndIncrement(HITS);
        }
    }

    /** @return the counts of a prefix not seen before, or null if {@link #MAX_PREFIXES} are taken */
    private static Counts add(final Table t, final String prefix) {
        // The slot is claimed before the entry is made, so that racing first sightings of new
        // prefixes cannot pass the bound; a claim that loses the race for the same prefix is given back.
        if (t.taken.incrementAndGet() > MAX_PREFIXES) {
            t.taken.decrementAndGet();
            return t.byPrefix.get(prefix); // another thread may have added it meanwhile
        }
        final Counts made = new Counts(prefix);
        final Counts there = t.byPrefix.putIfAbsent(prefix, made);
        if (there != null) {
            t.taken.decrementAndGet();
            return there;
        }
        t.inOrder.add(made);
        return made;
    }

    /** Queues memcached's dump on {@code c}: a {@code PREFIX} line per prefix, then {@code END}. */
    void dump(final Connection c) {
        for (final Counts e : table.inOrder) {
            final AtomicLongArray n = e.c;
            c.putAscii("PREFIX ");
            c.putAscii(e.prefix);
            c.putAscii(" get ");
            c.putUnsigned(n.get(GETS));
            c.putAscii(" hit ");
            c.putUnsigned(n.get(HITS));
            c.putAscii(" set ");
            c.putUnsigned(n.get(SETS));
            c.putAscii(" del ");
            c.putUnsigned(n.get(DELETES));
            c.crlf();
        }
        c.putAscii("END\r\n");
    }

    /** @return the prefixes counted now (tests) */
    int prefixes() {
        return table.byPrefix.size();
    }

    void clear() {
        table = new Table();
    }

    private static int prefixEnd(final byte[] key, final int off, final int len) {
        for (int i = off; i < off + len; i++) {
            if (key[i] == DELIMITER) {
                return i;
            }
        }
        return -1;
    }
}
