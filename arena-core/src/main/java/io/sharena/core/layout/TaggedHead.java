package io.sharena.core.layout;

/**
 * The head of a lock-free stack of spans: a version tag, the number of spans and the top span's
 * first page in one 64-bit word, so that a compare-and-set from a stale head fails even if the same
 * page is on top again (ABA), and the stack's size costs no extra atomic.
 *
 * <pre>
 *  63                                  28 27          20 19                    0
 *  +--------------------------------------+--------------+----------------------+
 *  | TAG: bumped by every push and pop    | COUNT: spans | PAGE: top span's page |
 *  +--------------------------------------+--------------+----------------------+
 * </pre>
 *
 * <p>{@code PAGE} 0 is the empty stack (page 0 is the header, never a span); 20 bits name every page
 * of a 4 GiB arena. {@code COUNT} saturates at {@link #MAX_COUNT}; the pending-free list leaves it 0.
 * The 36-bit tag would have to wrap (64 G operations) during one thread's read-to-CAS window for
 * ABA to slip through.
 */
public final class TaggedHead {
    public static final int PAGE_BITS = 20;
    public static final int COUNT_BITS = 8;
    public static final int MAX_COUNT = (1 << COUNT_BITS) - 1;
    private static final long PAGE_MASK = (1L << PAGE_BITS) - 1;
    private static final int COUNT_SHIFT = PAGE_BITS;
    private static final int TAG_SHIFT = PAGE_BITS + COUNT_BITS;

    private TaggedHead() {
    }

    public static long encode(final long tag, final int count, final int page) {
        return (tag << TAG_SHIFT) | ((long) count << COUNT_SHIFT) | (page & PAGE_MASK);
    }

    public static int page(final long head) {
        return (int) (head & PAGE_MASK);
    }

    public static int count(final long head) {
        return (int) ((head >>> COUNT_SHIFT) & MAX_COUNT);
    }

    public static long tag(final long head) {
        return head >>> TAG_SHIFT;
    }

    /** @return a head with the next tag, {@code count} spans and {@code page} on top */
    public static long next(final long head, final int count, final int page) {
        return encode(tag(head) + 1, count, page);
    }
}
