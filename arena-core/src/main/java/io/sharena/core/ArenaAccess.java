package io.sharena.core;

import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.owner.ArenaLock;
import io.sharena.core.owner.Ownership;
import io.sharena.core.owner.ProcessRegistry;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/** The arena's side of {@link ArenaInternals}: each call forwards to the package-private member of the same name. */
final class ArenaAccess implements ArenaInternals.Access {
    @Override
    public ArenaLock lock(final SharedArena arena) {
        return arena.lock();
    }

    @Override
    public ProcessRegistry registry(final SharedArena arena) {
        return arena.registry();
    }

    @Override
    public Ownership ownership(final SharedArena arena) {
        return arena.ownership();
    }

    @Override
    public int slot(final SharedArena arena) {
        return arena.slot();
    }

    @Override
    public MemorySegment segment(final SharedArena arena) {
        return arena.segment();
    }

    @Override
    public long base(final SharedArena arena) {
        return arena.base();
    }

    @Override
    public int metaPages(final SharedArena arena) {
        return arena.metaPages();
    }

    @Override
    public boolean repair(final SharedArena arena, final long timeoutNanos, final java.util.BitSet heldPages) {
        return arena.repair(timeoutNanos, heldPages);
    }

    @Override
    public java.util.BitSet pagesWithData(final SharedArena arena) {
        return arena.pagesWithData();
    }

    @Override
    public List<String> repairNotes(final SharedArena arena) {
        return arena.repairNotes();
    }

    @Override
    public List<String> checkFile(final SharedArena arena) throws IOException {
        return arena.checkFile();
    }

    @Override
    public List<String> repairFileRecordingCut(final Path path) throws IOException {
        return SharedArena.repairFile(path, true);
    }

    @Override
    public int allocPagesInto(final SharedArena arena, final int n, final long dest) {
        return arena.allocPagesIntoWord(n, dest);
    }

    @Override
    public <T> T guarded(final SharedArena arena, final String operation, final Supplier<T> action) {
        return arena.guarded(operation, action);
    }
}
