package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code arena create FILE --size SIZE [--fixed-address ADDR] [--replace]}. */
@Command(name = "create", mixinStandardHelpOptions = true, description = "Create a sparse arena file.")
final class CreateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the arena file to create")
    Path file;

    @Option(names = "--size", required = true, paramLabel = "SIZE",
        description = "total size, header and metadata included: bytes, or with K, M, G (binary), or p for pages; at most 4G")
    String size;

    @Option(names = "--fixed-address", paramLabel = "ADDR",
        description = "map at this 4 GiB-aligned address in every process (hex with 0x, or decimal)")
    String fixedAddress;

    @Option(names = "--replace", description = "replace an existing arena file that no other live process has open"
        + " (anything else at FILE is never replaced)")
    boolean replace;

    @Override
    public Integer call() throws IOException {
        ArenaOptions options = ArenaOptions.defaults().withReplace(replace);
        if (fixedAddress != null) {
            options = options.withFixedAddress(parseAddress(fixedAddress));
        }
        try (SharedArena arena = SharedArena.create(file, Capacity.parse(size), options)) {
            System.out.printf("created %s: %d pages (%s), first user page %d, mapped at 0x%x%n", file,
                arena.capacityPages(), Format.bytes(arena.capacityBytes()), arena.firstUserPage(),
                ArenaInternals.base(arena));
        }
        return 0;
    }

    static long parseAddress(final String text) {
        try {
            final String t = text.trim().toLowerCase(java.util.Locale.ROOT).replace("_", "");
            return t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException("not an address: fixedAddress=" + text + " (example: 0x300000000000)");
        }
    }
}
