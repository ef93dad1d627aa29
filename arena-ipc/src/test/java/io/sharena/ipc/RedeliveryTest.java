package io.sharena.ipc;

import io.sharena.core.ArenaOptions;
import io.sharena.core.Capacity;
import io.sharena.core.SharedArena;
import io.sharena.core.check.ArenaChecker;
import io.sharena.ipc.channel.Channel;
import io.sharena.ipc.channel.ChannelConsumer;
import io.sharena.ipc.channel.ChannelProducer;
import io.sharena.ipc.heap.ObjectHeap;
import io.sharena.testing.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a redelivered message may do: free again what it already freed, and a handler that throws. */
class RedeliveryTest {
    @TempDir
    Path dir;
    SharedArena arena;
    ObjectHeap heap;

    @BeforeEach
    void open() throws IOException {
        arena = SharedArena.create(dir.resolve("d.arena"), Capacity.parse("16M"), ArenaOptions.defaults());
        heap = ObjectHeap.of(arena);
    }

    @AfterEach
    void close() throws IOException {
        assertEquals(List.of(), heap.check());
        // A killed child's registry slot stays until a recovery reclaims it: not a violation here.
        assertEquals(List.of(), ArenaChecker.check(arena).stream()
            .filter(v -> !v.startsWith("dead process still registered")).toList());
        arena.close();
    }

    @Test
    void freeingASmallObjectTwiceIsANoOpAndNeverHandsItOutTwice() {
        final int a = heap.allocate(16);
        heap.free(a);
        heap.free(a);
        final int b = heap.allocate(16);
        final int c = heap.allocate(16);
        assertNotEquals(b, c, "one object handed out twice");
        assertEquals(1, heap.doubleFrees());
        heap.free(b);
        heap.free(c);
    }

    @Test
    void freeingALargeObjectTwiceIsANoOp() {
        final int a = heap.allocate(10_000);
        heap.free(a);
        heap.free(a);
        final int b = heap.allocate(10_000);
        final int c = heap.allocate(10_000);
        assertNotEquals(b, c, "one object handed out twice");
        heap.free(b);
        heap.free(c);
    }

    @Test
    void aConsumerKilledAfterFreeingBeforeHeadMovesLeavesAMessageWhoseSecondFreeIsANoOp() throws Exception {
        final Channel channel = Channel.create(arena, "z", 1, 1 << 14, 64);
        final int object = heap.allocate(16);
        try (ChannelProducer producer = channel.producer()) {
            final byte[] msg = new byte[4];
            java.nio.ByteBuffer.wrap(msg).order(java.nio.ByteOrder.nativeOrder()).putInt(0, object);
            producer.offer(1, msg, 0, 4);
            try (ChildJvm child = IpcChild.start(List.of("-Dsharena.crashpoints=true",
                "-Dsharena.crashpoint=ChannelPoint.DELIVERED", "-Dsharena.crashpoint.action=kill"),
                "consume", dir.resolve("d.arena").toString(), "z")) {
                assertEquals(137, child.waitFor(60), "killed at DELIVERED: " + child.output());
                assertTrue(child.output().contains("crashpoint: ChannelPoint.DELIVERED kill"), child.output().toString());
            }
            assertEquals(0, heap.doubleFrees());
            final List<Integer> delivered = new ArrayList<>();
            try (ChannelConsumer successor = channel.consumer()) {
                assertEquals(1, successor.poll((view, type, ptr, length) -> {
                    assertTrue(successor.redelivered(), "the successor is told the message was in hand");
                    delivered.add(view.getInt(ptr));
                    heap.free(view.getInt(ptr)); // freed already by the dead consumer
                }, 16), "the message in hand is delivered again: at-least-once");
                assertEquals(0, successor.poll((view, type, ptr, length) -> delivered.add(-1), 16));
                producer.offer(2, new byte[4], 0, 4);
                assertEquals(1, successor.poll((view, type, ptr, length) -> assertFalse(successor.redelivered()), 16));
            }
            assertEquals(List.of(object), delivered);
            assertEquals(1, heap.doubleFrees(), "the second free was seen and ignored");
            final int a = heap.allocate(16);
            final int b = heap.allocate(16);
            assertNotEquals(a, b, "never handed out twice");
            heap.free(a);
            heap.free(b);
        }
    }

    @Test
    void aHandlerThatThrowsDoesNotGetItsBatchAgain() {
        final Channel channel = Channel.create(arena, "t", 1, 1 << 14, 64);
        try (ChannelConsumer consumer = channel.consumer(); ChannelProducer producer = channel.producer()) {
            for (int i = 0; i < 3; i++) {
                producer.offer(i, new byte[8], 0, 8);
            }
            final List<Integer> seen = new ArrayList<>();
            assertThrows(IllegalStateException.class, () -> consumer.poll((view, type, ptr, length) -> {
                assertFalse(consumer.redelivered());
                seen.add(type);
                if (type == 1) {
                    throw new IllegalStateException("handler failed");
                }
            }, 16));
            assertEquals(List.of(0, 1), seen);
            consumer.poll((view, type, ptr, length) -> seen.add(type), 16);
            assertEquals(List.of(0, 1, 2), seen, "neither the delivered message nor the one that threw comes again");
        }
    }
}
