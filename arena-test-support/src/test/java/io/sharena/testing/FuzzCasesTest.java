package io.sharena.testing;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FuzzCases}: case seeds, the replay of one case, the number of stray writes, failures and hangs. */
class FuzzCasesTest {
    private static final String PREFIX = "fuzzcasestest";

    @AfterEach
    void clearProperties() {
        System.clearProperty(PREFIX + ".cases");
        System.clearProperty(PREFIX + ".seed");
        System.clearProperty(PREFIX + ".case");
    }

    private static FuzzCases cases() {
        return FuzzCases.of(PREFIX, 7, "arena-x", "XTest#m");
    }

    @Test
    void aRunSeedGivesTheSameDistinctCaseSeedsEveryTimeAndNoneOfTheNextSeeds() {
        System.setProperty(PREFIX + ".seed", "42");
        final FuzzCases a = cases();
        final FuzzCases b = cases();
        assertEquals(7, a.cases());
        assertEquals(42, a.seed());
        final Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            assertEquals(a.caseSeed(i), b.caseSeed(i));
            assertTrue(seen.add(a.caseSeed(i)), "case " + i);
        }
        System.setProperty(PREFIX + ".seed", "43");
        final FuzzCases next = cases();
        for (int i = 0; i < 1000; i++) {
            assertFalse(seen.contains(next.caseSeed(i)), "case " + i + " of the next run's seed");
        }
        System.setProperty(PREFIX + ".cases", "300");
        assertEquals(300, cases().cases());
    }

    @Test
    void aCaseSeedRunsThatCaseAloneAndTheReplayLineNamesIt() {
        System.setProperty(PREFIX + ".seed", "42");
        System.setProperty(PREFIX + ".cases", "300");
        System.setProperty(PREFIX + ".case", "-17");
        final FuzzCases c = cases();
        assertEquals(1, c.cases());
        assertEquals(-17, c.caseSeed(0));
        assertEquals("./mvnw -B -o -pl arena-x -am verify -Dtest='XTest#m' -Dsurefire.failIfNoSpecifiedTests=false"
            + " -Dfuzzcasestest.seed=42 -Dfuzzcasestest.case=-17", c.replay(-17));
        assertTrue(c.banner("x fuzz").startsWith("x fuzz: seed=42 cases=1 (case -17 alone)"), c.banner("x fuzz"));
    }

    @Test
    void oneStrayWriteInHalfTheCasesElseTwoToFour() {
        final int[] count = new int[FuzzCases.MAX_STRAY_WRITES + 1];
        final SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 12_000; i++) {
            count[FuzzCases.strayWrites(r)]++;
        }
        assertEquals(0, count[0]);
        assertTrue(count[1] > 5_700 && count[1] < 6_300, "one write: " + count[1]);
        for (int w = 2; w <= FuzzCases.MAX_STRAY_WRITES; w++) {
            assertTrue(count[w] > 1_800 && count[w] < 2_200, w + " writes: " + count[w]);
        }
    }

    @Test
    void failuresAreGroupedWithTheFirstCasesSeedAndReplayAndTheCasesGoOn() throws Exception {
        System.setProperty(PREFIX + ".seed", "5");
        final FuzzCases c = cases();
        int ran = 0;
        for (int i = 0; i < c.cases(); i++) {
            final int n = i;
            assertTrue(c.run(i, 100 + i, Duration.ofSeconds(10), what -> {
                what.accept("write " + n);
                if (n % 3 == 1) {
                    throw new IndexOutOfBoundsException("Index " + n + " out of bounds for length 4");
                }
            }));
            ran++;
        }
        assertEquals(7, ran);
        final AssertionError e = assertThrows(AssertionError.class, c::assertClean);
        assertEquals("2 failing case(s):\n"
            + "  IndexOutOfBoundsException at ?: 2 case(s), first seed=101 (write 1):"
            + " java.lang.IndexOutOfBoundsException: Index 1 out of bounds for length 4\n"
            + "    replay: " + c.replay(101), e.getMessage());
        assertInstanceOf(IndexOutOfBoundsException.class, e.getCause());
    }

    @Test
    void aCaseThatHangsStopsTheRunAndIsNamed() throws Exception {
        final FuzzCases c = cases();
        assertFalse(c.run(0, 9, Duration.ofMillis(100), what -> {
            what.accept("a wait");
            Thread.sleep(60_000);
        }));
        final AssertionError e = assertThrows(AssertionError.class, c::assertClean);
        assertTrue(e.getMessage().startsWith("1 failing case(s), the run stopped at a hang:\n  hang at ?: 1 case(s),"
            + " first seed=9 (a wait): java.lang.AssertionError: case 0 hung (past 100 ms)\n    replay: "),
            e.getMessage());
    }

    @Test
    void aCleanRunPasses() throws Exception {
        final FuzzCases c = cases();
        assertTrue(c.run(0, 1, Duration.ofSeconds(10), what -> what.accept("nothing")));
        c.assertClean();
    }
}
