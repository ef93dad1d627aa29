package io.sharena.cli;

import io.sharena.core.ArenaOptions;
import io.sharena.core.ArenaPointers;
import io.sharena.core.ArenaView;
import io.sharena.core.SharedArena;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A process of the demo: {@code writer FILE COUNT} or {@code reader FILE COUNT}. */
public final class DemoWorker {
    private static final int LIST_NODES = 5;
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private DemoWorker() {
    }

    public static void main(final String[] args) throws Exception {
        final String role = args[0];
        final int adds = Integer.parseInt(args[2]);
        try (SharedArena arena = SharedArena.open(Path.of(args[1]), ArenaOptions.defaults())) {
            final int root = (int) (arena.firstUserPage() * arena.pageSize());
            say("opened the arena; mapped at %s", hex(arena.base()));
            if (role.equals("writer")) {
                write(arena, root);
            } else {
                read(arena, root);
            }
            final ArenaView v = arena.raw();
            for (int i = 0; i < adds; i++) {
                v.getAndAddLong(root + DemoLayout.COUNTER, 1);
            }
            say("added 1 to the shared counter %,d times; it now reads %,d", adds,
                v.getLongVolatile(root + DemoLayout.COUNTER));
        }
    }

    private static void write(final SharedArena arena, final int root) {
        final ArenaView v = arena.strict();
        final int message = arena.allocPages(1);
        final int nodes = arena.allocPages(1);
        if (message == 0 || nodes == 0) {
            throw new IllegalStateException("the arena has no free page for the demo");
        }
        final byte[] text = ("hello from the writer, pid " + ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8);
        v.putInt(message, text.length);
        v.putBytes(message + 4, text, 0, text.length);
        int head = ArenaPointers.NULL;
        for (int i = LIST_NODES - 1; i >= 0; i--) {
            final int node = nodes + i * DemoLayout.NODE_SIZE;
            v.putLong(node + DemoLayout.NODE_VALUE, (i + 1) * 10L);
            v.putInt(node + DemoLayout.NODE_NEXT, head);
            head = node;
        }
        // Release stores: the message and every node above are visible to whoever acquires these.
        v.putIntRelease(root + DemoLayout.MESSAGE_PTR, message);
        v.putIntRelease(root + DemoLayout.LIST_HEAD, head);
        say("allocated 2 pages; wrote message \"%s\" at pointer %s (address %s here)", new String(text, StandardCharsets.UTF_8),
            ArenaPointers.toHex(message), hex(arena.address(message)));
        say("wrote a list of %d nodes, head at pointer %s (address %s here)", LIST_NODES,
            ArenaPointers.toHex(head), hex(arena.address(head)));
    }

    private static void read(final SharedArena arena, final int root) throws InterruptedException {
        final ArenaView v = arena.strict();
        final long deadline = System.nanoTime() + WAIT_NANOS;
        int head;
        while ((head = v.getIntAcquire(root + DemoLayout.LIST_HEAD)) == ArenaPointers.NULL) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("writer published nothing within 30 s");
            }
            Thread.sleep(1);
        }
        final int message = v.getIntAcquire(root + DemoLayout.MESSAGE_PTR);
        final byte[] text = new byte[v.getInt(message)];
        v.getBytes(message + 4, text, 0, text.length);
        say("read message \"%s\" at pointer %s (address %s here)", new String(text, StandardCharsets.UTF_8),
            ArenaPointers.toHex(message), hex(arena.address(message)));
        final StringBuilder values = new StringBuilder();
        long sum = 0;
        for (int node = head; node != ArenaPointers.NULL; node = v.getInt(node + DemoLayout.NODE_NEXT)) {
            final long value = v.getLong(node + DemoLayout.NODE_VALUE);
            values.append(values.isEmpty() ? "" : " -> ").append(value).append('@').append(ArenaPointers.toHex(node));
            sum += value;
        }
        say("walked the list through arena pointers: %s (sum %d)", values, sum);
        v.putIntRelease(root + DemoLayout.READER_DONE, 1);
    }

    private static String hex(final long address) {
        return "0x" + Long.toHexString(address);
    }

    private static void say(final String format, final Object... args) {
        System.out.println(String.format(format, args));
    }
}
