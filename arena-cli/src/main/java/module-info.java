/** The {@code ./arena} command line. */
module io.sharena.cli {
    requires io.sharena.core;
    requires io.sharena.ipc;
    requires io.sharena.server;
    requires info.picocli;
    requires org.agrona;

    opens io.sharena.cli to info.picocli;
}
