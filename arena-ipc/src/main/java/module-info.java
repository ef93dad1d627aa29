/**
 * sharena's IPC structures on top of the arena (named roots, object heap, channels, shared store).
 * It exports its packages as they land; for now it only stands in the build.
 */
module io.sharena.ipc {
    requires transitive io.sharena.core;
}
