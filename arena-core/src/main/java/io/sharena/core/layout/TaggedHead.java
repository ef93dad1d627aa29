package io.sharena.core.layout;

/**
 * The head of a lock-free stack of spans: a version tag and a page index in one 64-bit word, so
 * that a compare-and-set from a stale head fails even if the same page is on top again (ABA).
 *
 * <pre>
 *  63                               32 31                              0
 *  +----------------------------------+--------------------------------+
 *  | TAG: bumped by every push and pop| PAGE: first page of the top span|
 *  +----------------------------------+--------------------------------+
 * </pre>
 *
 * <p>{@code PAGE} 0 is the empty stack (page 0 is the header, never a span).
 */
public final class TaggedHead {
    private TaggedHead() {
    }

    public static long encode(final long tag, final int page) {
        return (tag << 32) | Integer.toUnsignedLong(page);
    }

    public static int page(final long head) {
        return (int) head;
    }

    public static long tag(final long head) {
        return head >>> 32;
    }

    /** @return a head with the next tag and the given page */
    public static long next(final long head, final int page) {
        return encode(tag(head) + 1, page);
    }
}
