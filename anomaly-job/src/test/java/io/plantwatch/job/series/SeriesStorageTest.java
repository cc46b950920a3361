package io.plantwatch.job.series;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.infra.EmbeddedQuestDb;
import io.plantwatch.job.AnomalyPipeline;
import io.plantwatch.job.ReadingWatermarks;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job's storage path into a real server with InfluxDB's v2 write API: QuestDB in-process, or a
 * real InfluxDB 2.x as well when INFLUX_URL, INFLUX_ORG, INFLUX_BUCKET and INFLUX_TOKEN are set:
 * then the counts are also read back from it with Flux, before and after the replay.
 */
class SeriesStorageTest {
    private static final Logger LOG = LoggerFactory.getLogger(SeriesStorageTest.class);
    private static final SensorId OIL =
            SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp");
    private static final SensorId ZONE =
            SensorId.parse("dresden/press-shop/line-2/oven-1/zone-1-temp");

    /** 2026-11-25T00:00:00Z. */
    private static final long T0 = 1_795_564_800_000L;

    private static final String RULES =
            """
            kinds:
              temperature:
                units: [degC]
                rules:
                  spike: {delta: 8, within: 30s, confirm: 1, severity: CRITICAL}
                  out-of-range: {low: 20, high: 210, count: 3, within: 1m}
            """;

    private static EmbeddedQuestDb db;

    @BeforeAll
    static void startServer() throws Exception {
        if (System.getenv("INFLUX_URL") != null) {
            LOG.info("INFLUX_URL is set: the sink writes to it as well as to QuestDB in-process");
        } else {
            LOG.info(
                    "Real InfluxDB 2.x skipped: INFLUX_URL, INFLUX_ORG, INFLUX_BUCKET, INFLUX_TOKEN unset");
        }
        db = new EmbeddedQuestDb().start();
        QuestDbTables.create(db);
    }

    @AfterAll
    static void stopServer() {
        db.close();
    }

    /** 3 minutes at 1 Hz from two sensors; the oil temperature spikes once at 60 s. */
    static List<SensorReading> readings() {
        List<SensorReading> out = new ArrayList<>();
        for (int s = 0; s < 180; s++) {
            double v = 60 + (s % 7) * 0.1 + (s >= 60 && s < 65 ? 20 : 0);
            out.add(new SensorReading(OIL, T0 + s * 1000L, v, "degC", Quality.GOOD, s));
            out.add(
                    new SensorReading(
                            ZONE, T0 + s * 1000L, 180 + (s % 5), "degC", Quality.GOOD, s));
        }
        // One more in minute 4, after a silent minute 3.
        out.add(new SensorReading(OIL, T0 + 240_000, 60, "degC", Quality.GOOD, 240));
        out.add(new SensorReading(ZONE, T0 + 240_000, 180, "degC", Quality.GOOD, 240));
        return out;
    }

    static InfluxSettings settings(String url) {
        return new InfluxSettings(
                url, "plant", "plantwatch", "t0ken", 500, false, Duration.ofSeconds(1));
    }

