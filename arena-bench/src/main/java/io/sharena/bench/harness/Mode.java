package io.sharena.bench.harness;

/**
 * How long to measure: JMH forks and iterations, and the seconds of each multi-process scenario.
 *
 * @param seconds per multi-process scenario round
 */
public record Mode(String name, int forks, int warmupIterations, int warmupMillis, int iterations, int millis,
                   int seconds, boolean allParams) {
    /** The full run: what README figures come from (under 30 minutes here). */
    public static final Mode FULL = new Mode("full", 2, 3, 1000, 5, 1000, 5, true);
    /** Every suite in under 5 minutes on a 2-core machine; noisier. */
    public static final Mode QUICK = new Mode("quick", 1, 2, 300, 3, 300, 2, false);
    /** For the harness's own test: proves that everything runs and both sides are measured. */
    public static final Mode TINY = new Mode("tiny", 1, 1, 50, 2, 50, 1, false);

    /** @return a rough estimate of one JMH benchmark's wall time, fork start included */
    public long benchmarkMillis() {
        return (long) forks * ((long) warmupIterations * warmupMillis + (long) iterations * millis + 1200);
    }
}
