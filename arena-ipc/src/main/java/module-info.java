/** sharena's IPC structures on top of the arena: named roots, an object heap, channels. */
module io.sharena.ipc {
    requires transitive io.sharena.core;
    requires org.agrona;

    exports io.sharena.ipc;
    exports io.sharena.ipc.heap;
    exports io.sharena.ipc.channel;
    exports io.sharena.ipc.layout;
    exports io.sharena.ipc.store;
}
