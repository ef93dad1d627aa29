package io.sharena.core;

import io.sharena.core.internal.ArenaInternals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The arena's public surface: which packages the module exports to everyone and to whom the rest
 * goes, the public members of {@link SharedArena}, page states and the pointer/page conversions.
 * A change to the surface must change this test.
 */
class PublicApiTest {
    @TempDir
    Path dir;

    @Test
    void theModuleExportsTheApiToAllAndTheRestOnlyToSharenasModules() throws Exception {
        // The tests run on the class path: read the descriptor next to the classes under test.
        final Path classes = Path.of(SharedArena.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        final ModuleDescriptor module;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            module = ModuleDescriptor.read(in);
        }
        final Map<String, Set<String>> exports = new TreeMap<>();
        for (final ModuleDescriptor.Exports e : module.exports()) {
            exports.put(e.source(), new TreeSet<>(e.targets()));
        }
        final Set<String> own = Set.of("io.sharena.ipc", "io.sharena.cli");
        assertEquals(Map.of(
            "io.sharena.core", Set.of(),
            "io.sharena.core.lock", Set.of(),
            "io.sharena.core.crash", Set.of(),
            "io.sharena.core.internal", own,
            "io.sharena.core.owner", own,
            "io.sharena.core.layout", own,
            "io.sharena.core.check", own), exports);
        assertFalse(module.packages().stream().anyMatch(p -> p.endsWith(".alloc") && exports.containsKey(p)));
    }

    @Test
    void sharedArenaShowsUsersOnlyTheArena() {
        final Set<String> methods = Arrays.stream(SharedArena.class.getDeclaredMethods())
            .filter(m -> Modifier.isPublic(m.getModifiers()))
            .map(Method::getName)
            .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(Set.of(
            "create", "open", "delete", "checkFile",
            "raw", "strict", "lenient",
            "allocPages", "allocPagesAt", "allocPagesInto", "allocPagesUninitialized", "freePages", "freePagesFrom", "reservePages", "setQuota",
            "purge", "dirtyPages", "reclaimDeadProcesses",
            "pageState", "pointerOf", "pageOf", "lockAt",
            "path", "pageSize", "capacityPages", "capacityBytes", "firstUserPage", "arenaId", "fixedAddress",
            "info", "close")), methods);
    }

    @Test
    void pageStatesAndPointerConversions() throws IOException {
        try (SharedArena arena = SharedArena.create(dir.resolve("p.arena"), Capacity.ofPages(64),
            ArenaOptions.defaults())) {
            final long first = arena.firstUserPage();
            assertEquals(PageState.META, arena.pageState(0));
            assertEquals(PageState.META, arena.pageState(first - 1));
            assertEquals(PageState.FREE, arena.pageState(first));
            assertEquals(PageState.OUTSIDE, arena.pageState(-1));
            assertEquals(PageState.OUTSIDE, arena.pageState(arena.capacityPages()));
            assertEquals(PageState.FREE, arena.pageState(arena.capacityPages() - 1));

            final int ptr = arena.allocPages(2);
            final long page = arena.pageOf(ptr);
            assertEquals(ptr, arena.pointerOf(page));
            assertEquals(page, arena.pageOf(ptr + arena.pageSize() - 1), "any byte of the page");
            assertEquals(page + 1, arena.pageOf(ptr + arena.pageSize()));
            assertEquals(PageState.ALLOCATED, arena.pageState(page));
            assertEquals(PageState.ALLOCATED, arena.pageState(page + 1));

            final int reserved = arena.pointerOf(arena.capacityPages() - 1);
            assertEquals(ReserveResult.OK, arena.reservePages(reserved, 1));
            assertEquals(PageState.RESERVED, arena.pageState(arena.pageOf(reserved)));

            arena.freePages(ptr, 2);
            assertEquals(PageState.FREE, arena.pageState(page), "freed, maybe into this process's span cache");

            // The top of the 32-bit space: pointers are unsigned.
            assertEquals((1L << 32) / arena.pageSize() - 1, arena.pageOf(-1));
            assertEquals(-arena.pageSize(), arena.pointerOf((1L << 32) / arena.pageSize() - 1));
        }
    }

    @Test
    void everyStateCodeHasAPageState() {
        assertEquals(PageState.OUTSIDE, PageState.of(-1));
        assertEquals(PageState.FREE, PageState.of(io.sharena.core.layout.PageEntry.FREE));
        assertEquals(PageState.FREE, PageState.of(io.sharena.core.layout.PageEntry.CACHED), "a cached page is free");
        assertEquals(PageState.ALLOCATED, PageState.of(io.sharena.core.layout.PageEntry.ALLOCATED));
        assertEquals(PageState.RESERVED, PageState.of(io.sharena.core.layout.PageEntry.RESERVED));
        assertEquals(PageState.PENDING, PageState.of(io.sharena.core.layout.PageEntry.PENDING));
        assertEquals(PageState.META, PageState.of(io.sharena.core.layout.PageEntry.META));
        for (final int stray : new int[] {5, 6, 8, 15, 16, Integer.MAX_VALUE}) {
            assertEquals(PageState.INVALID, PageState.of(stray), "code " + stray);
        }
    }

    @Test
    void theInternalsSeeTheSameArena() throws IOException {
        try (SharedArena arena = SharedArena.create(dir.resolve("i.arena"), Capacity.ofPages(64),
            ArenaOptions.defaults())) {
            assertEquals(arena.capacityBytes(), ArenaInternals.segment(arena).byteSize());
            assertEquals(arena.slot(), ArenaInternals.slot(arena));
            assertEquals(arena.firstUserPage(), 1L + ArenaInternals.metaPages(arena));
            assertEquals(0, ArenaInternals.rootsDirectory(arena));
            final int dirPtr = arena.allocPages(1);
            assertFalse(ArenaInternals.compareAndSetRootsDirectory(arena, 1, dirPtr), "expected value differs");
            assertEquals(true, ArenaInternals.compareAndSetRootsDirectory(arena, 0, dirPtr));
            assertEquals(dirPtr, ArenaInternals.rootsDirectory(arena));
            final int p = arena.allocPages(1);
            assertEquals(p, ArenaInternals.pointer(arena, ArenaInternals.address(arena, p)));
            assertEquals(ArenaInternals.base(arena) + Integer.toUnsignedLong(p), ArenaInternals.address(arena, p));
        }
    }
}
