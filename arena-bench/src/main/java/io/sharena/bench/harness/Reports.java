package io.sharena.bench.harness;

import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes a run's results: JSON, a markdown table, PNG charts, and README's results section. */
final class Reports {
    static final String README_BEGIN = "<!-- bench:begin (written by ./arena bench --update-readme) -->";
    static final String README_END = "<!-- bench:end -->";
    /** Height of one pair's row in a ratio chart. */
    private static final int ROW_PIXELS = 46;
    /** A pair's name is cut to this many characters on the chart (the table has it whole). */
    private static final int LABEL_CHARS = 80;

    private Reports() {
    }

    static String json(final List<Row> rows, final Map<String, String> about) {
        final StringBuilder b = new StringBuilder("{\n  \"about\": {");
        int i = 0;
        for (final Map.Entry<String, String> e : about.entrySet()) {
            b.append(i++ > 0 ? ", " : "").append(q(e.getKey())).append(": ").append(q(e.getValue()));
        }
        b.append("},\n  \"results\": [\n");
        for (int r = 0; r < rows.size(); r++) {
            final Row row = rows.get(r);
            b.append("    {\"suite\": ").append(q(row.suite())).append(", \"benchmark\": ").append(q(row.label()))
                .append(", \"ratio\": ").append(num(row.ratio())).append(", \"ratioReads\": ")
                .append(q(row.target().ratioLabel())).append(", \"target\": ")
                .append(q(row.target().describe(row.sharena().unit()))).append(", \"met\": ")
                .append(row.met() == null ? "null" : row.met().toString())
                .append(",\n     \"sharena\": ").append(figure(row.sharena()))
                .append(",\n     \"baseline\": ").append(figure(row.baseline())).append('}')
                .append(r + 1 < rows.size() ? ",\n" : "\n");
        }
        return b.append("  ]\n}\n").toString();
    }

    private static String figure(final Figure f) {
        return "{\"name\": " + q(f.name()) + ", \"unit\": " + q(f.unit()) + ", \"median\": " + num(f.median())
            + ", \"min\": " + num(f.min()) + ", \"max\": " + num(f.max()) + ", \"runs\": " + f.runs()
            + ", \"bytesPerOp\": " + num(f.bytesPerOp()) + "}";
    }

