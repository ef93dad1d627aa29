package io.sharena.core;

/** What {@link SharedArena#reservePages} came to. */
public enum ReserveResult {
    /** The pages are RESERVED (or {@code n} was 0). */
    OK,
    /** Misaligned pointer, range outside the arena, or touching the header or metadata. */
    INVALID,
    /** A page of the range is not FREE, or the allocator lock could not be had in time. */
    BUSY
}
