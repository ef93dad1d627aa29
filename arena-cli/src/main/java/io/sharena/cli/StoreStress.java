package io.sharena.cli;

import io.sharena.cli.StoreStressModel.Ambiguous;
import io.sharena.cli.StoreStressModel.State;
import io.sharena.core.ArenaBusyException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.check.ArenaStats;
import io.sharena.ipc.IpcCheck;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.RootsLayout;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code arena stress FILE --store}: the store half of {@link StressCommand}. Before the workers
 * ({@link StoreStressWorker}) start it makes sure the file is a store and that the lanes' keys are
 * absent; at the end it verifies every key of every lane against its log, repairs and checks the
 * file, and makes the ring go round once to show that nothing a dead worker left is held for good.
 *
 * <p>The summary's counts: <b>violations</b>: a result or value other than memcached's rules give
 * for the lane's known state (found by a worker or by the final verification), what the checks
 * find, and workers that failed (ended with an error without being killed); <b>torn</b>: a value
 * that is not whole (parts of two writes); <b>lost</b>: a key
 * without a value it was acknowledged to hold (no delete or expiry explains it, and nothing is
 * evicted: each lane paces its writes to a share of the ring); <b>leaked</b>: arena pages other
 * than the store's and the roots' still allocated or in transit, plus ring space that could not be
 * reclaimed when the ring went round.
 */
final class StoreStress {
    /** Of the ring bytes free at the start, the share the lanes may write: the rest is margin. */
    private static final double RING_SHARE = 0.7;
    private static final int MAX_ITEM = 64 << 10;
    private static final long REPAIR_TIMEOUT_NANOS = 5_000_000_000L;

    private final Path file;
    private final int lanes;
    private final int keys;
    private Path logs;
    private long budget;

    StoreStress(final Path file, final int lanes, final int keys) {
        this.file = file;
        this.lanes = lanes;
        this.keys = keys;
    }

    /** Of the ring, each lane's share at least: below it the lanes could hardly write. */
    static final long MIN_LANE_BUDGET = 64 << 10;

