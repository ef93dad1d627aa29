package io.sharena.core;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongFunction;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * What {@link CorruptedFileFuzzTest} found, by category: kind of finding, operation, and the
 * project class where it happened; with a count, the first example's case seed and message, and
 * whether the file layer owns it (see the test's class comment); each finding with the command that
 * replays its first case alone.
 */
final class FuzzFindings {
    /** Classes of the file layer: opening and validating the file, header copies, size checks, fault translation. */
    private static final String[] FILE_LAYER = {
        "io.sharena.core.SharedArena", "io.sharena.core.ArenaHeader", "io.sharena.core.ArenaInfo",
        "io.sharena.core.ArenaFormatException", "io.sharena.core.ArenaFaultException", "io.sharena.core.os."};

    /** {@code owner}: "file" (fails the test), "allocator" (fails it when strict), "documented" (never). */
    private record Row(String category, String owner, long firstSeed, String example, int count) {
        boolean fileLayer() {
            return owner.equals("file");
        }

        boolean finding() {
            return !owner.equals("documented");
        }
    }

    private final Map<String, Row> rows = new TreeMap<>();

    synchronized void add(final String kind, final String op, final String where, final Throwable t, final long seed,
                          final boolean fileLayer) {
        add(kind, op, where, t, seed, fileLayer ? "file" : "allocator");
    }

    private synchronized void add(final String kind, final String op, final String where, final Throwable t,
                                  final long seed, final String owner) {
        final String category = kind + " | " + op + " | " + where;
        final Row old = rows.get(category);
        final String example = t == null ? "" : t.getClass().getSimpleName() + ": " + t.getMessage();
        rows.put(category, old == null ? new Row(category, owner, seed, example, 1)
            : new Row(category, old.owner, old.firstSeed, old.example, old.count + 1));
    }

    /** An outcome the documentation describes (listed, never a failure). */
    void documented(final String kind, final String op, final Throwable t, final long seed) {
        add(kind, op, where(t.getStackTrace()), t, seed, "documented");
    }

    /** An undocumented exception from operation {@code op}. */
    void exception(final String mutation, final String op, final Throwable t, final long seed) {
        final StackTraceElement[] stack = t.getStackTrace();
        add("raw " + t.getClass().getSimpleName(), op, where(stack), t, seed, isFileLayer(stack));
    }

    /** A case past its time limit; {@code stack} is where its thread was. */
    void hang(final StackTraceElement[] stack, final long seed) {
        add("hang", "case", where(stack), null, seed, isFileLayer(stack));
    }

    /** A repair that ran and left violations; the file layer owns it when the file itself is still unclean. */
    void notConverged(final String mutation, final java.util.List<String> left, final boolean fileLevel,
                      final long seed) {
        final String first = left.getFirst();
        final int colon = first.indexOf(':');
        add("repair not converged", colon > 0 ? first.substring(0, colon) : first, "", new IllegalStateException(
            left.size() + " violation(s) after repair, first: " + first), seed, fileLevel);
    }

    /** @return the innermost project frame, as "Class.method" */
    static String where(final StackTraceElement[] stack) {
        for (final StackTraceElement e : stack) {
            if (e.getClassName().startsWith("io.sharena.") && !e.getClassName().contains("Fuzz")) {
                final String c = e.getClassName();
                return c.substring("io.sharena.core.".length() > c.length() ? 0 : c.lastIndexOf('.') + 1) + "."
                    + e.getMethodName();
            }
        }
        // No project frame: the exception was raised in the test's own code, or HotSpot threw a
        // preallocated one without a stack (-XX:-OmitStackTraceInFastThrow keeps them).
        return "?";
    }

    private static boolean isFileLayer(final StackTraceElement[] stack) {
        for (final StackTraceElement e : stack) {
            if (e.getClassName().startsWith("io.sharena.") && !e.getClassName().contains("Fuzz")) {
                for (final String prefix : FILE_LAYER) {
                    if (e.getClassName().equals(prefix) || prefix.endsWith(".") && e.getClassName().startsWith(prefix)) {
                        return true;
                    }
                }
                return false;
            }
        }
        return false;
    }

    /** The table; under each finding, {@code replay} of its first case seed. */
    synchronized String table(final LongFunction<String> replay) {
        if (rows.isEmpty()) {
            return "fuzz findings: none";
        }
        final StringBuilder b = new StringBuilder("fuzz findings (category = kind | operation | where; owner; count;"
            + " first case seed; example):\n");
        for (final Row row : rows.values()) {
            b.append(String.format("  %-90s %-9s %6d  seed=%d  %s%n", row.category,
                row.owner, row.count, row.firstSeed,
                row.example.length() > 160 ? row.example.substring(0, 160) + "..." : row.example));
            if (row.finding()) {
                b.append("      replay: ").append(replay.apply(row.firstSeed)).append('\n');
            }
        }
        return b.toString();
    }

    /** Fails on every finding of the file layer; with {@code strict}, on every finding. */
    synchronized void assertClean(final boolean strict, final LongFunction<String> replay) {
        final long mine = rows.values().stream().filter(Row::fileLayer).mapToLong(Row::count).sum();
        final long all = rows.values().stream().filter(Row::finding).mapToLong(Row::count).sum();
        if (mine > 0 || strict && all > 0) {
            fail((strict ? all : mine) + " finding(s)" + (strict ? "" : " in the file layer") + ":\n" + table(replay));
        }
    }
}
