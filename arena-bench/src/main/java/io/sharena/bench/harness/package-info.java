/**
 * {@code arena bench}: one command that runs the benchmark suites, each measurement a pair of
 * sharena's operation and its baseline in the same JMH invocation (each benchmark in its own forks,
 * with its own JVM flags: only the Agrona baseline gets the JDK-internal export it needs), plus the
 * multi-process scenarios (HdrHistogram latencies), and writes JSON, a markdown table of ratios and
 * PNG charts (XChart).
 *
 * <p>Concurrency: the harness itself is single-threaded; what it measures starts threads and
 * processes of its own. No FFM calls here.
 */
package io.sharena.bench.harness;
