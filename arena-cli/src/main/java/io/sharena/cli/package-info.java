/**
 * The {@code ./arena} command line: {@code create}, {@code stat}, {@code check}, {@code dump},
 * {@code delete}, {@code stress}, {@code demo} and {@code serve}, dispatched by picocli from
 * {@link io.sharena.cli.ArenaCli} ({@code bench}, {@code jmh}, {@code test} and {@code test-long}
 * are the launcher's own).
 *
 * <p>Every failure ends in one line on standard error, {@code arena: <what went wrong>}, and an
 * exit status by kind (listed in {@code --help}): 1 a failed check or run, 2 usage, 3 file,
 * 4 format, 5 fault, 6 corrupted, 7 busy, 8 full, 70 an unexpected exception (a bug: the line names it).
 * No stack trace is printed unless {@code ARENA_DEBUG} is set.
 *
 * <p>Concurrency: each command runs on the main thread; the demo and the stress campaigns start
 * child JVMs and read their output, and {@code serve} runs the server's own threads. No FFM calls
 * are made here.
 */
package io.sharena.cli;
