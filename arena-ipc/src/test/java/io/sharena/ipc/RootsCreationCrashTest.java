package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structures created under a name ({@link NamedRoots#create}: a store's region, the heap's metadata
 * page, a channel's header) are allocated straight into the name's entry and formatted under the
 * roots' lock. A creator killed at any step, in the roots or inside the allocation, leaves nothing
 * for good: the next user of the roots undoes an unfinished creation (its pages freed from the entry,
 * the name dropped), and the structure is then made anew. Counted page by page: after it, exactly the
 * new structure's pages are allocated beyond what the arena had before.
 */
class RootsCreationCrashTest {
    static final StoreOptions OPTIONS = StoreOptions.defaults().withMemoryLimit(1L << 20).withMaxItemSize(1 << 16);

    @TempDir
    Path dir;

    @AfterEach
    void uninstall() {
        if (CrashPoints.ENABLED) {
            CrashPoints.install(null);
        }
    }

    /** A fresh arena with its roots directory, closed; @return its allocated pages */
    private static long freshArenaWithRoots(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("32M"), ArenaOptions.defaults())) {
            NamedRoots.of(arena);
            return ChannelCreationCrashTest.allocatedPages(arena);
        }
    }

    private static void killedAt(final String point, final String... args) throws Exception {
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point,
            "-Dsharena.crashpoint.action=kill"), args)) {
            final int exit = child.waitFor(120);
            assertTrue(child.output().contains("crashpoint: " + point + " kill"), "the child reached " + point
                + " and was killed there; exit=" + exit + ", output: " + child.output());
            assertEquals(128 + 9, exit, "SIGKILL");
        }
    }

    private static byte[] bytes(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Makes the store itself, uses it, and requires exactly its region allocated beyond {@code before}. */
    private static void storeMadeAnewWithNothingLeaked(final SharedArena arena, final long before, final String point)
        throws Exception {
        try (SharedStore store = SharedStore.of(arena, "s", OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(bytes("k"), bytes("v2"), 0, 0));
            assertEquals("v2", new String(store.get(bytes("k")), StandardCharsets.UTF_8));
        }
        final int region = NamedRoots.of(arena).get("s");
        final int regionPages = arena.raw().getInt(region + StoreLayout.REGION_PAGES);
        assertEquals(before + regionPages, ChannelCreationCrashTest.allocatedPages(arena),
            point + ": the store's region and nothing else beyond what the arena had");
        assertEquals(List.of(), NamedRoots.check(arena), point);
        assertEquals(List.of(), ArenaChecker.check(arena), point);
    }

    /**
     * A store's creator killed at every step of the creation: while adding the name, before its
     * allocation, inside it (intent written, pages committed and committed ahead, carved but not in
     * the root, in the root with the allocator's intent up, intent cleared: all undone), and after
     * formatting, with the creation marked formatted but not cleared (kept: the next opener uses
     * that store).
     */
    @ParameterizedTest
    @ValueSource(strings = {"RootsPoint.INSERT_CLAIMED", "RootsPoint.INSERT_NAMED", "RootsPoint.INSERT_VALUED",
        "RootsPoint.CREATE_RECORDED", "AllocPoint.TAKE_INTENT_WRITTEN", "AllocPoint.TAKE_COMMITTED",
        "AllocPoint.TAKE_AHEAD_COMMITTED", "AllocPoint.TAKE_CARVED", "AllocPoint.TAKE_PUBLISHED",
        "AllocPoint.TAKE_INTENT_CLEARED", "RootsPoint.CREATE_FORMATTED"})
    void aStoreCreatorKilledAnywhereLeavesNothing(final String point) throws Exception {
        final Path file = dir.resolve("s.arena");
        final long before = freshArenaWithRoots(file);
        killedAt(point, "store", file.toString(), "s");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final List<String> found = NamedRoots.check(arena);
            assertFalse(found.isEmpty(), point + ": check names the dead creator's lock");
            storeMadeAnewWithNothingLeaked(arena, before, point);
        }
    }

    /** The process that undoes a dead creator's store is killed in turn: in the roots, or inside the free. */
    @ParameterizedTest
    @ValueSource(strings = {"RootsPoint.CREATE_UNDONE", "AllocPoint.FREE_FROM_WORD_CLEARED", "AllocPoint.FREE_RUN_STATED"})
    void anUndoerKilledHalfwayLeavesTheRestToTheNext(final String point) throws Exception {
        final Path file = dir.resolve("u.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s"); // in the root, not formatted
        killedAt(point, "rootsrepair", file.toString());
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            storeMadeAnewWithNothingLeaked(arena, before, point);
        }
    }

    /**
     * The undo of a dead creator's store held up by the allocator's lock (held meanwhile by another
     * thread, as a stopped process would hold it): the undoer leaves the creation marked UNDOING,
     * with its check word, and the roots' lock free. The next holder of the roots' lock, the
     * allocator free again, finishes it: nothing leaked, and the store is made anew.
     */
    @Test
    void anUndoHeldUpByTheAllocatorsLockIsFinishedByTheNextHolder() throws Exception {
        final Path file = dir.resolve("held.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s"); // in the root, not formatted
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final int directory = arena.raw().getIntAcquire((int) io.sharena.core.layout.ControlLayout.word(
                io.sharena.core.layout.ControlLayout.ROOTS_PTR));
            try (AllocatorLockHolder ignored = new AllocatorLockHolder(arena)) {
                NamedRoots.repair(arena, 5_000_000_000L);
            }
            final long record = arena.raw().getLongAcquire(directory + RootsLayout.CREATING);
            assertTrue((record & RootsLayout.CREATING_UNDOING) != 0, "left marked: 0x" + Long.toHexString(record));
            assertEquals(~record, arena.raw().getLongAcquire(directory + RootsLayout.UNDO_CHECK), "with its check");
            NamedRoots.of(arena).put("other", 7); // the next holder of the roots' lock
            assertEquals(0L, arena.raw().getLongAcquire(directory + RootsLayout.CREATING), "the undo finished");
            NamedRoots.of(arena).remove("other");
            storeMadeAnewWithNothingLeaked(arena, before, "held up");
        }
    }

    /**
     * The undoer of a dead creator's store paused at {@link RootsPoint#CREATE_UNDONE} (the
     * creation's pages freed, the name not yet dropped, the roots' lock held) while another thread
     * and another process run the roots, heap and channel workout on the same arena: they wait for
     * the lock within its bound and go on. The undoer then finishes, the arena checks clean, and
     * the store is made anew under its name.
     */
    @Test
    void anUndoerPausedHalfwayHoldsNoOneUpForGood() throws Exception {
        final Path file = dir.resolve("p.arena");
        freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s"); // in the root, not formatted
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final Throwable[] paused = new Throwable[1];
            final Throwable[] other = new Throwable[1];
            final List<String> undone = new java.util.concurrent.CopyOnWriteArrayList<>();
            final Thread a;
            final Thread b;
            try (PointPause pause = new PointPause(RootsPoint.CREATE_UNDONE)) {
                a = PointPause.start(() -> undone.addAll(NamedRoots.repair(arena, 5_000_000_000L)), paused);
                assertTrue(pause.awaitReached(), "the undoer reached " + RootsPoint.CREATE_UNDONE.id());
                b = new Thread(() -> {
                    try {
                        Workout.run(arena, "b", false);
                    } catch (final Throwable e) {
                        other[0] = e;
                    }
                }, "other");
                b.start();
                try (ChildJvm c = IpcChild.start("workout", file.toString(), "c", "norepair")) {
                    // The others may need the roots' lock the undoer holds: 3 s, then it goes on either way.
                    b.join(3_000);
                    pause.release();
                    a.join(60_000);
                    b.join(60_000);
                    assertEquals(0, c.waitFor(120), "the other process's workout: " + c.output());
                    assertTrue(c.output().contains("workout done"), c.output().toString());
                }
            }
            assertTrue(!a.isAlive() && !b.isAlive(), "both ended");
            assertTrue(paused[0] == null, () -> "the undoer failed: " + paused[0]);
            assertTrue(other[0] == null, () -> "the other workout failed: " + other[0]);
            assertTrue(undone.stream().anyMatch(l -> l.startsWith("unfinished creation undone (its creator died)")),
                "the creation undone: " + undone);
            assertEquals(List.of(), IpcCrashPointTest.check(arena), "after the undo and the workouts");
            try (SharedStore store = SharedStore.of(arena, "s", OPTIONS)) {
                assertEquals(StoreResult.STORED, store.set(bytes("k"), bytes("v2"), 0, 0));
                assertEquals("v2", new String(store.get(bytes("k")), StandardCharsets.UTF_8));
            }
            assertEquals(List.of(), IpcCrashPointTest.check(arena), "after the store was made anew");
        }
    }

    /**
     * A store file whose creator was killed inside the allocation of its region (the roots
     * directory is the file's first allocation into a word, the region its second): the file is an
     * arena without a store. {@code openOrCreate} undoes the creation and makes the store in place;
     * before, the next server refused the file ("no store in the arena") and the region was lost.
     */
    @ParameterizedTest
    @ValueSource(strings = {"AllocPoint.TAKE_PUBLISHED", "RootsPoint.CREATE_RECORDED"})
    void aStoreFileWhoseCreatorDiedGetsItsStoreMadeInPlace(final String point) throws Exception {
        final Path file = dir.resolve("f.store");
        try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + point,
            "-Dsharena.crashpoint.skip=" + (point.startsWith("AllocPoint") ? 1 : 0), "-Dsharena.crashpoint.action=kill"),
            "storefile", file.toString())) {
            assertEquals(128 + 9, child.waitFor(120), "killed: " + child.output());
        }
        try (SharedStore store = SharedStore.openOrCreate(file, OPTIONS)) {
            assertEquals(StoreResult.STORED, store.set(bytes("k"), bytes("v"), 0, 0));
            final SharedArena arena = store.arena();
            final int region = NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT);
            final long expected = RootsLayoutPages.DIRECTORY + arena.raw().getInt(region + StoreLayout.REGION_PAGES);
            assertEquals(expected, ChannelCreationCrashTest.allocatedPages(arena), "the directory and one region");
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }

    /**
     * A value changed without the lock while a dead creator's creation is still recorded: the change
     * waits for the undo (which frees whatever the entry holds), so the pointer it writes is never
     * freed by the undo that follows, and the half-made region it replaced is.
     */
    @Test
    void aValueChangedUnderADeadCreatorsRecordWaitsForTheUndo() throws Exception {
        final Path file = dir.resolve("v.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s");
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            final int halfMade = roots.get("s");
            assertNotEquals(0, halfMade, "the region is in the root, unformatted");
            final int mine = arena.allocPages(1);
            assertFalse(roots.compareAndSet("s", halfMade, mine), "the undo dropped the name first");
            assertEquals(0, roots.get("s"));
            assertEquals(0, roots.put("s", mine), "then it is added anew");
            assertEquals(mine, roots.get("s"));
            assertEquals(before + 1, ChannelCreationCrashTest.allocatedPages(arena), "the half-made region freed, ours kept");
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }

    /** Pauses {@code who} at crash point {@code point} ({@code paused} counted down) until {@code resume}. */
    private static void pauseAt(final String point, final AtomicReference<Thread> who, final CountDownLatch paused,
                                final CountDownLatch resume) {
        CrashPoints.install(p -> {
            if (point.equals(p.id()) && Thread.currentThread() == who.get()) {
                paused.countDown();
                try {
                    resume.await(30, TimeUnit.SECONDS);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
    }

    /** Pages of the named-roots directory. */
    private static final class RootsLayoutPages {
        static final int DIRECTORY = io.sharena.ipc.layout.RootsLayout.PAGES;
    }

    /** The heap's metadata page: its creator killed inside its format, before the creation was marked formatted. */
    @Test
    void aHeapCreatorKilledBeforeTheCreationWasFinishedLeavesNothing() throws Exception {
        final Path file = dir.resolve("h.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("HeapPoint.META_ALLOCATED", "heapof", file.toString());
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ObjectHeap heap = ObjectHeap.of(arena);
            assertEquals(before + 1, ChannelCreationCrashTest.allocatedPages(arena), "the new metadata page only");
            assertNotEquals(0, heap.allocate(8));
            assertEquals(List.of(), NamedRoots.check(arena));
        }
    }

    /**
     * The check on a file whose creator was killed after its structure was formatted says the
     * repair keeps it, and before that, that it undoes it: the two leave different files.
     */
    @ParameterizedTest
    @ValueSource(strings = {"RootsPoint.CREATE_FORMATTED", "AllocPoint.TAKE_INTENT_CLEARED"})
    void theCheckSaysWhetherTheNextUserKeepsOrUndoesADeadCreatorsCreation(final String point) throws Exception {
        final Path file = dir.resolve("m.arena");
        freshArenaWithRoots(file);
        killedAt(point, "store", file.toString(), "s");
        try (SharedArena ro = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            final String want = point.equals("RootsPoint.CREATE_FORMATTED")
                ? "a creation under the roots left unfinished after its structure was formatted (its next user keeps it)"
                : "a creation under the roots left unfinished (its next user undoes it)";
            final List<String> found = NamedRoots.check(ro);
            assertTrue(found.stream().anyMatch(v -> v.startsWith(want + ": record=0x")), found.toString());
        }
    }

    /**
     * Read-only tools on a file whose heap creator was killed with the metadata page in the heap's
     * root and not yet formatted: the heap does not exist yet (the next user of the roots undoes the
     * creation), so {@code ObjectHeap.existing} finds none and the check names the unfinished
     * creation only. Before, {@code existing} threw "heap metadata corrupted: bad magic" and
     * {@code arena check} reported the heap corrupted.
     */
    @Test
    void readOnlyToolsSeeNoHeapWhileItsDeadCreatorsCreationIsUnfinished() throws Exception {
        final Path file = dir.resolve("r.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "heapof", file.toString());
        try (SharedArena ro = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            final NamedRoots roots = NamedRoots.existing(ro).orElseThrow();
            assertNotEquals(0, roots.get(ObjectHeap.ROOT_NAME), "the page is in the root, unformatted");
            assertEquals(0, roots.getFinished(ObjectHeap.ROOT_NAME), "not a finished structure");
            assertTrue(ObjectHeap.existing(ro).isEmpty(), "no heap yet");
            assertEquals(List.of(), ObjectHeap.check(ro), "nothing wrong with a heap that does not exist yet");
            final List<String> found = IpcCheck.check(ro);
            assertTrue(found.stream().anyMatch(v -> v.startsWith("a creation under the roots left unfinished")), found.toString());
            assertTrue(found.stream().noneMatch(v -> v.contains("heap")), found.toString());
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertNotEquals(0, ObjectHeap.of(arena).allocate(8));
            assertEquals(before + 2, ChannelCreationCrashTest.allocatedPages(arena), "the new metadata page and one slab");
            assertEquals(List.of(), IpcCheck.check(arena));
        }
    }

    /**
     * The same while the heap's creator is alive and paused with the page in the root: a tool
     * reading the file meanwhile sees no heap and no violation, and the heap once it is finished.
     */
    @Test
    void readOnlyToolsSeeNoHeapWhileItsCreatorIsPaused() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CrashPoints.ENABLED, "crash points are off in this JVM");
        final Path file = dir.resolve("q.arena");
        freshArenaWithRoots(file);
        try (SharedArena a = SharedArena.open(file, ArenaOptions.defaults());
             SharedArena ro = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final AtomicReference<Thread> creator = new AtomicReference<>();
            pauseAt("AllocPoint.TAKE_INTENT_CLEARED", creator, paused, resume);
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread t = Thread.ofPlatform().unstarted(() -> {
                try {
                    ObjectHeap.of(a);
                } catch (final Throwable e) {
                    failure.set(e);
                }
            });
            creator.set(t);
            t.start();
            try {
                assertTrue(paused.await(30, TimeUnit.SECONDS), "the creator reached the point");
                assertNotEquals(0, NamedRoots.existing(ro).orElseThrow().get(ObjectHeap.ROOT_NAME), "in the root already");
                assertTrue(ObjectHeap.existing(ro).isEmpty(), "no heap while it is being created");
                assertEquals(List.of(), IpcCheck.check(ro), "nothing wrong while a live creator is at work");
            } finally {
                resume.countDown();
                t.join(30_000);
            }
            assertEquals(null, failure.get());
            assertTrue(ObjectHeap.existing(ro).isPresent(), "the finished heap");
            assertEquals(List.of(), IpcCheck.check(ro));
        }
    }

    /**
     * A creator paused after formatting, its creation not yet finished: another attachment that
     * wants the same store waits for it (it holds the roots' lock) and then gets that very store,
     * never a second one, and never the half-made one before it is whole.
     */
    @Test
    void aSecondOpenerWaitsForAPausedCreatorAndSharesItsStore() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CrashPoints.ENABLED, "crash points are off in this JVM");
        final Path file = dir.resolve("p.arena");
        final long before = freshArenaWithRoots(file);
        try (SharedArena a = SharedArena.open(file, ArenaOptions.defaults());
             SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final AtomicReference<Thread> creator = new AtomicReference<>();
            pauseAt("RootsPoint.CREATE_FORMATTED", creator, paused, resume);
            final AtomicReference<Object> made = new AtomicReference<>();
            final Thread t = Thread.ofPlatform().unstarted(() -> {
                try (SharedStore s = SharedStore.of(a, "s", OPTIONS)) {
                    made.set(s.set(bytes("k"), bytes("from a"), 0, 0));
                } catch (final Throwable e) {
                    made.set(e);
                }
            });
            creator.set(t);
            t.start();
            assertTrue(paused.await(30, TimeUnit.SECONDS), "the creator reached the point");
            final int region = NamedRoots.of(b).get("s");
            assertNotEquals(0, region, "the region is in the root already");
            final AtomicReference<Object> second = new AtomicReference<>();
            final Thread other = Thread.ofPlatform().start(() -> {
                try (SharedStore s = SharedStore.of(b, "s", OPTIONS)) {
                    second.set(s.get(bytes("k")) == null ? "miss" : "hit");
                } catch (final Throwable e) {
                    second.set(e);
                }
            });
            other.join(300);
            assertTrue(other.isAlive(), "the second opener waits while the creator is paused: " + second.get());
            resume.countDown();
            t.join(30_000);
            other.join(30_000);
            assertEquals(StoreResult.STORED, made.get());
            assertTrue("miss".equals(second.get()) || "hit".equals(second.get()), String.valueOf(second.get()));
            assertEquals(region, NamedRoots.of(b).get("s"), "one store, the creator's");
            final int regionPages = b.raw().getInt(region + StoreLayout.REGION_PAGES);
            assertEquals(before + regionPages, ChannelCreationCrashTest.allocatedPages(b), "one region allocated");
            assertEquals(List.of(), NamedRoots.check(b));
        }
    }

    /**
     * A put on a name that had passed its check for a creation in flight just before a creator began
     * (paused after finding the entry), resumed after the creator was killed with the structure in
     * the entry and not formatted: it must not land under the dead creation. Before, it replaced the
     * creation's pointer with its own, and the undo then freed the put's pointer from the entry, with
     * the creation's page count: pages this process holds, and beyond.
     */
    @Test
    void aPutResumedAfterACreatorDiedInTheNameNeverHasItsPagesFreedByTheUndo() throws Exception {
        final Path file = dir.resolve("p.arena");
        freshArenaWithRoots(file);
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            roots.put("s", 0); // the name exists, holding nothing: the store is created in its entry
            final int mine = arena.allocPages(1);
            final int[] next = new int[8];
            for (int i = 0; i < next.length; i++) {
                next[i] = arena.allocPages(1);
            }
            final Throwable[] failure = new Throwable[1];
            final int[] old = {-1};
            try (PointPause pause = new PointPause(RootsPoint.FOUND)) {
                final Thread t = PointPause.start(() -> old[0] = roots.put("s", mine), failure);
                assertTrue(pause.awaitReached());
                killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s");
                pause.release();
                t.join(30_000);
            }
            assertEquals(null, failure[0]);
            roots.awaitCreation(); // the dead creation undone (if not already)
            assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(mine) / 4096),
                "the put's page, old=" + old[0] + ", name holds " + roots.get("s"));
            for (final int p : next) {
                assertEquals(PageEntry.ALLOCATED, Pages.state(arena, Integer.toUnsignedLong(p) / 4096),
                    "a page this process holds, after the put's: " + p + ", old=" + old[0]);
            }
            assertEquals(mine, roots.get("s"), "the put landed once the dead creation was undone");
            assertEquals(0, old[0], "the name held nothing when the put landed");
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }

    /**
     * A dead creator's creation whose undo is held up by a busy allocator (another thread holds its
     * lock longer than the undo retries): a reader of the name must never get the structure, which
     * is unformatted and about to be freed; it gets an exception (or 0), in bounded time.
     */
    @Test
    void getCreatedWhileADeadCreatorsUndoIsHeldUpNeverReturnsTheUnformattedStructure() throws Exception {
        final Path file = dir.resolve("b.arena");
        freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s"); // in the root, not formatted
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            final int region = roots.get("s");
            assertTrue(region != 0, "the dead creator's region is in the name");
            final AllocatorLockHolder holder = AllocatorLockHolder.hold(arena, 6_000);
            int got;
            final long start = System.nanoTime();
            try {
                got = roots.getCreated("s");
            } catch (final IllegalStateException busy) {
                got = 0;
            }
            final long tookMillis = (System.nanoTime() - start) / 1_000_000;
            holder.release();
            assertEquals(0, got, "getCreated returned the dead creator's unformatted region (being undone) after "
                + tookMillis + " ms; region=" + region);
            assertTrue(tookMillis < 5_000, "getCreated waited for the busy allocator for as long as it was busy: "
                + tookMillis + " ms");
            assertEquals(0, roots.getCreated("s"), "undone once the allocator is free");
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }

    /**
     * A repair of the directory after a dead creator, whose undo the busy allocator holds up, must not
     * move or drop the creation's entry: the undo, finished later from the record, finds its pointer
     * there. Here the entry is unreachable (a stray write emptied the entry before it on its probe):
     * before, the repair moved the name and its unformatted structure to another entry, and the later
     * undo found nothing in the recorded one; the name kept the half-made structure for good.
     */
    @Test
    void aRepairWhileADeadCreatorsUndoIsHeldUpNeverMovesTheCreationsEntry() throws Exception {
        final Path file = dir.resolve("m.arena");
        final long before;
        final String other = NamedRootsRaceTest.collidingWith("s");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("32M"), ArenaOptions.defaults())) {
            NamedRoots.of(arena).put(other, 0); // takes the entry where a lookup of "s" starts
            before = ChannelCreationCrashTest.allocatedPages(arena);
        }
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s"); // in the root, not formatted
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            assertTrue(roots.get("s") != 0, "the dead creator's region is in the name");
            final int directory = io.sharena.core.internal.ArenaInternals.rootsDirectory(arena);
            final int start = directory + io.sharena.ipc.layout.RootsLayout.entry(NamedRoots.hash(bytes("s")));
            arena.raw().putIntVolatile(start + io.sharena.ipc.layout.RootsLayout.STATE, io.sharena.ipc.layout.RootsLayout.EMPTY);
            final AllocatorLockHolder holder = AllocatorLockHolder.hold(arena, 6_000);
            final List<String> repaired = roots.repair(10_000_000_000L);
            holder.release();
            int got;
            try {
                got = roots.getCreated("s");
            } catch (final IllegalStateException busy) {
                got = roots.getCreated("s");
            }
            assertEquals(0, got, "the dead creator's unformatted region is still under the name after "
                + repaired);
            assertEquals(before, ChannelCreationCrashTest.allocatedPages(arena), "its pages were given back");
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }

    /**
     * A dead creator's creation whose undo the busy allocator held up, then another creation in the
     * same directory (another name): it must not write its record over the one still to be undone.
     * Before, it did, and the dead creator's unformatted structure stayed under its name for good.
     */
    @Test
    void aCreationAfterAnUndoHeldUpNeverOverwritesItsRecord() throws Exception {
        final Path file = dir.resolve("o.arena");
        final long before = freshArenaWithRoots(file);
        killedAt("AllocPoint.TAKE_INTENT_CLEARED", "store", file.toString(), "s"); // in the root, not formatted
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            final int region = roots.get("s");
            assertTrue(region != 0, "the dead creator's region is in the name");
            final AllocatorLockHolder holder = AllocatorLockHolder.hold(arena, 3_000);
            int t;
            try {
                t = roots.create("t", 1, p -> arena.raw().putIntRelease(p, 0x7E57));
            } catch (final IllegalStateException busy) {
                t = 0;
            }
            holder.release();
            int got;
            try {
                got = roots.getCreated("s");
            } catch (final IllegalStateException busy) {
                got = roots.getCreated("s");
            }
            assertEquals(0, got, "the dead creator's unformatted region is still under its name; region=" + region
                + ", t=" + t);
            assertEquals(before + (t == 0 ? 0 : 1), ChannelCreationCrashTest.allocatedPages(arena),
                "only the other creation's page beyond what the arena had");
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(List.of(), ArenaChecker.check(arena));
        }
    }
}
