package io.sharena.core;

import io.sharena.core.alloc.AllocPoint;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.layout.PageEntry;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@link AllocPoint}, killed for real: a child JVM runs a scenario that passes every point
 * (allocation from the lists and the cache, fast and slow free, a deferred free, a drain, taking
 * another process's cache, fresh ground committed ahead, a reserve of dirty pages, a purge, a repair,
 * close) and SIGKILLs itself at one point, while this
 * process keeps the arena open with pages of its own, a pending list and a cached page. Then this
 * process repairs and requires: the repair reports success, a clean check, its own pages untouched,
 * nothing handed out twice, and nothing lost beyond the one operation the child died in.
 *
 * <p>{@code mvn -pl arena-core -am verify -Dtest='AllocCrashPointTest#killedAt'
 * -Dsurefire.failIfNoSpecifiedTests=false} runs them all (about a second each; the log prints one
 * line per point); add {@code -Dsharena.allocpoint=DRAIN_LIST_TAKEN} to run one.
 */
class AllocCrashPointTest {
    static final int PAGES = 512;
    static final long SECOND = 1_000_000_000L;
    /** The largest pid Linux can give (PID_MAX_LIMIT - 1), registered with start tick 1: never a live process. */
    static final long DEAD_PID = (1L << 22) - 1;
    static final long MARK = 0x5EED_5EEDL;
    /** Offsets in our first held page of the words the child's {@code into} ops publish to. */
    static final int INTO_WORD = 256;
    static final int RACE_WORD = 512;

    @TempDir
    Path dir;

    /** This process's side of the scenario. */
    record Stage(SharedArena arena, int held, int heldPages, int cached, int reserveAt, int first) {
    }

    private Stage prepare(final Path file) throws Exception {
        final SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults());
        final int held = a.allocPages(4);
        for (int i = 0; i < 4; i++) {
            a.raw().putLong(held + i * 4096, MARK + i);
        }
        final int s1 = a.allocPages(3);
        final int s2 = a.allocPages(5);
        // Deferred frees: another thread holds the lock while these are freed.
        final CountDownLatch locked = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        final Thread holder = Thread.ofPlatform().start(() -> {
            a.lock().lock(10 * SECOND);
            locked.countDown();
            try {
                done.await();
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            a.lock().unlock();
        });
        assertTrue(locked.await(10, TimeUnit.SECONDS));
        a.freePages(s1, 3);
        a.freePages(s2, 5);
        done.countDown();
        holder.join();
        final int cached = a.allocPages(1);
        a.freePages(cached, 1);
        // A dead process still registered: the child's open repairs, and the repair releases its slot.
        a.registry().writeForTest(63, DEAD_PID, 1);
        return new Stage(a, held, 4, cached, (PAGES - 20) << 12, (int) a.firstUserPage());
    }

    private static String[] scenario(final Path file, final Stage s) {
        return new String[] {"ops", file.toString(),
            "alloc:3", "free:$0:3",              // lists, then the slow free
            "alloc:1", "free:$1:1",              // lists, then into the cache
            "alloc:1",                           // from the cache
            "alloc:3", "lockedfree:$3:3",        // a deferred free
            "at:" + s.cached() + ":1",           // a page in this process's cache
            "alloc:40", "free:$5:40",            // fresh ground, committed ahead; freed dirty
            "into:2:" + (s.held() + INTO_WORD),  // allocated straight into a word of ours
            "intorace:2:" + (s.held() + RACE_WORD), // that word filled by another writer meanwhile
            "freefrom:" + (s.held() + INTO_WORD) + ":2", // and the first freed from its word
            "reserve:" + s.reserveAt() + ":2",   // in the committed-ahead stretch: purged first
            "purge",
            "repair"};
    }

