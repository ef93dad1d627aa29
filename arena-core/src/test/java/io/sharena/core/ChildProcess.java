package io.sharena.core;

import io.sharena.testing.ChildJvm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The other process in multi-process tests. Modes:
 * <ul>
 *   <li>{@code list FILE N}: builds a singly linked list of N nodes (value i+1) with 32-bit arena
 *       pointers; the head pointer goes to the root word (first user page, offset 0).</li>
 *   <li>{@code fixedlist FILE N}: the same with 64-bit absolute addresses, in a fixed-address arena.</li>
 *   <li>{@code add FILE PTR COUNT}: waits for "go", then COUNT get-and-adds of 1 on PTR.</li>
 *   <li>{@code ops FILE OP...}: runs allocator operations in order, printing each result:
 *       {@code alloc:N}, {@code free:PTR:N}, {@code lockedfree:PTR:N} (while another thread holds the
 *       lock: deferred), {@code at:PTR:N} (allocPagesAt), {@code reserve:PTR:N}, {@code repair}, {@code purge},
 *       {@code wait} (prints "waiting", reads a line). PTR is a number or {@code $k}, the k-th
 *       pointer this child's alloc and at ops returned. Armed with a crash point, it dies inside one.</li>
 *   <li>{@code fault FILE}: maps the arena, waits for "go" (the parent truncates the file first), then
 *       tries every kind of access on the lost range and reports what each threw.</li>
 * </ul>
 */
public final class ChildProcess {
    /** Node of the 32-bit list: next pointer at 0, value at 8. */
    static final int NODE_SIZE = 16;

    private ChildProcess() {
    }

    /** Starts this class in a child JVM with {@code args}. */
    static ChildJvm start(final String... args) throws IOException {
        return start(List.of(), args);
    }

    /** Starts this class in a child JVM, after extra JVM options ({@code -Dsharena.crashpoint=...}, say). */
    static ChildJvm start(final List<String> jvmOptions, final String... args) throws IOException {
        return ChildJvm.start(ChildProcess.class, jvmOptions, args);
    }

