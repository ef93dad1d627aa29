package io.sharena.testing;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ChildJvm} against real child JVMs running {@link ScriptedChild}. */
class ChildJvmTest {
    /** @return the process state letter from /proc (R, S, T for stopped, ...), or "gone" */
    private static String state(final long pid) throws IOException {
        final Path stat = Path.of("/proc/" + pid + "/stat");
        if (!Files.exists(stat)) {
            return "gone";
        }
        final String s = Files.readString(stat);
        return s.substring(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    }

    private static void awaitState(final long pid, final String want) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!state(pid).equals(want) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(want, state(pid), "state of pid " + pid);
    }

    @Test
    void fixedOptionsThenTheCallersThenTheMainClassAndItsArguments() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of("-Dts.prop=x y", "-Xmx64m"),
            "env", "a b", "")) {
            assertEquals("args [env, a b, ]", child.await("args "));
            assertEquals("ea true", child.await("ea "));
            assertTrue(child.await("jvm ").startsWith("jvm -ea -Xmx256m -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED"
                + " -Dts.prop=x y -Xmx64m"), child.output().toString());
            final long maxHeapMiB = Long.parseLong(child.await("maxHeapMiB ").substring("maxHeapMiB ".length()));
            assertTrue(maxHeapMiB <= 64, "a caller's -Xmx wins over the fixed one: " + maxHeapMiB + " MiB");
            assertEquals("prop x y", child.await("prop "));
            assertEquals("gc Copy", child.await("gc "), "the serial collector's young generation");
            assertEquals(0, child.waitFor(30), child.output().toString());
        }
    }

    @Test
    void linesGoBothWaysAndEveryLineIsKept() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "echo")) {
            assertEquals("ready", child.readLine());
            child.send("one");
            child.send("two");
            assertEquals("echo two", child.await("echo t"), "await skips lines that do not match");
            child.send("exit 3");
            assertEquals(3, child.waitFor(30));
            assertEquals(List.of("ready", "echo one", "echo two"), child.output());
            assertNull(child.readLine(), "the output has ended");
            assertNull(child.readLine(), "and stays ended");
        }
    }

    @Test
    void awaitFailsWithTheOutputWhenTheChildEndsFirst() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "quit")) {
            final IOException e = assertThrows(IOException.class, () -> child.await("never"));
            assertEquals("child ScriptedChild pid=" + child.pid() + " ended before printing 'never'; output: [ready]",
                e.getMessage());
            assertEquals(0, child.waitFor(30));
        }
    }

    @Test
    void waitForFailsAfterItsTimeoutAndKillsTheChild() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "sleep")) {
            child.await("sleeping");
            final IOException e = assertThrows(IOException.class, () -> child.waitFor(1));
            assertEquals("child ScriptedChild pid=" + child.pid() + " did not exit in 1 s; output: [sleeping]",
                e.getMessage());
            assertEquals("gone", state(child.pid()));
        }
    }

    @Test
    void kill9IsSigkillAndANoOpOnceTheChildIsGone() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "sleep")) {
            child.await("sleeping");
            child.kill9();
            assertEquals(128 + 9, child.waitFor(30));
            child.kill9();
            final IOException e = assertThrows(IOException.class, child::stop);
            assertTrue(e.getMessage().startsWith("cannot send SIGSTOP to child ScriptedChild pid=" + child.pid()
                + ": it exited with 137"), e.getMessage());
        }
    }

    @Test
    void stopHaltsTheChildAndContResumesIt() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "tick")) {
            child.await("tick 1");
            child.stop();
            awaitState(child.pid(), "T");
            // Lets the reader take what was already in the pipe (a running child prints every 10 ms,
            // so 100 ms without a line is the reader done; on a loaded machine that may take longer).
            int printed = child.output().size();
            for (final long end = System.nanoTime() + 10_000_000_000L; System.nanoTime() < end; ) {
                Thread.sleep(100);
                final int now = child.output().size();
                if (now == printed) {
                    break;
                }
                printed = now;
            }
            Thread.sleep(300);
            assertEquals(printed, child.output().size(), "a stopped child prints nothing");
            child.cont();
            child.await("tick " + printed);
            assertFalse(state(child.pid()).equals("T"));
        }
    }

    /**
     * A child that stops itself prints first and stops after (as at a crash point): a SIGCONT sent
     * as soon as the line is read would come before the stop and be lost, leaving it stopped.
     */
    @Test
    void contWaitsForAChildThatHasNotStoppedYet() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "stoplater")) {
            child.await("stopping");
            child.cont();
            assertEquals("resumed", child.await("resumed"));
        }
    }

    @Test
    void closeKillsEvenAStoppedChild() throws Exception {
        final long pid;
        try (ChildJvm child = ChildJvm.start(ScriptedChild.class, List.of(), "tick")) {
            child.await("tick 0");
            child.stop();
            awaitState(child.pid(), "T");
            pid = child.pid();
        }
        assertEquals("gone", state(pid));
    }
}
