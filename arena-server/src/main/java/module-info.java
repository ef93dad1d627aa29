/** A memcached-compatible server (text, meta and binary protocols) on sharena's shared store, on the JDK's NIO. */
module io.sharena.server {
    requires transitive io.sharena.ipc;

    exports io.sharena.server;
}
