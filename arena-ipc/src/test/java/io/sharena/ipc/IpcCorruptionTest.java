package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Corrupted IPC metadata, as a stray write or a hostile process leaves it: every use either works,
 * or throws {@link ArenaCorruptedException} naming the structure and the value (never a raw
 * {@link IndexOutOfBoundsException}, never a hang); check reports it; repair fixes it and then
 * check reports nothing.
 */
class IpcCorruptionTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    SharedArena arena;
    ArenaView v;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("x.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
        v = arena.raw();
    }

    @AfterEach
    void close() throws IOException {
        arena.close();
    }

    private int directory() {
        return v.getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
    }

    /** Repairs the roots and the heap (which must say what they did), then @return what their checks still find. */
    List<String> repairThenCheck() {
        final List<String> done = new ArrayList<>(NamedRoots.repair(arena, 1_000_000_000L));
        done.addAll(ObjectHeap.repair(arena));
        assertFalse(done.isEmpty(), "the repair said what it did");
        final List<String> left = new ArrayList<>(NamedRoots.check(arena));
        left.addAll(ObjectHeap.check(arena));
        return left;
    }

    // ------------------------------------------------------------------ named roots

    @Test
    void aRootEntryInAnUnknownStateIsReportedAndRepaired() {
        final NamedRoots roots = NamedRoots.of(arena);
        roots.put("alpha", 100);
        final int e = directory() + RootsLayout.entry(NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)));
        v.putIntRelease(e + RootsLayout.STATE, 9);
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> roots.get("alpha"));
        assertEquals("named roots entry state", x.structure());
        assertEquals(9, x.value());
        assertTrue(NamedRoots.check(arena).contains("named roots marked for repair (corruption was found during use)"));
        assertEquals(List.of(), repairThenCheck());
        assertEquals(0, roots.get("alpha"), "its name is lost (the repair said so)");
        roots.put("alpha", 5);
        assertEquals(5, roots.get("alpha"));
    }

    @Test
    void aRootNameLengthOutOfRangeIsReportedAndRepaired() {
        final NamedRoots roots = NamedRoots.of(arena);
        roots.put("alpha", 100);
        roots.put("beta", 200);
        final int e = directory() + RootsLayout.entry(NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)));
        v.putInt(e + RootsLayout.NAME_LEN, 1 << 20);
        assertThrows(ArenaCorruptedException.class, () -> roots.list());
        assertEquals(List.of(), repairThenCheck());
        assertEquals(200, roots.get("beta"), "the others keep their values");
    }

    /** @return the directory entry that holds {@code name} LIVE (found by its bytes, whatever its length word says) */
    private int liveEntry(final String name) {
        final byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int at = directory() + RootsLayout.entry(i);
            final byte[] held = new byte[bytes.length];
            v.getBytes(at + RootsLayout.NAME, held, 0, held.length);
            if (v.getInt(at + RootsLayout.STATE) == RootsLayout.LIVE && java.util.Arrays.equals(held, bytes)) {
                return at;
            }
        }
        throw new AssertionError("no live entry holds " + name);
    }

    /**
     * One write to a live root's name length (a hostile-file campaign): out of range, the repair
     * dropped the root and its pointer with it; shorter (user2 read as user) the repair moved it
     * under the shorter name, or check was clean with the root gone when that name happened to be
     * reachable where it was; longer, the name with zero bytes was moved. An insert zeroes the whole
     * name field first, so the name's bytes give the length back: check names a length short of
     * them, and the repair restores the length the lookup finds the name at.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, -1, 4, 6, 49, RootsLayout.MAX_NAME, RootsLayout.MAX_NAME + 1, Integer.MAX_VALUE})
    void aRootNameLengthHitIsRestoredFromItsName(final int hit) {
        final NamedRoots roots = NamedRoots.of(arena);
        for (int i = 0; i < 40; i++) {
            roots.put("other" + i, 1000 + i);
        }
        roots.put("user2", 0x1d000);
        final int e = liveEntry("user2");
        v.putInt(e + RootsLayout.NAME_LEN, hit);
        assertFalse(NamedRoots.check(arena).isEmpty(), "the hit is named");
        assertEquals(List.of(), repairThenCheck());
        assertEquals(0x1d000, roots.get("user2"), "the root is back under its name");
        assertEquals(41, roots.list().size(), roots.list().toString());
        for (int i = 0; i < 40; i++) {
            assertEquals(1000 + i, roots.get("other" + i));
        }
    }

    /**
     * A live root's state read EMPTY (one write) is a root whose state was hit: restored. With its
     * pointer moved into a free page as well (a second write, a hostile-file campaign), it was
     * restored too, a root naming a free page, check clean: such an entry is cleared now.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRootWhoseStateReadsEmptyIsRestoredUnlessItPointsIntoAFreePage(final boolean pointerHit) {
        final NamedRoots roots = NamedRoots.of(arena);
        final int page = arena.allocPages(1);
        final int free = arena.allocPages(1);
        arena.freePages(free, 1);
        roots.put("user", page);
        final int e = liveEntry("user");
        if (pointerHit) {
            v.putLong(e + RootsLayout.VALUE, RootsLayout.bumped(v.getLong(e + RootsLayout.VALUE), free));
        }
        v.putInt(e + RootsLayout.STATE, RootsLayout.EMPTY);
        assertFalse(NamedRoots.check(arena).isEmpty());
        assertEquals(List.of(), repairThenCheck());
        assertEquals(pointerHit ? 0 : page, roots.get("user"));
    }

    /** A pointer past the arena: refused by name, then set to the directory again, its roots kept. */
    @Test
    void aDirectoryPointerOutsideTheArenaIsReportedAndFoundAgain() {
        NamedRoots.of(arena).put("alpha", 1);
        v.putIntRelease((int) ControlLayout.word(ControlLayout.ROOTS_PTR), (int) arena.capacityBytes() - 4096);
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> NamedRoots.of(arena));
        assertEquals("named-roots directory", x.structure());
        assertEquals(2, NamedRoots.check(arena).size(), NamedRoots.check(arena).toString()); // corrupted, and where it is
        assertEquals(List.of(), repairThenCheck());
        assertEquals(1, NamedRoots.of(arena).get("alpha"), "the directory found again");
    }

    /**
     * A wrong magic over sound entries (every state one an entry has, a live root that a lookup
     * finds): only the magic was hit, and the repair writes it again, every root kept. Over entries
     * that are not sound, the directory is dropped.
     */
    @Test
    void aDirectoryWhoseMagicIsWrongIsReportedAndRestoredOrDropped() {
        NamedRoots.of(arena).put("alpha", 1);
        v.putIntRelease(directory() + RootsLayout.MAGIC, 0x0BAD_F00D);
        assertThrows(ArenaCorruptedException.class, () -> NamedRoots.existing(arena));
        assertEquals(List.of("named-roots directory corrupted: bad magic: magic=0xbadf00d"), NamedRoots.check(arena));
        assertTrue(IpcCheck.heldPages(arena).get(directory() >>> 12), "its pages are kept by a repair");
        assertEquals(List.of("named-roots directory magic restored (its entries are sound): was 0xbadf00d"),
            NamedRoots.repair(arena, 1_000_000_000L));
        assertEquals(List.of(), NamedRoots.check(arena));
        assertEquals(1, NamedRoots.of(arena).get("alpha"));

        final int e = directory() + RootsLayout.entry(NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)));
        v.putIntRelease(e + RootsLayout.STATE, 9);
        v.putIntRelease(directory() + RootsLayout.MAGIC, 0x0BAD_F00D);
        assertTrue(IpcCheck.heldPages(arena).isEmpty(), "a directory not sound holds nothing");
        assertEquals(List.of(), repairThenCheck());
        assertEquals(0, NamedRoots.of(arena).get("alpha"), "a new, empty directory");
    }

    /**
     * Magic 0 is a directory installed (its pages allocated straight into the control page's word)
     * whose creator has not written the magic yet, or died first: readers use it, and the next
     * {@code of} or repair writes the magic. Nothing is dropped.
     */
    @Test
    void aDirectoryInstalledWithoutItsMagicGetsItFromTheNextUser() {
        NamedRoots.of(arena).put("alpha", 1);
        v.putIntRelease(directory() + RootsLayout.MAGIC, 0);
        assertEquals(1, NamedRoots.existing(arena).orElseThrow().get("alpha"));
        assertEquals(List.of(), NamedRoots.check(arena));
        assertEquals(1, NamedRoots.of(arena).get("alpha"));
        assertEquals(RootsLayout.MAGIC_VALUE, v.getIntAcquire(directory() + RootsLayout.MAGIC));
        v.putIntRelease(directory() + RootsLayout.MAGIC, 0);
        assertTrue(NamedRoots.repair(arena, 1_000_000_000L).get(0).contains("without its magic"));
        assertEquals(RootsLayout.MAGIC_VALUE, v.getIntAcquire(directory() + RootsLayout.MAGIC));
    }

    /**
     * A bit flipped in the free lock word can make it a process's owner token (thread 0): 0x40 is
     * the first attachment's (slot 0, generation 1). No lock holder has such a token (holders are
     * threads), and while that process lives the lock never looks dead: IpcFuzzTest's seed
     * 64293026345512 met it, every add and remove and the repair then timed out.
     */
    /** @return a page of ours, put under "alpha" */
    private int alphaOnAPage(final NamedRoots roots) {
        final int mine = arena.allocPages(1);
        roots.put("alpha", mine);
        return mine;
    }

    /** @return a creation record naming alpha's entry and {@code pages} */
    private static long alphaRecord(final long pages) {
        return ((long) NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)) + 1) << 32 | pages;
    }

    private void alphaKeptOnItsPage(final NamedRoots roots, final int mine) {
        assertEquals(mine, roots.get("alpha"));
        assertEquals(io.sharena.core.PageState.ALLOCATED, arena.pageState(arena.pageOf(mine)));
        assertEquals(List.of(), NamedRoots.check(arena));
    }

    /**
     * A creation record garbled to a page count that reaches past the arena, left with the lock
     * taken over from a dead holder: no creator's allocation is that long, so the record is a stray
     * write. The repair clears it, frees nothing and keeps the name; before, it kept the name too
     * but said "unfinished creation undone ... pages freed", which it had not done.
     */
    @Test
    void aCreationRecordNamingPagesPastTheArenaIsClearedAndFreesNothing() {
        final NamedRoots roots = NamedRoots.of(arena);
        final int mine = alphaOnAPage(roots);
        v.putLongRelease(directory() + RootsLayout.CREATING, alphaRecord(0x00FF_FFFFL));
        v.putLongRelease(directory() + RootsLayout.LOCK, io.sharena.core.internal.ArenaInternals.ownership(arena).process());
        final List<String> done = NamedRoots.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().anyMatch(d -> d.startsWith("creation record naming pages outside the arena cleared, nothing freed")),
            done.toString());
        assertTrue(done.stream().noneMatch(d -> d.contains("freed: ptr")), done.toString());
        alphaKeptOnItsPage(roots, mine);
    }

    /**
     * An undo record forged in the roots' creation word (one 8-byte stray write, found by a
     * corrupted-file campaign): UNDOING set, naming the entry of a made channel. Every next holder
     * of the roots' lock would have freed the channel's pages whole and dropped its name, saying
     * nothing. A structure is made (its magic written) only after its creation record is cleared or
     * marked FORMATTED, so such a record is a stray write: cleared, nothing freed.
     */
    @Test
    void anUndoRecordNamingAMadeStructureIsClearedAndFreesNothing() {
        Channel.create(arena, "alpha", 1, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("alpha");
        v.putLongRelease(directory() + RootsLayout.CREATING, alphaRecord(1) | RootsLayout.CREATING_UNDOING);
        // The roots' next lock holder settles the record, the repair too (whichever comes first).
        final List<String> done = NamedRoots.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().noneMatch(d -> d.contains("undone")), done.toString());
        assertEquals(0L, v.getLongAcquire(directory() + RootsLayout.CREATING), "the record cleared");
        assertEquals(header, NamedRoots.of(arena).get("alpha"));
        assertEquals(io.sharena.core.PageState.ALLOCATED, arena.pageState(arena.pageOf(header)));
        assertEquals(List.of(), IpcCheck.check(arena));
        Channel.open(arena, "alpha").consumer().close();
    }

    /**
     * A creation record forged to UNDOING over a user's own root (put, not create), its page count
     * reaching past the root's page: the next holder of the roots' lock took it for an undo a busy
     * allocator had held up, freed the root's page and the page after it (another owner's) and
     * dropped the name. With the lock taken free, an UNDOING mark is trusted only beside its check
     * word, which a held-up undo writes with it.
     */
    @Test
    void anUndoMarkOverAUsersOwnRootWithoutItsCheckFreesNothing() {
        final NamedRoots roots = NamedRoots.of(arena);
        final int mine = alphaOnAPage(roots);
        final int next = arena.allocPages(1);
        assertEquals(mine + 4096, next, "the page after alpha's is another owner's");
        v.putLongRelease(directory() + RootsLayout.CREATING, alphaRecord(2) | RootsLayout.CREATING_UNDOING);
        roots.put("beta", 5); // takes the lock
        assertEquals(0L, v.getLongAcquire(directory() + RootsLayout.CREATING), "the record cleared");
        assertEquals(io.sharena.core.PageState.ALLOCATED, arena.pageState(arena.pageOf(next)));
        alphaKeptOnItsPage(roots, mine);
    }

    /**
     * The roots pointer garbled onto another structure's pages whose first word is 0 (a bit flip
     * in the control page's word, found by a corrupted-file campaign): taken for a directory
     * "installed without its magic", the repair wrote the magic and tombstones over that
     * structure. Its "entries" are not a directory's: the pointer is refused as corrupted, and the
     * repair writes nothing there; it sets the pointer to the directory, found again.
     */
    @Test
    void aRootsPointerOntoAnotherStructuresPagesIsRefusedAndNothingIsWrittenThere() {
        NamedRoots.of(arena).put("alpha", 1);
        final int dir = directory();
        final int other = arena.allocPages(RootsLayout.PAGES);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            v.putLong(other + RootsLayout.entry(i) + RootsLayout.STATE, 0x0101_0101_0101_0101L); // its own data
        }
        final byte[] before = new byte[RootsLayout.PAGES * 4096];
        v.getBytes(other, before, 0, before.length);
        v.putIntRelease((int) ControlLayout.word(ControlLayout.ROOTS_PTR), other);
        assertThrows(ArenaCorruptedException.class, () -> NamedRoots.existing(arena));
        assertEquals(List.of("named-roots directory corrupted: no magic, and entries that are not a directory's (another"
            + " structure's pages?)", "named-roots directory no pointer leads to: page=" + (dir >>> 12) + ", pointer=0x"
            + Integer.toHexString(other)), NamedRoots.check(arena));
        assertTrue(IpcCheck.heldPages(arena).isEmpty(), "its pages are not held as the directory's");
        assertEquals(List.of("named-roots pointer damaged (0x" + Integer.toHexString(other) + "): set to the directory found"
            + " at page=" + (dir >>> 12)), NamedRoots.repair(arena, 1_000_000_000L));
        final byte[] after = new byte[before.length];
        v.getBytes(other, after, 0, after.length);
        assertArrayEquals(before, after, "nothing written into the other structure's pages");
        assertEquals(1, NamedRoots.of(arena).get("alpha"), "the directory found again");
    }

    /**
     * A creation record stray-written while nobody holds the roots' lock: no creator left it (a
     * creator clears its record before it unlocks), so its next user clears it and frees nothing.
     * The check says so; before, it said the next user would undo it, which would free what the
     * entry it names holds.
     */
    @Test
    void aCreationRecordWithTheLockFreeIsReportedAsAStrayWriteAndClearedWithNothingFreed() {
        final NamedRoots roots = NamedRoots.of(arena);
        final int mine = alphaOnAPage(roots);
        final long record = alphaRecord(1);
        v.putLongRelease(directory() + RootsLayout.CREATING, record);
        assertEquals(List.of("a creation record with no creator in flight (a stray write: its next user clears it, nothing"
            + " freed): record=0x" + Long.toHexString(record)), NamedRoots.check(arena));
        assertEquals(mine, roots.getFinished("alpha"), "a read-only tool does not take the stray record for a creation");
        assertEquals(List.of("creation record with no creator in flight cleared, nothing freed: record=0x"
            + Long.toHexString(record)), NamedRoots.repair(arena, 1_000_000_000L));
        alphaKeptOnItsPage(roots, mine);
    }

    @Test
    void aLockWordStrayWrittenToAProcessTokenIsTakenOverInsteadOfBlockingTheRootsForever() {
        final NamedRoots roots = NamedRoots.of(arena);
        roots.put("alpha", 1);
        v.putLongRelease(directory() + RootsLayout.LOCK, io.sharena.core.internal.ArenaInternals.ownership(arena).process());
        roots.put("beta", 2);
        assertEquals(2, roots.get("beta"));
        assertEquals(1, roots.remove("alpha"));
        // Taken over as a dead holder's lock is: the directory was repaired under it at once.
        assertEquals(List.of(), NamedRoots.check(arena));
        assertEquals(2, roots.get("beta"));
        // And a read-only check names the word before anyone clears it.
        v.putLongRelease(directory() + RootsLayout.LOCK, io.sharena.core.internal.ArenaInternals.ownership(arena).process());
        assertTrue(NamedRoots.check(arena).get(0).startsWith("named-roots lock word holds a process token"),
            NamedRoots.check(arena).toString());
        NamedRoots.repair(arena, 1_000_000_000L);
        assertEquals(List.of(), NamedRoots.check(arena));
    }

    /**
     * A directory page whose page-table entry a stray write made CACHED (the corrupted-file
     * campaign's case): the repair tools read from the roots which pages the directory holds before
     * the allocator's repair, which keeps them ALLOCATED; the directory and its roots survive.
     * Before, the page was freed and the directory dropped, every root lost.
     */
    @Test
    void aDirectoryPageTheTableCallsCachedIsKeptByTheToolsRepair() {
        NamedRoots.of(arena).put("alpha", 1);
        final int page = directory() >>> 12;
        v.putLong((int) PageEntry.stateOffset(page), PageEntry.state(PageEntry.CACHED, 0, 4, 0));
        assertTrue(NamedRoots.check(arena).contains("named-roots directory page not allocated: page=" + page
            + ", state=" + PageEntry.FREE), NamedRoots.check(arena).toString()); // a cached page reads as free
        final java.util.BitSet held = IpcCheck.heldPages(arena);
        assertEquals(java.util.stream.IntStream.range(page, page + RootsLayout.PAGES).boxed().toList(),
            held.stream().boxed().toList());
        assertTrue(io.sharena.core.internal.ArenaInternals.repair(arena, 1_000_000_000L, held));
        assertEquals(List.of("pages a structure holds were not allocated (a damaged page table): set ALLOCATED, their"
            + " contents kept: pages=1, first=" + page), io.sharena.core.internal.ArenaInternals.repairNotes(arena));
        assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L));
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(1, NamedRoots.of(arena).get("alpha"));
    }

    /**
     * A heap slab page, and the first and a middle page of a large object, whose page-table entries
     * a stray write turned FREE (and CACHED): the tools' repair keeps them allocated, every object
     * keeps its bytes, the heap checks clean, and none of their pages is handed out again. Before,
     * the repair linked them into the free lists and punched them out, so the next allocations
     * were given pages whose objects were still in use.
     */
    @Test
    void heapPagesTheTableCallsFreeAreKeptByTheToolsRepair() {
        final HeapDamage d = damageHeapPages();
        v.putLong((int) PageEntry.stateOffset(d.first + 1), PageEntry.state(PageEntry.CACHED, 0, 4, 0));
        final int meta = NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
        final java.util.BitSet held = IpcCheck.heldPages(arena);
        for (final int p : new int[] {meta >>> 12, d.slab, d.first, d.first + 1, d.first + 2, d.first + 3}) {
            assertTrue(held.get(p), "held: page " + p + " of " + held);
        }
        assertTrue(io.sharena.core.internal.ArenaInternals.repair(arena, 1_000_000_000L, held));
        assertHeldPagesKept();
        assertEquals(List.of(), IpcCheck.repair(arena, 1_000_000_000L));
        assertHeapIntactAndNotHandedOut(d);
    }

    /**
     * The same damage met by a repair that is not given the pages the structures hold: the next
     * opener's (a dead process's slot to reclaim, or the allocator marked), or a lock holder's. It
     * reads them itself, from the IPC module's {@code HeldPages} service. Found by a
     * corrupted-file campaign: the opener's repair ran before the tools read the structures, and
     * punched and handed out a large object's first page, the object lost, check saying ok.
     */
    @Test
    void heapPagesTheTableCallsFreeAreKeptByEveryRepair() throws Exception {
        final HeapDamage d = damageHeapPages();
        // The next opener repairs: the allocator is marked for it, as a lock taken over marks it.
        v.putLongRelease((int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.REPAIR_PENDING), 1L);
        final SharedArena previous = arena;
        arena = SharedArena.open(arena.path(), ArenaOptions.defaults()); // a second attachment: the opener repairs
        v = arena.raw();
        try {
            assertHeldPagesKept();
        } finally {
            previous.close();
        }
        assertHeapIntactAndNotHandedOut(d);
    }

    /**
     * The same damage met by the repair a closing attachment runs (the allocator marked, the
     * attachment the only one): it too reads the pages the structures hold, before its mapping goes.
     */
    @Test
    void heapPagesTheTableCallsFreeAreKeptByAClosingAttachmentsRepair() throws Exception {
        final HeapDamage d = damageHeapPages();
        v.putLongRelease((int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.REPAIR_PENDING), 1L);
        arena.close();
        arena = SharedArena.open(arena.path(), ArenaOptions.defaults());
        v = arena.raw();
        assertHeapIntactAndNotHandedOut(d);
    }

    /**
     * A stray write into the allocator's intent, naming the named-roots directory's page as a
     * FREE_FROM whose word no longer holds it (the destination word an earlier operation left):
     * the next repair rolled it forward and freed the directory's page, every root lost. Found by a
     * corrupted-file campaign (on a channel's header page). An intent's pages that a structure holds
     * stay allocated now.
     */
    @Test
    void aStrayIntentNamingAStructuresPageLeavesItAllocated() throws Exception {
        NamedRoots.of(arena).put("alpha", 1);
        final int page = directory() >>> 12;
        final int word = arena.allocPages(1); // a user word holding 0, as a cleared one does
        v.putLong((int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.INTENT_DEST),
            Integer.toUnsignedLong(word));
        v.putLong((int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.INTENT),
            io.sharena.core.layout.Intent.encode(io.sharena.core.layout.Intent.FREE_FROM, page, 1));
        v.putLongRelease((int) io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.REPAIR_PENDING), 1L);
        final SharedArena previous = arena;
        arena = SharedArena.open(arena.path(), ArenaOptions.defaults()); // a second attachment: the opener repairs
        v = arena.raw();
        try {
            assertTrue(io.sharena.core.internal.ArenaInternals.repairNotes(arena).stream()
                    .anyMatch(n -> n.startsWith("an intent naming pages a structure holds left them allocated")),
                io.sharena.core.internal.ArenaInternals.repairNotes(arena).toString());
        } finally {
            previous.close();
        }
        assertEquals(PageEntry.ALLOCATED, Pages.state(arena, page));
        assertEquals(1, NamedRoots.of(arena).get("alpha"));
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * The control page's roots pointer zeroed, or moved into the directory, onto the arena's last
     * page or past the arena: check names the directory no pointer leads to, {@code NamedRoots.of}
     * refuses to make a second directory beside it, and the repair points the word at it again,
     * every root kept. Found by a corrupted-file campaign: a zeroed pointer lost every root without
     * a word (a new directory and heap were made, the old ones leaked), a moved one had the repair
     * drop the directory.
     */
    @Test
    void aRootsPointerZeroedOrMovedIsFoundAgainWithEveryRoot() {
        NamedRoots.of(arena).put("alpha", 1);
        NamedRoots.of(arena).put("beta", 2);
        final int dir = directory();
        final int word = (int) ControlLayout.word(ControlLayout.ROOTS_PTR);
        for (final int bad : new int[] {0, dir + 8, (int) ((arena.capacityPages() - 1) * 4096), dir ^ 0x4000_0000}) {
            v.putIntRelease(word, bad);
            final List<String> found = NamedRoots.check(arena);
            // Where a pointer leads (outside, into the directory, onto free pages) is named too.
            assertTrue(found.contains("named-roots directory no pointer leads to: page=" + (dir >>> 12) + ", pointer=0x"
                + Integer.toHexString(bad)), found.toString());
            assertEquals(bad == 0, found.size() == 1, found.toString());
            if (bad == 0) {
                assertThrows(ArenaCorruptedException.class, () -> NamedRoots.of(arena));
            }
            final List<String> done = NamedRoots.repair(arena, 1_000_000_000L);
            assertTrue(done.get(0).startsWith("named-roots pointer ") && done.get(0).endsWith("set to the directory found"
                + " at page=" + (dir >>> 12)), done.toString());
            assertEquals(dir, directory());
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(1, NamedRoots.of(arena).get("alpha"));
            assertEquals(2, NamedRoots.of(arena).get("beta"));
        }
    }

    /**
     * The heap's root removed, zeroed or garbled by a stray write: check names the metadata page no
     * root leads to, {@code ObjectHeap.of} refuses to make a second heap beside it, and the repair
     * sets the root to it again, every object kept. Found by a corrupted-file campaign: a heap root
     * entry made EMPTY or REMOVED, or its value 0, had a new heap made and the old one leaked.
     */
    @Test
    void aHeapRootLostOrGarbledIsFoundAgainWithItsObjects() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int obj = heap.allocate(64);
        v.putLong(obj, 0x0BADCAFEL);
        final int meta = heapMeta();
        final NamedRoots roots = NamedRoots.of(arena);
        for (final int garbled : new int[] {-1, 0, meta + 8}) {
            if (garbled < 0) {
                roots.remove(ObjectHeap.ROOT_NAME);
                assertThrows(ArenaCorruptedException.class, () -> ObjectHeap.of(arena));
            } else {
                roots.put(ObjectHeap.ROOT_NAME, garbled);
            }
            assertEquals(List.of("heap metadata no root leads to: page=" + (meta >>> 12) + ", root=0x"
                + Integer.toHexString(Math.max(garbled, 0))), ObjectHeap.check(arena));
            final List<String> done = ObjectHeap.repair(arena);
            assertTrue(done.get(0).startsWith("heap root ") && done.get(0).endsWith("set to the metadata found at page="
                + (meta >>> 12)), done.toString());
            assertEquals(meta, roots.get(ObjectHeap.ROOT_NAME));
            assertEquals(List.of(), ObjectHeap.check(arena));
            assertEquals(0x0BADCAFEL, v.getLong(obj));
        }
        ObjectHeap.of(arena).free(obj);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /** A heap slab page's object and a 3-page large object, written, and both pages' entries a stray write turned FREE. */
    private record HeapDamage(int small, int large, int slab, int first) {
    }

    private HeapDamage damageHeapPages() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int small = heap.allocate(64);
        final int large = heap.allocate(3 * 4096);
        v.putLong(small, 0x1122334455667788L);
        v.putLong(large + 3 * 4096 - 8, 0x0102030405060708L);
        final HeapDamage d = new HeapDamage(small, large, small >>> 12, large >>> 12);
        v.putLong((int) PageEntry.stateOffset(d.slab), PageEntry.state(PageEntry.FREE, 0, 0, 0));
        v.putLong((int) PageEntry.stateOffset(d.first), PageEntry.state(PageEntry.FREE, 0, 0, 0));
        return d;
    }

    private void assertHeldPagesKept() {
        assertTrue(io.sharena.core.internal.ArenaInternals.repairNotes(arena).stream()
                .anyMatch(n -> n.startsWith("pages a structure holds were not allocated")),
            io.sharena.core.internal.ArenaInternals.repairNotes(arena).toString());
    }

    /** Both objects keep their bytes, the heap checks clean, no page of theirs is handed out, and both free. */
    private void assertHeapIntactAndNotHandedOut(final HeapDamage d) {
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(0x1122334455667788L, v.getLong(d.small));
        assertEquals(0x0102030405060708L, v.getLong(d.large + 3 * 4096 - 8));
        final Set<Integer> heaps = new HashSet<>(List.of(d.slab, d.first, d.first + 1, d.first + 2, d.first + 3));
        for (int page = arena.allocPages(1); page != 0; page = arena.allocPages(1)) {
            assertFalse(heaps.contains(page >>> 12), "a page of the heap's handed out again: " + (page >>> 12));
        }
        final ObjectHeap heap = ObjectHeap.of(arena);
        heap.free(d.small);
        heap.free(d.large);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * A stray write into a slab page's metadata pointer: the page's objects could not be freed
     * ("not an object of this heap") and check called the file clean. Its key, which only the
     * arena's processes know, still names the heap: check reports the page, the repair restores the
     * pointer, and its objects free as before.
     */
    @Test
    void aSlabPageWhoseMetadataPointerWasHitIsReportedAndMended() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int obj = heap.allocate(64);
        v.putLong(obj, 77);
        final int page = obj & ~4095;
        v.putInt(page + HeapLayout.HEAP, 0x1234_5000);
        assertTrue(IpcCheck.check(arena).stream().anyMatch(l -> l.startsWith("heap page's identity damaged: page="
            + (page >>> 12) + ", slab page: its key is the heap's")), IpcCheck.check(arena).toString());
        assertThrows(IllegalArgumentException.class, () -> heap.free(obj));
        assertTrue(IpcCheck.repair(arena, 1_000_000_000L).stream()
            .anyMatch(l -> l.contains("metadata pointer restored (its key is the heap's): page=" + (page >>> 12))));
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(77, v.getLong(obj));
        heap.free(obj);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * A stray write into a slab page's key, and another into its page-table entry (CACHED): the
     * tools' repair freed the page, and the heap's next allocations were handed its live objects'
     * memory. Its metadata pointer still names the heap, so the page is held (kept allocated); without
     * the key it may be another owner's bytes, which the heap neither takes nor writes: its objects are
     * lost to the heap, never handed out again. (Every object of the page is in use here: a page the
     * heap's own free stack leads into is the heap's, and gets its key back, as
     * {@code HeapIdentityDamageTest} shows.)
     */
    @Test
    void aSlabPageWhoseKeyAndEntryWereHitIsNeverHandedOutAgain() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int obj = heap.allocate(64);
        v.putLong(obj, 78);
        final int page = obj & ~4095;
        for (int i = 1; i < HeapLayout.objectsPerSlab(5); i++) {
            assertEquals(page, heap.allocate(64) & ~4095, "the page's every object in use");
        }
        v.putLong(page + HeapLayout.KEY, 0x0BAD_0BAD_0BAD_0BADL);
        v.putLong((int) PageEntry.stateOffset(page >>> 12), PageEntry.state(PageEntry.CACHED, 0, 4, 0));
        // The entry's damage is seen (the key's is not: with no free object of the page on a stack,
        // nothing but the key says whose the page is).
        assertFalse(io.sharena.core.check.ArenaChecker.check(arena).isEmpty(), "the damage is seen");
        final java.util.BitSet held = IpcCheck.heldPages(arena);
        assertTrue(held.get(page >>> 12), "held");
        assertTrue(io.sharena.core.internal.ArenaInternals.repair(arena, 1_000_000_000L, held));
        IpcCheck.repair(arena, 1_000_000_000L);
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(78, v.getLong(obj), "its bytes untouched");
        assertEquals(HeapLayout.MAGIC_SLAB, v.getInt(page), "nothing written into it");
        for (int p = arena.allocPages(1); p != 0; p = arena.allocPages(1)) {
            assertFalse(p == page, "the page handed out again");
        }
        for (int i = 0; i < 200; i++) {
            final int o = heap.allocate(64);
            assertFalse(o != 0 && (o & ~4095) == page, "an object of the page handed out again");
        }
    }

    /**
     * A stray bit in a slab bitmap past its last object (or a garbled object count): the repair
     * dropped the whole page from the heap, and none of its live objects could be freed. What the
     * rest of the header says it must be is written back instead.
     */
    @Test
    void aSlabHeaderWhoseBitmapOrCountWasHitIsMendedNotDropped() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int obj = heap.allocate(64); // 62 objects a page: bits 62 and 63 of word 0 name none
        final int page = obj & ~4095;
        v.putLong(page + HeapLayout.BITMAP, v.getLong(page + HeapLayout.BITMAP) | 1L << 63);
        v.putInt(page + HeapLayout.OBJECTS, 999);
        assertFalse(IpcCheck.check(arena).isEmpty());
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().anyMatch(l -> l.startsWith("heap slab page header mended (object count from its class,"
            + " in-use bits past the last object cleared in word 0)")), done.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
        heap.free(obj);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * A heap page whose entry a stray write made PENDING in the repairing process's own slot: the
     * repair left it "to a live process" (itself), exit 1 every time, and once that slot's process
     * was gone the next opener freed the page with its live objects. It is kept allocated now.
     */
    @Test
    void aHeldPagePendingInTheRepairersOwnSlotIsKept() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int obj = heap.allocate(64);
        final int page = obj >>> 12;
        final int own = io.sharena.core.internal.ArenaInternals.slot(arena);
        v.putLong((int) PageEntry.stateOffset(page), PageEntry.state(PageEntry.PENDING, 0, own, 0));
        final java.util.BitSet held = IpcCheck.heldPages(arena);
        assertTrue(held.get(page));
        assertTrue(io.sharena.core.internal.ArenaInternals.repair(arena, 1_000_000_000L, held),
            io.sharena.core.internal.ArenaInternals.repairNotes(arena).toString());
        assertEquals(PageEntry.ALLOCATED, Pages.state(arena, page));
        assertEquals(List.of(), IpcCheck.check(arena));
        heap.free(obj);
    }

    /**
     * A page that was the heap's and was given back (a trim retires it first), now free: the heap's
     * held pages do not take it back, so the repair does not keep a free page allocated for good.
     */
    @Test
    void aSlabPageTheHeapGaveBackIsNotHeld() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int[] objects = new int[4];
        for (int i = 0; i < objects.length; i++) {
            objects[i] = heap.allocate(2048); // one object a page
        }
        for (final int obj : objects) {
            heap.free(obj); // the second page emptied trims the class: all pages but one go back
        }
        final List<Integer> givenBack = new ArrayList<>();
        for (final int obj : objects) {
            if (arena.pageState(obj >>> 12) == io.sharena.core.PageState.FREE) {
                givenBack.add(obj >>> 12);
            }
        }
        assertFalse(givenBack.isEmpty(), "the trim gave pages back");
        for (final int page : givenBack) {
            assertEquals(HeapLayout.MAGIC_RETIRED, v.getInt(page << 12), "given back retired");
            assertFalse(IpcCheck.heldPages(arena).get(page), "a slab page given back is not held: " + page);
        }
        final int large = heap.allocate(2 * 4096);
        heap.free(large);
        assertFalse(IpcCheck.heldPages(arena).get(large >>> 12), "a freed large object's page is not held");
        assertTrue(io.sharena.core.internal.ArenaInternals.repair(arena, 1_000_000_000L, IpcCheck.heldPages(arena)));
        assertEquals(List.of(), io.sharena.core.internal.ArenaInternals.repairNotes(arena));
    }

    /**
     * The other reading of a directory page the page table calls free: a stray free through the
     * API, its pages handed out again since. The roots' own repair (what a user's repair runs) drops
     * the directory and leaves the new owner its pages. The tools' repair, which keeps what the roots
     * hold, cannot tell this case from a damaged entry; it frees nothing either (docs/crash-safety.md).
     */
    @Test
    void aDirectoryPageFreedAndHandedOutAgainIsNeverFreedFromItsNewOwnerByTheRepair() {
        NamedRoots.of(arena).put("alpha", 1);
        final int d = directory();
        // A stray free of the directory's last four pages; three of them are handed out again.
        arena.freePages(d + 4096, RootsLayout.PAGES - 1);
        final int taken = arena.allocPagesAt(d + 2 * 4096, RootsLayout.PAGES - 2);
        assertEquals(d + 2 * 4096, taken);
        assertFalse(NamedRoots.check(arena).isEmpty());
        assertEquals(List.of(), repairThenCheck());
        for (int p = 0; p < RootsLayout.PAGES - 2; p++) {
            assertEquals(io.sharena.core.layout.PageEntry.ALLOCATED,
                Pages.state(arena, Integer.toUnsignedLong(taken) / 4096 + p), "its new owner's page " + p + " stays allocated");
        }
        assertEquals(0, NamedRoots.of(arena).get("alpha"), "a new, empty directory");
    }

    /**
     * The roots word garbled to name pages that are not allocated (free, and so anyone's to be
     * handed): attaching refuses the directory as corrupted. Before, the first user wrote the
     * directory's magic into the free page, and its first add threw a raw IllegalArgumentException
     * from the lock ("lock word not in an ALLOCATED page").
     */
    @Test
    void aDirectoryPointerNamingFreePagesIsRefusedAndNothingIsWrittenThere() {
        NamedRoots.of(arena).put("alpha", 1);
        final int free = (int) ((arena.capacityPages() - RootsLayout.PAGES - 1) * 4096);
        assertEquals(io.sharena.core.PageState.FREE, arena.pageState(arena.pageOf(free)));
        v.putIntRelease((int) ControlLayout.word(ControlLayout.ROOTS_PTR), free);
        final ArenaCorruptedException e = assertThrows(ArenaCorruptedException.class, () -> NamedRoots.of(arena).put("beta", 2));
        assertTrue(e.getMessage().contains("directory page not allocated"), e.getMessage());
        assertThrows(ArenaCorruptedException.class, () -> NamedRoots.existing(arena));
        assertEquals(0, v.getInt(free + RootsLayout.MAGIC), "nothing written into the free page");
        assertFalse(NamedRoots.check(arena).isEmpty());
        assertEquals(List.of(), repairThenCheck());
        NamedRoots.of(arena).put("beta", 2);
        assertEquals(2, NamedRoots.of(arena).get("beta"));
    }

    @Test
    void aReadOnlyToolChecksWithoutWritingAndTheRepairFromAWritableOneConverges() throws IOException {
        final NamedRoots roots = NamedRoots.of(arena);
        roots.put("alpha", 100);
        final ObjectHeap heap = ObjectHeap.of(arena);
        heap.free(heap.allocate(16));
        final int e = directory() + RootsLayout.entry(NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)));
        v.putInt(e + RootsLayout.NAME_LEN, -3);
        v.putLongRelease(heapMeta() + 1 * HeapLayout.CLASS_STRIDE, 12345);
        try (SharedArena tool = SharedArena.open(dir.resolve("x.arena"), ArenaOptions.defaults().withReadOnly(true))) {
            final List<String> found = IpcCheck.check(tool);
            assertTrue(found.contains("root name length out of range: entry="
                + NamedRoots.hash("alpha".getBytes(StandardCharsets.UTF_8)) + ", length=-3"), found.toString());
            assertTrue(found.stream().anyMatch(s -> s.startsWith("heap free stack entry not an object of its class: class=1")),
                found.toString());
        }
        assertFalse(IpcCheck.repair(arena, 1_000_000_000L).isEmpty());
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    // ------------------------------------------------------------------ heap

    private int heapMeta() {
        return NamedRoots.of(arena).get(ObjectHeap.ROOT_NAME);
    }

    @Test
    void aFreeStackHeadOutsideTheArenaThrowsAndIsRepaired() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        heap.free(heap.allocate(16));
        v.putLongRelease(heapMeta() + 1 * HeapLayout.CLASS_STRIDE, 0xFFFF_FFF0L);
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(16));
        assertEquals("heap free stack", x.structure());
        assertEquals(0xFFFF_FFF0L, x.value());
        assertFalse(heap.check().isEmpty());
        assertEquals(List.of(), repairThenCheck());
        assertDistinct(heap, 16, 600);
    }

    @Test
    void aFreeStackLinkToTheControlPageThrowsAndIsRepaired() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(16);
        heap.free(a);
        v.putInt(a, 4096); // the link of the stack's top object
        assertEquals(a, heap.allocate(16), "the top object itself is sound");
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(16),
            "the bad link is caught before anything reads through it");
        assertEquals(4096, x.value());
        heap.free(a);
        assertEquals(List.of(), repairThenCheck());
        assertDistinct(heap, 16, 600);
    }

    /**
     * Two writes (a hostile-file campaign): a free object's link pointed at a live object, and that
     * object's in-use bit cleared. An allocation handed the live object out, and the repair, taking
     * whatever a stack reaches for free, put it on the rebuilt stack: check clean, the object handed
     * out again while its owner held it. Every free and push writes the freed mark, so an object a
     * stack reaches without it is in use: the pop refuses it, check names it, the repair keeps it
     * in use.
     */
    @Test
    void aFreeStackLinkToALiveObjectWhoseBitWasClearedNeverHandsItOut() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int live = heap.allocate(8);
        v.putLong(live, 0x1234_5678_9ABC_DEF0L);
        final int a = heap.allocate(8);
        heap.free(a);
        v.putInt(a, live); // the top free object's link
        final int page = live & ~4095;
        final int index = HeapLayout.index(live - page - HeapLayout.SLAB_HEADER, v.getInt(page + HeapLayout.CLASS));
        v.getAndBitwiseAndLong(page + HeapLayout.bitmapWord(index), ~HeapLayout.bit(index));
        assertEquals(a, heap.allocate(8), "the top object itself is sound");
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(8));
        assertEquals("heap object on the free stack without its freed mark", x.structure());
        assertEquals(Integer.toUnsignedLong(live), x.value());
        heap.free(a);
        v.putInt(a, live);
        assertTrue(heap.check().stream().anyMatch(s -> s.startsWith("heap free stack entry without a free object's mark")),
            heap.check().toString());
        assertEquals(List.of(), repairThenCheck());
        final Set<Integer> out = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            final int p = heap.allocate(8);
            assertTrue(p != 0 && p != live && out.add(p), "the live object or another handed out twice: " + p);
        }
        assertEquals(0x1234_5678_9ABC_DEF0L, v.getLong(live), "its owner's bytes untouched");
        out.forEach(heap::free);
        assertEquals(List.of(), heap.check());
    }

    @Test
    void aCyclicFreeStackNeverHandsAnObjectOutTwice() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(16);
        final int b = heap.allocate(16);
        heap.free(b);
        heap.free(a);
        v.putInt(b, a); // a -> b -> a -> ...
        assertTimeoutPreemptively(LIMIT, () -> {
            final Set<Integer> out = new HashSet<>();
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> {
                for (int i = 0; i < 10; i++) {
                    assertTrue(out.add(heap.allocate(16)), "handed out twice");
                }
            });
            // a, handed out (its freed mark zeroed with it), comes round again: its mark is gone.
            assertEquals("heap object on the free stack without its freed mark", x.structure());
            assertTrue(heap.check().stream().anyMatch(s -> s.startsWith("heap marked for repair")));
        });
        for (final int p : List.of(a, b)) {
            heap.free(p);
        }
        assertEquals(List.of(), repairThenCheck());
        assertDistinct(heap, 16, 600);
    }

    /**
     * A slab page a trim gave back keeps its header, page key included, while its storage stays
     * committed (a dirty FREE page). Two stray writes, its magic back to SLAB and a free stack's head
     * naming its first object, made allocate hand out that object: bytes of a FREE page, which the
     * page allocator then hands out again to someone else.
     */
    @Test
    void aFreeStackHeadIntoASlabPageGivenBackIsRefusedNotHandedOut() throws IOException {
        final ArenaOptions dirtyKept = ArenaOptions.defaults().withPurgeDelayNanos(3_600_000_000_000L).withDirtyLimitPages(4096);
        try (SharedArena a = SharedArena.create(dir.resolve("dirty.arena"), Capacity.parse("16M"), dirtyKept)) {
            final ArenaView w = a.raw();
            final ObjectHeap heap = ObjectHeap.of(a);
            final List<Integer> objects = new ArrayList<>();
            for (int i = 0; i < 2 * HeapLayout.objectsPerSlab(1); i++) {
                objects.add(heap.allocate(16));
            }
            objects.forEach(heap::free); // the second page of class 1 to empty trims the class: one page given back
            final int given = objects.stream().map(p -> p & ~4095).distinct()
                .filter(p -> Pages.state(a, Integer.toUnsignedLong(p) / 4096) == PageEntry.FREE).findFirst().orElseThrow();
            assertEquals(HeapLayout.MAGIC_RETIRED, w.getInt(given + HeapLayout.MAGIC), "the page given back keeps its header");
            w.putInt(given + HeapLayout.MAGIC, HeapLayout.MAGIC_SLAB);
            final int headWord = NamedRoots.of(a).get(ObjectHeap.ROOT_NAME) + HeapLayout.CLASS_STRIDE + HeapLayout.FREE_HEAD;
            final int obj = given + HeapLayout.SLAB_HEADER;
            w.putLongRelease(headWord, (w.getLong(headWord) & 0xFFFF_FFFF_0000_0000L) + (1L << 32) | obj);
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> heap.allocate(16),
                "an object of a page that is not allocated is never handed out");
            assertEquals(obj, x.value());
            assertEquals(PageEntry.FREE, Pages.state(a, given / 4096));
            assertFalse(ObjectHeap.repair(a).isEmpty());
            assertEquals(List.of(), ObjectHeap.check(a));
            assertDistinct(heap, 16, 600);
        }
    }

    /** A bad class, the object count whole: the count names one class only, and the repair writes it back. */
    @Test
    void aSlabHeaderWithABadClassThrowsOnFreeAndTheRepairMendsItFromTheObjectCount() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(16);
        v.putInt((a & ~4095) + HeapLayout.CLASS, 99);
        final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, () -> heap.free(a));
        assertEquals("heap slab page class", x.structure());
        final List<String> done = ObjectHeap.repair(arena);
        assertTrue(done.stream().anyMatch(s -> s.startsWith("heap slab page header mended (class from its object count)")),
            done.toString());
        assertEquals(List.of(), ObjectHeap.check(arena));
        heap.free(a);
        assertDistinct(heap, 16, 600);
    }

    /** A bad class and an object count two classes share: nothing tells the class, and the page is dropped, left allocated. */
    @Test
    void aSlabHeaderWhoseClassNothingTellsIsDroppedFromTheHeap() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(16);
        v.putInt((a & ~4095) + HeapLayout.CLASS, 99);
        v.putInt((a & ~4095) + HeapLayout.OBJECTS, 3); // 1,024- and 1,280-byte pages hold 3 each
        final List<String> done = ObjectHeap.repair(arena);
        assertTrue(done.stream().anyMatch(s -> s.startsWith("heap slab page dropped")), done.toString());
        assertEquals(List.of(), ObjectHeap.check(arena));
        assertDistinct(heap, 16, 600);
    }

    @Test
    void aLargeObjectWithAHugePageCountThrowsOnFree() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(10_000);
        v.putInt((a & ~4095) + HeapLayout.PAGES, 1 << 30);
        assertThrows(ArenaCorruptedException.class, () -> heap.usableSize(a));
        assertThrows(ArenaCorruptedException.class, () -> heap.free(a));
        assertEquals(List.of(), repairThenCheck());
    }

    /**
     * One stray write into a live large object's page count, still inside the arena: its free gave
     * back the pages after it too, another object's, which the page allocator handed out again.
     */
    @Test
    void aLargeObjectsPageCountGrownByAStrayWriteFreesNoPageAfterIt() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final int a = heap.allocate(10_000);
        final int b = heap.allocate(10_000);
        final int pageA = a & ~4095;
        assertEquals(pageA + 3 * 4096, b & ~4095, "b's pages follow a's");
        v.putInt(pageA + HeapLayout.PAGES, 6);
        assertThrows(ArenaCorruptedException.class, () -> heap.usableSize(a));
        assertThrows(ArenaCorruptedException.class, () -> heap.free(a));
        assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(b) / 4096), "b's first page still allocated");
        assertEquals(List.of(), repairThenCheck());
        assertEquals(3 * 4096 - HeapLayout.LARGE_HEADER, heap.usableSize(b));
        heap.free(b);
        assertEquals(List.of(), heap.check());
    }

    /**
     * One stray write of another structure's page into a free refill slot of the heap: the next
     * refill of the class took the slot, found no slab page of its class there, took it for the
     * unformatted page of a refill that died and gave it back to the page allocator, which handed it
     * out again (to that very refill) while its owner used it.
     */
    @Test
    void aRefillSlotNamingAnotherStructuresPageFreesNothing() {
        final ObjectHeap heap = ObjectHeap.of(arena);
        heap.allocate(16);
        final int other = arena.allocPages(1);
        v.putLong(other + 8, 0x5EED_5EEDL);
        v.putIntRelease(heapMeta() + 2 * HeapLayout.CLASS_STRIDE + HeapLayout.REFILL_FIRST + HeapLayout.REFILL_PAGE, other);
        assertThrows(ArenaCorruptedException.class, () -> heap.allocate(24), "class 2's first refill takes the slot");
        assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(other) / 4096), "the other structure's page still allocated");
        assertEquals(0x5EED_5EEDL, v.getLong(other + 8), "and untouched");
        assertEquals(List.of(), repairThenCheck());
        assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(other) / 4096));
        assertDistinct(heap, 24, 600);
        assertEquals(0x5EED_5EEDL, v.getLong(other + 8));
    }

    @Test
    void aHeapRootNamingNoHeapIsReportedAndRepaired() {
        ObjectHeap.of(arena).allocate(16);
        final int meta = heapMeta();
        v.putIntRelease(meta + HeapLayout.META_MAGIC, 0x12345678);
        assertThrows(ArenaCorruptedException.class, () -> ObjectHeap.of(arena));
        assertEquals(List.of("heap metadata corrupted: bad magic: magic=0x12345678"), ObjectHeap.check(arena));
        assertEquals(List.of(), repairThenCheck());
        assertDistinct(ObjectHeap.of(arena), 16, 600);
        NamedRoots.of(arena).put(ObjectHeap.ROOT_NAME, (int) arena.capacityBytes() + 4096);
        assertThrows(ArenaCorruptedException.class, () -> ObjectHeap.of(arena));
        assertEquals(List.of(), repairThenCheck());
    }

    /**
     * A heap root garbled into the pointer of another structure's page (the roots directory, another
     * root's structure): that page has no heap magic, and the repair used to "format it anew" as
     * heap metadata, zeroing the roots directory's header (then every root was read as another
     * structure's garbage) or the other structure. It is not the heap's: the page is left to its
     * owner, and the root set to the heap's metadata page, found again (or, with none to find, the
     * root dropped: {@link #aHeapRootLostOrGarbledIsFoundAgainWithItsObjects}).
     */
    @Test
    void aHeapRootNamingAnotherStructuresPageNeverHasThatPageFormattedAsTheHeap() {
        ObjectHeap.of(arena).allocate(16);
        final int meta = heapMeta();
        final NamedRoots roots = NamedRoots.of(arena);
        final int other = arena.allocPages(1);
        v.putLong(other + 8, 0x5EED_5EEDL);
        roots.put("other", other);
        for (final int garbled : new int[] {directory(), other}) {
            roots.put(ObjectHeap.ROOT_NAME, garbled);
            final long header = v.getLong(directory() + RootsLayout.MAGIC);
            final List<String> done = ObjectHeap.repair(arena);
            assertEquals("heap root damaged (0x" + Integer.toHexString(garbled) + "): set to the metadata found at page="
                + (meta >>> 12), done.get(0), done.toString());
            assertEquals(meta, roots.get(ObjectHeap.ROOT_NAME));
            assertEquals(header, v.getLong(directory() + RootsLayout.MAGIC), "the directory's header untouched");
            assertEquals(0x5EED_5EEDL, v.getLong(other + 8), "the other structure untouched");
            assertEquals(other, roots.get("other"));
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(List.of(), ObjectHeap.check(arena));
            assertDistinct(ObjectHeap.of(arena), 16, 600);
        }
    }

    private static void assertDistinct(final ObjectHeap heap, final int size, final int n) {
        final Set<Integer> out = new HashSet<>();
        for (int i = 0; i < n; i++) {
            final int p = heap.allocate(size);
            assertTrue(p != 0 && out.add(p), "object handed out twice or none: " + p);
        }
        out.forEach(heap::free);
        assertEquals(List.of(), heap.check());
    }

    // ------------------------------------------------------------------ channels

    /** @return the payloads of every message waiting in channel {@code name}, in order */
    private List<Integer> waiting(final String name) {
        final List<Integer> got = new ArrayList<>();
        try (ChannelConsumer c = Channel.open(arena, name).consumer()) {
            c.poll((view, type, ptr, length) -> got.add(type), 100);
        }
        return got;
    }

    /** Makes channel {@code name} with messages of types 0 to {@code n - 1} waiting; @return its header */
    private int channelWith(final String name, final int n) {
        final Channel channel = Channel.create(arena, name, 2, 1 << 14, 64);
        try (ChannelProducer p = channel.producer()) {
            for (int i = 0; i < n; i++) {
                assertTrue(p.offer(i, new byte[20], 0, 20));
            }
        }
        return NamedRoots.of(arena).get(name);
    }

    /**
     * A lane's HEAD moved by a stray write, by less than the lag TAIL may have behind what is
     * published (a corrupted-file campaign): forward past TAIL into the free space the consumer
     * skipped every waiting message, back behind the message it last handled it delivered them
     * again, not as redeliveries, and `check` was clean in both.
     */
    @Test
    void aChannelHeadMovedByAStrayWriteIsNamedByTheCheck() {
        final Channel channel = Channel.create(arena, "c", 1, 1 << 14, 2000);
        final int lane = ChannelLayout.lane(NamedRoots.of(arena).get("c"), 0);
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            for (int i = 0; i < 6; i++) {
                assertTrue(p.offer(i, new byte[20], 0, 20)); // 32 bytes a record
            }
            assertEquals(3, c.poll((view, type, ptr, length) -> { }, 3));
        }
        assertEquals(List.of(), IpcCheck.check(arena));
        final long head = v.getLongAcquire(lane + ChannelLayout.HEAD);
        assertEquals(96, head);
        v.putLongRelease(lane + ChannelLayout.HEAD, 1024);
        assertEquals(List.of("channel c: lane head past what is published from TAIL (moved over messages, or into the free"
            + " space): head=1024, tail=192, published to=192: lane=0"), IpcCheck.check(arena));
        v.putLongRelease(lane + ChannelLayout.HEAD, 0);
        assertEquals(List.of("channel c: lane head behind the message last handled (moved back: those messages would be"
            + " delivered again): head=0, last handled at 64: lane=0"), IpcCheck.check(arena));
        v.putLongRelease(lane + ChannelLayout.HEAD, head);
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(List.of(3, 4, 5), waiting("c"));
    }

    /**
     * A channel's root entry whose state a stray write set to WRITING, or to a state no entry has:
     * the repair cleared it as a killed insert's, the channel and its messages lost, its pages
     * allocated to no one, `check` clean after (found by a corrupted-file campaign). Its pointer
     * leads to a made channel no other root leads to: the root is restored, the messages read.
     */
    @Test
    void aChannelsRootEntryInWritingOrAnUnknownStateIsRestored() {
        channelWith("ch1", 5);
        channelWith("ch2", 3);
        NamedRoots.of(arena).put("user", 4096 * 3); // a user's own root: no structure there
        for (final int hit : new int[] {RootsLayout.WRITING, 7}) {
            try (ChannelProducer p = Channel.open(arena, "ch1").producer()) {
                assertTrue(p.offer(hit, new byte[20], 0, 20));
            }
            final int e = directory() + RootsLayout.entry(NamedRoots.hash("ch1".getBytes(StandardCharsets.UTF_8)));
            v.putIntRelease(e + RootsLayout.STATE, hit);
            assertFalse(IpcCheck.check(arena).isEmpty(), "the check names the entry");
            final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(d -> d.startsWith("root restored") && d.contains("name=ch1")), done.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
            assertEquals(hit == RootsLayout.WRITING ? List.of(0, 1, 2, 3, 4, hit) : List.of(hit), waiting("ch1"));
            channelWith("ch1-" + hit, 0); // the arena goes on
        }
        final int e = directory() + RootsLayout.entry(NamedRoots.hash("user".getBytes(StandardCharsets.UTF_8)));
        v.putIntRelease(e + RootsLayout.STATE, RootsLayout.WRITING);
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertTrue(done.stream().anyMatch(d -> d.startsWith("half-written root entry cleared") && d.contains("name=user")),
            "a user's root whose pointer is in no allocated page (a metadata page here) is cleared, and the repair"
                + " names it: " + done);
        assertEquals(List.of(0, 1, 2), waiting("ch2"));
        // A user's root at pages of its own (allocated, no structure there) is restored.
        final int own = arena.allocPages(1);
        NamedRoots.of(arena).put("mine", own);
        final int m = directory() + RootsLayout.entry(NamedRoots.hash("mine".getBytes(StandardCharsets.UTF_8)));
        v.putIntRelease(m + RootsLayout.STATE, RootsLayout.WRITING);
        final List<String> again = IpcCheck.repair(arena, 1_000_000_000L);
        assertTrue(again.stream().anyMatch(d -> d.startsWith("root restored") && d.contains("pointer at a page that no other root leads to")
            && d.contains("name=mine")), again.toString());
        assertEquals(own, NamedRoots.of(arena).get("mine"));
        assertEquals(List.of(), IpcCheck.check(arena));
        // Not when a second write also moved its pointer into a channel's pages, or onto another
        // root's pointer (a campaign restored both: a name into a ring, two names for one page).
        final int ring = (int) Holders.of(arena).stream().filter(h -> h.name().equals("channel ch2")).findFirst()
            .orElseThrow().pages().nextSetBit(0) * 4096 + 4096;
        for (final int hit : new int[] {ring, own}) {
            NamedRoots.of(arena).put("hit", arena.allocPages(1));
            final int h = directory() + RootsLayout.entry(NamedRoots.hash("hit".getBytes(StandardCharsets.UTF_8)));
            v.putLong(h + RootsLayout.VALUE, RootsLayout.bumped(v.getLong(h + RootsLayout.VALUE), hit));
            v.putIntRelease(h + RootsLayout.STATE, RootsLayout.WRITING);
            final List<String> cleared = IpcCheck.repair(arena, 1_000_000_000L);
            assertTrue(cleared.stream().anyMatch(d -> d.startsWith("half-written root entry cleared") && d.contains("name=hit")),
                cleared.toString());
            assertEquals(List.of(), IpcCheck.check(arena));
        }
    }

    /**
     * A lock-free put that finds a name {@code removeAndFree} has just emptied (its pages freed, the
     * name not yet removed) sets it and returns: acknowledged. The removal then took the name and
     * dropped the put's pointer. Now the put's pointer goes back under the name.
     */
    @Test
    void aPutBetweenRemoveAndFreesFreeAndItsRemovalKeepsItsPointer() {
        final NamedRoots roots = NamedRoots.of(arena);
        final int pages = arena.allocPages(2);
        final int other = arena.allocPages(1);
        roots.put("r", pages);
        final int[] before = {-1};
        io.sharena.core.crash.CrashPoints.install(p -> {
            if (p == RootsPoint.REMOVE_CLEARED && before[0] == -1) {
                before[0] = roots.put("r", other); // another thread's put, run here at the step's edge
            }
        });
        try {
            assertTrue(roots.removeAndFree("r", pages, 2));
        } finally {
            io.sharena.core.crash.CrashPoints.install(null);
        }
        assertEquals(0, before[0], "the put found the name naming nothing");
        assertEquals(other, roots.get("r"), "the acknowledged put's pointer is under the name");
        assertEquals(List.of(), NamedRoots.check(arena));
    }

    /**
     * The same put, and the removal killed right after its entry went WRITING: it took the name
     * away (a tombstone) and put the put's pointer back in a second step, so a kill between the two
     * lost the acknowledged put. Now the name is never cleared while a put's pointer is there, and
     * the repair restores the entry (its pointer in an allocated page).
     */
    @Test
    void aPutBetweenRemoveAndFreesFreeAndItsRemovalKilledKeepsItsPointer() {
        final NamedRoots roots = NamedRoots.of(arena);
        final int other = arena.allocPages(1); // the put's: pages of its own, no structure
        final int pages = arena.allocPages(2);
        roots.put("r", pages);
        final int[] before = {-1};
        io.sharena.core.crash.CrashPoints.install(p -> {
            if (p == RootsPoint.REMOVE_CLEARED && before[0] == -1) {
                before[0] = roots.put("r", other);
            } else if (p == RootsPoint.REMOVE_WRITING) {
                throw new IllegalStateException("killed at " + p);
            }
        });
        try {
            assertThrows(IllegalStateException.class, () -> roots.removeAndFree("r", pages, 2));
        } finally {
            io.sharena.core.crash.CrashPoints.install(null);
        }
        assertEquals(0, before[0], "the put found the name naming nothing");
        assertFalse(NamedRoots.check(arena).isEmpty(), "the killed removal's entry is found");
        NamedRoots.repair(arena, 1_000_000_000L);
        assertEquals(other, roots.get("r"), "the acknowledged put's pointer is under the name");
        assertEquals(List.of(), NamedRoots.check(arena));
        assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena));
    }

    /**
     * A remove killed after its REMOVED state and before its bump leaves the entry's pointer; an
     * insert of another name into that entry killed with its name written then read as a live root
     * whose state a stray write hit, its pointer at a structure no root led to: the repair named the
     * removed channel with the new name. The insert now clears the old pointer before the name.
     */
    @Test
    void anInsertKilledOverAKilledRemovesPointerDoesNotNameTheOldStructure() {
        channelWith("x", 2);
        final int e = directory() + RootsLayout.entry(NamedRoots.hash("x".getBytes(StandardCharsets.UTF_8)));
        v.putIntVolatile(e + RootsLayout.STATE, RootsLayout.REMOVED); // a remove killed at REMOVE_CLEARED:
        v.putIntVolatile(e + RootsLayout.NAME_LEN, 0);                 // state and length done, pointer kept
        String name = null;
        for (int i = 0; name == null; i++) {
            if (NamedRoots.hash(("n" + i).getBytes(StandardCharsets.UTF_8)) == NamedRoots.hash("x".getBytes(StandardCharsets.UTF_8))) {
                name = "n" + i;
            }
        }
        final String inserted = name;
        io.sharena.core.crash.CrashPoints.install(p -> {
            if (p == RootsPoint.INSERT_NAMED) {
                throw new IllegalStateException("killed at " + p);
            }
        });
        try {
            assertThrows(IllegalStateException.class, () -> NamedRoots.of(arena).put(inserted, 4096 * 7));
        } finally {
            io.sharena.core.crash.CrashPoints.install(null);
        }
        assertEquals(RootsLayout.WRITING, v.getIntAcquire(e + RootsLayout.STATE), "the insert stopped in its entry");
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        assertEquals(0, NamedRoots.of(arena).get(inserted), "the unacknowledged name names nothing: " + done);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    /**
     * A byte of a channel's root name hit so that it reads as another root's name: the repair drops
     * one of the two, and the channel the dropped one led to was lost with its pages, `check` clean
     * after. Now the check names a channel no root leads to, and the repair names it again.
     */
    @Test
    void aChannelWhoseRootWasLostIsFoundAndNamedAgain() {
        final int header = channelWith("ch1", 4);
        channelWith("ch2", 2);
        final int e = directory() + RootsLayout.entry(NamedRoots.hash("ch1".getBytes(StandardCharsets.UTF_8)));
        v.putByte(e + RootsLayout.NAME + 2, (byte) '2'); // "ch1" reads "ch2"
        final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
        final String name = "lost-channel-0x" + Integer.toHexString(header);
        assertTrue(done.stream().anyMatch(d -> d.startsWith("channel " + name + ": a channel that no named root led to")),
            done.toString());
        assertEquals(List.of(), IpcCheck.check(arena));
        assertEquals(header, NamedRoots.of(arena).get(name));
        assertEquals(List.of(0, 1, 2, 3), waiting(name));
        assertEquals(List.of(0, 1), waiting("ch2"), "the name a lookup finds kept its channel");
    }


    /**
     * The channels are checked too (the corrupted-file campaign found {@code check} calling a damaged
     * channel clean: it did not look at channels): its header, a lane's positions, a record's length
     * word past HEAD, a header whose magic alone was hit; each is named, and a sound channel is clean.
     */
    @Test
    void aDamagedChannelIsNamedByTheCheck() {
        final Channel channel = Channel.create(arena, "c", 2, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("c");
        final int lane = ChannelLayout.lane(header, 0);
        try (ChannelProducer p = channel.producer(); ChannelConsumer c = channel.consumer()) {
            for (int i = 0; i < 10; i++) {
                assertTrue(p.offer(1, new byte[20], 0, 20));
            }
            assertEquals(4, c.poll((view, type, ptr, length) -> { }, 4));
        }
        assertEquals(List.of(), IpcCheck.check(arena));
        final int ring = v.getInt(lane + ChannelLayout.RING);
        final long head = v.getLongAcquire(lane + ChannelLayout.HEAD);
        final int word = ring + (int) head + ChannelLayout.LENGTH;
        final int stamp = v.getInt(word);
        v.putInt(word, 1 << 20);
        assertEquals(List.of("channel c: record length out of range: position=" + head + ", length word=" + (1 << 20)
            + ": lane=0"), IpcCheck.check(arena));
        v.putInt(word, stamp);
        v.putLongRelease(lane + ChannelLayout.HEAD, head + 4);
        assertEquals(List.of("channel c: lane positions out of range: lane=0, tail=" + v.getLongAcquire(lane
            + ChannelLayout.TAIL) + ", head=" + (head + 4) + ", cleared=0, ringBytes=16384"), IpcCheck.check(arena));
        v.putLongRelease(lane + ChannelLayout.HEAD, head);
        v.putIntRelease(header + ChannelLayout.MAGIC, 0x2525);
        assertEquals(List.of("channel c: header magic damaged (the rest of its header is a channel's): magic=0x2525"),
            IpcCheck.check(arena));
        v.putIntRelease(header + ChannelLayout.MAGIC, ChannelLayout.MAGIC_VALUE);
        v.putInt(header + ChannelLayout.LANES, 0);
        assertEquals(1, IpcCheck.check(arena).size());
        assertTrue(IpcCheck.check(arena).get(0).startsWith("channel c: arena metadata corrupted: channel lane count"),
            IpcCheck.check(arena).toString());
        v.putInt(header + ChannelLayout.LANES, 2);
        assertEquals(List.of(), IpcCheck.check(arena));
    }

    @Test
    void aChannelTailBeyondTheRingIsRefusedByTheProducerAttachingAndLeavesTheLaneFree() {
        final Channel channel = Channel.create(arena, "c", 1, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("c");
        final int lane = ChannelLayout.lane(header, 0);
        try (ChannelConsumer c = channel.consumer()) {
            v.putLongRelease(lane + ChannelLayout.TAIL, 1L << 40);
            // The consumer waits on the records' own words: TAIL is only where a producer attaching starts.
            assertEquals(0, c.poll((view, type, ptr, length) -> { }, 16));
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class, channel::producer);
            assertEquals("channel lane tail", x.structure());
            assertEquals(0L, v.getLongAcquire(lane + ChannelLayout.OWNER), "the lane given up again");
        }
    }

    @Test
    void aChannelHeadOrClearedOutOfRangeIsRefusedByTheConsumerAttaching() {
        final Channel channel = Channel.create(arena, "c", 1, 1 << 14, 64);
        final int lane = ChannelLayout.lane(NamedRoots.of(arena).get("c"), 0);
        for (final long[] headCleared : new long[][] {{1L << 40, 0}, {8, 16}, {4, 0}, {(1 << 14) + 8, 0}}) {
            v.putLongRelease(lane + ChannelLayout.HEAD, headCleared[0]);
            v.putLongRelease(lane + ChannelLayout.CLEARED, headCleared[1]);
            assertEquals("channel lane head", assertThrows(ArenaCorruptedException.class, channel::consumer).structure(),
                java.util.Arrays.toString(headCleared));
            assertEquals(0L, v.getLongAcquire(NamedRoots.of(arena).get("c") + ChannelLayout.CONSUMER), "the place given up again");
        }
    }

    @Test
    void aPaddingAtTheStartOfTheRingThrowsInsteadOfSkippingARing() {
        final Channel channel = Channel.create(arena, "c", 1, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("c");
        try (ChannelConsumer c = channel.consumer()) {
            v.putIntRelease(v.getInt(ChannelLayout.lane(header, 0) + ChannelLayout.RING) + ChannelLayout.LENGTH,
                ChannelLayout.PADDING);
            assertEquals("channel record length", assertThrows(ArenaCorruptedException.class,
                () -> c.poll((view, type, ptr, length) -> { }, 16)).structure());
        }
    }

    @Test
    void aRecordLengthOutOfRangeThrows() {
        final Channel channel = Channel.create(arena, "c", 1, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("c");
        try (ChannelConsumer c = channel.consumer(); ChannelProducer p = channel.producer()) {
            p.offer(1, new byte[8], 0, 8);
            final int ring = v.getInt(ChannelLayout.lane(header, 0) + ChannelLayout.RING);
            v.putInt(ring + ChannelLayout.LENGTH, 1 << 29);
            final ArenaCorruptedException x = assertThrows(ArenaCorruptedException.class,
                () -> c.poll((view, type, ptr, length) -> { }, 16));
            assertEquals("channel record length", x.structure());
            v.putInt(ring + ChannelLayout.LENGTH, -7);
            assertThrows(ArenaCorruptedException.class, () -> c.poll((view, type, ptr, length) -> { }, 16));
        }
    }

    @Test
    void aChannelHeaderWithBadFieldsIsRefusedWhenOpened() {
        Channel.create(arena, "c", 2, 1 << 14, 64);
        final int header = NamedRoots.of(arena).get("c");
        v.putInt(ChannelLayout.lane(header, 1) + ChannelLayout.RING, (int) arena.capacityBytes() - 4096);
        assertEquals("channel ring pointer",
            assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c")).structure());
        v.putInt(header + ChannelLayout.LANES, 1000);
        assertEquals("channel lane count",
            assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c")).structure());
        NamedRoots.of(arena).put("c", -4096);
        assertThrows(ArenaCorruptedException.class, () -> Channel.open(arena, "c"));
    }
}
