package io.sharena.core;

import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.HeaderLayout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.zip.CRC32C;

/**
 * The immutable fields of an arena's header page, validated. See {@link HeaderLayout}.
 *
 * <p>{@link #validate} checks a header read from a file before anything is mapped, so a file that
 * is not an arena, is truncated or is corrupted never reaches memory-mapped access. Fields are
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
     * Validates {@code page} (the first bytes of a file of {@code fileSize} bytes).
     *
     * @throws ArenaFormatException naming the first field that is wrong
     */
    static ArenaHeader validate(final byte[] page, final long fileSize) throws ArenaFormatException {
        if (fileSize < HeaderLayout.PAGE_SIZE_VALUE || page.length < HeaderLayout.PAGE_SIZE_VALUE) {
            throw new ArenaFormatException("fileSize",
                "not an arena or truncated: fileSize=" + fileSize + " is less than one header page ("
                    + HeaderLayout.PAGE_SIZE_VALUE + " bytes)");
        }
        final MemorySegment s = MemorySegment.ofArray(page);
        final long magic = s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.MAGIC);
        if (magic != HeaderLayout.MAGIC_VALUE) {
            throw new ArenaFormatException("magic", "not a sharena arena: magic=0x" + Long.toHexString(magic)
                + ", expected=0x" + Long.toHexString(HeaderLayout.MAGIC_VALUE));
        }
        final int version = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FORMAT_VERSION);
        if (version > HeaderLayout.FORMAT_VERSION_VALUE) {
            throw new ArenaFormatException("formatVersion", "arena written by a newer sharena: formatVersion="
                + version + ", newest supported=" + HeaderLayout.FORMAT_VERSION_VALUE);
        }
        if (version < 1) {
            throw new ArenaFormatException("formatVersion", "invalid format version: formatVersion=" + version);
        }
        final int pageSize = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.PAGE_SIZE);
        if (pageSize != HeaderLayout.PAGE_SIZE_VALUE) {
            throw new ArenaFormatException("pageSize", "unsupported page size: pageSize=" + pageSize
                + ", supported=" + HeaderLayout.PAGE_SIZE_VALUE);
        }
        final long capacityPages = s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CAPACITY_PAGES);
        if (capacityPages < Geometry.MIN_CAPACITY_PAGES || capacityPages > Geometry.MAX_CAPACITY_PAGES) {
            throw new ArenaFormatException("capacity", "capacity out of range: capacityPages=" + capacityPages
                + ", min=" + Geometry.MIN_CAPACITY_PAGES + ", max=" + Geometry.MAX_CAPACITY_PAGES);
        }
        final int metaPages = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.META_PAGES);
        if (metaPages != Geometry.metaPages(capacityPages)) {
            throw new ArenaFormatException("metaPages", "metadata size does not match capacity: metaPages="
                + metaPages + ", expected=" + Geometry.metaPages(capacityPages) + ", capacityPages=" + capacityPages);
        }
        final int flags = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FLAGS);
        if ((flags & ~HeaderLayout.KNOWN_FLAGS) != 0) {
            throw new ArenaFormatException("flags", "unknown flags: flags=0x" + Integer.toHexString(flags));
        }
        final long fixedAddress = s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.FIXED_ADDRESS);
        final boolean fixed = (flags & HeaderLayout.FLAG_FIXED_ADDRESS) != 0;
        if (fixed != (fixedAddress != 0) || (fixedAddress & (ArenaPointers.WINDOW_SIZE - 1)) != 0
            || fixedAddress < 0 || fixedAddress > ArenaPointers.MAX_FIXED_ADDRESS) {
            throw new ArenaFormatException("fixedAddress", "invalid fixed address: fixedAddress=0x"
                + Long.toHexString(fixedAddress) + ", flags=0x" + Integer.toHexString(flags));
        }
        final long capacityBytes = capacityPages * pageSize;
        final int stored = s.get(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.CHECKSUM);
        final int computed = checksum(page);
        if (stored != computed) {
            if (capacityBytes != fileSize) {
                throw new ArenaFormatException("capacity", "capacity disagrees with the file size and the checksum: "
                    + "capacityBytes=" + capacityBytes + ", fileSize=" + fileSize);
            }
            throw new ArenaFormatException("checksum", "header checksum mismatch: stored=0x"
                + Integer.toHexString(stored) + ", computed=0x" + Integer.toHexString(computed));
        }
        if (fileSize != capacityBytes) {
            throw new ArenaFormatException("fileSize", (fileSize < capacityBytes ? "arena file truncated" : "arena file too long")
                + ": fileSize=" + fileSize + ", capacityBytes=" + capacityBytes);
        }
        return new ArenaHeader(version, pageSize, capacityPages, metaPages, flags,
            s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.ARENA_ID),
            s.get(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CREATED_MILLIS), fixedAddress);
    }

    static int checksum(final byte[] page) {
        final CRC32C crc = new CRC32C();
        crc.update(page, 0, HeaderLayout.CHECKSUMMED_LENGTH);
        return (int) crc.getValue();
    }

    /**
     * Writes the header into a freshly created (all-zero) arena mapped at {@code segment}: body and
     * checksum first, then the magic with a release store, so that a creation interrupted at any
     * point leaves a file that {@link #validate} rejects as "not an arena".
     */
    void writeTo(final MemorySegment segment) {
        final byte[] page = new byte[HeaderLayout.PAGE_SIZE_VALUE];
        final MemorySegment s = MemorySegment.ofArray(page);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.MAGIC, HeaderLayout.MAGIC_VALUE);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FORMAT_VERSION, formatVersion);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.PAGE_SIZE, pageSize);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CAPACITY_PAGES, capacityPages);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.META_PAGES, metaPages);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.FLAGS, flags);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.ARENA_ID, arenaId);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.CREATED_MILLIS, createdMillis);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, HeaderLayout.FIXED_ADDRESS, fixedAddress);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, HeaderLayout.CHECKSUM, checksum(page));
        // Everything but the magic word; the magic is published last.
        MemorySegment.copy(s, Long.BYTES, segment, Long.BYTES, HeaderLayout.CHECKSUMMED_LENGTH + Integer.BYTES - Long.BYTES);
        MAGIC_WORD.setRelease(segment, (long) HeaderLayout.MAGIC, HeaderLayout.MAGIC_VALUE);
    }
}
