package io.sharena.core;

import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.PageEntry;
import io.sharena.testing.FuzzCases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Corrupted, truncated, extended and foreign files, thrown at every entry point. Each case takes
 * a healthy arena file, corrupts it one way ({@link FileMutator}: the named mutation, and in half the
 * cases one to three more of any kind; or a file-level change: cut short, extended, before or while
 * mapped; or a file that is no arena at all), then runs: checkFile,
 * read-only open, info, stats, check, open, alloc / alloc-at / reserve / free / pageState, strict and
 * raw view accesses, close, repairFile, open + repair, and check again. It records:
 * <ul>
 *   <li>a hang: an operation running past its time limit (a watchdog then unmaps the case's arenas,
 *       which stops a thread caught in a walk with an {@link IllegalStateException}, and the rest of
 *       the case is skipped);</li>
 *   <li>an undocumented exception: anything but {@link ArenaFormatException},
 *       {@link ArenaFaultException}, {@link ArenaCorruptedException} and {@link IOException};</li>
 *   <li>a page handed out wrongly: outside the user pages, or already ALLOCATED before the call;</li>
 *   <li>a repair that reported success and left {@code check} unclean.</li>
 * </ul>
 * A JVM crash ends the fork, which fails the build; {@code target/fuzz-progress.log} then names the
 * case that was running.
 *
 * <p>Findings are grouped by category (kind, operation, and the project class where it happened)
 * and printed as a table with the first example's case seed and the command that replays that case
 * alone ({@link FuzzCases}). A finding is <em>owned</em> by the
 * file layer (opening and validating the file, the header copies, the size checks, the fault
 * translation: {@link SharedArena}, {@code ArenaHeader}, {@code io.sharena.core.os}) or by the
 * allocator, lock and views; the owner is printed to say where to look. Every finding fails the
 * test ({@code -Dsharena.fuzz.strict=false} lets only the file layer's fail, to see the table of
 * the others while working on them). Outcomes the documentation describes are listed as
 * "documented" and never fail it: an {@link InternalError} for a fault on a file cut short while
 * mapped, which views throw, and which HotSpot may deliver after the faulting call has returned.
 *
 * <p>Properties: {@code sharena.fuzz.cases} (default 1000), {@code sharena.fuzz.seed} (default: the
 * clock; logged), {@code sharena.fuzz.case} (run only this case seed), {@code sharena.fuzz.strict},
 * {@code sharena.fuzz.opMillis} (time limit per operation, default 2000). Case files live in
 * {@code /dev/shm} (where arenas usually live) when it exists.
 */
class CorruptedFileFuzzTest {
    private static final boolean STRICT = Boolean.parseBoolean(System.getProperty("sharena.fuzz.strict", "true"));
    /**
     * A single operation running this long is a hang. The longest legitimate wait is about a second
     * (open and close wait that long for a lock held by a live process).
     */
    private static final long OP_MILLIS = Long.getLong("sharena.fuzz.opMillis", 2_000);
    /** An operation this old that is not waiting for the lock (two samples apart) is spinning in a walk. */
    private static final long BUSY_MILLIS = Long.getLong("sharena.fuzz.busyMillis", 500);
    private static final int PAGES = 64;
    private static final long REPAIR_TIMEOUT_NANOS = 500_000_000L;

    private static final String[] FILE_KINDS = {
        "truncate", "truncate.header", "extend", "truncate.mapped", "extend.mapped", "corrupt.mapped",
        "foreign.fifo", "foreign.dir", "foreign.proc", "foreign.devnull", "foreign.jar", "foreign.elf",
        "foreign.text", "foreign.random", "foreign.empty", "multi"};

    private final FuzzCases cases = FuzzCases.of("sharena.fuzz", 1000, "arena-core", "CorruptedFileFuzzTest");

    @TempDir
    Path dir;

    private byte[] cleanImage;
    private byte[] liveImage;
    private int firstUser;
    private Path fifo;

    private final FuzzFindings findings = new FuzzFindings();
    /** Arenas the running case has open, for the watchdog. */
    private final List<SharedArena> open = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** When the running operation started (nanoTime), 0 between operations. */
    private volatile long opStarted;
    /** Set by the watchdog: the case's arenas are unmapped, its remaining operations are skipped. */
    private volatile boolean abandoned;
    private Path work;
    /** Threads the watchdog could not stop; the run ends when there are {@link #MAX_STUCK}. */
    private int stuckForGood;
    private static final int MAX_STUCK = 3;

