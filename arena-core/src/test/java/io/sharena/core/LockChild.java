package io.sharena.core;

import io.sharena.core.owner.UserLock;
import io.sharena.testing.ChildJvm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The other process in lock and ownership tests. Modes:
 * <ul>
 *   <li>{@code userlock FILE PTR}: takes the user lock at PTR, prints its result and "locked",
 *       unlocks when told "release".</li>
 *   <li>{@code increment FILE PTR N}: N times: takes the user lock at PTR, adds 1 to the plain long
 *       at PTR + 8 (read and write, not atomic: the lock alone keeps counts exact), unlocks.</li>
 *   <li>{@code lockwait FILE PTR}: takes the lock at PTR (0: the allocator's) within 5 s, prints
 *       the result, unlocks.</li>
 *   <li>{@code open FILE}: opens the arena, prints "open slot=N", closes it when told "close".</li>
 *   <li>{@code campaign FILE PTR DEADLINE_MILLIS}: until the deadline, takes the user lock at PTR
 *       and moves the two words after it from (n, n) to (n + 1, n + 1) in two steps. A holder that
 *       found them unequal after ACQUIRED counts a violation; after RECOVERED it repairs them.
 *       Prints {@code status ops=O violations=V recovered=R repaired=P} now and then.</li>
 * </ul>
 */
public final class LockChild {
    private LockChild() {
    }

    /**
     * Starts this class in a child JVM, after {@code jvmOptions}. A smaller heap and C1 alone: the
     * campaigns start many of these one after another, and the lock paths need no C2 to be exercised.
     */
    static ChildJvm start(final List<String> jvmOptions, final String... args) throws IOException {
        final List<String> options = new ArrayList<>(List.of("-Xmx128m", "-XX:TieredStopAtLevel=1"));
        options.addAll(jvmOptions);
        return ChildJvm.start(LockChild.class, options, args);
    }

    public static void main(final String[] args) throws Exception {
        final Path file = Path.of(args[1]);
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        final SharedArena arena = SharedArena.open(file, ArenaOptions.defaults());
        System.out.println("open slot=" + arena.slot() + " pid=" + ProcessHandle.current().pid());
        switch (args[0]) {
            case "userlock" -> {
                final var lock = arena.lockAt(Integer.decode(args[2]));
                System.out.println("lock " + lock.lock(TimeUnit.SECONDS.toNanos(10)));
                System.out.println("locked");
                stdin.readLine();
                lock.unlock();
                System.out.println("released");
            }
            case "increment" -> {
                final int ptr = Integer.decode(args[2]);
                final var lock = arena.lockAt(ptr);
                final int n = Integer.parseInt(args[3]);
                int recovered = 0;
                for (int i = 0; i < n; i++) {
                    final var r = lock.lock(TimeUnit.SECONDS.toNanos(30));
                    if (!r.acquired()) {
                        throw new IllegalStateException("lock " + r + " at i=" + i);
                    }
                    recovered += r == io.sharena.core.lock.LockResult.RECOVERED ? 1 : 0;
                    arena.raw().putLong(ptr + 8, arena.raw().getLong(ptr + 8) + 1);
                    lock.unlock();
                }
                System.out.println("recovered " + recovered);
            }
            case "lockwait" -> {
                final int ptr = Integer.decode(args[2]);
                final io.sharena.core.owner.CrossProcessLock lock = ptr == 0 ? arena.lock() : (UserLock) arena.lockAt(ptr);
                final var r = lock.lock(TimeUnit.SECONDS.toNanos(5));
                System.out.println("lock " + r);
                if (r.acquired()) {
                    lock.unlock();
                }
            }
            case "campaign" -> campaign(arena, Integer.decode(args[2]), Long.parseLong(args[3]));
            case "open" -> stdin.readLine();
            default -> throw new IllegalArgumentException("unknown mode: " + args[0]);
        }
        arena.close();
        System.out.println("closed");
    }

    private static void campaign(final SharedArena arena, final int ptr, final long deadline) {
        final var lock = arena.lockAt(ptr);
        final ArenaView v = arena.raw();
        long ops = 0;
        long violations = 0;
        long recovered = 0;
        long repaired = 0;
        long nextStatus = System.currentTimeMillis() + 50;
        while (System.currentTimeMillis() < deadline) {
            final var r = lock.lock(TimeUnit.SECONDS.toNanos(5));
            if (!r.acquired()) {
                continue;
            }
            // Plain accesses: the lock alone orders them between holders.
            final long a = v.getLong(ptr + 8);
            final long b = v.getLong(ptr + 16);
            if (r == io.sharena.core.lock.LockResult.RECOVERED) {
                recovered++;
                if (a != b) {
                    repaired++;
                    v.putLong(ptr + 16, a);
                }
            } else if (a != b) {
                violations++;
                nextStatus = 0; // reported at once: a child killed before its next status would hide it
            }
            v.putLong(ptr + 8, a + 1);
            for (int i = 0; i < 200; i++) {
                Thread.onSpinWait(); // a window for a kill between the two steps
            }
            v.putLong(ptr + 16, a + 1);
            lock.unlock();
            ops++;
            if (System.currentTimeMillis() >= nextStatus) {
                System.out.println("status ops=" + ops + " violations=" + violations + " recovered=" + recovered
                    + " repaired=" + repaired);
                nextStatus = System.currentTimeMillis() + 50;
            }
        }
        System.out.println("status ops=" + ops + " violations=" + violations + " recovered=" + recovered
            + " repaired=" + repaired);
    }
}
