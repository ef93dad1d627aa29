package io.sharena.core;

import io.sharena.core.layout.ControlLayout;
import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.HeaderLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.ProcessWord;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.owner.ProcessIdentity;
import io.sharena.core.layout.TaggedHead;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.zip.CRC32C;

/**
 * The corruptions of {@link CorruptedFileFuzzTest}: each changes the image of an arena file (a
 * byte array holding the whole file) the way a stray write, a bug in another program or a hostile
 * user of the same uid would, and returns a short description of what it did.
 */
final class FileMutator {
    /** Byte-image mutations, by name. The file-level ones (truncation, foreign files) are the test's. */
    static final String[] IMAGE_KINDS = {
        "header.primary.random", "header.primary.bitflip", "header.primary.forged",
        "header.backup.random", "header.backup.bitflip", "header.backup.forged",
        "header.both.forged", "header.both.random", "header.wipe",
        "control.random", "control.forged",
        "registry.random", "registry.forged",
        "pagetable.random", "pagetable.forged", "pagetable.state",
        "cycle.freerun", "cycle.pending", "cycle.cache", "link.outOfRange",
        "random.anywhere"};

    /** Header fields: offset and width in bytes. */
    private static final int[][] HEADER_FIELDS = {
        {HeaderLayout.MAGIC, 8}, {HeaderLayout.FORMAT_VERSION, 4}, {HeaderLayout.PAGE_SIZE, 4},
        {HeaderLayout.CAPACITY_PAGES, 8}, {HeaderLayout.META_PAGES, 4}, {HeaderLayout.FLAGS, 4},
        {HeaderLayout.ARENA_ID, 8}, {HeaderLayout.CREATED_MILLIS, 8}, {HeaderLayout.FIXED_ADDRESS, 8},
        {HeaderLayout.CHECKSUM, 4}};

    private static final int[] CONTROL_WORDS = {
        ControlLayout.LOCK_WORD, ControlLayout.PENDING_HEAD, ControlLayout.INTENT, ControlLayout.TREE_FREE_PAGES,
        ControlLayout.RESERVED_PAGES, ControlLayout.QUOTA_PAGES, ControlLayout.ROOTS_PTR, ControlLayout.REPAIR_PENDING};

    private final byte[] image;
    private final ByteBuffer buf;
    private final Random r;
    private final int capacity;
    private final int firstUser;

    FileMutator(final byte[] image, final Random r, final int capacity, final int firstUser) {
        this.image = image;
        this.buf = ByteBuffer.wrap(image).order(ByteOrder.nativeOrder());
        this.r = r;
        this.capacity = capacity;
        this.firstUser = firstUser;
    }

