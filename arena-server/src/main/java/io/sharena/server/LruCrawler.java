package io.sharena.server;

import io.sharena.ipc.layout.ItemLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreReader;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * memcached's {@code lru_crawler} commands on the store. The store is one class (1) whose keys are
 * walked a bucket of the index at a time, without a lock:
 *
 * <ul>
 *   <li>{@code crawl <classes>}: a thread of the server's looks at every key and unlinks the items
 *       that expired or were flushed ({@link SharedStore#reclaimIfStale}), counted in
 *       {@code crawler_reclaimed} and {@code crawler_items_checked}; one crawl at a time.</li>
 *   <li>{@code metadump <classes|all|hash>}: one line per live item, memcached's
 *       {@code key=... exp=... la=... cas=... fetch=... cls=1 size=...}, then {@code END}; written
 *       by the connection's own worker a bucket at a time as its output drains, so a dump of a
 *       large store holds no more than the output bound.</li>
 *   <li>{@code enable}/{@code disable}: allow or refuse the two commands above and the crawls
 *       the server starts itself (memcached's {@code lru_crawler} setting, on by default).</li>
 *   <li>{@code tocrawl <n>}: at most n keys checked per crawl (0: all); {@code sleep <us>}: a pause
 *       after each 100 keys a crawl checks.</li>
 * </ul>
 *
 * <p>While enabled, the server also crawls by itself ({@link #tick}, from its clock), as memcached's
 * LRU maintainer schedules crawls: at once after a {@code flush_all} takes effect (an immediate one,
 * or a delayed one when its time comes; from any process of the store), so that {@code curr_items}
 * and {@code bytes} fall within a second or two, as memcached's do; and on a schedule for items that
 * expired, every {@value #AUTO_FIRST_SECONDS} s at first, halving (to {@value #AUTO_MIN_SECONDS} s)
 * while crawls find items to reclaim and doubling (to {@value #AUTO_MAX_SECONDS} s) while they find
 * none, so that a cache without expiring items is walked about once an hour. Between crawls an
 * expired item is reclaimed when a command meets it or when the ring's tail passes it.
 */
final class LruCrawler {
    static final long AUTO_FIRST_SECONDS = 60;
    static final long AUTO_MIN_SECONDS = 5;
    static final long AUTO_MAX_SECONDS = 3600;
    private static final int SLEEP_EVERY = 100;

    private final MemcachedServer server;
    private volatile boolean enabled;
    private volatile long toCrawl;
    private volatile long sleepMicros;
    private final AtomicBoolean running = new AtomicBoolean();
    /** Whether a connection's metadump holds the crawler ({@link #beginDump}); guarded by this. */
    private boolean dumping;
    /** The running crawl's thread, for {@link #awaitStop}; null when none ran. */
    private volatile Thread thread;
    /** The store's flush mark at the last look ({@link #tick}); null before the first. */
    private Long flushSeen;
    /** When the next scheduled crawl is due, in Unix seconds, and the wait after it. */
    private volatile long nextAutoSeconds;
    private volatile long autoWaitSeconds = AUTO_FIRST_SECONDS;
    /** Whether the running crawl is one the server started by itself; whether a command asked for one meanwhile. */
    private boolean automatic;
    private boolean requested;
    final LongAdder starts = new LongAdder();
    final LongAdder reclaimed = new LongAdder();
    final LongAdder checked = new LongAdder();

    LruCrawler(final MemcachedServer server, final boolean enabled) {
        this.server = server;
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    /** @return false if it was enabled already */
    private synchronized boolean enable() {
        if (enabled) {
            return false;
        }
        enabled = true;
        return true;
    }

    boolean running() {
        return running.get();
    }

    void reset() {
        starts.reset();
        reclaimed.reset();
        checked.reset();
    }

    // ------------------------------------------------------------------ the command

    static void command(final Connection c, final Tokens t) {
        final LruCrawler crawler = c.worker.server.crawler;
        final int n = t.count;
        if (n == 4 && t.is(1, "crawl")) {
            if (!crawler.enabled) {
                c.reply("CLIENT_ERROR lru crawler disabled");
                return;
            }
            final int chosen = classes(t);
            if (chosen == BAD_CLASS) {
                c.reply("BADCLASS invalid class id");
            } else if (chosen == NONE) {
                c.reply("NOTSTARTED no items to crawl");
            } else {
                // Classes other than 1 hold nothing: memcached's crawl of them finds nothing, and says OK.
                c.reply(chosen == WITHOUT_ONE || crawler.start() ? "OK" : "BUSY currently processing crawler request");
            }
        } else if (n == 4 && t.is(1, "metadump")) {
            if (!crawler.enabled) {
                c.reply("CLIENT_ERROR lru crawler disabled");
            } else if (c.pendingOutput() > 0) {
                c.reply("ERROR cannot pipeline other commands before metadump");
            } else {
                final int chosen = t.is(2, "hash") ? WITH_ONE : classes(t);
                if (chosen == BAD_CLASS) {
                    c.reply("BADCLASS invalid class id");
                } else if (chosen == NONE) {
                    c.reply("NOTSTARTED no items to crawl");
                } else if (chosen == WITHOUT_ONE) {
                    c.putAscii("END\r\n");
                    c.flushPoint();
                } else if (!crawler.beginDump()) {
                    c.reply("BUSY currently processing crawler request");
                } else {
                    c.beginDump();
                }
            }
        } else if (n == 4 && (t.is(1, "tocrawl") || t.is(1, "sleep"))) {
            final long v = Ascii.parseU32(t.buf, t.off[2], t.len[2]);
            if (v == Ascii.BAD) {
                c.reply(TextCommands.BAD_FORMAT);
            } else if (t.is(1, "sleep") && v > 1_000_000) {
                c.reply("CLIENT_ERROR sleep must be one second or less");
            } else {
                if (t.is(1, "sleep")) {
                    crawler.sleepMicros = v;
                } else {
                    crawler.toCrawl = v;
                }
                c.reply("OK");
            }
        } else if (n == 3 && t.is(1, "enable")) {
            // memcached starts its crawler's thread here, and fails to when it runs already.
            c.reply(crawler.enable() ? "OK" : "ERROR failed to start lru crawler thread");
        } else if (n == 3 && t.is(1, "disable")) {
            crawler.enabled = false; // stopping a stopped crawler is no error to memcached
            c.reply("OK");
        } else {
            c.reply("ERROR");
        }
    }

    private static final int BAD_CLASS = -1;
    /** A list with no id in it at all (only commas). */
    private static final int NONE = -2;
    private static final int WITHOUT_ONE = 0;
    private static final int WITH_ONE = 1;

    /**
     * @return for the classes named ({@code all}, or ids 1 to 63 separated by commas):
     * {@link #WITH_ONE} if they include the store's one class, {@link #WITHOUT_ONE} if not,
     * {@link #NONE} if the list names none (empty pieces between commas are skipped, as memcached's
     * {@code strtok_r} skips them), or {@link #BAD_CLASS}
     */
    private static int classes(final Tokens t) {
        final String list = new String(t.buf, t.off[2], t.len[2], StandardCharsets.ISO_8859_1);
        if (list.equals("all")) {
            return WITH_ONE;
        }
        int chosen = NONE;
        for (final String id : list.split(",", -1)) {
            if (id.isEmpty()) {
                continue;
            }
            final long v = Ascii.parseU32(id.getBytes(StandardCharsets.ISO_8859_1), 0, id.length());
            if (v == Ascii.BAD || v < 1 || v > 63) {
                return BAD_CLASS;
            }
            chosen = v == 1 || chosen == WITH_ONE ? WITH_ONE : WITHOUT_ONE;
        }
        return chosen;
    }

    // ------------------------------------------------------------------ crawl

    /**
     * The clock thread's look, once a second: starts a crawl when a flush took effect since the last
     * look, or when the scheduled one is due (see the class comment); nothing while disabled or while
     * a crawl or a metadump runs (the flush's crawl then starts at the first look after it).
     */
    void tick(final long nowSeconds) {
        if (!enabled || running.get() || dumpRunning()) {
            return;
        }
        final long mark = server.store().flushMark();
        if (flushSeen == null) {
            flushSeen = mark;
            nextAutoSeconds = nowSeconds + autoWaitSeconds;
            return;
        }
        if (mark != flushSeen) {
            flushSeen = mark;
            start(Start.FLUSH);
        } else if (nowSeconds >= nextAutoSeconds) {
            start(Start.SCHEDULE);
        }
    }

    /** Who starts a crawl. */
    private enum Start {
        /** {@code lru_crawler crawl}. */
        COMMAND,
        /** The clock, after a flush took effect. */
        FLUSH,
        /** The clock, on the schedule: its finding sets the next one's time. */
        SCHEDULE
    }

    /**
     * Claims the crawler for a connection's metadump, as memcached's crawler serves one crawl or
     * one metadump at a time (a second dump, or a crawl command meanwhile, is told BUSY; the
     * server's own crawls wait for it); released by {@link #endDump}, when the dump ends or its
     * connection closes.
     *
     * @return false if a crawl command's crawl or another metadump is running
     */
    synchronized boolean beginDump() {
        // A crawl the server started by itself does not refuse it: a client could not know of that
        // one (a crawl command is not refused by it either).
        if (running.get() && !automatic || dumping) {
            return false;
        }
        dumping = true;
        return true;
    }

    private synchronized boolean dumpRunning() {
        return dumping;
    }

    /** Releases the crawler a metadump claimed ({@link #beginDump}). */
    synchronized void endDump() {
        dumping = false;
    }

    /** @return false if a crawl is running already */
    private boolean start() {
        return start(Start.COMMAND);
    }

    /**
     * Starts a crawl on a thread of its own. A command that comes while one the server started by
     * itself runs is not told BUSY (it could not know of that one): its crawl runs right after.
     *
     * @return false if a crawl is running already and the command's cannot follow it
     */
    private synchronized boolean start(final Start why) {
        if (dumping) {
            return false; // as memcached's crawler, which serves one crawl or one metadump at a time
        }
        if (running.get()) {
            if (why == Start.COMMAND && automatic) {
                requested = true;
                return true;
            }
            return false;
        }
        running.set(true);
        automatic = why != Start.COMMAND;
        starts.increment();
        thread = Thread.ofPlatform().name("memcached-crawler").daemon().start(() -> {
            boolean scheduled = why == Start.SCHEDULE;
            do {
                final long before = reclaimed.sum();
                try {
                    crawl();
                } catch (final RuntimeException e) {
                    System.err.println("arena serve: a crawl stopped: " + e);
                } catch (final InternalError e) {
                    System.err.println("arena serve: a crawl stopped: "
                        + io.sharena.core.ArenaFaultException.of(server.store().arena(), "crawl", e));
                }
                if (scheduled) {
                    autoWaitSeconds = reclaimed.sum() > before ? Math.max(AUTO_MIN_SECONDS, autoWaitSeconds / 2)
                        : Math.min(AUTO_MAX_SECONDS, autoWaitSeconds * 2);
                    scheduled = false;
                }
            } while (another());
        });
        return true;
    }

    /** The crawl thread, after a crawl: @return whether a command's crawl waits to run next (else the thread ends) */
    private synchronized boolean another() {
        if (requested && !server.closed()) {
            requested = false;
            automatic = false;
            starts.increment();
            return true;
        }
        requested = false;
        nextAutoSeconds = server.nowSeconds() + autoWaitSeconds;
        running.set(false);
        return false;
    }

    private void crawl() {
        final SharedStore store = server.store();
        final StoreReader reader = store.reader();
        final List<byte[]> keys = new ArrayList<>();
        final long limit = toCrawl == 0 ? Long.MAX_VALUE : toCrawl;
        long seen = 0;
        for (int b = 0; b < store.keyBuckets() && seen < limit && !server.closed(); b++) {
            keys.clear();
            store.bucketKeys(b, keys);
            for (int i = 0; i < keys.size() && seen < limit; i++) {
                final byte[] key = keys.get(i);
                // A live item is left as it is (no lock); only a stale one is looked at under its lock.
                if (!reader.peek(key) && store.reclaimIfStale(key)) {
                    reclaimed.increment();
                }
                checked.increment();
                if (++seen % SLEEP_EVERY == 0 && sleepMicros > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(sleepMicros * 1000);
                }
            }
        }
    }

    /** Waits for a running crawl to see the server closed (it looks after each bucket), so the store can close after it. */
    void awaitStop(final long millis) throws InterruptedException {
        final Thread t = thread;
        if (t != null) {
            t.join(millis);
        }
    }

    // ------------------------------------------------------------------ metadump

    /**
     * One bucket of a metadump into the connection's output: each live item's line; after the
     * last bucket, {@code END}.
     *
     * @return whether progress was made (false: the turn's share is spent)
     */
    static boolean continueDump(final Connection c) {
        final SharedStore store = c.worker.server.store();
        if (c.dumpBucket == store.keyBuckets()) {
            c.putAscii("END\r\n");
            c.flushPoint(); // memcached writes a dump straight to the socket: all of it goes out
            c.endDump();
            return true;
        }
        if (!c.keysLeft()) {
            return false; // the turn's share is spent: the next bucket in the next turn
        }
        final List<byte[]> keys = c.dumpKeys;
        keys.clear();
        store.bucketKeys(c.dumpBucket++, keys);
        c.spend(1 + keys.size()); // an empty bucket costs its look too
        final StoreReader r = c.worker.reader;
        final long now = c.worker.server.nowSeconds();
        for (final byte[] key : keys) {
            if (!r.peek(key)) {
                continue; // expired, flushed or gone since the walk: memcached leaves those out
            }
            final long expires = r.expires();
            final String line = "key=" + uriEncode(key) + " exp=" + (expires == 0 ? -1 : expires)
                + " la=" + (now - r.secondsSinceAccess()) + " cas=" + Long.toUnsignedString(r.cas())
                + " fetch=" + (r.fetchedBefore() ? "yes" : "no") + " cls=1 size="
                + ItemLayout.recordSize(key.length, r.valueLength()) + "\n";
            if (r.validate()) {
                c.putAscii(line);
            }
        }
        return true;
    }

    /** memcached's URI encoding of a key: letters, digits and {@code -._~} stay, the rest is %XX. */
    static String uriEncode(final byte[] key) {
        final StringBuilder sb = new StringBuilder(key.length + 8);
        for (final byte b : key) {
            final int v = b & 0xff;
            if (v < 0x80 && (Character.isLetterOrDigit(v) || v == '-' || v == '.' || v == '_' || v == '~')) {
                sb.append((char) v);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(v >> 4, 16)))
                    .append(Character.toUpperCase(Character.forDigit(v & 15, 16)));
            }
        }
        return sb.toString();
    }
}
