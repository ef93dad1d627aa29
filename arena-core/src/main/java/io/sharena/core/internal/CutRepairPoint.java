package io.sharena.core.internal;

import io.sharena.core.crash.CrashPoint;

/**
 * The step boundaries of {@code check --repair} on a file cut short, which the file's header records
 * ({@link io.sharena.core.layout.HeaderLayout#CUT_SIZE}) from before the size is restored until the
 * structures the cut reached are repaired. A repair killed at any of them leaves the next one the
 * cut's record: it drops what the cut reached, or formats an empty store over a header it took.
 */
public enum CutRepairPoint implements CrashPoint {
    /** The cut recorded in the header page; the file's size not yet restored. */
    CUT_RECORDED,
    /** The size restored (the lost range reads zeros); nothing repaired yet. */
    SIZE_RESTORED,
    /** Formatting a store over the zeros of a header the cut took: its fields written, its magic not yet. */
    FORMAT_FIELDS_WRITTEN,
    /** Every store the cut reached repaired: the record's size word cleared, its check word not yet. */
    CUT_SIZE_CLEARED
}
