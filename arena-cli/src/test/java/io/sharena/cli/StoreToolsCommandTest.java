package io.sharena.cli;

import io.sharena.core.ArenaView;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code stat}, {@code check [--repair]} and {@code dump --keys} on a file that holds a shared store. */
class StoreToolsCommandTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @BeforeEach
    void capture() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    /** @return what the command printed; {@code out} is emptied for the next */
    private String run(final int status, final String... args) {
        final int got = ArenaCli.run(args);
        final String text = out.toString(StandardCharsets.UTF_8);
        out.reset();
        assertEquals(status, got, String.join(" ", args) + ":\n" + text + err.toString(StandardCharsets.UTF_8));
        return text;
    }

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A store of 4 MiB with three items, one of them read twice and one missed. */
    private Path store() throws Exception {
        final Path file = dir.resolve("s.store");
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(4L << 20)
            .withMaxItemSize(64 << 10))) {
            assertEquals(StoreResult.STORED, store.set(b("alpha"), b("1"), 0, 0));
            assertEquals(StoreResult.STORED, store.set(b("beta"), new byte[1000], 0, 0));
            assertEquals(StoreResult.STORED, store.set(new byte[] {'s', ' ', 0, '\\', (byte) 0xFF}, b("x"), 0, 0));
            store.set(b("alpha"), b("2"), 0, 0);
            store.get(b("alpha"));
            store.get(b("alpha"));
            store.get(b("missing"));
        }
        return file;
    }

    @Test
    void statShowsTheStoreFiguresInTextAndJson() throws Exception {
        final Path file = store();
        final String text = run(0, "stat", file.toString());
        assertTrue(text.contains("store          sharena.store: 3 items, "), text);
        assertTrue(text.contains("limit 4.0 MiB, max item 64.0 KiB"), text);
        // Four records in the ring: the three items and alpha's first version, now dead.
        assertTrue(text.contains("(3 linked, 1 dead, 0 reserved, 0 pad records), lock free"), text);
        assertTrue(text.matches("(?s).*\n  curr_items +3\n.*"), text);
        assertTrue(text.matches("(?s).*\n  get_hits +2\n.*"), text);
        assertTrue(text.matches("(?s).*\n  get_misses +1\n.*"), text);
        assertTrue(text.matches("(?s).*\n  cmd_set +4\n.*"), text);
        assertTrue(text.matches("(?s).*\n  evictions +0\n.*"), text);
        final String json = run(0, "stat", "--json", file.toString()).strip();
        assertTrue(json.contains(",\"stores\":{\"sharena.store\":{\"time\":"), json);
        assertTrue(json.contains("\"curr_items\":3,"), json);
        assertTrue(json.contains("\"limit_maxbytes\":4194304,"), json);
        assertTrue(json.contains("\"ring_reserved\":0,"), json);
        assertTrue(json.endsWith("}}}"), json);
    }

    @Test
    void statOfAPlainArenaShowsNoStore() {
        final Path file = dir.resolve("plain.arena");
        run(0, "create", file.toString(), "--size", "16M");
        assertFalse(run(0, "stat", file.toString()).contains("store "));
        assertTrue(run(0, "stat", "--json", file.toString()).strip().endsWith(",\"stores\":{}}"));
    }

    @Test
    void dumpKeysListsEveryKeyEscapedAndHonoursTheLimit() throws Exception {
        final Path file = store();
        final List<String> lines = Arrays.asList(run(0, "dump", file.toString(), "--keys").strip().split("\n"));
        assertEquals("store sharena.store: 3 key(s)", lines.getFirst());
        assertEquals(List.of("alpha", "beta", "s\\x20\\x00\\x5c\\xff"), lines.subList(1, 4).stream().sorted().toList());
        final String one = run(0, "dump", file.toString(), "--keys", "1");
        assertTrue(one.startsWith("store sharena.store: 1 key(s) (--keys limit)\n"), one);
        // The file right after --keys is the file, not N (it was refused: "'FILE' is not an int").
        assertEquals(String.join("\n", lines), run(0, "dump", "--keys", file.toString()).strip());
        assertTrue(run(0, "dump", "--keys", "1", file.toString()).startsWith("store sharena.store: 1 key(s) (--keys limit)\n"));
        run(2, "dump", "--keys", "-1", file.toString());
        final String json = run(0, "dump", "--keys", "5", "--json", file.toString()).strip();
        assertTrue(json.startsWith("{\"stores\":{\"sharena.store\":[") && json.contains("\"alpha\""), json);
        run(2, "dump", file.toString(), "--keys", "--store", "nope");
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(
            "arena: no store under that name: store=nope, stores=[sharena.store]"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void checkVerifiesTheStoreAndRepairRecountsADamagedStripe() throws Exception {
        final Path file = store();
        assertTrue(run(0, "check", file.toString()).endsWith("check: ok\n"));
        // Damage the accounting: one stripe claims an item it does not have.
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final ArenaView v = store.arena().raw();
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final int stripe = v.getInt(header + StoreLayout.STRIPES_PTR) + 5 * StoreLayout.STRIPE_SIZE;
            v.putLong(stripe + StoreLayout.STRIPE_ITEMS, v.getLong(stripe + StoreLayout.STRIPE_ITEMS) + 1);
        }
        final String found = run(1, "check", file.toString());
        assertTrue(found.contains("store sharena.store: stripe counts differ from its chains: stripe=5, items="),
            found);
        final String repaired = run(0, "check", "--repair", file.toString());
        assertTrue(repaired.contains("repaired: store sharena.store: recounted 1 stripe(s) whose item or byte counts"
            + " differed from their chains"), repaired);
        assertTrue(repaired.endsWith("check: ok\n"), repaired);
        assertTrue(run(0, "stat", file.toString()).contains("sharena.store: 3 items"));
    }

    @Test
    void aStoreWhoseHeaderIsDamagedIsReportedNotFatal() throws Exception {
        final Path file = store();
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putInt(header + StoreLayout.VERSION, 99);
        }
        final String stat = run(0, "stat", file.toString());
        assertTrue(stat.contains("store          sharena.store: unreadable: unsupported store version: version=99,"
            + " supported=" + StoreLayout.VERSION_SHARED + " and " + StoreLayout.VERSION_VALUE), stat);
        final String check = run(1, "check", file.toString());
        assertTrue(check.contains("store sharena.store: store does not open: unsupported store version"), check);
        // 99 could be another format's version: such a store is not rewritten to this format.
        final String repair = run(1, "check", "--repair", file.toString());
        assertTrue(repair.contains("repaired: store sharena.store: not repaired: store does not open:"), repair);
    }

    /**
     * A store header's version word hit by a stray write to a value no format has (0, or past 255),
     * the rest of the header a store's: the repair said "not repaired", and every item stayed out of
     * reach for good. It now writes the version again, as it does the magic.
     */
    @Test
    void aStoreWhoseVersionAloneWasHitIsRestored() throws Exception {
        for (final int hit : new int[] {0, -1, 1 << 20}) {
            final Path file = store();
            try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
                final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
                store.arena().raw().putInt(header + StoreLayout.VERSION, hit);
            }
            final String repair = run(0, "check", "--repair", file.toString());
            assertTrue(repair.contains("repaired: store sharena.store: header version restored (the rest of its header"
                + " is sound): was " + hit), repair);
            assertTrue(repair.endsWith("check: ok\n"), repair);
            try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
                assertEquals("2", new String(store.get(b("alpha")), StandardCharsets.UTF_8));
            }
            Files.delete(file);
        }
    }

    /**
     * A stray write over the store header's magic alone (the corrupted-file campaign's case): the
     * store no longer opened, {@code check} passed it over as "no store" and called the file clean.
     * Now the rest of the header, being a store's, says what it is: check names the magic, and the
     * repair writes it again, every item kept.
     */
    @Test
    void aStoreWhoseMagicAloneWasHitIsReportedAndRestored() throws Exception {
        final Path file = store();
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            store.arena().raw().putLong(header + StoreLayout.MAGIC, 1L << 63);
        }
        final String check = run(1, "check", file.toString());
        assertTrue(check.contains("store sharena.store: store does not open: not a store: magic=0x8000000000000000"), check);
        final String repair = run(0, "check", "--repair", file.toString());
        assertTrue(repair.contains("repaired: store sharena.store: header magic restored (the rest of its header is"
            + " sound): was 0x8000000000000000"), repair);
        assertTrue(repair.endsWith("check: ok\n"), repair);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals("2", new String(store.get(b("alpha")), StandardCharsets.UTF_8));
        }
    }
    /**
     * A store file cut short in the middle of its ring, then given its size back by
     * {@code check --repair} (the lost range reads as zeros): chains lead into zeros, and the ring's
     * records stop parsing there. The store's repair used to stop at the first such chain with
     * "corrupted metadata stopped the repair" (exit 6, the heap's repair and the final check never
     * run), and every write threw once the tail reached the zeros. Now the repair pads the stretch,
     * cuts the chains into it, and the store checks clean and writes lap after lap.
     */
    @Test
    void aStoreFileCutShortMidRingIsRepairedToACleanCheck() throws Exception {
        final Path file = dir.resolve("cut.store");
        final long cutAt;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(1L << 20)
            .withMaxItemSize(4096))) {
            for (int i = 0; i < 3000; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), new byte[200], 0, 0));
            }
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            cutAt = Integer.toUnsignedLong(store.arena().raw().getInt(header + StoreLayout.RING_PTR)) + (256 << 10);
            assertTrue(store.stats().get("ring_head") > (600 << 10), store.stats().toString());
        }
        cut(file, cutAt);
        final String repaired = run(0, "check", "--repair", file.toString());
        assertTrue(repaired.contains("repaired: store sharena.store: cut "), repaired);
        assertTrue(repaired.contains("repaired: store sharena.store: replaced 1 stretch(es) of the ring"), repaired);
        assertTrue(repaired.endsWith("check: ok\n"), repaired);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final long head = store.stats().get("ring_head");
            for (int i = 0; store.stats().get("ring_tail") < head + (1L << 20); i++) {
                assertEquals(StoreResult.STORED, store.set(b("after" + (i % 2000)), new byte[200], 0, 0), "i=" + i);
            }
            assertEquals(List.of(), store.check());
        }
        assertTrue(run(0, "check", file.toString()).endsWith("check: ok\n"));
    }

    /**
     * A file cut inside an item's value: the item looked whole after the repair and was served with
     * zeros for its value's end (a corrupted-file campaign against serve). The repair now drops every
     * record the cut reached: each key reads its own value whole, or nothing.
     */
    @Test
    void anItemTheCutReachedIsDroppedNotServedWithZeros() throws Exception {
        final Path file = dir.resolve("cut-item.store");
        final long cutAt;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(1L << 20)
            .withMaxItemSize(4096))) {
            for (int i = 0; i < 300; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), value(i), 0, 0));
            }
            final io.sharena.ipc.store.StoreReader r = store.reader();
            assertTrue(r.get(b("k150")));
            cutAt = r.valueOffset() + 100;
        }
        cut(file, cutAt);
        final String repaired = run(0, "check", "--repair", file.toString());
        assertTrue(repaired.contains("repaired: store sharena.store: dropped 1 record(s) that a cut of the file reached"),
            repaired);
        assertTrue(repaired.endsWith("check: ok\n"), repaired);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            int kept = 0;
            for (int i = 0; i < 300; i++) {
                final byte[] v = store.get(b("k" + i));
                assertTrue(v == null || java.util.Arrays.equals(value(i), v), "k" + i + " whole or gone");
                kept += v == null ? 0 : 1;
            }
            assertEquals(null, store.get(b("k150")), "the item the cut reached is gone");
            assertTrue(kept >= 150, "the items before the cut are kept: " + kept);
        }
    }

    /**
     * A file cut through the store's header (its size restored by the repair): the root named a
     * page of zeros, check called the file clean, and serve refused it ("not a store") for good. Now
     * check says so, and the repair formats an empty store over the zeroed pages, as large as they
     * hold: serve, and any opener, use the file again. (What the cut took is lost either way.)
     */
    @Test
    void aStoreFileCutThroughItsHeaderGetsAnEmptyStoreAgain() throws Exception {
        final Path file = dir.resolve("cut-header.store");
        final long cutAt;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(4L << 20))) {
            for (int i = 0; i < 100; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), new byte[200], 0, 0));
            }
            cutAt = Integer.toUnsignedLong(NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT));
        }
        cut(file, cutAt);
        final String repaired = run(0, "check", "--repair", file.toString());
        assertTrue(repaired.contains("repaired: store sharena.store: its root named a page of zeros (its header was"
            + " lost): an empty store formatted over "), repaired);
        assertTrue(repaired.endsWith("check: ok\n"), repaired);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals(0L, store.stats().get("curr_items"));
            assertTrue(store.memoryLimit() > (3L << 20), "as large as the zeroed pages hold: " + store.memoryLimit());
            assertEquals(StoreResult.STORED, store.set(b("again"), b("v"), 0, 0));
            assertArrayEquals(b("v"), store.get(b("again")));
            assertEquals(List.of(), store.check());
        }
        assertTrue(run(0, "check", file.toString()).endsWith("check: ok\n"));
    }

    /**
     * The same zeros with no cut to explain them (a stray write over the header page, or a root
     * value garbled onto a zeroed page): the pages may be another owner's, so the repair writes
     * nothing there and says what to do instead.
     */
    @Test
    void aZeroedStoreHeaderNoCutExplainsIsReportedNotFormattedOver() throws Exception {
        final Path file = dir.resolve("zeroed-header.store");
        final long header;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(4L << 20))) {
            header = Integer.toUnsignedLong(NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT));
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
            java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(4096), header);
        }
        final String checked = run(1, "check", file.toString());
        assertTrue(checked.contains("store sharena.store: its root names a page of zeros, no store"), checked);
        final String repaired = run(1, "check", "--repair", file.toString());
        assertTrue(repaired.contains("its root named a page of zeros (its header was lost): not repaired: no cut of the"
            + " file explains the zeros"), repaired);
    }

    /**
     * A store whose stripe-lock page is not allocated (a stray free): the store cannot be used,
     * which opening it and the check say, each in its own words (before, opening it threw a raw
     * IllegalArgumentException from the lock, "lock word not in an ALLOCATED page"). The repair
     * reads from the roots that the store holds the page and keeps it ALLOCATED, and the store's
     * repair makes good what the page holds (its locks, its counts): the store opens and works again.
     */
    @Test
    void aStoreWithARegionPageNotAllocatedIsReportedNotFatal() throws Exception {
        final Path file = store();
        final int stripes;
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            stripes = store.arena().raw().getInt(header + StoreLayout.STRIPES_PTR);
            store.arena().freePages(stripes, 1);
        }
        final io.sharena.core.ArenaFormatException e = org.junit.jupiter.api.Assertions.assertThrows(
            io.sharena.core.ArenaFormatException.class, () -> SharedStore.open(file, StoreOptions.defaults()).close());
        assertTrue(e.getMessage().contains("store region page not allocated: page=" + (stripes >>> 12)), e.getMessage());
        final String check = run(1, "check", file.toString());
        assertTrue(check.contains("store sharena.store: store does not open: store region page not allocated"), check);
        final String repair = run(0, "check", "--repair", file.toString());
        assertTrue(repair.contains("note: pages a structure holds were not allocated (a damaged page table): set"
            + " ALLOCATED, their contents kept: pages=1, first=" + (stripes >>> 12)), repair);
        assertTrue(repair.endsWith("check: ok\n"), repair);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals(List.of(), store.check());
            assertEquals(StoreResult.STORED, store.set(b("alpha"), b("3"), 0, 0));
            assertEquals("3", new String(store.get(b("alpha")), StandardCharsets.UTF_8));
        }
    }

    /**
     * The page table damaged under a store (the campaign's cases: entries of ring pages zeroed, so
     * they read FREE, and a header page's entry made RESERVED): {@code check} names them, and
     * {@code check --repair} reads from the named roots which pages the store holds before the
     * allocator's repair, which keeps them ALLOCATED with their contents. Before, that repair
     * linked the ring's pages into the free lists and punched them out (its items lost, the pages
     * free to be handed to anyone), and the store never opened again.
     */
    @Test
    void aStoreWhosePageTableCallsItsPagesFreeIsKeptWholeByTheRepair() throws Exception {
        final Path file = dir.resolve("pages.store");
        final StoreOptions options = StoreOptions.defaults().withMemoryLimit(4L << 20).withMaxItemSize(64 << 10);
        final int first;
        final int pages;
        try (SharedStore store = SharedStore.create(file, options)) {
            for (int i = 0; i < 3000; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), value(i), 0, 0));
            }
            final int header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            first = header >>> 12;
            pages = store.arena().raw().getInt(header + StoreLayout.REGION_PAGES);
        }
        try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(file,
            io.sharena.core.ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            for (int p = first + pages - 40; p < first + pages - 8; p++) {
                v.putLong((int) io.sharena.core.layout.PageEntry.stateOffset(p), 0L); // FREE
            }
            v.putLong((int) io.sharena.core.layout.PageEntry.stateOffset(first + 1),
                io.sharena.core.layout.PageEntry.state(io.sharena.core.layout.PageEntry.RESERVED, 0, 0, 0));
        }
        final String check = run(1, "check", file.toString());
        assertTrue(check.contains("store sharena.store: store does not open: store region page not allocated: page="
            + (first + 1) + ", state=RESERVED"), check);
        final String repaired = run(0, "check", "--repair", file.toString());
        assertTrue(repaired.contains("note: pages a structure holds were not allocated (a damaged page table): set"
            + " ALLOCATED, their contents kept: pages=33, first=" + (first + 1)), repaired);
        assertTrue(repaired.endsWith("check: ok\n"), repaired);
        try (SharedStore store = SharedStore.open(file, options)) {
            int read = 0;
            for (int i = 0; i < 3000; i++) {
                final byte[] got = store.get(b("k" + i));
                if (got != null) { // evicted ones are absent, never other bytes
                    assertTrue(Arrays.equals(value(i), got), "k" + i);
                    read++;
                }
            }
            assertTrue(read > 1000, "items read: " + read);
            // No page of the region is handed out again: every page the arena still has goes elsewhere.
            final List<Integer> taken = new java.util.ArrayList<>();
            for (int ptr; (ptr = store.arena().allocPages(1)) != 0; ) {
                final int page = ptr >>> 12;
                assertFalse(page >= first && page < first + pages, "region page handed out: " + page);
                taken.add(ptr);
            }
            taken.forEach(ptr -> store.arena().freePages(ptr, 1));
            for (int i = 0; i < 3000; i++) {
                final byte[] got = store.get(b("k" + i));
                assertTrue(got == null || Arrays.equals(value(i), got), "k" + i);
            }
            assertEquals(List.of(), store.check());
        }
    }

    /** Cuts the file to {@code at} bytes, as another process's truncate would. */
    private static void cut(final Path file, final long at) throws java.io.IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
            java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(at);
        }
    }

    private static byte[] value(final int i) {
        final byte[] v = new byte[100 + i % 900];
        Arrays.fill(v, (byte) ('a' + i % 26));
        v[0] = (byte) i;
        return v;
    }

    /** What a stray write does to the store's root entry. */
    enum RootDamage {
        /** Its state made EMPTY: the name is gone. */
        EMPTIED,
        /** Its state made REMOVED (a tombstone). */
        REMOVED,
        /** Its value pointed one page on, where no store begins. */
        POINTED_ELSEWHERE
    }

    /**
     * The store's root entry hit by a stray write (the corrupted-file campaign's cases): nothing led
     * to the store any more, its pages stayed allocated to no one, {@code check} called the file
     * clean and {@code serve} could not use it ("no room for the store", or "not a store"). Now
     * check names the store no root leads to, and the repair names it again, every item kept; an
     * entry whose state alone was hit still holds the root's name and pointer, and gets its state back.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(RootDamage.class)
    void aStoreWhoseRootWasLostIsFoundAndNamedAgain(final RootDamage damage) throws Exception {
        final Path file = store();
        final int header;
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            header = NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT);
            final ArenaView v = store.arena().raw();
            final int dir = v.getIntAcquire((int) io.sharena.core.layout.ControlLayout.word(
                io.sharena.core.layout.ControlLayout.ROOTS_PTR));
            int entry = -1;
            for (int i = 0; i < io.sharena.ipc.layout.RootsLayout.ENTRIES; i++) {
                final int e = dir + io.sharena.ipc.layout.RootsLayout.entry(i);
                if (v.getIntAcquire(e + io.sharena.ipc.layout.RootsLayout.STATE) == io.sharena.ipc.layout.RootsLayout.LIVE
                    && (int) v.getLongAcquire(e + io.sharena.ipc.layout.RootsLayout.VALUE) == header) {
                    entry = e;
                }
            }
            assertTrue(entry >= 0, "the store's root entry");
            switch (damage) {
                case EMPTIED -> v.putInt(entry + io.sharena.ipc.layout.RootsLayout.STATE, io.sharena.ipc.layout.RootsLayout.EMPTY);
                case REMOVED -> v.putInt(entry + io.sharena.ipc.layout.RootsLayout.STATE, io.sharena.ipc.layout.RootsLayout.REMOVED);
                case POINTED_ELSEWHERE -> v.putLong(entry + io.sharena.ipc.layout.RootsLayout.VALUE,
                    v.getLongAcquire(entry + io.sharena.ipc.layout.RootsLayout.VALUE) + 4096);
            }
        }
        final String check = run(1, "check", file.toString());
        final String repair;
        if (damage == RootDamage.POINTED_ELSEWHERE) {
            assertTrue(check.contains("a store that no named root leads to (its root was lost; check --repair names it"
                + " again): header=0x" + Integer.toHexString(header)), check);
            repair = run(0, "check", "--repair", file.toString());
            assertTrue(repair.contains("repaired: store sharena.store: a store that no named root led to (its root was"
                + " lost) named again: header=0x" + Integer.toHexString(header)), repair);
        } else {
            // The entry still holds its name and pointer, which no remove leaves: the root itself is
            // given back its state.
            assertTrue(check.contains("root entry " + (damage == RootDamage.EMPTIED ? "EMPTY" : "REMOVED")
                + " but holding its name and pointer (its state was hit): name=sharena.store"), check);
            repair = run(0, "check", "--repair", file.toString());
            assertTrue(repair.contains("root restored (its entry read " + (damage == RootDamage.EMPTIED ? "EMPTY" : "REMOVED")
                + " with its name and pointer whole): name=sharena.store"), repair);
        }
        assertTrue(repair.endsWith("check: ok\n"), repair);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals("2", new String(store.get(b("alpha")), StandardCharsets.UTF_8));
            assertEquals(1000, store.get(b("beta")).length);
        }
    }
}
