package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.OTHER;
import static io.plantwatch.job.Harnesses.SENSOR;
import static io.plantwatch.job.Harnesses.reading;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole topology on a MiniCluster (parallelism 2) from an in-memory source: the CEP patterns,
 * the keyed detectors and the lifecycle together, through real network shuffles and serialization.
 */
class AnomalyPipelineTest {
    static final String RULES =
            """
            kinds:
              temperature:
                units: [degC]
                rules:
                  spike: {delta: 8, within: 30s, confirm: 1, name: oil-spike, off-delay: 5s}
                  out-of-range: {high: 95, count: 3, within: 1m, deadband: 2, name: oil-range, off-delay: 5s}
                  flatline: {epsilon: 0.001, duration: 30s, count: 20, name: oil-stuck}
            """;

    /** 10 minutes at 1 Hz, with one spike, one excursion and one stuck period, and duplicates. */
    static List<SensorReading> readings() {
        List<SensorReading> out = new ArrayList<>();
        for (int s = 0; s < 600; s++) {
            double normal = 65 + Math.sin(s / 7.0) * 0.8;
            double v = normal;
            if (s >= 120 && s < 125) {
                v = normal + 15; // spike
            } else if (s >= 300 && s < 310) {
                v = 100; // out of range
            } else if (s >= 450 && s < 500) {
                v = 64.2; // stuck
            }
            out.add(reading(s * 1000L, v, s));
            out.add(reading(OTHER, s * 1000L, normal, s));
            if (s % 50 == 0) {
                out.add(reading(s * 1000L, v, s)); // a gateway duplicate
            }
        }
        return out;
    }

    static List<Alert> run(List<SensorReading> input, String rules) throws Exception {
        return run(input, rules, false);
    }

