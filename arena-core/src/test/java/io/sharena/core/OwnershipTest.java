package io.sharena.core;

import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.ProcessWord;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.owner.Ownership;
import io.sharena.core.owner.ProcessIdentity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ownership primitive: owner words, tokens, generations. */
class OwnershipTest {
    @TempDir
    Path dir;

    @Test
    void wordAndTokenFieldsRoundTrip() {
        final long seed = System.nanoTime();
        final Random r = new Random(seed);
        for (int i = 0; i < 100_000; i++) {
            final long pid = 1 + r.nextLong(ProcessWord.PID_MASK);
            final long ticks = r.nextLong(Long.MAX_VALUE);
            final int gen = 1 + r.nextInt((int) ProcessWord.GENERATION_MASK);
            final long w = ProcessWord.encode(pid, ticks, gen);
            assertEquals(pid, ProcessWord.pid(w), "seed=" + seed);
            assertEquals(ticks & ProcessWord.START_MASK, ProcessWord.start(w), "seed=" + seed);
            assertEquals(gen, ProcessWord.generation(w), "seed=" + seed);
            assertFalse(ProcessWord.isFree(w));
            final int slot = r.nextInt(RegistryLayout.SLOTS);
            final long thread = r.nextLong(1L << OwnerToken.THREAD_BITS);
            final long t = OwnerToken.encode(slot, gen, thread);
            assertNotEquals(0, t);
            assertEquals(slot, OwnerToken.slot(t), "seed=" + seed);
            assertEquals(gen, OwnerToken.generation(t), "seed=" + seed);
            assertEquals(thread, OwnerToken.thread(t), "seed=" + seed);
            assertEquals(OwnerToken.encode(slot, gen, 0), OwnerToken.attachment(t));
        }
        assertTrue(ProcessWord.isFree(ProcessWord.free(7)));
        assertFalse(ProcessWord.isFree(ProcessWord.abandoned(7)));
        assertEquals(7, ProcessWord.generation(ProcessWord.abandoned(7)));
        assertEquals(1, ProcessWord.nextGeneration((int) ProcessWord.GENERATION_MASK), "0 is skipped on wrap");
        assertEquals(1, ProcessWord.nextGeneration(0));
    }

    @Test
    void claimTakeOverAndRelease() throws Exception {
        try (SharedArena a = SharedArena.create(dir.resolve("o.arena"), Capacity.ofPages(64), ArenaOptions.defaults());
             SharedArena b = SharedArena.open(dir.resolve("o.arena"), ArenaOptions.defaults())) {
            final Ownership oa = a.ownership();
            final Ownership ob = b.ownership();
            assertNotEquals(oa.slot(), ob.slot());
            final MemorySegment s = a.segment();
            final long word = (long) TestArenas.firstUserPointer(a);
            a.allocPagesAt((int) word, 1);

            assertTrue(oa.claim(s, word, oa.process()));
            assertEquals(oa.process(), s.get(java.lang.foreign.ValueLayout.JAVA_LONG, word));
            assertFalse(ob.claim(s, word, ob.process()), "held");
            assertFalse(ob.takeOver(s, word, oa.process(), ob.process()), "its owner lives");
            assertTrue(ob.isAlive(oa.process()) && ob.isAlive(oa.mine()));
            assertTrue(oa.isMine(oa.mine()) && !ob.isMine(oa.mine()));
            assertThrows(IllegalArgumentException.class, () -> oa.claim(s, word + 8, ob.process()),
                "a token of another attachment");
            assertFalse(ob.release(s, word, ob.process()), "not the owner");
            assertTrue(oa.release(s, word, oa.process()));
            assertEquals(0, s.get(java.lang.foreign.ValueLayout.JAVA_LONG, word));

            // A dead process's token: its slot holds a pid that no longer exists.
            final Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            final int deadSlot = 30;
            a.registry().writeForTest(deadSlot, gone.pid(), 1);
            final long dead = OwnerToken.encode(deadSlot, a.registry().generation(deadSlot), 9);
            s.set(java.lang.foreign.ValueLayout.JAVA_LONG, word, dead);
            assertFalse(oa.isAlive(dead));
            assertEquals(gone.pid(), oa.pidOf(dead), "a dead owner's pid, while its slot is not reused");
            assertEquals(ProcessIdentity.selfPid(), ob.pidOf(oa.mine()));
            assertFalse(oa.takeOver(s, word, dead + 1, oa.mine()), "not the word there");
            assertTrue(oa.takeOver(s, word, dead, oa.mine()));
            assertFalse(ob.takeOver(s, word, dead, ob.mine()), "one takeover wins");
            assertEquals(oa.mine(), s.get(java.lang.foreign.ValueLayout.JAVA_LONG, word));

            // The same slot, claimed again by a live process (this one): the old token stays dead.
            a.registry().writeForTest(deadSlot, ProcessIdentity.selfPid(), ProcessIdentity.selfStartTicks());
            assertTrue(a.registry().isAlive(deadSlot));
            assertFalse(oa.isAlive(dead), "a token of an earlier generation names no one");
            assertEquals(0, oa.pidOf(dead));
            assertTrue(oa.isAlive(OwnerToken.encode(deadSlot, a.registry().generation(deadSlot), 9)));
            assertFalse(oa.isAlive(0));
        }
    }

    @Test
    void closingAnAttachmentKillsItsTokensAndTheNextClaimBumpsTheGeneration() throws Exception {
        final Path file = dir.resolve("g.arena");
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(64), ArenaOptions.defaults())) {
            final long token;
            final int slot;
            final int generation;
            try (SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
                token = b.ownership().mine();
                slot = b.slot();
                generation = b.ownership().generation();
                assertTrue(a.ownership().isAlive(token));
            }
            assertFalse(a.ownership().isAlive(token), "released slot: its tokens are dead");
            assertEquals(generation, a.registry().generation(slot), "release keeps the generation");
            try (SharedArena c = SharedArena.open(file, ArenaOptions.defaults())) {
                assertEquals(slot, c.slot());
                assertEquals(ProcessWord.nextGeneration(generation), c.ownership().generation());
                assertFalse(c.ownership().isAlive(token));
            }
        }
    }
}
