package io.plantwatch.job.series;

import io.plantwatch.job.CompletenessReport;
import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.util.List;

/**
 * The job's three measurements as InfluxDB line protocol, timestamped in nanoseconds of event time,
 * so a replay writes the same points again and overwrites instead of doubling. Grafana's dashboards
 * query exactly these names ({@code docker/grafana/}).
 */
public final class LineProtocol {
    public static final String READING = "sensor_reading";
    public static final String STATS = "sensor_stats_1m";
    public static final String ALERT = "alert";

    /** Tags every measurement carries: the sensor's place in the plant. */
    public static final List<String> SENSOR_TAGS =
            List.of("site", "area", "line", "machine", "sensor");

    private LineProtocol() {}

    /** {@code sensor_reading,site=..,unit=degC value=21.5 <ns>} */
    public static String reading(SensorReading r) {
        StringBuilder b = new StringBuilder(160).append(READING);
        sensorTags(b, r.sensorId());
        tag(b, "unit", r.unit());
        b.append(" value=").append(r.value());
        return time(b, r.timestamp());
    }

    /**
     * Per sensor and event-time minute: min, max, mean and count of the readings detected on, and
     * the sensor's configured range ({@code range_low}, {@code range_high}) when its out-of-range
     * rule has one, so a dashboard draws the thresholds the job judges by.
     */
    public static String stats(
            SensorId sensor, CompletenessReport c, DetectorRules.OutOfRange range) {
        StringBuilder b = new StringBuilder(200).append(STATS);
        sensorTags(b, sensor);
        b.append(" count=").append(c.received()).append('i');
        // InfluxDB refuses a line with a non-finite number, and the mean of readings near
        // Double.MAX_VALUE overflows: such a field is left out, the rest of the line kept.
        finite(b, "min", c.min());
        finite(b, "max", c.max());
        finite(b, "mean", c.mean());
        b.append(",missing=").append(c.missing()).append('i');
        b.append(",duplicates=").append(c.duplicates()).append('i');
        b.append(",late=").append(c.late()).append('i');
        if (range != null && Double.isFinite(range.low())) {
            b.append(",range_low=").append(range.low());
        }
        if (range != null && Double.isFinite(range.high())) {
            b.append(",range_high=").append(range.high());
        }
        return time(b, c.minute());
    }

    /** Every alert event, at its event time: OPEN at the onset, RESOLVED at the clear. */
    public static String alert(Alert a) {
        StringBuilder b = new StringBuilder(400).append(ALERT);
        sensorTags(b, a.sensorId());
        tag(b, "rule", a.rule());
        tag(b, "kind", a.kind().name());
        tag(b, "severity", a.severity().name());
        b.append(" state=");
        string(b, a.state().name());
        List<Double> values = a.values();
        if (!values.isEmpty() && Double.isFinite(values.get(values.size() - 1))) {
            b.append(",value=").append(values.get(values.size() - 1));
        }
        b.append(",message=");
        string(b, a.message());
        b.append(",alert_id=");
        string(b, a.alertId());
        if (!a.unit().isEmpty()) {
            b.append(",unit=");
            string(b, a.unit());
        }
        // One float field per limit, so a panel can draw the threshold an alert crossed. A name
        // another writer made up that is not a plain word is left out rather than escaped.
        a.limits()
                .forEach(
                        (name, value) -> {
                            if (name.matches("[a-z0-9_]{1,40}")) {
                                b.append(",limit_").append(name).append('=').append(value);
                            }
                        });
        return time(b, a.eventTime());
    }

    private static void sensorTags(StringBuilder b, SensorId id) {
        tag(b, "site", id.site());
        tag(b, "area", id.area());
        tag(b, "line", id.line());
        tag(b, "machine", id.machine());
        tag(b, "sensor", id.sensor());
    }

    private static void finite(StringBuilder b, String field, double v) {
        if (Double.isFinite(v)) {
            b.append(',').append(field).append('=').append(v);
        }
    }

    /**
     * Tag keys and values escape commas, equals signs, spaces and backslashes; empty values are
     * left out. An unescaped backslash at the end of a value would escape the separator after it:
     * InfluxDB 2 reads two backslashes as one.
     */
    private static void tag(StringBuilder b, String key, String value) {
        if (value == null || value.isEmpty()) {
            return;
        }
        b.append(',').append(key).append('=');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == ',' || c == '=' || c == ' ' || c == '\\') {
                b.append('\\');
            } else if (c == '\n' || c == '\r') {
                c = ' ';
                b.append('\\');
            }
            b.append(c);
        }
    }

    /** String field values are quoted; quotes and backslashes escaped, line breaks made spaces. */
    private static void string(StringBuilder b, String value) {
        b.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c == '\n' || c == '\r') {
                b.append(' ');
            } else {
                b.append(c);
            }
        }
        b.append('"');
    }

    private static String time(StringBuilder b, long epochMillis) {
        return b.append(' ').append(epochMillis).append("000000").toString();
    }
}
