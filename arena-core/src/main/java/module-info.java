/**
 * sharena's core: the arena file, its 4 GiB-aligned mapping, arena pointers and typed access.
 * Needs {@code --enable-native-access=io.sharena.core}, nothing else.
 */
module io.sharena.core {
    requires org.agrona;

    exports io.sharena.core;
}
