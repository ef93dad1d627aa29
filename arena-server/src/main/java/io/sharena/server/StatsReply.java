package io.sharena.server;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreReader;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code stats}, {@code stats settings}, {@code stats items}, {@code stats slabs},
 * {@code stats reset}, {@code stats detail}, {@code stats cachedump}, and the commands that tune
 * memcached's memory ({@code slabs}, {@code lru}, {@code cache_memlimit}): memcached's names and
 * answers, with the figures this server has. Store figures ({@code cmd_get}, {@code curr_items},
 * {@code evictions}, ...) are the store's, summed over every process serving the same file;
 * connection figures are this process's. The store has one "slab class": its ring.
 */
final class StatsReply {
    private StatsReply() {
    }

    /** memcached's bound on a {@code stats cachedump} reply. */
    static final int CACHEDUMP_MAX_BYTES = 2 << 20;
    /** memcached's number of slab class ids: a cachedump of a higher one is refused. */
    private static final long SLAB_CLASS_IDS = 64;

    static void stats(final Connection c, final Tokens t) {
        final MemcachedServer server = c.worker.server;
        final SharedStore store = server.store();
        if (t.count == 2) {
            general(c, server, store.stats());
        } else if (t.is(1, "reset")) {
            server.resetStats();
            c.reply("RESET");
        } else if (t.is(1, "detail")) {
            detail(c, server, t);
        } else if (t.is(1, "conns")) { // as every subcommand but detail and cachedump, tokens after it are ignored
            conns(c, server);
        } else if (t.is(1, "sizes")) {
            // memcached's answer unless started with -o track_sizes: sizes are not tracked here.
            statString(c, "sizes_status", "disabled");
            c.putAscii("END\r\n");
        } else if (t.is(1, "settings")) {
            settings(c, server, store);
        } else if (t.is(1, "cachedump")) {
            cachedump(c, store, t);
        } else if (t.is(1, "items")) {
            final Map<String, Long> s = store.stats();
            if (s.get("curr_items") > 0) {
                stat(c, "items:1:number", s.get("curr_items"));
                stat(c, "items:1:mem_requested", s.get("bytes"));
                stat(c, "items:1:evicted", s.get("evictions"));
                stat(c, "items:1:outofmemory", s.get("outofmemory"));
                stat(c, "items:1:reclaimed", s.get("reclaimed"));
                stat(c, "items:1:expired_unfetched", s.get("expired_unfetched"));
                stat(c, "items:1:evicted_unfetched", s.get("evicted_unfetched"));
                stat(c, "items:1:crawler_reclaimed", server.crawler.reclaimed.sum());
                stat(c, "items:1:crawler_items_checked", server.crawler.checked.sum());
                stat(c, "items:1:lrutail_reflocked", 0);
            }
            c.putAscii("END\r\n");
        } else if (t.is(1, "slabs")) {
            final Map<String, Long> s = store.stats();
            // As memcached lists a class once it has memory, even with no items left in it: here
            // once the store's ring has been written.
            final boolean active = s.get("ring_head") > 0;
            if (active) {
                stat(c, "1:chunk_size", store.maxItemSize()); // one class holds every size
                stat(c, "1:used_chunks", s.get("curr_items"));
                stat(c, "1:mem_requested", s.get("bytes"));
                stat(c, "1:get_hits", s.get("get_hits"));
                stat(c, "1:cmd_set", s.get("cmd_set"));
                stat(c, "1:delete_hits", s.get("delete_hits"));
                stat(c, "1:touch_hits", s.get("touch_hits"));
            }
            stat(c, "active_slabs", active ? 1 : 0);
            stat(c, "total_malloced", s.get("limit_maxbytes"));
            c.putAscii("END\r\n");
        } else if (t.is(1, "extstore")) {
            c.putAscii("END\r\n"); // as memcached built with extstore and not using it answers (one built without it: ERROR)
        } else if (t.is(1, "sizes_enable")) {
            // memcached's own error form (no END): a histogram of the sizes of items stored from
            // now on would need every removal's size, and the store evicts without telling the server.
            statString(c, "sizes_status", "error");
            statString(c, "sizes_error", "sizes_not_tracked");
        } else if (t.is(1, "sizes_disable")) {
            statString(c, "sizes_status", "disabled");
        } else {
            c.reply("ERROR"); // proxy: see docs/server.md
        }
    }

