package io.plantwatch.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.CsvSeries;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import io.plantwatch.sim.mqtt.MqttSettings;
import io.plantwatch.sim.mqtt.SimulatorException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code sensor-sim replay FILE}: a recorded CSV series, event time kept from the file. */
@Command(
        name = "replay",
        mixinStandardHelpOptions = true,
        description = {
            "Publish a CSV time series: NAB's timestamp,value (one sensor), or a ;-separated file"
                    + " with a datetime column and one column per sensor."
        })
final class ReplayCommand implements Callable<Integer> {

    private static final MqttPayloadCodec CODEC = MqttPayloadCodec.defaults();

    @Spec CommandSpec spec;

    @Mixin MqttOptions mqtt;

    @Parameters(index = "0", paramLabel = "FILE", description = "The CSV file.")
    Path file;

    @Option(
            names = "--speed",
            defaultValue = "max",
            description =
                    "Event time per wall time, e.g. 3600x, or max (default: ${DEFAULT-VALUE}).")
    String speed;

    @Option(
            names = "--sensor",
            description =
                    "Sensor id site/area/line/machine/sensor for a one-column file (default: replay/area-1/line-1/machine-1/<file name>).")
    String sensor;

    @Option(
            names = "--sensor-prefix",
            defaultValue = "replay/area-1/line-1/machine-1",
            description =
                    "site/area/line/machine of a multi-column file; each column names a sensor (default: ${DEFAULT-VALUE}).")
    String sensorPrefix;

    @Option(names = "--unit", defaultValue = "", description = "Unit of the values, e.g. degC.")
    String unit;

    @Option(
            names = "--time-zone",
            defaultValue = "UTC",
            description = "Zone of timestamps written without one (default: ${DEFAULT-VALUE}).")
    ZoneId zone;

    @Option(
            names = "--start-time",
            description = "Shift event times so the first row is at this instant.")
    Instant startTime;

    @Option(names = "--end-at-now", description = "Shift event times so the last row is now.")
    boolean endAtNow;

    @Option(
            names = "--labels-in",
            description = "Labels of the file: NAB's labels.json, or a sensor-sim label file.")
    Path labelsIn;

    @Option(names = "--labels", description = "Write the labels, shifted like the readings, here.")
    Path labelsOut;