    private static void run(List<SensorReading> input) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataStream<SensorReading> readings =
                env.fromData(input, TypeInformation.of(SensorReading.class))
                        .assignTimestampsAndWatermarks(
                                ReadingWatermarks.strategy(
                                        Duration.ofSeconds(2),
                                        Duration.ZERO,
                                        Duration.ofDays(3650)));
        RuleBook rules = RuleBook.parse(RULES, "test rules");
        AnomalyPipeline.Outputs out =
                AnomalyPipeline.build(
                        readings,
                        new AnomalyPipeline.Settings(
                                Duration.ofDays(3650).toMillis(), 3_600_000, true),
                        rules);
        SeriesStorage.sink(out, settings(db.url()), rules);
        String real = System.getenv("INFLUX_URL");
        if (real != null) {
            SeriesStorage.sink(
                    out,
                    new InfluxSettings(
                            real,
                            System.getenv("INFLUX_ORG"),
                            System.getenv("INFLUX_BUCKET"),
                            System.getenv("INFLUX_TOKEN"),
                            500,
                            false,
                            Duration.ofSeconds(1)),
                    rules);
        }
        env.execute("series storage test");
    }

    /**
     * Points per measurement of this test's sensors in a real InfluxDB 2.x, counted with Flux; null
     * when none is configured.
     */
    private static Map<String, Long> realCounts() {
        String url = System.getenv("INFLUX_URL");
        if (url == null) {
            return null;
        }
        Map<String, Long> counts = new java.util.TreeMap<>();
        try (com.influxdb.client.InfluxDBClient client =
                com.influxdb.client.InfluxDBClientFactory.create(
                        url,
                        System.getenv("INFLUX_TOKEN").toCharArray(),
                        System.getenv("INFLUX_ORG"),
                        System.getenv("INFLUX_BUCKET"))) {
            for (String[] mf :
                    new String[][] {
                        {LineProtocol.READING, "value"},
                        {LineProtocol.STATS, "count"},
                        {LineProtocol.ALERT, "state"}
                    }) {
                String flux =
                        "from(bucket: \""
                                + System.getenv("INFLUX_BUCKET")
                                + "\") |> range(start: 2026-11-24T00:00:00Z, stop:"
                                + " 2026-11-26T00:00:00Z) |> filter(fn: (r) => r._measurement == \""
                                + mf[0]
                                + "\" and r._field == \""
                                + mf[1]
                                + "\" and r.site == \"dresden\" and (r.sensor == \"oil-temp\" or"
                                + " r.sensor == \"zone-1-temp\")) |> group() |> count()";
                long n = 0;
                for (var table : client.getQueryApi().query(flux)) {
                    for (var record : table.getRecords()) {
                        n += ((Number) record.getValue()).longValue();
                    }
                }
                counts.put(mf[0], n);
            }
        }
        return counts;
    }

    private static long count(String table) throws Exception {
        db.awaitTable(table);
        return db.rows("select count() from " + table).get(0).get(0).asLong();
    }

    @Test
    void readingsMinuteStatisticsAndAlertsArriveWithTheirTagsAndEventTimesAndAReplayDoesNotDouble()
            throws Exception {
        List<SensorReading> input = readings();
        run(input);
        await().atMost(Duration.ofSeconds(30))
                .until(() -> count(LineProtocol.READING) == input.size());
        assertThat(count(LineProtocol.READING)).isEqualTo(input.size());
        JsonNode oil =
                db.rows(
                        "select site, area, line, machine, sensor, unit, value, timestamp from"
                                + " sensor_reading where sensor = 'oil-temp' and timestamp ="
                                + " '2026-11-25T00:01:01.000000Z'");
        assertThat(oil.get(0).toString())
                .isEqualTo(
                        "[\"dresden\",\"press-shop\",\"line-1\",\"press-1\",\"oil-temp\",\"degC\",80.5,"
                                + "\"2026-11-25T00:01:01.000000Z\"]");

        // Minutes 0, 1, 2 and 4 of each sensor (none arrived in minute 3).
        assertThat(count(LineProtocol.STATS)).isEqualTo(8);
        JsonNode minute0 =
                db.rows(
                        "select \"count\", \"min\", \"max\", mean, missing, range_low, range_high from sensor_stats_1m where sensor ="
                                + " 'zone-1-temp' and timestamp = '2026-11-25T00:00:00.000000Z'");
        assertThat(minute0.get(0).toString()).isEqualTo("[60,180.0,184.0,182.0,0,20.0,210.0]");

        // Each table applies its writes on its own (QuestDB's WAL): wait for this one too.
        assertThat(count(LineProtocol.ALERT)).isEqualTo(2);
        JsonNode alerts =
                db.rows(
                        "select sensor, rule, kind, severity, state, alert_id, timestamp from alert"
                                + " order by timestamp");
        assertThat(alerts).hasSize(2);
        assertThat(alerts.get(0).get(0).asText()).isEqualTo("oil-temp");
        assertThat(alerts.get(0).get(2).asText()).isEqualTo("SPIKE");
        assertThat(alerts.get(0).get(3).asText()).isEqualTo("CRITICAL");
        assertThat(alerts.get(0).get(4).asText()).isEqualTo("OPEN");
        assertThat(alerts.get(1).get(4).asText()).isEqualTo("RESOLVED");
        assertThat(alerts.get(1).get(5).asText()).isEqualTo(alerts.get(0).get(5).asText());

        Map<String, Long> realBefore = realCounts();

        // The same readings again, as after a restore from an older checkpoint: overwritten.
        run(input);
        if (realBefore != null) {
            assertThat(realBefore)
                    .containsEntry(LineProtocol.READING, (long) input.size())
                    .containsEntry(LineProtocol.STATS, 8L)
                    .containsEntry(LineProtocol.ALERT, 2L);
            assertThat(realCounts()).isEqualTo(realBefore);
        }
        assertThat(count(LineProtocol.READING)).isEqualTo(input.size());
        assertThat(count(LineProtocol.STATS)).isEqualTo(8);
        assertThat(count(LineProtocol.ALERT)).isEqualTo(2);
    }
}
