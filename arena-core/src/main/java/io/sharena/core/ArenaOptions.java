package io.sharena.core;

/**
 * How to create or open an arena. Immutable; start from {@link #defaults()} and use the
 * {@code with...} methods.
 *
 * <ul>
 *   <li>{@code replace}: {@code create} replaces an existing arena file that no other live process
 *       has open (atomically: the new arena is built beside it and renamed over it); a file that is
 *       not a valid arena is never replaced.</li>
 *   <li>{@code fixedAddress}: every process maps the arena's window at this absolute, 4 GiB-aligned
 *       address, recorded in the header at creation; 0 means any address.</li>
 *   <li>{@code allowForeignOwner}: open a file owned by another user (refused by default).</li>
 *   <li>{@code readOnly}: open for reading only; every write through a view throws {@link IllegalArgumentException} (FFM's answer for a read-only segment).</li>
 *   <li>{@code purgeDelayNanos}: how long freed pages may keep their storage ("dirty") before it goes
 *       back to the operating system; {@code dirtyLimitPages}: how many may. See
 *       {@link #withPurgeDelayNanos}.</li>
 * </ul>
 */
public final class ArenaOptions {
    /** Default bound on waiting for the allocator lock: allocation fails fast after it. */
    public static final long DEFAULT_LOCK_TIMEOUT_NANOS = 5_000_000L;
    /** Default bound on how long freed pages keep their storage: about a second. */
    public static final long DEFAULT_PURGE_DELAY_NANOS = 1_000_000_000L;
    /** Default bound on how many freed pages keep their storage: 16,384 pages (64 MiB). */
    public static final long DEFAULT_DIRTY_LIMIT_PAGES = 16_384;
    private static final ArenaOptions DEFAULTS = new ArenaOptions(false, 0, false, false, DEFAULT_LOCK_TIMEOUT_NANOS,
        DEFAULT_PURGE_DELAY_NANOS, DEFAULT_DIRTY_LIMIT_PAGES);

    private final boolean replace;
    private final long fixedAddress;
    private final boolean allowForeignOwner;
    private final boolean readOnly;
    private final long lockTimeoutNanos;
    private final long purgeDelayNanos;
    private final long dirtyLimitPages;

    private ArenaOptions(final boolean replace, final long fixedAddress, final boolean allowForeignOwner,
                         final boolean readOnly, final long lockTimeoutNanos, final long purgeDelayNanos,
                         final long dirtyLimitPages) {
        this.purgeDelayNanos = purgeDelayNanos;
        this.dirtyLimitPages = dirtyLimitPages;
        this.replace = replace;
        this.fixedAddress = fixedAddress;
        this.allowForeignOwner = allowForeignOwner;
        this.readOnly = readOnly;
        this.lockTimeoutNanos = lockTimeoutNanos;
    }

    public static ArenaOptions defaults() {
        return DEFAULTS;
    }

    public ArenaOptions withReplace(final boolean value) {
        return new ArenaOptions(value, fixedAddress, allowForeignOwner, readOnly, lockTimeoutNanos,
            purgeDelayNanos, dirtyLimitPages);
    }

    /** @param address a 4 GiB-aligned user-space address, or 0 for none */
    public ArenaOptions withFixedAddress(final long address) {
        if (address != 0 && ((address & (ArenaPointers.WINDOW_SIZE - 1)) != 0
            || address < 0 || address > ArenaPointers.MAX_FIXED_ADDRESS)) {
            throw new IllegalArgumentException("fixed address must be 4 GiB-aligned and in user space: address=0x"
                + Long.toHexString(address) + ", max=0x" + Long.toHexString(ArenaPointers.MAX_FIXED_ADDRESS));
        }
        return new ArenaOptions(replace, address, allowForeignOwner, readOnly, lockTimeoutNanos,
            purgeDelayNanos, dirtyLimitPages);
    }

    public ArenaOptions withAllowForeignOwner(final boolean value) {
        return new ArenaOptions(replace, fixedAddress, value, readOnly, lockTimeoutNanos,
            purgeDelayNanos, dirtyLimitPages);
    }

    public ArenaOptions withReadOnly(final boolean value) {
        return new ArenaOptions(replace, fixedAddress, allowForeignOwner, value, lockTimeoutNanos,
            purgeDelayNanos, dirtyLimitPages);
    }

    /** @param nanos how long allocation and reserve wait for the allocator lock before giving up (0 = one try) */
    public ArenaOptions withLockTimeoutNanos(final long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("lock timeout must not be negative: lockTimeoutNanos=" + nanos);
        }
        return new ArenaOptions(replace, fixedAddress, allowForeignOwner, readOnly, nanos, purgeDelayNanos,
            dirtyLimitPages);
    }

    /**
     * Freed pages keep their storage committed ("dirty") so that the next allocation of them needs
     * no system call (they are zeroed instead), and go back to the operating system (a hole punched in
     * the file: RSS and disk usage drop in every process) in batches: once the oldest has waited
     * {@code nanos}, or at once when more than {@link #withDirtyLimitPages} are dirty, by whichever
     * process next holds the allocator lock or by this process's idle purge thread; and on
     * {@link SharedArena#purge()} or close. {@code 0} punches every free at once. Each process purges
     * by its own setting, so an arena opened with several takes the shortest.
     */
    public ArenaOptions withPurgeDelayNanos(final long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("purge delay must not be negative: purgeDelayNanos=" + nanos);
        }
        return new ArenaOptions(replace, fixedAddress, allowForeignOwner, readOnly, lockTimeoutNanos, nanos,
            dirtyLimitPages);
    }

    /** @param pages the most freed pages kept dirty (committed) before a purge is due at once; 0 = none kept */
    public ArenaOptions withDirtyLimitPages(final long pages) {
        if (pages < 0) {
            throw new IllegalArgumentException("dirty limit must not be negative: dirtyLimitPages=" + pages);
        }
        return new ArenaOptions(replace, fixedAddress, allowForeignOwner, readOnly, lockTimeoutNanos,
            purgeDelayNanos, pages);
    }

    public long purgeDelayNanos() {
        return purgeDelayNanos;
    }

    public long dirtyLimitPages() {
        return dirtyLimitPages;
    }

    public long lockTimeoutNanos() {
        return lockTimeoutNanos;
    }

    public boolean replace() {
        return replace;
    }

    public long fixedAddress() {
        return fixedAddress;
    }

    public boolean allowForeignOwner() {
        return allowForeignOwner;
    }

    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public String toString() {
        return "ArenaOptions[replace=" + replace + ", fixedAddress=0x" + Long.toHexString(fixedAddress)
            + ", allowForeignOwner=" + allowForeignOwner + ", readOnly=" + readOnly
            + ", lockTimeoutNanos=" + lockTimeoutNanos + ", purgeDelayNanos=" + purgeDelayNanos
            + ", dirtyLimitPages=" + dirtyLimitPages + "]";
    }
}
