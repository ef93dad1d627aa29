package io.sharena.core;

import java.io.IOException;
import java.nio.file.Path;

/** Shared helpers for tests that need an arena file. */
final class TestArenas {
    private TestArenas() {
    }

    static SharedArena create(final Path dir, final String size) throws IOException {
        return SharedArena.create(dir.resolve("test.arena"), Capacity.parse(size), ArenaOptions.defaults());
    }

    /** @return the pointer of the first user page */
    static int firstUserPointer(final SharedArena arena) {
        return (int) (arena.firstUserPage() * arena.pageSize());
    }

    /** @return the pid of a process that has exited and been reaped: a dead registry entry's pid */
    static long deadPid() throws Exception {
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        return gone.pid();
    }
}
