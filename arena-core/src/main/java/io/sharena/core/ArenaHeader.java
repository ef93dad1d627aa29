package io.sharena.core;

import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.HeaderLayout;

import io.sharena.core.os.NativeFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.zip.CRC32C;

/**
 * The immutable fields of an arena's header page, validated. See {@link HeaderLayout}.
 *
 * <p>{@link #read} checks both copies of the header, read from the file before anything is mapped,
 * so a file that is not an arena or is corrupted never reaches memory-mapped access. Fields are
 * checked one by one, each failure naming its field; the checksum comes after the per-field
 * checks, so a corrupted field that is still plausible is caught by it.
 */
record ArenaHeader(int formatVersion, int pageSize, long capacityPages, int metaPages, int flags, long arenaId,
                   long createdMillis, long fixedAddress) {

    private static final VarHandle MAGIC_WORD = ValueLayout.JAVA_LONG.varHandle();

    static ArenaHeader forCreate(final Capacity capacity, final long fixedAddress, final long arenaId,
                                 final long createdMillis) {
        return new ArenaHeader(HeaderLayout.FORMAT_VERSION_VALUE, HeaderLayout.PAGE_SIZE_VALUE, capacity.pages(),
            Geometry.metaPages(capacity.pages()), fixedAddress == 0 ? 0 : HeaderLayout.FLAG_FIXED_ADDRESS, arenaId,
            createdMillis, fixedAddress);
    }

    long capacityBytes() {
        return capacityPages * pageSize;
    }

    /**
     * Validates one copy of the header ({@code copy} holds at least {@link HeaderLayout#COPY_BYTES}
     * bytes), field by field; the checksum last. The file size only refines the message of a
     * checksum failure: a copy whose capacity also disagrees with the file names {@code capacity}.
     *
     * @throws ArenaFormatException naming the first field that is wrong
     */
    static ArenaHeader parse(final byte[] copy, final long fileSize) throws ArenaFormatException {
        if (copy.length < HeaderLayout.COPY_BYTES) {
            throw Errors.badField("fileSize", "header copy past the end of the file", "fileSize=" + fileSize);
        }
        final MemorySegment s = MemorySegment.ofArray(copy);
        final long magic = s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.MAGIC);
        if (magic != HeaderLayout.MAGIC_VALUE) {
            throw Errors.badField("magic", "not a sharena arena", "magic=0x" + Long.toHexString(magic)
                + ", expected=0x" + Long.toHexString(HeaderLayout.MAGIC_VALUE));
        }
        final int version = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FORMAT_VERSION);
        if (version > HeaderLayout.FORMAT_VERSION_VALUE) {
            throw Errors.badField("formatVersion", "arena written by a newer sharena", "formatVersion="
                + version + ", newest supported=" + HeaderLayout.FORMAT_VERSION_VALUE);
        }
        if (version < 1) {
            throw Errors.badField("formatVersion", "invalid format version", "formatVersion=" + version);
        }
        if (version < HeaderLayout.FORMAT_VERSION_VALUE) {
            throw Errors.badField("formatVersion", "arena written by an older sharena (no backup header)",
                "formatVersion=" + version + ", supported=" + HeaderLayout.FORMAT_VERSION_VALUE + " (recreate it)");
        }
        final int pageSize = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.PAGE_SIZE);
        if (pageSize != HeaderLayout.PAGE_SIZE_VALUE) {
            throw Errors.badField("pageSize", "unsupported page size", "pageSize=" + pageSize
                + ", supported=" + HeaderLayout.PAGE_SIZE_VALUE);
        }
        final long capacityPages = s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CAPACITY_PAGES);
        if (capacityPages < Geometry.MIN_CAPACITY_PAGES || capacityPages > Geometry.MAX_CAPACITY_PAGES) {
            throw Errors.badField("capacity", "capacity out of range", "capacityPages=" + capacityPages
                + ", min=" + Geometry.MIN_CAPACITY_PAGES + ", max=" + Geometry.MAX_CAPACITY_PAGES);
        }
        final int metaPages = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.META_PAGES);
        if (metaPages != Geometry.metaPages(capacityPages)) {
            throw Errors.badField("metaPages", "metadata size does not match capacity", "metaPages="
                + metaPages + ", expected=" + Geometry.metaPages(capacityPages) + ", capacityPages=" + capacityPages);
        }
        final int flags = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FLAGS);
        if ((flags & ~HeaderLayout.KNOWN_FLAGS) != 0) {
            throw Errors.badField("flags", "unknown flags", "flags=0x" + Integer.toHexString(flags));
        }
        final long fixedAddress = s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.FIXED_ADDRESS);
        final boolean fixed = (flags & HeaderLayout.FLAG_FIXED_ADDRESS) != 0;
        if (fixed != (fixedAddress != 0) || (fixedAddress & (ArenaPointers.WINDOW_SIZE - 1)) != 0
            || fixedAddress < 0 || fixedAddress > ArenaPointers.MAX_FIXED_ADDRESS) {
            throw Errors.badField("fixedAddress", "invalid fixed address", "fixedAddress=0x"
                + Long.toHexString(fixedAddress) + ", flags=0x" + Integer.toHexString(flags));
        }
        final int stored = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.CHECKSUM);
        final int computed = checksum(copy);
        if (stored != computed) {
            final long capacityBytes = capacityPages * pageSize;
            if (capacityBytes != fileSize) {
                throw Errors.badField("capacity", "capacity disagrees with the file size and the checksum",
                    "capacityBytes=" + capacityBytes + ", fileSize=" + fileSize);
            }
            throw Errors.badField("checksum", "header checksum mismatch", "stored=0x"
                + Integer.toHexString(stored) + ", computed=0x" + Integer.toHexString(computed));
        }
        return new ArenaHeader(version, pageSize, capacityPages, metaPages, flags,
            s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.ARENA_ID),
            s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CREATED_MILLIS), fixedAddress);
    }

    /**
     * Reads both copies of the header from {@code file} (with {@code pread}: nothing is mapped) and
     * picks the one to use: a copy that validates; if both do and they differ, the one whose
     * capacity matches the file size, else the primary.
     *
     * @throws ArenaFormatException if neither copy validates, naming the primary's bad field
     */
    static Copies read(final NativeFile file, final long fileSize) throws IOException {
        if (fileSize < HeaderLayout.PAGE_SIZE_VALUE) {
            boolean primaryWhole = false;
            if (fileSize >= HeaderLayout.COPY_BYTES) {
                try {
                    parse(file.read(HeaderLayout.MAGIC, HeaderLayout.COPY_BYTES), HeaderLayout.PAGE_SIZE_VALUE);
                    primaryWhole = true;
                } catch (final ArenaFormatException notOne) {
                    // not an arena's header either: said below
                }
            }
            throw Errors.badField("fileSize", primaryWhole
                    ? "arena file truncated inside its header page (its header copy survived: check --repair restores the"
                    + " size, the arena then empty)" : "not an arena or truncated",
                "fileSize=" + fileSize + " is less than one header page (" + HeaderLayout.PAGE_SIZE_VALUE + " bytes)");
        }
        final byte[] primaryBytes = file.read(HeaderLayout.MAGIC, HeaderLayout.COPY_BYTES);
        final byte[] backupBytes = file.read(HeaderLayout.BACKUP, HeaderLayout.COPY_BYTES);
        ArenaHeader primary = null;
        ArenaHeader backup = null;
        ArenaFormatException primaryError = null;
        ArenaFormatException backupError = null;
        try {
            primary = parse(primaryBytes, fileSize);
        } catch (final ArenaFormatException e) {
            primaryError = e;
        }
        try {
            backup = parse(backupBytes, fileSize);
        } catch (final ArenaFormatException e) {
            backupError = e;
        }
        if (primary == null && backup == null) {
            // The backup's reason is worth adding only when it looked like a header copy at all: for
            // a file that is no arena (or an older format) the primary's reason says it all.
            final boolean backupLooked = backupBytes.length >= Long.BYTES && MemorySegment.ofArray(backupBytes)
                .get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.MAGIC) == HeaderLayout.MAGIC_VALUE;
            throw new ArenaFormatException(primaryError.field(), primaryError.getMessage()
                + (backupLooked && !backupError.getMessage().equals(primaryError.getMessage())
                    ? "; backup copy: " + backupError.getMessage() : ""));
        }
        if (primary == null) {
            return new Copies(backup, "primary header copy damaged: " + primaryError.getMessage() + " (using the backup)");
        }
        if (backup == null) {
            return new Copies(primary, "backup header copy damaged: " + backupError.getMessage());
        }
        if (primary.equals(backup)) {
            return new Copies(primary, null);
        }
        final boolean useBackup = primary.capacityBytes() != fileSize && backup.capacityBytes() == fileSize;
        return new Copies(useBackup ? backup : primary, "header copies disagree: primary " + primary.describe()
            + "; backup " + backup.describe() + " (using the " + (useBackup ? "backup" : "primary") + ")");
    }

    /** The header to use, and what is wrong with the other copy ({@code null} when both are good and equal). */
    record Copies(ArenaHeader header, String damage) {
    }

    private String describe() {
        return "capacityPages=" + capacityPages + ", flags=0x" + Integer.toHexString(flags) + ", arenaId="
            + Long.toHexString(arenaId) + ", createdMillis=" + createdMillis + ", fixedAddress=0x"
            + Long.toHexString(fixedAddress);
    }

    static int checksum(final byte[] copy) {
        final CRC32C crc = new CRC32C();
        crc.update(copy, 0, HeaderLayout.CHECKSUMMED_LENGTH);
        return (int) crc.getValue();
    }

    /** @return the {@link HeaderLayout#COPY_BYTES} bytes of one copy, checksum included */
    byte[] encode() {
        final byte[] copy = new byte[HeaderLayout.COPY_BYTES];
        final MemorySegment s = MemorySegment.ofArray(copy);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.MAGIC, HeaderLayout.MAGIC_VALUE);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FORMAT_VERSION, formatVersion);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.PAGE_SIZE, pageSize);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CAPACITY_PAGES, capacityPages);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.META_PAGES, metaPages);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FLAGS, flags);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.ARENA_ID, arenaId);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CREATED_MILLIS, createdMillis);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.FIXED_ADDRESS, fixedAddress);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.CHECKSUM, checksum(copy));
        return copy;
    }

    /**
     * Writes both copies into a freshly created arena mapped at {@code segment}, whose allocator
     * metadata is already formatted: the backup, then the primary, each body first and magic last
     * with a release store. A creation interrupted before the backup's magic leaves a file that
     * {@link #read} rejects as "not an arena"; one interrupted after it leaves a complete arena
     * that opens from the backup.
     */
    void writeTo(final MemorySegment segment) {
        writeCopy(segment, HeaderLayout.BACKUP);
        writeCopy(segment, HeaderLayout.MAGIC);
    }

    /** Writes one copy at arena offset {@code at}, body first, magic last (release). */
    void writeCopy(final MemorySegment segment, final long at) {
        final MemorySegment copy = MemorySegment.ofArray(encode());
        MemorySegment.copy(copy, Long.BYTES, segment, at + Long.BYTES, HeaderLayout.COPY_BYTES - Long.BYTES);
        MAGIC_WORD.setRelease(segment, at + HeaderLayout.MAGIC, HeaderLayout.MAGIC_VALUE);
    }

    /** Writes one copy at file offset {@code at} through the descriptor: body, then magic. */
    void writeCopy(final NativeFile file, final long at) throws IOException {
        final byte[] copy = encode();
        file.write(at + Long.BYTES, java.util.Arrays.copyOfRange(copy, Long.BYTES, copy.length));
        file.write(at, java.util.Arrays.copyOf(copy, Long.BYTES));
    }
}
