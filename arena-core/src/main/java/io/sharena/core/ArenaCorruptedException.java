package io.sharena.core;

/**
 * Shared metadata was found corrupted while the arena was in use: a page number, count, link, slot
 * or state read from the file is out of its range, or a list read from it does not end. A sibling
 * of {@link ArenaFormatException} (the file failed validation at open) and
 * {@link ArenaFaultException} (a strict access touched a page that is not allocated).
 *
 * <p>Whoever throws it has first marked the arena for repair, so the next lock holder rebuilds
 * the allocator's structures from the page states; {@code check --repair} does the same from the
 * command line. {@link #structure()} names what was found broken (for example
 * {@code "pending list"}), {@link #value()} the value read.
 */
public final class ArenaCorruptedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String structure;
    private final long value;

    /**
     * @param structure the shared structure found broken, as a user would name it
     * @param value     the value read that is out of range (or the step count of a walk that did not end)
     * @param detail    {@code name=value} context, without the structure and value
     */
    public ArenaCorruptedException(final String structure, final long value, final String detail) {
        super("arena metadata corrupted: " + structure + ", value=" + value + (detail.isEmpty() ? "" : ", " + detail)
            + " (marked for repair)");
        this.structure = structure;
        this.value = value;
    }

    /** @return the shared structure found broken */
    public String structure() {
        return structure;
    }

    /** @return the offending value read from shared memory */
    public long value() {
        return value;
    }
}