    /**
     * The largest slab class memcached 1.6 makes with its default growth factor and 1 MiB items
     * (class 39, 512 KiB chunks, as {@code memcached -vv} lists them): {@code slabs reassign}
     * accepts the same class ids it does.
     */
    static final int MEMCACHED_LARGEST_CLASS = 39;

    /** {@code stats detail on|off|dump}: per-prefix counts of this server's text gets, sets and deletes. */
    private static void detail(final Connection c, final MemcachedServer server, final Tokens t) {
        if (t.count >= 4 && t.is(2, "on")) {
            server.prefixStats.enable(true);
            c.reply("OK");
        } else if (t.count >= 4 && t.is(2, "off")) {
            server.prefixStats.enable(false);
            c.reply("OK");
        } else if (t.count >= 4 && t.is(2, "dump")) {
            server.prefixStats.dump(c);
        } else {
            c.reply("CLIENT_ERROR usage: stats detail on|off|dump");
        }
    }

    /**
     * {@code stats cachedump <class> <limit>}: the store's one class is 1; its keys (printable
     * ones: memcached leaves binary keys out too) with each value's length and absolute expiry, up
     * to {@code limit} (0: no limit) and {@link #CACHEDUMP_MAX_BYTES} of reply. The keys come bucket
     * by bucket, not in recency order, a bucket at a time as the output drains and the turn allows
     * ({@link #continueCachedump}); looking them up counts no gets. (The listing used to walk up to
     * 131,072 keys in one command, into a list of them, every other connection of the worker waiting.)
     */
    private static void cachedump(final Connection c, final SharedStore store, final Tokens t) {
        if (t.count < 5) {
            c.reply("CLIENT_ERROR bad command line");
            return;
        }
        final long id = Ascii.parseU32(t.buf, t.off[2], t.len[2]);
        final long limit = id == Ascii.BAD ? Ascii.BAD : Ascii.parseU32(t.buf, t.off[3], t.len[3]);
        if (limit == Ascii.BAD) {
            c.reply("CLIENT_ERROR bad command line format");
            return;
        }
        if (id >= SLAB_CLASS_IDS) {
            c.reply("CLIENT_ERROR Illegal slab id");
            return;
        }
        if (id == 1) {
            c.beginDump(true, limit);
        } else {
            c.putAscii("END\r\n");
        }
    }

    /**
     * One bucket of a cachedump into the connection's output; after the last bucket, the limit or
     * the byte bound, {@code END}. The index lists dead entries too (expired, flushed, not
     * reclaimed yet): the limit counts the lines listed, as memcached's does.
     *
     * @return whether progress was made (false: the turn's share is spent)
     */
    static boolean continueCachedump(final Connection c) {
        final SharedStore store = c.worker.server.store();
        if (c.dumpBucket == store.keyBuckets() || c.dumpLimit != 0 && c.dumpListed >= c.dumpLimit) {
            c.putAscii("END\r\n");
            c.endDump();
            return true;
        }
        if (!c.keysLeft()) {
            return false;
        }
        final java.util.List<byte[]> keys = c.dumpKeys;
        keys.clear();
        store.bucketKeys(c.dumpBucket++, keys);
        c.spend(1 + keys.size());
        final StoreReader r = c.worker.reader;
        for (final byte[] key : keys) {
            if (c.dumpLimit != 0 && c.dumpListed >= c.dumpLimit) {
                break;
            }
            if (!printable(key) || !r.peek(key)) {
                continue;
            }
            final String line = "ITEM " + new String(key, StandardCharsets.ISO_8859_1) + " [" + r.valueLength()
                + " b; " + r.expires() + " s]\r\n";
            if (!r.validate()) {
                continue; // replaced or reclaimed while read
            }
            if (c.dumpBytes + line.length() + 5 > CACHEDUMP_MAX_BYTES) {
                c.dumpBucket = store.keyBuckets(); // full: END next
                break;
            }
            c.putAscii(line);
            c.dumpBytes += line.length();
            c.dumpListed++;
        }
        return true;
    }

