package io.plantwatch.job.series;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.job.CompletenessReport;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Severity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Names and values the gateway accepts, however odd, written as line protocol InfluxDB reads back
 * as they were. {@link #tags} reads a line's tag set the way InfluxDB 2's parser does: a backslash
 * escapes the next character, an unescaped comma ends a tag, the first unescaped space ends the tag
 * set.
 */
class LineProtocolTest {
    private static final long T = 1_795_564_800_000L;

    /** Two readings of 1.7e308 in one minute: their sum overflows, so the mean is Infinity. */
    private static final CompletenessReport HUGE_MINUTE =
            new CompletenessReport(
                    "s/a/l/m/big308", T, 2, 0, 0, 0, 1.7e308, 1.7e308, (1.7e308 + 1.7e308) / 2, "");

    @Test
    void aSensorNameEndingInABackslashKeepsItsOwnTagAndTheUnitTag() {
        SensorReading r =
                new SensorReading(
                        SensorId.parse("site1/area1/line1/m1/temp\\"),
                        T,
                        2.5,
                        "x",
                        Quality.GOOD,
                        -1);
        String line = LineProtocol.reading(r);
        // Unescaped, the backslash escaped the comma: the sensor tag read "temp\,unit=x".
        assertThat(tags(line)).containsEntry("sensor", "temp\\").containsEntry("unit", "x");
        assertThat(fieldSet(line)).isEqualTo("value=2.5");
    }

    @Test
    void anAlertCarriesItsUnitAndEachLimitAsAFloatField() {
        Map<String, Double> limits = new LinkedHashMap<>();
        limits.put("high", 90.0);
        limits.put("count", 3.0);
        limits.put("Not a word", 1.0);
        Alert a =
                Alert.open(
                                SensorId.parse("site1/area1/line1/m1/oil-temp"),
                                "oil-range",
                                AlertKind.OUT_OF_RANGE,
                                Severity.CRITICAL,
                                T,
                                T + 1,
                                List.of(94.0),
                                "above")
                        .withDetail("deg\"C", limits);
        String fields = fieldSet(LineProtocol.alert(a));
        assertThat(fields)
                .endsWith(",unit=\"deg\\\"C\",limit_high=90.0,limit_count=3.0")
                .startsWith("state=\"OPEN\",value=94.0,");
        assertThat(fieldSet(LineProtocol.alert(a.withDetail("", Map.of()))))
                .doesNotContain("unit=")
                .doesNotContain("limit_");
    }

    @Test
    void aUnitEndingInABackslashLeavesTheFieldSetIntact() {
        SensorReading r =
                new SensorReading(
                        SensorId.parse("site1/area1/line1/m2/t1"),
                        T,
                        3.5,
                        "deg\\",
                        Quality.GOOD,
                        -1);
        String line = LineProtocol.reading(r);
        // Unescaped, the backslash escaped the space before the field set.
        assertThat(fieldSet(line)).isEqualTo("value=3.5");
    }

    @Test
    void aBackslashInsideANameIsKept() {
        SensorReading r =
                new SensorReading(
                        SensorId.parse("site1/area1/line1/C:\\temp/t,1 =x"),
                        T,
                        1.0,
                        "",
                        Quality.GOOD,
                        -1);
        assertThat(tags(LineProtocol.reading(r)))
                .containsEntry("machine", "C:\\temp")
                .containsEntry("sensor", "t,1 =x");
    }

    @Test
    void minuteStatisticsOfHugeValuesAreFiniteNumbers() {
        // The mean is left out; the rest of the minute is kept.
        CompletenessReport c = HUGE_MINUTE;
        String line = LineProtocol.stats(SensorId.parse("s/a/l/m/big308"), c, null);
        // InfluxDB: 400 "unable to parse ...: invalid number" for Infinity/NaN.
        assertThat(line)
                .doesNotContain("Infinity")
                .doesNotContain("NaN")
                .contains("count=2i,min=1.7E308,max=1.7E308,missing=0i");
    }

    @Test
    void completenessJsonOfHugeValuesIsValidJson() throws Exception {
        CompletenessReport c = HUGE_MINUTE;
        ObjectMapper strict = new ObjectMapper();
        assertThat(strict.isEnabled(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS.mappedFeature()))
                .isFalse();
        var json = strict.readTree(c.toJson());
        assertThat(json.get("max").asDouble()).isEqualTo(1.7e308);
        assertThat(json.has("mean")).isFalse();
    }

    /** The tag set of a line as InfluxDB's scanner splits it. */
    static Map<String, String> tags(String line) {
        String head = line.substring(0, unescapedSpace(line, 0));
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < head.length(); i++) {
            char c = head.charAt(i);
            if (c == '\\' && i + 1 < head.length()) {
                cur.append(c).append(head.charAt(++i));
            } else if (c == ',') {
                parts.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        parts.add(cur.toString());
        Map<String, String> out = new LinkedHashMap<>();
        for (String p : parts.subList(1, parts.size())) {
            int eq = p.indexOf('=');
            out.put(p.substring(0, eq), unescape(p.substring(eq + 1)));
        }
        return out;
    }

    static String fieldSet(String line) {
        int first = unescapedSpace(line, 0);
        int second = unescapedSpace(line, first + 1);
        return second < 0 ? "<no field set>" : line.substring(first + 1, second);
    }

    private static int unescapedSpace(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (s.charAt(i) == '\\') {
                i++;
            } else if (s.charAt(i) == ' ') {
                return i;
            }
        }
        return -1;
    }

    private static String unescape(String v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            b.append(c == '\\' && i + 1 < v.length() ? v.charAt(++i) : c);
        }
        return b.toString();
    }
}
