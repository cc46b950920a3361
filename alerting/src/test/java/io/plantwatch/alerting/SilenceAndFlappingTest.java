package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorGlob;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SilenceAndFlappingTest {
    private static Alert alert(String sensor, AlertState state) {
        return new Alert(
                "id",
                SensorId.parse(sensor),
                "rule",
                AlertKind.SPIKE,
                Severity.WARNING,
                state,
                0,
                0,
                0,
                List.of(1.0),
                "m");
    }

    private static final String LINE1 = "dresden/press-shop/line-1/press-1/oil-temp";
    private static final String LINE2 = "dresden/press-shop/line-2/oven-1/zone-1-temp";

    @Test
    void aSilenceMutesExactlyItsLineForItsTimeRange() {
        Instant from = Instant.parse("2026-11-25T08:00:00Z");
        Silence s =
                new Silence(
                        "s1",
                        List.of(),
                        Map.of("line", List.of("line-1")),
                        from,
                        from.plus(Duration.ofHours(2)),
                        null,
                        "maintenance",
                        "hydraulics");
        assertThat(s.mutes(alert(LINE1, AlertState.OPEN), from)).isTrue();
        assertThat(s.mutes(alert(LINE2, AlertState.OPEN), from)).isFalse();
        assertThat(s.mutes(alert(LINE1, AlertState.OPEN), from.minusSeconds(1))).isFalse();
        assertThat(s.mutes(alert(LINE1, AlertState.OPEN), from.plus(Duration.ofHours(2))))
                .isFalse();
    }

    @Test
    void aRecurringMaintenanceWindowCoversItsDaysAcrossMidnight() {
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        Silence weekly =
                new Silence(
                        "w1",
                        List.of(new SensorGlob("dresden/press-shop/**")),
                        Map.of(),
                        Instant.parse("2026-01-01T00:00:00Z"),
                        Instant.parse("2027-01-01T00:00:00Z"),
                        new Silence.Recurring(
                                Set.of(DayOfWeek.SATURDAY),
                                LocalTime.of(22, 0),
                                Duration.ofHours(8),
                                berlin),
                        "planner",
                        "weekly shutdown");
        // Saturday 2026-11-28 22:00 Berlin is 21:00 UTC; the window runs to Sunday 06:00 Berlin.
        assertThat(
                        weekly.mutes(
                                alert(LINE1, AlertState.OPEN),
                                Instant.parse("2026-11-28T20:59:59Z")))
                .isFalse();
        assertThat(
                        weekly.mutes(
                                alert(LINE1, AlertState.OPEN),
                                Instant.parse("2026-11-28T21:00:00Z")))
                .isTrue();
        assertThat(
                        weekly.mutes(
                                alert(LINE1, AlertState.OPEN),
                                Instant.parse("2026-11-29T04:59:59Z")))
                .isTrue();
        assertThat(
                        weekly.mutes(
                                alert(LINE1, AlertState.OPEN),
                                Instant.parse("2026-11-29T05:00:00Z")))
                .isFalse();
        assertThat(
                        weekly.mutes(
                                alert("leipzig/a/b/c/d", AlertState.OPEN),
                                Instant.parse("2026-11-28T22:00:00Z")))
                .isFalse();
    }

    @Test
    void aSilenceWithoutMatchersIsRefused() {
        assertThatThrownBy(
                        () ->
                                new Silence(
                                        "x",
                                        List.of(),
                                        Map.of(),
                                        Instant.EPOCH,
                                        Instant.EPOCH.plusSeconds(1),
                                        null,
                                        "me",
                                        ""))
                .hasMessageContaining("whole plant");
    }

    @Test
    void anAlertThatChattersIsToldOnceAsFlappingAndCalmsDownAfterAQuietWindow() {
        FlapDetector flap = new FlapDetector(4, 600_000);
        List<FlapDetector.Verdict> verdicts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            verdicts.add(
                    flap.onTransition(
                            alert(LINE1, i % 2 == 0 ? AlertState.OPEN : AlertState.RESOLVED),
                            i * 30_000L));
        }
        assertThat(verdicts.subList(0, 4)).containsOnly(FlapDetector.Verdict.NOTIFY);
        assertThat(verdicts.get(4)).isEqualTo(FlapDetector.Verdict.STARTED_FLAPPING);
        assertThat(verdicts.subList(5, 10)).containsOnly(FlapDetector.Verdict.SUPPRESS);
        assertThat(flap.isFlapping(alert(LINE1, AlertState.OPEN))).isTrue();
        // Quiet for a whole window: the next change is told again.
        assertThat(flap.onTransition(alert(LINE1, AlertState.OPEN), 270_000 + 600_000))
                .isEqualTo(FlapDetector.Verdict.NOTIFY);
        assertThat(flap.isFlapping(alert(LINE1, AlertState.OPEN))).isFalse();
    }
}
