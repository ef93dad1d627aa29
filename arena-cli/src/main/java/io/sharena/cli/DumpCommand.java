package io.sharena.cli;

import io.sharena.core.ArenaInfo;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Intent;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;
import io.sharena.core.owner.ProcessRegistry;
import io.sharena.ipc.store.StoreTools;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;

/**
 * {@code arena dump FILE [--pages A..B] [--json]}, or {@code arena dump FILE --keys [N] [--store NAME]}
 * for the keys of the file's shared stores. Without {@code --keys}: the allocator's shared structures as they are in
 * the file, read-only and without the lock: the lock word and intent, the process registry with
 * each slot's span caches, the pending-free list, the best-fit lists, and the page table (runs of
 * pages with the same state and owner, or every page of {@code --pages}).
 *
 * <p>Every list is walked as a tool must walk what another process may be changing or may have
 * corrupted: at most as many steps as the arena has pages, each page checked to be a user page and
 * not seen before; a walk that breaks is printed up to the break, with the reason.
 */
@Command(name = "dump", mixinStandardHelpOptions = true,
    description = "Print the allocator's shared structures (lock, registry, caches, pending list, free runs, page"
        + " table), or with --keys the keys of the shared stores in the file.")
final class DumpCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file")
    Path file;

    @Option(names = "--pages", paramLabel = "A..B", description = "print every page from A to B (inclusive) instead of runs")
    String pages;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--keys", arity = "0..1", paramLabel = "N", fallbackValue = "1000",
        parameterConsumer = KeysLimit.class,
        description = "instead of the allocator, list up to N keys (default 1000) of each shared store in the file")
    Integer keys;

    /**
     * Takes the word after {@code --keys} as its N only if it is a number: {@code dump --keys FILE}
     * lists the file's keys (picocli would otherwise take the file's name for N and refuse it).
     */
    static final class KeysLimit implements picocli.CommandLine.IParameterConsumer {
        @Override
        public void consumeParameters(final java.util.Stack<String> args, final picocli.CommandLine.Model.ArgSpec spec,
                                      final picocli.CommandLine.Model.CommandSpec command) {
            final String next = args.isEmpty() ? null : args.peek();
            if (next != null && next.matches("-?[0-9]+")) {
                args.pop();
                try {
                    spec.setValue(Integer.valueOf(next));
                } catch (final NumberFormatException e) {
                    throw new picocli.CommandLine.ParameterException(command.commandLine(),
                        "Invalid value for option '--keys': '" + next + "' is not an int");
                }
            } else {
                spec.setValue(Integer.valueOf(((picocli.CommandLine.Model.OptionSpec) spec).fallbackValue()));
            }
        }
    }

    @Option(names = "--store", paramLabel = "NAME", description = "with --keys: only the store under this named root")
    String store;

    /** One span found by a walk: first page and length in pages. */
    record Span(long page, long pages) {
    }

    /** A walk of a list read from the file: the spans found and, if it broke, why. */
    record Walk(List<Span> spans, String broken) {
    }

    /** One row of the page table: pages [first, last] with the same state word fields. */
    record Row(long first, long last, String state, int slot, int run, int flags, int prev, int next) {
    }

    @Override
    public Integer call() throws IOException {
        if (keys != null) {
            return dumpKeys();
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            final ArenaInfo info = arena.info();
            final long[] range = range(arena);
            // Read everything first: a failure is one line, not half a dump.
            final Snapshot s = ArenaInternals.guarded(arena, "dump", () -> new Snapshot(arena, range));
            if (json) {
                s.printJson(info, System.out);
            } else {
                s.printText(info, System.out);
            }
        }
        return 0;
    }

    /**
     * {@code --keys}: each store's keys, read without locks (a listing taken while processes write
     * is a snapshot bucket by bucket). Text: a line per store, then a line per key, printable ASCII
     * as is and every other byte (and the backslash) escaped as {@code \xNN}.
     */
    private int dumpKeys() throws IOException {
        if (keys < 0) {
            throw new IllegalArgumentException("--keys must not be negative: keys=" + keys);
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            final Map<String, List<byte[]>> listed = ArenaInternals.guarded(arena, "dump", () -> {
                final List<String> names = StoreTools.stores(arena);
                if (store != null && !names.contains(store)) {
                    throw new IllegalArgumentException("no store under that name: store=" + store + ", stores=" + names);
                }
                final Map<String, List<byte[]>> all = new LinkedHashMap<>();
                for (final String name : names) {
                    if (store == null || store.equals(name)) {
                        try {
                            all.put(name, StoreTools.keys(arena, name, keys));
                        } catch (final io.sharena.core.ArenaFormatException e) {
                            throw new io.sharena.core.ArenaCorruptedException("store " + name, 0, e.getMessage());
                        }
                    }
                }
                return all;
            });
            if (json) {
                final StringJoiner j = new StringJoiner(",", "{\"stores\":{", "}}");
                listed.forEach((name, ks) -> {
                    final StringJoiner kj = new StringJoiner(",", "[", "]");
                    ks.forEach(k -> kj.add(Format.json(StoreTools.keyText(k))));
                    j.add(Format.json(name) + ":" + kj);
                });
                System.out.println(j);
            } else {
                if (listed.isEmpty()) {
                    System.out.println("no shared store in " + file);
                }
                listed.forEach((name, ks) -> {
                    System.out.printf("store %s: %d key(s)%s%n", name, ks.size(), ks.size() == keys ? " (--keys limit)" : "");
                    ks.forEach(k -> System.out.println(StoreTools.keyText(k)));
                });
            }
        }
        return 0;
    }

    private long[] range(final SharedArena arena) {
        if (pages == null) {
            return null;
        }
        final int dots = pages.indexOf("..");
        try {
            final long a = Long.parseLong(dots < 0 ? pages : pages.substring(0, dots));
            final long b = dots < 0 ? a : Long.parseLong(pages.substring(dots + 2));
            if (a < 0 || b < a || b >= arena.capacityPages()) {
                throw new IllegalArgumentException("--pages out of range: pages=" + pages + ", capacityPages="
                    + arena.capacityPages());
            }
            return new long[] {a, b};
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException("--pages must be A..B (page numbers): pages=" + pages);
        }
    }

    /** Everything the dump prints, read from the file in one go. */
    private static final class Snapshot {
        final long lockWord;
        final long intent;
        final long repairPending;
        /** Freed pages whose storage is still committed, waiting for a purge. */
        final long dirtyPages;
        final List<ProcessRegistry.Entry> processes;
        final List<String> caches = new ArrayList<>();
        final Walk pending;
        final List<String> runLists = new ArrayList<>();
        final List<Row> rows = new ArrayList<>();
        private final ArenaView v;
        private final long firstUser;
        private final long capacity;

        Snapshot(final SharedArena arena, final long[] range) {
            this.v = arena.raw();
            this.firstUser = arena.firstUserPage();
            this.capacity = arena.capacityPages();
            this.lockWord = v.getLongVolatile(ptr(ControlLayout.word(ControlLayout.LOCK_WORD)));
            this.intent = v.getLongVolatile(ptr(ControlLayout.word(ControlLayout.INTENT)));
            this.repairPending = v.getLongVolatile(ptr(ControlLayout.word(ControlLayout.REPAIR_PENDING)));
            this.dirtyPages = v.getLongVolatile(ptr(ControlLayout.word(ControlLayout.DIRTY_PAGES)));
            this.processes = ArenaInternals.registry(arena).entries();
            for (final ProcessRegistry.Entry e : processes) {
                final StringJoiner j = new StringJoiner(", ");
                for (int c = 0; c < RegistryLayout.CACHE_SIZES.length; c++) {
                    final long head = v.getLongVolatile(ptr(RegistryLayout.cacheHead(e.slot(), c)));
                    final Walk w = walk(TaggedHead.page(head), RegistryLayout.CACHE_SIZES[c], false);
                    j.add(RegistryLayout.CACHE_SIZES[c] + "p: count=" + TaggedHead.count(head) + " " + spans(w));
                }
                caches.add(j.toString());
            }
            this.pending = walk(TaggedHead.page(v.getLongVolatile(ptr(ControlLayout.word(ControlLayout.PENDING_HEAD)))),
                -1, false);
            for (int b = 0; b < ControlLayout.BUCKETS; b++) {
                final int head = v.getIntVolatile(ptr(ControlLayout.bucketHead(b)));
                if (head != 0) {
                    runLists.add("bucket " + b + ": " + spans(walk(head, -1, true)));
                }
            }
            final long from = range == null ? firstUser : range[0];
            final long to = range == null ? capacity - 1 : range[1];
            for (long p = from; p <= to; p++) {
                final Row r = row(p);
                final Row last = rows.isEmpty() ? null : rows.getLast();
                if (range == null && last != null && last.state().equals(r.state()) && last.slot() == r.slot()
                    // A run's head tag (RUN_DIRTY) is per run, not per page: it does not split a row.
                    && (last.flags() | PageEntry.RUN_DIRTY) == (r.flags() | PageEntry.RUN_DIRTY)
                    && last.last() == p - 1) {
                    rows.set(rows.size() - 1, new Row(last.first(), p, last.state(), last.slot(), last.run(),
                        last.flags(), last.prev(), last.next()));
                } else {
                    rows.add(r);
                }
            }
        }

        private static int ptr(final long offset) {
            return (int) offset;
        }

        private Row row(final long p) {
            if (p < firstUser) {
                return new Row(p, p, "META", 0, 0, 0, 0, 0);
            }
            final long w = v.getLongVolatile(ptr(PageEntry.stateOffset((int) p)));
            final long link = v.getLongVolatile(ptr(PageEntry.linkOffset((int) p)));
            // A dirty free page (storage still committed until a purge) shows as FREE+dirty.
            final boolean dirty = PageEntry.stateOf(w) == PageEntry.FREE && (PageEntry.flagsOf(w) & PageEntry.DIRTY) != 0;
            return new Row(p, p, PageEntry.stateName(PageEntry.stateOf(w)) + (dirty ? "+dirty" : ""),
                PageEntry.slotOf(w), PageEntry.runOf(w),
                PageEntry.flagsOf(w), PageEntry.prevOf(link), PageEntry.nextOf(link));
        }

        /**
         * Follows NEXT links from {@code first}: {@code len} pages per span, or the run length in
         * the first page's state word when {@code len} is -1. Bounded and checked.
         */
        private Walk walk(final int first, final int len, final boolean doubly) {
            final List<Span> spans = new ArrayList<>();
            final BitSet seen = new BitSet();
            int prev = 0;
            for (long page = Integer.toUnsignedLong(first), steps = 0; page != 0; steps++) {
                if (page < firstUser || page >= capacity) {
                    return new Walk(spans, "link to page " + page + " outside the user pages");
                }
                if (seen.get((int) page) || steps > capacity) {
                    return new Walk(spans, "cycle: page " + page + " seen twice");
                }
                seen.set((int) page);
                final long w = v.getLongVolatile(ptr(PageEntry.stateOffset((int) page)));
                final long link = v.getLongVolatile(ptr(PageEntry.linkOffset((int) page)));
                spans.add(new Span(page, len > 0 ? len : PageEntry.runOf(w)));
                if (doubly && PageEntry.prevOf(link) != prev) {
                    return new Walk(spans, "page " + page + " links back to " + PageEntry.prevOf(link) + ", not " + prev);
                }
                prev = (int) page;
                page = Integer.toUnsignedLong(PageEntry.nextOf(link));
            }
            return new Walk(spans, null);
        }

        private static String spans(final Walk w) {
            final StringJoiner j = new StringJoiner(" ", "[", "]");
            w.spans().forEach(s -> j.add(s.page() + "+" + s.pages()));
            return j + (w.broken() == null ? "" : " BROKEN: " + w.broken());
        }

        private String lockText() {
            if (lockWord == 0) {
                return "unlocked";
            }
            return "held: slot=" + OwnerToken.slot(lockWord) + " generation=" + OwnerToken.generation(lockWord)
                + " thread=" + OwnerToken.thread(lockWord) + " word=0x" + Long.toHexString(lockWord);
        }

        private String intentText() {
            final String[] ops = {"NONE", "ALLOC", "FREE", "RESERVE", "ALLOC_INTO", "FREE_FROM"};
            final int op = Intent.op(intent);
            return (op < ops.length ? ops[op] : "op " + op) + (op == Intent.NONE ? ""
                : " first=" + Integer.toUnsignedLong(Intent.first(intent)) + " pages=" + Intent.pages(intent));
        }

        void printText(final ArenaInfo i, final PrintStream out) {
            out.printf("arena     %s: %d pages, first user page %d, format %d%n", i.path(), i.capacityPages(),
                i.firstUserPage(), i.formatVersion());
            out.printf("lock      %s%n", lockText());
            out.printf("intent    %s%n", intentText());
            out.printf("repair    %s%n", repairPending == 0 ? "not pending" : "PENDING");
            out.printf("dirty     %d free pages keep their storage until a purge%n", dirtyPages);
            out.println("registry");
            for (int k = 0; k < processes.size(); k++) {
                final ProcessRegistry.Entry e = processes.get(k);
                out.printf("  slot %2d  pid %d  generation %d  %s  caches: %s%n", e.slot(), e.pid(), e.generation(),
                    e.alive() ? "alive" : "DEAD", caches.get(k));
            }
            out.printf("pending   %s%n", spans(pending));
            out.println("free runs");
            runLists.forEach(l -> out.println("  " + l));
            out.println("pages");
            for (final Row r : rows) {
                out.printf("  %s  %-9s slot %-2d run %-6d flags 0x%02x  prev %d next %d%n",
                    r.first() == r.last() ? Long.toString(r.first()) : r.first() + ".." + r.last(), r.state(), r.slot(),
                    r.run(), r.flags(), r.prev(), r.next());
            }
        }

        void printJson(final ArenaInfo i, final PrintStream out) {
            final StringJoiner procs = new StringJoiner(",", "[", "]");
            for (int k = 0; k < processes.size(); k++) {
                final ProcessRegistry.Entry e = processes.get(k);
                procs.add("{\"slot\":" + e.slot() + ",\"pid\":" + e.pid() + ",\"generation\":" + e.generation()
                    + ",\"alive\":" + e.alive() + ",\"caches\":" + Format.json(caches.get(k)) + "}");
            }
            final StringJoiner rowJson = new StringJoiner(",", "[", "]");
            for (final Row r : rows) {
                rowJson.add("{\"first\":" + r.first() + ",\"last\":" + r.last() + ",\"state\":\"" + r.state()
                    + "\",\"slot\":" + r.slot() + ",\"run\":" + r.run() + ",\"flags\":" + r.flags() + ",\"prev\":"
                    + r.prev() + ",\"next\":" + r.next() + "}");
            }
            final StringJoiner runs = new StringJoiner(",", "[", "]");
            runLists.forEach(l -> runs.add(Format.json(l)));
            out.println("{\"path\":" + Format.json(i.path().toString()) + ",\"capacityPages\":" + i.capacityPages()
                + ",\"firstUserPage\":" + i.firstUserPage() + ",\"lockWord\":" + lockWord + ",\"lock\":"
                + Format.json(lockText()) + ",\"intent\":" + Format.json(intentText()) + ",\"repairPending\":"
                + (repairPending != 0) + ",\"dirtyPages\":" + dirtyPages + ",\"processes\":" + procs
                + ",\"pending\":" + Format.json(spans(pending))
                + ",\"freeRuns\":" + runs + ",\"pages\":" + rowJson + "}");
        }
    }
}
