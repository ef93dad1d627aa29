package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.TaggedHead;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code arena dump}: what it prints of a known arena, and a forged cycle it must not follow forever. */
class DumpCommandTest {
    @TempDir
    Path dir;

    private static String run(final String... args) {
        final PrintStream saved = System.out;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, ArenaCli.run(args));
        } finally {
            System.setOut(saved);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static ByteBuffer longAt(final long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, value);
    }

    @Test
    void showsAllocatedRunsAndTheFreeRest() throws Exception {
        final Path file = dir.resolve("d.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("64p"), ArenaOptions.defaults())) {
            final int first = (int) arena.firstUserPage();
            assertEquals(first << 12, arena.allocPages(20));
            final String text = run("dump", file.toString());
            assertTrue(text.contains("  " + first + ".." + (first + 19) + "  ALLOCATED"), text);
            assertTrue(text.contains("  " + (first + 20) + "..63  FREE"), text);
            assertTrue(text.contains("lock      unlocked"), text);
            assertTrue(text.contains("alive"), text);
            final String json = run("dump", file.toString(), "--json", "--pages", first + ".." + (first + 1));
            assertTrue(json.startsWith("{\"path\":") && json.strip().endsWith("]}"), json);
            assertTrue(json.contains("{\"first\":" + first + ",\"last\":" + first + ",\"state\":\"ALLOCATED\""), json);
        }
    }

    @Test
    void aPendingListThatLoopsIsShownBrokenNotFollowed() throws Exception {
        final Path file = dir.resolve("cycle.arena");
        final int page;
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("64p"), ArenaOptions.defaults())) {
            page = (int) arena.firstUserPage() + 3;
        }
        // A forged list, written into the closed file: the head names a page whose NEXT link is itself.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(longAt(PageEntry.link(0, page)), PageEntry.linkOffset(page));
            ch.write(longAt(TaggedHead.encode(1, 0, page)), ControlLayout.word(ControlLayout.PENDING_HEAD));
        }
        final String text = run("dump", file.toString());
        assertTrue(text.contains("pending   [" + 8 + "+0] BROKEN: cycle: page 8 seen twice"), text);
    }
}
