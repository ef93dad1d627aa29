package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code arena demo}: one arena, three JVM processes. This process creates it; a writer process
 * builds a message and a linked list in it; a reader process, mapped at another address, finds
 * them through the same 32-bit arena pointers; all of them add to one shared counter.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Show several JVM processes sharing one arena through 32-bit arena pointers.")
final class DemoCommand implements Callable<Integer> {
    private static final long CHILD_TIMEOUT_SECONDS = 120;

    @Option(names = "--adds", defaultValue = "1000000", description = "get-and-adds per process on the shared counter")
    int adds;

    @Option(names = "--keep", description = "keep the arena file instead of deleting it")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        final Path dir = Files.createTempDirectory("sharena-demo-");
        final Path file = dir.resolve("demo.arena");
        try {
            return run(file);
        } finally {
            if (!keep) {
                deleteTree(dir);
            }
        }
    }

    private int run(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("64M"), ArenaOptions.defaults())) {
            final int root = arena.allocPagesAt((int) (arena.firstUserPage() * arena.pageSize()), 1);
            say("main", "created %s: %d pages, mapped at 0x%x; allocated the root page at pointer 0x%x",
                file, arena.capacityPages(), arena.base(), root);
            say("main", "starting a writer and a reader, each a JVM process of its own");
            final Process writer = JavaCommand.start(DemoWorker.class, "writer", file.toString(), Integer.toString(adds));
            final Process reader = JavaCommand.start(DemoWorker.class, "reader", file.toString(), Integer.toString(adds));
            final Thread writerOut = relay("writer", writer);
            final Thread readerOut = relay("reader", reader);
            final ArenaView v = arena.raw();
            for (int i = 0; i < adds; i++) {
                v.getAndAddLong(root + DemoLayout.COUNTER, 1);
            }
            final int writerExit = waitFor(writer, writerOut);
            final int readerExit = waitFor(reader, readerOut);
            if (writerExit != 0 || readerExit != 0) {
                say("main", "a child failed: writer exit %d, reader exit %d", writerExit, readerExit);
                return ArenaCli.EXIT_FAILURE;
            }
            final long counter = v.getLongVolatile(root + DemoLayout.COUNTER);
            say("main", "shared counter = %,d (3 processes x %,d get-and-adds: %s)", counter, adds,
                counter == 3L * adds ? "none lost" : "MISMATCH, expected " + 3L * adds);
            say("main", "reader finished: %s", v.getIntAcquire(root + DemoLayout.READER_DONE) == 1 ? "yes" : "no");
            say("main", "the arena now:");
            StatCommand.printText(arena.info(), System.out);
            StatCommand.printStats(io.sharena.core.check.ArenaStats.read(arena), System.out);
            return counter == 3L * adds ? 0 : ArenaCli.EXIT_FAILURE;
        }
    }

    private static int waitFor(final Process p, final Thread relay) throws InterruptedException {
        if (!p.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            relay.join();
            return -1;
        }
        relay.join();
        return p.exitValue();
    }

    private static Thread relay(final String who, final Process p) {
        final Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    say(who + " pid " + p.pid(), "%s", line);
                }
            } catch (final IOException e) {
                say(who, "output lost: %s", e.getMessage());
            }
        }, "relay-" + who);
        t.start();
        return t;
    }

    private static synchronized void say(final String who, final String format, final Object... args) {
        System.out.println(String.format("%-18s ", "[" + who + "]") + String.format(format, args));
    }

    private static void deleteTree(final Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            final List<Path> paths = new ArrayList<>(s.sorted(Comparator.reverseOrder()).toList());
            for (final Path p : paths) {
                Files.deleteIfExists(p);
            }
        }
    }
}
