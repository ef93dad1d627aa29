package io.sharena.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A raw client connection for protocol tests: bytes out, bytes back. */
final class Wire implements AutoCloseable {
    static final byte[] MN = "mn\r\n".getBytes(StandardCharsets.US_ASCII);

    final Socket socket;
    final InputStream in;
    final OutputStream out;

    Wire(final int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    static byte[] ascii(final String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String text(final byte[] b, final int len) {
        return new String(b, 0, len, StandardCharsets.ISO_8859_1);
    }

    void send(final byte[] b) throws IOException {
        out.write(b);
        out.flush();
    }

    /** Sends the request and "mn", and returns everything before the MN reply. */
    String call(final byte[] request) throws IOException {
        final byte[] both = new byte[request.length + MN.length];
        System.arraycopy(request, 0, both, 0, request.length);
        System.arraycopy(MN, 0, both, request.length, MN.length);
        send(both);
        return untilMn();
    }

    String call(final String request) throws IOException {
        return call(ascii(request));
    }

    private final StringBuilder pending = new StringBuilder();

    /** @return everything before the next "MN" line (what follows it is kept for the next call) */
    String untilMn() throws IOException {
        final byte[] buf = new byte[65536];
        while (true) {
            final int at = pending.indexOf("MN\r\n");
            if (at == 0 || at > 0 && pending.charAt(at - 1) == '\n') {
                final String before = pending.substring(0, at);
                pending.delete(0, at + 4);
                return before;
            }
            final int n;
            try {
                n = in.read(buf);
            } catch (final SocketTimeoutException e) {
                throw new IOException("no MN within 10 s; got: " + shorten(pending), e);
            }
            if (n < 0) {
                final String all = pending + "<closed>";
                pending.setLength(0);
                return all;
            }
            pending.append(text(buf, n));
        }
    }

    /** @return whatever comes until the server closes the connection (or 10 s pass: an exception) */
    String untilClosed() throws IOException {
        final StringBuilder sb = new StringBuilder();
        final byte[] buf = new byte[65536];
        while (true) {
            final int n;
            try {
                n = in.read(buf);
            } catch (final java.net.SocketException e) {
                return sb + "<reset>";
            }
            if (n < 0) {
                return sb.toString();
            }
            sb.append(text(buf, n));
        }
    }

    /** @return the figure {@code name} of {@code stats<which>} (which: "", " settings", " items", ...) as a number */
    long stat(final String which, final String name) throws IOException {
        final java.util.regex.Matcher m = java.util.regex.Pattern.compile("STAT " + name + " (\\S+)\r\n")
            .matcher(call("stats" + which + "\r\n"));
        if (!m.find()) {
            throw new AssertionError("no " + name + " in stats" + which);
        }
        return Long.parseLong(m.group(1));
    }

    static String shorten(final CharSequence s) {
        final String t = s.toString().replace("\r\n", "\\r\\n");
        return t.length() > 300 ? t.substring(0, 300) + "...(" + t.length() + " chars)" : t;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
