package io.sharena.cli;

import io.sharena.core.ArenaInUseException;
import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.channel.Channel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The file {@code arena stress} runs on: one it creates, or one an earlier stress run created and
 * no live process holds. Its workers allocate, free, delete and overwrite at random, and its end
 * counts every page it does not know as leaked, so any other file, an arena a {@code serve} uses
 * above all, would be emptied: everything is checked in the parent before a worker starts.
 *
 * <p>A file stress creates carries a named root that says so, {@value #PAGES_MARK} (page workers)
 * or {@value #STORE_MARK} ({@code --store} workers), holding no pointer: it names no pages, so no
 * check or repair counts it, and no user structure has such a name by chance. A file that is not
 * an arena, an arena without the mark (or with the other mode's), and one that live processes
 * hold are refused with a line that says to give a new path.
 */
final class StressFile {
    /** The named root of a file {@code stress} made for page workers. */
    static final String PAGES_MARK = "sharena.stress.pages";
    /** The named root of a file {@code stress --store} made. */
    static final String STORE_MARK = "sharena.stress.store";
    /**
     * The smallest {@code --size} of a page-mode file: the roots' directory, the channel (a header
     * and eight 16 KiB rings), the heap's metadata and room for the workers' pages.
     */
    static final long MIN_PAGES_BYTES = 1 << 20;
    /** Worker processes at most: each holds one of the arena's registry slots while it runs. */
    static final int MAX_PROCESSES = RegistryLayout.SLOTS;

    private StressFile() {
    }

    /**
     * @return of a file an earlier page-worker run made (vetted), the stamp of each allocated page
     * that holds one ({@code pid << 32 | page}): pages that run's killed workers left, allocated for
     * good, which the next run's leak count must not take for its own
     */
    static java.util.Map<Long, Long> stampedPages(final Path file) throws IOException {
        final java.util.Map<Long, Long> stamps = new java.util.HashMap<>();
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            for (long p = arena.firstUserPage(); p < arena.capacityPages(); p++) {
                if (arena.pageState(p) == io.sharena.core.PageState.ALLOCATED) {
                    final long stamp = arena.raw().getLong(io.sharena.core.layout.Geometry.pointerOf(p));
                    if (stamp != 0 && (int) stamp == (int) p) {
                        stamps.put(p, stamp);
                    }
                }
            }
        }
        return stamps;
    }

    /**
     * Refuses an existing {@code file} stress may not run on: not an arena, not made by stress
     * (for this mode), or held by other live processes.
     *
     * @throws IllegalArgumentException if it is not a file stress made for this mode
     * @throws ArenaInUseException      if live processes have it open
     */
    static void vetExisting(final Path file, final boolean store) throws IOException {
        final String mark = store ? STORE_MARK : PAGES_MARK;
        final String other = store ? PAGES_MARK : STORE_MARK;
        final boolean marked;
        final boolean otherMode;
        final List<Long> holders;
        try (SharedArena arena = SharedArena.open(file, ArenaOptions.defaults().withReadOnly(true))) {
            final Optional<NamedRoots> roots = NamedRoots.existing(arena);
            marked = roots.map(r -> r.contains(mark)).orElse(false);
            otherMode = roots.map(r -> r.contains(other)).orElse(false);
            holders = ArenaInternals.otherLiveProcesses(arena);
        } catch (final IOException e) {
            throw new IllegalArgumentException(file + ": exists and is not an arena stress made (" + ArenaCli.describe(e)
                + "); give stress a new path: it creates the file");
        }
        if (!marked) {
            throw new IllegalArgumentException(file + ": " + (otherMode
                ? "a file stress made for " + (store ? "page workers, not --store" : "--store, not page workers")
                : "an arena stress did not make: its workers would free, delete and overwrite what is in it")
                + "; give stress a new path: it creates the file");
        }
        if (!holders.isEmpty()) {
            throw new ArenaInUseException(file.toString(), holders.stream().distinct().sorted().toList(),
                "(stress needs the file to itself: stop them, or give stress a new path)");
        }
    }

    /**
     * Creates a page-mode file: the arena, the channel the workers share, and the mark. The size is
     * checked first; a file whose making fails is deleted, so nothing is left behind.
     *
     * @throws IllegalArgumentException if {@code capacity} is below {@link #MIN_PAGES_BYTES}
     */
    static void createPages(final Path file, final Capacity capacity) throws IOException {
        if (capacity.bytes() < MIN_PAGES_BYTES) {
            throw new IllegalArgumentException("--size too small for stress: bytes=" + capacity.bytes() + ", min="
                + MIN_PAGES_BYTES + " (the roots, the workers' channel and heap, and room for their pages: give"
                + " --size 1M or more)");
        }
        boolean made = false;
        try (SharedArena arena = SharedArena.create(file, capacity, ArenaOptions.defaults())) {
            made = true;
            Channel.create(arena, StressWorker.CHANNEL, StressWorker.CHANNEL_LANES, StressWorker.CHANNEL_RING_BYTES, 64);
            mark(arena, false);
        } catch (final IOException | RuntimeException | Error e) {
            if (made) {
                deleteQuietly(file, e);
            }
            throw e;
        }
    }

    /** Marks an arena as stress's own, for page workers or {@code --store} ones. */
    static void mark(final SharedArena arena, final boolean store) {
        NamedRoots.of(arena).put(store ? STORE_MARK : PAGES_MARK, 0);
    }

    /** Deletes a file this run created and could not finish making. */
    static void deleteQuietly(final Path file, final Throwable failure) {
        try {
            Files.deleteIfExists(file);
        } catch (final IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /** @return whether {@code file} exists (a dangling symlink does: it is vetted, not followed) */
    static boolean exists(final Path file) {
        return Files.exists(file, LinkOption.NOFOLLOW_LINKS);
    }
}