    /** Applies mutation {@code kind}; returns what it did. */
    String apply(final String kind) {
        return switch (kind) {
            case "header.primary.random" -> randomBytes(HeaderLayout.MAGIC, HeaderLayout.COPY_BYTES);
            case "header.primary.bitflip" -> bitFlips(HeaderLayout.MAGIC, HeaderLayout.COPY_BYTES);
            case "header.primary.forged" -> forgeHeader(HeaderLayout.MAGIC, pickField(), forgedValue());
            case "header.backup.random" -> randomBytes(HeaderLayout.BACKUP, HeaderLayout.COPY_BYTES);
            case "header.backup.bitflip" -> bitFlips(HeaderLayout.BACKUP, HeaderLayout.COPY_BYTES);
            case "header.backup.forged" -> forgeHeader(HeaderLayout.BACKUP, pickField(), forgedValue());
            case "header.both.forged" -> {
                final int[] field = pickField();
                final long value = forgedValue();
                yield forgeHeader(HeaderLayout.MAGIC, field, value) + "; " + forgeHeader(HeaderLayout.BACKUP, field, value);
            }
            case "header.both.random" -> randomBytes(HeaderLayout.MAGIC, HeaderLayout.COPY_BYTES) + "; "
                + randomBytes(HeaderLayout.BACKUP, HeaderLayout.COPY_BYTES);
            case "header.wipe" -> {
                // A memset from NULL: the whole header page, sometimes into the control page.
                final int len = r.nextBoolean() ? Geometry.PAGE_SIZE : Geometry.PAGE_SIZE + r.nextInt(2 * Geometry.PAGE_SIZE);
                final byte fill = (byte) (r.nextBoolean() ? 0 : r.nextInt());
                java.util.Arrays.fill(image, 0, len, fill);
                yield "filled [0, " + len + ") with " + fill;
            }
            case "control.random" -> randomBytes(ControlLayout.PAGE_INDEX * Geometry.PAGE_SIZE + r.nextInt(Geometry.PAGE_SIZE - 64),
                1 + r.nextInt(64));
            case "control.forged" -> forgeControl();
            case "registry.random" -> randomBytes(RegistryLayout.FIRST_PAGE * Geometry.PAGE_SIZE
                + r.nextInt(2 * Geometry.PAGE_SIZE - 64), 1 + r.nextInt(64));
            case "registry.forged" -> forgeRegistry();
            case "pagetable.random" -> randomBytes(PageEntry.TABLE_PAGE * Geometry.PAGE_SIZE
                + r.nextInt(capacity * Geometry.PAGE_ENTRY_BYTES), 1 + r.nextInt(64));
            case "pagetable.forged" -> forgePageEntry();
            case "pagetable.state" -> forgeStates();
            case "cycle.freerun" -> freeRunCycle();
            case "cycle.pending" -> pendingCycle();
            case "cycle.cache" -> cacheCycle();
            case "link.outOfRange" -> outOfRangeLink();
            case "random.anywhere" -> randomBytes(r.nextInt(image.length - 64), 1 + r.nextInt(64));
            default -> throw new IllegalArgumentException("unknown mutation: " + kind);
        };
    }

    private String randomBytes(final int at, final int len) {
        final byte[] b = new byte[len];
        r.nextBytes(b);
        System.arraycopy(b, 0, image, at, Math.min(len, image.length - at));
        return "random bytes at [" + at + ", " + (at + len) + ")";
    }

    private String bitFlips(final int at, final int len) {
        final StringBuilder s = new StringBuilder("flipped bits");
        for (int i = 1 + r.nextInt(3); i > 0; i--) {
            final int bit = r.nextInt(len * 8);
            image[at + bit / 8] ^= (byte) (1 << (bit % 8));
            s.append(' ').append(at * 8 + bit);
        }
        return s.toString();
    }

    private int[] pickField() {
        return HEADER_FIELDS[r.nextInt(HEADER_FIELDS.length)];
    }

    /** A value a forger would try: edges, near-valid numbers, random bits. */
    private long forgedValue() {
        return switch (r.nextInt(8)) {
            case 0 -> 0;
            case 1 -> -1;
            case 2 -> capacity + r.nextInt(3) - 1;
            case 3 -> 2L * capacity;
            case 4 -> 1L << 32;
            case 5 -> r.nextInt(4);
            case 6 -> Geometry.MAX_CAPACITY_PAGES;
            default -> r.nextLong();
        };
    }

    /** Sets a field of the copy at {@code copy}, then recomputes that copy's checksum (unless the field is it). */
    private String forgeHeader(final int copy, final int[] field, final long value) {
        put(copy + field[0], field[1], value);
        if (field[0] != HeaderLayout.CHECKSUM) {
            final CRC32C crc = new CRC32C();
            crc.update(image, copy, HeaderLayout.CHECKSUMMED_LENGTH);
            buf.putInt(copy + HeaderLayout.CHECKSUM, (int) crc.getValue());
        }
        return "forged header field at " + copy + "+" + field[0] + " = " + value + " (checksum recomputed)";
    }

