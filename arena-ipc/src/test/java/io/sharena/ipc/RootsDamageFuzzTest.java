package io.sharena.ipc;

import io.sharena.core.ArenaCorruptedException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.layout.RootsLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The named-roots directory's header words and every word of eight of its entries (live ones
 * and tombstones) but a live root's pointer (a user's value, which nothing can tell from another),
 * set to values a stray write leaves: 0, all ones, 1, one more, the top bit flipped, each entry
 * state. Then the roots are checked, listed, read, added to, and the heap and a channel they lead
 * to are used.
 *
 * <p>The oracle: when {@code check} calls the file clean, every root reads its value, a new one is
 * added and read back, the heap's object and the channel's message are there: nothing lost or
 * made up without a word. When it does not, a use may refuse with {@link ArenaCorruptedException},
 * {@link IllegalStateException} or {@link IllegalArgumentException}, never another exception and
 * never a hang.
 */
class RootsDamageFuzzTest {
    private static final long OBJECT_VALUE = 0x7766_5544_3322_1100L;

    @TempDir
    Path dir;

    /** The base file and what it holds. */
    record Base(Path file, Map<String, Integer> roots, int object, int directory, List<Integer> entries) {
    }

    private Base base() throws Exception {
        final Path file = dir.resolve("base.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("16M"), ArenaOptions.defaults())) {
            final NamedRoots roots = NamedRoots.of(arena);
            for (int i = 0; i < 30; i++) {
                roots.put("root-" + i, 0x1000 * (i + 1) + i);
            }
            for (int i = 0; i < 30; i += 6) {
                roots.remove("root-" + i);
            }
            final int object = ObjectHeap.of(arena).allocate(64);
            arena.raw().putLong(object, OBJECT_VALUE);
            try (ChannelProducer p = Channel.create(arena, "chan", 1, 4096, 64).producer()) {
                p.offer(42, new byte[8], 0, 8);
            }
            final int directory = arena.raw().getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
            // Eight entries: the first live roots', and the tombstones among them.
            final List<Integer> entries = new ArrayList<>();
            for (int i = 0; i < RootsLayout.ENTRIES && entries.size() < 8; i++) {
                final int state = arena.raw().getInt(directory + RootsLayout.entry(i) + RootsLayout.STATE);
                if (state == RootsLayout.LIVE || state == RootsLayout.REMOVED) {
                    entries.add(i);
                }
            }
            return new Base(file, new TreeMap<>(roots.list()), object, directory, entries);
        }
    }

    @Test
    void everyWordOfTheDirectoryDamagedIsRefusedNamedOrHarmless() throws Exception {
        final Base base = base();
        final List<Integer> words = new ArrayList<>();
        for (int at = 0; at < RootsLayout.CREATING + 8; at += 4) {
            words.add(at);
        }
        for (final int e : base.entries()) {
            for (int at = 4; at < RootsLayout.ENTRY_SIZE; at += 4) { // not the pointer, a user's value
                words.add(RootsLayout.entry(e) + at);
            }
        }
        final List<String> failed = new ArrayList<>();
        int cases = 0;
        int reported = 0;
        final Path file = dir.resolve("case.arena");
        for (final int at : words) {
            final int was;
            try (SharedArena arena = SharedArena.open(base.file(), ArenaOptions.defaults().withReadOnly(true))) {
                was = arena.raw().getInt(base.directory() + at);
            }
            for (final int value : new java.util.TreeSet<>(List.of(0, -1, 1, was + 1, was ^ 0x8000_0000, RootsLayout.WRITING,
                RootsLayout.LIVE, RootsLayout.REMOVED))) {
                if (value == was) {
                    continue;
                }
                cases++;
                Files.copy(base.file(), file, StandardCopyOption.REPLACE_EXISTING);
                final String outcome = assertTimeoutPreemptively(Duration.ofSeconds(20),
                    () -> run(base, file, base.directory() + at, value));
                if (outcome.startsWith("R")) {
                    reported++;
                } else if (!outcome.equals("H")) {
                    failed.add("directory+" + at + " = 0x" + Integer.toHexString(value) + " (was 0x" + Integer.toHexString(was)
                        + "): " + outcome);
                }
            }
        }
        System.out.println("roots fuzz: " + cases + " cases, " + reported + " reported, " + failed.size() + " failed");
        failed.forEach(f -> System.out.println("  " + f));
        assertEquals(List.of(), failed);
    }

