package io.sharena.cli;

import io.sharena.core.ArenaInfo;
import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.owner.ProcessRegistry;
import io.sharena.ipc.store.StoreTools;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code arena stat FILE [--json]}: header, mapping and cost of an arena, opened read-only; and the
 * figures of each shared store it holds (memcached's stats names, and the ring's records).
 */
@Command(name = "stat", mixinStandardHelpOptions = true,
    description = "Show an arena's header, where it maps, what it costs in memory and on disk, and the figures of"
        + " the shared stores it holds.")
final class StatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file")
    Path file;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws IOException {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            // Everything is read before anything is printed, so a failure is one line, not half a report.
            final ArenaInfo info = arena.info();
            final ArenaStats stats = ArenaInternals.guarded(arena, "stat", () -> ArenaStats.read(arena));
            final Map<String, Object> stores = ArenaInternals.guarded(arena, "stat", () -> stores(arena));
            if (json) {
                printJson(info, stats, stores, System.out);
            } else {
                printText(info, System.out);
                printStats(stats, System.out);
                printStores(stores, System.out);
            }
        }
        return 0;
    }

    /**
     * @return each store's figures by name, or the one-line reason a store (or the directory that
     * names them) could not be read: a damaged store does not hide the rest of the report
     */
    static Map<String, Object> stores(final SharedArena arena) {
        final Map<String, Object> stores = new LinkedHashMap<>();
        try {
            for (final String name : StoreTools.stores(arena)) {
                try {
                    stores.put(name, StoreTools.stats(arena, name));
                } catch (final io.sharena.core.ArenaFormatException | io.sharena.core.ArenaCorruptedException e) {
                    stores.put(name, e.getMessage());
                }
            }
        } catch (final io.sharena.core.ArenaCorruptedException e) {
            stores.put("(named roots)", e.getMessage());
        }
        return stores;
    }

    @SuppressWarnings("unchecked")
    static void printStores(final Map<String, Object> stores, final PrintStream out) {
        stores.forEach((name, figures) -> {
            if (figures instanceof Map<?, ?> m) {
                final Map<String, Long> f = (Map<String, Long>) m;
                out.printf("store          %s: %d items, %s in items, limit %s, max item %s%n", name, f.get("curr_items"),
                    Format.bytes(f.get("bytes")), Format.bytes(f.get("limit_maxbytes")),
                    Format.bytes(f.get("item_size_max")));
                out.printf("  ring         head %d, tail %d, %s used (%d linked, %d dead, %d reserved, %d pad records),"
                        + " lock %s%n", f.get("ring_head"), f.get("ring_tail"), Format.bytes(f.get("ring_used")),
                    f.get("ring_linked"), f.get("ring_dead"), f.get("ring_reserved"), f.get("ring_pad"),
                    f.get("ring_lock_slot") < 0 ? "free" : "held by slot " + f.get("ring_lock_slot"));
                f.forEach((k, v) -> out.printf("  %-26s %d%n", k, v));
            } else {
                out.printf("store          %s: unreadable: %s%n", name, figures);
            }
        });
    }

    static void printText(final ArenaInfo i, final PrintStream out) {
        out.printf("arena          %s%n", i.path());
        out.printf("format         %d%n", i.formatVersion());
        out.printf("page size      %d%n", i.pageSize());
        out.printf("capacity       %d pages (%s)%n", i.capacityPages(), Format.bytes(i.capacityBytes()));
        out.printf("metadata       %d pages after the header; first user page %d%n", i.metaPages(), i.firstUserPage());
        out.printf("flags          0x%x%n", i.flags());
        out.printf("arena id       %016x%n", i.arenaId());
        out.printf("created        %s%n", Instant.ofEpochMilli(i.createdMillis()));
        out.printf("fixed address  %s%n", i.fixedAddress() == 0 ? "none" : Format.hex(i.fixedAddress()));
        out.printf("mapped at      %s (4 GiB window), %s mapped%n", Format.hex(i.windowBase()), Format.bytes(i.mappedBytes()));
        out.printf("resident       %s%n", Format.bytes(i.residentBytes()));
        out.printf("on disk        %s%n", Format.bytes(i.diskBytes()));
        if (i.fileSize() != i.capacityBytes()) {
            out.printf("file size      %d bytes, capacity %d: %s while mapped (check --repair fixes it)%n", i.fileSize(),
                i.capacityBytes(), i.fileSize() < i.capacityBytes() ? "truncated" : "extended");
        }
        if (!i.headerDamage().isEmpty()) {
            out.printf("header         %s (check --repair restores it)%n", i.headerDamage());
        }
    }

    static void printStats(final ArenaStats st, final PrintStream out) {
        out.printf("pages          %s%n", st.pages());
        out.printf("quota          %s%n", st.quotaPages() == 0 ? "none" : st.quotaPages() + " pages");
        out.printf("counters       %s%n", st.counters());
        out.printf("lock           %s%n", st.lockSlot() < 0 ? "free" : "held by slot " + st.lockSlot() + " (pid "
            + st.lockPid() + ", " + (st.lockOwnerAlive() ? "alive" : "DEAD") + ")");
        out.printf("pending frees  %d span(s)%n", st.pendingSpans());
        out.printf("processes      %d attached%n", st.processes().size());
        for (final ProcessRegistry.Entry e : st.processes()) {
            out.printf("  slot %-3d pid %-8d attached %s  %s%n", e.slot(), e.pid(),
                Instant.ofEpochMilli(e.attachMillis()), e.alive() ? "alive" : "DEAD");
        }
    }

    private static String jsonMap(final java.util.Map<String, Long> map) {
        final StringBuilder b = new StringBuilder("{");
        map.forEach((k, v) -> b.append(b.length() > 1 ? "," : "").append(Format.json(k)).append(':').append(v));
        return b.append('}').toString();
    }

    @SuppressWarnings("unchecked")
    static void printJson(final ArenaInfo i, final ArenaStats st, final Map<String, Object> stores,
                          final PrintStream out) {
        final StringBuilder storeJson = new StringBuilder("{");
        stores.forEach((name, figures) -> storeJson.append(storeJson.length() > 1 ? "," : "").append(Format.json(name))
            .append(':').append(figures instanceof Map<?, ?> m ? jsonMap((Map<String, Long>) m)
                : "{\"unreadable\":" + Format.json(String.valueOf(figures)) + "}"));
        storeJson.append('}');
        final StringBuilder procs = new StringBuilder("[");
        for (final ProcessRegistry.Entry e : st.processes()) {
            procs.append(procs.length() > 1 ? "," : "").append("{\"slot\":").append(e.slot())
                .append(",\"pid\":").append(e.pid()).append(",\"startTicks\":").append(e.startTicks())
                .append(",\"attachMillis\":").append(e.attachMillis()).append(",\"alive\":").append(e.alive())
                .append('}');
        }
        procs.append(']');
        final String head = json(i);
        out.println(head.substring(0, head.length() - 1)
            + ",\"pages\":" + jsonMap(st.pages())
            + ",\"counters\":" + jsonMap(st.counters())
            + ",\"quotaPages\":" + st.quotaPages()
            + ",\"lock\":" + (st.lockSlot() < 0 ? "null" : "{\"slot\":" + st.lockSlot() + ",\"pid\":" + st.lockPid()
                + ",\"alive\":" + st.lockOwnerAlive() + "}")
            + ",\"pendingSpans\":" + st.pendingSpans()
            + ",\"processes\":" + procs
            + ",\"stores\":" + storeJson + "}");
    }

    /** The header and mapping as one JSON object. */
    private static String json(final ArenaInfo i) {
        return ("{\"path\":" + Format.json(i.path().toString())
            + ",\"formatVersion\":" + i.formatVersion()
            + ",\"pageSize\":" + i.pageSize()
            + ",\"capacityPages\":" + i.capacityPages()
            + ",\"capacityBytes\":" + i.capacityBytes()
            + ",\"metaPages\":" + i.metaPages()
            + ",\"firstUserPage\":" + i.firstUserPage()
            + ",\"flags\":" + i.flags()
            + ",\"arenaId\":" + Format.json(String.format("%016x", i.arenaId()))
            + ",\"createdMillis\":" + i.createdMillis()
            + ",\"fixedAddress\":" + Format.json(Format.hex(i.fixedAddress()))
            + ",\"windowBase\":" + Format.json(Format.hex(i.windowBase()))
            + ",\"mappedBytes\":" + i.mappedBytes()
            + ",\"residentBytes\":" + i.residentBytes()
            + ",\"diskBytes\":" + i.diskBytes()
            + ",\"fileSize\":" + i.fileSize()
            + ",\"headerDamage\":" + (i.headerDamage().isEmpty() ? "null" : Format.json(i.headerDamage())) + "}");
    }
}
