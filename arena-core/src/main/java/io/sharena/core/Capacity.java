package io.sharena.core;

import io.sharena.core.layout.Geometry;

import java.util.Locale;

/**
 * The size of an arena, in whole pages: header and metadata included, so the whole pointer space
 * is at most {@link Geometry#MAX_CAPACITY_PAGES} pages (4 GiB).
 *
 * <p>Bytes are rounded up to whole pages. Zero, negative and too-large values are refused with
 * {@link IllegalArgumentException}; so is a size too small to hold the header, its metadata and one
 * user page.
 */
public final class Capacity {
    private final long pages;

    private Capacity(final long pages) {
        this.pages = pages;
    }

    /** @param pages total pages, header and metadata included */
    public static Capacity ofPages(final long pages) {
        if (pages <= 0) {
            throw Errors.badCapacity("must be positive", "pages=" + pages);
        }
        if (pages > Geometry.MAX_CAPACITY_PAGES) {
            throw Errors.badCapacity("exceeds the 4 GiB pointer space", "pages=" + pages
                + ", max=" + Geometry.MAX_CAPACITY_PAGES);
        }
        if (pages < Geometry.MIN_CAPACITY_PAGES) {
            throw Errors.badCapacity("too small for header, metadata and one page", "pages="
                + pages + ", min=" + Geometry.MIN_CAPACITY_PAGES);
        }
        return new Capacity(pages);
    }

    /** @param bytes total bytes, rounded up to whole pages */
    public static Capacity ofBytes(final long bytes) {
        if (bytes <= 0) {
            throw Errors.badCapacity("must be positive", "bytes=" + bytes);
        }
        if (bytes > Geometry.MAX_CAPACITY_PAGES * Geometry.PAGE_SIZE) {
            throw Errors.badCapacity("exceeds the 4 GiB pointer space", "bytes=" + bytes
                + ", max=" + Geometry.MAX_CAPACITY_PAGES * Geometry.PAGE_SIZE);
        }
        return ofPages((bytes + Geometry.PAGE_SIZE - 1) / Geometry.PAGE_SIZE);
    }

    /**
     * Parses a size such as {@code 4096}, {@code 64K}, {@code 64M}, {@code 4G} (binary units; an
     * optional trailing {@code B} or {@code iB} is accepted) or {@code 100p} (pages).
     */
    public static Capacity parse(final String text) {
        if (text == null || text.isBlank()) {
            throw Errors.badCapacity("missing", "size=" + text);
        }
        String s = text.trim().toUpperCase(Locale.ROOT);
        if (s.endsWith("P")) {
            return ofPages(parseNumber(text, s.substring(0, s.length() - 1)));
        }
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                default -> shift = 0;
            }
        }
        final long number = parseNumber(text, shift == 0 ? s : s.substring(0, s.length() - 1));
        if (number <= 0) {
            throw Errors.badCapacity("must be positive", "size=" + text);
        }
        if (number > (Long.MAX_VALUE >> shift)) {
            throw Errors.badCapacity("exceeds the 4 GiB pointer space", "size=" + text);
        }
        return ofBytes(number << shift);
    }

    private static long parseNumber(final String original, final String digits) {
        try {
            return Long.parseLong(digits);
        } catch (final NumberFormatException e) {
            throw Errors.notASize(original);
        }
    }

    /** @return total pages, header and metadata included */
    public long pages() {
        return pages;
    }

    /** @return total bytes: the file's size */
    public long bytes() {
        return pages * Geometry.PAGE_SIZE;
    }

    @Override
    public boolean equals(final Object o) {
        return o instanceof Capacity c && c.pages == pages;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(pages);
    }

    @Override
    public String toString() {
        return "Capacity[pages=" + pages + ", bytes=" + bytes() + "]";
    }
}
