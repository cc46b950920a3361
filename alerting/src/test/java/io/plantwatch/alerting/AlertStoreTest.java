package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AlertStoreTest {
    @TempDir Path dir;

    private static Alert alert(String id, AlertState state) {
        return new Alert(
                id,
                SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.CRITICAL,
                state,
                1_000,
                state == AlertState.OPEN ? 1_000 : 5_000,
                6_000,
                List.of(60.0, 80.5),
                "oil-temp rose 20.5 degC \"fast\"");
    }

    @Test
    void aRestartKeepsStatesOffsetsAndWhatWasNotifiedAndIgnoresATornLastLine() throws Exception {
        try (AlertStore store = new AlertStore(dir)) {
            store.event(alert("a", AlertState.OPEN), 0, 10, 100);
            store.event(alert("b", AlertState.OPEN), 1, 4, 101);
            store.notified(List.of(alert("a", AlertState.OPEN)));
            store.status("a", AlertStore.Status.ACKNOWLEDGED, "maria", 102);
            store.event(alert("a", AlertState.RESOLVED), 0, 11, 103);
        }
        Files.writeString(
                dir.resolve("alerts.journal"),
                "{\"t\":\"event\",\"parti",
                StandardOpenOption.APPEND);

        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 12L, 1, 5L));
            assertThat(store.unnotified())
                    .extracting(a -> a.alertId() + ":" + a.state())
                    .containsExactly("a:RESOLVED", "b:OPEN");
            AlertStore.Entry a = store.all().get(0);
            assertThat(a.alert()).isEqualTo(alert("a", AlertState.RESOLVED));
            assertThat(a.status()).isEqualTo(AlertStore.Status.RESOLVED);
            assertThat(a.history())
                    .containsExactly("100 OPEN", "102 ACKNOWLEDGED by maria", "103 RESOLVED");
            assertThat(store.all().get(1).status()).isEqualTo(AlertStore.Status.OPEN);
            // Written after the torn line was cut: readable on the next start.
            store.notified(List.of(alert("b", AlertState.OPEN)));
        }
        try (AlertStore store = new AlertStore(dir)) {
            assertThat(store.unnotified()).extracting(Alert::alertId).containsExactly("a");
        }
    }
}
