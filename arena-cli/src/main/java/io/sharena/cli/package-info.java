/**
 * The {@code ./arena} command line: {@code create}, {@code stat}, {@code demo}, dispatched by
 * picocli from {@link io.sharena.cli.ArenaCli}.
 *
 * <p>User mistakes (bad arguments, missing or corrupt files) end in one line on standard error,
 * {@code arena: <what went wrong>}, and a non-zero exit: 2 for usage errors, 1 for failures.
 * No stack trace is printed for them; an unexpected exception prints one, as a bug should.
 *
 * <p>Concurrency: each command runs on the main thread; the demo starts child JVMs and reads their
 * output. No FFM calls are made here.
 */
package io.sharena.cli;
