/**
 * JMH benchmarks that measure sharena side by side with what users would otherwise write, in the
 * same run: each benchmark class pairs a sharena operation with its baseline (for example
 * {@link io.sharena.bench.PointerAccessBenchmark}: access by arena pointer through
 * {@link io.sharena.core.ArenaView} against plain {@link java.lang.foreign.MemorySegment} access
 * to the same mapping), so the two share one JVM build, machine and noise, and their ratio means
 * something. The target of each pair is in its class javadoc; run with {@code -prof gc} to check
 * the allocation side ({@code gc.alloc.rate.norm}).
 *
 * <p>Running: {@code java -jar arena-bench/target/benchmarks.jar <regex> [JMH options]}, or a
 * class's own {@code main}, which applies that class's defaults and takes the same JMH options.
 * Forked JVMs get {@code --enable-native-access=ALL-UNNAMED} and nothing else: the shaded jar
 * runs on the class path, so sharena's modules are unnamed there. One exception, a baseline's
 * own: the fork of {@link io.sharena.bench.ChannelBenchmark}'s Agrona ring gets
 * {@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED} instead, which Agrona's
 * {@code UnsafeBuffer} needs, so that no sharena benchmark runs with it.
 *
 * <p>Concurrency: unless a class says otherwise, state is {@link org.openjdk.jmh.annotations.Scope#Thread}:
 * every benchmark thread creates, maps and deletes its own arena file (under
 * {@code java.io.tmpdir}) in trial-level setup and teardown, so threads never contend on a cache
 * line, and the numbers are single-thread access costs however many threads ({@code -t}) run.
 * Nothing in the JMH classes is shared between forks or with other processes. The classes with a
 * plain {@code main} ({@link io.sharena.bench.MultiProcessAllocBench},
 * {@link io.sharena.bench.ZeroCopyBench}, {@link io.sharena.bench.PingPongBench}) measure across
 * processes: they start child JVMs of the same class on one arena file, which the parent creates
 * and deletes.
 *
 * <p>FFM: this package makes no downcalls itself; the mapping (and its system calls) comes only
 * through {@link io.sharena.core}, and the benchmarks themselves touch memory only through
 * {@link java.lang.foreign.MemorySegment} accessors and sharena's views. Two restricted calls,
 * both for mmap baselines that get their mappings from {@code io.sharena.core.os.Posix}:
 * {@link io.sharena.bench.PageAllocBenchmark} writes into them through one segment over all of
 * native memory, made once with {@code MemorySegment.NULL.reinterpret(Long.MAX_VALUE)}, so that the
 * baseline allocates nothing per call; {@link io.sharena.bench.FreeLargeBench} gives its 1 GiB
 * anonymous mapping a size with {@code reinterpret} to touch it before the {@code munmap} it times.
 */
package io.sharena.bench;
