package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TopicTemplateTest {

    @Test
    void defaultNamespaceMapsTopicsToSensorIdsAndBack() {
        TopicTemplate t = TopicTemplate.defaults();
        SensorId id = t.parse("plant/s1/a1/l1/m1/temp").value();
        assertThat(id.id()).isEqualTo("s1/a1/l1/m1/temp");
        assertThat(t.topicFor(id)).isEqualTo("plant/s1/a1/l1/m1/temp");
        assertThat(t.subscriptionFilter()).isEqualTo("plant/#");
    }

    @Test
    void customTemplatesMayReorderOmitAndAddLiteralLevels() {
        TopicTemplate t = new TopicTemplate("acme/v1", "{site}/{machine}/telemetry/{sensor}");
        SensorId id = t.parse("acme/v1/berlin/mill-2/telemetry/spindle-temp").value();
        assertThat(id)
                .isEqualTo(new SensorId("berlin", "default", "default", "mill-2", "spindle-temp"));
        assertThat(t.topicFor(id)).isEqualTo("acme/v1/berlin/mill-2/telemetry/spindle-temp");
        assertThat(t.parse("acme/v1/berlin/mill-2/status/spindle-temp").isOk()).isFalse();
    }

    @Test
    void brokenTemplatesAreRefusedWithTheReason() {
        assertThatThrownBy(() -> new TopicTemplate("plant", "{site}/{cell}/{sensor}"))
                .hasMessageContaining("unknown placeholder {cell}");
        assertThatThrownBy(() -> new TopicTemplate("plant", "{site}/{machine}"))
                .hasMessageContaining("must contain {sensor}");
        assertThatThrownBy(() -> new TopicTemplate("plant/+", "{sensor}"))
                .hasMessageContaining("forbidden character");
        assertThatThrownBy(() -> new TopicTemplate("plant", "{sensor}/{sensor}"))
                .hasMessageContaining("appears twice");
    }

    @Test
    void emptyLevelsAreRejected() {
        Parsed<SensorId> p = TopicTemplate.defaults().parse("plant/s1//l1/m1/temp");
        assertThat(p.isOk()).isFalse();
        assertThat(((Parsed.Rejected<SensorId>) p).detail()).contains("area is empty");
    }

    @Test
    void sensorIdValidationNamesTheLevel() {
        assertThatThrownBy(() -> SensorId.parse("a/b/c/d"))
                .hasMessageContaining("must have 5 levels");
        assertThatThrownBy(() -> new SensorId("a", "b", "c", "d#", "e"))
                .hasMessageContaining("machine 'd#' contains a forbidden character");
    }
}
