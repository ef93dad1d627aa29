package io.sharena.cli;

import io.sharena.core.ArenaInUseException;
import io.sharena.core.SharedArena;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code arena delete FILE [--force]}: deletes an arena unless live processes have it open. */
@Command(name = "delete", mixinStandardHelpOptions = true,
    description = {"Delete an arena file. Refused while other live processes have it open (they are named); "
        + "--force deletes it anyway: they keep their mapping, nobody can open it by name again. "
        + "A file that is not a valid arena is never deleted.",
        "Exit status: 0 deleted, 7 refused: in use; otherwise as every command (3 no such file, 4 not an arena)."},
    footer = "Processes that opened the arena read-only do not register and are not seen.")
final class DeleteCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file")
    Path file;

    @Option(names = "--force", description = "delete even while live processes have it open")
    boolean force;

    @Override
    public Integer call() throws IOException {
        try {
            final List<Long> holders = SharedArena.delete(file, force);
            System.out.println(holders.isEmpty() ? "deleted " + file
                : "deleted " + file + " (forced; still open in pids " + pids(holders) + ")");
            return 0;
        } catch (final ArenaInUseException e) {
            System.err.println("arena: " + file + ": in use by live processes, pids " + pids(e.pids())
                + "; not deleted (--force deletes it anyway)");
            return ArenaCli.EXIT_BUSY;
        }
    }

    private static String pids(final List<Long> pids) {
        return String.join(", ", pids.stream().map(String::valueOf).toList());
    }
}
