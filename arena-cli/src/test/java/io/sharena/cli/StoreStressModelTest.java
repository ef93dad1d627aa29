package io.sharena.cli;

import io.sharena.cli.StoreStressModel.Ambiguous;
import io.sharena.cli.StoreStressModel.Intent;
import io.sharena.cli.StoreStressModel.State;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store stress's bookkeeping: values, memcached's rules as the model applies them, the log's replay. */
class StoreStressModelTest {
    @TempDir
    Path dir;

    private static byte[] b(final String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void segmentsAreSelfDescribingAndAMixOfTwoIsNotWellFormed() {
        assertEquals("3:ddd;", new String(StoreStressModel.segment(3), StandardCharsets.US_ASCII));
        assertEquals("40:;", new String(StoreStressModel.segment(40), StandardCharsets.US_ASCII));
        final byte[] two = StoreStressModel.concat(StoreStressModel.segment(7), StoreStressModel.segment(12));
        assertTrue(StoreStressModel.wellFormed("L0s1", two));
        final byte[] torn = two.clone();
        torn[4] = 'm'; // a byte of 12's segment inside 7's
        assertFalse(StoreStressModel.wellFormed("L0s1", torn));
        assertFalse(StoreStressModel.wellFormed("L0s1", "7:hhhhhhh".getBytes(StandardCharsets.US_ASCII)), "cut short");
        assertTrue(StoreStressModel.wellFormed("L0n1", b("18446744073709551615")));
        assertFalse(StoreStressModel.wellFormed("L0n1", b("18446744073709551616")), "over 2^64 - 1");
        assertFalse(StoreStressModel.wellFormed("L0n1", b("12:")));
    }

    @Test
    void theModelFollowsMemcachedsRules() {
        final State absent = State.ABSENT;
        final State num = StoreStressModel.after(new Intent(1, "setn", "L0n0", 5, StoreStressModel.NEVER, -2), absent);
        assertEquals("18446744073709551614", new String(num.value(), StandardCharsets.US_ASCII));
        final State wrapped = StoreStressModel.after(new Intent(2, "incr", "L0n0", 0, 0, 3), num);
        assertArrayEquals(b("1" + " ".repeat(19)), wrapped.value(), "incr wraps at 2^64, padded to the old length");
        assertEquals(5, wrapped.flags(), "incr keeps the flags");
        assertArrayEquals(b("0" + " ".repeat(19)), StoreStressModel.after(new Intent(3, "decr", "L0n0", 0, 0, 9), wrapped).value());
        assertTrue(StoreStressModel.wellFormed("L0n1", b("12   ")), "a padded counter is a number");
        assertFalse(StoreStressModel.wellFormed("L0n1", b("12 x")));
        final State ninetyNine = StoreStressModel.after(new Intent(11, "setn", "L0n0", 0, StoreStressModel.NEVER, 99), absent);
        assertArrayEquals(b("100"), StoreStressModel.after(new Intent(12, "incr", "L0n0", 0, 0, 1), ninetyNine).value(),
            "a longer result takes its own length");
        assertEquals(absent, StoreStressModel.after(new Intent(4, "app", "L0s0", 0, 0, 0), absent), "append needs the key");
        assertEquals(absent, StoreStressModel.after(new Intent(5, "set", "L0s0", 0, StoreStressModel.EXPIRED, 0), absent),
            "a negative exptime: gone at once");
        final State s = StoreStressModel.after(new Intent(6, "add", "L0s0", 9, StoreStressModel.LATER, 0), absent);
        assertTrue(s.same(StoreStressModel.after(new Intent(7, "add", "L0s0", 1, 0, 0), s)), "add on a live key");
        assertTrue(s.same(StoreStressModel.after(new Intent(8, "casbad", "L0s0", 1, 0, 0), s)));
        final State touched = StoreStressModel.after(new Intent(9, "touch", "L0s0", 0, StoreStressModel.NEVER, 0), s);
        assertEquals(StoreStressModel.NEVER, touched.exp());
        assertArrayEquals(s.value(), touched.value());
        assertFalse(StoreStressModel.after(new Intent(10, "gat", "L0s0", 0, StoreStressModel.EXPIRED, 0), s).present());
        assertFalse(StoreStressModel.allocates("app", absent), "append to a missing key builds nothing");
        assertTrue(StoreStressModel.allocates("add", s), "a refused add has built its record already");
    }

    @Test
    void replayAppliesAcknowledgedIntentsAndKeepsTheOneInFlightAmbiguous() throws Exception {
        final Path log = dir.resolve("lane-0.log");
        Files.writeString(log, String.join(" .\n",
            "W 100",
            "I 1 set L0s0 7 0 0",
            "I 2 set L0s1 7 0 0",
            "I 3 del L0s0 0 0 0",
            "W 101",                  // worker 100 died with the delete in flight
            "I 4 setn L0n0 0 0 42",
            "I 5 app L0s1 0 0 0",
            "V torn key=x",
            "I 6 incr L0n0 0 0 1") + " .\nI 7 set L0n0 0 0 4"); // worker 101 died in flight, and mid-record
        final StoreStressModel m = StoreStressModel.replay(log, 0, 2);
        assertEquals(6, m.seq, "the cut record is not there");
        assertEquals(1, m.torn);
        final Ambiguous del = m.ambiguous.get("L0s0");
        assertArrayEquals(StoreStressModel.segment(1), del.before().value());
        assertFalse(del.after().present());
        final Ambiguous incr = m.ambiguous.get("L0n0");
        assertArrayEquals(b("42"), incr.before().value());
        assertArrayEquals(b("43"), incr.after().value());
        assertArrayEquals(StoreStressModel.concat(StoreStressModel.segment(2), StoreStressModel.segment(5)),
            m.states.get("L0s1").value());
        assertTrue(m.ringBytes > 0);

        // A successor resolves what it finds; the resolution is the state from then on.
        // (Its successor ends the cut line first, as StoreStressWorker does.)
        Files.writeString(log, "\nW 102 .\n" + StoreStressModel.stateLine("L0s0", State.ABSENT) + " .\n"
            + StoreStressModel.stateLine("L0n0", new State(b("43"), 0, 0)) + " .\nD .\n",
            java.nio.file.StandardOpenOption.APPEND);
        final StoreStressModel after = StoreStressModel.replay(log, 0, 2);
        assertTrue(after.ambiguous.isEmpty());
        assertFalse(after.states.get("L0s0").present());
        assertArrayEquals(b("43"), after.states.get("L0n0").value());
    }

    @Test
    void judgeTellsTornFromLostFromWrong() {
        final State v = new State(StoreStressModel.segment(3), 0, 0);
        assertNull(StoreStressModel.judge("L0s0", v, List.of(State.ABSENT, v)));
        assertEquals("lost", StoreStressModel.judge("L0s0", State.ABSENT, List.of(v))[0]);
        assertEquals("torn", StoreStressModel.judge("L0s0", new State(b("3:dd"), 0, 0), List.of(v))[0]);
        assertEquals("violation", StoreStressModel.judge("L0s0", new State(StoreStressModel.segment(4), 0, 0),
            List.of(v))[0]);
        assertEquals("violation", StoreStressModel.judge("L0s0", new State(v.value(), 1, 0), List.of(v))[0], "flags");
        assertEquals("violation", StoreStressModel.judge("L0s0", v, List.of(State.ABSENT))[0], "a delete undone");
    }
}