    private void put(final int at, final int width, final long value) {
        switch (width) {
            case 8 -> buf.putLong(at, value);
            case 4 -> buf.putInt(at, (int) value);
            default -> throw new IllegalArgumentException("width " + width);
        }
    }

    /** A page number a forger would try: in range, metadata, NULL, the end, far out. */
    private int forgedPage() {
        return switch (r.nextInt(7)) {
            case 0 -> 0;
            case 1 -> r.nextInt(firstUser);
            case 2 -> capacity;
            case 3 -> capacity + 1 + r.nextInt(5000);
            case 4 -> -1 - r.nextInt(10);
            default -> firstUser + r.nextInt(capacity - firstUser);
        };
    }

    private String forgeControl() {
        if (r.nextInt(4) == 0) {
            final int b = r.nextInt(ControlLayout.BUCKETS);
            final int page = forgedPage();
            buf.putInt((int) ControlLayout.bucketHead(b), page);
            return "bucket head " + b + " = page " + page;
        }
        final int word = CONTROL_WORDS[r.nextInt(CONTROL_WORDS.length)];
        final long value = switch (r.nextInt(4)) {
            case 0 -> TaggedHead.encode(r.nextInt(1000), r.nextInt(TaggedHead.MAX_COUNT + 1), forgedPage());
            case 1 -> forgedPage();
            case 2 -> ((long) forgedPage() << 32) | (r.nextInt(64) << 8) | r.nextInt(16);
            default -> forgedValue();
        };
        buf.putLong((int) ControlLayout.word(word), value);
        return "control word " + word + " = 0x" + Long.toHexString(value);
    }

    private String forgeRegistry() {
        final int slot = r.nextInt(RegistryLayout.SLOTS);
        return switch (r.nextInt(4)) {
            case 0 -> {
                final long pid = switch (r.nextInt(3)) {
                    case 0 -> ProcessHandle.current().pid();
                    case 1 -> 1;
                    default -> r.nextInt(1 << 22);
                };
                // The slot's owner word: pid, start ticks (not this process's, but maybe) and a generation.
                buf.putLong((int) RegistryLayout.field(slot, RegistryLayout.OWNER),
                    ProcessWord.encode(pid == 0 ? 1 : pid, r.nextInt(1000), 1 + r.nextInt(100)));
                buf.putLong((int) RegistryLayout.field(slot, RegistryLayout.START_TICKS), r.nextInt(1000));
                yield "slot " + slot + " pid = " + pid;
            }
            case 1 -> {
                final int c = r.nextInt(RegistryLayout.CACHE_SIZES.length);
                final long head = TaggedHead.encode(r.nextInt(1000), r.nextInt(TaggedHead.MAX_COUNT + 1), forgedPage());
                buf.putLong((int) RegistryLayout.cacheHead(slot, c), head);
                yield "slot " + slot + " cache head " + c + " = 0x" + Long.toHexString(head);
            }
            case 2 -> {
                final long v = forgedValue();
                buf.putLong((int) RegistryLayout.field(slot, RegistryLayout.ALLOCATIONS), v);
                yield "slot " + slot + " allocations = " + v;
            }
            default -> randomBytes((int) RegistryLayout.field(slot, 0), RegistryLayout.SLOT_SIZE);
        };
    }

    private String forgePageEntry() {
        final int page = firstUser + r.nextInt(capacity - firstUser);
        if (r.nextBoolean()) {
            final long state = PageEntry.state(r.nextInt(16), r.nextBoolean() ? PageEntry.WAS_RESERVED : 0,
                r.nextInt(256), r.nextBoolean() ? r.nextInt(capacity + 10) : r.nextInt());
            buf.putLong((int) PageEntry.stateOffset(page), state);
            return "page " + page + " state = 0x" + Long.toHexString(state);
        }
        final long link = PageEntry.link(forgedPage(), forgedPage());
        buf.putLong((int) PageEntry.linkOffset(page), link);
        return "page " + page + " link = 0x" + Long.toHexString(link);
    }

