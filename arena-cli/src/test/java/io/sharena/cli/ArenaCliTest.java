package io.sharena.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaCliTest extends CapturedStreams {
    @TempDir
    Path dir;

    @Test
    void createThenStatTextAndJson() {
        final Path file = dir.resolve("a.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "64M"));
        assertTrue(out().startsWith("created " + file + ": 16384 pages (64.0 MiB), first user page 68"), out());
        assertEquals(0, ArenaCli.run("stat", file.toString()));
        assertTrue(out().contains("capacity       16384 pages (64.0 MiB)"), out());
        assertTrue(out().contains("fixed address  none"), out());
        resetOut();
        assertEquals(0, ArenaCli.run("stat", "--json", file.toString()));
        final String json = out().trim();
        assertTrue(json.startsWith("{\"path\":\"" + file + "\",\"formatVersion\":2,\"pageSize\":4096,\"capacityPages\":16384,"), json);
        assertTrue(json.contains("\"firstUserPage\":68"), json);
        assertEquals("", err());
    }

    @Test
    void userMistakesAreOneLineAndNonZero() throws Exception {
        final Path file = dir.resolve("a.arena");
        assertEquals(2, ArenaCli.run("frobnicate"));
        assertEquals("arena: unknown command 'frobnicate'", err().lines().findFirst().orElseThrow());
        resetErr();
        assertEquals(2, ArenaCli.run("create", file.toString(), "--size", "0"));
        assertEquals("arena: capacity must be positive: size=0\n", err());
        resetErr();
        assertEquals(2, ArenaCli.run("create", file.toString(), "--size", "8G"));
        assertEquals("arena: capacity exceeds the 4 GiB pointer space: bytes=8589934592, max=4294967296\n", err());
        resetErr();
        assertEquals(2, ArenaCli.run("create", file.toString(), "--size", "1M", "--fixed-address", "0x1234"));
        assertTrue(err().startsWith("arena: fixed address must be 4 GiB-aligned"), err());
        resetErr();
        assertEquals(3, ArenaCli.run("stat", dir.resolve("missing").toString()));
        assertEquals("arena: no such file: " + dir.resolve("missing") + "\n", err());
        resetErr();
        Files.writeString(file, "not an arena");
        assertEquals(4, ArenaCli.run("stat", file.toString()));
        assertEquals("arena: not a valid arena: not an arena or truncated: fileSize=12 is less than one header page"
            + " (4096 bytes) (field fileSize)\n", err());
        // A file that is not an arena is never created over, --replace or not (it replaced it).
        for (final String[] args : new String[][] {{"create", file.toString(), "--size", "1M"},
            {"create", file.toString(), "--size", "1M", "--replace"}}) {
            resetErr();
            assertEquals(3, ArenaCli.run(args));
            assertEquals("arena: " + file + ": exists and is not an arena file: not replaced (not a valid arena: not an"
                + " arena or truncated: fileSize=12 is less than one header page (4096 bytes))\n", err());
            assertEquals("not an arena", Files.readString(file));
        }
        Files.delete(file);
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M"));
        resetErr();
        assertEquals(2, ArenaCli.run("create", file.toString(), "--size", "1M"));
        assertTrue(err().contains("already exists"), err());
        assertFalse(err().contains("\tat "), "no stack trace for a user mistake: " + err());
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M", "--replace"));
    }

    @Test
    void foreignFilesAreNamedWithoutBlocking() throws Exception {
        final Path fifo = dir.resolve("pipe");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        for (final String command : new String[] {"stat", "check"}) {
            for (final String[] f : new String[][] {{"/proc/self/status", "proc file system entry"},
                {fifo.toString(), "FIFO (named pipe)"}, {dir.toString(), "directory"}}) {
                resetErr();
                final int status = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> ArenaCli.run(command, f[0]));
                assertEquals(4, status, err());
                assertEquals("arena: not a valid arena: not a regular file: type=" + f[1] + ", path=" + f[0]
                    + " (an arena is a regular file) (field fileType)\n", err());
            }
        }
    }

    @Test
    void checkReportsADamagedHeaderCopyAndRepairRestoresIt() throws Exception {
        final Path file = dir.resolve("h.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M"));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8), 0);
        }
        resetOut();
        assertEquals(1, ArenaCli.run("check", file.toString()), err());
        assertEquals("primary header copy damaged: not a sharena arena: magic=0x0, expected=0x414e4552414853 (using the"
            + " backup)\ncheck: 1 violation(s)\n", out());
        resetOut();
        assertEquals(0, ArenaCli.run("check", "--repair", file.toString()), err());
        assertTrue(out().startsWith("repaired: rewrote the header copies: primary header copy damaged"), out());
        assertTrue(out().endsWith("check: ok\n"), out());
        assertEquals("", err());
    }

    @Test
    void checkReportsATruncatedFileAndRepairRestoresIt() throws Exception {
        final Path file = dir.resolve("t.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M"));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(512 * 1024);
        }
        resetOut();
        assertEquals(1, ArenaCli.run("check", file.toString()), err());
        assertEquals("file is 524288 bytes, capacity 1048576: truncated (check --repair restores the size; what was"
            + " past the end is lost)\ncheck: 1 violation(s)\n", out());
        resetErr();
        assertEquals(4, ArenaCli.run("stat", file.toString()));
        assertEquals("arena: not a valid arena: arena file truncated: file is 524288 bytes, capacity 1048576 (check"
            + " --repair restores the size; what was past the end is lost) (field fileSize)\n", err());
        resetOut();
        assertEquals(0, ArenaCli.run("check", "--repair", file.toString()), err());
        assertTrue(out().startsWith("repaired: restored the file size: file is 524288 bytes, capacity 1048576; pages"
            + " 128..255 read as zeros now (their contents are lost); 0 of them allocated"), out());
        assertTrue(out().endsWith("check: ok\n"), out());
        assertEquals(1024 * 1024, Files.size(file));
    }

    @Test
    void everyKindOfFailureIsOneLineWithItsOwnStatus() {
        final java.io.StringWriter sink = new java.io.StringWriter();
        final java.io.PrintWriter w = new java.io.PrintWriter(sink);
        assertEquals(70, ArenaCli.report(new IndexOutOfBoundsException("Index 14 out of bounds for length 8"), w));
        assertEquals(5, ArenaCli.report(new InternalError("a fault occurred in an unsafe memory access operation"), w));
        assertEquals(6, ArenaCli.report(new io.sharena.core.ArenaCorruptedException("pending list", 99, "slot=3"), w));
        assertEquals(4, ArenaCli.report(new io.sharena.core.ArenaFormatException("magic", "not a sharena arena"), w));
        assertEquals(5, ArenaCli.report(new io.sharena.core.ArenaFaultException(dir, 4096, 8192, "allocPages", null), w));
        assertEquals(3, ArenaCli.report(new java.nio.file.FileSystemException("/x", null, "Not a directory"), w));
        assertEquals(3, ArenaCli.report(new java.io.UncheckedIOException(new java.io.IOException("pread failed")), w));
        w.flush();
        assertEquals(List.of(
            "arena: unexpected IndexOutOfBoundsException: Index 14 out of bounds for length 8 (a bug, or damage that"
                + " check does not detect yet: try 'arena check'; ARENA_DEBUG=1 for the stack trace)",
            "arena: fault on the arena mapping: the file was probably cut short while mapped (check --repair restores"
                + " its size)",
            "arena: arena metadata corrupted: pending list, value=99, slot=3; 'arena check' names the damage,"
                + " 'check --repair' repairs what it can",
            "arena: not a valid arena: not a sharena arena (field magic)",
            "arena: allocPages: file is 4096 bytes, capacity 8192: truncated while mapped (check --repair restores the"
                + " size): path=" + dir,
            "arena: I/O error (FileSystemException): /x: Not a directory",
            "arena: pread failed"), sink.toString().lines().toList());
    }

    /**
     * stat, check and check --repair on seeded corrupted files: whatever the damage, each prints at
     * most one error line, {@code arena: ...}, never a stack trace, with a documented exit status,
     * never 70 (a raw JDK exception).
     */
    @Test
    void corruptedFilesGiveOneLineErrorsWithDocumentedStatuses() throws Exception {
        final long seed = Long.getLong("sharena.fuzz.seed", System.nanoTime());
        realOut().println("cli fuzz: seed=" + seed);
        final java.util.Random r = new java.util.Random(seed);
        final Path file = dir.resolve("f.arena");
        final java.util.Map<Integer, Integer> statuses = new java.util.TreeMap<>();
        for (int i = 0; i < 40; i++) {
            // Not --replace: a damaged arena is not replaced, the next case starts from a new file.
            Files.deleteIfExists(file);
            assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "256K"));
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    final byte[] junk = new byte[1 + r.nextInt(64)];
                    r.nextBytes(junk);
                    // Mostly metadata: header, control, registry and page-table pages.
                    ch.write(ByteBuffer.wrap(junk), r.nextInt(r.nextBoolean() ? 5 * 4096 : 64 * 4096));
                }
                if (r.nextInt(5) == 0) {
                    ch.truncate(r.nextInt(64 * 4096));
                }
            }
            for (final String[] args : new String[][] {{"stat", file.toString()}, {"check", file.toString()},
                {"check", "--repair", file.toString()}, {"stat", "--json", file.toString()}}) {
                runOnCorrupted(args, "seed=" + seed + ", case " + i, statuses);
            }
        }
        realOut().println("cli fuzz: exit statuses " + statuses);
    }

    /**
     * The same for a store file: seeded junk written over the store's header, stripes, buckets,
     * access map and items, then {@code stat}, {@code check}, {@code dump --keys} and
     * {@code check --repair}: one error line at most, a documented status, never 70 (a raw JDK
     * exception), never a hang.
     */
    @Test
    void corruptedStoreFilesGiveOneLineErrorsWithDocumentedStatuses() throws Exception {
        final long seed = Long.getLong("sharena.fuzz.seed", System.nanoTime());
        realOut().println("cli store fuzz: seed=" + seed);
        final java.util.Random r = new java.util.Random(seed);
        final Path template = dir.resolve("template.store");
        final int region;
        final int regionBytes;
        try (io.sharena.ipc.store.SharedStore store = io.sharena.ipc.store.SharedStore.create(template,
            io.sharena.ipc.store.StoreOptions.defaults().withMemoryLimit(256 << 10).withMaxItemSize(4096))) {
            for (int i = 0; i < 3000; i++) {
                store.set(("key:" + r.nextInt(500)).getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    new byte[r.nextInt(300)], 0, 0);
            }
            region = io.sharena.ipc.NamedRoots.of(store.arena()).get(io.sharena.ipc.store.SharedStore.DEFAULT_ROOT);
            regionBytes = (int) (Files.size(template) - region);
        }
        final Path file = dir.resolve("f.store");
        final java.util.Map<Integer, Integer> statuses = new java.util.TreeMap<>();
        for (int i = 0; i < 40; i++) {
            Files.copy(template, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                for (int k = 1 + r.nextInt(3); k > 0; k--) {
                    final byte[] junk = new byte[1 + r.nextInt(r.nextBoolean() ? 8 : 64)];
                    r.nextBytes(junk);
                    // Mostly the store's header page and the first pages after it (stripes, buckets, map).
                    final int span = r.nextBoolean() ? 4096 : r.nextBoolean() ? 64 * 4096 : regionBytes;
                    ch.write(ByteBuffer.wrap(junk), region + r.nextInt(Math.min(span, regionBytes)));
                }
            }
            for (final String[] args : new String[][] {{"stat", file.toString()}, {"check", file.toString()},
                {"dump", file.toString(), "--keys", "1000"}, {"check", "--repair", file.toString()},
                {"stat", "--json", file.toString()}}) {
                runOnCorrupted(args, "seed=" + seed + ", case " + i, statuses);
            }
        }
        realOut().println("cli store fuzz: exit statuses " + statuses);
    }

    /**
     * Runs one command on a damaged file: at most one error line, {@code arena: ...}, no stack trace,
     * a documented exit status other than 70 (a raw JDK exception), within 30 s.
     */
    private void runOnCorrupted(final String[] args, final String fuzzCase, final java.util.Map<Integer, Integer> statuses) {
        resetOut();
        resetErr();
        final int status = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> ArenaCli.run(args));
        statuses.merge(status, 1, Integer::sum);
        final String e = err();
        final String where = fuzzCase + ", " + String.join(" ", args) + ": " + e;
        assertTrue(List.of(0, 1, 3, 4, 5, 6, 7).contains(status), where);
        assertTrue(e.isEmpty() || e.startsWith("arena: ") && e.indexOf('\n') == e.length() - 1, where);
        assertFalse(e.contains("\tat "), where);
    }

    /** No command: the usage on stderr and the usage status (it was the usage on stdout and 0). */
    @Test
    void noCommandIsAUsageError() {
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run());
        assertEquals("", out());
        assertTrue(err().startsWith("arena: no command given\nUsage: arena [-hV] [COMMAND]\n"), err());
        assertTrue(err().contains("\n  create  "), err());
    }

    @Test
    void helpListsTheExitStatuses() {
        assertEquals(0, ArenaCli.run("--help"));
        for (final String line : List.of("3:file", "4:format", "5:fault", "6:corrupted", "7:busy", "8:full",
            "70:internal", "130:serve ended by SIGINT", "143:serve ended by SIGTERM")) {
            assertTrue(java.util.regex.Pattern.compile("(?m)^ *" + line.replace(":", " +")).matcher(out()).find(),
                line + " in:\n" + out());
        }
    }

    @Test
    void demoRunsFourProcessesEndToEnd() {
        assertEquals(0, ArenaCli.run("demo", "--adds", "20000"), out() + err());
        final String o = out();
        assertTrue(o.contains("message: \"hello from the writer, pid"), o);
        assertTrue(o.contains("walked it through arena pointers: 10@"), o);
        assertTrue(o.contains("(sum 150)"), o);
        assertTrue(o.contains("zero-copy message: read 64 KiB in place"), o);
        assertTrue(o.contains("killing it with SIGKILL"), o);
        assertTrue(o.contains("the channel reported 1 dead producer(s)"), o);
        assertTrue(o.contains("shared counter = 60,000 (3 processes x 20,000 get-and-adds: none lost)"), o);
        assertTrue(o.contains("check after the kill: consistent"), o);
        assertTrue(o.contains("over TCP: STORED STORED STORED 42"), o);
        assertTrue(o.contains("user:2 = \"bob\" (flags 7, cas "), o);
        assertTrue(o.contains("hits = \"42\" (flags 0, cas "), o);
        assertTrue(o.contains("the same get through the store API: "), o);
    }

    /** A negative --adds is a usage error before anything starts (it ran, then reported a false MISMATCH). */
    @Test
    void demoRefusesANegativeAddCount() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("demo", "--adds", "-1"));
        });
        assertEquals("arena: --adds must not be negative: adds=-1\n", err());
        assertEquals("", out(), "nothing started");
    }

    @Test
    void aBadMemoryLimitOfServeNamesTheOption(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir) {
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("s").toString(), "--memory", "0",
            "--port", "0"));
        assertEquals("arena: bad --memory 0: capacity must be positive: size=0", err().strip());
    }

    @Test
    void aBadProtocolOfServeNamesTheChoices(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir) {
        assertEquals(ArenaCli.EXIT_USAGE, ArenaCli.run("serve", "--store", dir.resolve("s").toString(), "--protocol",
            "udp", "--port", "0"));
        assertTrue(err().contains("expected auto, ascii or binary: --protocol=udp"), err());
    }
}
