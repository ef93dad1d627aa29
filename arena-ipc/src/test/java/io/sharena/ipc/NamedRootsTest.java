package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.ipc.layout.RootsLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NamedRootsTest {
    @TempDir
    Path dir;
    SharedArena arena;
    NamedRoots roots;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("r.arena"), Capacity.parse("4M"), ArenaOptions.defaults());
        roots = NamedRoots.of(arena);
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(List.of(), roots.check());
        arena.close();
    }

    @Test
    void aHalfWrittenEntryIsSkippedReportedAndReclaimed() {
        roots.put("a", 1);
        // What a process killed between claiming an entry and publishing it leaves behind.
        final int dir = arena.raw().getIntAcquire((int) io.sharena.core.layout.ControlLayout.word(
            io.sharena.core.layout.ControlLayout.ROOTS_PTR));
        final int e = dir + RootsLayout.entry(5);
        arena.raw().putInt(e + RootsLayout.NAME_LEN, 1);
        arena.raw().putByte(e + RootsLayout.NAME, (byte) 'b');
        arena.raw().putIntRelease(e + RootsLayout.STATE, RootsLayout.WRITING);
        assertEquals(List.of("root entry left half-written: entry=5"), roots.check());
        assertEquals(0, roots.get("b"), "readers skip it");
        for (int i = 0; i < RootsLayout.ENTRIES - 1; i++) {
            roots.put("x" + i, 1);
        }
        assertEquals(List.of(), roots.check(), "the next adds reclaimed it");
    }

    @Test
    void removeAndFreeGivesBackWhatTheNameNamesAndOnlyThat() {
        final long allocated = ChannelCreationCrashTest.allocatedPages(arena);
        final int made = roots.create("made", 3, p -> arena.raw().putLong(p, 7));
        assertEquals(allocated + 3, ChannelCreationCrashTest.allocatedPages(arena));
        assertFalse(roots.removeAndFree("made", made + 4096, 2), "another pointer: nothing changed");
        assertFalse(roots.removeAndFree("other", made, 3), "another name: nothing changed");
        assertEquals(made, roots.get("made"));
        assertThrows(IllegalArgumentException.class, () -> roots.removeAndFree("made", 4096, 1), "not user pages");
        assertTrue(roots.removeAndFree("made", made, 3));
        assertEquals(allocated, ChannelCreationCrashTest.allocatedPages(arena), "its pages given back");
        assertFalse(roots.contains("made"), "the name removed");
        assertNotEquals(0, roots.create("made", 1, p -> { }), "and free for a new structure");
    }

    @Test
    void aCreateWithNoRoomLeavesTheNamesItFoundAndDropsOnlyTheOneItAdded() {
        roots.put("kept", 0);
        final List<Integer> taken = new ArrayList<>();
        for (int p; (p = arena.allocPages(1)) != 0; ) {
            taken.add(p);
        }
        assertEquals(0, roots.create("kept", 2, p -> { }), "no room");
        assertTrue(roots.contains("kept"), "a name that was there before the create stays");
        assertEquals(0, roots.create("added", 2, p -> { }), "no room");
        assertFalse(roots.contains("added"), "a name the create added goes again");
        taken.forEach(p -> arena.freePages(p, 1));
        assertNotEquals(0, roots.create("kept", 2, p -> { }), "room again: the name gets its structure");
    }

    @Test
    void putGetRemoveAndList() {
        assertEquals(0, roots.get("orders"));
        assertEquals(0, roots.put("orders", 0x5000));
        assertEquals(0x5000, roots.get("orders"));
        assertEquals(0x5000, roots.put("orders", 0x6000));
        assertEquals(0x6000, roots.get("orders"));
        roots.put("prices", -4096);
        assertEquals(Map.of("orders", 0x6000, "prices", -4096), roots.list());
        assertEquals(0x6000, roots.remove("orders"));
        assertEquals(0, roots.get("orders"));
        assertEquals(0, roots.remove("orders"));
        assertFalse(roots.contains("orders"));
        assertEquals(0, roots.put("orders", 7 << 12), "a removed name can be added again");
        assertEquals(7 << 12, NamedRoots.of(arena).get("orders"), "a second handle sees the same directory");
    }

    @Test
    void compareAndSet() {
        assertFalse(roots.compareAndSet("q", 5, 6), "absent name, expected non-zero");
        assertTrue(roots.compareAndSet("q", 0, 6), "0 expected means add");
        assertFalse(roots.compareAndSet("q", 0, 7), "now present");
        assertFalse(roots.compareAndSet("q", 5, 7));
        assertTrue(roots.compareAndSet("q", 6, 7));
        assertEquals(7, roots.get("q"));
    }

    @Test
    void namesAreValidated() {
        assertEquals("root name must not be empty: name=",
            assertThrows(IllegalArgumentException.class, () -> roots.put("", 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> roots.get(null));
        final String long49 = "x".repeat(49);
        assertEquals("root name too long: bytes=49, max=48, name=" + long49,
            assertThrows(IllegalArgumentException.class, () -> roots.put(long49, 1)).getMessage());
        final String utf8 = "é".repeat(24); // 48 bytes
        roots.put(utf8, 9);
        assertEquals(9, roots.get(utf8));
        assertThrows(IllegalArgumentException.class, () -> roots.put("é".repeat(25), 1));
        // A lone surrogate encoded as '?': "\uD800" and "?" were one name.
        roots.put("?", 3);
        assertThrows(IllegalArgumentException.class, () -> roots.put("\uD800", 4));
        assertThrows(IllegalArgumentException.class, () -> roots.get("a\uDC00"));
        assertEquals(3, roots.get("?"));
    }

    @Test
    void fillsUpWithAClearErrorAndCollidingNamesStayApart() {
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            roots.put("n" + i, i + 1);
        }
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            assertEquals(i + 1, roots.get("n" + i));
        }
        assertEquals("named-roots directory full: entries=256",
            assertThrows(IllegalStateException.class, () -> roots.put("one-more", 1)).getMessage());
    }

    @Test
    void concurrentPutsOfTheSameNamesNeverDuplicate() throws Exception {
        final List<Thread> threads = new ArrayList<>();
        // A thread that throws would otherwise just die: the others put the same names, so the
        // count below would still come out right. Only the documented busy lock is let pass.
        final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicInteger busy = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < 4; t++) {
            final int id = t;
            threads.add(new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    try {
                        roots.put("k" + (i % 50), id * 1000 + i);
                        roots.compareAndSet("c" + (i % 10), 0, id + 1);
                    } catch (final IllegalStateException e) {
                        if (!String.valueOf(e.getMessage()).startsWith("named-roots lock busy")) {
                            failures.add(e);
                            return;
                        }
                        busy.incrementAndGet();
                    } catch (final Throwable e) {
                        failures.add(e);
                        return;
                    }
                }
            }));
        }
        threads.forEach(Thread::start);
        for (final Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), failures);
        System.out.println("named-roots lock busy (documented, let pass): " + busy.get());
        final Map<String, Integer> all = roots.list();
        assertEquals(60, all.size(), all.toString());
        for (final Map.Entry<String, Integer> e : all.entrySet()) {
            final int v = e.getValue();
            final int j = Integer.parseInt(e.getKey().substring(1));
            if (e.getKey().startsWith("k")) {
                assertTrue(v / 1000 < 4 && v % 1000 < 200 && v % 1000 % 50 == j, "a value put under this name: " + e);
            } else {
                assertTrue(v >= 1 && v <= 4, "the one compareAndSet that added it: " + e);
            }
        }
    }
}
