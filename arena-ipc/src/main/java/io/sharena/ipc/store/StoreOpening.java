package io.sharena.ipc.store;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.core.layout.Geometry;
import io.sharena.ipc.NamedRoots;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How a store is made or found: in a store file of its own ({@link SharedStore#create},
 * {@link SharedStore#open}, {@link SharedStore#openOrCreate}), or under a named root of an arena the
 * process has open ({@link SharedStore#of}). Every way ends in {@link SharedStore#attach}.
 */
final class StoreOpening {
    /**
     * Pages a store file's arena gets beyond its region and its page table: room for the header,
     * control page, registry and named-roots directory, with some to spare.
     */
    private static final int MAX_ARENA_META_SLACK_PAGES = 1024;

    private StoreOpening() {
    }

    /** {@link SharedStore#create(Path, StoreOptions, ArenaOptions)}. */
    static SharedStore create(final Path path, final StoreOptions options, final ArenaOptions arenaOptions)
        throws IOException {
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        StoreFormat.checkFits(o);
        // The region, plus room for the arena's header and page table, which grow with its size.
        final long pages = StoreFormat.regionPages(o);
        final long capacity = (pages + pages / 256 + MAX_ARENA_META_SLACK_PAGES) * (long) Geometry.PAGE_SIZE;
        final SharedArena arena = SharedArena.create(path, Capacity.ofBytes(capacity), arenaOptions);
        try {
            final int region = StoreFormat.create(arena, NamedRoots.of(arena), SharedStore.DEFAULT_ROOT, o,
                o.clock().getAsLong());
            if (region == 0) {
                throw new IOException("no room for the store in its own arena: pages=" + pages + ", path=" + path);
            }
            return SharedStore.attach(arena, SharedStore.DEFAULT_ROOT, o, true);
        } catch (final IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** {@link SharedStore#open}. */
    static SharedStore open(final Path path, final StoreOptions options) throws IOException {
        final SharedArena arena = SharedArena.open(path, ArenaOptions.defaults());
        try {
            return SharedStore.attach(arena, SharedStore.DEFAULT_ROOT, options, true);
        } catch (final IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** {@link SharedStore#openOrCreate}. */
    static SharedStore openOrCreate(final Path path, final StoreOptions options) throws IOException {
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        if (!java.nio.file.Files.exists(path)) {
            try {
                return SharedStore.create(path, o);
            } catch (final java.nio.file.FileAlreadyExistsException e) {
                // Another process made it first: open theirs.
            } catch (final IllegalArgumentException e) {
                if (!java.nio.file.Files.exists(path)) {
                    throw e;
                }
            }
        }
        final SharedArena arena = openWhileCreated(path);
        try {
            final NamedRoots roots = NamedRoots.of(arena);
            if (roots.getCreated(SharedStore.DEFAULT_ROOT) == 0) {
                refuseOverALostStore(arena);
            }
            if (roots.getCreated(SharedStore.DEFAULT_ROOT) == 0
                && StoreFormat.create(arena, roots, SharedStore.DEFAULT_ROOT, o, o.clock().getAsLong()) == 0) {
                throw new IOException("no room for the store in the arena: pages=" + StoreFormat.regionPages(o)
                    + ", path=" + path);
            }
            return SharedStore.attach(arena, SharedStore.DEFAULT_ROOT, o, true);
        } catch (final IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A store whose root a stray write took (its state or its value) is whole, its pages allocated,
     * but no name leads to it: creating a new store beside it would serve an empty cache from a file
     * that holds one (or find no room for it), while the repair can name the old one again.
     *
     * @throws io.sharena.core.ArenaFormatException if the arena holds such a store
     */
    private static void refuseOverALostStore(final SharedArena arena) throws io.sharena.core.ArenaFormatException {
        final java.util.List<Integer> lost = StoreTools.orphans(arena);
        if (!lost.isEmpty()) {
            throw new io.sharena.core.ArenaFormatException("store.root", "no root named " + SharedStore.DEFAULT_ROOT
                + ", but the arena holds a store no root leads to (its root lost to a stray write): header=0x"
                + Integer.toHexString(lost.getFirst()) + "; 'arena check --repair' names it again");
        }
    }

    /**
     * Opens an arena file another process may be creating right now: {@link SharedArena#create} makes
     * the file (empty) before it sizes it and writes its header, so a racing opener sees a file too
     * short, with no magic yet, or a header copy half-written. That is retried for a while; a file
     * still no arena then is refused.
     */
    private static SharedArena openWhileCreated(final Path path) throws IOException {
        final long start = System.nanoTime();
        while (true) {
            try {
                return SharedArena.open(path, ArenaOptions.defaults());
            } catch (final io.sharena.core.ArenaFormatException e) {
                // Any header field may be read half-written; a path that is no regular file never becomes one.
                final boolean young = !"fileType".equals(e.field());
                if (!young || System.nanoTime() - start > io.sharena.ipc.Pages.SETUP_TIMEOUT_NANOS) {
                    throw e;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        }
    }

    /** {@link SharedStore#of}. */
    static SharedStore of(final SharedArena arena, final String name, final StoreOptions options)
        throws IOException {
        if (ArenaInternals.slot(arena) < 0) {
            throw new IllegalArgumentException("a store needs a writable arena attachment: readOnly=true, path="
                + arena.path() + " (tools read stores through StoreTools)");
        }
        final StoreOptions o = options == null ? StoreOptions.defaults() : options;
        final NamedRoots roots = NamedRoots.of(arena);
        // Created under the roots' lock in one crash-safe step; a process that comes second gets the
        // first one's region (or waits for it to be formatted, in attach).
        if (roots.getCreated(name) == 0 && StoreFormat.create(arena, roots, name, o, o.clock().getAsLong()) == 0) {
            throw new IOException("no room for a store in the arena: pages=" + StoreFormat.regionPages(o)
                + ", path=" + arena.path());
        }
        return SharedStore.attach(arena, name, o, false);
    }
}
