package io.sharena.ipc.heap;

import io.sharena.core.crash.CrashPoint;

/** The step boundaries of the object heap's multi-step changes (see {@link ObjectHeap}'s crash model). */
public enum HeapPoint implements CrashPoint {
    /** The metadata page is allocated into its root and formatted; the roots' creation not yet finished. */
    META_ALLOCATED,
    /** An object is popped off its class's free stack; its in-use bit not yet set. */
    ALLOC_POPPED,
    /** A refill owns one of its class's refill slots (taken over from a dead refill, maybe naming its page); nothing allocated yet. */
    REFILL_CLAIMED,
    /** A refill's page is allocated into its slot, not yet formatted. */
    REFILL_ALLOCATED,
    /** A refill's page has its header fields and its objects' links and freed marks; its magic not yet written. */
    REFILL_LINKED,
    /** A refill's page is formatted (header, links, then the magic), its objects not yet pushed. */
    REFILL_FORMATTED,
    /** A refill's objects are pushed; its slot still names the page. */
    REFILL_PUSHED,
    /** A refill's slot no longer names the page; the slot not yet released. */
    REFILL_CLEARED,
    /** A large object's pages are allocated, its header not yet written. */
    LARGE_ALLOCATED,
    /** A free wrote its object's freed mark; the object's in-use bit not yet cleared. */
    FREE_MARKED,
    /** A freed object's in-use bit is cleared, the object not yet pushed. */
    FREE_CLEARED,
    /** A freed object is kept by a local heap: its bit cleared, its mark written, on no stack. */
    LOCAL_KEPT,
    /** A local heap's allocation wrote its kept object's freed mark back; the in-use bit not yet set. */
    LOCAL_TAKING,
    /** A local heap's allocation set its kept object's in-use bit; the object not yet zeroed. */
    LOCAL_TAKEN,
    /** A local heap's objects given back are linked into a chain, not yet pushed. */
    LOCAL_LINKED,
    /** A freed object (or a local heap's chain of them) is pushed; a trim may follow. */
    FREE_PUSHED,
    /** A large object is marked freed, its pages not yet given back. */
    LARGE_FREEING,
    /** A trim holds its class's whole free stack, nothing pushed back yet. */
    TRIM_TAKEN,
    /** A trim pushed back what it keeps; its empty pages not yet retired. */
    TRIM_PUSHED_BACK,
    /** A trim retired a page, not yet given back to the page allocator. */
    TRIM_RETIRED,
    /** A repair is about to rebuild a class's free stack. */
    REPAIR_CLASS
}