    @Test
    void theScenarioReachesEveryPoint() throws Exception {
        final Path file = dir.resolve("trace.arena");
        final Stage s = prepare(file);
        final Set<String> reached = new TreeSet<>();
        try (ChildJvm child = ChildProcess.start(
            List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint.action=trace"), scenario(file, s))) {
            assertEquals(0, child.waitFor(60), "child output: " + child.output());
            for (final String line : child.output()) {
                if (line.startsWith("crashpoint-reached: ")) {
                    reached.add(line.substring("crashpoint-reached: ".length()));
                }
            }
        }
        final Set<String> all = new TreeSet<>();
        for (final AllocPoint p : AllocPoint.values()) {
            all.add(p.id());
        }
        final Set<String> missed = new TreeSet<>(all);
        missed.removeAll(reached);
        System.out.println("AllocPoint: " + all.size() + " points, scenario reaches " + (all.size() - missed.size())
            + (missed.isEmpty() ? "" : ", missed " + missed));
        assertEquals(Set.of(), missed, "points the scenario does not reach");
        assertEquals(List.of(), ArenaChecker.check(s.arena()));
        s.arena().close();
    }

    @ParameterizedTest
    @EnumSource(AllocPoint.class)
    void killedAt(final AllocPoint point) throws Exception {
        final String only = System.getProperty("sharena.allocpoint");
        org.junit.jupiter.api.Assumptions.assumeTrue(only == null || point.name().equals(only) || point.id().equals(only),
            "only -Dsharena.allocpoint=" + only);
        final Path file = dir.resolve("kill.arena");
        final Stage s = prepare(file);
        final SharedArena a = s.arena();
        final List<String> out;
        try (ChildJvm child = ChildProcess.start(List.of("-Dsharena.crashpoints=true",
            "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"), scenario(file, s))) {
            child.waitFor(60);
            out = new ArrayList<>(child.output());
        }
        assertTrue(out.contains("crashpoint: " + point.id() + " kill"), "the child died at " + point.id() + ": " + out);

        // What the child holds for good: allocations it saw succeed and did not free. A free it died
        // in may have taken effect or not, page by page: those pages may come back or stay its own.
        final Set<Integer> childPages = childLivePages(out, scenario(file, s));
        final String inFlightOp = inFlightOp(out, scenario(file, s));

        assertTrue(a.repair(10 * SECOND), point + ": repair reports success; left: " + a.repairNotes());
        assertEquals(List.of(), ArenaChecker.check(a), point + ": check after the repair");
        // An allocation into a word is all or nothing: the word names its pages (the child's now), or
        // it holds what it held before and the pages are free.
        final int intoPtr = intoResult(out);
        if (intoPtr != 0) {
            // Whether the child still holds them is the word's to say (below): a free from it may
            // have run, or been rolled forward.
            childPages.remove(intoPtr >>> 12);
            childPages.remove((intoPtr >>> 12) + 1);
        }
        for (final int word : new int[] {INTO_WORD, RACE_WORD}) {
            final int published = a.raw().getInt(s.held() + word);
            if (published != 0 && published != ChildProcess.RACER) {
                for (int i = 0; i < 2; i++) {
                    assertEquals(PageEntry.ALLOCATED, a.pageStateCode((published >>> 12) + i), point + ": published page");
                    childPages.add((published >>> 12) + i);
                }
            }
        }
        for (int i = 0; i < s.heldPages(); i++) {
            assertEquals(PageEntry.ALLOCATED, a.pageStateCode((s.held() >>> 12) + i), point + ": our page");
            assertEquals(MARK + i, a.raw().getLong(s.held() + i * 4096), point + ": our data");
        }
        // Nothing handed out twice; nothing lost beyond the operation in flight (at most 3 pages).
        final Set<Integer> got = new HashSet<>();
        for (int p; (p = a.allocPages(1)) != 0; ) {
            final int page = p >>> 12;
            assertTrue(got.add(page), point + ": handed out twice: page=" + page);
            assertTrue(!childPages.contains(page) || inFlightFree.contains(page),
                point + ": a page the child holds: page=" + page);
            assertTrue(page < s.held() >>> 12 || page >= (s.held() >>> 12) + s.heldPages(), point + ": our page");
            assertEquals(0, a.raw().getLong(p), point + ": handed out zeroed");
        }
        final int user = PAGES - s.first();
        final int reserved = (int) java.util.stream.IntStream.range(s.first(), PAGES)
            .filter(p -> a.pageStateCode(p) == PageEntry.RESERVED).count();
        final int lost = user - s.heldPages() - childPages.size() - reserved - got.size()
            + (int) got.stream().filter(inFlightFree::contains).count();
        System.out.println("killed at " + point.id() + ": repaired clean, handed out " + got.size()
            + " pages once each, child holds " + childPages.size() + ", reserved " + reserved + ", in flight " + lost);
        assertTrue(lost >= 0 && lost <= 3, point + ": pages unaccounted for (at most the op in flight): " + lost);
        if (inFlightOp != null && (inFlightOp.startsWith("into") || inFlightOp.startsWith("freefrom"))) {
            assertEquals(0, lost, point + ": an allocation into a word loses nothing, killed in " + inFlightOp);
        }
        for (final int page : got) {
            a.freePages(page << 12, 1);
        }
        assertEquals(List.of(), ArenaChecker.check(a), point + ": check at the end");
        a.close();
    }

    /**
     * Runs {@code ops} in a child JVM armed to kill itself at {@code point}.
     *
     * @return the child's output, once it is known to have died there
     */
    private static List<String> killChildAt(final Path file, final AllocPoint point, final String... ops) throws Exception {
        final List<String> args = new ArrayList<>(List.of("ops", file.toString()));
        args.addAll(List.of(ops));
        final List<String> out;
        try (ChildJvm child = ChildProcess.start(List.of("-Dsharena.crashpoints=true",
            "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"), args.toArray(String[]::new))) {
            child.waitFor(60);
            out = new ArrayList<>(child.output());
        }
        assertTrue(out.contains("crashpoint: " + point.id() + " kill"), "the child died at " + point.id() + ": " + out);
        return out;
    }

    /**
     * Takes every free page one at a time and gives them back: each comes once, none is among the
     * {@code childPages} the child still holds from {@code childPtr}, and all but those and our one
     * page of words are there: nothing lost.
     */
    private static void everyOtherPageFree(final SharedArena a, final AllocPoint point, final int childPtr,
                                           final int childPages) {
        final Set<Integer> got = new HashSet<>();
        for (int p; (p = a.allocPages(1)) != 0; ) {
            assertTrue(got.add(p), point + ": handed out twice: ptr=" + p);
            assertTrue(p < childPtr || p >= childPtr + childPages * 4096, point + ": the child's page: " + p);
        }
        assertEquals(PAGES - (int) a.firstUserPage() - 1 - childPages, got.size(),
            point + ": every other page is free, none lost");
        for (final int p : got) {
            a.freePages(p, 1);
        }
    }

    /** Where an allocation into a word can die, and whether its word is filled by another writer first. */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> intoPoints() {
        final java.util.stream.Stream.Builder<org.junit.jupiter.params.provider.Arguments> b = java.util.stream.Stream.builder();
        for (final AllocPoint p : List.of(AllocPoint.TAKE_INTENT_WRITTEN, AllocPoint.TAKE_COMMITTED,
            AllocPoint.TAKE_CARVED, AllocPoint.TAKE_PUBLISHED,
            AllocPoint.TAKE_INTENT_CLEARED)) {
            b.add(org.junit.jupiter.params.provider.Arguments.of(p, false));
        }
        for (final AllocPoint p : List.of(AllocPoint.TAKE_CARVED, AllocPoint.TAKE_UNPUBLISHED,
            AllocPoint.FREE_PAGE_MARKED, AllocPoint.FREE_RUN_STATED, AllocPoint.FREE_RUN_LINKED)) {
            b.add(org.junit.jupiter.params.provider.Arguments.of(p, true));
        }
        return b.build();
    }

    /**
     * A child whose only operation is one {@code allocPagesInto} of 5 pages (optionally with its word
     * filled by another writer between the check and the publishing CAS) is killed at each step. After
     * the repair, exactly one of two things holds, with no page unaccounted for: the word holds the
     * pages' pointer and they are ALLOCATED, or the word holds what it held and every page but ours is free.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("intoPoints")
    void killedInAnAllocationInto(final AllocPoint point, final boolean race) throws Exception {
        final Path file = dir.resolve("into.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final int words = a.allocPages(1);
            final int dest = words + INTO_WORD;
            killChildAt(file, point, (race ? "intorace:5:" : "into:5:") + dest);
            assertTrue(a.repair(10 * SECOND), point + ": repair; left: " + a.repairNotes());
            assertEquals(List.of(), ArenaChecker.check(a), point + ": check after the repair");
            final int published = a.raw().getInt(dest);
            final int childPages;
            if (published == 0 || published == ChildProcess.RACER) {
                childPages = 0;
            } else {
                assertTrue(!race, point + ": a raced word never gets the child's pointer: " + published);
                for (int i = 0; i < 5; i++) {
                    assertEquals(PageEntry.ALLOCATED, a.pageStateCode((published >>> 12) + i), point + ": published page");
                }
                childPages = 5;
            }
            everyOtherPageFree(a, point, published, childPages);
            System.out.println("killed in an allocation into a word at " + point.id() + (race ? " (raced)" : "")
                + ": " + (childPages == 0 ? "rolled back" : "rolled forward") + ", nothing lost");
            if (point == AllocPoint.TAKE_PUBLISHED || point == AllocPoint.TAKE_INTENT_CLEARED) {
                assertEquals(5, childPages, point + ": published before the kill");
            }
            if (point == AllocPoint.TAKE_INTENT_WRITTEN || point == AllocPoint.TAKE_CARVED) {
                assertEquals(0, childPages, point + ": not published yet");
            }
        }
    }

    /**
     * A child killed after publishing 2 pages into a word, with the allocator's ALLOC_INTO intent still
     * up (its lock held by the dead child). Before any lock holder repairs, this process reads the
     * word, clears it and frees the pages: a lock-free cache free would let its next allocation take
     * them back, and the later repair, finding the word no longer naming them, would roll the intent
     * back and free pages this process holds. The free must wait for the repair instead (it goes the
     * locked way, whose takeover repairs first), so the pages come back once, to one owner.
     */
    @Test
    void pagesPublishedByADeadAllocatorAreNotFreedTwiceWhenTheirNewOwnerFreesAndReusesThem() throws Exception {
        final Path file = dir.resolve("reuse.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final int words = a.allocPages(1);
            final int word = words + INTO_WORD;
            killChildAt(file, AllocPoint.TAKE_PUBLISHED, "into:2:" + word);
            final int published = a.raw().getInt(word);
            assertNotEquals(0, published, "the child published before it died");
            a.raw().putInt(word, 0);
            a.freePages(published, 2);
            final int again = a.allocPages(2);
            a.raw().putLong(again, MARK);
            assertTrue(a.repair(10 * SECOND), "repair; left: " + a.repairNotes());
            assertEquals(PageEntry.ALLOCATED, a.pageStateCode(again >>> 12), "still ours after the repair");
            assertEquals(PageEntry.ALLOCATED, a.pageStateCode((again >>> 12) + 1), "still ours after the repair");
            assertEquals(List.of(), ArenaChecker.check(a));
            final Set<Integer> got = new HashSet<>();
            for (int p; (p = a.allocPages(1)) != 0; ) {
                assertTrue(p >>> 12 != again >>> 12 && p >>> 12 != (again >>> 12) + 1, "handed out twice: " + p);
                got.add(p);
            }
            assertEquals(MARK, a.raw().getLong(again), "our data");
        }
    }

    /**
     * A child allocates 5 pages into a word, then frees them from it, killed at each step of the
     * free. After the repair: the word holds the pointer and the pages are ALLOCATED (nothing done),
     * or the word is 0 and every page but ours is free. Never a cleared word with its pages held.
     */
    @ParameterizedTest
    @EnumSource(value = AllocPoint.class, names = {"FREE_FROM_INTENT_WRITTEN", "FREE_FROM_WORD_CLEARED",
        "FREE_PAGE_MARKED", "FREE_RUN_STATED", "FREE_RUN_LINKED", "FREE_FROM_DONE"})
    void killedInAFreeFromAWord(final AllocPoint point) throws Exception {
        final Path file = dir.resolve("freefrom.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final int words = a.allocPages(1);
            final int word = words + INTO_WORD;
            final List<String> out = killChildAt(file, point, "into:5:" + word, "freefrom:" + word + ":5");
            final int ptr = intoResult(out);
            assertTrue(ptr != 0, "the allocation into the word ran first: " + out);
            assertTrue(a.repair(10 * SECOND), point + ": repair; left: " + a.repairNotes());
            assertEquals(List.of(), ArenaChecker.check(a), point + ": check after the repair");
            final int left = a.raw().getInt(word);
            assertTrue(left == 0 || left == ptr, point + ": the word holds the pointer or 0: " + left);
            final int childPages = left == 0 ? 0 : 5;
            for (int i = 0; i < 5; i++) {
                assertEquals(left == 0 ? PageEntry.FREE : PageEntry.ALLOCATED, a.pageStateCode((ptr >>> 12) + i),
                    point + ": page " + i + " of the range, word=" + left);
            }
            everyOtherPageFree(a, point, ptr, childPages);
            System.out.println("killed in a free from a word at " + point.id() + ": "
                + (left == 0 ? "rolled forward (freed)" : "rolled back (still held)") + ", nothing lost");
            if (point == AllocPoint.FREE_FROM_INTENT_WRITTEN) {
                assertEquals(ptr, left, point + ": nothing done yet");
            } else {
                assertEquals(0, left, point + ": the word was cleared");
            }
        }
    }

    /**
     * A process killed in a free from a word before it cleared the word leaves its FREE_FROM intent
     * up, resolved by the next lock holder from what the word holds then. Another process that takes
     * the pointer out of the word meanwhile (one CAS, without the lock: the word says who owns the
     * pages) and frees them lock-free must not send them through its span cache: taken back from it
     * by its next allocation, they would be freed from under that new owner when the dead process's
     * intent is rolled forward (the word no longer holds the pointer).
     */
    @Test
    void aFreeFromKilledBeforeClearingTheWordAndTheWordsPagesFreedLockFreeByAnotherProcess() throws Exception {
        final Path file = dir.resolve("freefromrace.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final int words = a.allocPages(1);
            final int word = words + INTO_WORD;
            final List<String> out = killChildAt(file, AllocPoint.FREE_FROM_INTENT_WRITTEN, "into:1:" + word,
                "freefrom:" + word + ":1");
            final int ptr = intoResult(out);
            assertTrue(ptr != 0 && a.raw().getInt(word) == ptr, "the word still holds the pointer: " + out);
            // This process takes the pointer out of the word and frees it, lock-free.
            assertTrue(a.raw().compareAndSetInt(word, ptr, 0));
            a.freePages(ptr, 1);
            // Its next allocations; if the pages went into its cache, the first gets them back.
            final Set<Integer> mine = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                final int p = a.allocPages(1);
                assertTrue(p != 0);
                mine.add(p);
            }
            assertTrue(a.repair(10 * SECOND), "repair; left: " + a.repairNotes());
            assertEquals(List.of(), ArenaChecker.check(a), "check after the repair");
            for (final int p : mine) {
                assertEquals(PageEntry.ALLOCATED, a.pageStateCode(p >>> 12),
                    "a page this process holds was freed by the repair of the dead process's free: ptr=" + p
                        + ", freed-from-word ptr=" + ptr);
            }
            final Set<Integer> got = new HashSet<>();
            for (int p; (p = a.allocPages(1)) != 0; ) {
                assertTrue(got.add(p) && !mine.contains(p), "handed out twice: ptr=" + p);
            }
        }
    }

