package io.sharena.core.layout;

/**
 * Page 0 of an arena file: the header. Offsets in bytes, values in the platform's native byte
 * order (little-endian on every platform sharena runs on).
 *
 * <pre>
 *   0                   8          12         16                  24         28         32
 *   +-------------------+----------+----------+-------------------+----------+----------+
 *   | MAGIC "SHARENA\0" | FORMAT   | PAGE     | CAPACITY_PAGES    | META     | FLAGS    |
 *   |                   | _VERSION | _SIZE    |                   | _PAGES   |          |
 *   +-------------------+----------+----------+-------------------+----------+----------+
 *  32                  40                    48                  56         60         64
 *   | ARENA_ID          | CREATED_MILLIS      | FIXED_ADDRESS     | CHECKSUM | zero     |
 *   +-------------------+---------------------+-------------------+----------+----------+
 *  64 .. 128   zero
 * 128 .. 4096  MUTABLE_START: words that change while the arena is in use (allocator, lock,
 *              process registry); not covered by the checksum.
 * </pre>
 *
 * <p>Bytes {@code [0, CHECKSUMMED_LENGTH)} are written once, at creation, and never change;
 * {@link #CHECKSUM} is their CRC32C. {@link #MAGIC} is stored last, with a release store, so a
 * file whose creation was interrupted never looks like an arena.
 */
public final class HeaderLayout {
    /** "SHARENA\0" read as a little-endian long. */
    public static final long MAGIC_VALUE = 0x00414E4552414853L;
    /** The format this code writes and the newest it reads. */
    public static final int FORMAT_VERSION_VALUE = 1;
    /** The only page size sharena supports: the Linux base page, which hole punching and mapping work in. */
    public static final int PAGE_SIZE_VALUE = 4096;

    public static final int MAGIC = 0;
    public static final int FORMAT_VERSION = 8;
    public static final int PAGE_SIZE = 12;
    /** Total pages of the arena, header and metadata included: the file is this many pages long. */
    public static final int CAPACITY_PAGES = 16;
    /** Metadata pages after the header, never handed out; see {@link Geometry#metaPages(long)}. */
    public static final int META_PAGES = 24;
    public static final int FLAGS = 28;
    /** A random 64-bit identity chosen at creation, so tools can tell two arena files apart. */
    public static final int ARENA_ID = 32;
    public static final int CREATED_MILLIS = 40;
    /** The window base every process must map at, when {@link #FLAG_FIXED_ADDRESS} is set; else 0. */
    public static final int FIXED_ADDRESS = 48;
    /** CRC32C of bytes {@code [0, CHECKSUMMED_LENGTH)}. */
    public static final int CHECKSUM = 56;
    public static final int CHECKSUMMED_LENGTH = 56;

    /** First byte of the mutable part of the header page. */
    public static final int MUTABLE_START = 128;

    public static final int FLAG_FIXED_ADDRESS = 1;
    public static final int KNOWN_FLAGS = FLAG_FIXED_ADDRESS;

    private HeaderLayout() {
    }
}
