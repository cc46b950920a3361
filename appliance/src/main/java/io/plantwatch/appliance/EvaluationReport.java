package io.plantwatch.appliance;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.time.Millisecond;
import org.jfree.data.time.TimeSeries;
import org.jfree.data.time.TimeSeriesCollection;

/**
 * The scores of one evaluation: windows detected, false alerts, lead times, the same per detector
 * kind, NAB's score, and the alarm-management figures ISA-18.2 practice uses. Written as JSON, as
 * Markdown and as a chart.
 */
final class EvaluationReport {
    /** More alerts than this in a 10-minute period is a flood (ISA-18.2). */
    static final int FLOOD = 10;

    /** Opened this many times within {@link #CHATTER_MILLIS} is chattering. */
    static final int CHATTER_COUNT = 3;

    static final long CHATTER_MILLIS = 60_000;

    private static final long TEN_MINUTES = 600_000;

    final LabelledSeries series;
    final List<Alert> opened = new ArrayList<>();
    final List<Alert> detecting = new ArrayList<>();
    final List<Alert> falseAlerts = new ArrayList<>();
    final List<Double> leadMinutes = new ArrayList<>();
    final boolean[] windowDetected;
    final Map<AlertKind, int[]> perKind = new EnumMap<>(AlertKind.class);
    final double nabScore;
    final double alertsPer10Min;
    final int peakPer10Min;
    final double floodShare;
    final int chattering;

    EvaluationReport(LabelledSeries series, List<Alert> events) {
        this.series = series;
        for (Alert a : events) {
            if (a.state() != AlertState.RESOLVED
                    && opened.stream().noneMatch(o -> o.alertId().equals(a.alertId()))) {
                opened.add(a);
            }
        }
        opened.sort(java.util.Comparator.comparingLong(Alert::eventTime));
        List<LabelledSeries.Window> windows = series.windows();
        windowDetected = new boolean[windows.size()];
        for (int w = 0; w < windows.size(); w++) {
            LabelledSeries.Window win = windows.get(w);
            for (Alert a : opened) {
                if (a.eventTime() >= win.start() && a.eventTime() <= win.end()) {
                    if (!windowDetected[w]) {
                        leadMinutes.add((win.point() - a.eventTime()) / 60_000.0);
                    }
                    windowDetected[w] = true;
                }
            }
        }
        for (Alert a : opened) {
            boolean inside =
                    windows.stream()
                            .anyMatch(w -> a.eventTime() >= w.start() && a.eventTime() <= w.end());
            (inside ? detecting : falseAlerts).add(a);
            perKind.computeIfAbsent(a.kind(), k -> new int[2])[inside ? 0 : 1]++;
        }

        long[] ts = series.timestamps();
        boolean[] flagged = new boolean[ts.length];
        Map<Long, Integer> row = new HashMap<>();
        for (int i = 0; i < ts.length; i++) {
            row.putIfAbsent(ts[i], i);
        }
        for (Alert a : opened) {
            Integer i = row.get(a.eventTime());
            if (i != null) {
                flagged[i] = true;
            }
        }
        nabScore = NabScore.score(ts, flagged, series.windowRows(), NabScore.STANDARD);

        long first = java.util.Arrays.stream(ts).min().orElse(0);
        long span = Math.max(1, java.util.Arrays.stream(ts).max().orElse(0) - first);
        int periods = (int) (span / TEN_MINUTES) + 1;
        int[] bins = new int[periods];
        for (Alert a : opened) {
            int b = (int) ((a.eventTime() - first) / TEN_MINUTES);
            if (b >= 0 && b < periods) {
                bins[b]++;
            }
        }
        int peak = 0;
        int floods = 0;
        for (int b : bins) {
            peak = Math.max(peak, b);
            if (b > FLOOD) {
                floods++;
            }
        }
        alertsPer10Min = opened.size() / (double) periods;
        peakPer10Min = peak;
        floodShare = floods / (double) periods;
        Map<String, List<Long>> byRule = new LinkedHashMap<>();
        for (Alert a : opened) {
            byRule.computeIfAbsent(a.sensorId().id() + "|" + a.rule(), k -> new ArrayList<>())
                    .add(a.eventTime());
        }
        int chatter = 0;
        for (List<Long> times : byRule.values()) {
            for (int i = 0; i + CHATTER_COUNT - 1 < times.size(); i++) {
                if (times.get(i + CHATTER_COUNT - 1) - times.get(i) <= CHATTER_MILLIS) {
                    chatter++;
                    break;
                }
            }
        }
        chattering = chatter;
    }

    int windowsDetected() {
        int n = 0;
        for (boolean d : windowDetected) {
            n += d ? 1 : 0;
        }
        return n;
    }

