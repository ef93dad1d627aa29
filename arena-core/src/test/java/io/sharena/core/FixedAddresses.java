package io.sharena.core;

import java.io.IOException;
import java.nio.file.Path;

/** Picks a free fixed window address for tests: high in user space, away from the JVM's mappings. */
final class FixedAddresses {
    static final long FIRST_CANDIDATE = 0x3A00_0000_0000L;

    private FixedAddresses() {
    }

    static SharedArena create(final Path file, final Capacity capacity) throws IOException {
        IOException last = null;
        for (int i = 0; i < 16; i++) {
            final long address = FIRST_CANDIDATE + ((long) i << 36);
            try {
                return SharedArena.create(file, capacity,
                    ArenaOptions.defaults().withFixedAddress(address).withReplace(true));
            } catch (final IOException e) {
                last = e;
            }
        }
        throw last;
    }
}
