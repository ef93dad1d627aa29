package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.ipc.layout.RootsLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A root's name field hit by one stray write where the name's bytes give two readings: the repair
 * keeps the one a lookup already finds.
 */
class RootsNameDamageTest {
    @TempDir
    Path dir;

    private static int h(final String s) {
        return NamedRoots.hash(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * One byte just past a sound name, where the longer name's lookup starts at the same entry (a
     * review of the repair that restores a name length from the name's bytes): the repair took the
     * longer name, and the root was renamed, check clean. A name a lookup finds where it is keeps
     * its length now, and the byte is cleared.
     */
    @Test
    void aStrayBytePastASoundNameIsClearedNotTakenIntoTheName() throws Exception {
        String x = null;
        int stray = 0;
        for (int i = 0; x == null; i++) {
            final String c = "user" + i;
            for (int b = 'a'; b <= 'z' && x == null; b++) {
                if (h(c + (char) b) == h(c)) {
                    x = c;
                    stray = b;
                }
            }
        }
        try (SharedArena arena = SharedArena.create(dir.resolve("y.arena"), Capacity.parse("16M"), ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final NamedRoots roots = NamedRoots.of(arena);
            roots.put(x, 0x1d000);
            final int d = v.getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
            final int e = d + RootsLayout.entry(h(x));
            assertEquals(x.length(), v.getInt(e + RootsLayout.NAME_LEN));
            v.putByte(e + RootsLayout.NAME + x.length(), (byte) stray); // the one stray write
            assertFalse(NamedRoots.check(arena).isEmpty(), "check names the stray byte");
            final List<String> done = NamedRoots.repair(arena, 1_000_000_000L);
            assertTrue(done.stream().anyMatch(s -> s.startsWith("stray bytes past a root's name cleared")), done.toString());
            assertEquals(List.of(), NamedRoots.check(arena));
            assertEquals(0x1d000, roots.get(x), "the root keeps its name " + x + ": " + done);
        }
    }
}