    /**
     * Creates the store with {@code memoryLimit} (marked as stress's own: {@link StressFile}), or
     * opens the one an earlier run made (vetted by the caller), and deletes every lane key, so each
     * lane starts empty. A store too small for the lanes is refused; a file this call created is
     * deleted again if anything fails.
     *
     * @throws IllegalArgumentException if each lane's share of the ring would be under {@link #MIN_LANE_BUDGET}
     * @throws ArenaBusyException       if a live process holds a lock of the store past its timeout
     */
    void setUp(final boolean create, final long memoryLimit) throws IOException {
        try (SharedStore store = create
            ? SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(memoryLimit).withMaxItemSize(MAX_ITEM))
            : SharedStore.open(file, StoreOptions.defaults())) {
            if (create) {
                StressFile.mark(store.arena(), true);
            }
            for (int lane = 0; lane < lanes; lane++) {
                final StoreStressModel m = new StoreStressModel(lane, keys);
                for (final String key : m.states.keySet()) {
                    if (store.delete(key.getBytes(StandardCharsets.US_ASCII)) == StoreResult.BUSY) {
                        throw new ArenaBusyException("store lock busy: a live process holds it: key=" + key);
                    }
                }
            }
            // What live items hold once the lane keys are gone: an earlier run's dead records, which
            // fill the ring up to its head, take no room (the tail passes them).
            final Map<String, Long> st = store.stats();
            final long writable = st.get("limit_maxbytes") - st.get("limit_maxbytes") / 64 - st.get("bytes");
            this.budget = (long) (writable * RING_SHARE / lanes);
            if (budget < MIN_LANE_BUDGET) {
                throw new IllegalArgumentException("store too small for " + lanes + " lane(s): each lane's share of"
                    + " the ring is " + budget + " bytes, at least " + MIN_LANE_BUDGET + " needed (give a larger"
                    + " --memory, or fewer --processes" + (create ? "" : ", and a new path") + ")");
            }
        } catch (final IOException | RuntimeException | Error e) {
            // Closed by now: a file this call created is ours, whatever failed (a FileAlreadyExistsException
            // is another's, made since the caller looked).
            if (create && !(e instanceof java.nio.file.FileAlreadyExistsException)) {
                StressFile.deleteQuietly(file, e);
            }
            throw e;
        }
        this.logs = Files.createTempDirectory("sharena-stress-");
    }

    /** @return the arguments of lane {@code lane}'s worker */
    String[] workerArgs(final int lane, final long seed, final long start, final long end) {
        return new String[] {file.toString(), Integer.toString(lane), Integer.toString(lanes), Integer.toString(keys),
            log(lane).toString(), Long.toString(seed), Long.toString(start), Long.toString(end), Long.toString(budget)};
    }

    private Path log(final int lane) {
        return logs.resolve("lane-" + lane + ".log");
    }

    /**
     * Verifies, repairs, checks and prints the summary.
     *
     * @param failures workers that ended with an error without being killed: violations
     * @return the exit status
     */
    int finish(final int kills, final long ops, final long failures) throws IOException {
        long violationCount = failures;
        long torn = 0;
        long lost = 0;
        long leaked = 0;
        final List<String> found = new ArrayList<>();
        // The next user's repair: locks the killed workers held are taken over.
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            IpcCheck.repair(arena, REPAIR_TIMEOUT_NANOS).forEach(line -> System.out.println("repaired: " + line));
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            for (int lane = 0; lane < lanes; lane++) {
                final StoreStressModel m = StoreStressModel.replay(log(lane), lane, keys);
                violationCount += m.violations;
                torn += m.torn;
                lost += m.lost;
                m.reports.stream().sorted().limit(20).forEach(r -> found.add("lane " + m.lane + ": " + r));
                for (final Map.Entry<String, State> e : m.states.entrySet()) {
                    final Ambiguous a = m.ambiguous.get(e.getKey());
                    final String[] wrong = StoreStressModel.judge(e.getKey(), StoreStressModel.read(store, e.getKey()),
                        a == null ? List.of(e.getValue()) : List.of(a.before(), a.after()));
                    if (wrong != null) {
                        switch (wrong[0]) {
                            case "torn" -> torn++;
                            case "lost" -> lost++;
                            default -> violationCount++;
                        }
                        found.add("final " + wrong[0] + ": " + wrong[1]);
                    }
                }
            }
            final Map<String, Long> st = store.stats();
            System.out.printf("stress: store curr_items=%d bytes=%d evictions=%d reclaimed=%d ring_used=%d"
                    + " limit_maxbytes=%d cmd_get=%d cmd_set=%d%n", st.get("curr_items"), st.get("bytes"),
                st.get("evictions"), st.get("reclaimed"), st.get("ring_used"), st.get("limit_maxbytes"),
                st.get("cmd_get"), st.get("cmd_set"));
            if (st.get("evictions") > 0) {
                System.out.println("stress: the store evicted items (it was not empty, or too small for the run):"
                    + " a missing key still counts as lost");
            }
        }
        final List<String> checked = new ArrayList<>();
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            checked.addAll(ArenaChecker.check(arena));
            checked.addAll(IpcCheck.check(arena));
            leaked += leakedPages(arena);
        }
        leaked += lap(checked);
        found.forEach(line -> System.out.println("stress " + line));
        checked.forEach(v -> System.out.println("violation: " + v));
        violationCount += checked.size();
        System.out.printf("stress: kills=%d ops=%d violations=%d torn=%d lost=%d leaked=%d%n", kills, ops,
            violationCount, torn, lost, leaked);
        final boolean clean = violationCount == 0 && torn == 0 && lost == 0 && leaked == 0;
        if (clean) {
            try (Stream<Path> files = Files.walk(logs)) {
                for (final Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        } else {
            System.out.println("stress: the lanes' logs are kept in " + logs);
        }
        return clean ? 0 : 1;
    }

    /**
     * @return pages allocated other than the store's region and the roots directory, or left in a
     * cache or on the pending list: every worker has closed or died and been repaired
     */
    private static long leakedPages(final SharedArena arena) {
        final ArenaStats stats = ArenaStats.read(arena);
        final int header = NamedRoots.existing(arena).map(r -> r.get(SharedStore.DEFAULT_ROOT)).orElse(0);
        final long region = header == 0 ? 0 : arena.raw().getInt(header + StoreLayout.REGION_PAGES);
        final long extra = stats.pages().get("ALLOCATED") - region - RootsLayout.PAGES;
        if (extra != 0) {
            System.out.printf("leaked: %d page(s) allocated besides the store's %d and the roots' %d%n", extra, region,
                RootsLayout.PAGES);
        }
        return Math.abs(extra) + stats.pages().get("CACHED") + stats.pages().get("PENDING");
    }

    /**
     * Writes until the ring's tail has passed everything that was in it: records dead workers left
     * reserved or half-published are passed like any other. A write that cannot get room is ring
     * space held for good. The lap's items are deleted afterwards; the store is checked again.
     *
     * @return 1 if a write found no room, else 0
     */
    private long lap(final List<String> checked) throws IOException {
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            final long target = store.stats().get("ring_head");
            final byte[] filler = new byte[4000];
            int n = 0;
            long leaked = 0;
            while (store.stats().get("ring_tail") < target) {
                final StoreResult r = store.set(("stress-lap-" + n).getBytes(StandardCharsets.US_ASCII), filler, 0, 0);
                if (r != StoreResult.STORED) {
                    System.out.println("leaked: the ring could not make room for a write: result=" + r + ", tail="
                        + store.stats().get("ring_tail") + ", target=" + target);
                    leaked = 1;
                    break;
                }
                n++;
            }
            for (int i = 0; i < n; i++) {
                store.delete(("stress-lap-" + i).getBytes(StandardCharsets.US_ASCII));
            }
            checked.addAll(store.check());
            return leaked;
        }
    }
}