    /** Several pages' states set to one state: FREE pages that are in no list, ALLOCATED pages in a list, ... */
    private String forgeStates() {
        final int state = new int[] {PageEntry.FREE, PageEntry.ALLOCATED, PageEntry.RESERVED, PageEntry.PENDING,
            PageEntry.CACHED, 5, 6, PageEntry.META}[r.nextInt(8)];
        final int first = firstUser + r.nextInt(capacity - firstUser);
        final int n = 1 + r.nextInt(Math.min(8, capacity - first));
        for (int p = first; p < first + n; p++) {
            final long old = buf.getLong((int) PageEntry.stateOffset(p));
            buf.putLong((int) PageEntry.stateOffset(p), (old & ~0xFL) | state);
        }
        return "pages " + first + ".." + (first + n - 1) + " state := " + state;
    }

    /** A free run whose next link leads back to itself (or to an earlier run of its list). */
    private String freeRunCycle() {
        final int b = r.nextInt(ControlLayout.BUCKETS);
        int head = buf.getInt((int) ControlLayout.bucketHead(b));
        if (head < firstUser || head >= capacity) {
            head = firstUser + r.nextInt(capacity - firstUser);
            buf.putInt((int) ControlLayout.bucketHead(b), head);
        }
        final int target = r.nextBoolean() ? head : firstUser + r.nextInt(capacity - firstUser);
        buf.putLong((int) PageEntry.linkOffset(head), PageEntry.link(target, head));
        buf.putLong((int) PageEntry.linkOffset(target), PageEntry.link(head, head));
        return "free-run cycle in bucket " + b + ": " + head + " <-> " + target;
    }

    /** The pending list: a span that links back to itself. */
    private String pendingCycle() {
        final int page = r.nextBoolean() ? firstUser + r.nextInt(capacity - firstUser) : forgedPage();
        buf.putLong((int) ControlLayout.word(ControlLayout.PENDING_HEAD), TaggedHead.encode(7, 1, page));
        if (page >= firstUser && page < capacity) {
            buf.putLong((int) PageEntry.stateOffset(page), PageEntry.state(PageEntry.PENDING, 0, r.nextInt(64),
                1 + r.nextInt(4)));
            buf.putLong((int) PageEntry.linkOffset(page), PageEntry.link(0, page));
        }
        return "pending head -> page " + page + " -> itself";
    }

    /** A span cache whose head names a page that links back to itself, or a page inside a free run. */
    private String cacheCycle() {
        final int slot = r.nextInt(RegistryLayout.SLOTS);
        final int c = r.nextInt(RegistryLayout.CACHE_SIZES.length);
        final int page = firstUser + r.nextInt(capacity - firstUser);
        buf.putLong((int) RegistryLayout.cacheHead(slot, c), TaggedHead.encode(3, 1 + r.nextInt(5), page));
        if (r.nextBoolean()) {
            buf.putLong((int) PageEntry.linkOffset(page), PageEntry.link(0, page));
        }
        if (r.nextBoolean()) {
            // Names this live process as the slot's owner, so recovery leaves the forged cache to it.
            buf.putLong((int) RegistryLayout.field(slot, RegistryLayout.OWNER),
                ProcessWord.encode(ProcessHandle.current().pid(), ProcessIdentity.selfStartTicks(), 1));
        }
        return "slot " + slot + " cache " + c + " head -> page " + page;
    }

    /** A link to a page past the end, or into the metadata. */
    private String outOfRangeLink() {
        final int page = firstUser + r.nextInt(capacity - firstUser);
        final int to = r.nextBoolean() ? capacity + r.nextInt(100_000) : 1 + r.nextInt(firstUser - 1);
        buf.putLong((int) PageEntry.linkOffset(page), PageEntry.link(to, to));
        return "page " + page + " links to page " + to;
    }
}
