/**
 * The object heap: small objects in size-classed slab pages, large ones in page runs, shared by
 * every process through lock-free free stacks. Design, overhead and crash model in
 * {@link io.sharena.ipc.heap.ObjectHeap}. No FFM calls.
 */
package io.sharena.ipc.heap;