    /**
     * A free from a word that names RESERVED pages (a free un-reserves them, as {@code freePages}
     * does), killed after the word was cleared: the roll-forward must give them back too, or they
     * stay reserved for good with no word naming them.
     */
    @ParameterizedTest
    @EnumSource(value = AllocPoint.class, names = {"FREE_FROM_WORD_CLEARED", "FREE_PAGE_MARKED"})
    void killedInAFreeFromAWordNamingReservedPages(final AllocPoint point) throws Exception {
        final Path file = dir.resolve("freefromreserved.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            final int words = a.allocPages(1);
            final int word = words + INTO_WORD;
            final int reserved = (PAGES - 8) << 12; // free ground at the end of the arena
            a.raw().putIntVolatile(word, reserved);
            final List<String> out;
            try (ChildJvm child = ChildProcess.start(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=kill"),
                "ops", file.toString(), "reserve:" + reserved + ":4", "freefrom:" + word + ":4")) {
                child.waitFor(60);
                out = new ArrayList<>(child.output());
            }
            assertTrue(out.contains("crashpoint: " + point.id() + " kill"), "killed: " + out);
            assertTrue(a.repair(10 * SECOND), "repair; left: " + a.repairNotes());
            assertEquals(0, a.raw().getInt(word), "the word was cleared");
            for (int i = 0; i < 4; i++) {
                assertEquals(PageEntry.FREE, a.pageStateCode((reserved >>> 12) + i),
                    point + ": page " + i + " of the range the cleared word named");
            }
            assertEquals(List.of(), ArenaChecker.check(a), "check after the repair");
        }
    }