    public static void main(final String[] args) throws Exception {
        final Path file = Path.of(args[1]);
        if (args[0].equals("fault")) {
            final SharedArena arena = SharedArena.open(file, ArenaOptions.defaults());
            fault(arena);
            try {
                arena.close();
                System.out.println("close -> ok");
            } catch (final IOException e) {
                System.out.println("close -> " + e.getClass().getSimpleName());
            }
            return;
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            System.out.println("base=0x" + Long.toHexString(arena.base()) + " pid=" + ProcessHandle.current().pid());
            switch (args[0]) {
                case "list" -> buildList(arena, Integer.parseInt(args[2]));
                case "fixedlist" -> buildFixedList(arena, Integer.parseInt(args[2]));
                case "add" -> add(arena, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                case "holdlock" -> holdLock(arena);
                case "ops" -> ops(arena, java.util.Arrays.copyOfRange(args, 2, args.length));
                default -> throw new IllegalArgumentException("unknown mode: " + args[0]);
            }
        }
        System.out.println("done");
    }

    static int root(final SharedArena arena) {
        return TestArenas.firstUserPointer(arena);
    }

    private static void buildList(final SharedArena arena, final int n) {
        final ArenaView v = arena.raw();
        final int first = root(arena) + 64;
        int head = ArenaPointers.NULL;
        // Built back to front so that each node is complete before anything points at it.
        for (int i = n - 1; i >= 0; i--) {
            final int node = first + i * NODE_SIZE;
            v.putLong(node + 8, i + 1);
            v.putInt(node, head);
            head = node;
        }
        v.putIntRelease(root(arena), head); // publishes every node written above
    }

    private static void buildFixedList(final SharedArena arena, final int n) {
        final ArenaView v = arena.raw();
        final int first = root(arena) + 64;
        long head = 0;
        for (int i = n - 1; i >= 0; i--) {
            final int node = first + i * NODE_SIZE;
            v.putLong(node + 8, i + 1);
            v.putLong(node, head);
            head = arena.address(node);
        }
        v.putLongRelease(root(arena), head);
    }

    private static void add(final SharedArena arena, final int ptr, final int count) throws Exception {
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("ready");
        stdin.readLine();
        final ArenaView v = arena.raw();
        for (int i = 0; i < count; i++) {
            v.getAndAddLong(ptr, 1);
        }
    }

    /** What the {@code intorace} op's other writer puts into the word: no pointer the allocator hands out. */
    static final int RACER = 0x0BAD_0004;

    private static void ops(final SharedArena arena, final String[] ops) throws Exception {
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        final java.util.List<Integer> results = new java.util.ArrayList<>();
        for (final String op : ops) {
            final String[] f = op.split(":");
            switch (f[0]) {
                case "alloc" -> {
                    final int ptr = arena.allocPages(Integer.parseInt(f[1]));
                    results.add(ptr);
                    System.out.println(op + " -> " + ptr);
                }
                case "free" -> {
                    arena.freePages(arg(f[1], results), Integer.parseInt(f[2]));
                    System.out.println(op + " -> done");
                }
                case "lockedfree" -> {
                    // Another thread holds the lock, so the free is deferred onto the pending list.
                    try (LockHolder holder = LockHolder.hold(arena)) {
                        arena.freePages(arg(f[1], results), Integer.parseInt(f[2]));
                    }
                    System.out.println(op + " -> done");
                }
                case "at" -> {
                    final int ptr = arena.allocPagesAt(arg(f[1], results), Integer.parseInt(f[2]));
                    results.add(ptr);
                    System.out.println(op + " -> " + ptr);
                }
                case "into" -> {
                    final int ptr = arena.allocPagesInto(Integer.parseInt(f[1]), arg(f[2], results));
                    results.add(ptr);
                    System.out.println(op + " -> " + ptr);
                }
                case "freefrom" -> System.out.println(op + " -> "
                    + arena.freePagesFrom(arg(f[1], results), Integer.parseInt(f[2])));
                case "intorace" -> {
                    // Another writer (this hook, without the lock) fills the word between the
                    // allocator's check and its publishing CAS: the range must be given back.
                    final int dest = arg(f[2], results);
                    final io.sharena.core.crash.CrashPoints.Hook armed = io.sharena.core.crash.CrashPoints.installed();
                    io.sharena.core.crash.CrashPoints.install(p -> {
                        if (p == io.sharena.core.alloc.AllocPoint.TAKE_COMMITTED) {
                            arena.raw().putIntRelease(dest, RACER);
                        }
                        if (armed != null) {
                            armed.reached(p);
                        }
                    });
                    final int ptr;
                    try {
                        ptr = arena.allocPagesInto(Integer.parseInt(f[1]), dest);
                    } finally {
                        io.sharena.core.crash.CrashPoints.install(armed);
                    }
                    results.add(ptr);
                    System.out.println(op + " -> " + ptr);
                }
                case "reserve" -> System.out.println(op + " -> "
                    + arena.reservePages(arg(f[1], results), Integer.parseInt(f[2])));
                case "repair" -> System.out.println(op + " -> " + arena.repair(10_000_000_000L));
                case "purge" -> System.out.println(op + " -> " + arena.purge());
                case "wait" -> {
                    System.out.println("waiting");
                    stdin.readLine();
                }
                default -> throw new IllegalArgumentException("unknown op: " + op);
            }
        }
    }

    /** @return a pointer argument: a number, or {@code $k} for the k-th result of this child's allocations */
    private static int arg(final String text, final java.util.List<Integer> results) {
        return text.startsWith("$") ? results.get(Integer.parseInt(text.substring(1))) : Integer.parseInt(text);
    }

    /** Takes the allocator lock, says "locked", and releases it when told "release". */
    private static void holdLock(final SharedArena arena) throws Exception {
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("lock " + arena.lock().lock(10_000_000_000L));
        System.out.println("locked");
        stdin.readLine();
        arena.lock().unlock();
        System.out.println("released");
    }

    private static void fault(final SharedArena arena) throws Exception {
        final ArenaView v = arena.raw();
        final int ptr = (int) (arena.capacityBytes() - 4096);
        for (int i = 0; i < 100_000; i++) {
            // warm the accessors up so that both interpreted and compiled paths get exercised
            v.getAndAddLong(ptr, 1);
            v.putLong(ptr + 8, v.getLong(ptr));
        }
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("ready");
        stdin.readLine();
        report("getLong", () -> v.getLong(ptr));
        report("putLong", () -> v.putLong(ptr, 1));
        report("getLongAcquire", () -> v.getLongAcquire(ptr));
        report("putLongRelease", () -> v.putLongRelease(ptr, 1));
        report("compareAndSetLong", () -> v.compareAndSetLong(ptr, 0, 1));
        report("compareAndSetInt", () -> v.compareAndSetInt(ptr, 0, 1));
        report("getAndAddLong", () -> v.getAndAddLong(ptr, 1));
        report("getAndBitwiseOrInt", () -> v.getAndBitwiseOrInt(ptr, 1));
        report("getBytes", () -> v.getBytes(ptr, new byte[64], 0, 64));
        report("fill", () -> v.fill(ptr, 64, (byte) 1));
        report("segmentCopy", () -> MemorySegment.copy(arena.segment(), ValueLayout.JAVA_BYTE, ptr, new byte[64], 0, 64));
        System.out.println("alive");
    }

    private static void report(final String what, final Runnable access) {
        try {
            access.run();
            System.out.println("fault " + what + " -> none");
        } catch (final Throwable t) {
            System.out.println("fault " + what + " -> " + t.getClass().getSimpleName());
        }
    }
}
