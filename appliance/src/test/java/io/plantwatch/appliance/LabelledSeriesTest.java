package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.ConfigException;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelledSeriesTest {
    @TempDir Path dir;

    private Path csv() throws Exception {
        Path f = dir.resolve("oven.csv");
        Files.writeString(
                f,
                """
                timestamp,value
                2026-01-01 00:00:00,180.5
                2026-01-01 00:05:00,181.0
                2026-01-01 00:10:00,210.0
                2026-01-01 00:05:00,181.2
                """);
        return f;
    }

    @Test
    void readsNabLabelsForTheFileByItsName() throws Exception {
        Path labels = dir.resolve("labels.json");
        Files.writeString(
                labels,
                """
                {"oven.csv": {"windows": [["2026-01-01 00:05:00.000000", "2026-01-01 00:10:00.000000"]],
                              "labels": ["2026-01-01 00:07:30"]}}
                """);
        LabelledSeries s = LabelledSeries.load(csv(), labels);
        assertThat(s.timestamps()).hasSize(4);
        assertThat(s.outOfOrderRows()).isEqualTo(1);
        assertThat(s.windows()).hasSize(1);
        assertThat(s.windows().get(0).point())
                .isEqualTo(LabelledSeries.time("2026-01-01 00:07:30"));
        assertThat(s.windowRows()).containsExactly(new int[] {1, 3});
    }

    @Test
    void readsTheSimulatorsLabelFileAsWindows() throws Exception {
        Path labels = dir.resolve("labels.jsonl");
        long start = LabelledSeries.time("2026-01-01 00:05:00");
        try (LabelFile f = LabelFile.create(labels)) {
            f.write(
                    new Label(
                            "s/a/l/m/oven",
                            AnomalyKind.SPIKE,
                            start,
                            start + 300_000,
                            2,
                            Map.of()));
        }
        LabelledSeries s = LabelledSeries.load(csv(), labels);
        assertThat(s.windows())
                .containsExactly(new LabelledSeries.Window(start, start + 300_000, start));
    }

    @Test
    void aFileWithoutNabsHeaderIsRefusedWithTheReason() throws Exception {
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "time;value\n");
        assertThatThrownBy(() -> LabelledSeries.load(bad, bad))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("expected NAB's CSV with the header timestamp,value");
    }
}
