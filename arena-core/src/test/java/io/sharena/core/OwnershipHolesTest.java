package io.sharena.core;

import io.sharena.core.crash.CrashPoints;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.ProcessWord;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.owner.LockPoint;
import io.sharena.core.lock.LockResult;
import io.sharena.core.owner.ProcessRegistry;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regression tests for the two ownership holes: a stale lock word CASed after its slot was reused
 * (ABA), and attach taking over a dead slot when every slot is full.
 */
class OwnershipHolesTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final int LOCK_PTR = (int) ControlLayout.word(ControlLayout.LOCK_WORD);

    @TempDir
    Path dir;

    @AfterEach
    void removeHook() {
        CrashPoints.install(null);
    }

    /** The lock word a thread of the process in {@code slot} would have written. */
    private static long ownerWord(final SharedArena arena, final int slot, final long threadId) {
        return OwnerToken.encode(slot, arena.registry().generation(slot), threadId);
    }

    /** Writes the registry identity of a dead process into {@code slot} of a closed arena file. */
    private static void forgeDeadSlot(final FileChannel ch, final int slot, final long pid) throws IOException {
        // As a claim would have: generation 1 of a slot never used.
        ch.write(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, ProcessWord.encode(pid, 1, 1)),
            RegistryLayout.field(slot, RegistryLayout.OWNER));
    }

    private static void putLong(final FileChannel ch, final long at, final long value) throws IOException {
        ch.write(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, value), at);
    }

    /**
     * A registry slot's owner word zeroed by a stray write (found by a corrupted-file campaign): the
     * next attacher claimed the slot at generation 1 again, its first owner's tokens, which a dead
     * consumer still held in a channel's owner word, so the channel's place read as taken by a live
     * process. The claim counts on from the slot's copy of its last generation now; a word set back
     * to an earlier free generation is overtaken by the copy too.
     */
    @Test
    void anOwnerWordZeroedOrSetBackDoesNotHandAnEarlierOwnersTokensOut() throws Exception {
        final Path file = dir.resolve("gen.arena");
        final long first;
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            first = a.ownership().process();
        }
        final int slot = OwnerToken.slot(first);
        long last = first;
        for (final long stray : new long[] {0L, ProcessWord.free(1)}) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                putLong(ch, RegistryLayout.field(slot, RegistryLayout.OWNER), stray);
            }
            try (SharedArena b = SharedArena.open(file, ArenaOptions.defaults())) {
                final long mine = b.ownership().process();
                assertEquals(slot, OwnerToken.slot(mine), "the first free slot");
                assertEquals(OwnerToken.generation(last) + 1, OwnerToken.generation(mine),
                    "counted on from the last claim, not from the word a stray write left: word=" + stray);
                last = mine;
            }
        }
    }

    /**
     * Hole 4. A waiter reads a dead owner's word and stalls; meanwhile the lock is recovered, the
     * dead slot released and claimed by a new attachment, whose thread (with the same thread id as
     * the dead owner's) takes the lock. The waiter's takeover must now fail: the word names a live
     * owner, even though its bits may repeat the dead one's.
     */
    @Test
    void aStaleLockWordCannotBeTakenOverAfterItsSlotIsReused() throws Exception {
        final Path file = dir.resolve("aba.arena");
        final ExecutorService newOwner = Executors.newSingleThreadExecutor();
        final List<SharedArena> others = new ArrayList<>();
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final long tid = newOwner.submit(() -> Thread.currentThread().threadId()).get();
            final int reused = 5;
            a.registry().writeForTest(reused, TestArenas.deadPid(), 1);
            a.raw().putLongVolatile(LOCK_PTR, ownerWord(a, reused, tid));

            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            final Thread[] waiterThread = new Thread[1];
            CrashPoints.install(point -> {
                if (point == LockPoint.LOCK_TAKEOVER && Thread.currentThread() == waiterThread[0]) {
                    paused.countDown();
                    try {
                        resume.await();
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final LockResult[] waiterResult = new LockResult[1];
            final Thread waiter = new Thread(() -> waiterResult[0] = a.lock().lock(2 * SECOND));
            waiterThread[0] = waiter;
            waiter.start();
            assertTrue(paused.await(10, TimeUnit.SECONDS), "the waiter judged the owner dead");

            // Someone else recovers the lock and repairs: the dead slot is released.
            assertTrue(a.repair(SECOND));
            assertEquals(0, a.raw().getLongVolatile(LOCK_PTR));
            // New attachments fill the free slots up to the released one.
            SharedArena b = null;
            for (int i = 0; i < reused; i++) {
                final SharedArena o = SharedArena.open(file, ArenaOptions.defaults());
                others.add(o);
                if (o.slot() == reused) {
                    b = o;
                    break;
                }
            }
            assertTrue(b != null, "slot " + reused + " was claimed again");
            final SharedArena owner = b;
            assertEquals(LockResult.ACQUIRED, newOwner.submit(() -> owner.lock().lock(SECOND)).get());

            resume.countDown();
            waiter.join(10_000);
            assertEquals(LockResult.TIMEOUT, waiterResult[0],
                "the waiter must not take the lock from its live owner");
            final Future<?> unlock = newOwner.submit(() -> owner.lock().unlock());
            unlock.get(); // throws if the live owner lost the lock
        } finally {
            newOwner.shutdownNow();
            for (final SharedArena o : others) {
                o.close();
            }
        }
    }

    /**
     * Hole 4 across processes: a child JVM's waiter is stopped (SIGSTOP) right after judging a
     * user lock's holder dead; meanwhile the dead holder's slot is released and claimed again in
     * this process, whose thread with the dead holder's thread id takes the lock. Resumed, the
     * child must not take the lock from its live holder.
     */
    @Test
    void aStoppedChildsStaleTakeoverFailsAfterTheSlotIsReused() throws Exception {
        final Path file = dir.resolve("aba2.arena");
        final ExecutorService newOwner = Executors.newSingleThreadExecutor();
        final List<SharedArena> others = new ArrayList<>();
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            final int node = a.allocPages(1);
            final long tid = newOwner.submit(() -> Thread.currentThread().threadId()).get();
            final int reused = 5;
            a.registry().writeForTest(reused, TestArenas.deadPid(), 1);
            a.raw().putLongVolatile(node, ownerWord(a, reused, tid));
            try (ChildJvm child = LockChild.start(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=" + LockPoint.LOCK_TAKEOVER.id(), "-Dsharena.crashpoint.action=stop"),
                "lockwait", file.toString(), Integer.toString(node))) {
                child.await("crashpoint: " + LockPoint.LOCK_TAKEOVER.id() + " stop");
                // The child's open repaired: the dead slot is free again. Claim it here.
                SharedArena b = null;
                for (int i = 0; i < RegistryLayout.SLOTS && b == null; i++) {
                    final SharedArena o = SharedArena.open(file, ArenaOptions.defaults());
                    others.add(o);
                    b = o.slot() == reused ? o : null;
                }
                assertTrue(b != null, "slot " + reused + " was claimed again");
                final SharedArena owner = b;
                assertEquals(LockResult.RECOVERED, newOwner.submit(() -> owner.lockAt(node).lock(SECOND)).get(),
                    "the new holder takes the dead holder's lock over");
                child.cont();
                assertEquals("lock TIMEOUT", child.await("lock "), "the resumed child must not take it");
                assertEquals(0, child.waitFor(30), String.join("\n", child.output()));
                newOwner.submit(() -> owner.lockAt(node).unlock()).get(); // throws if the holder lost it
            }
        } finally {
            newOwner.shutdownNow();
            for (final SharedArena o : others) {
                o.close();
            }
        }
    }

    /** Fills every registry slot of a closed arena with a dead process. */
    private Path fullOfDeadProcesses(final String name, final long pid) throws Exception {
        final Path file = dir.resolve(name);
        SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults()).close();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                forgeDeadSlot(ch, slot, pid);
            }
        }
        return file;
    }

    /**
     * Hole 5, first half. Every slot holds a dead process and the one attach takes over held the
     * lock: the lock must not then name the live newcomer. Open repairs, and allocation works.
     */
    @Test
    void attachOverTheDeadLockHoldersSlotStillRecoversTheLock() throws Exception {
        final Path file = fullOfDeadProcesses("held.arena", TestArenas.deadPid());
        final long otherThread = Thread.currentThread().threadId() + 1000;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // The slot the newcomer will take over (the first dead one) holds the lock.
            putLong(ch, LOCK_PTR, OwnerToken.encode(0, 1, otherThread));
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withLockTimeoutNanos(SECOND / 5))) {
            assertEquals(0, arena.slot());
            assertEquals(1, arena.registry().entries().size(), "open repaired: the dead slots were released");
            int got = 0;
            for (int i = 0; i < 20; i++) {
                got += arena.allocPages(1) != 0 ? 1 : 0;
            }
            assertEquals(20, got, "allocations after open");
        }
    }

    /**
     * Hole 5, second half. A page the dead owner of the taken-over slot had in transit (marked
     * CACHED, in no stack) is reclaimed, not inherited for ever.
     */
    @Test
    void theInheritedSlotsPagesInTransitAreReclaimed() throws Exception {
        final Path file = fullOfDeadProcesses("transit.arena", TestArenas.deadPid());
        final int page;
        try (SharedArena probe = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            page = (int) probe.firstUserPage() + 10;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            putLong(ch, PageEntry.stateOffset(page), PageEntry.state(PageEntry.CACHED, 0, 0, 1));
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(0, arena.slot(), "took over slot 0");
            assertEquals(PageEntry.FREE,
                PageEntry.stateOf(arena.raw().getLongVolatile((int) PageEntry.stateOffset(page))),
                "the dead owner's page in transit was reclaimed");
        }
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults())) {
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(arena));
        }
    }

    /**
     * Hole 5, when the inherited slot cannot be reclaimed at once: every slot is taken and a live
     * process holds the lock for longer than open waits. Open then fails clearly, gives the slot
     * up as dead (nothing of the dead owner's is adopted), and the next repair reclaims it.
     */
    @Test
    void aTakeoverThatCannotRepairGivesTheSlotUpAndFails() throws Exception {
        final Path file = dir.resolve("busy.arena");
        final long dead = TestArenas.deadPid();
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                if (slot != a.slot()) {
                    a.registry().writeForTest(slot, dead, 1);
                }
            }
            assertEquals(LockResult.ACQUIRED, a.lock().lock(SECOND));
            final java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> SharedArena.open(file, ArenaOptions.defaults()));
            assertTrue(e.getMessage().startsWith("arena busy: every process slot was taken and the lock stayed busy"),
                e.getMessage());
            final long abandoned = a.registry().entries().stream()
                .filter(x -> x.pid() == 0 && !x.alive()).count();
            assertEquals(1, abandoned, "the taken-over slot reads as dead: " + a.registry().entries());
            a.lock().unlock();
            assertTrue(a.repair(SECOND));
            assertEquals(1, a.registry().entries().size(), "every dead and abandoned slot released");
            assertEquals(List.of(), io.sharena.core.check.ArenaChecker.check(a));
        }
    }

    /**
     * Hole 5, third part. A recovery that runs while an attach is taking a dead slot over must not
     * release the newcomer's slot: a paused attacher is alive, whatever the slot held before.
     */
    @Test
    void recoveryDuringATakeoverLeavesTheNewcomersSlotAlone() throws Exception {
        final Path file = dir.resolve("race.arena");
        final long dead = TestArenas.deadPid();
        try (SharedArena a = SharedArena.create(file, Capacity.ofPages(256), ArenaOptions.defaults())) {
            for (int slot = 0; slot < RegistryLayout.SLOTS; slot++) {
                if (slot != a.slot()) {
                    a.registry().writeForTest(slot, dead, 1);
                }
            }
            final CountDownLatch paused = new CountDownLatch(1);
            final CountDownLatch resume = new CountDownLatch(1);
            CrashPoints.install(point -> {
                if (point == LockPoint.SLOT_TAKEN_OVER && Thread.currentThread().getName().equals("attacher")) {
                    paused.countDown();
                    try {
                        resume.await();
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            final SharedArena[] opened = new SharedArena[1];
            final Exception[] failed = new Exception[1];
            final Thread attacher = new Thread(() -> {
                try {
                    opened[0] = SharedArena.open(file, ArenaOptions.defaults());
                } catch (final Exception e) {
                    failed[0] = e;
                }
            }, "attacher");
            attacher.start();
            assertTrue(paused.await(10, TimeUnit.SECONDS), "the attacher took a dead slot over");
            assertTrue(a.repair(SECOND), "a concurrent recovery runs");
            resume.countDown();
            attacher.join(10_000);
            assertEquals(null, failed[0]);
            try (SharedArena x = opened[0]) {
                final ProcessRegistry.Entry mine = a.registry().entries().stream()
                    .filter(e -> e.slot() == x.slot()).findFirst().orElse(null);
                assertTrue(mine != null && mine.alive(), "the newcomer's slot is registered and alive: " + mine);
                try (SharedArena y = SharedArena.open(file, ArenaOptions.defaults())) {
                    assertNotEquals(x.slot(), y.slot(), "two attachments on one slot");
                }
                assertEquals(2, a.registry().entries().size());
            }
        }
    }
}
