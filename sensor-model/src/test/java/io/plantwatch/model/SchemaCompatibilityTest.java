package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Fails the build when a schema change breaks older readers or older data. The rules: a version,
 * once released, is never edited (the golden records below still decode); a new version only
 * appends fields, each with a default; every pair of versions is compatible both ways by Avro's own
 * rules.
 */
class SchemaCompatibilityTest {

    @ParameterizedTest
    @ValueSource(strings = {AvroReadingCodec.FAMILY, AvroAlertCodec.FAMILY})
    void everyVersionIsCompatibleBothWaysWithEveryOther(String family) {
        SchemaHistory h = SchemaHistory.load(family);
        for (int older = 1; older <= h.currentVersion(); older++) {
            for (int newer = older; newer <= h.currentVersion(); newer++) {
                Schema o = h.version(older);
                Schema n = h.version(newer);
                assertThat(compatibility(n, o))
                        .as("%s v%d reading v%d data", family, newer, older)
                        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
                assertThat(compatibility(o, n))
                        .as("%s v%d reading v%d data (old readers)", family, older, newer)
                        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {AvroReadingCodec.FAMILY, AvroAlertCodec.FAMILY})
    void newerVersionsOnlyAppendFieldsWithDefaults(String family) {
        // Old readers decode a newer record up to the fields they know; that only works when the
        // fields they know come first, unchanged.
        SchemaHistory h = SchemaHistory.load(family);
        for (int v = 2; v <= h.currentVersion(); v++) {
            List<Schema.Field> before = h.version(v - 1).getFields();
            List<Schema.Field> after = h.version(v).getFields();
            assertThat(after.size())
                    .as("%s v%d has fewer fields", family, v)
                    .isGreaterThan(before.size());
            for (int i = 0; i < before.size(); i++) {
                assertThat(after.get(i).name()).isEqualTo(before.get(i).name());
                assertThat(after.get(i).schema()).isEqualTo(before.get(i).schema());
            }
            for (int i = before.size(); i < after.size(); i++) {
                assertThat(after.get(i).hasDefaultValue())
                        .as("%s v%d field %s needs a default", family, v, after.get(i).name())
                        .isTrue();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void releasedReadingVersionsStillDecode(int version) throws IOException {
        byte[] golden = golden("sensor-reading-v" + version + ".hex");
        SensorReading expected =
                new SensorReading(
                        SensorId.parse("dresden/press-shop/line-1/press-3/temp-1"),
                        1764064800123L,
                        71.5,
                        "degC",
                        Quality.UNCERTAIN,
                        99);
        assertThat(new AvroReadingCodec().decode(golden).value()).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void releasedAlertVersionsStillDecode(int version) throws IOException {
        byte[] golden = golden("alert-v" + version + ".hex");
        Alert a = new AvroAlertCodec().decode(golden).value();
        assertThat(a.alertId()).isEqualTo("7f5f8b51-4d6a-3a7e-9d0e-000000000001");
        assertThat(a.kind()).isEqualTo(AlertKind.SPIKE);
        assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
        assertThat(a.values()).containsExactly(60.0, 75.5);
        assertThat(a.message()).isEqualTo("back to normal");
        // v1 had neither: read as not said.
        assertThat(a.unit()).isEmpty();
        assertThat(a.limits()).isEmpty();
    }

    /** Written by Avro's own encoder from v2.avsc, not by the codec under test. */
    @Test
    void alertV2StillDecodesWithItsUnitAndLimitsInOrder() throws IOException {
        Alert a = new AvroAlertCodec().decode(golden("alert-v2.hex")).value();
        assertThat(a.sensorId().id()).isEqualTo("dresden/press-shop/line-1/press-3/oil-temp");
        assertThat(a.kind()).isEqualTo(AlertKind.OUT_OF_RANGE);
        assertThat(a.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(a.values()).containsExactly(91.0, 92.5, 94.0);
        assertThat(a.unit()).isEqualTo("degC");
        assertThat(a.limits())
                .containsExactly(
                        Map.entry("low", 10.0),
                        Map.entry("high", 90.0),
                        Map.entry("deadband", 2.0),
                        Map.entry("count", 3.0),
                        Map.entry("within_s", 60.0));
        assertThat(new AvroAlertCodec().encode(a)).isEqualTo(golden("alert-v2.hex"));
    }

    private static SchemaCompatibilityType compatibility(Schema reader, Schema writer) {
        return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType();
    }

    private static byte[] golden(String name) throws IOException {
        try (InputStream in =
                SchemaCompatibilityTest.class.getResourceAsStream("/golden/" + name)) {
            assertThat(in).as("golden record %s", name).isNotNull();
            return HexFormat.of()
                    .parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
        }
    }
}
