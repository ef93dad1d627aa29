package io.sharena.server;

import io.sharena.ipc.store.StoreReservation;

import java.nio.ByteBuffer;

/** A storage command (text, meta or binary) between its command line (or header) and the end of its data block. */
final class PendingStore {
    static final int SET = 0;
    static final int ADD = 1;
    static final int REPLACE = 2;
    static final int APPEND = 3;
    static final int PREPEND = 4;
    static final int CAS = 5;

    int kind;
    byte[] key;
    /** The key array was taken from the worker ({@link Worker#takeKey}) and goes back to it. */
    boolean pooledKey;
    int flags;
    long exptime;
    long cas;
    byte[] value;
    /** The data block's value length; {@code filled} bytes of it have arrived. */
    int length;
    int filled;
    /**
     * A large value of a text storage command goes from the socket straight into its item's
     * memory in the store, reserved for it ({@link Connection#beginData}): then {@code value} is
     * null and this is that memory, until the commit, or until the value stops arriving and is
     * moved to the heap (a reservation is never held while the worker waits for a client).
     */
    final StoreReservation reservation = new StoreReservation();
    ByteBuffer inPlace;
    /** When the reservation was made ({@code System.nanoTime}). */
    long reservedAt;
    /** When bytes of the value last arrived into the reservation ({@code System.nanoTime}). */
    long progressAt;
    /**
     * The data block did not all come with its command: memcached reads the rest from the socket
     * exactly, so its input is empty when the command is answered, and it sends its replies then
     * ({@link Connection#flushPoint}).
     */
    boolean awaited;

    // binary protocol only: the request's opcode and opaque, for its response
    int binaryOp;
    int binaryOpaque;

    // meta set only
    boolean meta;
    boolean binaryKey;
    /** The opaque token (with its 'O'), echoed as it came: {@code opaque[0, opaqueLength)}. */
    final byte[] opaque = new byte[MetaCommands.MAX_OPAQUE];
    int opaqueLength;
    /** ms C as the store compares it ({@code SharedStore.ANY_CAS}: none). */
    long expectedCas;
    /** Ordered flags to echo ('O', 'k', 'c'), as memcached echoes them in the order given. */
    final StringBuilder echo = new StringBuilder();
    boolean invalidate;

    /** Gives the key and value arrays back to the worker and forgets the command. */
    void release(final Worker w) {
        if (reservation.held()) {
            w.server.store().abandon(reservation);
        }
        inPlace = null;
        if (pooledKey && key != null) {
            w.giveBackKey(key);
        }
        if (value != null) {
            w.giveBackValue(value);
        }
        clear();
    }

    void clear() {
        key = null;
        pooledKey = false;
        value = null;
        meta = false;
        binaryKey = false;
        opaqueLength = 0;
        echo.setLength(0);
        invalidate = false;
        awaited = false;
    }
}
