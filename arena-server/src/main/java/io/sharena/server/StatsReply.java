package io.sharena.server;

import io.sharena.ipc.store.SharedStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code stats}, {@code stats settings}, {@code stats items}, {@code stats slabs}: memcached's
 * names, with the figures this server has. Store figures ({@code cmd_get}, {@code curr_items},
 * {@code evictions}, ...) are the store's, summed over every process serving the same file;
 * connection figures are this process's. The store has one "slab class": its ring.
 */
final class StatsReply {
    private StatsReply() {
    }

    static void stats(final Connection c, final Tokens t) {
        final MemcachedServer server = c.worker.server;
        final SharedStore store = server.store();
        if (t.count == 2) {
            general(c, server, store.stats());
        } else if (t.is(1, "settings")) {
            settings(c, server, store);
        } else if (t.is(1, "items")) {
            final Map<String, Long> s = store.stats();
            if (s.get("curr_items") > 0) {
                stat(c, "items:1:number", s.get("curr_items"));
                stat(c, "items:1:evicted", s.get("evictions"));
                stat(c, "items:1:evicted_unfetched", s.get("evicted_unfetched"));
                stat(c, "items:1:expired_unfetched", s.get("expired_unfetched"));
                stat(c, "items:1:reclaimed", s.get("reclaimed"));
                stat(c, "items:1:outofmemory", s.get("outofmemory"));
            }
            c.putAscii("END\r\n");
        } else if (t.is(1, "slabs")) {
            final Map<String, Long> s = store.stats();
            if (s.get("curr_items") > 0) {
                stat(c, "1:chunk_size", 16);
                stat(c, "1:used_chunks", s.get("curr_items"));
                stat(c, "1:mem_requested", s.get("bytes"));
                stat(c, "1:get_hits", s.get("get_hits"));
                stat(c, "1:cmd_set", s.get("cmd_set"));
                stat(c, "1:delete_hits", s.get("delete_hits"));
                stat(c, "1:touch_hits", s.get("touch_hits"));
            }
            stat(c, "active_slabs", s.get("curr_items") > 0 ? 1 : 0);
            stat(c, "total_malloced", s.get("limit_maxbytes"));
            c.putAscii("END\r\n");
        } else {
            c.reply("ERROR"); // reset, detail, cachedump, conns, ...: see docs/server.md
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
        stat(c, "bytes_read", server.bytesRead());
        stat(c, "bytes_written", server.bytesWritten());
        stat(c, "limit_maxbytes", s.get("limit_maxbytes"));
        stat(c, "threads", server.options().threads());
        stat(c, "hash_power_level", s.get("hash_power_level"));
        stat(c, "bytes", s.get("bytes"));
        stat(c, "curr_items", s.get("curr_items"));
        stat(c, "total_items", s.get("total_items"));
        for (final String name : new String[] {"expired_unfetched", "evicted_unfetched", "evictions", "reclaimed"}) {
            stat(c, name, s.getOrDefault(name, 0L));
        }
        c.putAscii("END\r\n");
    }

    private static void settings(final Connection c, final MemcachedServer server, final SharedStore store) {
        stat(c, "maxbytes", store.memoryLimit());
        stat(c, "maxconns", server.options().maxConnections());
        stat(c, "tcpport", server.address().getPort());
        statString(c, "inter", server.address().getAddress().getHostAddress());
        stat(c, "verbosity", 0);
        statString(c, "evictions", "on");
        stat(c, "num_threads", server.options().threads());
        statString(c, "cas_enabled", "yes");
        stat(c, "item_size_max", store.maxItemSize());
        statString(c, "binding_protocol", "ascii");
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
