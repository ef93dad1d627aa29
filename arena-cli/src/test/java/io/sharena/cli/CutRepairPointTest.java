package io.sharena.cli;

import io.sharena.core.ArenaFormatException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.PageState;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.CutRepairPoint;
import io.sharena.core.layout.HeaderLayout;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.layout.StoreLayout;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreResult;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code check --repair} of a store file cut short, killed (SIGKILL) and stopped (SIGSTOP) at each
 * of its step boundaries ({@link CutRepairPoint}), on the two cuts that drive it: one through the
 * store's ring (the records it reached must be dropped, not served with zeros for their end) and
 * one through the store's header (an empty store is formatted there again). The file records the
 * cut from before its size is restored until the stores are repaired, so whatever step the repair
 * died at, the next one ends where an uninterrupted repair of the same cut file ends: the same keys,
 * each with its own value, the store usable, {@code check} clean.
 */
class CutRepairPointTest extends CapturedStreams {
    private static final long MEMORY = 4L << 20;
    private static final int VALUE = 1000;
    private static final int RING_KEYS = 3000;
    /** Into the ring past the header: the written part of it, for {@link #RING_KEYS} values. */
    private static final long RING_CUT = 2_000_100;

    @TempDir
    Path dir;

    /** Where the file is cut. */
    enum Cut {
        RING, HEADER
    }

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] value(final int i) {
        final byte[] v = new byte[VALUE];
        Arrays.fill(v, (byte) ('a' + i % 26));
        v[0] = (byte) i;
        return v;
    }

    /** @return a store file cut as {@code cut} says, with a copy of it beside ({@code .control}) */
    private Path cutStore(final String name, final Cut cut) throws Exception {
        final Path file = dir.resolve(name);
        final long header;
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(MEMORY))) {
            final int keys = cut == Cut.RING ? RING_KEYS : 100;
            for (int i = 0; i < keys; i++) {
                assertEquals(StoreResult.STORED, store.set(b("k" + i), value(i), 0, 0));
            }
            header = Integer.toUnsignedLong(NamedRoots.of(store.arena()).get(SharedStore.DEFAULT_ROOT));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(cut == Cut.RING ? header + RING_CUT : header);
        }
        Files.copy(file, control(file));
        return file;
    }

    private static Path control(final Path file) {
        return file.resolveSibling(file.getFileName() + ".control");
    }

    private static boolean reaches(final CutRepairPoint point, final Cut cut) {
        return point != CutRepairPoint.FORMAT_FIELDS_WRITTEN || cut == Cut.HEADER;
    }

    private static ChildJvm repairChild(final Path file, final CutRepairPoint point, final String action) throws Exception {
        return ChildJvm.start(ArenaCli.class, List.of("-Dsharena.crashpoints=true",
            "-Dsharena.crashpoint=" + point.id(), "-Dsharena.crashpoint.action=" + action),
            "check", "--repair", file.toString());
    }

    /** @return what {@code check [--repair]} printed, asserting its exit status when {@code status >= 0} */
    private String cli(final int status, final String... args) {
        reset();
        final int got = ArenaCli.run(args);
        final String text = out() + err();
        if (status >= 0) {
            assertEquals(status, got, String.join(" ", args) + ":\n" + text);
        }
        return text;
    }

    @ParameterizedTest
    @EnumSource(CutRepairPoint.class)
    void killedAtEachPointTheNextRepairEndsAsAWholeOne(final CutRepairPoint point) throws Exception {
        for (final Cut cut : Cut.values()) {
            if (!reaches(point, cut)) {
                continue;
            }
            final Path file = cutStore("k-" + cut + ".store", cut);
            try (ChildJvm child = repairChild(file, point, "kill")) {
                child.waitFor(120);
                assertTrue(child.output().contains("crashpoint: " + point.id() + " kill"), cut + ": " + child.output());
            }
            if (point != CutRepairPoint.CUT_SIZE_CLEARED) {
                // The cut is not repaired yet, and the check says so.
                final String checked = cli(1, "check", file.toString());
                assertTrue(checked.contains("did not finish") || checked.contains("truncated"), cut + ":\n" + checked);
            }
            assertTrue(cli(0, "check", "--repair", file.toString()).contains("check: ok"), cut + " " + point);
            cli(0, "check", "--repair", control(file).toString());
            assertSameStore(control(file), file, cut);
        }
    }

    @ParameterizedTest
    @EnumSource(CutRepairPoint.class)
    void stoppedAtEachPointOthersGoOnAndTheRepairEndsAsAWholeOne(final CutRepairPoint point) throws Exception {
        for (final Cut cut : Cut.values()) {
            if (!reaches(point, cut)) {
                continue;
            }
            final Path file = cutStore("s-" + cut + ".store", cut);
            try (ChildJvm child = repairChild(file, point, "stop")) {
                child.await("crashpoint: " + point.id() + " stop");
                if (point != CutRepairPoint.CUT_RECORDED) {
                    // Another process opens the arena and allocates while the repair is stopped: the
                    // repair holds no lock at any of these points.
                    try (SharedArena other = SharedArena.open(file, ArenaOptions.defaults())) {
                        final int page = other.allocPages(1);
                        assertTrue(page != 0, cut + " " + point);
                        other.freePages(page, 1);
                    }
                    if (cut == Cut.HEADER && point != CutRepairPoint.CUT_SIZE_CLEARED) {
                        // No store there yet, and an opener is told so rather than handed half a header.
                        assertThrows(ArenaFormatException.class, () -> SharedStore.open(file, StoreOptions.defaults()).close());
                    }
                }
                child.cont();
                assertEquals(0, child.waitFor(120), cut + " " + point + ": " + String.join("\n", child.output()));
            }
            assertTrue(cli(0, "check", file.toString()).contains("check: ok"), cut + " " + point);
            cli(0, "check", "--repair", control(file).toString());
            assertSameStore(control(file), file, cut);
        }
    }

    /**
     * The same keys with the same values in both files, and as many pages allocated (none past the
     * cut kept for a stray write's); the store of {@code file} takes writes and checks clean.
     */
    private static void assertSameStore(final Path expected, final Path file, final Cut cut) throws Exception {
        final Set<String> want = keys(expected, cut);
        assertEquals(want, keys(file, cut), "keys after the interrupted repair vs an uninterrupted one, " + cut);
        assertEquals(allocatedPages(expected), allocatedPages(file), "pages allocated after the interrupted repair vs an"
            + " uninterrupted one, " + cut);
        if (cut == Cut.RING) {
            assertTrue(want.size() > RING_KEYS / 3 && want.size() < RING_KEYS, "the cut dropped some keys: " + want.size());
        }
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            assertEquals(StoreResult.STORED, store.set(b("after"), value(7), 0, 0));
            assertArrayEquals(value(7), store.get(b("after")));
            assertEquals(List.of(), store.check());
        }
    }

    private static long allocatedPages(final Path file) throws Exception {
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            long n = 0;
            for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
                if (arena.pageState(p) == PageState.ALLOCATED) {
                    n++;
                }
            }
            return n;
        }
    }

    /** @return the keys the store holds, each checked to read its own value */
    private static Set<String> keys(final Path file, final Cut cut) throws Exception {
        final Set<String> found = new TreeSet<>();
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            for (int i = 0; i < (cut == Cut.RING ? RING_KEYS : 100); i++) {
                final byte[] v = store.get(b("k" + i));
                if (v != null) {
                    assertArrayEquals(value(i), v, "k" + i + " read with another value (zeros from the cut?)");
                    found.add("k" + i);
                }
            }
        }
        return found;
    }

    /** @return a store file cut through its header, whose {@code check --repair} was killed right after the size restore */
    private Path headerCutRepairKilledAfterTheRestore(final String name) throws Exception {
        final Path file = cutStore(name, Cut.HEADER);
        try (ChildJvm child = repairChild(file, CutRepairPoint.SIZE_RESTORED, "kill")) {
            child.waitFor(120);
        }
        return file;
    }

    /**
     * A cut into the allocator's page table: the states past it read zeros (FREE, in no run), which
     * a repair takes as they read only when told the file was cut. A repair killed right after the
     * size restore, before it said so, left that to the next one, which kept every such page
     * allocated as a stray write's, for good; it finds the cut still recorded and says so itself.
     */
    @Test
    void aRepairKilledAfterTheSizeRestoreOfACutPageTableLeavesNoPageAllocated() throws Exception {
        final Path file = dir.resolve("table.arena");
        final long firstUser;
        try (SharedArena arena = SharedArena.create(file, io.sharena.core.Capacity.parse("64M"), ArenaOptions.defaults())) {
            for (int i = 0; i < 20; i++) {
                assertTrue(arena.allocPages(1 + i % 5) != 0);
            }
            // And at the top of the arena, whose entries are on the last page-table page.
            for (int i = 1; i <= 4; i++) {
                final int at = arena.pointerOf(arena.capacityPages() - 10L * i);
                assertEquals(at, arena.allocPagesAt(at, 3));
            }
            firstUser = arena.firstUserPage();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate((firstUser - 1) * HeaderLayout.PAGE_SIZE_VALUE); // the last metadata page and all after it
        }
        Files.copy(file, control(file));
        try (ChildJvm child = repairChild(file, CutRepairPoint.SIZE_RESTORED, "kill")) {
            child.waitFor(120);
            assertTrue(child.output().contains("crashpoint: " + CutRepairPoint.SIZE_RESTORED.id() + " kill"),
                String.valueOf(child.output()));
        }
        assertTrue(cli(0, "check", "--repair", file.toString()).contains("check: ok"));
        assertTrue(cli(0, "check", "--repair", control(file).toString()).contains("check: ok"));
        assertEquals(allocatedPages(control(file)), allocatedPages(file), "pages allocated after the interrupted repair vs"
            + " an uninterrupted one");
    }

    /** {@code check --repair} formats an empty store over the header the cut took, as it does for the uninterrupted control. */
    private void assertRepairFormatsTheStoreAgain(final Path file) throws Exception {
        assertTrue(cli(0, "check", "--repair", file.toString()).contains("an empty store formatted over"));
        cli(0, "check", "--repair", control(file).toString());
        assertSameStore(control(file), file, Cut.HEADER);
    }

    /**
     * A format over the header a cut took, killed between its field writes (only some of them made):
     * the header reads zeros but for those, and the next repair formats the store there again.
     */
    @Test
    void aHeaderFormatKilledBetweenItsFieldWritesIsFormattedAgain() throws Exception {
        final Path file = headerCutRepairKilledAfterTheRestore("half.store");
        final long header;
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            header = Integer.toUnsignedLong(NamedRoots.of(arena).get(SharedStore.DEFAULT_ROOT));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putInt(StoreLayout.VERSION_VALUE)
                .putInt(0x7f).flip(), header + StoreLayout.VERSION); // VERSION, then STRIPES half-made
        }
        final String checked = cli(1, "check", file.toString());
        assertTrue(checked.contains("a format of it was killed midway"), checked);
        assertRepairFormatsTheStoreAgain(file);
    }

    /**
     * A process that has the old store open when the repair runs may still use its geometry: no
     * store is formatted under it, the cut stays recorded, and once it is gone the next repair
     * formats the store.
     */
    @Test
    void noStoreIsFormattedUnderAProcessThatHasTheFileOpen() throws Exception {
        final Path file = headerCutRepairKilledAfterTheRestore("live.store");
        try (SharedArena live = SharedArena.open(file, ArenaOptions.defaults())) {
            final String repaired = cli(1, "check", "--repair", file.toString());
            assertTrue(repaired.contains("not formatted now: other live processes are attached"), repaired);
            assertTrue(repaired.contains("did not finish"), repaired);
        }
        assertRepairFormatsTheStoreAgain(file);
    }

    /** A stray write into the cut record is named and cleared; no record of the store is dropped for it. */
    @Test
    void aGarbledCutRecordIsClearedAndDropsNothing() throws Exception {
        final Path file = dir.resolve("garbled.store");
        try (SharedStore store = SharedStore.create(file, StoreOptions.defaults().withMemoryLimit(MEMORY))) {
            for (int i = 0; i < 100; i++) {
                store.set(b("k" + i), value(i), 0, 0);
            }
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(8192).flip(), HeaderLayout.CUT_SIZE);
        }
        assertTrue(cli(1, "check", file.toString()).contains("record of a cut is garbled"));
        assertTrue(cli(0, "check", "--repair", file.toString()).contains("cleared the header's garbled record"));
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            for (int i = 0; i < 100; i++) {
                assertArrayEquals(value(i), store.get(b("k" + i)), "k" + i);
            }
        }
    }
}
