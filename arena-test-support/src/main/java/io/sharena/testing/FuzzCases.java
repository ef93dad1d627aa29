package io.sharena.testing;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * The cases of a seeded fuzz test: their seeds, how one of them is replayed alone, how many stray
 * writes a case makes, and (for tests without a findings table of their own) running each case
 * under a time limit and collecting what failed.
 *
 * <p>Every case draws all it does from its own case seed, derived from the run's seed and the
 * case's index, so a failing case runs again alone, bit for bit, from the line {@link #replay}
 * prints. Properties, under the test's prefix {@code P}: {@code P.cases} (the number of cases),
 * {@code P.seed} (the run's seed, default the clock; logged) and {@code P.case} (a case seed: run
 * only that case; the run's seed is still used for whatever the test builds once per run).
 *
 * <p>{@link #run} runs a case in a daemon thread of its own: an exception or assertion error is a
 * failure, grouped by its class and the innermost project frame outside the test, and the cases go
 * on; a case past its time limit is a hang, and the run stops there (the stuck thread may spin on a
 * core or hold the case's file locked). {@link #assertClean} then fails with one line per group: the
 * count, the first case's seed and message, and the line that replays that case.
 */
public final class FuzzCases {
    /** The most stray writes one case makes. */
    public static final int MAX_STRAY_WRITES = 4;

    private final String prefix;
    private final String module;
    private final String test;
    private final int cases;
    private final long seed;
    private final Long oneCase;
    private final Map<String, Failure> failures = new LinkedHashMap<>();
    private boolean hung;

    private record Failure(long caseSeed, String what, Throwable first, int count) {
    }

    /** A case's body; {@code what} records what the case did (its stray writes), for the failure message. */
    @FunctionalInterface
    public interface Body {
        void run(Consumer<String> what) throws Exception;
    }

    private FuzzCases(final String prefix, final int defaultCases, final String module, final String test) {
        this.prefix = prefix;
        this.module = module;
        this.test = test;
        this.oneCase = Long.getLong(prefix + ".case");
        this.cases = oneCase != null ? 1 : Integer.getInteger(prefix + ".cases", defaultCases);
        this.seed = Long.getLong(prefix + ".seed", System.nanoTime());
    }

    /**
     * The cases of the test {@code test} ({@code Class} or {@code Class#method}, as surefire's
     * {@code -Dtest} takes it) in Maven module {@code module}, read from the properties under {@code prefix}.
     */
    public static FuzzCases of(final String prefix, final int defaultCases, final String module, final String test) {
        return new FuzzCases(prefix, defaultCases, module, test);
    }

    /** How many cases to run: one when a case is replayed. */
    public int cases() {
        return cases;
    }

    /** The run's seed. */
    public long seed() {
        return seed;
    }

    /**
     * The seed of case {@code index}: the replayed one, or one mixed from the run's seed and the
     * index. The run's seed is mixed first, so runs of neighbouring seeds share no cases.
     */
    public long caseSeed(final int index) {
        return oneCase != null ? oneCase : mix(mix(seed) + index);
    }

    /** The line a run starts with: its seed and case count, and how to repeat either. */
    public String banner(final String name) {
        return name + ": seed=" + seed + " cases=" + cases + (oneCase != null ? " (case " + oneCase + " alone)" : "")
            + " (repeat the run with -D" + prefix + ".seed=" + seed + ", one case with -D" + prefix
            + ".case=<case seed>, more cases with -D" + prefix + ".cases=N)";
    }

    /** The command that runs only the case of seed {@code caseSeed}. */
    public String replay(final long caseSeed) {
        return "./mvnw -B -o -pl " + module + " -am verify -Dtest='" + test
            + "' -Dsurefire.failIfNoSpecifiedTests=false -D" + prefix + ".seed=" + seed + " -D" + prefix + ".case=" + caseSeed;
    }

    /**
     * How many stray writes a case makes, drawn from its random: one in half the cases (the single
     * write each structure is tested with), else two to {@link #MAX_STRAY_WRITES}: damage a single
     * write cannot make, such as a broken link whose neighbour no longer agrees with it either.
     */
    public static int strayWrites(final RandomGenerator r) {
        return r.nextBoolean() ? 1 : 2 + r.nextInt(MAX_STRAY_WRITES - 1);
    }

    /**
     * Runs case {@code index} of seed {@code caseSeed} with time limit {@code limit}; a failure is
     * recorded. @return false when the case hung: the run should stop.
     */
    public boolean run(final int index, final long caseSeed, final Duration limit, final Body body)
        throws InterruptedException {
        final String[] what = {""};
        final Throwable[] thrown = new Throwable[1];
        final Thread worker = Thread.ofPlatform().daemon().name("fuzz-case-" + index).unstarted(() -> {
            try {
                body.run(w -> {
                    synchronized (what) {
                        what[0] = w;
                    }
                });
            } catch (final Throwable t) {
                thrown[0] = t;
            }
        });
        worker.start();
        worker.join(limit);
        final String did;
        synchronized (what) {
            did = what[0];
        }
        if (worker.isAlive()) {
            final StackTraceElement[] stack = worker.getStackTrace();
            final AssertionError hang = new AssertionError("case " + index + " hung (past " + limit.toMillis() + " ms)");
            hang.setStackTrace(stack);
            worker.interrupt();
            record("hang at " + where(stack), caseSeed, did, hang);
            hung = true;
            return false;
        }
        if (thrown[0] != null) { // join's happens-before publishes it
            final Throwable t = thrown[0];
            final String where = where(t.getStackTrace());
            record(t.getClass().getSimpleName() + " at " + where
                + (where.startsWith(testClass()) ? ": " + String.valueOf(t.getMessage()).replaceAll("[0-9a-fx]*[0-9]+", "N") : ""),
                caseSeed, did, t);
        }
        return true;
    }

    private void record(final String group, final long caseSeed, final String what, final Throwable t) {
        final Failure old = failures.get(group);
        if (old == null) {
            System.out.println("fuzz failure: " + group + ", case seed " + caseSeed + " (" + what + "); replay: "
                + replay(caseSeed));
            t.printStackTrace(System.out);
        }
        failures.put(group, old == null ? new Failure(caseSeed, what, t, 1)
            : new Failure(old.caseSeed, old.what, old.first, old.count + 1));
    }

    /** Fails with every group of failures (the first one's exception as the cause), if there is any. */
    public void assertClean() {
        if (failures.isEmpty()) {
            return;
        }
        final StringBuilder b = new StringBuilder();
        int total = 0;
        for (final Map.Entry<String, Failure> e : failures.entrySet()) {
            final Failure f = e.getValue();
            total += f.count;
            b.append("\n  ").append(e.getKey()).append(": ").append(f.count).append(" case(s), first seed=")
                .append(f.caseSeed).append(" (").append(f.what).append("): ").append(f.first)
                .append("\n    replay: ").append(replay(f.caseSeed));
        }
        throw new AssertionError(total + " failing case(s)" + (hung ? ", the run stopped at a hang" : "") + ":" + b,
            failures.values().iterator().next().first);
    }

    private String testClass() {
        final int hash = test.indexOf('#');
        return hash < 0 ? test : test.substring(0, hash);
    }

    /** The innermost frame of the project's main code (or of the test, when it is the test's own), as "Class.method". */
    private String where(final StackTraceElement[] stack) {
        for (final StackTraceElement e : stack) {
            final String c = e.getClassName();
            if (c.startsWith("io.sharena.") && !c.startsWith("io.sharena.testing.")) {
                final String simple = c.substring(c.lastIndexOf('.') + 1);
                return (simple.startsWith(testClass()) ? testClass() : simple.replaceAll("\\$.*", "")) + "." + e.getMethodName();
            }
        }
        return "?";
    }

    private static long mix(final long z0) {
        long z = z0 * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
