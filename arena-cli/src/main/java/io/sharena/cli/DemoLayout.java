package io.sharena.cli;

/**
 * The demo's shared data, all found through named roots.
 *
 * <pre>
 *  root "demo.counter": a heap object of 8 bytes, the shared counter (get-and-add)
 *  root "demo.list":    first node of a list built by the writer on the object heap
 *                       node: int next (arena pointer) | int pad | long value
 *  channel "demo.events": the main process consumes; the writer and a victim produce
 *      TYPE_TEXT:     UTF-8 text
 *      TYPE_PAGES:    int pointer, int pages: a zero-copy message; the receiver reads and frees them
 *      TYPE_TICK:     long sequence number, from the victim until it is killed
 * </pre>
 */
final class DemoLayout {
    static final String COUNTER = "demo.counter";
    static final String LIST = "demo.list";
    static final String EVENTS = "demo.events";
    static final int NODE_NEXT = 0;
    static final int NODE_VALUE = 8;
    static final int NODE_SIZE = 16;
    static final int TYPE_TEXT = 1;
    static final int TYPE_PAGES = 2;
    static final int TYPE_TICK = 3;
    static final int BIG_PAGES = 16;

    private DemoLayout() {
    }
}