    /**
     * @param inPlace whether the input is first split by sensor, as Kafka partitions keyed by
     *     sensor id are, and detected on in place ({@link InPlaceKeys}); else shuffled by sensor
     */
    static List<Alert> run(List<SensorReading> input, String rules, boolean inPlace)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataStream<SensorReading> unordered =
                env.fromData(input, TypeInformation.of(SensorReading.class));
        if (inPlace) {
            unordered =
                    unordered
                            .keyBy(new AnomalyPipeline.ReadingKey())
                            .map(r -> r)
                            .returns(SensorReadingTypeInfo.INSTANCE);
        }
        DataStream<SensorReading> readings =
                unordered.assignTimestampsAndWatermarks(
                        ReadingWatermarks.strategy(
                                Duration.ofSeconds(2), Duration.ZERO, Duration.ofDays(3650)));
        AnomalyPipeline.Outputs out =
                AnomalyPipeline.build(
                        readings,
                        new AnomalyPipeline.Settings(
                                Duration.ofDays(3650).toMillis(), 3_600_000, false, inPlace),
                        RuleBook.parse(rules, "test rules"));
        List<Alert> alerts = new ArrayList<>();
        try (CloseableIterator<Alert> it = out.alerts().executeAndCollect("pipeline test")) {
            it.forEachRemaining(alerts::add);
        }
        return alerts;
    }

    /**
     * The shipped rules have ten pattern shapes. Each used to get a shuffle and a task of its own;
     * now the observations cross the network once and every shape's CEP operator chains behind it.
     */
    @Test
    void everyPatternShapeRunsInOneTaskBehindOneShuffle() throws Exception {
        RuleBook rules = AnomalyJob.loadRules(null);
        int shapes = rules.spikeShapes().size() + rules.outOfRangeShapes().size();
        assertThat(shapes).as("shapes in the shipped rules").isGreaterThan(2);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataStream<SensorReading> readings =
                env.fromData(readings(), TypeInformation.of(SensorReading.class))
                        .assignTimestampsAndWatermarks(
                                ReadingWatermarks.strategy(
                                        Duration.ofSeconds(2),
                                        Duration.ZERO,
                                        Duration.ofDays(3650)));
        AnomalyPipeline.Outputs out =
                AnomalyPipeline.build(
                        readings, new AnomalyPipeline.Settings(3_600_000, 3_600_000), rules);
        out.alerts().sinkTo(new DiscardingSink<>());
        List<JobVertex> vertices = new ArrayList<>();
        env.getStreamGraph().getJobGraph().getVertices().forEach(vertices::add);

        List<JobVertex> withPatterns =
                vertices.stream().filter(v -> v.getName().contains("CEP")).toList();
        assertThat(withPatterns).hasSize(1);
        JobVertex patterns = withPatterns.get(0);
        assertThat(patterns.getName()).startsWith(AnomalyPipeline.PATTERN_INPUT);
        assertThat(patterns.getOperatorIDs()).hasSize(1 + 2 * shapes);
        // Its one input is the shuffle from the detectors.
        assertThat(patterns.getInputs()).hasSize(1);
    }

    @ParameterizedTest(name = "in place: {0}")
    @ValueSource(booleans = {false, true})
    void eachInjectedFaultOpensAndResolvesItsAlerts(boolean inPlace) throws Exception {
        List<Alert> alerts = run(readings(), RULES, inPlace);

        // The jump to 100 at 300 s is out of range and, rising 35 degC at once, a spike as well.
        assertThat(alerts)
                .extracting(a -> a.sensorId() + " " + a.rule() + " " + a.state())
                .containsExactlyInAnyOrder(
                        SENSOR + " oil-spike OPEN",
                        SENSOR + " oil-spike RESOLVED",
                        SENSOR + " oil-spike OPEN",
                        SENSOR + " oil-spike RESOLVED",
                        SENSOR + " oil-range OPEN",
                        SENSOR + " oil-range RESOLVED",
                        SENSOR + " oil-stuck OPEN",
                        SENSOR + " oil-stuck RESOLVED");
        Alert spike = alerts.stream().filter(a -> a.rule().equals("oil-spike")).findFirst().get();
        assertThat(spike.episodeStart()).isEqualTo(Harnesses.T0 + 120_000);
        assertThat(spike.message()).contains("rose from").contains("degC within 30 s");
        Alert range = alerts.stream().filter(a -> a.rule().equals("oil-range")).findFirst().get();
        assertThat(range.episodeStart()).isEqualTo(Harnesses.T0 + 300_000);
        assertThat(range.message()).contains("above its high limit 95");
        Alert stuck = alerts.stream().filter(a -> a.rule().equals("oil-stuck")).findFirst().get();
        assertThat(stuck.episodeStart()).isEqualTo(Harnesses.T0 + 450_000);
        // Each episode's OPEN and RESOLVED share one id.
        assertThat(alerts.stream().map(Alert::alertId).distinct()).hasSize(4);

        // The rule's limits as numbers, in the rule's order; the range's open low side left out.
        assertThat(alerts).allSatisfy(a -> assertThat(a.unit()).isEqualTo("degC"));
        Map<String, Map<String, Double>> limits = new HashMap<>();
        alerts.forEach(
                a -> assertThat(limits.putIfAbsent(a.rule(), a.limits())).isIn(null, a.limits()));
        assertThat(limits.get("oil-spike"))
                .containsExactly(
                        Map.entry("rise", 8.0),
                        Map.entry("within_s", 30.0),
                        Map.entry("confirm", 1.0));
        assertThat(limits.get("oil-range"))
                .containsExactly(
                        Map.entry("high", 95.0),
                        Map.entry("deadband", 2.0),
                        Map.entry("count", 3.0),
                        Map.entry("within_s", 60.0));
        assertThat(limits.get("oil-stuck"))
                .containsExactly(
                        Map.entry("epsilon", 0.001),
                        Map.entry("min_s", 30.0),
                        Map.entry("min_count", 20.0));
    }

    @ParameterizedTest(name = "in place: {0}")
    @ValueSource(booleans = {false, true})
    void theSameInputGivesTheSameAlertIdsAndStates(boolean inPlace) throws Exception {
        List<String> first = idsAndStates(run(readings(), RULES, inPlace));
        List<SensorReading> reversedPerSecond = new ArrayList<>(readings());
        // Out of order within the 2 s bound: swap every pair of seconds.
        for (int i = 0; i + 5 < reversedPerSecond.size(); i += 6) {
            List<SensorReading> block = new ArrayList<>(reversedPerSecond.subList(i, i + 6));
            java.util.Collections.reverse(block);
            for (int j = 0; j < 6; j++) {
                reversedPerSecond.set(i + j, block.get(j));
            }
        }
        assertThat(idsAndStates(run(reversedPerSecond, RULES, inPlace))).isEqualTo(first);
    }

    private static List<String> idsAndStates(List<Alert> alerts) {
        return alerts.stream().map(a -> a.alertId() + " " + a.state()).sorted().toList();
    }
}
