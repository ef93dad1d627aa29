/** The {@code ./arena} command line. */
module io.sharena.cli {
    requires io.sharena.core;
    requires io.sharena.ipc;
    requires info.picocli;

    opens io.sharena.cli to info.picocli;
}
