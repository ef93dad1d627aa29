/**
 * A memcached-compatible server on the shared store: memcached's text protocol and its meta
 * protocol, answered byte for byte as memcached 1.6 answers them (see docs/server.md for what
 * differs and why).
 *
 * <h2>Threads</h2>
 * One acceptor thread hands each new connection to one of N selector threads ({@link
 * io.sharena.server.Worker}), which owns it from then on: a connection's buffers and state are
 * touched by one thread only, and the store is the only shared state (it is safe for any number of
 * threads and processes). A clock thread, as memcached's clock event, moves the store's coarse
 * clock once a second and wakes each worker for its sweep of stalled connections, so that an event
 * loop waits with no timeout and reads no clock per wake-up or per command (only while one of its
 * connections holds a reservation for a value still arriving does it wake every millisecond, to
 * end the hold after 10 ms without a byte, or 100 ms in all). Nothing here blocks but a store
 * call that waits for a lock held by a stopped process (bounded by the store's lock timeout).
 * An {@code OutOfMemoryError} closes the connection it was met for, wherever a worker meets it,
 * and the acceptor and the clock go on after one; a worker that dies all the same is given no
 * more connections, and {@code MemcachedServer.awaitClose} fails once none is left.
 *
 * <p>The listening socket ({@link io.sharena.server.Listener}) can be bound before the store is
 * opened, so that a caller that cannot listen creates no store file; checking whether a UNIX
 * socket file is still a live server's never blocks.
 *
 * <p>Turns: a connection runs at most {@code requestsPerEvent} commands (memcached's {@code -R},
 * 20) before its worker serves the others; it then waits in the worker's list of yielded
 * connections, which the next wake-up (a select that does not wait) resumes, since no readiness
 * event comes for input already read. A long command takes 50 keys per command of the turn: the
 * keys of a multi-key get, the keys (or empty buckets) of a {@code stats cachedump} or
 * {@code lru_crawler metadump}, which are written by the connection's worker, a bucket of the
 * index at a time, as its output drains; it then yields likewise and goes on in its next turn. A
 * {@code lru_crawler crawl} runs on a thread of its own.
 *
 * <h2>Bounds</h2>
 * Every connection's memory is bounded (a 16 KiB read buffer, a value of at most the store's max
 * item size, held as it arrives, get lines up to a limit, queued replies up to a high-water mark
 * plus one value, no buffer once idle), and so is what all of them hold beyond their first
 * buffers; the number of connections is bounded; a client that does not read its replies is
 * first not read any more, then closed; one that stops halfway through a command is closed after
 * the write timeout; with an idle timeout, one that sends no command for that long is closed.
 * {@code stats detail} counts 4,096 key prefixes at most. See {@link io.sharena.server.ServerOptions}.
 *
 * <h2>Crash model</h2>
 * The server keeps no cache state: a server killed at any instant leaves the store as a killed
 * store user does (every key holds its old or its new item), and any other server on the same
 * file, or the same one restarted, serves the same items.
 *
 * <h2>FFM</h2>
 * No downcalls and no restricted calls: values are copied out of the store's mapped segment with
 * {@link java.lang.foreign.MemorySegment#copy}, and a large one is written to the socket from a
 * {@link java.nio.ByteBuffer} view of that segment ({@code asByteBuffer}), then validated. A
 * large value of a text storage command is read from the socket into a view of its item,
 * reserved in the store ({@code SharedStore.reserve}), then committed.
 *
 * <h2>Allocation</h2>
 * A text-protocol get or storage command of a small value, and a meta command on a plain (not
 * base64) key, allocate nothing: the worker lends key and value arrays (one per length, given back
 * when the store call returns), values are copied from the mapping at their offset (no slice),
 * numbers parse and print without objects, and socket I/O goes through one direct buffer per
 * worker. AllocationTest checks it with the JVM's per-thread allocation counter.
 *
 * <h2>Test hooks</h2>
 * {@code MemcachedServer.inPlacePause} (package-private, null in service) runs between a large
 * value's send from the mapping and its validation, so that a test can reclaim the item there;
 * {@code Worker.adoptPause} runs as a worker registers a new connection, so that a test can make
 * that step fail.
 */
package io.sharena.server;
