package io.sharena.core.layout;

/**
 * Page 0 of an arena file: the header, kept twice. Offsets in bytes, values in the platform's native
 * byte order (little-endian on every platform sharena runs on).
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
 * 128 .. 4096  MUTABLE_START: words that change after creation, not covered by the checksum:
 *              128 CUT_SIZE, 136 CUT_CHECK (a cut whose repair is unfinished); the rest zero.
 *
 *  The backup copy: bytes [0, COPY_BYTES) of the header, again, at arena offset BACKUP
 *  (in the page table, over the entries of pages 1..4, which are header and metadata pages
 *  and so never have an entry of their own):
 *
 *  page 0        1        2..3       4 = PageEntry.TABLE_PAGE
 *  +-----------+--------+----------+---------------------------------------------+-----
 *  | PRIMARY   | control| registry | entry 0 | BACKUP (64 bytes) | entry 5 ...    | ...
 *  | 0 .. 64   |        |          | 16 B    | = entries 1..4    |                |
 *  +-----------+--------+----------+---------------------------------------------+-----
 * </pre>
 *
 * <p>Each copy carries its own checksum. Open takes a copy that validates; when both do and they
 * differ, the one whose capacity matches the file size, else the primary. So one stray write (a
 * raw store at pointer 0, a memset over the first pages) cannot make an arena unopenable, and
 * {@code check --repair} rewrites the damaged copy from the good one (as LMDB keeps two meta
 * pages, and file systems keep backup superblocks). The backup sits four pages away from the
 * primary, past the control and registry pages, so one run of bytes written from pointer 0 has to
 * wipe 16 KiB of metadata to reach it. Page 0's own entry is skipped: 0 is the "no page" link
 * value, the one entry a wrong link would most likely touch.
 *
 * <p>Bytes {@code [0, CHECKSUMMED_LENGTH)} are written once, at creation, and never change;
 * {@link #CHECKSUM} is their CRC32C. {@link #MAGIC} is stored last, with a release store, so a
 * file whose creation was interrupted never looks like an arena.
 */
public final class HeaderLayout {
    /** "SHARENA\0" read as a little-endian long. */
    public static final long MAGIC_VALUE = 0x00414E4552414853L;
    /**
     * The format this code writes and the only one it reads. 2: the header has a backup copy
     * ({@link #BACKUP}); format 1 files have none and are refused as written by an older sharena.
     */
    public static final int FORMAT_VERSION_VALUE = 2;
    /** The only page size sharena supports: the Linux base page, which hole punching and mapping work in. */
    public static final int PAGE_SIZE_VALUE = Geometry.PAGE_SIZE;

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

    /** Bytes of the header that are kept twice: the checksummed fields, the checksum, padding. */
    public static final int COPY_BYTES = 64;
    /** Arena offset of the backup copy: page-table entries of pages 1..4 (see the class comment). */
    public static final int BACKUP = PageEntry.TABLE_PAGE * PAGE_SIZE_VALUE + Geometry.PAGE_ENTRY_BYTES;

    /** First byte of the mutable part of the header page. */
    public static final int MUTABLE_START = 128;
    /**
     * The size a file was cut to, recorded by {@code check --repair} before it restores the size and
     * cleared once the structures the cut reached are repaired (0: no such repair unfinished): the
     * zeros from that byte on are the cut's, so a repair killed in between leaves the next one the
     * evidence it needs (a store's records the cut reached are dropped, a store header it took is
     * formatted anew). Only the primary header page holds it; a file cut inside that page has nothing
     * past it to repair.
     */
    public static final int CUT_SIZE = MUTABLE_START;
    /** The complement of {@link #CUT_SIZE}: a stray write into either leaves them disagreeing (ignored, cleared). */
    public static final int CUT_CHECK = MUTABLE_START + 8;

    /**
     * @return the cut the two record words {@link #CUT_SIZE} and {@link #CUT_CHECK} hold: the size,
     * 0 if none (a size word of 0: the record is cleared size first, whatever its check word holds
     * then), -1 if garbled (the words disagree, or the size is not one a recorded cut can have: at
     * least the header page, under the capacity)
     */
    public static long cutOf(final long size, final long check, final long capacityBytes) {
        if (size == 0) {
            return 0;
        }
        return check == ~size && size >= PAGE_SIZE_VALUE && size < capacityBytes ? size : -1;
    }

    public static final int FLAG_FIXED_ADDRESS = 1;
    public static final int KNOWN_FLAGS = FLAG_FIXED_ADDRESS;

    private HeaderLayout() {
    }
}
