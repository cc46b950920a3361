package io.plantwatch.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Durations;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.AnomalySpec;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.SimulationSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FleetSimulationTest {

    static final long START = Instant.parse("2026-11-25T08:00:00Z").toEpochMilli();
    static final String TEMP = "site-1/area-1/line-1/machine-1/temp-1";
    static final MqttPayloadCodec CODEC = MqttPayloadCodec.defaults();

    /** 8 sensors at 80 readings/s: each sensor reads every 100 ms. */
    static SimulationSettings settings(long seed, List<AnomalySpec> scheduled) {
        return new SimulationSettings(
                80,
                START,
                Duration.ofSeconds(60),
                1,
                seed,
                scheduled,
                Set.of(),
                0,
                false,
                TopicTemplate.defaults());
    }

    record Run(List<Emission> emissions, List<Label> labels) {
        List<SensorReading> readingsOf(String sensor) {
            return emissions.stream()
                    .filter(e -> e.type() == Emission.Type.READING)
                    .map(Emission::reading)
                    .filter(r -> r.sensorId().id().equals(sensor))
                    .toList();
        }
    }

    static Run run(SimulationSettings s) {
        List<Label> labels = new ArrayList<>();
        FleetSimulation sim = new FleetSimulation(Fleet.generated(8), s, labels::add);
        List<Emission> out = new ArrayList<>();
        sim.forEachRemaining(out::add);
        return new Run(out, labels);
    }

    static AnomalySpec at(String offset, AnomalyKind kind, String duration) {
        return new AnomalySpec(
                Durations.parse(offset), TEMP, kind, Durations.parse(duration), null, null);
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherValues() {
        Run a = run(settings(42, List.of()));
        Run b = run(settings(42, List.of()));
        Run c = run(settings(43, List.of()));
        assertThat(a.emissions()).hasSize(4800);
        for (int i = 0; i < a.emissions().size(); i++) {
            assertThat(a.emissions().get(i).topic()).isEqualTo(b.emissions().get(i).topic());
            assertThat(a.emissions().get(i).payload()).isEqualTo(b.emissions().get(i).payload());
        }
        assertThat(c.readingsOf(TEMP).get(5).value())
                .isNotEqualTo(a.readingsOf(TEMP).get(5).value());
    }

    @Test
    void sensorsInterleaveWithRegularEventTimesAndSequenceNumbers() {
        Run r = run(settings(1, List.of()));
        List<SensorReading> temp = r.readingsOf(TEMP);
        assertThat(temp).hasSize(600);
        for (int k = 0; k < temp.size(); k++) {
            assertThat(temp.get(k).seq()).isEqualTo(k);
            assertThat(temp.get(k).timestamp()).isEqualTo(START + 100L * k);
            assertThat(temp.get(k).value()).isBetween(20.0, 90.0);
        }
        // Publish times never go backwards and follow event time at speed 1.
        long prev = -1;
        for (Emission e : r.emissions()) {
            assertThat(e.publishAtNanos()).isGreaterThanOrEqualTo(prev);
            prev = e.publishAtNanos();
            assertThat(e.publishAtNanos() / 1_000_000).isEqualTo(e.reading().timestamp() - START);
        }
        // Every payload honours the contract.
        for (Emission e : r.emissions()) {
            assertThat(CODEC.decode(e.topic(), e.payload()).value()).isEqualTo(e.reading());
        }
    }

    @Test
    void spikeAddsExactlyItsMagnitudeWhereTheLabelSays() {
        Run clean = run(settings(7, List.of()));
        AnomalySpec spike =
                new AnomalySpec(
                        Durations.parse("5s"),
                        TEMP,
                        AnomalyKind.SPIKE,
                        Durations.parse("2s"),
                        12.0,
                        null);
        Run spiked = run(settings(7, List.of(spike)));
        assertThat(spiked.labels()).hasSize(1);
        Label l = spiked.labels().get(0);
        assertThat(l.sensor()).isEqualTo(TEMP);
        assertThat(l.kind()).isEqualTo(AnomalyKind.SPIKE);
        assertThat(l.startMillis()).isEqualTo(START + 5_000);
        assertThat(l.endMillis()).isEqualTo(START + 6_900);
        assertThat(l.readings()).isEqualTo(20);
        assertThat(l.params()).containsEntry("magnitude", 12.0);
        List<SensorReading> a = clean.readingsOf(TEMP);
        List<SensorReading> b = spiked.readingsOf(TEMP);
        for (int k = 0; k < a.size(); k++) {
            boolean inside =
                    b.get(k).timestamp() >= l.startMillis()
                            && b.get(k).timestamp() <= l.endMillis();
            assertThat(b.get(k).value() - a.get(k).value())
                    .isCloseTo(inside ? 12.0 : 0.0, org.assertj.core.data.Offset.offset(0.0015));
        }
        // Other sensors are untouched by the anomaly.
        String other = "site-1/area-1/line-1/machine-1/pressure-1";
        assertThat(spiked.readingsOf(other)).isEqualTo(clean.readingsOf(other));
    }

    @Test
    void outOfRangeFlatlineAndDriftShapeTheValues() {
        Run r =
                run(
                        settings(
                                3,
                                List.of(
                                        at("2s", AnomalyKind.OUT_OF_RANGE, "3s"),
                                        at("10s", AnomalyKind.FLATLINE, "4s"),
                                        at("20s", AnomalyKind.DRIFT, "5s"))));
        Map<AnomalyKind, Label> byKind =
                r.labels().stream().collect(Collectors.toMap(Label::kind, l -> l));
        List<SensorReading> temp = r.readingsOf(TEMP);
        List<Double> oor = values(temp, byKind.get(AnomalyKind.OUT_OF_RANGE));
        assertThat(oor).hasSize(30).allSatisfy(v -> assertThat(v).isGreaterThan(90.0));
        List<Double> flat = values(temp, byKind.get(AnomalyKind.FLATLINE));
        assertThat(flat).hasSize(40).containsOnly(flat.get(0));
        List<Double> drift = values(temp, byKind.get(AnomalyKind.DRIFT));
        assertThat(drift).hasSize(50);
        assertThat(drift.get(49) - drift.get(0)).isGreaterThan(15.0);
        // Readings just outside each window are normal.
        assertThat(valueAt(temp, byKind.get(AnomalyKind.OUT_OF_RANGE).endMillis() + 100))
                .isLessThan(90.0);
    }

    @Test
    void dropoutLateDuplicateAndMalformedChangeDeliveryNotValues() {
        Run r =
                run(
                        settings(
                                5,
                                List.of(
                                        at("2s", AnomalyKind.DROPOUT, "1s"),
                                        new AnomalySpec(
                                                Durations.parse("10s"),
                                                TEMP,
                                                AnomalyKind.LATE,
                                                Durations.parse("1s"),
                                                null,
                                                Durations.parse("5s")),
                                        at("20s", AnomalyKind.DUPLICATE, "1s"),
                                        at("30s", AnomalyKind.MALFORMED, "1.4s"))));
        Map<AnomalyKind, Label> byKind =
                r.labels().stream().collect(Collectors.toMap(Label::kind, l -> l));
        List<SensorReading> temp = r.readingsOf(TEMP);

        Label dropout = byKind.get(AnomalyKind.DROPOUT);
        assertThat(dropout.readings()).isEqualTo(10);
        assertThat(temp)
                .noneMatch(
                        x ->
                                x.timestamp() >= dropout.startMillis()
                                        && x.timestamp() <= dropout.endMillis());
        assertThat(temp.stream().filter(x -> x.seq() == 20).count()).isZero();

        Label late = byKind.get(AnomalyKind.LATE);
        List<Emission> lateOnes =
                r.emissions().stream()
                        .filter(
                                e ->
                                        e.reading() != null
                                                && e.reading().sensorId().id().equals(TEMP))
                        .filter(
                                e ->
                                        e.reading().timestamp() >= late.startMillis()
                                                && e.reading().timestamp() <= late.endMillis())
                        .toList();
        assertThat(lateOnes).hasSize(10);
        for (Emission e : lateOnes) {
            assertThat(e.publishAtNanos() / 1_000_000)
                    .isEqualTo(e.reading().timestamp() - START + 5_000);
        }
        // Published 5 s late means out of order: a newer reading of the sensor went first.
        int lateIndex = r.emissions().indexOf(lateOnes.get(0));
        assertThat(r.emissions().subList(0, lateIndex))
                .anyMatch(
                        e ->
                                e.reading() != null
                                        && e.reading().sensorId().id().equals(TEMP)
                                        && e.reading().timestamp() > late.endMillis());

        Label dup = byKind.get(AnomalyKind.DUPLICATE);
        long dups =
                r.emissions().stream()
                        .filter(e -> e.type() == Emission.Type.DUPLICATE)
                        .peek(
                                e ->
                                        assertThat(e.reading().timestamp())
                                                .isBetween(dup.startMillis(), dup.endMillis()))
                        .count();
        assertThat(dups).isEqualTo(10);

        Label bad = byKind.get(AnomalyKind.MALFORMED);
        List<Emission> malformed =
                r.emissions().stream().filter(e -> e.type() == Emission.Type.MALFORMED).toList();
        assertThat(malformed).hasSize(14);
        Map<String, Integer> seen = new HashMap<>();
        for (Emission e : malformed) {
            Parsed<SensorReading> p = CODEC.decode(e.topic(), e.payload());
            assertThat(p).isInstanceOf(Parsed.Rejected.class);
            assertThat(((Parsed.Rejected<SensorReading>) p).reason())
                    .isEqualTo(e.expectedRejection());
            seen.merge(e.expectedRejection().code(), 1, Integer::sum);
        }
        assertThat(bad.params().get("reasons")).isEqualTo(seen);
        assertThat(seen).hasSize(7);
    }

    @ParameterizedTest
    @EnumSource(value = AnomalyKind.class, names = "LABELLED", mode = EnumSource.Mode.EXCLUDE)
    void randomAnomaliesAreAllLabelledWithinTheRun(AnomalyKind kind) {
        SimulationSettings s =
                new SimulationSettings(
                        80,
                        START,
                        Duration.ofMinutes(30),
                        Double.POSITIVE_INFINITY,
                        11,
                        List.of(),
                        EnumSet.of(kind),
                        20,
                        false,
                        TopicTemplate.defaults());
        Run r = run(s);
        assertThat(r.labels()).isNotEmpty().allMatch(l -> l.kind() == kind);
        long end = START + Duration.ofMinutes(30).toMillis();
        for (Label l : r.labels()) {
            assertThat(l.startMillis()).isBetween(START, end);
            assertThat(l.endMillis()).isBetween(l.startMillis(), end);
            assertThat(l.readings()).isPositive();
        }
        // About 20 per sensor-hour over 8 sensor-half-hours: 80 expected; the Poisson spread is
        // wide.
        assertThat(r.labels().size()).isBetween(20, 100);
    }

    static List<Double> values(List<SensorReading> rs, Label l) {
        return rs.stream()
                .filter(x -> x.timestamp() >= l.startMillis() && x.timestamp() <= l.endMillis())
                .map(SensorReading::value)
                .toList();
    }

    static double valueAt(List<SensorReading> rs, long ts) {
        return rs.stream().filter(x -> x.timestamp() == ts).findFirst().orElseThrow().value();
    }
}
