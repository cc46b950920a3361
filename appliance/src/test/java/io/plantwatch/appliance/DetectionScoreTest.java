package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DetectionScoreTest {
    private static final String SENSOR = "dresden/press-shop/line-1/press-1/oil-temp";
    private static final long START = 1_000_000;

    @Test
    void anInjectionFoundFirstByAnotherRuleSaysWhetherItsOwnRuleFiredToo() {
        Label excursion = label(AnomalyKind.OUT_OF_RANGE);
        DetectionScore both =
                new DetectionScore(
                        List.of(excursion),
                        List.of(
                                open(AlertKind.SPIKE, START + 1_500),
                                open(AlertKind.OUT_OF_RANGE, START + 4_000)));
        assertThat(both.findings.get(0).describe())
                .isEqualTo("found in 1.5 s as SPIKE, as OUT_OF_RANGE in 4.0 s");
        assertThat(both.findings.get(0).latencyMillis()).isEqualTo(1_500);

        DetectionScore otherOnly =
                new DetectionScore(
                        List.of(excursion), List.of(open(AlertKind.SPIKE, START + 1_500)));
        assertThat(otherOnly.findings.get(0).describe())
                .isEqualTo("found in 1.5 s as SPIKE, no OUT_OF_RANGE alert");
    }

    @Test
    void anInjectionFoundFirstByItsOwnRuleIsSaidOnce() {
        DetectionScore own =
                new DetectionScore(
                        List.of(label(AnomalyKind.DROPOUT)),
                        List.of(open(AlertKind.MISSING_DATA, START + 15_000)));
        assertThat(own.findings.get(0).describe()).isEqualTo("found in 15.0 s as MISSING_DATA");

        DetectionScore none = new DetectionScore(List.of(label(AnomalyKind.SPIKE)), List.of());
        assertThat(none.findings.get(0).describe()).isEqualTo("MISSED");
        assertThat(none.detected()).isZero();
    }

    private static Label label(AnomalyKind kind) {
        return new Label(SENSOR, kind, START, START + 10_000, 10, Map.of());
    }

    private static Alert open(AlertKind kind, long detectedAt) {
        return Alert.open(
                SensorId.parse(SENSOR),
                kind.name().toLowerCase(java.util.Locale.ROOT),
                kind,
                Severity.WARNING,
                START + 500,
                detectedAt,
                List.of(1.0),
                "m");
    }
}
