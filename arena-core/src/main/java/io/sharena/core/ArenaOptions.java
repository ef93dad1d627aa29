package io.sharena.core;

/**
 * How to create or open an arena. Immutable; start from {@link #defaults()} and use the
 * {@code with...} methods.
 *
 * <ul>
 *   <li>{@code replace}: {@code create} replaces an existing file (atomically: the new arena is
 *       built beside it and renamed over it; processes that have the old one mapped keep it).</li>
 *   <li>{@code fixedAddress}: every process maps the arena's window at this absolute, 4 GiB-aligned
 *       address, recorded in the header at creation; 0 means any address.</li>
 *   <li>{@code allowForeignOwner}: open a file owned by another user (refused by default).</li>
 *   <li>{@code readOnly}: open for reading only; every write through a view throws {@link IllegalArgumentException} (FFM's answer for a read-only segment).</li>
 * </ul>
 */
public final class ArenaOptions {
    /** Default bound on waiting for the allocator lock: allocation fails fast after it. */
    public static final long DEFAULT_LOCK_TIMEOUT_NANOS = 5_000_000L;
    private static final ArenaOptions DEFAULTS = new ArenaOptions(false, 0, false, false, DEFAULT_LOCK_TIMEOUT_NANOS);

    private final boolean replace;
    private final long fixedAddress;
    private final boolean allowForeignOwner;
    private final boolean readOnly;
    private final long lockTimeoutNanos;

    private ArenaOptions(final boolean replace, final long fixedAddress, final boolean allowForeignOwner,
                         final boolean readOnly, final long lockTimeoutNanos) {
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
        return new ArenaOptions(value, fixedAddress, allowForeignOwner, readOnly, lockTimeoutNanos);
    }

    /** @param address a 4 GiB-aligned user-space address, or 0 for none */
    public ArenaOptions withFixedAddress(final long address) {
        if (address != 0 && ((address & (ArenaPointers.WINDOW_SIZE - 1)) != 0
            || address < 0 || address > ArenaPointers.MAX_FIXED_ADDRESS)) {
            throw new IllegalArgumentException("fixed address must be 4 GiB-aligned and in user space: address=0x"
                + Long.toHexString(address) + ", max=0x" + Long.toHexString(ArenaPointers.MAX_FIXED_ADDRESS));
        }
        return new ArenaOptions(replace, address, allowForeignOwner, readOnly, lockTimeoutNanos);
    }

    public ArenaOptions withAllowForeignOwner(final boolean value) {
        return new ArenaOptions(replace, fixedAddress, value, readOnly, lockTimeoutNanos);
    }

    public ArenaOptions withReadOnly(final boolean value) {
        return new ArenaOptions(replace, fixedAddress, allowForeignOwner, value, lockTimeoutNanos);
    }

    /** @param nanos how long allocation and reserve wait for the allocator lock before giving up (0 = one try) */
    public ArenaOptions withLockTimeoutNanos(final long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("lock timeout must not be negative: lockTimeoutNanos=" + nanos);
        }
        return new ArenaOptions(replace, fixedAddress, allowForeignOwner, readOnly, nanos);
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
            + ", lockTimeoutNanos=" + lockTimeoutNanos + "]";
    }
}
