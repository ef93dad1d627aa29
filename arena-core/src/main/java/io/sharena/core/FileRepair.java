package io.sharena.core;

import io.sharena.core.layout.Geometry;
import io.sharena.core.layout.HeaderLayout;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.os.NativeFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The arena file itself, checked and repaired through its descriptor, never through a mapping (so
 * nothing here can fault): both header copies, and the file's size against the capacity. A file
 * cut short gets its size back as a hole (sparse), and the report says which pages were lost and
 * how many of them were allocated, from the page-table entries that survived the cut.
 */
final class FileRepair {
    private FileRepair() {
    }

    /** @return what is wrong with the file itself (header copies, size); {@code mapped} says "while mapped" */
    static List<String> problems(final NativeFile file, final boolean mapped) throws IOException {
        final long size = file.size();
        final ArenaHeader.Copies copies = ArenaHeader.read(file, size);
        final List<String> problems = new ArrayList<>(2);
        if (copies.damage() != null) {
            problems.add(copies.damage());
        }
        final long capacity = copies.header().capacityBytes();
        final long cut = size >= CUT_RECORD_END ? recordedCut(file, capacity) : 0;
        if (cut > 0) {
            problems.add("the file was cut to " + cut + " bytes and a check --repair restored its size but did not finish"
                + " (killed?): what the cut reached may still read as zeros inside the structures; check --repair finishes it");
        } else if (cut < 0) {
            problems.add("the header's record of a cut is garbled (a stray write): check --repair clears it");
        }
        if (size < capacity) {
            problems.add(Errors.sizeMismatch(size, capacity) + ": truncated" + (mapped ? " while mapped" : "")
                + " (check --repair restores the size; what was past the end is lost)");
        } else if (size > capacity) {
            problems.add(Errors.sizeMismatch(size, capacity) + ": extended" + (mapped ? " while mapped" : "")
                + " (the bytes past the capacity are not part of the arena; check --repair cuts them off)");
        }
        return problems;
    }

    /** See {@link SharedArena#repairFile(Path)}: {@code file} is open read-write and checked to be a regular file. */
    static List<String> repair(final NativeFile file, final boolean recordCut) throws IOException {
        final List<String> done = new ArrayList<>();
        final long size = file.size();
        final ArenaHeader header = size < HeaderLayout.PAGE_SIZE_VALUE ? primaryOfAStub(file, size)
            : ArenaHeader.read(file, size).header();
        final long capacity = header.capacityBytes();
        if (size >= CUT_RECORD_END && recordedCut(file, capacity) < 0) {
            writeCut(file, 0);
            done.add("cleared the header's garbled record of a cut (a stray write)");
        }
        if (size < capacity) {
            if (recordCut && size >= HeaderLayout.PAGE_SIZE_VALUE) {
                // Recorded before the size is restored, kept until the structures are repaired: a
                // repair killed in between still knows where the zeros begin. An earlier cut whose
                // repair did not finish keeps the lower mark.
                final long before = recordedCut(file, capacity);
                writeCut(file, before > 0 ? Math.min(before, size) : size);
                io.sharena.core.crash.CrashPoints.at(io.sharena.core.internal.CutRepairPoint.CUT_RECORDED);
            }
            file.truncate(capacity);
            io.sharena.core.crash.CrashPoints.at(io.sharena.core.internal.CutRepairPoint.SIZE_RESTORED);
            trustPageStates(file);
            done.add("restored the file size: " + Errors.sizeMismatch(size, header.capacityBytes()) + "; " + lostBy(file, header, size));
        } else if (size > capacity) {
            file.truncate(capacity);
            done.add("cut the file back to its capacity: " + Errors.sizeMismatch(size, header.capacityBytes())
                + " (the bytes past the capacity were not part of the arena)");
        } else if (size >= CUT_RECORD_END && recordedCut(file, capacity) > 0 && trustPageStates(file)) {
            // A repair killed between the size restore and the word above: the cut record says so.
            done.add("told the allocator's repair to take the page states as they read (a repair of a cut"
                + " stopped after restoring the size)");
        }
        final ArenaHeader.Copies copies = ArenaHeader.read(file, capacity);
        if (copies.damage() != null) {
            // Only the copies that differ from the one in use are written, so the good copy is never
            // touched: a crash in the middle of this leaves it whole.
            final byte[] good = copies.header().encode();
            for (final long at : new long[] {HeaderLayout.BACKUP, HeaderLayout.MAGIC}) {
                if (!java.util.Arrays.equals(file.read(at, HeaderLayout.COPY_BYTES), good)) {
                    copies.header().writeCopy(file, at);
                }
            }
            done.add("rewrote the header copies: " + copies.damage());
        }
        if (!done.isEmpty()) {
            file.sync();
        }
        return done;
    }

