package io.sharena.core;

/**
 * Arena pointers: an {@code int} holding an unsigned 32-bit offset from the start of the arena;
 * {@link #NULL} (0) lies in the header page and never names user data.
 *
 * <p>This class is the one place where a pointer becomes an address and back. A window base has
 * its low 32 bits zero, so
 * <pre>{@code address = (base & 0xFFFF_FFFF_0000_0000L) | Integer.toUnsignedLong(ptr)}</pre>
 * names the same bytes in every process that maps the arena, whatever its base.
 */
public final class ArenaPointers {
    /** The NULL arena pointer. */
    public static final int NULL = 0;
    /** Size and alignment of a window: the whole 32-bit pointer space. */
    public static final long WINDOW_SIZE = 1L << 32;
    /**
     * The highest window base a fixed-address arena may ask for: the last 4 GiB-aligned window that
     * ends below the top of 47-bit user space (x86-64's, whose last page is never the user's, so the
     * window right under 2^47 can never be mapped). The main thread's stack sits at a random place
     * in the top tens of GiB, so a window there may be taken in some processes (creating or opening
     * says so); a base well below, such as {@code 0x2000_0000_0000L}, is clear of the stack and of the
     * mappings the kernel hands out from the top down.
     */
    public static final long MAX_FIXED_ADDRESS = (1L << 47) - 2 * WINDOW_SIZE;
    private static final long HIGH_MASK = 0xFFFF_FFFF_0000_0000L;

    private ArenaPointers() {
    }

    /** @return the byte offset of {@code ptr} from the window base, 0 .. 2^32 - 1 */
    public static long offset(final int ptr) {
        return Integer.toUnsignedLong(ptr);
    }

    /** @return the absolute address of {@code ptr} in the window based at {@code base} */
    public static long address(final long base, final int ptr) {
        return (base & HIGH_MASK) | Integer.toUnsignedLong(ptr);
    }

    /**
     * @return the arena pointer of {@code address} in the window based at {@code base}
     * @throws IllegalArgumentException if the address is outside that window
     */
    public static int pointer(final long base, final long address) {
        if ((address & HIGH_MASK) != (base & HIGH_MASK)) {
            throw new IllegalArgumentException("address outside the arena window: address=0x"
                + Long.toHexString(address) + ", base=0x" + Long.toHexString(base & HIGH_MASK));
        }
        return (int) address;
    }

    /** @return {@code ptr} as {@code 0x}-prefixed unsigned hex, for messages */
    public static String toHex(final int ptr) {
        return "0x" + Integer.toHexString(ptr);
    }
}