    ObjectNode json() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("series", series.name());
        o.put("rows", series.timestamps().length);
        o.put("windows_total", series.windows().size());
        o.put("windows_detected", windowsDetected());
        o.put("false_alerts", falseAlerts.size());
        ArrayNode lead = o.putArray("lead_minutes");
        leadMinutes.forEach(lead::add);
        o.put("nab_score", Math.round(nabScore * 1000) / 1000.0);
        o.put("alerts", opened.size());
        ObjectNode kinds = o.putObject("per_kind");
        perKind.forEach(
                (k, v) ->
                        kinds.putObject(k.name())
                                .put("in_windows", v[0])
                                .put("false_alerts", v[1]));
        ObjectNode isa = o.putObject("alarm_management");
        isa.put("alerts_per_10_minutes", Math.round(alertsPer10Min * 10_000) / 10_000.0);
        isa.put("peak_per_10_minutes", peakPer10Min);
        isa.put("flood_share", floodShare);
        isa.put("chattering_alerts", chattering);
        return o;
    }

    void writeJson(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        new ObjectMapper()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(file.toFile(), json());
    }

    /** report.md and chart.png in {@code dir}. */
    void writeReport(Path dir, String rulesFile) throws IOException {
        Files.createDirectories(dir);
        chart(dir.resolve("chart.png"));
        StringBuilder b = new StringBuilder();
        b.append("# Evaluation of ").append(series.name()).append("\n\n");
        b.append(
                String.format(
                        Locale.ROOT,
                        "%,d readings from %s to %s, rules %s, replayed through Kafka and the"
                                + " anomaly job in event time.%n%n",
                        series.timestamps().length,
                        Instant.ofEpochMilli(series.timestamps()[0]),
                        Instant.ofEpochMilli(series.timestamps()[series.timestamps().length - 1]),
                        rulesFile));
        b.append("![series, labelled windows and alerts](chart.png)\n\n");
        b.append("| score | value |\n|---|---|\n");
        b.append(
                String.format(
                        Locale.ROOT,
                        "| windows detected | %d of %d |%n",
                        windowsDetected(),
                        series.windows().size()));
        b.append("| false alerts | ").append(falseAlerts.size()).append(" |\n");
        b.append(String.format(Locale.ROOT, "| NAB score (standard profile) | %.3f |%n", nabScore));
        b.append(
                String.format(
                        Locale.ROOT,
                        "| alerts per 10 minutes (average, peak) | %.4f, %d |%n",
                        alertsPer10Min,
                        peakPer10Min));
        b.append(
                String.format(
                        Locale.ROOT,
                        "| 10-minute periods in flood (more than %d) | %.2f %% |%n",
                        FLOOD,
                        floodShare * 100));
        b.append("| chattering alerts (3 opens within 60 s) | ")
                .append(chattering)
                .append(" |\n\n");
        b.append("| window | labelled point | detected | lead time |\n|---|---|---|---|\n");
        int lead = 0;
        for (int w = 0; w < series.windows().size(); w++) {
            LabelledSeries.Window win = series.windows().get(w);
            b.append("| ")
                    .append(Instant.ofEpochMilli(win.start()))
                    .append(" to ")
                    .append(Instant.ofEpochMilli(win.end()))
                    .append(" | ")
                    .append(Instant.ofEpochMilli(win.point()))
                    .append(" | ")
                    .append(windowDetected[w] ? "yes" : "**missed**")
                    .append(" | ")
                    .append(
                            windowDetected[w]
                                    ? String.format(
                                            Locale.ROOT, "%.0f min", leadMinutes.get(lead++))
                                    : "")
                    .append(" |\n");
        }
        b.append("\n| detector kind | alerts in windows | false alerts |\n|---|---|---|\n");
        perKind.forEach(
                (k, v) ->
                        b.append("| ")
                                .append(k)
                                .append(" | ")
                                .append(v[0])
                                .append(" | ")
                                .append(v[1])
                                .append(" |\n"));
        b.append("\nAlerts:\n\n");
        for (Alert a : opened) {
            b.append("- ")
                    .append(Instant.ofEpochMilli(a.eventTime()))
                    .append(falseAlerts.contains(a) ? " (false) " : " ")
                    .append(a.kind())
                    .append(": ")
                    .append(a.message())
                    .append('\n');
        }
        Files.writeString(dir.resolve("report.md"), b.toString(), StandardCharsets.UTF_8);
    }

    private void chart(Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        TimeSeries values = new TimeSeries(series.name());
        for (int i = 0; i < series.timestamps().length; i++) {
            values.addOrUpdate(
                    new Millisecond(new java.util.Date(series.timestamps()[i])),
                    series.values()[i]);
        }
        TimeSeriesCollection data = new TimeSeriesCollection(values);
        JFreeChart chart =
                ChartFactory.createTimeSeriesChart(
                        series.name() + ": labelled windows shaded, alerts marked by kind",
                        "time (UTC)",
                        "value",
                        data,
                        true,
                        false,
                        false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.getRenderer().setSeriesPaint(0, new Color(70, 70, 70));
        plot.getRenderer().setSeriesStroke(0, new BasicStroke(0.6f));
        for (LabelledSeries.Window w : series.windows()) {
            IntervalMarker m = new IntervalMarker(w.start(), w.end());
            m.setPaint(new Color(255, 200, 0));
            m.setAlpha(0.35f);
            plot.addDomainMarker(m);
        }
        TimeSeriesCollection marks = new TimeSeriesCollection();
        Map<AlertKind, TimeSeries> byKind = new EnumMap<>(AlertKind.class);
        Map<Long, Double> valueAt = new HashMap<>();
        for (int i = 0; i < series.timestamps().length; i++) {
            valueAt.put(series.timestamps()[i], series.values()[i]);
        }
        for (Alert a : opened) {
            TimeSeries s =
                    byKind.computeIfAbsent(
                            a.kind(),
                            k -> {
                                TimeSeries t = new TimeSeries("alert " + k);
                                marks.addSeries(t);
                                return t;
                            });
            s.addOrUpdate(
                    new Millisecond(new java.util.Date(a.eventTime())),
                    valueAt.getOrDefault(a.eventTime(), 0.0));
        }
        plot.setDataset(1, marks);
        XYLineAndShapeRenderer dots = new XYLineAndShapeRenderer(false, true);
        Color[] palette = {Color.RED, Color.BLUE, new Color(0, 150, 0), Color.MAGENTA, Color.CYAN};
        for (int i = 0; i < marks.getSeriesCount(); i++) {
            dots.setSeriesPaint(i, palette[i % palette.length]);
            dots.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-5, -5, 10, 10));
        }
        plot.setRenderer(1, dots);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 1800, 600);
    }
}
