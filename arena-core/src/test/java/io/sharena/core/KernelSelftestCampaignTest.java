package io.sharena.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.lock.LockResult;
import io.sharena.core.lock.SharedLock;
import io.sharena.testing.ChildJvm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A campaign derived from the Linux kernel's BPF arena selftests (verifier_arena.c,
 * verifier_arena_large.c, arena_atomics.c, arena_spin_lock.c and their prog_tests user-space
 * halves), complementing {@link KernelSelftestScenariosTest}: the user-space half is a second real
 * JVM ({@link KernelSelftestChild}), pointers at and beyond the signed 2 GiB boundary and at the top of
 * the 4 GiB pointer space (verifier_arena maps its arena right below the 32-bit boundary for this
 * reason), and the edges of free, allocPagesAt and reserve whose ranges wrap 32 bits.
 */
class KernelSelftestCampaignTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;

    private static String result(final ChildJvm child, final String op) throws Exception {
        final String line = child.await(op);
        if (!line.contains(" -> ")) {
            throw new AssertionError("no result in: " + line);
        }
        return line.substring(line.indexOf(" -> ") + 4);
    }

    private static void assertClean(final SharedArena a) {
        assertEquals(List.of(), ArenaChecker.check(a), "checker after the scenario");
    }

    private static String hex(final int p) {
        return "0x" + Integer.toHexString(p);
    }

    // ------------------------------------------------------------------ arena_atomics, two processes

    private static void atomicsScenario(final SharedArena a, final Path file, final int p) throws Exception {
        final int n = 320_000; // a multiple of 64: every xor bit is toggled an even number of times
        a.raw().putLong(p + 48, -1L);
        a.raw().putInt(p + 56, -1);
        try (ChildJvm child = KernelSelftestChild.start(file.toString(), "atomics:" + hex(p) + ":" + n + ":1")) {
            child.await("ready");
            child.send("go");
            final String mine = KernelSelftestChild.atomics(a, p, n, 0);
            final String theirs = result(child, "atomics:");
            assertEquals(0, child.waitFor(120), String.join("\n", child.output()));
            final ArenaView v = a.strict();
            assertEquals(2 * n, v.getIntVolatile(p), "getAndAddInt");
            assertEquals(2L * n * 2, v.getLongVolatile(p + 8), "getAndAddLong of 3 then -1");
            assertEquals(2 * n, v.getIntVolatile(p + 16), "compareAndExchangeInt loop");
            assertEquals(2L * n, v.getLongVolatile(p + 24), "compareAndSetLong loop");
            assertEquals(-1L, v.getLongVolatile(p + 32), "getAndBitwiseOrLong: every bit of both sides");
            assertEquals(0, v.getIntVolatile(p + 40), "getAndBitwiseXorInt: each bit toggled an even number of times");
            assertEquals(-1L, v.getLongVolatile(p + 48), "and then or back");
            assertEquals(-1, v.getIntVolatile(p + 56), "and then or back, 32 bits");
            assertEquals(0L, v.getLongVolatile(p + 72), "getAndBitwiseXorLong");
            final String[] m = mine.split(",");
            final String[] t = theirs.split(",");
            final long word = v.getLongVolatile(p + 64);
            final long sumL = Long.parseLong(m[0]) + Long.parseLong(t[0]) + word;
            assertEquals(1001L, sumL, "getAndSetLong conserves the tokens: " + mine + " / " + theirs + " / " + word);
            final int wordI = v.getIntVolatile(p + 60);
            assertEquals(1001, Integer.parseInt(m[1]) + Integer.parseInt(t[1]) + wordI, "getAndSetInt conserves the tokens");
        }
    }

    @Test
    void atomicsFromTwoProcessesLoseNoUpdate() throws Exception {
        final Path file = dir.resolve("atom.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("1M"), ArenaOptions.defaults())) {
            final int p = a.allocPages(1);
            atomicsScenario(a, file, p + 128);
            assertClean(a);
        }
    }

    @Test
    void atomicsFromTwoProcessesAtTheTopOfTheFourGibPointerSpace() throws Exception {
        final Path file = dir.resolve("atom4g.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final int last = 0xFFFFF000;
            assertEquals(last, a.allocPagesAt(last, 1));
            atomicsScenario(a, file, last + PAGE - 128);
            assertClean(a);
        }
    }

    // ------------------------------------------------------------------ verifier_arena near the 32-bit boundary

    /**
     * verifier_arena's arena sits right below the 32-bit boundary; here pointers straddle the
     * signed boundary (0x7FFFF000..0x80000FFF) and sit at the very top, written in one process and
     * read in the other; a free in the child makes the parent's strict view fault and lenient read 0.
     */
    @Test
    void userSpaceHalfAcrossTheSignedBoundaryAndAtTheTop() throws Exception {
        final Path file = dir.resolve("hi.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final int mid = 0x7FFFF000;
            final int top = 0xFFFFE000;
            assertEquals(mid, a.allocPagesAt(mid, 2));
            assertEquals(top, a.allocPagesAt(top, 2));
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(0x80000000)));
            try (ChildJvm child = KernelSelftestChild.start(file.toString(),
                "put:0x7ffffffc:1234605616436508552", "put:0x80000008:7", "put:0xfffffff8:-2", "put:0xffffeffc:99",
                "wait", "free:0x7ffff000:2", "free:0xfffff000:1", "wait",
                "get:0x7ffffffc", "lget:0xfffffff8", "get:0xffffe000")) {
                for (final String op : List.of("put:0x7ffffffc", "put:0x80000008", "put:0xfffffff8", "put:0xffffeffc")) {
                    assertEquals("done", result(child, op), op);
                }
                child.await("waiting");
                assertEquals(1234605616436508552L, a.strict().getLong(0x7FFFFFFC), "straddles the signed boundary");
                assertEquals(7L, a.strict().getLong(0x80000008));
                assertEquals(-2L, a.strict().getLong(0xFFFFFFF8), "the last 8 bytes of the pointer space");
                assertEquals(99L, a.strict().getLong(0xFFFFEFFC), "straddles the two top pages");
                // arena_atomics on a pointer that is negative as an int
                assertEquals(-2L, a.strict().getAndAddLong(0xFFFFFFF8, 2));
                assertEquals(0L, a.strict().compareAndExchangeLong(0xFFFFFFF8, 0, 5));
                assertEquals(7, a.strict().getAndBitwiseXorInt(0x80000008, 7));
                child.send("go");
                assertEquals("done", result(child, "free:0x7ffff000"));
                assertEquals("done", result(child, "free:0xfffff000"));
                child.await("waiting");
                assertEquals(PageState.FREE, a.pageState(a.pageOf(mid)));
                assertEquals(PageState.FREE, a.pageState(a.pageOf(0x80000000)));
                assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(top)));
                assertEquals(PageState.FREE, a.pageState(a.pageOf(0xFFFFF000)));
                assertThrows(ArenaFaultException.class, () -> a.strict().getLong(0x80000000), "use after free, strict");
                assertEquals(0L, a.lenient().getLong(0x7FFFFFFC), "use after free reads 0");
                assertEquals(0L, a.lenient().getLong(0xFFFFFFF8));
                assertThrows(ArenaFaultException.class, () -> a.strict().getLong(0xFFFFEFFC), "straddles into a freed page");
                assertEquals(0L, a.lenient().getLong(0xFFFFEFFC));
                a.strict().putLong(top, 42);
                child.send("go");
                assertTrue(result(child, "get:0x7ffffffc").startsWith("!ArenaFaultException"), child.output().toString());
                assertEquals("0", result(child, "lget:0xfffffff8"));
                assertEquals("42", result(child, "get:0xffffe000"));
                assertEquals(0, child.waitFor(60), String.join("\n", child.output()));
            }
            assertEquals(mid, a.allocPagesAt(mid, 2), "the freed run comes back");
            assertEquals(0L, a.strict().getLong(0x7FFFFFFC), "zeroed");
            assertEquals(0L, a.strict().getLong(0x80000000), "zeroed");
            assertClean(a);
        }
    }

    // ------------------------------------------------------------------ free of unallocated pages, odd ranges

    /**
     * Frees the kernel's tests never make succeed: NULL, page-offset pointers into the header, the
     * metadata, past the end, ranges that wrap the 32-bit pointer space onto the header. None may
     * change a META page or another process's allocation, and none may throw.
     */
    @Test
    void freesOfMetadataPastTheEndAndWrappingRangesChangeNothing() throws Exception {
        final Path file = dir.resolve("free.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int first = TestArenas.firstUserPointer(a);
            final int mine = a.allocPagesAt(first, 4);
            assertEquals(first, mine);
            a.strict().putLong(mine, 11);
            final int end = (int) a.capacityBytes();
            final List<String> ops = List.of("free:0:1", "free:1:1", "free:4095:2", "free:4096:3", "free:8192:"
                + (a.firstUserPage() - 2), "free:" + (end - 1) + ":0", "free:" + end + ":5",
                "free:0xfffff000:5", "free:0xffffffff:2", "free:0xffffe001:3", "free:0x80000000:2147483647",
                "free:" + end + ":-1", "free:0xfffff000:2147483647");
            final String[] args = new String[ops.size() + 2];
            args[0] = file.toString();
            for (int i = 0; i < ops.size(); i++) {
                args[i + 1] = ops.get(i);
            }
            args[args.length - 1] = "wait";
            try (ChildJvm child = KernelSelftestChild.start(args)) {
                for (final String op : ops) {
                    assertEquals("done", result(child, op), op);
                }
                child.await("waiting");
                for (long pg = 0; pg < a.firstUserPage(); pg++) {
                    assertEquals(PageState.META, a.pageState(pg), "page " + pg);
                }
                for (int i = 0; i < 4; i++) {
                    assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(mine) + i), "page " + i + " of the parent's run");
                }
                assertEquals(11L, a.strict().getLong(mine));
                child.send("go");
                assertEquals(0, child.waitFor(60), String.join("\n", child.output()));
            }
            // Now the same from this process, after which the arena must still open and check clean.
            for (final String op : ops) {
                final String[] f = op.split(":");
                a.freePages(KernelSelftestChild.ptr(f[1]), Integer.parseInt(f[2]));
            }
            assertEquals(11L, a.strict().getLong(mine));
            assertEquals(List.of(), a.checkFile());
            assertClean(a);
        }
        try (SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
            assertClean(b);
        }
    }

    /** A misaligned pointer frees the page containing it, from another process too; a part of a run frees only that part. */
    @Test
    void misalignedAndPartialFreesFromAnotherProcess() throws Exception {
        final Path file = dir.resolve("part.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int p = a.allocPages(8);
            for (int i = 0; i < 8; i++) {
                a.strict().putLong(p + i * PAGE, i + 1);
            }
            try (ChildJvm child = KernelSelftestChild.start(file.toString(), "free:" + (p + 2 * PAGE + 4095) + ":1",
                "free:" + (p + 5 * PAGE + 1) + ":2", "free:" + (p + 2 * PAGE) + ":1", "wait")) {
                child.await("waiting");
                final PageState[] want = {PageState.ALLOCATED, PageState.ALLOCATED, PageState.FREE, PageState.ALLOCATED,
                    PageState.ALLOCATED, PageState.FREE, PageState.FREE, PageState.ALLOCATED};
                for (int i = 0; i < 8; i++) {
                    assertEquals(want[i], a.pageState(a.pageOf(p) + i), "page " + i);
                    assertEquals(want[i] == PageState.ALLOCATED ? i + 1 : 0L, a.lenient().getLong(p + i * PAGE), "page " + i);
                }
                child.send("go");
                assertEquals(0, child.waitFor(60));
            }
            final int q = a.allocPages(2);
            assertNotEquals(0, q);
            assertEquals(0L, a.strict().getLong(q));
            assertClean(a);
        }
    }

    /** Two processes free the same runs at the same time: each page is freed once, handed out once again. */
    @Test
    void concurrentDoubleFreeFromTwoProcesses() throws Exception {
        final Path file = dir.resolve("dbl.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(600), ArenaOptions.defaults())) {
            final List<Integer> runs = new ArrayList<>();
            final List<String> ops = new ArrayList<>(List.of(file.toString(), "wait"));
            for (int i = 0; i < 100; i++) {
                final int p = a.allocPages(1 + i % 5);
                assertNotEquals(0, p);
                runs.add(p);
                ops.add("free:" + Integer.toUnsignedString(p) + ":" + (1 + i % 5));
            }
            ops.add("wait");
            try (ChildJvm child = KernelSelftestChild.start(ops.toArray(new String[0]))) {
                child.await("waiting");
                child.send("go");
                for (int i = 0; i < runs.size(); i++) {
                    a.freePages(runs.get(i), 1 + i % 5);
                }
                child.await("waiting");
                final long user = a.capacityPages() - a.firstUserPage();
                final ArenaStats s = ArenaStats.read(a);
                assertEquals(user, s.pages().get("FREE") + s.pages().get("PENDING"), s.pages().toString());
                // Everything is free for everyone, whichever cache holds it: the whole user area in one piece.
                final int all = a.allocPages((int) user);
                assertEquals(TestArenas.firstUserPointer(a), all, "the whole user area while the child is alive");
                for (long pg = 0; pg < user; pg += 37) {
                    assertEquals(0L, a.strict().getLong(all + (int) pg * PAGE));
                }
                a.freePages(all, (int) user);
                child.send("go");
                assertEquals(0, child.waitFor(60));
            }
            assertClean(a);
        }
    }

    // ------------------------------------------------------------------ alloc at fixed addresses

    @Test
    void allocAtPageOffsetsMetadataPastTheEndAndOtherProcessesPages() throws Exception {
        final Path file = dir.resolve("at.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int first = TestArenas.firstUserPointer(a);
            final int end = (int) a.capacityBytes();
            final int taken = a.allocPagesAt(first + 10 * PAGE, 2);
            a.strict().putLong(taken + PAGE, 5);
            final List<String> ops = List.of("at:0:1", "at:4096:1", "at:" + (first - PAGE) + ":2", "at:" + (first + 1) + ":1",
                "at:" + (first + 4095) + ":1", "at:" + (first + 9 * PAGE) + ":2", "at:" + (first + 11 * PAGE) + ":1",
                "at:" + (end - PAGE) + ":2", "at:" + end + ":1", "at:0xfffff000:1", "at:0xfffff000:3",
                "at:0x80000000:1", "at:" + first + ":0", "at:" + first + ":-1", "at:" + first + ":2147483647",
                "reserve:" + (first + 1) + ":1", "reserve:" + (end - PAGE) + ":2", "reserve:0xfffff000:3",
                "reserve:0xfffff000:1", "reserve:" + (first - PAGE) + ":2", "reserve:" + (first + 11 * PAGE) + ":1");
            final List<String> args = new ArrayList<>(List.of(file.toString()));
            args.addAll(ops);
            try (ChildJvm child = KernelSelftestChild.start(args.toArray(new String[0]))) {
                for (final String op : ops) {
                    final String r = result(child, op);
                    assertTrue(r.equals("0") || r.equals("INVALID") || r.equals("BUSY"), op + " -> " + r);
                }
                assertEquals(0, child.waitFor(60), String.join("\n", child.output()));
            }
            assertEquals(5L, a.strict().getLong(taken + PAGE), "the parent's page is untouched");
            assertEquals(PageState.FREE, a.pageState(a.pageOf(first + 9 * PAGE)), "a failed at changes nothing");
            assertEquals(PageState.FREE, a.pageState(a.pageOf(end - PAGE)));
            assertEquals(end - PAGE, a.allocPagesAt(end - PAGE, 1), "the last page itself is fine");
            assertClean(a);
        }
    }

    /** basic_alloc3 / big_alloc on the largest arena: every user page of a 4 GiB arena in one call, exactly. */
    @Test
    void wholeFourGibArenaInOneCallExactlyFills() throws Exception {
        final Path file = dir.resolve("whole.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final int user = (int) (a.capacityPages() - a.firstUserPage());
            assertEquals(0, a.allocPages(user + 1), "one page more than there is");
            assertEquals(0, a.allocPages(1 << 20), "the whole pointer space, header included");
            final long t0 = System.nanoTime();
            final int p = a.allocPages(user);
            System.out.println("whole 4 GiB allocation took " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            assertEquals(TestArenas.firstUserPointer(a), p);
            assertEquals(0, a.allocPages(1), "exactly full");
            a.strict().putLong(0xFFFFFFF8, 3);
            assertEquals(0L, a.strict().getLong(0x80000000));
            a.freePages(p + PAGE, user - 2); // all but the first and the last page
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(p)));
            assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(0xFFFFF000)));
            assertEquals(3L, a.strict().getLong(0xFFFFFFF8));
            assertEquals(p + PAGE, a.allocPages(user - 2), "the freed middle, exactly");
            a.freePages(p, user);
            assertClean(a);
        }
    }

    // ------------------------------------------------------------------ arena_spin_lock

    /** A holder that closes its arena (and goes on living) is recovered; its next attachment does not inherit the lock. */
    @Test
    void lockHeldAcrossCloseIsRecoveredAndNotInheritedByTheReopenedAttachment() throws Exception {
        final Path file = dir.resolve("lk.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults())) {
            final int p = a.allocPages(1);
            final SharedLock lock = a.lockAt(p);
            try (ChildJvm child = KernelSelftestChild.start(file.toString(), "lock:" + p, "closearena", "reopen", "wait",
                "lock:" + p, "unlock:" + p)) {
                assertEquals("ACQUIRED", result(child, "lock:" + p));
                assertEquals("done", result(child, "closearena"));
                assertTrue(result(child, "reopen").startsWith("slot="));
                child.await("waiting");
                assertEquals(LockResult.RECOVERED, lock.lock(TimeUnit.SECONDS.toNanos(2)),
                    "the holder's attachment is gone though its process lives");
                lock.unlock();
                child.send("go");
                assertEquals("ACQUIRED", result(child, "lock:" + p));
                assertEquals("done", result(child, "unlock:" + p));
                assertEquals(0, child.waitFor(60), String.join("\n", child.output()));
            }
            assertEquals(LockResult.ACQUIRED, lock.tryLock());
            lock.unlock();
            assertClean(a);
        }
    }

    /**
     * arena_spin_lock: processes bump a counter under the lock ({@code if (counter != limit) counter++});
     * a third process is killed with SIGKILL while holding it. The counter must equal the number of
     * acquisitions, nobody times out for good, and the killed holder is recovered exactly once.
     */
    @Test
    void spinLockUnderContentionWithTheHolderKilled() throws Exception {
        final Path file = dir.resolve("spin.arena");
        final int iter = 20_000;
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults())) {
            final int p = a.allocPages(1) + 0x800; // a lock word in the middle of a page, at a pointer like a global's
            final long limit = 2L * iter;
            try (ChildJvm holder = KernelSelftestChild.start(file.toString(), "lock:" + p, "wait")) {
                assertEquals("ACQUIRED", result(holder, "lock:" + p));
                holder.await("waiting");
                try (ChildJvm other = KernelSelftestChild.start(file.toString(), "spin:" + p + ":" + limit + ":" + iter)) {
                    other.await("ready");
                    other.send("go");
                    Thread.sleep(200); // both this process and the other wait on the held lock
                    final Thread killer = new Thread(() -> {
                        try {
                            Thread.sleep(300);
                            holder.kill9();
                        } catch (final Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    killer.start();
                    final String mine = KernelSelftestChild.spin(a, p, limit, iter);
                    killer.join();
                    final String theirs = result(other, "spin:");
                    assertEquals(0, other.waitFor(60), String.join("\n", other.output()));
                    final long total = Long.parseLong(field(mine, "acquired")) + Long.parseLong(field(mine, "recovered"))
                        + Long.parseLong(field(theirs, "acquired")) + Long.parseLong(field(theirs, "recovered"));
                    assertEquals("0", field(mine, "timeouts"), mine);
                    assertEquals("0", field(theirs, "timeouts"), theirs);
                    assertEquals(1, Long.parseLong(field(mine, "recovered")) + Long.parseLong(field(theirs, "recovered")),
                        mine + " / " + theirs);
                    assertEquals(limit, total);
                    assertEquals(limit, a.strict().getLong(p + 8), "counter: " + mine + " / " + theirs);
                }
            }
            // A user lock's recovery takes the lock over; the dead holder's registry slot is reclaimed by
            // the allocator's recovery or reclaimDeadProcesses (documented), so reclaim before checking.
            a.reclaimDeadProcesses(TimeUnit.SECONDS.toNanos(5));
            assertClean(a);
        }
    }

    private static String field(final String s, final String name) {
        for (final String kv : s.split(" ")) {
            if (kv.startsWith(name + "=")) {
                return kv.substring(name.length() + 1);
            }
        }
        throw new AssertionError(name + " in " + s);
    }

    // ------------------------------------------------------------------ arena_atomics' uaf, alignment

    /** arena_atomics' uaf program: every atomic on a page another process freed. */
    @Test
    void atomicsOnAPageAnotherProcessFreed() throws Exception {
        final Path file = dir.resolve("uaf.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults())) {
            final int p = a.allocPages(1);
            a.strict().putLong(p, 77);
            try (ChildJvm child = KernelSelftestChild.start(file.toString(), "free:" + p + ":1")) {
                assertEquals("done", result(child, "free:" + p));
                assertEquals(0, child.waitFor(60));
            }
            final ArenaView l = a.lenient();
            final ArenaView s = a.strict();
            assertEquals(0, l.getAndAddInt(p, 1));
            assertEquals(0, l.getAndBitwiseAndInt(p, 1));
            assertEquals(0, l.getAndBitwiseOrInt(p, 1));
            assertEquals(0, l.getAndBitwiseXorInt(p, 1));
            assertTrue(l.compareAndExchangeInt(p, 0, 1) != 0);
            assertEquals(0, l.getAndSetInt(p, 1));
            assertEquals(0L, l.getAndAddLong(p, 1));
            assertEquals(0L, l.getAndBitwiseAndLong(p, 1));
            assertEquals(0L, l.getAndBitwiseOrLong(p, 1));
            assertEquals(0L, l.getAndBitwiseXorLong(p, 1));
            assertTrue(l.compareAndExchangeLong(p, 0, 1) != 0);
            assertEquals(0L, l.getAndSetLong(p, 1));
            assertTrue(!l.compareAndSetLong(p, 0, 1));
            final List<Executable> strictOps = List.of(() -> s.getAndAddInt(p, 1), () -> s.getAndBitwiseAndInt(p, 1),
                () -> s.getAndBitwiseOrInt(p, 1), () -> s.getAndBitwiseXorInt(p, 1), () -> s.compareAndExchangeInt(p, 0, 1),
                () -> s.getAndSetInt(p, 1), () -> s.getAndAddLong(p, 1), () -> s.getAndBitwiseAndLong(p, 1),
                () -> s.getAndBitwiseOrLong(p, 1), () -> s.getAndBitwiseXorLong(p, 1),
                () -> s.compareAndExchangeLong(p, 0, 1), () -> s.getAndSetLong(p, 1));
            for (final Executable op : strictOps) {
                final ArenaFaultException e = assertThrows(ArenaFaultException.class, op::run);
                assertTrue(e.getMessage().contains(Integer.toHexString(p)), e.getMessage());
            }
            assertEquals(p, a.allocPagesAt(p, 1));
            for (int i = 0; i < PAGE; i += 8) {
                assertEquals(0L, a.raw().getLong(p + i), "offset " + i + ": dropped atomics left nothing, the page reads zero");
            }
            assertClean(a);
        }
    }

    // ------------------------------------------------------------------ map lifetime and sizes

    /** After close, every handle (views, a user lock, the allocator) fails with IllegalStateException, never a crash. */
    @Test
    void everyHandleAfterCloseFailsCleanly() throws Exception {
        final Path file = dir.resolve("closed.arena");
        final SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults());
        final int p = a.allocPagesAt(0xFFFFF000, 1);
        final SharedLock lock = a.lockAt(p);
        assertEquals(LockResult.ACQUIRED, lock.tryLock());
        lock.unlock();
        final ArenaView raw = a.raw();
        final ArenaView strict = a.strict();
        final ArenaView lenient = a.lenient();
        a.close();
        final List<Executable> ops = List.of(() -> raw.getLong(p), () -> strict.putLong(p, 1), () -> lenient.getLong(p),
            () -> lenient.getAndAddLong(p, 1), () -> raw.compareAndSetLong(p, 0, 1), lock::tryLock,
            () -> lock.lock(1_000_000), lock::isLocked, () -> a.allocPages(1), () -> a.freePages(p, 1),
            () -> a.reservePages(p, 1), () -> a.allocPagesAt(p, 1), () -> a.pageState(a.pageOf(p)), () -> a.lockAt(p));
        final List<String> wrong = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            try {
                ops.get(i).run();
                wrong.add("op" + i + ": no exception");
            } catch (final IllegalStateException expected) {
                // documented
            } catch (final Throwable t) {
                wrong.add("op" + i + ": " + t);
            }
        }
        assertEquals(List.of(), wrong);
    }

    /** Kernel: max_entries 0 or past 4 GiB is refused at map creation. Here: clear IllegalArgumentException, nothing created. */
    @Test
    void capacitiesTooSmallZeroNegativeOrPastFourGibAreRefusedClearly() throws Exception {
        final List<String> wrong = new ArrayList<>();
        final List<Executable> bad = List.of(() -> Capacity.ofPages(0), () -> Capacity.ofPages(-1),
            () -> Capacity.ofPages((1L << 20) + 1), () -> Capacity.ofBytes((1L << 32) + 1), () -> Capacity.ofBytes(-4096),
            () -> Capacity.parse("5G"), () -> Capacity.parse("-1p"), () -> Capacity.parse("0"), () -> Capacity.parse("4097M"),
            () -> Capacity.parse("99999999999999999999"), () -> Capacity.parse("1048577p"));
        for (int i = 0; i < bad.size(); i++) {
            try {
                bad.get(i).run();
                wrong.add("capacity " + i + ": accepted");
            } catch (final IllegalArgumentException expected) {
                if (expected.getMessage() == null || expected.getMessage().isBlank()) {
                    wrong.add("capacity " + i + ": no message");
                }
            } catch (final Throwable t) {
                wrong.add("capacity " + i + ": " + t);
            }
        }
        // Too small to hold its own metadata and one user page.
        for (final long pages : new long[] {1, 2, 3, 4, 5}) {
            final Path f = dir.resolve("tiny" + pages + ".arena");
            try (SharedArena t = SharedArena.create(f, Capacity.ofPages(pages), ArenaOptions.defaults())) {
                if (t.capacityPages() <= t.firstUserPage()) {
                    wrong.add(pages + " pages: created with no user page");
                }
            } catch (final IllegalArgumentException expected) {
                assertTrue(!java.nio.file.Files.exists(f), pages + " pages: refused but the file was left behind");
            } catch (final Throwable t) {
                wrong.add(pages + " pages: " + t);
            }
        }
        try (SharedArena max = SharedArena.create(dir.resolve("max.arena"), Capacity.ofPages(1L << 20), ArenaOptions.defaults())) {
            assertEquals(1L << 32, max.capacityBytes());
        }
        assertEquals(List.of(), wrong);
    }

    /** allocPagesInto and freePagesFrom with the word and the pages above 2 GiB, the word read by another process. */
    @Test
    void publishIntoAWordAboveTwoGiB() throws Exception {
        final Path file = dir.resolve("into.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final long first = a.firstUserPage();
            assertEquals(ReserveResult.OK, a.reservePages(a.pointerOf(first), (int) ((1L << 19) - first)));
            final int dir0 = a.allocPagesAt(0xC0000000, 1);
            assertEquals(0xC0000000, dir0);
            final int word = dir0 + 4092;
            final int p = a.allocPagesInto(3, word);
            assertTrue(Integer.toUnsignedLong(p) >= 1L << 31, "0x" + Integer.toHexString(p));
            assertEquals(p, a.raw().getIntAcquire(word));
            a.strict().putLong(p + 2 * PAGE + 4088, -5);
            try (ChildJvm child = KernelSelftestChild.start(file.toString(), "rget:" + Integer.toUnsignedString(word),
                "get:" + Integer.toUnsignedString(p + 2 * PAGE + 4088))) {
                assertEquals(Integer.toUnsignedLong(p), Long.parseLong(result(child, "rget:")) & 0xFFFF_FFFFL,
                    "the other process reads the published pointer");
                assertEquals("-5", result(child, "get:"));
                assertEquals(0, child.waitFor(60));
            }
            assertTrue(a.freePagesFrom(word, 3));
            assertEquals(0, a.raw().getIntAcquire(word));
            assertEquals(PageState.FREE, a.pageState(a.pageOf(p)));
            assertEquals(PageState.FREE, a.pageState(a.pageOf(p) + 2));
            assertClean(a);
        }
    }

    /** Executable that may throw anything (JUnit's is in another package, kept out of the imports). */
    @FunctionalInterface
    interface Executable {
        void run() throws Throwable;
    }
}
