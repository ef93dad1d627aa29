package io.sharena.cli;

import io.sharena.core.ArenaInfo;
import io.sharena.core.ArenaOptions;
import io.sharena.core.SharedArena;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;

/** {@code arena stat FILE [--json]}: header, mapping and cost of an arena, opened read-only. */
@Command(name = "stat", mixinStandardHelpOptions = true,
    description = "Show an arena's header, where it maps and what it costs in memory and on disk.")
final class StatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file")
    Path file;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws IOException {
        final ArenaInfo info;
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            info = arena.info();
        }
        if (json) {
            printJson(info, System.out);
        } else {
            printText(info, System.out);
        }
        return 0;
    }

    static void printText(final ArenaInfo i, final PrintStream out) {
        out.printf("arena          %s%n", i.path());
        out.printf("format         %d%n", i.formatVersion());
        out.printf("page size      %d%n", i.pageSize());
        out.printf("capacity       %d pages (%s)%n", i.capacityPages(), Format.bytes(i.capacityBytes()));
        out.printf("metadata       %d pages after the header; first user page %d%n", i.metaPages(), i.firstUserPage());
        out.printf("flags          0x%x%n", i.flags());
        out.printf("arena id       %016x%n", i.arenaId());
        out.printf("created        %s%n", Instant.ofEpochMilli(i.createdMillis()));
        out.printf("fixed address  %s%n", i.fixedAddress() == 0 ? "none" : Format.hex(i.fixedAddress()));
        out.printf("mapped at      %s (4 GiB window), %s mapped%n", Format.hex(i.windowBase()), Format.bytes(i.mappedBytes()));
        out.printf("resident       %s%n", Format.bytes(i.residentBytes()));
        out.printf("on disk        %s%n", Format.bytes(i.diskBytes()));
    }

    static void printJson(final ArenaInfo i, final PrintStream out) {
        out.println("{\"path\":" + Format.json(i.path().toString())
            + ",\"formatVersion\":" + i.formatVersion()
            + ",\"pageSize\":" + i.pageSize()
            + ",\"capacityPages\":" + i.capacityPages()
            + ",\"capacityBytes\":" + i.capacityBytes()
            + ",\"metaPages\":" + i.metaPages()
            + ",\"firstUserPage\":" + i.firstUserPage()
            + ",\"flags\":" + i.flags()
            + ",\"arenaId\":" + Format.json(String.format("%016x", i.arenaId()))
            + ",\"createdMillis\":" + i.createdMillis()
            + ",\"fixedAddress\":" + Format.json(Format.hex(i.fixedAddress()))
            + ",\"windowBase\":" + Format.json(Format.hex(i.windowBase()))
            + ",\"mappedBytes\":" + i.mappedBytes()
            + ",\"residentBytes\":" + i.residentBytes()
            + ",\"diskBytes\":" + i.diskBytes() + "}");
    }
}
