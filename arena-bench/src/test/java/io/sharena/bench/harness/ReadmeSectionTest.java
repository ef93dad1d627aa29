package io.sharena.bench.harness;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** README's results section after a run of some suites: their rows replaced, the others kept with their run line. */
class ReadmeSectionTest {
    private static final String HEADER = "| suite | benchmark | sharena | baseline | ratio | target | met? | B/op |\n"
        + "|---|---|---|---|---|---|---|---|\n";
    private static final List<String> ORDER = List.of("alloc", "ipc", "store");

    @Test
    void aPartialRunReplacesItsSuitesRowsOnly() {
        final String old = "\n\nRun: `./arena bench` (full mode), day 1. Medians.\n\n" + HEADER
            + "| alloc | a1 | 1 | 1 | 1.00 | — | — | — |\n"
            + "| ipc | i1 | 1 | 1 | 1.00 | — | — | — |\n"
            + "| store | s1 | 1 | 1 | 1.00 | — | — | — |\n"
            + "| store | s2 | 1 | 1 | 1.00 | — | — | — |\n";
        final String table = "Run: `./arena bench store` (full mode), day 2. Medians.\n\n" + HEADER
            + "| store | s1 | 2 | 1 | 2.00 | — | — | — |\n";
        final String merged = Reports.mergeSection(old, table, List.of("store"), ORDER);
        assertEquals("Run (store): `./arena bench store` (full mode), day 2. Medians.\n\n"
            + "Run (alloc, ipc): `./arena bench` (full mode), day 1. Medians.\n\n" + HEADER
            + "| alloc | a1 | 1 | 1 | 1.00 | — | — | — |\n"
            + "| ipc | i1 | 1 | 1 | 1.00 | — | — | — |\n"
            + "| store | s1 | 2 | 1 | 2.00 | — | — | — |\n", merged);

        // A second partial run: the labelled lines lose the suites it measured.
        final String again = Reports.mergeSection(merged, "Run: `./arena bench ipc` (quick mode), day 3.\n\n" + HEADER
            + "| ipc | i1 | 3 | 1 | 3.00 | — | — | — |\n", List.of("ipc"), ORDER);
        assertEquals("Run (ipc): `./arena bench ipc` (quick mode), day 3.\n\n"
            + "Run (store): `./arena bench store` (full mode), day 2. Medians.\n\n"
            + "Run (alloc): `./arena bench` (full mode), day 1. Medians.\n\n" + HEADER
            + "| alloc | a1 | 1 | 1 | 1.00 | — | — | — |\n"
            + "| ipc | i1 | 3 | 1 | 3.00 | — | — | — |\n"
            + "| store | s1 | 2 | 1 | 2.00 | — | — | — |\n", again);
    }
}
