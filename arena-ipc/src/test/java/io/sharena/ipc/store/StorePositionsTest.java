package io.sharena.ipc.store;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaView;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link StoreFormat#positions}: an open (and a check) reads HEAD and TAIL while writers move both.
 * A CI run once refused an open made by the tools' repair while writers ran: "store ring positions
 * out of range: head=24463328, tail=27746560", HEAD read before a lap of writes, TAIL after.
 */
class StorePositionsTest {
    /** The distance the writer keeps between HEAD and TAIL, and the one step it moves them by. */
    private static final long GAP = 64;
    private static final long STEP = 16;

    @TempDir
    Path dir;

    /**
     * A thread moves HEAD then TAIL by one step at a time, as fast as it can, so that at every
     * instant TAIL <= HEAD <= TAIL + GAP + STEP. Every pair read must be one that held at some
     * instant. (Read HEAD then TAIL once each, as the open did, this fails within a few thousand
     * reads: the writer gets past the HEAD read before TAIL is read.)
     */
    @Test
    void everyPairReadHeldAtOneInstant() throws Exception {
        try (SharedArena arena = SharedArena.create(dir.resolve("a.arena"), Capacity.parse("1M"), ArenaOptions.defaults())) {
            final ArenaView v = arena.raw();
            final int page = arena.allocPages(1);
            final int head = page;
            final int tail = page + 128;
            v.putLongRelease(head, GAP);
            final AtomicBoolean stop = new AtomicBoolean();
            final Thread writer = new Thread(() -> {
                for (long t = 0; !stop.get(); t += STEP) {
                    v.putLongRelease(head, t + STEP + GAP);
                    v.putLongRelease(tail, t + STEP);
                }
            });
            writer.start();
            long bad = 0;
            long unsettled = 0;
            String first = null;
            try {
                for (int i = 0; i < 2_000_000; i++) {
                    final long[] p = StoreFormat.positions(v, head, tail);
                    // A pair TAIL held still around (the usual case) is exact; any three reads bound the truth.
                    if (p[1] == p[2] ? p[1] > p[0] || p[0] - p[1] > GAP + STEP
                        : p[1] > p[0] || p[2] < p[1] || p[0] - p[2] > GAP + STEP) {
                        bad++;
                        if (first == null) {
                            first = "head=" + p[0] + ", tail=" + p[1] + " then " + p[2];
                        }
                    }
                    unsettled += p[1] == p[2] ? 0 : 1;
                }
            } finally {
                stop.set(true);
                writer.join();
            }
            assertEquals(0, bad, "pairs that never held, first: " + first);
            System.out.println("reads whose TAIL never held still: " + unsettled + " of 2,000,000");
        }
    }
}
