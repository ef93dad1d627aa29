/** sharena's IPC structures on top of the arena: named roots, an object heap, channels, the shared store. */
// Agrona's jar is an automatic module (a name in its manifest, no module-info): re-exporting it is
// still what users of the channels need.
@SuppressWarnings("requires-transitive-automatic")
module io.sharena.ipc {
    requires transitive io.sharena.core;
    // Channel consumers and producers take Agrona's IdleStrategy: their users need the module too.
    requires transitive org.agrona;

    exports io.sharena.ipc;
    exports io.sharena.ipc.heap;
    exports io.sharena.ipc.channel;
    exports io.sharena.ipc.layout;
    exports io.sharena.ipc.store;

    provides io.sharena.core.internal.HeldPages with io.sharena.ipc.StructurePages;
}
