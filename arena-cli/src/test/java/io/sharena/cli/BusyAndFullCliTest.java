package io.sharena.cli;

import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Ordinary conditions of a shared file, a lock another process holds and a file too small, are
 * reported as such, with the busy (7) and full (8) statuses: they were "unexpected
 * IllegalStateException ... (a bug ...)", status 70. The holder is a real child JVM stopped with
 * the roots' lock held.
 */
class BusyAndFullCliTest extends CapturedStreams {
    @TempDir
    Path dir;

    /** The child: creates the store in the file; armed by the test, it stops itself under the roots' lock. */
    public static void main(final String[] args) throws Exception {
        try (SharedStore store = SharedStore.openOrCreate(Path.of(args[0]),
            StoreOptions.defaults().withMemoryLimit(1 << 20).withMaxItemSize(1 << 16))) {
            System.out.println("created " + store.memoryLimit());
        }
    }

    @Test
    void aStoreInAnArenaWithNoRoomIsFull() {
        final Path file = dir.resolve("small.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "8p"));
        assertEquals(ArenaCli.EXIT_FULL, ArenaCli.run("serve", "--store", file.toString(), "--port", "0"), err());
        assertEquals("arena: no room for the named-roots directory: pages=5, path=" + file + "\n", err());
    }

    @Test
    void theRootsLockHeldByAStoppedCreatorIsBusy() throws Exception {
        final Path file = dir.resolve("stopped.store");
        try (ChildJvm creator = ChildJvm.start(BusyAndFullCliTest.class, List.of("-Dsharena.crashpoints=true",
            "-Dsharena.crashpoint=RootsPoint.CREATE_RECORDED", "-Dsharena.crashpoint.action=stop"), file.toString())) {
            creator.await("crashpoint: RootsPoint.CREATE_RECORDED stop");
            assertEquals(ArenaCli.EXIT_BUSY, ArenaCli.run("serve", "--store", file.toString(), "--port", "0"), err());
            assertEquals("arena: named-roots lock busy for 2000 ms; creation not awaited\n", err());
        }
    }
}
