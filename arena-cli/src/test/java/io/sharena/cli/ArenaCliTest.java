package io.sharena.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaCliTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @BeforeEach
    void capture() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void createThenStatTextAndJson() {
        final Path file = dir.resolve("a.arena");
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "64M"));
        assertTrue(out().startsWith("created " + file + ": 16384 pages (64.0 MiB), first user page 68"), out());
        assertEquals(0, ArenaCli.run("stat", file.toString()));
        assertTrue(out().contains("capacity       16384 pages (64.0 MiB)"), out());
        assertTrue(out().contains("fixed address  none"), out());
        out.reset();
        assertEquals(0, ArenaCli.run("stat", "--json", file.toString()));
        final String json = out().trim();
        assertTrue(json.startsWith("{\"path\":\"" + file + "\",\"formatVersion\":1,\"pageSize\":4096,\"capacityPages\":16384,"), json);
        assertTrue(json.contains("\"firstUserPage\":68"), json);
        assertEquals("", err());
    }

    @Test
    void userMistakesAreOneLineAndNonZero() throws Exception {
        final Path file = dir.resolve("a.arena");
        assertEquals(2, ArenaCli.run("frobnicate"));
        assertEquals("arena: unknown command 'frobnicate'", err().lines().findFirst().orElseThrow());
        err.reset();
        assertEquals(1, ArenaCli.run("create", file.toString(), "--size", "0"));
        assertEquals("arena: capacity must be positive: size=0\n", err());
        err.reset();
        assertEquals(1, ArenaCli.run("create", file.toString(), "--size", "8G"));
        assertEquals("arena: capacity exceeds the 4 GiB pointer space: bytes=8589934592, max=4294967296\n", err());
        err.reset();
        assertEquals(1, ArenaCli.run("create", file.toString(), "--size", "1M", "--fixed-address", "0x1234"));
        assertTrue(err().startsWith("arena: fixed address must be 4 GiB-aligned"), err());
        err.reset();
        assertEquals(1, ArenaCli.run("stat", dir.resolve("missing").toString()));
        assertEquals("arena: no such file: " + dir.resolve("missing") + "\n", err());
        err.reset();
        Files.writeString(file, "not an arena");
        assertEquals(1, ArenaCli.run("stat", file.toString()));
        assertEquals("arena: not a valid arena: not an arena or truncated: fileSize=12 is less than one header page"
            + " (4096 bytes) (field fileSize)\n", err());
        err.reset();
        assertEquals(1, ArenaCli.run("create", file.toString(), "--size", "1M"));
        assertTrue(err().contains("already exists"), err());
        assertFalse(err().contains("\tat "), "no stack trace for a user mistake: " + err());
        assertEquals(0, ArenaCli.run("create", file.toString(), "--size", "1M", "--replace"));
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
    }
}
