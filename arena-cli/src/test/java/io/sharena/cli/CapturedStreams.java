package io.sharena.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * For tests that run commands in this JVM: {@code System.out} and {@code System.err} are captured
 * around each test ({@link #out()}, {@link #err()}, {@link #reset()}), and the real ones kept
 * ({@link #realOut()}) for what the test itself wants to print.
 */
abstract class CapturedStreams {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @BeforeEach
    final void captureStreams() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    final void restoreStreams() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    /** @return what was printed to {@code System.out} since the test began or the last reset */
    final String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    /** @return what was printed to {@code System.err} since the test began or the last reset */
    final String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    final void resetOut() {
        out.reset();
    }

    final void resetErr() {
        err.reset();
    }

    /** Forgets what was captured on both streams. */
    final void reset() {
        out.reset();
        err.reset();
    }

    /** @return the real standard output, for the test's own notes (seeds, counts) */
    final PrintStream realOut() {
        return savedOut;
    }
}