    static boolean printable(final byte[] key) {
        for (final byte b : key) {
            if ((b & 0xff) <= ' ' || b == 127) { // unsigned: UTF-8 keys are listed, as memcached lists them
                return false;
            }
        }
        return true;
    }

    /**
     * {@code slabs reassign} and {@code slabs automove}, answered as memcached answers them for a
     * cache of one class (1) with no spare page: the store is one ring, and has no pages to move.
     */
    static void slabs(final Connection c, final Tokens t) {
        if (t.count == 5 && t.is(1, "reassign")) {
            final long src = Ascii.parseI32(t.buf, t.off[2], t.len[2]);
            final long dst = src == Ascii.BAD ? Ascii.BAD : Ascii.parseI32(t.buf, t.off[3], t.len[3]);
            if (dst == Ascii.BAD) {
                c.reply("CLIENT_ERROR bad command line format");
            } else if (src == dst) {
                c.reply("SAME src and dst class are identical");
            } else if (src < 0 || src > MEMCACHED_LARGEST_CLASS || dst < 0 || dst > MEMCACHED_LARGEST_CLASS) {
                // -1 (memcached picks a source with a spare page) finds none: BADCLASS, as there.
                c.reply("BADCLASS invalid src or dst class id");
            } else {
                c.reply("NOSPARE source class has no spare pages");
            }
        } else if (t.count >= 4 && t.is(1, "automove")) {
            TextCommands.setNoreplyMaybe(c, t);
            if (t.is(2, "ratio")) {
                c.reply(t.count < 5 || !decimal(t, 3) ? "ERROR" : "OK");
                return;
            }
            final long level = Ascii.parseU32(t.buf, t.off[2], t.len[2]);
            c.reply(level == Ascii.BAD ? "CLIENT_ERROR bad command line format" : level <= 2 ? "OK" : "ERROR");
        } else {
            c.reply("ERROR");
        }
    }

    private static boolean decimal(final Tokens t, final int i) {
        return Ascii.parseDouble(t.buf, t.off[i], t.len[i], new double[1]);
    }

    /**
     * memcached's {@code lru tune <hot%> <warm%> <hot factor> <warm factor>}, {@code lru mode
     * flat|segmented} and {@code lru temp_ttl <seconds>} (the last two only with its LRU maintainer,
     * which {@code -o no_modern}, here {@code --no-lru-crawler}, turns off): its checks and answers.
     * They tune memcached's segmented LRU, which the store does not have, so what passes the
     * checks is accepted and changes nothing, as {@code verbosity} is.
     */
    static void lru(final Connection c, final Tokens t) {
        TextCommands.setNoreplyMaybe(c, t);
        final int n = t.count;
        final boolean maintainer = c.worker.server.options().lruCrawler();
        if (t.is(1, "tune") && n >= 7) {
            final long hot = Ascii.parseU32(t.buf, t.off[2], t.len[2]);
            final long warm = Ascii.parseU32(t.buf, t.off[3], t.len[3]);
            final double[] hotFactor = new double[1];
            final double[] warmFactor = new double[1];
            if (hot == Ascii.BAD || warm == Ascii.BAD || !Ascii.parseDouble(t.buf, t.off[4], t.len[4], hotFactor)
                || !Ascii.parseDouble(t.buf, t.off[5], t.len[5], warmFactor)) {
                c.reply("ERROR");
            } else if ((hot + warm & 0xFFFF_FFFFL) > 80) { // memcached adds them as 32-bit unsigned values
                c.reply("ERROR hot and warm pcts must not exceed 80");
            } else if (warmFactor[0] <= 0 || hotFactor[0] <= 0) {
                c.reply("ERROR hot/warm age factors must be greater than 0");
            } else {
                c.reply("OK");
            }
        } else if (t.is(1, "mode") && n >= 4 && maintainer) {
            c.reply(t.is(2, "flat") || t.is(2, "segmented") ? "OK" : "ERROR");
        } else if (t.is(1, "temp_ttl") && n >= 4 && maintainer) {
            c.reply(Ascii.parseI32(t.buf, t.off[2], t.len[2]) == Ascii.BAD ? "ERROR" : "OK");
        } else {
            c.reply("ERROR");
        }
    }

