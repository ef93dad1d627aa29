package io.sharena.bench.harness;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

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

    /** One chart per suite: each pair's ratio beside its target. */
    static List<Path> ratioCharts(final List<Row> rows, final Path dir) throws IOException {
        final Map<String, List<Row>> bySuite = new LinkedHashMap<>();
        rows.forEach(r -> bySuite.computeIfAbsent(r.suite(), k -> new ArrayList<>()).add(r));
        final List<Path> written = new ArrayList<>();
        for (final Map.Entry<String, List<Row>> e : bySuite.entrySet()) {
            final CategoryChart chart = new CategoryChartBuilder().width(1100).height(600)
                .title("sharena vs baseline: " + e.getKey() + " (ratio as each target reads it)")
                .xAxisTitle("pair").yAxisTitle("ratio (× the baseline)").build();
            chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
            chart.getStyler().setXAxisLabelRotation(20);
            chart.getStyler().setAxisTickLabelsFont(chart.getStyler().getAxisTickLabelsFont().deriveFont(11f));
            final List<String> labels = new ArrayList<>();
            final List<Double> ratios = new ArrayList<>();
            final List<Double> targets = new ArrayList<>();
            for (final Row r : e.getValue()) {
                labels.add(shorten(r.label()));
                ratios.add(r.ratio());
                final Target t = r.target();
                targets.add(t.kind() == Target.Kind.REPORTED || t.kind() == Target.Kind.ABSOLUTE_AT_MOST ? 0.0 : t.value());
            }
            chart.addSeries("measured ratio", labels, ratios);
            chart.addSeries("target (0: none, or an absolute target)", labels, targets);
            final Path png = dir.resolve("ratios-" + e.getKey() + ".png");
            BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            written.add(png);
        }
        return written;
    }

    /** Latency at percentiles of each multi-process scenario that has them. */
    static Path latencyChart(final String suite, final Map<String, double[][]> series, final Path dir)
        throws IOException {
        final CategoryChart chart = new CategoryChartBuilder().width(900).height(550)
            .title(suite + ": cross-process round-trip latency by percentile").xAxisTitle("percentile")
            .yAxisTitle("round trip (ns)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        for (final Map.Entry<String, double[][]> e : series.entrySet()) {
            final List<String> x = new ArrayList<>();
            final List<Double> y = new ArrayList<>();
            for (final double[] p : e.getValue()) {
                x.add("p" + (p[0] == Math.rint(p[0]) ? String.valueOf((long) p[0]) : String.valueOf(p[0])));
                y.add(p[1]);
            }
            chart.addSeries(e.getKey(), x, y);
        }
        final Path png = dir.resolve("latency-" + suite + ".png");
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }

    private static String shorten(final String label) {
        return label.length() <= 38 ? label : label.substring(0, 36) + "…";
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
}
