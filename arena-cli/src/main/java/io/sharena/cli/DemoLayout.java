package io.sharena.cli;

/**
 * The demo's shared words, at the start of the arena's first user page (the "root page"); the
 * message and the list live on the next pages.
 *
 * <pre>
 *  root page (allocated by the main process at the first user page):
 *              0          4          8                  16         20
 *              +----------+----------+------------------+----------+
 *              | MESSAGE  | LIST     | COUNTER          | READER   |
 *              | _PTR     | _HEAD    | (get-and-add)    | _DONE    |
 *              +----------+----------+------------------+----------+
 *  message page (allocated by the writer): int length, then UTF-8 bytes
 *  list page (allocated by the writer): nodes of NODE_SIZE bytes: int next (arena pointer), pad, long value
 * </pre>
 *
 * <p>The writer allocates two pages, fills the message and the nodes, then publishes {@code MESSAGE_PTR} and
 * {@code LIST_HEAD} with release stores; the reader acquires them.
 */
final class DemoLayout {
    static final int MESSAGE_PTR = 0;
    static final int LIST_HEAD = 4;
    static final int COUNTER = 8;
    static final int READER_DONE = 16;
    static final int NODE_NEXT = 0;
    static final int NODE_VALUE = 8;
    static final int NODE_SIZE = 16;

    private DemoLayout() {
    }
}
