package io.sharena.ipc.channel;

import io.sharena.core.ArenaView;

/** Receives one message, in place: read {@code length} bytes at {@code ptr} through {@code view}. */
@FunctionalInterface
public interface MessageHandler {
    void onMessage(ArenaView view, int type, int ptr, int length);
}
