/**
 * The object heap: small objects in size-classed slab pages, large ones in page runs, shared by
 * every process through lock-free free stacks. Design and overhead in
 * {@link io.sharena.ipc.heap.ObjectHeap}.
 *
 * <p><b>Crash model</b> (points in {@link io.sharena.ipc.heap.HeapPoint}): each publishing step is
 * one CAS or one atomic bit change. The slab page's in-use bitmap is the truth: allocate sets an
 * object's bit after popping it, free clears it before pushing it, so a free of a free object is a
 * detected no-op and a message redelivered after a consumer's death can never put an object on a
 * free stack twice. A free writes the object's freed mark (after its link: its pointer mixed with
 * the page key) before it clears the bit, and every push writes it; an allocation's zeroing
 * clears it. A kill between the bit and the stack leaves an object marked free that is on no
 * stack: check reports it, repair (which rebuilds every stack from the bitmaps) reclaims it, since
 * it carries the mark; a clear bit without the mark (or a local heap's kept mark, or a refill's
 * page) was a stray write into a live object's bitmap, and the repair sets it again. A
 * trim retires a page (magic) before giving it back, so a kill in between leaves a page repair
 * gives back. A repair empties every stack before it relinks the free objects in place, so a
 * repair killed halfway leaves objects on no stack (the next repair reclaims them), never an old
 * head leading into a half-built chain. The metadata page is made under the named roots in one
 * crash-safe step. A refill's slab page goes into a refill slot of its class, owned by the
 * refilling thread, until its objects are pushed: the next refill of the class or a repair
 * settles the slot of a refill that died (gives an unformatted page back, leaves a formatted one to
 * the heap; a page that is neither, zeros and carve's header fields, is someone's that a stray write
 * named: nothing is freed, the heap is marked for repair), and a trim keeps the pages slots name. A large object's pages are handed to its caller
 * as pages are: killed before anything records them, they stay allocated to nobody (the page
 * allocator's rule for what a dead process had allocated). A {@link io.sharena.ipc.heap.LocalHeap}
 * (one thread's) keeps up to 32 freed objects per class off the stacks: each free marks the object
 * and clears the bit first, as a shared free does, then writes the process's owner token, masked
 * with the page key, into the object; a full class links its older half (leaving out an object
 * whose kept mark a stray write changed) and pushes it with one CAS. Killed, a
 * process leaves what it kept marked with a dead token: check reports it, repair reclaims it. A
 * live process's kept objects are neither lost to check nor relinked by repair.
 *
 * <p><b>Distrust</b>: every pointer read from a free stack is checked to be an object start of its
 * class, in a slab page of this heap that the page allocator has ALLOCATED (a page a trim gave back
 * keeps its header until its storage is punched), before it is read through; a stack walk stops at
 * a revisit. A page is this heap's only if its header's magic, metadata pointer and page
 * key (random, drawn when the heap is made) all say so: other owners' pages hold bytes from
 * outside (messages, stored values, a user's own data) that cannot forge the key. Corruption throws {@link io.sharena.core.ArenaCorruptedException} and marks
 * the heap for repair. No FFM calls.
 */
package io.sharena.ipc.heap;