    /** Pages of the free the child died in (empty if it died elsewhere), filled by {@link #childLivePages}. */
    private final Set<Integer> inFlightFree = new HashSet<>();

    /**
     * @return the pages the child's printed results say it holds; the free it died in (the first op
     * with no result line) goes to {@link #inFlightFree}
     */
    private Set<Integer> childLivePages(final List<String> out, final String[] scenario) {
        final List<Integer> results = new ArrayList<>();
        final Set<Integer> live = new HashSet<>();
        int done = 0;
        for (final String line : out) {
            final String[] parts = line.split(" -> ");
            if (parts.length != 2) {
                continue;
            }
            done++;
            final String[] f = parts[0].split(":");
            switch (f[0]) {
                case "into", "intorace" -> {
                    final int ptr = Integer.parseInt(parts[1]);
                    results.add(ptr);
                    for (int i = 0; ptr != 0 && i < Integer.parseInt(f[1]); i++) {
                        live.add((ptr >>> 12) + i);
                    }
                }
                case "alloc", "at" -> {
                    final int ptr = Integer.parseInt(parts[1]);
                    results.add(ptr);
                    for (int i = 0; ptr != 0 && i < Integer.parseInt(f[f.length - 1]); i++) {
                        live.add((ptr >>> 12) + i);
                    }
                }
                case "free", "lockedfree" -> {
                    final int ptr = pointer(f[1], results);
                    for (int i = 0; i < Integer.parseInt(f[2]); i++) {
                        live.remove((ptr >>> 12) + i);
                    }
                }
                default -> {
                }
            }
        }
        final int inFlight = 2 + done; // scenario[0] and [1] are the mode and the file
        if (inFlight < scenario.length && scenario[inFlight].contains("free:")) {
            final String[] f = scenario[inFlight].split(":");
            final int ptr = pointer(f[1], results);
            for (int i = 0; i < Integer.parseInt(f[2]); i++) {
                inFlightFree.add((ptr >>> 12) + i);
            }
        }
        return live;
    }

    /** @return the pointer the child's {@code into} op printed, or 0 */
    private static int intoResult(final List<String> out) {
        for (final String line : out) {
            if (line.startsWith("into:")) {
                return Integer.parseInt(line.split(" -> ")[1]);
            }
        }
        return 0;
    }

    /** @return the scenario op the child died in (the first with no result line), or null */
    private static String inFlightOp(final List<String> out, final String[] scenario) {
        final int done = (int) out.stream().filter(line -> line.split(" -> ").length == 2).count();
        final int inFlight = 2 + done;
        return inFlight < scenario.length ? scenario[inFlight] : null;
    }

    private static int pointer(final String text, final List<Integer> results) {
        return text.startsWith("$") ? results.get(Integer.parseInt(text.substring(1))) : Integer.parseInt(text);
    }

}
