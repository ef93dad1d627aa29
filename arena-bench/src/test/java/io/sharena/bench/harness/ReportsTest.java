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
        final int[] pairs = {4, 1};
        for (int i = 0; i < charts.size(); i++) {
            final BufferedImage image = ImageIO.read(charts.get(i).toFile());
            assertEquals(1500, image.getWidth(), charts.get(i).toString());
            assertEquals(150 + 46 * pairs[i], image.getHeight(), "a row per pair: " + charts.get(i));
        }
    }

    /**
     * What {@code --update-readme} does with a run's charts: each copied to the charts folder under
     * its own name, replacing the one a run before left for the same suite, the others kept.
     */
    @Test
    void publishedChartsReplaceTheirSuitesOnly() throws Exception {
        final Path shown = temp.resolve("docs").resolve("charts");
        Files.createDirectories(shown);
        Files.writeString(shown.resolve("ratios-alloc.png"), "old alloc");
        Files.writeString(shown.resolve("ratios-store.png"), "old store");
        final List<Path> charts = Reports.ratioCharts(List.of(
            new Row("alloc", "1-page vs CAS", ns("a", 64), ns("c", 5.9), Target.ratioAtMost(6))), Files.createDirectories(temp.resolve("run")));
        Reports.publishCharts(charts, shown);
        assertEquals(1500, ImageIO.read(shown.resolve("ratios-alloc.png").toFile()).getWidth(), "this run's chart");
        assertEquals("old store", Files.readString(shown.resolve("ratios-store.png")), "another suite's kept");
        Reports.publishCharts(charts, temp.resolve("new").resolve("charts"));
        assertTrue(Files.isRegularFile(temp.resolve("new").resolve("charts").resolve("ratios-alloc.png")), "folder made");
    }

    @Test
    void eachPointCarriesItsRatio() {
        assertEquals("255×", Reports.ratioText(254.94));
        assertEquals("11.9×", Reports.ratioText(11.92));
        assertEquals("1.06×", Reports.ratioText(1.0614));
        assertEquals("0.15×", Reports.ratioText(0.1503));
        assertEquals("0.00167×", Reports.ratioText(0.001671));
    }

    @Test
    void aLongPairNameLosesTheMiddleOfItsTextNotItsEndOrItsParameters() {
        assertEquals("1-page vs mmap", Reports.shorten("1-page vs mmap"));
        final String shown = Reports.shorten("get hit into a buffer vs ConcurrentHashMap.get of a byte[] key map, one thread"
            + " [access=uniform, items=1000000]");
        assertEquals("get hit into a buff…a byte[] key map, one thread [access=uniform, items=1000000]", shown);
        assertEquals("tryLock+unlock vs guarded CAS + the count the checker reads + release",
            Reports.shorten("tryLock+unlock vs guarded CAS + the count the checker reads (what it uses to know the lock"
                + " was taken during its reading) + release"), "an explanation in parentheses goes first");
        final String[] rows = {
            "memaslap 90/10 get/set, 32 B keys, 100 B values, 4 connections: server CPU per op vs memcached",
            "memaslap 90/10 get/set, 32 B keys, 100 B values, 16 connections: server CPU per op vs memcached",
            "memaslap 90/10 get/set, 32 B keys, 100 B values, 4 connections: p99 (log2 bucket bound) vs memcached"};
        final java.util.Set<String> distinct = new java.util.HashSet<>();
        for (final String row : rows) {
            final String cut = Reports.shorten(row);
            assertEquals(80, cut.length(), cut);
            assertTrue(cut.startsWith("memaslap 90/10 get/set,") && cut.endsWith("vs memcached"), cut);
            assertTrue(distinct.add(cut), "rows of one scene stay apart: " + cut);
        }
    }

    @Test
    void parametersEveryPairHasAreSaidOnceNotOnEachRow() {
        final List<String> labels = List.of("get vs map [access=uniform, hugePages=true, items=1000000]",
            "set vs map [access=zipf, hugePages=true, items=1000000]", "set vs cache [access=zipf, hugePages=true, items=1000000]");
        final List<String> common = Reports.commonParameters(labels);
        assertEquals(List.of("hugePages=true", "items=1000000"), common);
        assertEquals("get vs map [access=uniform]", Reports.withoutParameters(labels.get(0), common));
        assertEquals("two processes", Reports.withoutParameters("two processes", common));
        assertEquals(List.of("x=1"), Reports.commonParameters(List.of("a [x=1]", "b (two processes)")));
        assertEquals(List.of(), Reports.commonParameters(List.of("a [x=1]", "c [x=2]")));
        assertEquals("a", Reports.withoutParameters("a [x=1]", List.of("x=1")));
    }

    @Test
    void eachRowOfARatioChartIsNamedOnItsAxisTheFirstAtTheTop() {
        final List<String> labels = List.of("first", "second", "third");
        assertEquals("first", Reports.rowLabel(labels, 3));
        assertEquals("second", Reports.rowLabel(labels, 2.0000000001));
        assertEquals("third", Reports.rowLabel(labels, 1));
        final java.util.Set<String> blanks = new java.util.HashSet<>();
        for (final double off : new double[] {1.5, 0, 4, 0.5, 2.5}) {
            final String blank = Reports.rowLabel(labels, off);
            assertTrue(blank.isBlank() && blanks.add(blank), "off the rows: a blank no other tick has, at " + off);
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
