package io.sharena.cli;

import io.sharena.core.layout.Geometry;
import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.PageState;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.ChannelLayout;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code arena stress FILE}: worker JVMs ({@link StressWorker}) run random page, heap, named-root
 * and channel operations on one arena while processes die; then the arena is checked. Two modes:
 * <ul>
 *   <li><b>Random kills</b> (default): N workers; this process kills a random one with SIGKILL at
 *       random moments (uniform in 0.5..1.5 x {@code --kill-every}) and starts a replacement.</li>
 *   <li><b>One crash point</b> ({@code --crash-point ID}): N workers run; one is killed at once so
 *       that the arena has a dead process's work to repair; then one more worker starts armed with
 *       the point. With {@code --crash-action kill} it sends itself SIGKILL the first time it
 *       reaches the point; with {@code stop} it sends itself SIGSTOP there, the others run on for a
 *       second (they must keep completing operations), and it is resumed with SIGCONT and finishes.
 *       The point must be reached: a run whose armed worker never got there proves nothing and
 *       fails.</li>
 * </ul>
 * At the end it opens the arena (which repairs what dead workers left), checks it and prints, last,
 * {@code stress: kills=K ops=O recoveries=R violations=V double_handed=D leaked=L}, preceded in
 * crash-point mode by {@code crash_point=ID action=A reached=yes|no}; exit 0 only when V, D and L
 * are 0 (and the point was reached).
 *
 * <p>With {@code --store} the workers are {@link StoreStressWorker}s doing random store operations
 * on a shared store (one lane of keys each; a replacement takes its killed predecessor's lane), in
 * both modes; the end is {@link StoreStress#finish}, which verifies every key against the lanes'
 * logs and prints {@code stress: kills=K ops=N violations=V torn=T lost=L leaked=Z} instead.
 *
 * <p>The file: a new path, created with {@code --size} (or, with {@code --store}, {@code --memory}),
 * or a file an earlier stress run created for the same mode that no live process holds; anything
 * else is refused before a worker starts ({@link StressFile}: the workers would free, delete and
 * overwrite what is in it), and so are more {@code --processes} than an arena's registry holds, a
 * size too small, and an unknown {@code --crash-point} ({@link CrashPointIds}). A worker that ends
 * with an error without being killed fails the run (exit 1), whatever the checks find.
 *
 * <p>D: pages or heap objects a worker found non-zero when handed out, or whose stamp changed while
 * it owned them. L: pages that nobody can ever get back: pages still ALLOCATED at the end, other
 * than the heap's and the named roots', that carry the stamp of a worker that exited cleanly (it
 * freed all it had, so the allocator lost a free) or of no worker at all, plus pages left in a
 * transit state (in a cache or on the pending list) after the repair. Pages of shared structure (the
 * named-root directory, the heap's metadata page, the channel's header and rings) are not counted.
 * V: the arena checker's violations plus the heap's and the named roots'.
 */
@Command(name = "stress", mixinStandardHelpOptions = true,
    description = "Random alloc/free (or, with --store, random store operations) from many processes while killing"
        + " them with SIGKILL; then verify and check.")
final class StressCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "a new path (created with --size, or --memory with"
        + " --store), or a file an earlier stress run made that no live process holds; any other file is refused")
    Path file;

    @Option(names = "--processes", defaultValue = "4", description = "worker processes (default 4, at most 64)")
    int processes;

    @Option(names = "--seconds", defaultValue = "30", description = "how long to run (default 30)")
    int seconds;

    @Option(names = "--kill-every", defaultValue = "500", paramLabel = "MS", description = "mean time between kills (default 500)")
    long killEvery;

    @Option(names = "--size", defaultValue = "64M", description = "size when the file is created (default 64M, at least 1M)")
    String size;

    @Option(names = "--seed", description = "random seed (default: time)")
    Long seed;

    @Option(names = "--crash-point", paramLabel = "ID",
        description = "arm one worker with this crash point (e.g. AllocPoint.DRAIN_LIST_TAKEN: a constant of AllocPoint,"
            + " LockPoint, RootsPoint, HeapPoint, ChannelPoint, StorePoint, StoreRepairPoint or CutRepairPoint) instead of"
            + " random kills")
    String crashPoint;

    @Option(names = "--crash-action", defaultValue = "kill", paramLabel = "kill|stop",
        description = "what the armed worker does at the point: SIGKILL or SIGSTOP itself (default kill)")
    String crashAction;

    @Option(names = "--store", description = "stress a shared store instead: random store operations, each key"
        + " verified against what its worker acknowledged (the file is created as a store if missing)")
    boolean store;

    @Option(names = "--memory", defaultValue = "64M", paramLabel = "SIZE",
        description = "with --store: the store's memory limit when the file is created (default 64M)")
    String memory;

    @Option(names = "--keys", defaultValue = "32", paramLabel = "N",
        description = "with --store: keys of each kind per worker lane (default 32)")
    int keys;

    private StoreStress storeStress;
    private long startMillis;

    private final AtomicLong ops = new AtomicLong();
    private final AtomicLong doubleHanded = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    /** Of a file an earlier run made: the stamps its allocated pages held when this run began, by page. */
    private Map<Long, Long> inherited = Map.of();
    private final Set<Long> cleanPids = ConcurrentHashMap.newKeySet();
    private final Set<Long> allPids = ConcurrentHashMap.newKeySet();

    private final class Worker {
        final int lane;
        final Process process;
        /** Whether this process sent it SIGKILL (or SIGSTOP): its exit status is then no failure. */
        volatile boolean killed;
        final Thread reader;
        final CountDownLatch reachedPoint = new CountDownLatch(1);
        volatile long lastOps;
        volatile long lastDouble;

        Worker(final int lane, final Process process) {
            this.lane = lane;
            this.process = process;
            this.reader = new Thread(this::read, "stress-reader-" + process.pid());
            reader.start();
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    if (line.startsWith("pid=")) {
                        allPids.add(Long.parseLong(line.substring(4)));
                    } else if (line.startsWith("status ") || line.startsWith("final ")) {
                        final String[] f = line.split(" ");
                        lastOps = Long.parseLong(f[1].substring(4));
                        lastDouble = f.length > 2 ? Long.parseLong(f[2].substring(7)) : 0;
                        if (line.startsWith("final ")) {
                            cleanPids.add(process.pid());
                        }
                    } else {
                        if (line.startsWith("crashpoint: ")) {
                            reachedPoint.countDown();
                        }
                        System.err.println("[worker " + process.pid() + "] " + line);
                    }
                }
            } catch (final IOException killed) {
                // the pipe went away with the process
            }
        }

        void settle() throws InterruptedException {
            reader.join();
            ops.addAndGet(lastOps);
            doubleHanded.addAndGet(lastDouble);
            // A worker that ended badly without being killed failed (an exception: its lines are above).
            final int exit = process.waitFor();
            if (!killed && exit != 0) {
                failures.incrementAndGet();
                System.out.println("stress: worker " + process.pid() + " failed: exit=" + exit);
            }
        }
    }

    @Override
    public Integer call() throws Exception {
        if (processes < 1 || seconds < 1 || killEvery < 1) {
            throw new IllegalArgumentException("processes, seconds and kill-every must be positive: processes="
                + processes + ", seconds=" + seconds + ", killEvery=" + killEvery);
        }
        if (processes > StressFile.MAX_PROCESSES) {
            throw new IllegalArgumentException("--processes more than an arena's registry holds: processes=" + processes
                + ", max=" + StressFile.MAX_PROCESSES + " (each worker process takes a slot)");
        }
        if (!crashAction.equals("kill") && !crashAction.equals("stop")) {
            throw new IllegalArgumentException("--crash-action must be kill or stop: crashAction=" + crashAction);
        }
        if (crashPoint != null) {
            CrashPointIds.check(crashPoint);
        }
        if (store && keys < 1) {
            throw new IllegalArgumentException("--keys must be positive: keys=" + keys);
        }
        // Everything about the file is settled here, before a worker starts: a new file, or one an
        // earlier stress made that nobody holds (StressFile).
        final boolean exists = StressFile.exists(file);
        if (exists) {
            StressFile.vetExisting(file, store);
            if (!store) {
                inherited = StressFile.stampedPages(file);
            }
        }
        if (store) {
            storeStress = new StoreStress(file, processes, keys);
            storeStress.setUp(!exists, Capacity.parse(memory).bytes());
        } else if (!exists) {
            StressFile.createPages(file, Capacity.parse(size));
        }
        final SplittableRandom random = new SplittableRandom(seed == null ? System.nanoTime() : seed);
        if (crashPoint != null) {
            return atCrashPoint(random);
        }
        final long start = System.currentTimeMillis();
        startMillis = start;
        final long end = start + TimeUnit.SECONDS.toMillis(seconds);
        final List<Worker> running = new ArrayList<>();
        final List<Worker> finished = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            running.add(start(random, end, i));
        }
        int kills = 0;
        long nextKill = start + (long) (killEvery * (0.5 + random.nextDouble()));
        long nextProgress = start + 5000;
        while (System.currentTimeMillis() < end - 500) {
            Thread.sleep(Math.max(1, Math.min(nextKill, end) - System.currentTimeMillis()));
            final long now = System.currentTimeMillis();
            // Only a worker that is under way (it has reported operations) is killed, so that every
            // kill lands in the middle of work however slowly a loaded machine starts JVMs.
            final List<Worker> victims = running.stream().filter(w -> w.lastOps > 0).toList();
            if (now >= nextKill && now < end - 500 && victims.isEmpty()) {
                nextKill = now + 50;
            } else if (now >= nextKill && now < end - 500) {
                final Worker victim = victims.get(random.nextInt(victims.size()));
                running.remove(victim);
                victim.killed = true;
                victim.process.destroyForcibly(); // SIGKILL
                victim.process.waitFor();
                finished.add(victim);
                kills++;
                running.add(start(random, end, victim.lane));
                nextKill = now + (long) (killEvery * (0.5 + random.nextDouble()));
            }
            if (now >= nextProgress) {
                System.err.printf("stress: %d s left, %d kills%n", (end - now) / 1000, kills);
                nextProgress += 5000;
            }
        }
        for (final Worker w : running) {
            if (!w.process.waitFor(60, TimeUnit.SECONDS)) {
                w.process.destroyForcibly();
            }
            finished.add(w);
        }
        for (final Worker w : finished) {
            w.settle();
        }
        return store ? storeStress.finish(kills, ops.get(), failures.get()) : finish(kills);
    }

    /** Crash-point mode; see the class documentation. */
    private int atCrashPoint(final SplittableRandom random) throws IOException, InterruptedException {
        startMillis = System.currentTimeMillis();
        final long end = startMillis + TimeUnit.SECONDS.toMillis(seconds);
        final List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            workers.add(start(random, end, i));
        }
        // A dead process's slot, caches and pending frees: the armed worker's open repairs them, so
        // the repair's own points are reached too.
        Thread.sleep(Math.min(300, TimeUnit.SECONDS.toMillis(seconds) / 4));
        final Worker victim = workers.removeFirst();
        victim.killed = true;
        victim.process.destroyForcibly();
        victim.process.waitFor();
        int kills = 1;
        final Worker armed = start(List.of("-Dsharena.crashpoints=true", "-Dsharena.crashpoint=" + crashPoint,
            "-Dsharena.crashpoint.action=" + crashAction), random, end, victim.lane);
        // Until it reaches the point or ends: a point met only while closing counts too.
        boolean reached = false;
        while (!reached && armed.process.isAlive()) {
            reached = armed.reachedPoint.await(50, TimeUnit.MILLISECONDS);
        }
        if (!reached) {
            armed.reader.join();
            reached = armed.reachedPoint.getCount() == 0;
        }
        if (reached && crashAction.equals("kill")) {
            armed.killed = true;
            armed.process.waitFor();
            kills++;
        } else if (reached) {
            // The armed worker is stopped at the point, alive, holding whatever it held there.
            Thread.sleep(1000);
            new ProcessBuilder("kill", "-CONT", Long.toString(armed.process.pid())).start().waitFor();
        }
        workers.add(armed);
        final List<Worker> finished = new ArrayList<>(List.of(victim));
        for (final Worker w : workers) {
            if (!w.process.waitFor(end - System.currentTimeMillis() + 60_000, TimeUnit.MILLISECONDS)) {
                System.err.println("stress: worker " + w.process.pid() + " did not finish; killing it");
                w.process.destroyForcibly();
                w.process.waitFor();
            }
            finished.add(w);
        }
        for (final Worker w : finished) {
            w.settle();
        }
        System.out.printf("stress: crash_point=%s action=%s reached=%s%n", crashPoint, crashAction, reached ? "yes" : "no");
        final int status = store ? storeStress.finish(kills, ops.get(), failures.get()) : finish(kills);
        return status == 0 && reached ? 0 : 1;
    }

    private Worker start(final SplittableRandom random, final long end, final int lane) throws IOException {
        return start(List.of(), random, end, lane);
    }

    /** Starts a worker for {@code lane} (store mode: the lane's keys are its own; page mode: unused). */
    private Worker start(final List<String> jvmOptions, final SplittableRandom random, final long end, final int lane)
        throws IOException {
        if (store) {
            // C1 alone: a store worker is replaced at every kill, and start-up is most of a short life.
            final List<String> options = new ArrayList<>(List.of("-XX:TieredStopAtLevel=1"));
            options.addAll(jvmOptions);
            return new Worker(lane, JavaCommand.start(options, StoreStressWorker.class,
                storeStress.workerArgs(lane, random.nextLong(), startMillis, end)));
        }
        return new Worker(lane, JavaCommand.start(jvmOptions, StressWorker.class, file.toString(),
            Long.toString(random.nextLong()), Long.toString(end)));
    }

    private int finish(final int kills) throws IOException {
        final List<String> violations;
        final long recoveries;
        long leaked = 0;
        // Opening for writing repairs what the last killed workers left; then what the next user
        // of the heap and roots does after kills: reclaim what the killed workers had in transit
        // (objects between a free stack and their in-use bit, a retired page not yet given back).
        // Pages that repair frees may land in this attachment's own span cache, which close gives
        // back: the check below runs on a fresh attachment, so a page still in transit there is a leak.
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            io.sharena.ipc.IpcCheck.repair(arena, 5_000_000_000L).forEach(line -> System.out.println("repaired: " + line));
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            violations = new ArrayList<>(ArenaChecker.check(arena));
            violations.addAll(io.sharena.ipc.IpcCheck.check(arena));
            final ArenaStats stats = ArenaStats.read(arena);
            recoveries = stats.counters().get("recoveries");
            // Every worker has closed (drained its cache and pending frees) or died and been
            // repaired by this open: a page still in transit can never come back.
            leaked += stats.pages().get("CACHED") + stats.pages().get("PENDING");
            // The heap's metadata page and the roots directory are shared structure, not worker pages.
            final Set<Long> structural = new HashSet<>();
            NamedRoots.existing(arena).ifPresent(r -> {
                final int dir = ArenaInternals.rootsDirectory(arena);
                for (int i = 0; i < RootsLayout.PAGES; i++) {
                    structural.add(Geometry.pageOf(dir) + i);
                }
                structural.add(Geometry.pageOf(r.get(ObjectHeap.ROOT_NAME)));
                final int channel = r.get(StressWorker.CHANNEL);
                if (channel != 0) {
                    structural.add(Geometry.pageOf(channel));
                    for (int lane = 0; lane < StressWorker.CHANNEL_LANES; lane++) {
                        final int ring = arena.raw().getInt(ChannelLayout.lane(channel, lane) + ChannelLayout.RING);
                        for (int i = 0; i < StressWorker.CHANNEL_RING_BYTES / Geometry.PAGE_SIZE; i++) {
                            structural.add(Geometry.pageOf(ring) + i);
                        }
                    }
                }
            });
            final Set<Long> killed = new HashSet<>(allPids);
            killed.removeAll(cleanPids);
            for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
                final int magic = arena.raw().getInt(Geometry.pointerOf(p));
                if (arena.pageState(p) == PageState.ALLOCATED && magic != HeapLayout.MAGIC_SLAB
                    && magic != HeapLayout.MAGIC_LARGE && !structural.contains(p)) {
                    final long stamp = arena.raw().getLong(Geometry.pointerOf(p));
                    final long owner = stamp >>> 32;
                    // A page an earlier run's killed worker left keeps the stamp it had when this run began.
                    if (stamp != 0 && ((int) stamp != (int) p || !killed.contains(owner))
                        && !Long.valueOf(stamp).equals(inherited.get(p))) {
                        leaked++;
                        System.out.printf("leaked: page=%d stamp=0x%x (pid %d)%n", p, stamp, owner);
                    }
                }
            }
        }
        violations.forEach(v -> System.out.println("violation: " + v));
        if (failures.get() > 0) {
            // Each is named above ("worker PID failed"): a run with a failed worker proves nothing.
            System.out.printf("stress: %d worker(s) failed without being killed%n", failures.get());
        }
        System.out.printf("stress: kills=%d ops=%d recoveries=%d violations=%d double_handed=%d leaked=%d%n",
            kills, ops.get(), recoveries, violations.size(), doubleHanded.get(), leaked);
        return violations.isEmpty() && doubleHanded.get() == 0 && leaked == 0 && failures.get() == 0 ? 0 : 1;
    }
}