    @Test
    void corruptedFilesNeverHangCrashOrThrowUndocumentedExceptions() throws Exception {
        System.out.println(cases.banner("fuzz") + " strict=" + STRICT);
        final Path shm = Path.of("/dev/shm");
        work = Files.isDirectory(shm) && Files.isWritable(shm)
            ? Files.createTempDirectory(shm, "sharena-fuzz-") : dir;
        try {
            fuzz();
        } finally {
            if (work != dir) {
                try (var files = Files.list(work)) {
                    for (final Path f : (Iterable<Path>) files::iterator) {
                        Files.deleteIfExists(f);
                    }
                }
                Files.deleteIfExists(work);
            }
        }
    }

    private void fuzz() throws Exception {
        makeTemplates();
        fifo = work.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        final long start = System.nanoTime();
        final int count = cases.cases();
        int ran = 0;
        SharedArena.mappedListener = open::add;
        try (PrintWriter progress = new PrintWriter(Files.newBufferedWriter(Path.of("target", "fuzz-progress.log")))) {
            for (int i = 0; i < count && stuckForGood < MAX_STUCK; i++, ran++) {
                final long caseSeed = cases.caseSeed(i);
                progress.println("case " + i + " seed=" + caseSeed);
                progress.flush();
                runWithWatchdog(i, caseSeed);
            }
        } finally {
            SharedArena.mappedListener = null;
        }
        final long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("fuzz: " + ran + " cases in " + millis + " ms" + (ran < count
            ? " (stopped early: " + stuckForGood + " threads stuck for good, each spinning on a core)" : ""));
        System.out.println(findings.table(cases::replay));
        findings.assertClean(STRICT, cases::replay);
    }

    /** A healthy arena image, and one taken while its creator held span caches. */
    private void makeTemplates() throws IOException {
        final Path t = work.resolve("template.arena");
        try (SharedArena a = SharedArena.create(t, Capacity.ofPages(PAGES), ArenaOptions.defaults())) {
            firstUser = (int) a.firstUserPage();
            final int[] sizes = {1, 1, 3, 1, 8, 2, 1, 4, 1, 16};
            final int[] ptrs = new int[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                ptrs[i] = a.allocPages(sizes[i]);
                if (ptrs[i] != 0) {
                    a.raw().putLong(ptrs[i], 0x1234_0000L + i);
                }
            }
            a.freePages(ptrs[1], 1);
            a.freePages(ptrs[4], 8);
            a.freePages(ptrs[7], 4);
            a.reservePages(ptrs[4], 2);
            liveImage = Files.readAllBytes(t);
        }
        cleanImage = Files.readAllBytes(t);
    }

    private void runWithWatchdog(final int index, final long caseSeed) throws InterruptedException {
        final Thread worker = new Thread(() -> {
            try {
                runCase(caseSeed);
            } catch (final Throwable t) {
                findings.add("harness", "case", t.getClass().getSimpleName(), t, caseSeed, true);
            }
        }, "fuzz-case-" + index);
        worker.setDaemon(true);
        abandoned = false;
        opStarted = 0;
        worker.start();
        int busySamples = 0;
        while (worker.isAlive()) {
            worker.join(20);
            final long started = opStarted;
            final long age = started == 0 ? 0 : (System.nanoTime() - started) / 1_000_000L;
            if (age > OP_MILLIS && worker.isAlive()) {
                break;
            }
            // A lock wait legitimately takes up to a second; anything else that long is a walk
            // that does not end. Two samples, so a pause (GC, a busy machine) is not taken for one.
            busySamples = age > BUSY_MILLIS && !waitingForLock(worker.getStackTrace()) ? busySamples + 1 : 0;
            if (busySamples >= 5 && worker.isAlive()) {
                break;
            }
        }
        if (worker.isAlive()) {
            final StackTraceElement[] stack = worker.getStackTrace();
            abandoned = true;
            findings.hang(stack, caseSeed);
            // Unmapping makes the stuck thread's next access throw IllegalStateException.
            for (int attempt = 0; attempt < 20 && worker.isAlive(); attempt++) {
                for (final SharedArena a : open) {
                    a.abandonMapping();
                }
                worker.join(100);
            }
            if (worker.isAlive()) {
                stuckForGood++;
                findings.add("hang", "unstoppable", FuzzFindings.where(stack), null, caseSeed, false);
            }
        }
        open.clear();
    }

