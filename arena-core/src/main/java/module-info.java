/**
 * sharena's core: the arena file, its 4 GiB-aligned mapping, arena pointers, typed access, the
 * page allocator and its cross-process lock. Needs {@code --enable-native-access=io.sharena.core},
 * nothing else.
 *
 * <p>Applications see two packages: {@code io.sharena.core} (the arena, its views, options,
 * results and exceptions) and {@code io.sharena.core.lock} (locks in their own structures). The
 * rest is exported only to sharena's own modules: the layout classes, the ownership primitive and
 * allocator lock, the checker, and {@code ArenaInternals} (what those modules need of
 * an arena beyond its public API). The crash-point vocabulary ({@code io.sharena.core.crash}) is
 * exported to all: the IPC module's public point enums implement it, and crash campaigns name
 * points through it.
 */
@SuppressWarnings("module") // the qualified exports name modules built after this one
module io.sharena.core {
    requires org.agrona;

    exports io.sharena.core;
    exports io.sharena.core.lock;
    exports io.sharena.core.crash;

    exports io.sharena.core.internal to io.sharena.ipc, io.sharena.cli;
    exports io.sharena.core.owner to io.sharena.ipc, io.sharena.cli;
    exports io.sharena.core.layout to io.sharena.ipc, io.sharena.cli;
    exports io.sharena.core.check to io.sharena.ipc, io.sharena.cli;

    // The pages the structures on an arena hold, which the allocator's repair keeps (the IPC module's).
    uses io.sharena.core.internal.HeldPages;
}
