package io.sharena.ipc;

import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.layout.ControlLayout;
import io.sharena.core.lock.ArenaLock;
import io.sharena.core.lock.LockResult;
import io.sharena.ipc.layout.RootsLayout;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named roots: a small directory in the arena from names (UTF-8, at most
 * {@value RootsLayout#MAX_NAME} bytes) to arena pointers, so that independent processes find the
 * structures they share.
 *
 * <pre>{@code
 * NamedRoots roots = NamedRoots.of(arena);
 * roots.put("orders", ptr);           // in one process
 * int ptr = roots.get("orders");      // in another; 0 when absent
 * }</pre>
 *
 * <p>Concurrency: {@link #get} and {@link #compareAndSet} on an existing name are lock-free (an
 * acquire load; a CAS of the entry's version-tagged value). Adding and removing names is rare and
 * takes the arena's allocator lock, so two processes never add the same name twice. Crash model:
 * an entry is claimed (WRITING), its name written, then published LIVE with a release store, all
 * under the lock; a holder killed halfway leaves a WRITING entry that readers skip and that the next
 * lock holder to add a name clears. No torn entry is ever visible. The directory itself is
 * allocated on first use and installed with one CAS in the arena's control page.
 */
public final class NamedRoots {
    private static final long LOCK_TIMEOUT_NANOS = 100_000_000L;
    private static final int NO_SLOT = -1;

    private final SharedArena arena;
    private final ArenaView view;
    private final int directory;

    private NamedRoots(final SharedArena arena, final int directory) {
        this.arena = arena;
        this.view = arena.raw();
        this.directory = directory;
    }

    /**
     * @return the arena's roots, creating the directory if this is the first use
     * @throws IllegalStateException if the arena has no room for the directory
     */
    public static NamedRoots of(final SharedArena arena) {
        final ArenaView v = arena.raw();
        final int word = (int) ControlLayout.word(ControlLayout.ROOTS_PTR);
        int dir = v.getIntAcquire(word);
        if (dir == 0) {
            final int fresh = Pages.allocate(arena, RootsLayout.PAGES, Pages.SETUP_TIMEOUT_NANOS);
            if (fresh == 0) {
                throw new IllegalStateException("no room for the named-roots directory: pages=" + RootsLayout.PAGES
                    + ", path=" + arena.path());
            }
            // The pages are zeroed, i.e. all entries EMPTY. One CAS installs them; a loser frees its copy.
            if (v.compareAndSetInt(word, 0, fresh)) {
                dir = fresh;
            } else {
                arena.freePages(fresh, RootsLayout.PAGES);
                dir = v.getIntAcquire(word);
            }
        }
        return new NamedRoots(arena, dir);
    }

    private static byte[] encode(final String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("root name must not be empty: name=" + name);
        }
        final byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > RootsLayout.MAX_NAME) {
            throw new IllegalArgumentException("root name too long: bytes=" + bytes.length + ", max="
                + RootsLayout.MAX_NAME + ", name=" + name);
        }
        return bytes;
    }

    private int entry(final int index) {
        return directory + index * RootsLayout.ENTRY_SIZE;
    }

    private static int hash(final byte[] name) {
        int h = 0x811C9DC5;
        for (final byte b : name) {
            h = (h ^ (b & 0xFF)) * 0x01000193;
        }
        return h & (RootsLayout.ENTRIES - 1);
    }

    private boolean nameEquals(final int e, final byte[] name) {
        if (view.getInt(e + RootsLayout.NAME_LEN) != name.length) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (view.getByte(e + RootsLayout.NAME + i) != name[i]) {
                return false;
            }
        }
        return true;
    }

    /** @return the entry holding {@code name} LIVE, or -1; stops at the first EMPTY entry */
    private int find(final byte[] name) {
        final int start = hash(name);
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
            final int state = view.getIntAcquire(e + RootsLayout.STATE);
            if (state == RootsLayout.EMPTY) {
                return -1;
            }
            if (state == RootsLayout.LIVE && nameEquals(e, name)) {
                return e;
            }
        }
        return -1;
    }

    /** @return the pointer stored under {@code name}, or 0 (NULL) when there is none */
    public int get(final String name) {
        final int e = find(encode(name));
        return e < 0 ? 0 : RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
    }

    /** @return whether {@code name} exists */
    public boolean contains(final String name) {
        return find(encode(name)) >= 0;
    }

    /**
     * Sets {@code name} to {@code ptr} only if it now holds {@code expected} (0 = absent: then the
     * name is added).
     *
     * @return whether it was set
     */
    public boolean compareAndSet(final String name, final int expected, final int ptr) {
        final byte[] bytes = encode(name);
        final int e = find(bytes);
        if (e >= 0) {
            return casValue(e, expected, ptr);
        }
        return expected == 0 && insert(bytes, ptr, false) != NO_SLOT;
    }

    private boolean casValue(final int e, final int expected, final int ptr) {
        while (true) {
            final long v = view.getLongAcquire(e + RootsLayout.VALUE);
            if (RootsLayout.pointerOf(v) != expected || view.getIntAcquire(e + RootsLayout.STATE) != RootsLayout.LIVE) {
                return false;
            }
            if (view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.value(RootsLayout.versionOf(v) + 1, ptr))) {
                return true;
            }
        }
    }

    /**
     * Sets {@code name} to {@code ptr}, adding the name if needed.
     *
     * @return the pointer it held before, 0 if it was absent
     * @throws IllegalStateException if the directory is full or the lock could not be had in 100 ms
     */
    public int put(final String name, final int ptr) {
        final byte[] bytes = encode(name);
        while (true) {
            final int e = find(bytes);
            if (e >= 0) {
                final long v = view.getLongAcquire(e + RootsLayout.VALUE);
                if (view.compareAndSetLong(e + RootsLayout.VALUE, v, RootsLayout.value(RootsLayout.versionOf(v) + 1, ptr))) {
                    return RootsLayout.pointerOf(v);
                }
                continue;
            }
            if (insert(bytes, ptr, true) != NO_SLOT) {
                return 0;
            }
        }
    }

    /**
     * Adds {@code name} under the lock, unless another process added it first.
     *
     * @return the entry, or NO_SLOT if the name appeared meanwhile (the caller retries as an update)
     */
    private int insert(final byte[] name, final int ptr, final boolean forPut) {
        final ArenaLock lock = arena.lock();
        final LockResult r = lock.lock(LOCK_TIMEOUT_NANOS);
        if (r == LockResult.TIMEOUT) {
            throw new IllegalStateException("allocator lock busy for 100 ms; root not added: name="
                + new String(name, StandardCharsets.UTF_8));
        }
        try {
            if (find(name) >= 0) {
                return NO_SLOT;
            }
            final int start = hash(name);
            for (int i = 0; i < RootsLayout.ENTRIES; i++) {
                final int e = entry((start + i) & (RootsLayout.ENTRIES - 1));
                final int state = view.getIntAcquire(e + RootsLayout.STATE);
                // WRITING under the lock we hold can only be a dead holder's leftover.
                if (state == RootsLayout.EMPTY || state == RootsLayout.REMOVED || state == RootsLayout.WRITING) {
                    view.putIntVolatile(e + RootsLayout.STATE, RootsLayout.WRITING);
                    view.fill(e + RootsLayout.NAME, RootsLayout.MAX_NAME, (byte) 0);
                    view.putBytes(e + RootsLayout.NAME, name, 0, name.length);
                    view.putInt(e + RootsLayout.NAME_LEN, name.length);
                    final long old = view.getLongAcquire(e + RootsLayout.VALUE);
                    view.putLongRelease(e + RootsLayout.VALUE, RootsLayout.value(RootsLayout.versionOf(old) + 1, ptr));
                    // Publishes the name and value written above.
                    view.putIntRelease(e + RootsLayout.STATE, RootsLayout.LIVE);
                    return e;
                }
            }
            throw new IllegalStateException("named-roots directory full: entries=" + RootsLayout.ENTRIES);
        } finally {
            if (r != LockResult.DEADLOCK) {
                lock.unlock();
            }
        }
    }

    /**
     * Removes {@code name}.
     *
     * @return the pointer it held, 0 if it was absent
     */
    public int remove(final String name) {
        final byte[] bytes = encode(name);
        final ArenaLock lock = arena.lock();
        final LockResult r = lock.lock(LOCK_TIMEOUT_NANOS);
        if (r == LockResult.TIMEOUT) {
            throw new IllegalStateException("allocator lock busy for 100 ms; root not removed: name=" + name);
        }
        try {
            final int e = find(bytes);
            if (e < 0) {
                return 0;
            }
            view.putIntRelease(e + RootsLayout.STATE, RootsLayout.REMOVED);
            return RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE));
        } finally {
            if (r != LockResult.DEADLOCK) {
                lock.unlock();
            }
        }
    }

    /**
     * Verifies the directory, read-only: names well-formed and not listed twice, no entry left
     * half-written while nobody holds the lock. Exact only on a quiet arena.
     *
     * @return the violations, one line each
     */
    public java.util.List<String> check() {
        final java.util.List<String> violations = new java.util.ArrayList<>();
        final java.util.Set<String> names = new java.util.HashSet<>();
        final boolean lockFree = view.getLongVolatile((int) ControlLayout.word(ControlLayout.LOCK_WORD)) == 0;
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry(i);
            final int state = view.getIntAcquire(e + RootsLayout.STATE);
            if (state < RootsLayout.EMPTY || state > RootsLayout.REMOVED) {
                violations.add("root entry in an unknown state: entry=" + i + ", state=" + state);
            } else if (state == RootsLayout.WRITING && lockFree) {
                violations.add("root entry left half-written: entry=" + i);
            } else if (state == RootsLayout.LIVE) {
                final int len = view.getInt(e + RootsLayout.NAME_LEN);
                if (len < 1 || len > RootsLayout.MAX_NAME) {
                    violations.add("root name length out of range: entry=" + i + ", length=" + len);
                    continue;
                }
                final byte[] name = new byte[len];
                view.getBytes(e + RootsLayout.NAME, name, 0, len);
                if (!names.add(new String(name, StandardCharsets.UTF_8))) {
                    violations.add("root name listed twice: name=" + new String(name, StandardCharsets.UTF_8));
                }
            }
        }
        return violations;
    }

    /** @return the arena's roots if it has a directory, without creating one (for read-only tools) */
    public static java.util.Optional<NamedRoots> existing(final SharedArena arena) {
        final int dir = arena.raw().getIntAcquire((int) ControlLayout.word(ControlLayout.ROOTS_PTR));
        return dir == 0 ? java.util.Optional.empty() : java.util.Optional.of(new NamedRoots(arena, dir));
    }

    /** @return every LIVE name and its pointer, in directory order (a snapshot, read without the lock) */
    public Map<String, Integer> list() {
        final Map<String, Integer> all = new LinkedHashMap<>();
        for (int i = 0; i < RootsLayout.ENTRIES; i++) {
            final int e = entry(i);
            if (view.getIntAcquire(e + RootsLayout.STATE) == RootsLayout.LIVE) {
                final int len = Math.min(view.getInt(e + RootsLayout.NAME_LEN), RootsLayout.MAX_NAME);
                final byte[] name = new byte[Math.max(len, 0)];
                view.getBytes(e + RootsLayout.NAME, name, 0, name.length);
                all.put(new String(name, StandardCharsets.UTF_8),
                    RootsLayout.pointerOf(view.getLongAcquire(e + RootsLayout.VALUE)));
            }
        }
        return all;
    }
}
