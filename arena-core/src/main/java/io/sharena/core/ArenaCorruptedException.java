package io.sharena.core;

/**
 * Shared metadata was found corrupted while the arena was in use: a page number, count, link, slot
 * or state read from the file is out of its range, or a list read from it does not end. A sibling
 * of {@link ArenaFormatException} (the file failed validation at open) and
 * {@link ArenaFaultException} (a strict access touched a page that is not allocated).
 *
 * <p>A structure with a repair flag of its own (the named roots, the object heap) is marked for
 * repair before this is thrown, and the message then says so; {@code check} reports the damage and
 * {@code check --repair} repairs what it can. A read-only attachment marks nothing, and neither do
 * structures without such a flag (a channel, the store's index). {@link #structure()} names what
 * was found broken (for example {@code "heap free stack"}), {@link #value()} the value read.
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
        this(structure, value, detail, false);
    }

    /**
     * @param structure the shared structure found broken, as a user would name it
     * @param value     the value read that is out of range (or the step count of a walk that did not end)
     * @param detail    {@code name=value} context, without the structure and value
     * @param marked    whether the thrower marked the structure for repair (the message then says so)
     */
    public ArenaCorruptedException(final String structure, final long value, final String detail, final boolean marked) {
        super("arena metadata corrupted: " + structure + ", value=" + value + (detail.isEmpty() ? "" : ", " + detail)
            + (marked ? " (marked for repair)" : ""));
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