    /**
     * A live root's state set to EMPTY or REMOVED by a stray write: the root was gone, the check
     * clean (found by the fuzz above). A remove leaves a tombstone with no name, and an EMPTY entry
     * was never written, so an entry in either state holding a name and a pointer is named by the
     * check, and the repair makes it LIVE again (moved where a lookup finds it, if an EMPTY one cut
     * its probe), every root read back.
     */
    @Test
    void aRootWhoseStateWasHitIsNamedAndRestored() throws Exception {
        final Base base = base();
        final Path file = dir.resolve("case.arena");
        for (final int state : new int[] {RootsLayout.EMPTY, RootsLayout.REMOVED}) {
            Files.copy(base.file(), file, StandardCopyOption.REPLACE_EXISTING);
            try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
                final int e = base.entries().stream().map(i -> base.directory() + RootsLayout.entry(i))
                    .filter(at -> arena.raw().getInt(at + RootsLayout.STATE) == RootsLayout.LIVE).findFirst().orElseThrow();
                final String name = base.roots().keySet().stream().filter(n -> isAt(arena, n, e)).findFirst().orElseThrow();
                arena.raw().putIntRelease(e + RootsLayout.STATE, state);
                assertEquals(0, NamedRoots.of(arena).get(name), "gone from lookups");
                final List<String> found = IpcCheck.check(arena);
                org.junit.jupiter.api.Assertions.assertTrue(found.stream().anyMatch(f -> f.startsWith("root entry "
                    + (state == RootsLayout.EMPTY ? "EMPTY" : "REMOVED") + " but holding its name and pointer")), found.toString());
                final List<String> done = IpcCheck.repair(arena, 1_000_000_000L);
                org.junit.jupiter.api.Assertions.assertTrue(done.stream().anyMatch(d -> d.startsWith("root restored")), done.toString());
                assertEquals(List.of(), IpcCheck.check(arena));
                assertEquals(base.roots(), new TreeMap<>(NamedRoots.of(arena).list()));
                assertEquals(base.roots().get(name), NamedRoots.of(arena).get(name));
            }
        }
    }

    private static boolean isAt(final SharedArena arena, final String name, final int e) {
        final byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (arena.raw().getInt(e + RootsLayout.NAME_LEN) != bytes.length) {
            return false;
        }
        final byte[] there = new byte[bytes.length];
        arena.raw().getBytes(e + RootsLayout.NAME, there, 0, bytes.length);
        return java.util.Arrays.equals(there, bytes);
    }

    /** @return "H" harmless, "R" reported, "S..." lost or made up with check clean, "X..." a raw exception */
    private static String run(final Base base, final Path file, final int word, final int value) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            v.putIntRelease(word, value);
            final List<String> found = IpcCheck.check(arena);
            try {
                final NamedRoots roots = NamedRoots.of(arena);
                final Map<String, Integer> listed = new TreeMap<>(roots.list());
                final List<String> wrong = new ArrayList<>();
                if (!listed.equals(base.roots())) {
                    wrong.add("listed " + listed);
                }
                base.roots().forEach((name, ptr) -> {
                    if (roots.get(name) != ptr) {
                        wrong.add(name + " reads " + roots.get(name) + " not " + ptr);
                    }
                });
                roots.put("new-root", 4242);
                if (roots.get("new-root") != 4242) {
                    wrong.add("new root reads " + roots.get("new-root"));
                }
                if (v.getLong(base.object()) != OBJECT_VALUE) {
                    wrong.add("heap object " + Long.toHexString(v.getLong(base.object())));
                }
                final int object = ObjectHeap.of(arena).allocate(64);
                if (object == base.object()) {
                    wrong.add("the heap's live object handed out again");
                }
                final List<Integer> types = new ArrayList<>();
                try (ChannelConsumer c = Channel.open(arena, "chan").consumer()) {
                    c.poll((view, type, ptr, length) -> types.add(type), 8);
                }
                if (!types.equals(List.of(42))) {
                    wrong.add("channel delivered " + types);
                }
                return wrong.isEmpty() ? "H" : found.isEmpty() ? "S " + wrong : "R";
            } catch (final ArenaCorruptedException | IllegalStateException | IllegalArgumentException e) {
                return found.isEmpty() ? "S refused with check clean: " + e : "R";
            } catch (final RuntimeException e) {
                return "X " + e;
            }
        }
    }
}
