package io.sharena.bench.harness;

import java.util.Locale;

/**
 * What a pair must show. The ratio in a row is always the one the target speaks of.
 *
 * @param kind  how to read {@code value}
 * @param value the bound
 */
public record Target(Kind kind, double value) {
    public enum Kind {
        /** sharena / baseline at most value (times, lower is better). */
        RATIO_AT_MOST,
        /** baseline / sharena at least value (sharena that many times faster). */
        FASTER_AT_LEAST,
        /** sharena / baseline at least value (throughputs, higher is better). */
        THROUGHPUT_RATIO_AT_LEAST,
        /** sharena's own figure at most value (in its unit); ratio sharena / baseline is reported. */
        ABSOLUTE_AT_MOST,
        /** no target: the ratio sharena / baseline is reported. */
        REPORTED
    }

    public static Target ratioAtMost(final double v) {
        return new Target(Kind.RATIO_AT_MOST, v);
    }

    public static Target fasterAtLeast(final double v) {
        return new Target(Kind.FASTER_AT_LEAST, v);
    }

    public static Target throughputAtLeast(final double v) {
        return new Target(Kind.THROUGHPUT_RATIO_AT_LEAST, v);
    }

    public static Target absoluteAtMost(final double v) {
        return new Target(Kind.ABSOLUTE_AT_MOST, v);
    }

    public static Target reported() {
        return new Target(Kind.REPORTED, Double.NaN);
    }

    /** @return the ratio this target speaks of */
    public double ratio(final double sharena, final double baseline) {
        return kind == Kind.FASTER_AT_LEAST ? baseline / sharena : sharena / baseline;
    }

    /** @return whether it is met; null when there is nothing to meet */
    public Boolean met(final double sharena, final double baseline) {
        return switch (kind) {
            case RATIO_AT_MOST -> ratio(sharena, baseline) <= value;
            case FASTER_AT_LEAST, THROUGHPUT_RATIO_AT_LEAST -> ratio(sharena, baseline) >= value;
            case ABSOLUTE_AT_MOST -> sharena <= value;
            case REPORTED -> null;
        };
    }

    public String describe(final String unit) {
        return switch (kind) {
            case RATIO_AT_MOST -> String.format(Locale.ROOT, "≤ %.2f×", value);
            case FASTER_AT_LEAST -> String.format(Locale.ROOT, "≥ %.0f× faster", value);
            case THROUGHPUT_RATIO_AT_LEAST -> String.format(Locale.ROOT, "≥ %.2f×", value);
            case ABSOLUTE_AT_MOST -> String.format(Locale.ROOT, "≤ %.0f %s", value, unit);
            case REPORTED -> "reported";
        };
    }

    /** @return how the ratio column reads */
    public String ratioLabel() {
        return kind == Kind.FASTER_AT_LEAST ? "baseline / sharena" : "sharena / baseline";
    }
}
