package io.sharena.server;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Data blocks far larger than one input buffer, in uneven pieces, read straight into their values. */
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
}
