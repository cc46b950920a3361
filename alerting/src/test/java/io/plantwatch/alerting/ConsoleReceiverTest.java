package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsoleReceiverTest {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());
    private static final SensorId SENSOR =
            SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp");

    /**
     * Opening and resolving lines both carry the plant's time, so a resolution detected late does
     * not print before the opening it ends; the sensor is said once.
     */
    @Test
    void bothLinesCarryTheEventTimeAndNameTheSensorOnce() {
        long start = Instant.parse("2026-12-05T10:00:00Z").toEpochMilli();
        Alert open =
                Alert.open(
                        SENSOR,
                        "out-of-range",
                        AlertKind.OUT_OF_RANGE,
                        Severity.CRITICAL,
                        start,
                        start + 2_000,
                        start + 60_000,
                        List.of(150.0),
                        SENSOR.id() + " is above its high limit 80");
        Alert resolved =
                open.resolve(start + 30_000, start + 61_000, SENSOR.id() + " back to normal");

        String opened = ConsoleReceiver.line(open);
        String ended = ConsoleReceiver.line(resolved);

        assertThat(opened).startsWith(TIME.format(Instant.ofEpochMilli(start + 2_000)) + "  OPEN");
        assertThat(ended)
                .startsWith(TIME.format(Instant.ofEpochMilli(start + 30_000)) + "  RESOLVED");
        assertThat(opened).containsOnlyOnce(SENSOR.id()).endsWith(" is above its high limit 80");
        assertThat(ended).containsOnlyOnce(SENSOR.id()).endsWith(" back to normal");
    }

    /**
     * The summary is sent as the flood starts, so it cannot know how many will be held: it used to
     * print "1 notifications held back" while the metric went on to count every one.
     */
    @Test
    void theFloodSummaryClaimsNoCountAndPointsToTheMetric() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ConsoleReceiver console =
                new ConsoleReceiver(
                        "console",
                        new java.io.PrintStream(
                                bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        console.deliver(
                new Notification(
                        "n-flood", "console", "console/m", Notification.Status.SUMMARY, List.of()),
                new byte[0]);
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8))
                .startsWith("ALERTS  flood limit reached for console: further notifications")
                .contains("plantwatch_alerting_flood_held_total")
                .doesNotContain("1 notifications");
    }

    /** Missing data opens on the wall clock: no reading decides it. */
    @Test
    void missingDataOpensAtItsDetection() {
        long last = Instant.parse("2026-12-05T10:00:00Z").toEpochMilli();
        Alert silent =
                Alert.open(
                        SENSOR,
                        "missing-data",
                        AlertKind.MISSING_DATA,
                        Severity.WARNING,
                        last,
                        last + 300_000,
                        List.of(55.0),
                        SENSOR.id() + " sent nothing for 5m");

        assertThat(ConsoleReceiver.line(silent))
                .startsWith(TIME.format(Instant.ofEpochMilli(last + 300_000)) + "  OPEN");
    }

    /**
     * A message carries the unit from the plant. A unit of ANSI escapes and CR/LF erased the line
     * above and forged a line of its own, a bidi override reversed the rest of the line. The
     * gateway now refuses such units, but alerts made before (in Kafka, in the store) and other
     * messages still reach the console: each such character shows as {@code ?}, one alert is one
     * line.
     */
    @Test
    void controlAndFormatCharactersInTheMessageShowAsQuestionMarks() {
        SensorId id = SensorId.parse("fab/hall/l1/press-1/oil-temp");
        String unit = "\u001b[1A\u001b[2K\rdegC\r\n00:00:00  RESOLVED\u2028\u202e";
        Alert a =
                Alert.open(
                        id,
                        "out-of-range",
                        AlertKind.OUT_OF_RANGE,
                        Severity.WARNING,
                        0,
                        0,
                        List.of(100.0),
                        id + " is above its high limit 80: 100 " + unit);

        String line = ConsoleReceiver.line(a);

        assertThat(line.chars().filter(c -> Character.isISOControl(c)).count()).isZero();
        assertThat(line)
                .containsOnlyOnce("fab/hall/l1/press-1/oil-temp")
                .endsWith("is above its high limit 80: 100 ?[1A?[2K?degC??00:00:00  RESOLVED??")
                .doesNotContain("\u202e", "\u2028");
    }
}
