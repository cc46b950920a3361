package io.plantwatch.appliance;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.ConfigException;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.List;

/**
 * A series to evaluate on and its labelled anomaly windows. The series is NAB's {@code
 * timestamp,value} CSV (timestamps in UTC, as NAB has no time zone). The labels are NAB's
 * labels.json (a map from file name to {@code windows} of [start, end] and the {@code labels}
 * points they centre on), or the simulator's label file (JSON lines; each label a window, its point
 * the start of an injected anomaly, the middle of a labelled window: see {@link #point}).
 */
record LabelledSeries(String name, long[] timestamps, double[] values, List<Window> windows) {

    /** One labelled window: [start, end] and the point it is centred on, epoch ms. */
    record Window(long start, long end, long point) {}

    private static final DateTimeFormatter TIME =
            new DateTimeFormatterBuilder()
                    .appendPattern("yyyy-MM-dd HH:mm:ss")
                    .optionalStart()
                    .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
                    .optionalEnd()
                    .toFormatter();

    static long time(String text) {
        return LocalDateTime.parse(text.trim().replace('T', ' '), TIME)
                .toInstant(ZoneOffset.UTC)
                .toEpochMilli();
    }

    static LabelledSeries load(Path series, Path labels) throws IOException {
        List<String> lines = Files.readAllLines(series, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).trim().equalsIgnoreCase("timestamp,value")) {
            throw new ConfigException(
                    series + ": expected NAB's CSV with the header timestamp,value");
        }
        long[] ts = new long[lines.size() - 1];
        double[] vs = new double[lines.size() - 1];
        int n = 0;
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty()) {
                continue;
            }
            int comma = line.indexOf(',');
            try {
                ts[n] = time(line.substring(0, comma));
                vs[n] = Double.parseDouble(line.substring(comma + 1));
            } catch (RuntimeException e) {
                throw new ConfigException(
                        series + " line " + (i + 1) + ": not timestamp,value: " + line, e);
            }
            n++;
        }
        String name = series.getFileName().toString();
        return new LabelledSeries(
                name,
                java.util.Arrays.copyOf(ts, n),
                java.util.Arrays.copyOf(vs, n),
                windows(labels, name));
    }

    private static List<Window> windows(Path labels, String name) throws IOException {
        List<Window> out = new ArrayList<>();
        String text = Files.readString(labels, StandardCharsets.UTF_8).strip();
        if (text.startsWith("{\"sensor\"") || labels.toString().endsWith(".jsonl")) {
            for (Label l : labelFile(labels)) {
                out.add(new Window(l.startMillis(), l.endMillis(), point(l)));
            }
            return out;
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(text);
        } catch (JsonProcessingException e) {
            String where =
                    e.getLocation() == null ? "" : " line " + e.getLocation().getLineNr() + ":";
            throw new ConfigException(
                    labels
                            + " is neither NAB's labels.json nor the simulator's label file"
                            + " (JSON lines):"
                            + where
                            + " "
                            + e.getOriginalMessage(),
                    e);
        }
        if (root == null || !root.isObject()) {
            throw new ConfigException(
                    labels + " is not NAB's labels.json: expected a JSON object of file names");
        }
        JsonNode entry = root.get(name);
        if (entry == null) {
            throw new ConfigException(
                    labels
                            + " has no entry for "
                            + name
                            + "; it has "
                            + root.properties().stream().map(java.util.Map.Entry::getKey).toList());
        }
        JsonNode windows = entry.isArray() ? entry : entry.path("windows");
        JsonNode points = entry.path("labels");
        for (int i = 0; i < windows.size(); i++) {
            try {
                long start = time(windows.get(i).get(0).asText());
                long end = time(windows.get(i).get(1).asText());
                long point = i < points.size() ? time(points.get(i).asText()) : (start + end) / 2;
                out.add(new Window(start, end, point));
            } catch (RuntimeException e) {
                throw new ConfigException(
                        labels
                                + ": window "
                                + (i + 1)
                                + " of "
                                + name
                                + " is not [start, end] with times like 2014-02-07 14:55:00: "
                                + windows.get(i),
                        e);
            }
        }
        return out;
    }

    /**
     * Where lead time is measured from. An injected anomaly's start is its onset. A labelled window
     * (the simulator's replay of NAB's labels.json) is centred on NAB's labelled point, as NAB
     * draws its windows, so its middle is that point: both label formats give the same lead.
     */
    static long point(Label l) {
        return l.kind() == AnomalyKind.LABELLED
                ? l.startMillis() + (l.endMillis() - l.startMillis()) / 2
                : l.startMillis();
    }

    private static List<Label> labelFile(Path labels) {
        try {
            return LabelFile.read(labels);
        } catch (JsonProcessingException e) {
            String where =
                    e.getLocation() == null ? "" : " line " + e.getLocation().getLineNr() + ":";
            throw new ConfigException(
                    labels
                            + " is not the simulator's label file (JSON lines):"
                            + where
                            + " "
                            + e.getOriginalMessage(),
                    e);
        } catch (IllegalArgumentException e) {
            // The simulator's own reader names the file and the line.
            throw new ConfigException(e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException(
                    labels
                            + " is not the simulator's label file: each line needs sensor, kind,"
                            + " start_ms, end_ms and readings",
                    e);
        }
    }

    /**
     * Rows stamped at or before an earlier row (real recordings have clock jumps). They are
     * replayed as recorded; the job sets aside those behind its watermark, as it would live.
     */
    int outOfOrderRows() {
        int n = 0;
        long max = Long.MIN_VALUE;
        for (long t : timestamps) {
            if (t <= max) {
                n++;
            }
            max = Math.max(max, t);
        }
        return n;
    }

    /**
     * The windows as [first row, last row] indices of the series; windows with no rows are left
     * out.
     */
    List<int[]> windowRows() {
        List<int[]> rows = new ArrayList<>();
        for (Window w : windows) {
            int first = -1;
            int last = -1;
            for (int i = 0; i < timestamps.length; i++) {
                if (timestamps[i] >= w.start() && timestamps[i] <= w.end()) {
                    if (first < 0) {
                        first = i;
                    }
                    last = i;
                }
            }
            if (first >= 0) {
                rows.add(new int[] {first, last});
            }
        }
        return rows;
    }
}
