package io.sharena.core;

import io.sharena.core.layout.Geometry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SharedArenaTest {
    @TempDir
    Path dir;

    private static long allocated(final SharedArena a) {
        return java.util.stream.LongStream.range(a.firstUserPage(), a.capacityPages())
            .filter(p -> a.pageState(p) == PageState.ALLOCATED).count();
    }

    @Test
    void allocPagesIntoPublishesOnceAndRefusesBadWords() throws IOException {
        try (SharedArena a = SharedArena.create(dir.resolve("into.arena"), Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int words = a.allocPages(1);
            final int ptr = a.allocPagesInto(3, words + 8);
            assertNotEquals(0, ptr);
            assertEquals(ptr, a.raw().getInt(words + 8), "the pointer is in the word");
            for (int i = 0; i < 3; i++) {
                assertEquals(PageState.ALLOCATED, a.pageState(a.pageOf(ptr) + i));
                assertEquals(0L, a.raw().getLong(ptr + i * Geometry.PAGE_SIZE), "zeroed");
            }
            final long before = allocated(a);
            assertEquals(0, a.allocPagesInto(3, words + 8), "the word holds a pointer: nothing allocated");
            assertEquals(ptr, a.raw().getInt(words + 8), "and the word is left alone");
            assertEquals(before, allocated(a), "no page taken");
            assertEquals(0, a.allocPagesInto(0, words + 12));
            assertEquals(0, a.allocPagesInto(1 << 20, words + 12), "more than the arena");
            assertEquals(0, a.raw().getInt(words + 12));
            assertThrows(IllegalArgumentException.class, () -> a.allocPagesInto(1, words + 2), "misaligned");
            assertThrows(IllegalArgumentException.class, () -> a.allocPagesInto(1, 64), "in the metadata");
            assertThrows(IllegalArgumentException.class, () -> a.allocPagesInto(1, 256 << 12), "past the end");
            a.freePages(ptr, 3);
            a.raw().putInt(words + 8, 0);
            assertEquals(ptr, a.allocPagesInto(3, words + 8), "the same best fit again");
        }
    }

    @Test
    void createsSparseFileWithMode0600AndAlignedWindow() throws IOException {
        final Path file = dir.resolve("a.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("64M"), ArenaOptions.defaults())) {
            assertEquals(64L << 20, Files.size(file));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            assertEquals(0, arena.base() & 0xFFFF_FFFFL, "window base must be 4 GiB-aligned");
            assertEquals(16384, arena.capacityPages());
            assertEquals(Geometry.metaPages(16384), arena.metaPages());
            assertEquals(arena.base(), arena.address(ArenaPointers.NULL));
            assertEquals(arena.base() + 0xFFFF_FFFFL, arena.address(-1));
            assertEquals(64L << 20, arena.segment().byteSize());
        }
    }

    @Test
    void fullFourGibArenaCostsAFewKibUntilTouched() throws IOException {
        final Path file = dir.resolve("big.arena");
        try (SharedArena arena = SharedArena.create(file, Capacity.parse("4G"), ArenaOptions.defaults())) {
            final ArenaInfo info = arena.info();
            assertEquals(1L << 32, info.capacityBytes());
            assertTrue(info.diskBytes() <= 64 * 1024, "disk bytes " + info.diskBytes());
            assertTrue(info.residentBytes() <= 64 * 1024, "resident bytes " + info.residentBytes());
            final int last = (int) ((1L << 32) - 8);
            arena.raw().putLong(last, 0xCAFE_BABEL);
            assertEquals(0xCAFE_BABEL, arena.raw().getLong(last));
            assertEquals(0xCAFE_BABEL, arena.raw().getLong(0xFFFF_FFF8));
        }
    }

    @Test
    void reopenSeesHeaderAndData() throws IOException {
        final Path file = dir.resolve("a.arena");
        final long id;
        final int ptr;
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(100), ArenaOptions.defaults())) {
            id = arena.arenaId();
            ptr = TestArenas.firstUserPointer(arena);
            arena.raw().putLongRelease(ptr, 77);
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(id, arena.arenaId());
            assertEquals(100, arena.capacityPages());
            assertEquals(77, arena.raw().getLongAcquire(ptr));
        }
    }

    @Test
    void existingFileNeedsReplace() throws IOException {
        final Path file = dir.resolve("a.arena");
        final long oldId;
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(10), ArenaOptions.defaults())) {
            oldId = arena.arenaId();
        }
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> SharedArena.create(file, Capacity.ofPages(10), ArenaOptions.defaults()));
        assertEquals("arena file already exists: path=" + file + " (use the replace option, --replace on the command line)", e.getMessage());
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(20),
            ArenaOptions.defaults().withReplace(true))) {
            assertNotEquals(oldId, arena.arenaId());
            assertEquals(20 * 4096, Files.size(file));
        }
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left beside the arena");
        }
    }

    @Test
    void nullArgumentsAreRefused() {
        assertEquals("arena path must not be null: path=null", assertThrows(IllegalArgumentException.class,
            () -> SharedArena.create(null, Capacity.ofPages(10), ArenaOptions.defaults())).getMessage());
        assertEquals("arena path must not be null: path=null", assertThrows(IllegalArgumentException.class,
            () -> SharedArena.open(null, ArenaOptions.defaults())).getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> SharedArena.create(dir.resolve("x"), null, ArenaOptions.defaults()));
    }

    @Test
    void missingFileAndSymlinkAreRefused() throws IOException {
        assertThrows(NoSuchFileException.class, () -> SharedArena.open(dir.resolve("none"), ArenaOptions.defaults()));
        final Path file = dir.resolve("a.arena");
        SharedArena.create(file, Capacity.ofPages(10), ArenaOptions.defaults()).close();
        final Path link = Files.createSymbolicLink(dir.resolve("link.arena"), file);
        final AccessDeniedException e = assertThrows(AccessDeniedException.class,
            () -> SharedArena.open(link, ArenaOptions.defaults()));
        assertTrue(e.getMessage().contains("refusing to open a symlink"), e.getMessage());
        assertTrue(Files.isSymbolicLink(link));
    }

    @Test
    void foreignOwnerRefusedUnlessAllowed() throws IOException {
        final Path file = dir.resolve("a.arena");
        SharedArena.create(file, Capacity.ofPages(10), ArenaOptions.defaults()).close();
        final int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        final int other = self == 0 ? 65534 : 0;
        try {
            Files.setAttribute(file, "unix:uid", other, LinkOption.NOFOLLOW_LINKS);
        } catch (final IOException notPermitted) {
            org.junit.jupiter.api.Assumptions.abort("cannot chown as uid " + self + ": " + notPermitted);
        }
        final AccessDeniedException e = assertThrows(AccessDeniedException.class,
            () -> SharedArena.open(file, ArenaOptions.defaults()));
        assertTrue(e.getMessage().contains("arena file owned by another user: ownerUid=" + other + ", uid=" + self),
            e.getMessage());
        SharedArena.open(file, ArenaOptions.defaults().withAllowForeignOwner(true)).close();
    }

    @Test
    void readOnlyOpenRefusesWrites() throws IOException {
        final Path file = dir.resolve("a.arena");
        final int ptr;
        try (SharedArena arena = SharedArena.create(file, Capacity.ofPages(10), ArenaOptions.defaults())) {
            ptr = TestArenas.firstUserPointer(arena);
            arena.raw().putInt(ptr, 5);
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            assertEquals(5, arena.raw().getInt(ptr));
            // FFM refuses writes to a read-only segment with IllegalArgumentException.
            assertThrows(IllegalArgumentException.class, () -> arena.raw().putInt(ptr, 6));
            assertThrows(IllegalArgumentException.class, () -> arena.raw().compareAndSetInt(ptr, 5, 6));
            assertEquals(5, arena.raw().getInt(ptr));
        }
    }

    @Test
    void accessAfterCloseThrowsAndCloseIsIdempotent() throws IOException {
        final SharedArena arena = TestArenas.create(dir, "1M");
        final ArenaView view = arena.raw();
        final int ptr = TestArenas.firstUserPointer(arena);
        arena.close();
        arena.close();
        assertThrows(IllegalStateException.class, () -> view.getLong(ptr));
        assertThrows(IllegalStateException.class, () -> view.compareAndSetLong(ptr, 0, 1));
    }

    @Test
    void invalidFixedAddressOptionsAreRefused() {
        assertEquals("fixed address must be 4 GiB-aligned and in user space: address=0x12345000, max=0x7ffe00000000",
            assertThrows(IllegalArgumentException.class,
                () -> ArenaOptions.defaults().withFixedAddress(0x12345000L)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ArenaOptions.defaults().withFixedAddress(1L << 47));
        // The window right under 2^47 ends past x86-64's last user page: no mapping can ever be made there.
        assertThrows(IllegalArgumentException.class, () -> ArenaOptions.defaults().withFixedAddress((1L << 47) - (1L << 32)));
    }

    /**
     * The highest base the options accept is one a window can be mapped at (it used to be one window
     * too high: mmap failed with ENOMEM every time); the stack, placed at random near the top of
     * user space, may hold part of it in a given process, which is told so.
     */
    @Test
    void anArenaAtTheHighestFixedAddressMapsUnlessThisProcessUsesIt() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("maxfixed.arena"), Capacity.parse("1M"),
            ArenaOptions.defaults().withFixedAddress(ArenaPointers.MAX_FIXED_ADDRESS))) {
            final int p = a.allocPages(1);
            a.strict().putLong(p, 1);
            assertEquals(1, a.strict().getLong(p));
            assertEquals(ArenaPointers.MAX_FIXED_ADDRESS, a.fixedAddress());
        } catch (final IOException e) {
            assertTrue(e.getMessage().startsWith("fixed address already in use in this process"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ArenaOptions.defaults().withFixedAddress(-(1L << 32)));
    }

    @Test
    void fixedAddressMapsThereAndASecondMappingInTheSameProcessFailsClearly() throws IOException {
        final Path file = dir.resolve("fixed.arena");
        try (SharedArena arena = FixedAddresses.create(file, Capacity.ofPages(64))) {
            final long address = arena.fixedAddress();
            assertEquals(address, arena.base());
            final IOException e = assertThrows(IOException.class, () -> SharedArena.open(file, ArenaOptions.defaults()));
            assertEquals("fixed address already in use in this process: fixedAddress=0x" + Long.toHexString(address)
                + ", path=" + file, e.getMessage());
        }
        try (SharedArena again = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(again.fixedAddress(), again.base(), "after close the address is free again");
        }
    }
}
