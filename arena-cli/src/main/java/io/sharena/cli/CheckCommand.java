package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.heap.ObjectHeap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code arena check FILE [--repair]}: exit 0 when consistent, 1 when violations were found (one
 * per line), 2 when the file is not an arena or cannot be read.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Verify an arena's allocator, named roots and heap (read-only); --repair rebuilds the free structures.",
    exitCodeListHeading = "Exit status:%n",
    exitCodeList = {"0:consistent", "1:violations found (listed one per line)", "2:not an arena, or unreadable"})
final class CheckCommand implements Callable<Integer> {
    static final int EXIT_NOT_AN_ARENA = 2;

    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file")
    Path file;

    @Option(names = "--repair", description = "take the lock, free what dead processes left in transit, "
        + "rebuild the free lists from the page states, then check again")
    boolean repair;

    @Override
    public Integer call() {
        try {
            if (repair) {
                try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
                    final boolean repaired = arena.repair(5_000_000_000L);
                    if (!repaired && arena.lock().ownerWord() != 0) {
                        System.err.println("arena: could not take the allocator lock within 5 s; nothing repaired");
                        return 1;
                    }
                    // Repaired, or repaired except what it names: what it fixed by a safe guess, or left.
                    arena.repairNotes().forEach(note -> System.out.println((repaired ? "note: " : "not repaired: ") + note));
                    System.out.println((repaired ? "repaired: " : "repaired in part: ") + file);
                }
            }
            final List<String> violations;
            try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
                violations = new java.util.ArrayList<>(ArenaChecker.check(arena));
                NamedRoots.existing(arena).ifPresent(roots -> violations.addAll(roots.check()));
                ObjectHeap.existing(arena).ifPresent(heap -> violations.addAll(heap.check()));
            }
            violations.forEach(System.out::println);
            System.out.println(violations.isEmpty() ? "check: ok" : "check: " + violations.size() + " violation(s)");
            return violations.isEmpty() ? 0 : 1;
        } catch (final IOException | RuntimeException e) {
            System.err.println("arena: " + ArenaCli.describe(e));
            return EXIT_NOT_AN_ARENA;
        }
    }
}
