package io.sharena.bench.harness;

/**
 * One measured side of a pair.
 *
 * @param name       the benchmark (JMH method, or scenario name)
 * @param unit       e.g. {@code ns/op}, {@code GB/s}
 * @param median     median over the runs (JMH iterations, or histogram values)
 * @param runs       how many values the median is of
 * @param bytesPerOp JMH {@code gc.alloc.rate.norm}, NaN when not measured
 */
public record Figure(String name, String unit, double median, double min, double max, long runs, double bytesPerOp) {
}
