package io.sharena.core;

import io.sharena.core.lock.SharedLock;
import io.sharena.testing.ChildJvm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The user-space half of the kernel-selftest-derived scenarios of {@link KernelSelftestCampaignTest}: a
 * second JVM that opens the arena and runs ops given on its command line, printing
 * {@code op -> result} for each (any throwable as {@code !SimpleName: message}). Pointers are
 * decimal or {@code 0x} hex (unsigned). Ops:
 * <ul>
 *   <li>{@code at:PTR:N}, {@code alloc:N}, {@code free:PTR:N}, {@code reserve:PTR:N}</li>
 *   <li>{@code put:PTR:VAL} (strict putLong), {@code get:PTR} (strict getLong), {@code lget:PTR}
 *       (lenient getLong), {@code rget:PTR} (raw getLong)</li>
 *   <li>{@code lock:PTR} (user lock, 10 s), {@code unlock:PTR}, {@code closearena}, {@code reopen}</li>
 *   <li>{@code wait} (prints "waiting", reads a line), {@code atomics:PTR:N:SIDE} (waits for a line,
 *       then the mixed atomic workload of {@link #atomics}), {@code spin:PTR:LIMIT:ITER}</li>
 * </ul>
 */
public final class KernelSelftestChild {
    private KernelSelftestChild() {
    }

    static ChildJvm start(final String... args) throws IOException {
        return ChildJvm.start(KernelSelftestChild.class, List.of("-Xmx256m"), args);
    }

    static int ptr(final String s) {
        return s.startsWith("0x") ? Integer.parseUnsignedInt(s.substring(2), 16) : Integer.parseUnsignedInt(s);
    }

    public static void main(final String[] args) throws Exception {
        final Path file = Path.of(args[0]);
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        SharedArena arena = SharedArena.open(file, ArenaOptions.defaults());
        System.out.println("open pid=" + ProcessHandle.current().pid());
        for (int i = 1; i < args.length; i++) {
            final String op = args[i];
            final String[] f = op.split(":");
            String result;
            try {
                result = switch (f[0]) {
                    case "at" -> Integer.toUnsignedString(arena.allocPagesAt(ptr(f[1]), Integer.parseInt(f[2])));
                    case "alloc" -> Integer.toUnsignedString(arena.allocPages(Integer.parseInt(f[1])));
                    case "free" -> {
                        arena.freePages(ptr(f[1]), Integer.parseInt(f[2]));
                        yield "done";
                    }
                    case "reserve" -> arena.reservePages(ptr(f[1]), Integer.parseInt(f[2])).toString();
                    case "put" -> {
                        arena.strict().putLong(ptr(f[1]), Long.parseLong(f[2]));
                        yield "done";
                    }
                    case "get" -> Long.toString(arena.strict().getLong(ptr(f[1])));
                    case "lget" -> Long.toString(arena.lenient().getLong(ptr(f[1])));
                    case "rget" -> Long.toString(arena.raw().getLong(ptr(f[1])));
                    case "lock" -> arena.lockAt(ptr(f[1])).lock(TimeUnit.SECONDS.toNanos(10)).toString();
                    case "unlock" -> {
                        arena.lockAt(ptr(f[1])).unlock();
                        yield "done";
                    }
                    case "closearena" -> {
                        arena.close();
                        yield "done";
                    }
                    case "reopen" -> {
                        arena = SharedArena.open(file, ArenaOptions.defaults());
                        yield "slot=" + arena.slot();
                    }
                    case "wait" -> {
                        System.out.println("waiting");
                        stdin.readLine();
                        yield "resumed";
                    }
                    case "atomics" -> {
                        System.out.println("ready");
                        stdin.readLine();
                        yield atomics(arena, ptr(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]));
                    }
                    case "spin" -> {
                        System.out.println("ready");
                        stdin.readLine();
                        yield spin(arena, ptr(f[1]), Long.parseLong(f[2]), Integer.parseInt(f[3]));
                    }
                    default -> throw new IllegalArgumentException("unknown op " + op);
                };
            } catch (final Throwable t) {
                result = "!" + t.getClass().getSimpleName() + ": " + t.getMessage();
            }
            System.out.println(op + " -> " + result);
        }
        try {
            arena.close();
        } catch (final IllegalStateException | IOException e) {
            System.out.println("close -> !" + e.getClass().getSimpleName());
        }
        System.out.println("done");
    }

    /**
     * The arena_atomics selftest's operations (add, sub as add of -1, and, or, xor, cmpxchg, xchg),
     * as a workload two processes run at once on the same 80 bytes at {@code p}: odd iterations
     * through the strict view, even ones through the raw view. Side 0 and side 1 use disjoint bits
     * for the bitwise words, so any lost update shows in the final value.
     *
     * @return the final value of this process's token for the exchange words: "long,int"
     */
    static String atomics(final SharedArena arena, final int p, final int n, final int side) {
        long tokenL = side == 0 ? 1000 : 1;
        int tokenI = side == 0 ? 1000 : 1;
        for (int i = 0; i < n; i++) {
            final ArenaView v = (i & 1) == 1 ? arena.strict() : arena.raw();
            v.getAndAddInt(p, 1);
            v.getAndAddLong(p + 8, 3);
            int wi;
            do {
                wi = v.getIntVolatile(p + 16);
            } while (v.compareAndExchangeInt(p + 16, wi, wi + 1) != wi);
            long wl;
            do {
                wl = v.getLongVolatile(p + 24);
            } while (!v.compareAndSetLong(p + 24, wl, wl + 1));
            final int bit = (i % 32) + 32 * side;
            v.getAndBitwiseOrLong(p + 32, 1L << bit);
            v.getAndBitwiseXorInt(p + 40, 1 << ((i % 16) + 16 * side));
            // and then or back: the word at p+48 starts all ones and must end all ones
            v.getAndBitwiseAndLong(p + 48, ~(1L << bit));
            v.getAndBitwiseOrLong(p + 48, 1L << bit);
            v.getAndBitwiseAndInt(p + 56, ~(1 << ((i % 16) + 16 * side)));
            v.getAndBitwiseOrInt(p + 56, 1 << ((i % 16) + 16 * side));
            v.getAndBitwiseXorLong(p + 72, 1L << bit);
            tokenL = v.getAndSetLong(p + 64, tokenL);
            tokenI = v.getAndSetInt(p + 60, tokenI);
            v.getAndAddLong(p + 8, -1); // sub
        }
        return tokenL + "," + tokenI;
    }

    /**
     * The arena_spin_lock selftest's program: under the lock at {@code p}, {@code if (counter !=
     * limit) counter++}, with a plain read and write of the counter at {@code p + 8}, plus a short
     * critical section; {@code iter} times.
     *
     * @return "acquired=A recovered=R timeouts=T"
     */
    static String spin(final SharedArena arena, final int p, final long limit, final int iter) {
        final SharedLock lock = arena.lockAt(p);
        int acquired = 0;
        int recovered = 0;
        int timeouts = 0;
        for (int i = 0; i < iter; i++) {
            final var r = lock.lock(TimeUnit.SECONDS.toNanos(5));
            if (!r.acquired()) {
                timeouts++;
                continue;
            }
            if (r == io.sharena.core.lock.LockResult.RECOVERED) {
                recovered++;
            } else {
                acquired++;
            }
            final long c = arena.raw().getLong(p + 8);
            if (c != limit) {
                for (int k = 0; k < 20; k++) {
                    Thread.onSpinWait();
                }
                arena.raw().putLong(p + 8, c + 1);
            }
            lock.unlock();
        }
        return "acquired=" + acquired + " recovered=" + recovered + " timeouts=" + timeouts;
    }
}
