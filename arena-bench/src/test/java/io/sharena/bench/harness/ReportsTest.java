package io.sharena.bench.harness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The charts: one ratio chart per suite and the percentile chart are written as real PNG images. */
class ReportsTest {
    @TempDir
    Path temp;
    /** {@code -Dsharena.charts.dir=DIR} keeps the charts there, to look at them. */
    Path dir;

    @org.junit.jupiter.api.BeforeEach
    void where() throws Exception {
        final String keep = System.getProperty("sharena.charts.dir");
        dir = keep == null ? temp : Files.createDirectories(Path.of(keep));
    }

    private static Figure ns(final String name, final double v) {
        return new Figure(name, "ns/op", v, v, v, 5, 0);
    }

    @Test
    void percentileAxisLabels() {
        assertEquals("0%", Reports.percentileLabel(0));
        assertEquals("", Reports.percentileLabel(0.5));
        assertEquals("90%", Reports.percentileLabel(1));
        assertEquals("99%", Reports.percentileLabel(2));
        assertEquals("99.9%", Reports.percentileLabel(3));
        assertEquals("99.99%", Reports.percentileLabel(4));
        assertEquals("", Reports.percentileLabel(1.5));
        assertEquals("", Reports.percentileLabel(0.3));
    }

    @Test
    void ratioChartsOnePerSuiteWithEveryKindOfTarget() throws Exception {
        final List<Row> rows = List.of(
            new Row("alloc", "1-page vs mmap", ns("a", 64), ns("m", 7223), Target.fasterAtLeast(40)),
            new Row("alloc", "1-page vs CAS", ns("a", 64), ns("c", 5.9), Target.ratioAtMost(6)),
            new Row("alloc", "16-page", ns("a", 880), ns("m", 7350), Target.absoluteAtMost(500)),
            new Row("alloc", "17-page vs mmap", ns("a", 74_000), ns("m", 7350), Target.reported()),
            new Row("lock", "tryLock", ns("t", 8.3), ns("c", 5.9), Target.ratioAtMost(1.2)));
        final List<Path> charts = Reports.ratioCharts(rows, dir);
        assertEquals(List.of(dir.resolve("ratios-alloc.png"), dir.resolve("ratios-lock.png")), charts);
        for (final Path png : charts) {
            final BufferedImage image = ImageIO.read(png.toFile());
            assertEquals(1100, image.getWidth(), png.toString());
            assertEquals(600, image.getHeight(), png.toString());
        }
    }

    @Test
    void latencyChartOnThePercentileAxis() throws Exception {
        final Map<String, double[][]> series = new LinkedHashMap<>();
        series.put("channel", new double[][] {{50, 150}, {90, 170}, {99, 200}, {99.9, 900}, {99.99, 20_000}});
        series.put("bare word", new double[][] {{50, 130}, {90, 140}, {99, 160}, {99.9, 700}, {99.99, 15_000}});
        final Path png = Reports.latencyChart("ipc", series, dir);
        assertTrue(Files.size(png) > 0);
        assertEquals(900, ImageIO.read(png.toFile()).getWidth());
    }
}
