package io.sharena.cli;

import io.sharena.core.layout.Geometry;
import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaPointers;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;
import io.sharena.core.internal.ArenaInternals;
import io.sharena.ipc.NamedRoots;
import io.sharena.ipc.Pages;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReader;
import org.agrona.concurrent.BackoffIdleStrategy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A process of the demo: {@code writer FILE ADDS}, {@code reader FILE ADDS}, {@code victim FILE}, or
 * {@code store-reader STOREFILE KEY...} (reads the server's items through the store API).
 */
public final class DemoWorker {
    private static final int LIST_NODES = 5;
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private DemoWorker() {
    }

    public static void main(final String[] args) throws Exception {
        JavaCommand.endWithParent();
        final String role = args[0];
        if (role.equals("store-reader")) {
            readStore(Path.of(args[1]), java.util.Arrays.copyOfRange(args, 2, args.length));
            return;
        }
        try (SharedArena arena = SharedArena.open(Path.of(args[1]), ArenaOptions.defaults())) {
            say("opened the arena; mapped at 0x%x", ArenaInternals.base(arena));
            switch (role) {
                case "writer" -> write(arena);
                case "reader" -> read(arena);
                default -> victim(arena);
            }
            if (!role.equals("victim")) {
                count(arena, Integer.parseInt(args[2]));
            }
        }
    }

    private static void count(final SharedArena arena, final int adds) {
        final int counter = NamedRoots.of(arena).get(DemoLayout.COUNTER);
        final ArenaView v = arena.strict();
        for (int i = 0; i < adds; i++) {
            v.getAndAddLong(counter, 1);
        }
        say("added 1 to the shared counter %,d times; it now reads %,d", adds, v.getLongVolatile(counter));
    }

    private static void write(final SharedArena arena) {
        final ObjectHeap heap = ObjectHeap.of(arena);
        final ArenaView v = arena.strict();
        int head = ArenaPointers.NULL;
        for (int i = LIST_NODES - 1; i >= 0; i--) {
            final int node = allocateObject(heap, DemoLayout.NODE_SIZE);
            v.putLong(node + DemoLayout.NODE_VALUE, (i + 1) * 10L);
            v.putInt(node + DemoLayout.NODE_NEXT, head);
            head = node;
        }
        NamedRoots.of(arena).put(DemoLayout.LIST, head);
        say("built a list of %d heap nodes, head at pointer %s (address 0x%x here), named \"%s\"", LIST_NODES,
            ArenaPointers.toHex(head), ArenaInternals.address(arena, head), DemoLayout.LIST);
        try (ChannelProducer out = Channel.open(arena, DemoLayout.EVENTS).producer()) {
            final BackoffIdleStrategy idle = new BackoffIdleStrategy();
            final byte[] text = ("hello from the writer, pid " + ProcessHandle.current().pid())
                .getBytes(StandardCharsets.UTF_8);
            out.offer(DemoLayout.TYPE_TEXT, text, 0, text.length, idle, WAIT_NANOS);
            // Zero-copy: fill pages in place, send only their pointer; the receiver frees them.
            final int big = Pages.allocate(arena, DemoLayout.BIG_PAGES, WAIT_NANOS);
            if (big == 0) {
                throw new IllegalStateException("no room for the zero-copy message in 30 s");
            }
            for (int off = 0; off < DemoLayout.BIG_PAGES * Geometry.PAGE_SIZE; off += 8) {
                v.putLong(big + off, off);
            }
            // A full lane (the reader behind) answers 0: wait for room, as offer does, never write at 0.
            final long deadline = System.nanoTime() + WAIT_NANOS;
            int payload;
            idle.reset();
            while ((payload = out.claim(DemoLayout.TYPE_PAGES, 8)) == 0) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new IllegalStateException("the events channel stayed full for 30 s: the reader is not reading");
                }
                idle.idle();
            }
            v.putInt(payload, big);
            v.putInt(payload + 4, DemoLayout.BIG_PAGES);
            out.commit();
            say("sent a text message, then %d KiB zero-copy: only the pointer %s went through the channel",
                DemoLayout.BIG_PAGES * 4, ArenaPointers.toHex(big));
        }
    }

    /** Allocation fails fast while the lock is busy (a repair after a kill, say): the demo retries. */
    private static int allocateObject(final ObjectHeap heap, final int size) {
        final long deadline = System.nanoTime() + WAIT_NANOS;
        int obj;
        while ((obj = heap.allocate(size)) == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no room for a heap object in 30 s: size=" + size);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
        return obj;
    }

    private static void read(final SharedArena arena) throws InterruptedException {
        final NamedRoots roots = NamedRoots.of(arena);
        final long deadline = System.nanoTime() + WAIT_NANOS;
        int head;
        while ((head = roots.get(DemoLayout.LIST)) == ArenaPointers.NULL) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the writer published no list within 30 s");
            }
            Thread.sleep(1);
        }
        final ArenaView v = arena.strict();
        final StringBuilder values = new StringBuilder();
        long sum = 0;
        for (int node = head; node != ArenaPointers.NULL; node = v.getInt(node + DemoLayout.NODE_NEXT)) {
            final long value = v.getLong(node + DemoLayout.NODE_VALUE);
            values.append(values.isEmpty() ? "" : " -> ").append(value).append('@').append(ArenaPointers.toHex(node));
            sum += value;
        }
        say("found \"%s\" and walked it through arena pointers: %s (sum %d)", DemoLayout.LIST, values, sum);
    }

    private static void victim(final SharedArena arena) {
        try (ChannelProducer out = Channel.open(arena, DemoLayout.EVENTS).producer()) {
            final byte[] tick = new byte[8];
            final BackoffIdleStrategy idle = new BackoffIdleStrategy();
            say("sending ticks until someone kills me");
            for (long seq = 0; ; seq++) {
                java.nio.ByteBuffer.wrap(tick).order(java.nio.ByteOrder.nativeOrder()).putLong(0, seq);
                if (out.offer(DemoLayout.TYPE_TICK, tick, 0, 8, idle, WAIT_NANOS) != ChannelProducer.OK) {
                    return;
                }
                if (seq % 1000 == 0) {
                    // Some allocator traffic, so that the kill may land in the middle of it.
                    arena.freePages(arena.allocPages(1 + (int) (seq % 5)), 1 + (int) (seq % 5));
                }
            }
        }
    }

    /** Reads the server's items through the store API: from the mapping, no socket, no copy. */
    private static void readStore(final Path file, final String[] keys) throws java.io.IOException {
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults())) {
            say("opened the server's store file beside it; reading through the store API, no network");
            final StoreReader r = store.reader();
            for (final String key : keys) {
                final byte[] k = key.getBytes(StandardCharsets.US_ASCII);
                if (!r.get(k)) {
                    throw new IllegalStateException("the server's item is not in the store: key=" + key);
                }
                final byte[] v = new byte[r.valueLength()];
                if (!r.copyValue(v, 0)) {
                    throw new IllegalStateException("the item changed while read: key=" + key);
                }
                say("%s = \"%s\" (flags %d, cas %d), read in place from shared memory", key,
                    new String(v, StandardCharsets.US_ASCII), r.flags(), r.cas());
            }
            final byte[] k = keys[0].getBytes(StandardCharsets.US_ASCII);
            final int n = 200_000;
            long sum = 0;
            final long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                if (r.get(k)) {
                    sum += r.value().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0); // read in place
                }
            }
            final long ns = System.nanoTime() - t0;
            say("the same get through the store API: %.0f ns per get (%,d gets, checksum %d)", (double) ns / n, n, sum);
        }
    }

    private static void say(final String format, final Object... args) {
        System.out.println(String.format(format, args));
    }
}
