package io.sharena.cli;

import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.IpcCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code arena check FILE [--repair]}: the file itself first (both header copies, the size against
 * the capacity), read without mapping it; then, if the file is whole enough to map, the allocator,
 * named roots, shared stores, heap and channels ({@link io.sharena.ipc.IpcCheck}). {@code --repair} restores
 * the file (size, header copy), rebuilds the allocator's structures and repairs the IPC ones, saying
 * what it did and what was lost, and checks again.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Verify an arena file and its allocator, named roots, heap, stores and channels (read-only); --repair restores the"
        + " file's size and header copies and rebuilds the free structures, then checks again.",
    exitCodeListHeading = "Exit status:%n",
    exitCodeList = {" 0:consistent", " 1:violations found (listed one per line)", " 2:usage",
        " 3:no such file, access denied, or a system call failed",
        " 4:not a valid arena (not a regular file, or no valid header copy)",
        " 5:the file was cut short while being checked", " 6:corrupted metadata stopped the repair",
        " 7:--repair could not take the allocator lock", "70:internal error"})
final class CheckCommand implements Callable<Integer> {
    private static final long REPAIR_LOCK_TIMEOUT_NANOS = 5_000_000_000L;

    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file")
    Path file;

    @Option(names = "--repair", description = "restore the file's size (sparse) and damaged header copy, take the "
        + "lock, free what dead processes left in transit, rebuild the free lists from the page states, then check again")
    boolean repair;

    /** Checks made of a file other processes have open: a violation is one each of them finds. */
    private static final int LIVE_ROUNDS = 3;

    @Override
    public Integer call() throws IOException {
        if (repair) {
            // A file shorter than its capacity reads zeros from its old end on once the size is
            // restored: the stores drop what reached past it.
            final long sizeBefore = java.nio.file.Files.isRegularFile(file) ? java.nio.file.Files.size(file) : Long.MAX_VALUE;
            for (final String done : ArenaInternals.repairFile(file)) {
                System.out.println("repaired: " + done);
            }
            try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
                // The opener may have repaired already (a dead process's slot, or the allocator
                // marked): what it did by a guess is said too.
                final java.util.List<String> opened = ArenaInternals.repairNotes(arena);
                // What the roots say the structures hold is read first: the allocator's repair keeps
                // those pages allocated, even where a damaged page table calls them free.
                final java.util.BitSet held = ArenaInternals.guarded(arena, "read the structures' pages",
                    () -> IpcCheck.heldPages(arena));
                final boolean repaired = ArenaInternals.repair(arena, REPAIR_LOCK_TIMEOUT_NANOS, held);
                if (!repaired && ArenaInternals.lock(arena).ownerWord() != 0) {
                    System.err.println("arena: could not take the allocator lock within 5 s; the allocator was not rebuilt");
                    return ArenaCli.EXIT_BUSY;
                }
                // Repaired, or repaired except what it names: what it fixed by a safe guess, or left.
                opened.forEach(note -> System.out.println("note: " + note));
                ArenaInternals.repairNotes(arena).forEach(note -> System.out.println((repaired ? "note: " : "not repaired: ") + note));
                System.out.println((repaired ? "repaired: " : "repaired in part: ") + file
                    + ": allocator rebuilt from the page states");
                try {
                    // The file records the cut until the stores are repaired: a repair killed after the
                    // size was restored left the next one where the zeros begin.
                    final long lostFrom = Math.min(sizeBefore < arena.capacityBytes() ? sizeBefore : Long.MAX_VALUE,
                        ArenaInternals.unrepairedCut(arena));
                    for (final String line : IpcCheck.repair(arena, REPAIR_LOCK_TIMEOUT_NANOS, lostFrom)) {
                        System.out.println("repaired: " + line);
                    }
                } catch (final IllegalStateException busy) {
                    // The roots' lock is busy or another live process uses the heap: nothing changed there.
                    System.out.println("not repaired: named roots and heap: " + busy.getMessage());
                }
            }
        }
        final List<String> violations = new ArrayList<>(SharedArena.checkFile(file));
        SharedArena arena = null;
        try {
            arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true));
        } catch (final ArenaFormatException e) {
            // A file shorter than its capacity cannot be mapped; checkFile has reported it.
            if (!e.field().equals("fileSize") || violations.isEmpty()) {
                throw e;
            }
        }
        if (arena != null) {
            try (SharedArena a = arena) {
                final List<Long> live = liveProcesses(a);
                final List<String> found = checkOnce(a);
                // Other processes change the file while the check reads it, without its locks: what
                // one of them does between two reads can show as a violation that is gone a moment
                // later. With them attached, a finding counts only if each later check finds it
                // again, word for word; a quiet file is read once.
                for (int round = 1; round < LIVE_ROUNDS && !found.isEmpty() && !live.isEmpty(); round++) {
                    found.retainAll(new java.util.HashSet<>(checkOnce(a)));
                }
                if (!live.isEmpty()) {
                    System.out.println("note: " + live.size() + " other process(es) attached, pids " + live
                        + ": checked while they run, a violation is one that every one of " + LIVE_ROUNDS
                        + " checks found");
                }
                violations.addAll(found);
            }
        }
        violations.forEach(System.out::println);
        System.out.println(violations.isEmpty() ? "check: ok"
            : "check: " + violations.size() + " violation(s)" + (repair ? " left after the repair" : ""));
        return violations.isEmpty() ? 0 : ArenaCli.EXIT_FAILURE;
    }

    /** One reading of the mapped file: the allocator's structures, then the named roots, stores, heap and channels. */
    private static List<String> checkOnce(final SharedArena a) {
        return ArenaInternals.guarded(a, "check", () -> {
            final List<String> found = new ArrayList<>(ArenaChecker.check(a));
            found.addAll(IpcCheck.check(a));
            return found;
        });
    }

    /** @return the pids of the live processes attached to the arena (this read-only one is not) */
    private static List<Long> liveProcesses(final SharedArena a) {
        return ArenaInternals.otherLiveProcesses(a);
    }
}
