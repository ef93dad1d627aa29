/**
 * sharena's core: the arena file, its 4 GiB-aligned mapping, arena pointers, typed access, the
 * page allocator and its cross-process lock. Needs {@code --enable-native-access=io.sharena.core},
 * nothing else.
 */
module io.sharena.core {
    requires org.agrona;

    exports io.sharena.core;
    exports io.sharena.core.lock;
    exports io.sharena.core.layout;
    exports io.sharena.core.check;
    exports io.sharena.core.crash to io.sharena.ipc, io.sharena.cli;
}