    /**
     * Tells the allocator's next repair to rebuild its lists from the page states as they read
     * (bit 0 of {@link io.sharena.core.layout.ControlLayout#REPAIR_PENDING}, as a lock takeover
     * does): the pages past the cut read as zeros now, FREE with no run around them, and without it
     * the repair would keep each one allocated as a stray write's. Killed before this write, the
     * next repair finds the file whole and the cut still recorded, and writes it then.
     *
     * @return whether the bit was not set before
     */
    private static boolean trustPageStates(final NativeFile file) throws IOException {
        final long at = io.sharena.core.layout.ControlLayout.word(io.sharena.core.layout.ControlLayout.REPAIR_PENDING);
        final MemorySegment word = MemorySegment.ofArray(file.read(at, Long.BYTES));
        final long was = word.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        if ((was & 1L) != 0) {
            return false;
        }
        word.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, was | 1L);
        file.write(at, word.toArray(ValueLayout.JAVA_BYTE));
        return true;
    }

    /** The end of the cut record: a file shorter than this has no record (nothing of it survived a cut there). */
    private static final long CUT_RECORD_END = HeaderLayout.CUT_CHECK + Long.BYTES;

    /**
     * @return the size a file was cut to that a repair has not finished with ({@link HeaderLayout#CUT_SIZE}),
     * 0 if none, -1 if the record is garbled (its two words disagree, or the size is not one a
     * recorded cut can have)
     */
    static long recordedCut(final NativeFile file, final long capacity) throws IOException {
        final MemorySegment r = MemorySegment.ofArray(file.read(HeaderLayout.CUT_SIZE, (int) CUT_RECORD_END - HeaderLayout.CUT_SIZE));
        return HeaderLayout.cutOf(r.get(ValueLayout.JAVA_LONG_UNALIGNED, 0), r.get(ValueLayout.JAVA_LONG_UNALIGNED, Long.BYTES),
            capacity);
    }

    /** Both words in one write: a kill cannot leave half of it. */
    private static void writeCut(final NativeFile file, final long size) throws IOException {
        final byte[] b = new byte[2 * Long.BYTES];
        final MemorySegment s = MemorySegment.ofArray(b);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, size);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, Long.BYTES, size == 0 ? 0 : ~size);
        file.write(HeaderLayout.CUT_SIZE, b);
    }

    /**
     * The header of a file cut inside its first page, when the primary copy (its first
     * {@link HeaderLayout#COPY_BYTES} bytes) survived whole: every page reads zeros once the size is
     * restored, so the arena comes back empty (its backup copy rewritten from the primary), instead of
     * the file being "not an arena" for good.
     *
     * @throws ArenaFormatException if the primary copy did not survive, or does not validate
     */
    private static ArenaHeader primaryOfAStub(final NativeFile file, final long size) throws IOException {
        if (size < HeaderLayout.COPY_BYTES) {
            return ArenaHeader.read(file, size).header(); // throws: too short for even one copy
        }
        return ArenaHeader.parse(file.read(HeaderLayout.MAGIC, HeaderLayout.COPY_BYTES), HeaderLayout.PAGE_SIZE_VALUE);
    }

    /** What a file cut to {@code size} bytes lost, read from the page table that is left (after the size is restored). */
    private static String lostBy(final NativeFile file, final ArenaHeader header, final long size) throws IOException {
        final long pages = header.capacityPages();
        final long firstUser = 1L + header.metaPages();
        final long firstLost = size / HeaderLayout.PAGE_SIZE_VALUE;
        final StringBuilder b = new StringBuilder("pages ").append(firstLost).append("..").append(pages - 1)
            .append(" read as zeros now (their contents are lost)");
        if (firstLost < firstUser) {
            b.append("; that includes metadata pages ").append(firstLost).append("..").append(firstUser - 1)
                .append(" (control words, process registry or page-table entries: the lock, counters and ")
                .append("registered processes are reset, and pages whose entries were lost read as FREE)");
        }
        // Entries that survived the cut still say which lost pages were handed out.
        final long first = Math.max(firstLost, firstUser);
        final long entriesStart = PageEntry.stateOffset((int) first);
        final long lastWhole = Math.min(pages, (size - entriesStart) / Geometry.PAGE_ENTRY_BYTES + first);
        if (lastWhole > first) {
            final byte[] entries = file.read(entriesStart, (int) Math.min(Integer.MAX_VALUE - 8,
                (lastWhole - first) * Geometry.PAGE_ENTRY_BYTES));
            final MemorySegment e = MemorySegment.ofArray(entries);
            long allocated = 0;
            for (long off = 0; off + Long.BYTES <= entries.length; off += Geometry.PAGE_ENTRY_BYTES) {
                final int state = PageEntry.stateOf(
                    e.get(ValueLayout.JAVA_LONG_UNALIGNED, off));
                allocated += state == PageEntry.ALLOCATED ? 1 : 0;
            }
            b.append("; ").append(allocated).append(" of them allocated (still allocated, now zero)");
        }
        return b.toString();
    }
}
