package io.sharena.ipc.store;

import io.sharena.testing.ChildJvm;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The other process of the store's multi-process tests. Modes (FILE is the store file):
 * <ul>
 *   <li>{@code write FILE N}: sets key{i} to {@link Values#make}(i) for i below N; says "written".</li>
 *   <li>{@code read FILE N}: reads key0..key{N-1} zero-copy, checks each in place; says "read N ok"
 *       or "read bad ...".</li>
 *   <li>{@code incr FILE KEY COUNT}: incr KEY by 1, COUNT times; says "incremented".</li>
 *   <li>{@code reserve FILE KEY}: reserves a 3,000-byte value for KEY, writes half of it, says
 *       "reserved" and sleeps until killed.</li>
 *   <li>{@code setloop FILE KEY START}: sets KEY to Values.make(seq) for seq = START, START+1, ...,
 *       saying "acked seq" after each STORED, until killed.</li>
 *   <li>{@code random FILE SEED START}: forever, on keys s0..s31 a set of "s{i}:{seq}" or a delete, on
 *       keys n0..n7 an incr; prints "try ..." before and "ack ..." after each, seq counting from START.</li>
 *   <li>{@code op FILE OP}: one operation on the keys the crash test prepared: set k to
 *       Values.make(2), incr n, delete d, append a, or fill (sets f0, f1, ... until killed,
 *       forcing evictions); says "op done". Armed with a crash point, it is killed inside. Also
 *       commit (k's new value reserved, written in place and committed), invalidate (k), reclaim
 *       (an expired key e stored, then reclaimed as the crawler does) and fill with
 *       {@code -Dstorechild.evictions=false} (an opener that moves live items instead of evicting
 *       them). With {@code -Dstorechild.within=METHOD} the armed point kills only when reached
 *       inside that method of the store (say, reinsert: a reservation made by the tail's second
 *       chance rather than by the write itself).</li>
 *   <li>{@code conflict FILE MILLIS TIMEOUT_MS}: {@link #conflict} for MILLIS ms, with that lock
 *       timeout; says "conflict done incrs=I appends=A bad=B ops=O".</li>
 *   <li>{@code turns FILE N TIMEOUT_MS}: with that lock timeout, after a line on stdin, sets
 *       c0..c{N-1} to Values.make(i), each retried while refused; says "turns done busy=B
 *       refused=R" (B: BUSY answers, also retried).</li>
 *   <li>{@code expiring FILE UNIX_SECONDS}: sets keep (no expiry), rel (3600 s relative), abs
 *       (absolute UNIX_SECONDS) and gone (negative); says "written".</li>
 * </ul>
 */
public final class StoreChild {
    private static final int APPENDS_PER_PROCESS = 1_500;

    private StoreChild() {
    }

    static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Starts this class in a child JVM with {@code args}. */
    static ChildJvm start(final String... args) throws IOException {
        return start(List.of(), args);
    }

    /**
     * Starts this class in a child JVM, after extra JVM options ({@code -Dsharena.crashpoint=...},
     * say). C1 alone: the kill tests start one child per crash point and per round, and start-up is
     * most of their time.
     */
    static ChildJvm start(final List<String> jvmOptions, final String... args) throws IOException {
        final List<String> options = new ArrayList<>(List.of("-XX:TieredStopAtLevel=1"));
        options.addAll(jvmOptions);
        return ChildJvm.start(StoreChild.class, options, args);
    }

    /**
     * Store work that conflicts with the crash test's keys (k, n, d, a), each operation bounded by
     * the store's lock timeout: sets of k, incr of n, delete of d, append to a, sets of other keys,
     * and reads of all, each value read checked to be whole.
     *
     * @return {incrs stored, appends stored, bad values or results, operations}
     */
    static long[] conflict(final SharedStore store, final long millis, final String tag) {
        final long[] counts = new long[4];
        final long[] r = new long[1];
        final long end = System.nanoTime() + millis * 1_000_000;
        for (int i = 0; System.nanoTime() - end < 0; i++) {
            final StoreResult res = switch (i % 6) {
                case 0 -> store.set(b("k"), Values.make(1000 + i), 0, 0);
                case 1 -> store.incr(b("n"), 1, r);
                case 2 -> store.delete(b("d"));
                // Two processes append at most 1,500 bytes each, so "a" stays within the tests'
                // 4 KiB item limit however fast the machine (then this slot deletes d instead).
                case 3 -> counts[1] < APPENDS_PER_PROCESS ? store.append(b("a"), b("+")) : store.delete(b("d"));
                case 4 -> store.set(b(tag + (i % 50)), Values.make(i), 0, 0);
                default -> {
                    final byte[] k = store.get(b("k"));
                    final byte[] n = store.get(b("n"));
                    if (k == null || Values.check(k, k.length) != null || n == null
                        || !new String(n, StandardCharsets.US_ASCII).matches("[0-9]+")) {
                        counts[2]++;
                    }
                    yield StoreResult.STORED;
                }
            };
            if (res == StoreResult.STORED && i % 6 == 1) {
                counts[0]++;
            } else if (res == StoreResult.STORED && i % 6 == 3) {
                counts[1]++;
            } else if (res != StoreResult.STORED && res != StoreResult.BUSY && res != StoreResult.NO_MEMORY
                && res != StoreResult.DELETED && res != StoreResult.NOT_FOUND) {
                counts[2]++;
            }
            counts[3]++;
        }
        return counts;
    }

    /** Narrows the armed crash point to hits made inside {@code method} (a store class's method name). */
    private static void killOnlyWithin(final String method) {
        final String target = System.getProperty("sharena.crashpoint");
        final io.sharena.core.crash.CrashPoints.Hook kill = io.sharena.core.crash.CrashPoints.signalAt(target, 0, 9, "kill");
        io.sharena.core.crash.CrashPoints.install(point -> {
            if (point.id().equals(target) && StackWalker.getInstance().walk(frames -> frames.anyMatch(
                f -> f.getClassName().startsWith("io.sharena.ipc.store.") && f.getMethodName().equals(method)))) {
                kill.reached(point);
            }
        });
    }

    public static void main(final String[] args) throws Exception {
        if (System.getProperty("storechild.within") != null) {
            killOnlyWithin(System.getProperty("storechild.within"));
        }
        if (args[0].equals("repair")) {
            // The tools' repair, as check --repair runs it: on the arena, for a store that may not open.
            try (io.sharena.core.SharedArena arena = io.sharena.core.SharedArena.open(Path.of(args[1]),
                io.sharena.core.ArenaOptions.defaults())) {
                System.out.println("repaired: " + StoreTools.repairAll(arena, Long.parseLong(args[2]) * 1_000_000));
            }
            System.out.println("repair done");
            return;
        }
        final StoreOptions options = (args[0].equals("conflict") || args[0].equals("turns")
            ? StoreOptions.defaults().withLockTimeoutNanos(Long.parseLong(args[3]) * 1_000_000) : StoreOptions.defaults())
            .withEvictions(!"false".equals(System.getProperty("storechild.evictions")));
        try (SharedStore store = SharedStore.open(Path.of(args[1]), options)) {
            System.out.println("opened");
            switch (args[0]) {
                case "write" -> {
                    final int n = Integer.parseInt(args[2]);
                    for (int i = 0; i < n; i++) {
                        final StoreResult r = store.set(b("key" + i), Values.make(i), i, 0);
                        if (r != StoreResult.STORED) {
                            System.out.println("write failed: i=" + i + ", result=" + r);
                            return;
                        }
                    }
                    System.out.println("written");
                }
                case "read" -> {
                    final int n = Integer.parseInt(args[2]);
                    final StoreReader reader = store.reader();
                    int ok = 0;
                    for (int i = 0; i < n; i++) {
                        if (!reader.get(b("key" + i))) {
                            System.out.println("read bad: missing key" + i);
                            return;
                        }
                        // In place: the sequence number, the length and the fill byte, read from shared memory.
                        final MemorySegment v = reader.value();
                        final long seq = v.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0);
                        final byte last = v.get(ValueLayout.JAVA_BYTE, v.byteSize() - 1);
                        final String bad = Values.check(v.toArray(ValueLayout.JAVA_BYTE), (int) v.byteSize());
                        if (!reader.validate() || bad != null || seq != i || reader.flags() != i
                            || (v.byteSize() > 12 && last != (byte) i)) {
                            System.out.println("read bad: key" + i + " " + bad + " seq=" + seq);
                            return;
                        }
                        ok++;
                    }
                    System.out.println("read " + ok + " ok");
                }
                case "bigread" -> {
                    // Zero-copy reads of big0 and big1 (every 8-byte word of a value its sequence
                    // number) while another process replaces them in place: none validated is torn.
                    final long end = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000;
                    final StoreReader reader = store.reader();
                    long reads = 0;
                    long torn = 0;
                    for (int i = 0; System.nanoTime() - end < 0; i++) {
                        if (reader.get(b("big" + (i & 1)))) {
                            final long seq = StoreHoleReuseTest.seqOf(reader.value());
                            if (reader.validate()) {
                                reads++;
                                torn += seq < 0 ? 1 : 0;
                            }
                        }
                    }
                    System.out.println("bigread " + reads + " " + torn);
                }
                case "incr" -> {
                    final long[] r = new long[1];
                    for (int i = 0, n = Integer.parseInt(args[3]); i < n; i++) {
                        final StoreResult res = store.incr(b(args[2]), 1, r);
                        if (res != StoreResult.STORED) {
                            System.out.println("incr failed: " + res);
                            return;
                        }
                    }
                    System.out.println("incremented");
                }
                case "reserve" -> {
                    // Holds a half-written reservation of KEY until killed.
                    final StoreReservation r = new StoreReservation();
                    if (!store.reserve(b(args[2]), 3000, 7, 0, r)) {
                        System.out.println("reserve failed");
                        return;
                    }
                    r.value().asSlice(0, 1500).fill((byte) 'x');
                    System.out.println("reserved");
                    Thread.sleep(Long.MAX_VALUE);
                }
                case "setloop" -> {
                    for (long seq = Long.parseLong(args[3]); ; seq++) {
                        final StoreResult r = store.set(b(args[2]), Values.make(seq), 0, 0);
                        if (r != StoreResult.STORED) {
                            System.out.println("set failed: " + r);
                            return;
                        }
                        System.out.println("acked " + seq);
                    }
                }
                case "random" -> {
                    final java.util.SplittableRandom rnd = new java.util.SplittableRandom(Long.parseLong(args[2]));
                    final long[] r = new long[1];
                    for (long seq = Long.parseLong(args[3]); ; seq++) {
                        if (rnd.nextInt(4) == 0) {
                            final int i = rnd.nextInt(8);
                            System.out.println("try n " + i);
                            if (store.incr(b("n" + i), 1, r) != StoreResult.STORED) {
                                System.out.println("incr failed");
                                return;
                            }
                            System.out.println("ack n " + i + " " + r[0]);
                        } else {
                            final int i = rnd.nextInt(32);
                            final boolean del = rnd.nextInt(5) == 0;
                            System.out.println("try s " + i + " " + seq + (del ? " del" : " set"));
                            final StoreResult res = del ? store.delete(b("s" + i))
                                : store.set(b("s" + i), b("s" + i + ":" + seq), 0, 0);
                            if (res != StoreResult.STORED && res != StoreResult.DELETED && res != StoreResult.NOT_FOUND) {
                                System.out.println("op failed: " + res);
                                return;
                            }
                            System.out.println("ack s " + i + " " + seq + (del ? " del" : " set"));
                        }
                    }
                }
                case "op" -> {
                    final long[] r = new long[1];
                    final StoreResult res = switch (args[2]) {
                        case "set" -> store.set(b("k"), Values.make(2), 0, 0);
                        case "incr" -> store.incr(b("n"), 1, r);
                        case "delete" -> store.delete(b("d"));
                        case "append" -> store.append(b("a"), b("+"));
                        case "flush" -> {
                            store.flushAll(0);
                            yield StoreResult.DELETED;
                        }
                        case "commit" -> {
                            final byte[] v = Values.make(2);
                            final StoreReservation held = new StoreReservation();
                            if (!store.reserve(b("k"), v.length, 0, 0, held)) {
                                yield StoreResult.NO_MEMORY;
                            }
                            MemorySegment.copy(v, 0, held.value(), ValueLayout.JAVA_BYTE, 0, v.length);
                            yield store.commit(held, StoreMode.SET, SharedStore.ANY_CAS, false, null);
                        }
                        case "hole" -> {
                            StoreCrashTest.leaveHole(store);
                            yield store.set(b("k"), Values.make(2), 0, 0);
                        }
                        case "invalidate" -> store.invalidate(b("k"), SharedStore.ANY_CAS, SharedStore.KEEP_EXPIRY);
                        case "reclaim" -> {
                            store.set(b("e"), b("gone"), 0, -1);
                            yield store.reclaimIfStale(b("e")) ? StoreResult.DELETED : StoreResult.NOT_FOUND;
                        }
                        case "fill" -> {
                            StoreResult last = null;
                            for (int i = 0; i < 1_000_000; i++) {
                                last = store.set(b("f" + i), Values.make(i), 0, 0);
                            }
                            yield last;
                        }
                        default -> throw new IllegalArgumentException(args[2]);
                    };
                    System.out.println("op done " + res);
                }
                case "conflict" -> {
                    final long[] c = conflict(store, Long.parseLong(args[2]), "child");
                    System.out.println("conflict done incrs=" + c[0] + " appends=" + c[1] + " bad=" + c[2] + " ops=" + c[3]);
                }
                case "turns" -> {
                    // After "go" on stdin: sets c0..c{N-1}, each retried while refused (NO_MEMORY).
                    final int n = Integer.parseInt(args[2]);
                    new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                    int busy = 0;
                    int refused = 0;
                    for (int i = 0; i < n; i++) {
                        StoreResult r;
                        while ((r = store.set(b("c" + i), Values.make(i), 0, 0)) != StoreResult.STORED) {
                            if (r == StoreResult.BUSY) {
                                busy++;
                            } else if (r == StoreResult.NO_MEMORY && refused++ < 1_000) {
                                continue;
                            } else {
                                throw new IllegalStateException("set c" + i + ": " + r);
                            }
                        }
                    }
                    System.out.println("turns done busy=" + busy + " refused=" + refused);
                }
                case "expiring" -> {
                    final long at = Long.parseLong(args[2]);
                    final boolean ok = store.set(b("keep"), b("1"), 0, 0) == StoreResult.STORED
                        && store.set(b("rel"), b("2"), 0, 3600) == StoreResult.STORED
                        && store.set(b("abs"), b("3"), 0, at) == StoreResult.STORED
                        && store.set(b("gone"), b("4"), 0, -1) == StoreResult.STORED;
                    System.out.println(ok ? "written" : "write failed");
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
    }
}
