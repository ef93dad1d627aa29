package io.sharena.core;

import java.nio.file.Path;

/**
 * A snapshot of what an arena is and what it costs: header fields, where this process mapped it,
 * how much of the file is resident in memory and allocated on disk, and the state of the file itself.
 *
 * @param residentBytes bytes of the mapping resident in memory ({@code mincore})
 * @param diskBytes     bytes of the file that hold data rather than holes ({@code SEEK_DATA})
 * @param fileSize      the file's size now ({@code fstat}); differs from {@link #capacityBytes()} when
 *                      another process truncated or extended it while mapped
 * @param headerDamage  what is wrong with one of the two header copies ("" when both are good)
 */
public record ArenaInfo(Path path, int formatVersion, int pageSize, long capacityPages, int metaPages, int flags,
                        long arenaId, long createdMillis, long fixedAddress, long windowBase, long mappedBytes,
                        long residentBytes, long diskBytes, long fileSize, String headerDamage) {

    /** @return the arena's size in bytes, which is the file's size when nobody has resized it */
    public long capacityBytes() {
        return capacityPages * pageSize;
    }

    /** @return the first page that is not header or metadata */
    public long firstUserPage() {
        return 1L + metaPages;
    }
}