    private static String num(final double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String q(final String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String markdown(final List<Row> rows, final Map<String, String> about) {
        final StringBuilder b = new StringBuilder();
        b.append("Run: `").append(about.get("command")).append("` (").append(about.get("mode")).append(" mode), ")
            .append(about.get("date")).append(", ").append(about.get("machine")).append(", ")
            .append(about.get("jvm")).append(". Medians; ratios as the target reads them.\n\n");
        b.append("| suite | benchmark | sharena | baseline | ratio | target | met? | B/op (sharena / baseline) |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (final Row r : rows) {
            b.append("| ").append(r.suite()).append(" | ").append(r.label()).append(" | ")
                .append(value(r.sharena())).append(" | ").append(value(r.baseline())).append(" | ")
                .append(String.format(Locale.ROOT, r.ratio() >= 0.1 ? "%.2f" : "%.3g", r.ratio())).append(" | ")
                .append(r.target().describe(r.sharena().unit())).append(" | ")
                .append(r.met() == null ? "—" : r.met() ? "yes" : "**no**").append(" | ")
                .append(bytes(r.sharena())).append(" / ").append(bytes(r.baseline())).append(" |\n");
        }
        return b.toString();
    }

    private static String value(final Figure f) {
        return String.format(Locale.ROOT, f.median() >= 100 ? "%,.0f %s" : "%.2f %s", f.median(), f.unit());
    }

    private static String bytes(final Figure f) {
        return Double.isNaN(f.bytesPerOp()) ? "—" : String.format(Locale.ROOT, "%.2f", f.bytesPerOp());
    }

    /**
     * One chart per suite, one row per pair (named on the left, in the table's order from the top):
     * each pair's ratio (as its target reads it) as a point on a horizontal log axis, so that a 300×
     * pair and a 1.1× pair are both legible; a line at 1 (parity), and each ratio target as a
     * triangle on its pair's row (down: at most, up: at least). Pairs with an absolute target or none
     * have no triangle; their ratio is still shown.
     */
    static List<Path> ratioCharts(final List<Row> rows, final Path dir) throws IOException {
        final Map<String, List<Row>> bySuite = new LinkedHashMap<>();
        rows.forEach(r -> bySuite.computeIfAbsent(r.suite(), k -> new ArrayList<>()).add(r));
        final List<Path> written = new ArrayList<>();
        for (final Map.Entry<String, List<Row>> e : bySuite.entrySet()) {
            // One row per pair, named on the left, the first pair at the top; the ratio runs along a
            // log axis, so 1.1x and 300x both read at a glance, with a line at parity.
            final List<Row> suite = e.getValue();
            final int n = suite.size();
            // Parameters every pair has are said once, in the title, so that the rows name what differs.
            final List<String> common = commonParameters(suite.stream().map(Row::label).toList());
            final XYChart chart = new XYChartBuilder().width(1500).height(150 + ROW_PIXELS * n)
                .title("sharena vs baseline: " + e.getKey() + " (ratio as each target reads it)"
                    + (common.isEmpty() ? "" : "; every pair: " + String.join(", ", common)))
                .xAxisTitle("ratio, log scale (line: 1 = parity)").yAxisTitle(" ").build();
            final XYStyler st = chart.getStyler();
            st.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            st.setXAxisLogarithmic(true);
            st.setLegendPosition(Styler.LegendPosition.OutsideS);
            st.setLegendLayout(Styler.LegendLayout.Horizontal);
            st.setMarkerSize(11);
            st.setAxisTickLabelsFont(st.getAxisTickLabelsFont().deriveFont(11f));
            final List<String> labels = new ArrayList<>();
            final List<Double> y = new ArrayList<>();
            final List<Double> ratios = new ArrayList<>();
            final List<Double> atMostY = new ArrayList<>();
            final List<Double> atMost = new ArrayList<>();
            final List<Double> atLeastY = new ArrayList<>();
            final List<Double> atLeast = new ArrayList<>();
            double lo = 1;
            double hi = 1;
            for (final Row r : suite) {
                final double at = n - labels.size();
                // Numbered: the table's order, and no two labels equal (two pairs cut to one prefix).
                labels.add((labels.size() + 1) + "  " + shorten(withoutParameters(r.label(), common)));
                if (r.ratio() > 0 && Double.isFinite(r.ratio())) {
                    y.add(at);
                    ratios.add(r.ratio());
                    lo = Math.min(lo, r.ratio());
                    hi = Math.max(hi, r.ratio());
                }
                final Target t = r.target();
                if (t.kind() == Target.Kind.RATIO_AT_MOST) {
                    atMostY.add(at);
                    atMost.add(t.value());
                } else if (t.kind() == Target.Kind.FASTER_AT_LEAST || t.kind() == Target.Kind.THROUGHPUT_RATIO_AT_LEAST) {
                    atLeastY.add(at);
                    atLeast.add(t.value());
                }
                if (t.kind() != Target.Kind.REPORTED && t.kind() != Target.Kind.ABSOLUTE_AT_MOST) {
                    lo = Math.min(lo, t.value());
                    hi = Math.max(hi, t.value());
                }
            }
            if (!y.isEmpty()) {
                chart.addSeries("measured ratio", ratios, y).setMarker(SeriesMarkers.CIRCLE);
            }
            if (!atMost.isEmpty()) {
                chart.addSeries("target: at most", atMost, atMostY).setMarker(SeriesMarkers.TRIANGLE_DOWN);
            }
            if (!atLeast.isEmpty()) {
                chart.addSeries("target: at least", atLeast, atLeastY).setMarker(SeriesMarkers.TRIANGLE_UP);
            }
            chart.addAnnotation(new AnnotationLine(1.0, true, false));
            st.setAnnotationTextFont(st.getAnnotationTextFont().deriveFont(10f));
            for (int i = 0; i < y.size(); i++) {
                // The figure itself just above its point: a log axis has few labels to read it from.
                chart.addAnnotation(new AnnotationText(ratioText(ratios.get(i)), ratios.get(i), y.get(i) + 0.32, false));
            }
            st.setXAxisMin(lo / 2);
            st.setXAxisMax(hi * 2);
            st.setYAxisMin(0.4);
            st.setYAxisMax(n + 0.6);
            // A tick on each row.
            st.setYAxisTickMarkSpacingHint(ROW_PIXELS);
            st.setyAxisTickLabelsFormattingFunction(v -> rowLabel(labels, v));
            final Path png = dir.resolve("ratios-" + e.getKey() + ".png");
            BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            written.add(png);
        }
        return written;
    }

    /**
     * Latency by percentile of each multi-process scenario that has them, on HdrHistogram's percentile
     * axis: x is {@code log10(1 / (1 - p))}, so 90 %, 99 %, 99.9 % and 99.99 % are evenly spaced and the
     * tail is as visible as the median; y (ns) is logarithmic. (The x axis is linear in that logarithm
     * and labelled by percentile: XChart 3.8.8 ignores a log axis that has a label function.)
     */
    static Path latencyChart(final String suite, final Map<String, double[][]> series, final Path dir)
        throws IOException {
        final XYChart chart = new XYChartBuilder().width(900).height(550)
            .title(suite + ": cross-process round-trip latency by percentile").xAxisTitle("percentile")
            .yAxisTitle("round trip (ns, log scale)").build();
        final XYStyler st = chart.getStyler();
        st.setLegendPosition(Styler.LegendPosition.InsideNW);
        st.setYAxisLogarithmic(true);
        st.setXAxisMin(0.0);
        st.setXAxisMax(4.5);
        st.setxAxisTickLabelsFormattingFunction(Reports::percentileLabel);
        for (final Map.Entry<String, double[][]> e : series.entrySet()) {
            final List<Double> x = new ArrayList<>();
            final List<Double> y = new ArrayList<>();
            for (final double[] p : e.getValue()) {
                if (p[0] < 100 && p[1] > 0) {
                    x.add(Math.log10(100 / (100 - p[0])));
                    y.add(p[1]);
                }
            }
            if (!x.isEmpty()) {
                chart.addSeries(e.getKey(), x, y).setMarker(SeriesMarkers.CIRCLE);
            }
        }
        final Path png = dir.resolve("latency-" + suite + ".png");
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }

    /**
     * @return the percentile a whole decade of the {@code log10(1 / (1 - p))} axis stands for
     * (0 → "0%", 1 → "90%", 3 → "99.9%"), or "" between them
     */
    static String percentileLabel(final double x) {
        final double decades = Math.rint(x);
        if (Math.abs(x - decades) > 1e-6 || decades < 0) {
            return "";
        }
        final double p = 100 - 100 / Math.pow(10, decades);
        final String text = Math.abs(p - Math.rint(p)) < 1e-9 ? String.valueOf((long) Math.rint(p))
            : String.format(Locale.ROOT, "%.4f", p).replaceAll("0+$", "");
        return text + "%";
    }

    /** @return a ratio as the chart prints it beside its point: three significant digits, then × */
    static String ratioText(final double ratio) {
        return (ratio >= 100 ? String.format(Locale.ROOT, "%,.0f", ratio)
            : ratio >= 10 ? String.format(Locale.ROOT, "%.1f", ratio)
            : ratio >= 0.1 ? String.format(Locale.ROOT, "%.2f", ratio)
            : String.format(Locale.ROOT, "%.3g", ratio)) + "×";
    }

    /**
     * @return {@code label} cut to {@link #LABEL_CHARS}, keeping its parameters ({@code [access=zipf, ...]})
     * whole: its explanations in parentheses go first, then the middle of its text, so that both
     * its start and its end stay (where pairs of one scene differ: "4 connections: p99 ...")
     */
    static String shorten(final String label) {
        if (label.length() <= LABEL_CHARS) {
            return label;
        }
        final int params = parametersStart(label);
        final String tail = params > 0 ? label.substring(params) : "";
        final int room = Math.max(LABEL_CHARS / 3, LABEL_CHARS - tail.length());
        String text = params > 0 ? label.substring(0, params) : label;
        // The explanations in parentheses go first: what is compared is outside them.
        for (int open; text.length() > room && (open = text.lastIndexOf(" (")) > 0; ) {
            final int close = text.indexOf(')', open);
            text = close < 0 ? text.substring(0, open) : text.substring(0, open) + text.substring(close + 1);
        }
        if (text.length() <= room) {
            return text + tail;
        }
        final int head = room * 2 / 5;
        return text.substring(0, head) + "…" + text.substring(text.length() - (room - head - 1)) + tail;
    }

    /**
     * @return the parameters ({@code name=value} in a label's {@code [...]}) that every label of
     * {@code labels} with parameters has, in the first one's order (labels without any, such as a
     * multi-process scenario's, are left out)
     */
    static List<String> commonParameters(final List<String> labels) {
        List<String> common = null;
        for (final String label : labels) {
            final List<String> own = parameters(label);
            if (own.isEmpty()) {
                continue;
            }
            if (common == null) {
                common = new ArrayList<>(own);
            } else {
                common.retainAll(own);
            }
        }
        return common == null ? List.of() : common;
    }

    /** @return where {@code label}'s parameters ({@code " [a=1, b=2]"} at its end) begin, or -1 */
    private static int parametersStart(final String label) {
        return label.endsWith("]") ? label.lastIndexOf(" [") : -1;
    }

    private static List<String> parameters(final String label) {
        final int params = parametersStart(label);
        return params < 0 ? List.of() : List.of(label.substring(params + 2, label.length() - 1).split(", "));
    }

    /** @return {@code label} without the parameters in {@code common} (and without its brackets when none is left) */
    static String withoutParameters(final String label, final List<String> common) {
        final List<String> own = parameters(label);
        if (own.isEmpty() || common.isEmpty()) {
            return label;
        }
        final List<String> left = new ArrayList<>(own);
        left.removeAll(common);
        final String text = label.substring(0, parametersStart(label));
        return left.isEmpty() ? text : text + " [" + String.join(", ", left) + "]";
    }

    /**
     * @return the name of the pair drawn at height {@code y} (the first at the top); off the rows, a
     * blank of its own length for each tick (XChart drops every label of an axis on which two are
     * equal, so two plain blanks would hide the names)
     */
    static String rowLabel(final List<String> labels, final double y) {
        final double row = Math.rint(y);
        if (Math.abs(y - row) > 1e-6 || row < 1 || row > labels.size()) {
            return " ".repeat(1 + (int) Math.floorMod(Math.round(y * 8), 512));
        }
        return labels.get(labels.size() - (int) row);
    }

    /**
     * Copies {@code charts} into {@code dir} (made if missing) under their own names, replacing what
     * a run before left there for the same suites.
     */
    static void publishCharts(final List<Path> charts, final Path dir) throws IOException {
        Files.createDirectories(dir);
        for (final Path chart : charts) {
            Files.copy(chart, dir.resolve(chart.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Replaces README's results section (between the markers) with {@code table}. */
    static void updateReadme(final Path readme, final String table) throws IOException {
        final String text = Files.readString(readme);
        final int begin = text.indexOf(README_BEGIN);
        final int end = text.indexOf(README_END);
        if (begin < 0 || end < begin) {
            throw new IllegalStateException("README has no results section: markers missing, path=" + readme);
        }
        Files.writeString(readme, text.substring(0, begin + README_BEGIN.length()) + "\n\n" + table + "\n"
            + text.substring(end));
    }

    /** @return README's results section as it stands (between the markers), or "" if it has none */
    static String readmeSection(final Path readme) throws IOException {
        final String text = Files.readString(readme);
        final int begin = text.indexOf(README_BEGIN);
        final int end = text.indexOf(README_END);
        return begin < 0 || end < begin ? "" : text.substring(begin + README_BEGIN.length(), end);
    }

    /**
     * The results section after a run of some suites only: the rows of the suites that ran come
     * from {@code table}, the others stay as the section had them, each group under its own run
     * line ({@code Run (suites): ...}), suites in {@code order}.
     *
     * @param old    the section as it stood ({@link #readmeSection})
     * @param table  this run's {@link #markdown} table
     * @param ran    the suites this run measured
     * @param order  every suite, in the order the section lists them
     */
    static String mergeSection(final String old, final String table, final List<String> ran, final List<String> order) {
        final Map<String, List<String>> rows = new LinkedHashMap<>();
        final List<String> runLines = new ArrayList<>();
        String header;
        for (final String line : old.split("\n")) {
            if (line.startsWith("Run")) {
                runLines.add(line);
            } else if (line.startsWith("| ") && !line.startsWith("| suite |")) {
                final String suite = line.substring(2, line.indexOf(' ', 2));
                if (!ran.contains(suite)) {
                    rows.computeIfAbsent(suite, k -> new ArrayList<>()).add(line);
                }
            }
        }
        final List<String> newRows = new ArrayList<>();
        final StringBuilder newHeader = new StringBuilder();
        String newRun = null;
        for (final String line : table.split("\n")) {
            if (line.startsWith("Run")) {
                newRun = line;
            } else if (line.startsWith("| suite |") || line.startsWith("|---")) {
                newHeader.append(newHeader.isEmpty() ? "" : "\n").append(line);
            } else if (line.startsWith("| ")) {
                newRows.add(line);
            }
        }
        // This run's header: the columns are this version's.
        header = newHeader.toString();
        final StringBuilder b = new StringBuilder();
        b.append(labelled(newRun, ran)).append("\n\n");
        for (final String line : runLines) {
            // A line keeps the suites it measured that this run did not.
            final List<String> kept = new ArrayList<>(suitesOf(line, order));
            kept.removeAll(ran);
            kept.retainAll(rows.keySet());
            if (!kept.isEmpty()) {
                b.append(labelled(line, kept)).append("\n\n");
            }
        }
        b.append(header).append('\n');
        for (final String suite : order) {
            if (ran.contains(suite)) {
                newRows.stream().filter(r -> r.startsWith("| " + suite + " |")).forEach(r -> b.append(r).append('\n'));
            } else {
                rows.getOrDefault(suite, List.of()).forEach(r -> b.append(r).append('\n'));
            }
        }
        return b.toString();
    }

    /** @return the suites a run line names ({@code Run (a, b): ...}); every suite for a plain {@code Run: ...} */
    private static List<String> suitesOf(final String runLine, final List<String> order) {
        if (!runLine.startsWith("Run (")) {
            return order;
        }
        return List.of(runLine.substring(5, runLine.indexOf("):")).split(", "));
    }

    private static String labelled(final String runLine, final List<String> suites) {
        final String rest = runLine.substring(runLine.indexOf(": ") + 2);
        return "Run (" + String.join(", ", suites) + "): " + rest;
    }
}
