package io.sharena.ipc.store;

import io.sharena.core.crash.CrashPoint;

/**
 * The step boundaries of the tools' repair of a store ({@code check --repair}: {@link StoreRepair},
 * {@link StoreRelink}) and of a stripe's recount, which the repair ends with and a lock taken over
 * from a dead holder starts with. Each step is one store that readers see whole; a repair killed
 * between two of them leaves what the next repair finishes (the crash argument is
 * {@link StoreRepair}'s).
 */
public enum StoreRepairPoint implements CrashPoint {
    /** A record's SIZE set back to its header's key and value during the walk ({@link StoreRepair}; ring lock held). */
    SIZE_RESTORED,
    /** Ring positions mended ({@link StoreRepair#mendPositions}): one of TAIL and HEAD written, the other not yet (ring lock held). */
    POSITIONS_TAIL_SET,
    /** A stripe whose counts hold more items than its chains marked RELINK, before any cut or link there. */
    RELINK_MARKED,
    /** One chain cut at its first broken link (its stripe's lock held); other chains may follow. */
    CHAIN_CUT,
    /** An item no chain reached: its NEXT set to its bucket's chain, the bucket word not yet at it. */
    RELINK_NEXT_SET,
    /** That item linked at the head of its bucket's chain (its stripe's lock held); others may follow. */
    ITEM_RELINKED,
    /** A marked stripe's relink done and its RELINK mark cleared; the recount of every stripe follows. */
    RELINK_CLEARED,
    /** A PAD over a stretch that did not parse: its position and size written, its state not yet. */
    PAD_STATE_PENDING,
    /** One PAD record written; more of the stretch, or other stretches, may follow. */
    PAD_WRITTEN,
    /** A stripe's recount: its item count written, its byte count not yet (its lock held). */
    RECOUNT_ITEMS_WRITTEN,
    /** One of the store header's fixed fields set back to the geometry the others agree on ({@link StoreRepair#mendGeometry}). */
    GEOMETRY_FIELD_SET
}