    /**
     * memcached's {@code cache_memlimit <megabytes> [noreply]}: its checks and answers. A store's
     * memory is fixed when its file is created, so a limit that passes the checks is refused as
     * memcached refuses one it cannot apply (a preallocated cache), unless it is the store's own.
     */
    static void memLimit(final Connection c, final Tokens t) {
        TextCommands.setNoreplyMaybe(c, t);
        final long megabytes = Ascii.parseU32(t.buf, t.off[1], t.len[1]);
        if (megabytes == Ascii.BAD) {
            c.reply("ERROR");
        } else if (megabytes < 8) {
            c.reply("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m");
        } else if (megabytes > 1_000_000_000) {
            c.reply("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
        } else if (megabytes << 20 == c.worker.server.store().memoryLimit()) {
            c.reply("OK");
        } else {
            c.reply("MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust");
        }
    }

    private static void general(final Connection c, final MemcachedServer server, final Map<String, Long> s) {
        final long now = System.currentTimeMillis();
        stat(c, "pid", ProcessHandle.current().pid());
        stat(c, "uptime", (now - server.startedMillis()) / 1000);
        stat(c, "time", now / 1000);
        statString(c, "version", MemcachedServer.VERSION);
        stat(c, "pointer_size", 64);
        final long[] cpu = cpuTicks();
        statString(c, "rusage_user", seconds(cpu[0]));
        statString(c, "rusage_system", seconds(cpu[1]));
        stat(c, "max_connections", server.options().maxConnections());
        stat(c, "curr_connections", server.currConnections.get());
        stat(c, "total_connections", server.totalConnections.get());
        stat(c, "rejected_connections", server.rejectedConnections.get());
        for (final String name : new String[] {"cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
            "get_expired", "get_flushed", "delete_misses", "delete_hits", "incr_misses", "incr_hits", "decr_misses",
            "decr_hits", "cas_misses", "cas_hits", "cas_badval", "touch_hits", "touch_misses"}) {
            stat(c, name, s.getOrDefault(name, 0L));
        }
        stat(c, "store_too_large", server.storeTooLarge.sum());
        stat(c, "store_no_memory", server.storeNoMemory.sum());
        stat(c, "auth_cmds", 0);
        stat(c, "auth_errors", 0);
        if (server.options().idleTimeoutSeconds() > 0) {
            stat(c, "idle_kicks", server.idleKicks.sum()); // memcached shows it only with a timeout set
        }
        stat(c, "bytes_read", server.bytesRead());
        stat(c, "bytes_written", server.bytesWritten());
        stat(c, "limit_maxbytes", s.get("limit_maxbytes"));
        // The listener is never paused: a connection over the limit is answered and closed.
        stat(c, "accepting_conns", server.closed() ? 0 : 1);
        stat(c, "listen_disabled_num", 0);
        stat(c, "time_in_listen_disabled_us", 0);
        stat(c, "threads", server.options().threads());
        stat(c, "conn_yields", server.connYields.sum());
        stat(c, "hash_power_level", s.get("hash_power_level"));
        if (server.crawler.enabled()) {
            stat(c, "lru_crawler_running", server.crawler.running() ? 1 : 0);
            stat(c, "lru_crawler_starts", server.crawler.starts.sum());
        }
        stat(c, "bytes", s.get("bytes"));
        stat(c, "curr_items", s.get("curr_items"));
        stat(c, "total_items", s.get("total_items"));
        for (final String name : new String[] {"expired_unfetched", "evicted_unfetched", "evictions", "reclaimed"}) {
            stat(c, name, s.getOrDefault(name, 0L));
        }
        stat(c, "crawler_reclaimed", server.crawler.reclaimed.sum());
        stat(c, "crawler_items_checked", server.crawler.checked.sum());
        // Readers hold no reference on an item, so eviction never finds one locked.
        stat(c, "lrutail_reflocked", 0);
        c.putAscii("END\r\n");
    }

    /**
     * memcached's {@code stats conns}: the listener (number 0), then each open connection by its
     * number, in the order they came: address, the listener's address, state, seconds since its
     * last command. The connection asking is in {@code conn_parse_cmd}, as in memcached.
     */
    private static void conns(final Connection c, final MemcachedServer server) {
        final long now = server.nowSeconds();
        final String listen = server.listenAddress();
        statString(c, "0:addr", listen);
        statString(c, "0:state", "conn_listening");
        stat(c, "0:secs_since_last_cmd", now - server.startedMillis() / 1000);
        final java.util.List<Connection> all = new java.util.ArrayList<>(server.open);
        all.sort(java.util.Comparator.comparingLong(x -> x.id));
        for (final Connection x : all) {
            final String n = Long.toString(x.id);
            statString(c, n + ":addr", x.peer);
            statString(c, n + ":listen_addr", listen);
            statString(c, n + ":state", x == c ? "conn_parse_cmd" : x.stateName());
            stat(c, n + ":secs_since_last_cmd", Math.max(0, now - x.lastCommandSeconds()));
        }
        c.putAscii("END\r\n");
    }

    private static void settings(final Connection c, final MemcachedServer server, final SharedStore store) {
        // In memcached 1.6's order (the settings that apply here), then this server's own.
        stat(c, "maxbytes", store.memoryLimit());
        stat(c, "maxconns", server.options().maxConnections());
        stat(c, "tcpport", server.address().getPort());
        statString(c, "inter", server.address().getAddress().getHostAddress());
        stat(c, "verbosity", server.verbosity);
        statString(c, "evictions", store.evictions() ? "on" : "off");
        statString(c, "domain_socket", server.options().unixSocket() != null ? server.options().unixSocket().toString() : "NULL");
        statString(c, "shutdown_command", server.options().shutdownCommand() ? "yes" : "no");
        stat(c, "num_threads", server.options().threads());
        statString(c, "detail_enabled", server.prefixStats.enabled() ? "yes" : "no");
        stat(c, "reqs_per_event", server.options().requestsPerEvent());
        statString(c, "cas_enabled", "yes");
        statString(c, "binding_protocol", switch (server.options().protocol()) {
            case AUTO -> "auto-negotiate"; // text and meta, or binary, by a connection's first byte
            case ASCII -> "ascii";
            case BINARY -> "binary";
        });
        statString(c, "auth_enabled_sasl", "no");
        statString(c, "auth_enabled_ascii", "no");
        stat(c, "item_size_max", store.maxItemSize());
        statString(c, "lru_crawler", server.crawler.enabled() ? "yes" : "no");
        statString(c, "flush_enabled", "yes");
        statString(c, "dump_enabled", "yes");
        stat(c, "idle_timeout", server.options().idleTimeoutSeconds());
        statString(c, "store_file", String.valueOf(store.arena().path()));
        c.putAscii("END\r\n");
    }

    private static void stat(final Connection c, final String name, final long value) {
        statString(c, name, Long.toString(value));
    }

    private static void statString(final Connection c, final String name, final String value) {
        c.putAscii("STAT " + name + " " + value + "\r\n");
    }

    /** @return user and system CPU clock ticks of this process, from /proc (zeros where there is none) */
    private static long[] cpuTicks() {
        try {
            final String stat = Files.readString(Path.of("/proc/self/stat"));
            final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
        } catch (final IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    private static String seconds(final long ticks) {
        // Linux reports 100 ticks per second to user space.
        return String.format("%d.%06d", ticks / 100, (ticks % 100) * 10_000);
    }
}
