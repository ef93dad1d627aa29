package io.sharena.bench.harness;

import java.util.List;
import java.util.Map;

/**
 * A named set of measurements: JMH pairs from one benchmark class, and optionally a multi-process
 * scenario that produces rows of its own.
 *
 * @param jmhClass   the JMH class of the pairs, or null
 * @param params     JMH parameters to restrict the run to unless the mode runs all of them
 * @param pairs      (sharena method, baseline method, label, target)
 * @param scenario   multi-process rows, or null
 */
public record Suite(String name, Class<?> jmhClass, Map<String, String> params, List<JmhPair> pairs, Scenario scenario) {

    /** One JMH pair of benchmark methods of {@link #jmhClass}. */
    public record JmhPair(String sharena, String baseline, String label, Target target) {
    }

    /** A multi-process measurement that yields rows (and latency histograms for charts). */
    @FunctionalInterface
    public interface Scenario {
        ScenarioResult run(Mode mode) throws Exception;
    }

    /** What a scenario measured; histograms are name to (percentile, ns) points. */
    public record ScenarioResult(List<Row> rows, Map<String, double[][]> latencies) {
    }
}
