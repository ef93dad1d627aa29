package io.sharena.server;

import io.sharena.ipc.store.StoreResult;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Data blocks far larger than one input buffer, in uneven pieces, read straight into their values;
 * large values sent from the store's mapping, in part when the socket is full; the arrays a storage
 * command borrows from its worker, shared by connections whose data blocks interleave.
 */
class LargeValueTest {
    @Test
    void aLargeValueInUnevenPiecesIsStoredWholeAndTheCommandsAfterItRun() throws Exception {
        final SplittableRandom random = new SplittableRandom(11);
        final byte[] value = new byte[900 << 10];
        random.nextBytes(value);
        try (TestServer server = TestServer.start(); Wire w = new Wire(server.port())) {
            w.send(Wire.ascii("set big 7 0 " + value.length + "\r\n"));
            int at = 0;
            while (at < value.length) {
                final int n = Math.min(value.length - at, 1 + random.nextInt(300_000));
                w.out.write(value, at, n);
                w.out.flush();
                at += n;
                Thread.sleep(1);
            }
            // The tail and the next command in one write.
            w.send(Wire.ascii("\r\nget big\r\n"));
            final byte[] header = Wire.ascii("STORED\r\nVALUE big 7 " + value.length + "\r\n");
            final byte[] got = w.in.readNBytes(header.length + value.length + 7);
            assertArrayEquals(header, Arrays.copyOf(got, header.length));
            assertArrayEquals(value, Arrays.copyOfRange(got, header.length, header.length + value.length));
            assertEquals("\r\nEND\r\n", new String(got, header.length + value.length, 7, StandardCharsets.ISO_8859_1));
            assertEquals("STORED\r\nVALUE small 0 2\r\nok\r\nEND\r\n", w.call("set small 0 0 2\r\nok\r\nget small\r\n"));
        }
    }

    @Test
    void largeValuesForAClientThatReadsLateArriveWholeAndInOrder() throws Exception {
        final SplittableRandom random = new SplittableRandom(12);
        final int keys = 6;
        final byte[][] values = new byte[keys][];
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire w = new Wire(server.port())) {
            final StringBuilder get = new StringBuilder("get");
            for (int i = 0; i < keys; i++) {
                values[i] = new byte[(100 << 10) + random.nextInt(300 << 10)];
                random.nextBytes(values[i]);
                assertEquals(StoreResult.STORED, server.store.set(Wire.ascii("k" + i), values[i], i, 0));
                get.append(" k").append(i);
            }
            // A small receive window and no reading for a while: the first value fills the socket,
            // the rest of it and the other values queue as copies; a short reply before keeps
            // queued output in front of the first in-place send on the second round.
            w.socket.setReceiveBufferSize(64 << 10);
            for (int round = 0; round < 2; round++) {
                w.send(Wire.ascii((round == 1 ? "version\r\n" : "") + get + "\r\n"));
                Thread.sleep(300);
                if (round == 1) {
                    assertEquals("VERSION " + MemcachedServer.VERSION + "\r\n",
                        new String(w.in.readNBytes(10 + MemcachedServer.VERSION.length()), StandardCharsets.ISO_8859_1));
                }
                for (int i = 0; i < keys; i++) {
                    final byte[] header = Wire.ascii("VALUE k" + i + " " + i + " " + values[i].length + "\r\n");
                    assertArrayEquals(header, w.in.readNBytes(header.length), "round " + round + " key " + i);
                    assertArrayEquals(values[i], w.in.readNBytes(values[i].length), "round " + round + " key " + i);
                    assertEquals("\r\n", new String(w.in.readNBytes(2), StandardCharsets.ISO_8859_1));
                }
                assertEquals("END\r\n", new String(w.in.readNBytes(5), StandardCharsets.ISO_8859_1));
            }
        }
    }

    @Test
    void storageCommandsWhoseDataBlocksInterleaveKeepTheirOwnBytes() throws Exception {
        // One worker: both connections borrow from the same spare arrays (same key and value lengths).
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1));
             Wire a = new Wire(server.port()); Wire b = new Wire(server.port())) {
            for (final int len : new int[] {100, 5000}) {
                final byte[] va = new byte[len];
                final byte[] vb = new byte[len];
                Arrays.fill(va, (byte) 'a');
                Arrays.fill(vb, (byte) 'b');
                a.send(Wire.ascii("set ka 0 0 " + len + "\r\n"));
                a.send(Arrays.copyOf(va, len / 2));
                Thread.sleep(50);
                assertEquals("STORED\r\n", b.call(concat(Wire.ascii("set kb 0 0 " + len + "\r\n"), vb, Wire.ascii("\r\n"))));
                assertEquals("STORED\r\n", a.call(concat(Arrays.copyOfRange(va, len / 2, len), Wire.ascii("\r\n"))));
                assertArrayEquals(va, server.store.get(Wire.ascii("ka")), "len " + len);
                assertArrayEquals(vb, server.store.get(Wire.ascii("kb")), "len " + len);
                // and the next sets of these lengths reuse the arrays given back
                assertEquals("STORED\r\nSTORED\r\n", b.call(concat(Wire.ascii("set ka 0 0 " + len + "\r\n"), vb,
                    Wire.ascii("\r\nset kb 0 0 " + len + "\r\n"), va, Wire.ascii("\r\n"))));
                assertArrayEquals(vb, server.store.get(Wire.ascii("ka")), "len " + len);
                assertArrayEquals(va, server.store.get(Wire.ascii("kb")), "len " + len);
            }
        }
    }

    private static byte[] concat(final byte[]... parts) {
        int n = 0;
        for (final byte[] p : parts) {
            n += p.length;
        }
        final byte[] all = new byte[n];
        int at = 0;
        for (final byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }
}
