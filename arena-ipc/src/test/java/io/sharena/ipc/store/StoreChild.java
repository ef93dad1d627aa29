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
 *   <li>{@code setloop FILE KEY START}: sets KEY to Values.make(seq) for seq = START, START+1, ...,
 *       saying "acked seq" after each STORED, until killed.</li>
 *   <li>{@code random FILE SEED START}: forever, on keys s0..s31 a set of "s{i}:{seq}" or a delete, on
 *       keys n0..n7 an incr; prints "try ..." before and "ack ..." after each, seq counting from START.</li>
 *   <li>{@code op FILE OP}: one operation on the keys the crash test prepared: set k to
 *       Values.make(2), incr n, delete d, append a, or fill (sets f0, f1, ... until killed,
 *       forcing evictions); says "op done". Armed with a crash point, it is killed inside.</li>
 * </ul>
 */
public final class StoreChild {
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

    public static void main(final String[] args) throws Exception {
        try (SharedStore store = SharedStore.open(Path.of(args[1]), StoreOptions.defaults())) {
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
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
    }
}
