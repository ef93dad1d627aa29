package io.sharena.server;

import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A value of at least {@value Connection#IN_PLACE_MIN} bytes goes from the store's mapping to the
 * socket and is validated after the write. Here the item is reclaimed in between (the server's
 * test pause overwrites the store's ring until the item's space is reused): the client must see
 * the connection closed, never a complete reply whose bytes may be another item's.
 */
class InPlaceReclaimTest {
    @ParameterizedTest(name = "{2}: value {0} B, receive window {1} B")
    @CsvSource({
        "40000, 0, get",        // the socket takes the whole value: only the CR LF is held back
        "700000, 65536, get",   // the socket fills: the rest is copied from reused space, then refused
        "40000, 0, mg",
        "700000, 65536, mg",
        "40000, 0, bin",        // a binary reply ends with its value: its last byte is what is held back
        "700000, 65536, bin",
    })
    void anItemReclaimedWhileItIsSentClosesTheConnectionBeforeTheReplyIsComplete(final int length, final int window,
                                                                                final String command) throws Exception {
        final boolean meta = command.equals("mg");
        final boolean binary = command.equals("bin");
        final byte[] request = binary ? binaryGet("big") : Wire.ascii(meta ? "mg big f s v\r\n" : "get big\r\n");
        final byte[] trailer = binary ? new byte[0] : Wire.ascii(meta ? "\r\n" : "\r\nEND\r\n");
        final SplittableRandom random = new SplittableRandom(length);
        final byte[] value = new byte[length];
        random.nextBytes(value);
        final byte[] filler = new byte[64 << 10];
        Arrays.fill(filler, (byte) 'z');
        final StoreOptions storeOptions = StoreOptions.defaults().withMemoryLimit(4 << 20).withMaxItemSize(1 << 20);
        try (TestServer server = new TestServer(ServerOptions.defaults().withThreads(1), storeOptions)) {
            assertEquals(StoreResult.STORED, server.store.set(Wire.ascii("big"), value, 3, 0));
            final byte[] header = binary ? binaryHit(length, 3) : Wire.ascii(meta ? "VA " + length + " f3 s" + length + "\r\n"
                : "VALUE big 3 " + length + "\r\n");

            // Control: with no pause the reply is whole.
            try (Wire w = new Wire(server.port())) {
                w.send(request);
                assertArrayEquals(header, casMasked(w.in.readNBytes(header.length), binary));
                assertArrayEquals(value, w.in.readNBytes(length));
                assertArrayEquals(trailer, w.in.readNBytes(trailer.length));
            }

            final StoreReader witness = server.store.reader();
            assertTrue(witness.get(Wire.ascii("big")));
            final AtomicBoolean armed = new AtomicBoolean(true);
            final AtomicBoolean reclaimed = new AtomicBoolean();
            final AtomicInteger fillers = new AtomicInteger();
            server.server.inPlacePause = () -> {
                if (!armed.compareAndSet(true, false)) {
                    return;
                }
                // Writes other keys until the ring has reused the item's space.
                for (int i = 0; i < 1000 && witness.validate(); i++) {
                    server.store.set(Wire.ascii("filler" + i), filler, 0, 0);
                    fillers.incrementAndGet();
                }
                reclaimed.set(!witness.validate());
            };
            try (Wire w = new Wire(server.port())) {
                if (window > 0) {
                    w.socket.setReceiveBufferSize(window);
                }
                w.send(request);
                if (window > 0) {
                    Thread.sleep(200); // read nothing for a while: the socket fills mid-value
                }
                final byte[] got = untilClosed(w);
                assertFalse(armed.get(), "the pause ran");
                assertTrue(reclaimed.get(), "the item's space was reused after " + fillers.get() + " sets");
                assertTrue(got.length >= header.length, "the header went out: " + got.length + " bytes");
                assertArrayEquals(header, casMasked(Arrays.copyOf(got, header.length), binary));
                // The value's last byte, and the CR LF after it, are written only after validation: never here.
                assertTrue(got.length < header.length + length,
                    "no complete reply: got " + got.length + " bytes, a whole one is "
                        + (header.length + length + trailer.length));
            } finally {
                server.server.inPlacePause = null;
            }

            // The server goes on: other connections are served as before.
            try (Wire w = new Wire(server.port())) {
                assertEquals("STORED\r\nVALUE k 0 2\r\nok\r\nEND\r\n", w.call("set k 0 0 2\r\nok\r\nget k\r\n"));
            }
        }
    }

    /** @return a binary get request of {@code key} */
    private static byte[] binaryGet(final String key) {
        final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(24 + key.length());
        b.put((byte) 0x80).put((byte) 0x00).putShort((short) key.length()).put((byte) 0).put((byte) 0).putShort((short) 0)
            .putInt(key.length()).putInt(0).putLong(0).put(Wire.ascii(key));
        return b.array();
    }

    /** @return the header and flags of a binary get's hit of {@code length} bytes, its CAS zero */
    private static byte[] binaryHit(final int length, final int flags) {
        final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(28);
        b.put((byte) 0x81).put((byte) 0x00).putShort((short) 0).put((byte) 4).put((byte) 0).putShort((short) 0)
            .putInt(4 + length).putInt(0).putLong(0).putInt(flags);
        return b.array();
    }

    /** @return {@code header} with a binary reply's CAS bytes set to zero (they differ from run to run) */
    private static byte[] casMasked(final byte[] header, final boolean binary) {
        if (binary && header.length >= 24) {
            Arrays.fill(header, 16, 24, (byte) 0);
        }
        return header;
    }

    /** @return every byte until the server closes (or resets) the connection */
    private static byte[] untilClosed(final Wire w) throws IOException {
        final ByteArrayOutputStream all = new ByteArrayOutputStream();
        final byte[] buf = new byte[65536];
        while (true) {
            final int n;
            try {
                n = w.in.read(buf);
            } catch (final SocketException reset) {
                return all.toByteArray();
            }
            if (n < 0) {
                return all.toByteArray();
            }
            all.write(buf, 0, n);
        }
    }
}