    private static boolean waitingForLock(final StackTraceElement[] stack) {
        for (final StackTraceElement e : stack) {
            if (e.getClassName().endsWith(".ArenaLock") || e.getClassName().contains("IdleStrategy")
                || e.getMethodName().equals("sleep") || e.getMethodName().equals("park")) {
                return true;
            }
        }
        return false;
    }

    /** One case: corrupt, then every operation; outcomes go to {@link #findings}. */
    private void runCase(final long caseSeed) throws Exception {
        final Random r = new Random(caseSeed);
        final String kind = r.nextInt(3) == 0 ? FILE_KINDS[r.nextInt(FILE_KINDS.length)]
            : FileMutator.IMAGE_KINDS[r.nextInt(FileMutator.IMAGE_KINDS.length)];
        final Path file = work.resolve("case.arena");
        Files.deleteIfExists(file);
        final byte[] image = (r.nextBoolean() ? cleanImage : liveImage).clone();
        final FileMutator mutator = new FileMutator(image, r, PAGES, firstUser);
        Callable<Void> whileMapped = null;
        Path target = file;
        switch (kind) {
            case "truncate", "truncate.header", "extend", "multi" -> {
                if (kind.equals("multi")) {
                    for (int i = 2 + r.nextInt(4); i > 0; i--) {
                        mutator.apply(FileMutator.IMAGE_KINDS[r.nextInt(FileMutator.IMAGE_KINDS.length)]);
                    }
                }
                Files.write(file, image);
                if (kind.startsWith("truncate")) {
                    resize(file, kind.equals("truncate.header") ? r.nextInt(5 * Geometry.PAGE_SIZE)
                        : r.nextInt(PAGES * Geometry.PAGE_SIZE));
                } else if (kind.equals("extend")) {
                    resize(file, PAGES * Geometry.PAGE_SIZE + 1 + r.nextInt(3 * Geometry.PAGE_SIZE));
                }
            }
            case "truncate.mapped", "extend.mapped", "corrupt.mapped" -> {
                Files.write(file, image);
                // Done by "another process" after this one has mapped the file (see Case.run).
                whileMapped = () -> {
                    if (kind.equals("truncate.mapped")) {
                        resize(file, r.nextInt(PAGES * Geometry.PAGE_SIZE));
                    } else if (kind.equals("extend.mapped")) {
                        resize(file, PAGES * Geometry.PAGE_SIZE + 1 + r.nextInt(3 * Geometry.PAGE_SIZE));
                    } else {
                        final byte[] now = Files.readAllBytes(file);
                        final FileMutator live = new FileMutator(now, r, PAGES, firstUser);
                        for (int w = FuzzCases.strayWrites(r); w > 0; w--) {
                            live.apply(FileMutator.IMAGE_KINDS[r.nextInt(FileMutator.IMAGE_KINDS.length)]);
                        }
                        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                            ch.write(java.nio.ByteBuffer.wrap(now), 0);
                        }
                    }
                    return null;
                };
            }
            case "foreign.fifo" -> target = fifo;
            case "foreign.dir" -> target = dir;
            case "foreign.proc" -> target = Path.of(r.nextBoolean() ? "/proc/self/status" : "/proc/self/maps");
            case "foreign.devnull" -> target = Path.of("/dev/null");
            case "foreign.jar" -> Files.copy(Path.of(org.junit.jupiter.api.Test.class.getProtectionDomain()
                .getCodeSource().getLocation().toURI()), file);
            case "foreign.elf" -> Files.copy(Path.of(System.getProperty("java.home"), "bin", "java"), file);
            case "foreign.text" -> Files.writeString(file, "not an arena\n".repeat(r.nextInt(2000)));
            case "foreign.random" -> {
                final byte[] junk = new byte[r.nextInt(PAGES * Geometry.PAGE_SIZE * 2)];
                r.nextBytes(junk);
                Files.write(file, junk);
            }
            case "foreign.empty" -> Files.write(file, new byte[0]);
            default -> {
                mutator.apply(kind);
                for (int w = FuzzCases.strayWrites(r); w > 1; w--) {
                    mutator.apply(FileMutator.IMAGE_KINDS[r.nextInt(FileMutator.IMAGE_KINDS.length)]);
                }
                Files.write(file, image);
            }
        }
        new Case(kind, caseSeed, target, r, whileMapped).run();
    }

    private static void resize(final Path file, final long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            if (size < ch.size()) {
                ch.truncate(size);
            } else {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {7}), size - 1);
            }
        }
    }

    /** The operations of one case, each outcome classified. */
    private final class Case {
        private final String kind;
        private final long seed;
        private final Path file;
        private final Random r;
        private final Callable<Void> whileMapped;

        Case(final String kind, final long seed, final Path file, final Random r, final Callable<Void> whileMapped) {
            this.kind = kind;
            this.seed = seed;
            this.file = file;
            this.r = r;
            this.whileMapped = whileMapped;
        }

        /** Runs {@code op}; a documented exception gives {@code null}, anything else is a finding. */
        private <T> T op(final String name, final Callable<T> op) {
            if (abandoned) {
                return null;
            }
            opStarted = System.nanoTime();
            try {
                return op.call();
            } catch (final Throwable t) {
                if (abandoned) {
                    return null; // the watchdog unmapped the arena under a stuck operation
                }
                return classify(name, t);
            } finally {
                opStarted = 0;
            }
        }

        private <T> T classify(final String name, final Throwable thrown) {
            try {
                throw thrown;
            } catch (final ArenaFormatException | ArenaFaultException | ArenaCorruptedException e) {
                return null;
            } catch (final IOException e) {
                return null;
            } catch (final InternalError e) {
                if (kind.equals("truncate.mapped") && e.getMessage() != null
                    && e.getMessage().contains("unsafe memory access")) {
                    // A view access to a range cut off under the mapping reports the fault this way;
                    // so does any access whose fault HotSpot delivers late, at a safepoint poll after
                    // the faulting call returned (in this test's loop, or the next system call).
                    findings.documented("InternalError after a truncation", name, e, seed);
                    return null;
                }
                findings.exception(kind, name, e, seed);
                return null;
            } catch (final Throwable t) {
                findings.exception(kind, name, t, seed);
                return null;
            }
        }

        private void run() {
            SharedArena premapped = null;
            if (whileMapped != null) {
                premapped = op("open", () -> track(SharedArena.open(file, ArenaOptions.defaults())));
                if (premapped != null) {
                    final SharedArena a = premapped;
                    op("allocPages", () -> a.allocPages(1));
                }
                op("change while mapped", whileMapped);
            }
            op("checkFile", () -> SharedArena.checkFile(file));
            final SharedArena ro = op("openReadOnly", () -> track(SharedArena.open(file,
                ArenaOptions.defaults().withReadOnly(true))));
            if (ro != null) {
                op("info", ro::info);
                op("stats", () -> ro.guarded("stat", () -> ArenaStats.read(ro)));
                op("check", () -> ro.guarded("check", () -> ArenaChecker.check(ro)));
                op("closeReadOnly", () -> close(ro));
            }
            final SharedArena rw = whileMapped != null ? premapped
                : op("open", () -> track(SharedArena.open(file, ArenaOptions.defaults())));
            if (rw != null) {
                exercise(rw);
                op("close", () -> close(rw));
            }
            final List<String> repaired = op("repairFile", () -> SharedArena.repairFile(file));
            final SharedArena forRepair = repaired == null ? null
                : op("openForRepair", () -> track(SharedArena.open(file, ArenaOptions.defaults())));
            Boolean ran = null;
            if (forRepair != null) {
                ran = op("repair", () -> forRepair.repair(REPAIR_TIMEOUT_NANOS));
                op("closeAfterRepair", () -> close(forRepair));
            }
            final List<String> after = new ArrayList<>();
            final List<String> fileAfter = op("checkFileAfterRepair", () -> SharedArena.checkFile(file));
            if (fileAfter != null) {
                after.addAll(fileAfter);
            }
            final SharedArena check = op("openForCheck", () -> track(SharedArena.open(file,
                ArenaOptions.defaults().withReadOnly(true))));
            if (check != null) {
                final List<String> v = op("checkAfterRepair", () -> check.guarded("check", () -> ArenaChecker.check(check)));
                if (v != null) {
                    after.addAll(v);
                }
                op("closeCheck", () -> close(check));
            }
            if (Boolean.TRUE.equals(ran) && !after.isEmpty() && !abandoned) {
                findings.notConverged(kind, after, fileAfter != null && !fileAfter.isEmpty(), seed);
            }
        }

        /** The arena is already in {@link #open}: {@link SharedArena#mappedListener} put it there when it was mapped. */
        private SharedArena track(final SharedArena a) {
            return a;
        }

        private Void close(final SharedArena a) throws IOException {
            a.close();
            open.remove(a);
            return null;
        }

        private void exercise(final SharedArena a) {
            final int capacity = (int) a.capacityPages();
            final boolean[] allocatedBefore = new boolean[capacity];
            final Boolean statesRead = op("pageState", () -> {
                for (int p = (int) a.firstUserPage(); p < capacity; p++) {
                    allocatedBefore[p] = a.pageStateCode(p) == PageEntry.ALLOCATED;
                }
                return true;
            });
            final int n = 1 + r.nextInt(8);
            final Integer one = op("allocPages", () -> a.allocPages(1));
            handedOut(a, "allocPages", one, 1, allocatedBefore, statesRead != null);
            final Integer many = op("allocPages(n)", () -> a.allocPages(n));
            handedOut(a, "allocPages(n)", many, n, allocatedBefore, statesRead != null);
            final int at = (r.nextInt(capacity + 4) - 2) * Geometry.PAGE_SIZE + (r.nextInt(8) == 0 ? 8 : 0);
            final Integer got = op("allocPagesAt", () -> a.allocPagesAt(at, n));
            if (got != null && got != 0 && got != at) {
                findings.add("handed out wrongly", "allocPagesAt returned another pointer", "", null, seed, false);
            }
            handedOut(a, "allocPagesAt", got, n, allocatedBefore, statesRead != null);
            op("reservePages", () -> a.reservePages((r.nextInt(capacity + 4) - 2) * Geometry.PAGE_SIZE, r.nextInt(4)));
            op("pageState(any)", () -> a.pageStateCode(r.nextInt(capacity + 10) - 5));
            final int ptr = one == null || one == 0 ? r.nextInt() : one;
            op("strict", () -> {
                try {
                    a.strict().putLong(ptr & ~7, 42);
                    return a.strict().getLong(ptr & ~7);
                } catch (final IndexOutOfBoundsException outside) {
                    return null; // a pointer past the end: the view's documented bounds check
                }
            });
            op("raw", () -> {
                final int any = r.nextInt(capacity * Geometry.PAGE_SIZE) & ~7;
                final long v = a.raw().getLong(any);
                if (one != null && one != 0) {
                    a.raw().putLong(one, v);
                }
                return v;
            });
            op("freePages", () -> {
                if (one != null && one != 0) {
                    a.freePages(one, 1);
                }
                a.freePages(r.nextInt(), r.nextInt(16) - 2);
                return null;
            });
        }

        /** A pointer handed out must be whole user pages that were not ALLOCATED before. */
        private void handedOut(final SharedArena a, final String op, final Integer ptr, final int n,
                               final boolean[] allocatedBefore, final boolean known) {
            if (ptr == null || ptr == 0) {
                return;
            }
            final long page = Integer.toUnsignedLong(ptr) >>> Geometry.PAGE_SHIFT;
            if ((ptr & (Geometry.PAGE_SIZE - 1)) != 0 || page < a.firstUserPage() || page + n > a.capacityPages()) {
                findings.add("handed out wrongly", op + ": outside the user pages", "", null, seed, false);
                return;
            }
            for (long p = page; known && p < page + n; p++) {
                if (allocatedBefore[(int) p]) {
                    findings.add("handed out wrongly", op + ": a page that was ALLOCATED", "", null, seed, false);
                    return;
                }
            }
            for (long p = page; p < page + n; p++) {
                allocatedBefore[(int) p] = true;
            }
        }
    }
}
