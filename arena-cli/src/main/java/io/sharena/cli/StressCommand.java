package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.HeapLayout;
import io.sharena.ipc.layout.RootsLayout;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code arena stress FILE --processes N --seconds S --kill-every MS}: N child JVMs run
 * {@link StressWorker} on one arena while this process kills a random one with SIGKILL at random
 * moments (uniform in 0.5..1.5 x MS) and starts a replacement. At the end it checks the arena and
 * prints, last,
 * {@code stress: kills=K ops=O recoveries=R violations=V double_handed=D unaccounted=U}; exit 0 only
 * when V, D and U are 0.
 *
 * <p>D: pages or heap objects a worker found non-zero when handed out, or whose stamp changed while
 * it owned them. U: pages still ALLOCATED at the end, other than the heap's and the named roots',
 * that carry the stamp of a worker that exited cleanly (it freed all it had, so the allocator lost
 * a free) or of no worker at all. V: the arena checker's violations plus the heap's and the named
 * roots'.
 */
@Command(name = "stress", mixinStandardHelpOptions = true,
    description = "Random alloc/free from many processes while killing them with SIGKILL; then check.")
final class StressCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "arena file (created with --size if missing)")
    Path file;

    @Option(names = "--processes", defaultValue = "4", description = "worker processes (default 4)")
    int processes;

    @Option(names = "--seconds", defaultValue = "30", description = "how long to run (default 30)")
    int seconds;

    @Option(names = "--kill-every", defaultValue = "500", paramLabel = "MS", description = "mean time between kills (default 500)")
    long killEvery;

    @Option(names = "--size", defaultValue = "64M", description = "size when the file is created (default 64M)")
    String size;

    @Option(names = "--seed", description = "random seed (default: time)")
    Long seed;

    private final AtomicLong ops = new AtomicLong();
    private final AtomicLong doubleHanded = new AtomicLong();
    private final Set<Long> cleanPids = ConcurrentHashMap.newKeySet();
    private final Set<Long> allPids = ConcurrentHashMap.newKeySet();

    private final class Worker {
        final Process process;
        final Thread reader;
        volatile long lastOps;
        volatile long lastDouble;

        Worker(final Process process) {
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
                        lastDouble = Long.parseLong(f[2].substring(7));
                        if (line.startsWith("final ")) {
                            cleanPids.add(process.pid());
                        }
                    } else {
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
        }
    }

    @Override
    public Integer call() throws Exception {
        if (processes < 1 || seconds < 1 || killEvery < 1) {
            throw new IllegalArgumentException("processes, seconds and kill-every must be positive: processes="
                + processes + ", seconds=" + seconds + ", killEvery=" + killEvery);
        }
        if (!Files.exists(file)) {
            SharedArena.create(file, Capacity.parse(size), ArenaOptions.defaults()).close();
        }
        final SplittableRandom random = new SplittableRandom(seed == null ? System.nanoTime() : seed);
        final long start = System.currentTimeMillis();
        final long end = start + TimeUnit.SECONDS.toMillis(seconds);
        final List<Worker> running = new ArrayList<>();
        final List<Worker> finished = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            running.add(start(random, end));
        }
        int kills = 0;
        long nextKill = start + (long) (killEvery * (0.5 + random.nextDouble()));
        long nextProgress = start + 5000;
        while (System.currentTimeMillis() < end - 500) {
            Thread.sleep(Math.max(1, Math.min(nextKill, end) - System.currentTimeMillis()));
            final long now = System.currentTimeMillis();
            if (now >= nextKill && now < end - 500) {
                final Worker victim = running.remove(random.nextInt(running.size()));
                victim.process.destroyForcibly(); // SIGKILL
                victim.process.waitFor();
                finished.add(victim);
                kills++;
                running.add(start(random, end));
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
        return finish(kills);
    }

    private Worker start(final SplittableRandom random, final long end) throws IOException {
        return new Worker(JavaCommand.start(StressWorker.class, file.toString(), Long.toString(random.nextLong()),
            Long.toString(end)));
    }

    private int finish(final int kills) throws IOException {
        final List<String> violations;
        final long recoveries;
        long unaccounted = 0;
        // Opening for writing repairs what the last killed workers left.
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            // And what the next user of the heap and roots does after kills: reclaim what the
            // killed workers had in transit (objects between a free stack and their in-use bit).
            io.sharena.ipc.IpcCheck.repair(arena, 5_000_000_000L);
            violations = new ArrayList<>(ArenaChecker.check(arena));
            NamedRoots.existing(arena).ifPresent(r -> violations.addAll(r.check()));
            ObjectHeap.existing(arena).ifPresent(h -> violations.addAll(h.check()));
            recoveries = ArenaStats.read(arena).counters().get("recoveries");
            // The heap's metadata page and the roots directory are shared structure, not worker pages.
            final Set<Long> structural = new HashSet<>();
            NamedRoots.existing(arena).ifPresent(r -> {
                final int dir = arena.raw().getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
                for (int i = 0; i < RootsLayout.PAGES; i++) {
                    structural.add((long) (dir >>> 12) + i);
                }
                structural.add((long) (r.get(ObjectHeap.ROOT_NAME) >>> 12));
            });
            final Set<Long> killed = new HashSet<>(allPids);
            killed.removeAll(cleanPids);
            for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
                final int magic = arena.raw().getInt((int) (p << 12));
                if (arena.pageState(p) == PageEntry.ALLOCATED && magic != HeapLayout.MAGIC_SLAB
                    && magic != HeapLayout.MAGIC_LARGE && !structural.contains(p)) {
                    final long stamp = arena.raw().getLong((int) (p << 12));
                    final long owner = stamp >>> 32;
                    if (stamp != 0 && ((int) stamp != (int) p || !killed.contains(owner))) {
                        unaccounted++;
                    }
                }
            }
        }
        violations.forEach(v -> System.out.println("violation: " + v));
        System.out.printf("stress: kills=%d ops=%d recoveries=%d violations=%d double_handed=%d unaccounted=%d%n",
            kills, ops.get(), recoveries, violations.size(), doubleHanded.get(), unaccounted);
        return violations.isEmpty() && doubleHanded.get() == 0 && unaccounted == 0 ? 0 : 1;
    }
}