    @Mixin PublishOptions publishing;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (labelsIn != null && labelsOut == null) {
            // --labels-in is only ever written out again: without --labels it would be ignored,
            // and a script would believe its labels had gone along with the replay.
            throw new IllegalArgumentException(
                    "--labels-in "
                            + labelsIn
                            + " is passed through to --labels, which is missing; add --labels FILE");
        }
        if (labelsIn != null && !Files.isRegularFile(labelsIn)) {
            throw new IllegalArgumentException(labelsIn + " (--labels-in) does not exist");
        }
        CsvSeries series = CsvSeries.read(file, zone);
        List<SensorId> ids = sensorIds(series);
        long shift = 0;
        if (startTime != null && endAtNow) {
            throw new IllegalArgumentException("use --start-time or --end-at-now, not both");
        } else if (startTime != null) {
            shift = startTime.toEpochMilli() - series.firstTimestamp();
        } else if (endAtNow) {
            shift = System.currentTimeMillis() - series.lastTimestamp();
        }
        if (labelsOut != null) {
            writeLabels(series, ids, shift);
        }
        double sp = Speed.parse(speed);
        TopicTemplate topics = mqtt.topics();
        MqttSettings ms = mqtt.settings();
        long readings =
                series.rows().stream()
                        .mapToLong(
                                r ->
                                        java.util.Arrays.stream(r.values())
                                                .filter(v -> !Double.isNaN(v))
                                                .count())
                        .sum();
        err.printf(
                Locale.ROOT,
                "sensor-sim: replaying %s: %,d rows, %d sensor(s), %s .. %s, speed %s%n",
                file,
                series.rows().size(),
                ids.size(),
                Instant.ofEpochMilli(series.firstTimestamp() + shift),
                Instant.ofEpochMilli(series.lastTimestamp() + shift),
                speed);
        PublishRun.Result r =
                PublishRun.execute(
                        ms,
                        new Rows(series, ids, topics, shift, sp),
                        !Double.isInfinite(sp),
                        publishing.maxInFlight,
                        readings,
                        publishing.quiet,
                        err,
                        () -> false);
        out.printf(
                Locale.ROOT,
                "sensor-sim: replayed %,d of %,d readings from %s to %s in %.1f s: %,.0f readings/s; %,d failed%n",
                r.readings(),
                readings,
                file.getFileName(),
                ms.describe(),
                r.stats().elapsedNanos() / 1e9,
                r.stats().ratePerSecond(),
                r.stats().failed());
        out.printf(
                Locale.ROOT,
                "published=%d failed=%d rate=%.1f%n",
                r.readings(),
                r.stats().failed(),
                r.stats().ratePerSecond());
        out.flush();
        if (r.stats().failed() > 0) {
            throw new SimulatorException(
                    SimulatorException.EXIT_PUBLISH_FAILED,
                    r.stats().failed() + " publishes failed, first: " + r.stats().firstError(),
                    null);
        }
        return 0;
    }

    private List<SensorId> sensorIds(CsvSeries series) {
        List<SensorId> ids = new ArrayList<>();
        if (series.columns().size() == 1) {
            String stem = file.getFileName().toString().replaceFirst("\\.[^.]*$", "");
            ids.add(SensorId.parse(sensor != null ? sensor : sensorPrefix + "/" + level(stem)));
            return ids;
        }
        if (sensor != null) {
            throw new IllegalArgumentException(
                    "--sensor names one sensor, but "
                            + file
                            + " has "
                            + series.columns().size()
                            + " value columns; use --sensor-prefix");
        }
        for (String c : series.columns()) {
            ids.add(SensorId.parse(sensorPrefix + "/" + level(c)));
        }
        return ids;
    }

    /** A column or file name made into a valid topic level. */
    private static String level(String name) {
        String l = name.trim().replaceAll("[/+#\\s]+", "-");
        return l.isEmpty() ? "value" : l;
    }

    private void writeLabels(CsvSeries series, List<SensorId> ids, long shift) throws IOException {
        List<Label> labels = new ArrayList<>();
        if (labelsIn != null) {
            String text = Files.readString(labelsIn).strip();
            if (!text.isEmpty() && !text.startsWith("{")) {
                throw new IllegalArgumentException(
                        labelsIn
                                + " (--labels-in) is neither NAB's labels.json nor a sensor-sim"
                                + " label file: it does not start with {");
            }
            if (!text.isEmpty() && !isLabelLine(text.lines().findFirst().orElse(""))) {
                labels.addAll(nabWindows(text, series, ids.get(0), shift));
            } else {
                for (Label l : LabelFile.read(labelsIn)) {
                    labels.add(
                            new Label(
                                    l.sensor(),
                                    l.kind(),
                                    l.startMillis() + shift,
                                    l.endMillis() + shift,
                                    l.readings(),
                                    l.params()));
                }
            }
        }
        try (LabelFile out = LabelFile.create(labelsOut)) {
            for (Label l : labels) {
                out.write(l);
            }
        }
    }

    /** A label file's first line is a whole object with a sensor; NAB's JSON spans lines. */
    private static boolean isLabelLine(String line) {
        try {
            JsonNode n = new ObjectMapper().readTree(line);
            return n != null && n.isObject() && n.has("sensor");
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    private List<Label> nabWindows(String json, CsvSeries series, SensorId id, long shift) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            String where =
                    e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
            throw new IllegalArgumentException(
                    labelsIn + " is not valid JSON" + where + ": " + e.getOriginalMessage(), e);
        }
        String name = file.getFileName().toString();
        List<Label> labels = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!e.getKey().equals(name) && !e.getKey().endsWith("/" + name)) {
                continue;
            }
            // NAB's combined_windows.json maps a file to its windows; the dataset's labels.json
            // nests them under "windows" beside the point "labels".
            JsonNode windows =
                    e.getValue().isObject() ? e.getValue().path("windows") : e.getValue();
            for (JsonNode w : windows) {
                if (!w.isArray() || w.size() != 2) {
                    throw new IllegalArgumentException(
                            labelsIn
                                    + ": a window of "
                                    + e.getKey()
                                    + " is not [start, end]: "
                                    + w);
                }
                long start = CsvSeries.parseTime(w.get(0).asText(), zone, labelsIn, 0);
                long end = CsvSeries.parseTime(w.get(1).asText(), zone, labelsIn, 0);
                int inside =
                        (int)
                                series.rows().stream()
                                        .filter(r -> r.timestamp() >= start && r.timestamp() <= end)
                                        .count();
                labels.add(
                        new Label(
                                id.id(),
                                AnomalyKind.LABELLED,
                                start + shift,
                                end + shift,
                                inside,
                                Map.of("source", e.getKey())));
            }
        }
        if (labels.isEmpty()) {
            throw new IllegalArgumentException(labelsIn + " has no windows for " + name);
        }
        return labels;
    }

    /** The rows as emissions, one per non-empty cell, scheduled by event time over speed. */
    private final class Rows implements Iterator<Emission> {
        private final CsvSeries series;
        private final List<SensorId> ids;
        private final List<String> topicNames = new ArrayList<>();
        private final long shift;
        private final double speed;
        private int row;
        private int col;
        private Emission next;

        Rows(CsvSeries series, List<SensorId> ids, TopicTemplate topics, long shift, double speed) {
            this.series = series;
            this.ids = ids;
            this.shift = shift;
            this.speed = speed;
            for (SensorId id : ids) {
                topicNames.add(topics.topicFor(id));
            }
        }

        @Override
        public boolean hasNext() {
            while (next == null && row < series.rows().size()) {
                CsvSeries.Row r = series.rows().get(row);
                double v = r.values()[col];
                if (!Double.isNaN(v)) {
                    SensorReading reading =
                            new SensorReading(
                                    ids.get(col),
                                    r.timestamp() + shift,
                                    v,
                                    unit,
                                    Quality.GOOD,
                                    row);
                    long at =
                            Double.isInfinite(speed)
                                    ? 0
                                    : (long)
                                            ((r.timestamp() - series.firstTimestamp())
                                                    * 1e6
                                                    / speed);
                    next =
                            new Emission(
                                    at,
                                    topicNames.get(col),
                                    CODEC.encode(reading),
                                    Emission.Type.READING,
                                    reading,
                                    null);
                }
                if (++col == ids.size()) {
                    col = 0;
                    row++;
                }
            }
            return next != null;
        }

        @Override
        public Emission next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Emission e = next;
            next = null;
            return e;
        }
    }
}
