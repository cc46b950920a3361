package io.plantwatch.job.series;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.job.CompletenessReport;
import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every query of the shipped Grafana dashboards names a measurement, fields and tags that the job's
 * writer actually writes, taken from lines the writer produces; every Prometheus metric is one the
 * gateway or the job registers; every datasource is provisioned.
 */
class GrafanaDashboardsTest {
    private static final Path GRAFANA = Path.of("..", "docker", "grafana");
    private static final Pattern MEASUREMENT = Pattern.compile("r\\._measurement == \"(\\w+)\"");
    private static final Pattern FIELD = Pattern.compile("r\\._field == \"(\\w+)\"");
    private static final Pattern TAG_REF = Pattern.compile("\\br\\.([a-z]\\w*)");
    private static final Pattern TAG_VALUES = Pattern.compile("tag: \"(\\w+)\"");
    private static final Pattern GATEWAY_METRIC = Pattern.compile("plantwatch_gateway_\\w+");

    /**
     * The job's own metrics; Flink's (KafkaSourceReader_...) start with a capital. Those the
     * readings' deserializer registers are in the {@code deserializer} group Flink's Kafka source
     * gives it, so their names carry it.
     */
    private static final Pattern JOB_METRIC =
            Pattern.compile("_operator_(deserializer_)?([a-z]\\w+)");

    private static final Pattern ALERTING_METRIC = Pattern.compile("plantwatch_alerting_(\\w+)");

    record Schema(Set<String> tags, Set<String> fields) {}

    /** Measurement -> tags and fields, parsed from what {@link LineProtocol} writes. */
    static Map<String, Schema> written() {
        SensorId id = SensorId.parse("site-1/area-1/line-1/machine-1/temp-1");
        List<String> lines =
                List.of(
                        LineProtocol.reading(
                                new SensorReading(id, 1000, 20.5, "degC", Quality.GOOD, 1)),
                        LineProtocol.stats(
                                id,
                                new CompletenessReport(id.id(), 0, 60, 1, 2, 3, 1, 2, 1.5, "degC"),
                                new DetectorRules.OutOfRange(null, 0, 90, 3, 60_000, 1)),
                        LineProtocol.alert(
                                new Alert(
                                        "id-1",
                                        id,
                                        "spike",
                                        AlertKind.SPIKE,
                                        Severity.CRITICAL,
                                        AlertState.OPEN,
                                        1000,
                                        1000,
                                        2000,
                                        List.of(20.0, 35.0),
                                        "a spike",
                                        "degC",
                                        Map.of("rise", 8.0))));
        Map<String, Schema> schema = new HashMap<>();
        for (String line : lines) {
            // measurement,tag=v,... field=v,... time (no escaped separators in these samples)
            String[] parts = line.split(" ");
            String[] head = parts[0].split(",");
            Set<String> tags = new HashSet<>();
            for (int i = 1; i < head.length; i++) {
                tags.add(head[i].substring(0, head[i].indexOf('=')));
            }
            Set<String> fields = new HashSet<>();
            Matcher m =
                    Pattern.compile("(?:^|,)(\\w+)=")
                            .matcher(line.substring(parts[0].length() + 1));
            while (m.find()) {
                fields.add(m.group(1));
            }
            schema.put(head[0], new Schema(tags, fields));
        }
        return schema;
    }

    static List<JsonNode> dashboards() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(GRAFANA.resolve("dashboards"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                out.add(json.readTree(f.toFile()));
            }
        }
        return out;
    }

    /**
     * Every Flux query and Prometheus expression of a dashboard: panels, annotations, variables.
     */
    static List<String> queries(JsonNode dashboard, String key) {
        List<String> out = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode t : panel.path("targets")) {
                if (t.has(key)) {
                    out.add(t.get(key).asText());
                }
            }
        }
        for (JsonNode a : dashboard.path("annotations").path("list")) {
            if (a.path("target").has(key)) {
                out.add(a.path("target").get(key).asText());
            }
        }
        if (key.equals("query")) {
            for (JsonNode v : dashboard.path("templating").path("list")) {
                if (v.path("type").asText().equals("query")) {
                    out.add(v.path("query").asText());
                }
            }
        }
        return out;
    }

    @Test
    void theThreeDashboardsExistWithTheirTemplateVariables() throws Exception {
        List<JsonNode> all = dashboards();
        assertThat(all)
                .extracting(d -> d.path("title").asText())
                .containsExactlyInAnyOrder("Plant overview", "Sensor detail", "Pipeline health");
        for (JsonNode d : all) {
            List<String> variables = new ArrayList<>();
            d.path("templating").path("list").forEach(v -> variables.add(v.path("name").asText()));
            assertThat(variables)
                    .as(d.path("title").asText())
                    .contains("site", "area", "line", "machine", "sensor");
            // Two lines of one name in two areas are two lines: every query that picks a site
            // picks an area too (alerting's chart links name it).
            for (String q : d.findValuesAsText("query")) {
                if (q.contains("r.site =~") && !q.contains("tag: \"area\"")) {
                    assertThat(q)
                            .as(d.path("title").asText())
                            .contains("r.area =~ /^${area:regex}$/");
                }
            }
        }
    }

    @Test
    void everyFluxQueryNamesWhatTheWriterWrites() throws Exception {
        Map<String, Schema> schema = written();
        assertThat(schema)
                .containsOnlyKeys(LineProtocol.READING, LineProtocol.STATS, LineProtocol.ALERT);
        Set<String> allTags = new HashSet<>();
        schema.values().forEach(s -> allTags.addAll(s.tags()));
        int checked = 0;
        for (JsonNode d : dashboards()) {
            for (String q : queries(d, "query")) {
                String where = d.path("title").asText() + ": " + q;
                List<String> measurements = all(MEASUREMENT, q);
                assertThat(measurements).as("a measurement in %s", where).isNotEmpty();
                Set<String> fields = new HashSet<>();
                Set<String> tags = new HashSet<>();
                for (String m : measurements) {
                    assertThat(schema).as(where).containsKey(m);
                    fields.addAll(schema.get(m).fields());
                    tags.addAll(schema.get(m).tags());
                }
                assertThat(all(FIELD, q)).as("fields in %s", where).allMatch(fields::contains);
                assertThat(all(TAG_REF, q)).as("tags in %s", where).allMatch(tags::contains);
                assertThat(all(TAG_VALUES, q))
                        .as("tag values in %s", where)
                        .allMatch(allTags::contains);
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(10);
    }

    @Test
    void everyPrometheusMetricIsRegisteredAndEveryDatasourceProvisioned() throws Exception {
        StringBuilder gateway = new StringBuilder();
        try (Stream<Path> sources =
                Files.walk(Path.of("..", "edge-gateway", "src", "main", "java"))) {
            for (Path p : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                gateway.append(Files.readString(p));
            }
        }
        StringBuilder job = new StringBuilder();
        try (Stream<Path> sources = Files.walk(Path.of("src", "main", "java"))) {
            for (Path p : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                job.append(Files.readString(p));
            }
        }
        String deserializer =
                Files.readString(
                        Path.of("src", "main", "java", "io", "plantwatch", "job", "KafkaIo.java"));
        String alerting =
                Files.readString(
                        Path.of(
                                "..",
                                "alerting",
                                "src",
                                "main",
                                "java",
                                "io",
                                "plantwatch",
                                "alerting",
                                "PrometheusMetrics.java"));
        String datasources =
                Files.readString(GRAFANA.resolve("provisioning/datasources/plantwatch.yaml"));
        int alertingChecked = 0;
        List<String> exprs = new ArrayList<>();
        for (JsonNode d : dashboards()) {
            exprs.addAll(queries(d, "expr"));
        }
        // The docker stack's alert rules name metrics as the dashboards do.
        JsonNode rules =
                io.plantwatch.model.YamlFiles.readMapping(
                        GRAFANA.resolveSibling("prometheus").resolve("alerts.yml"));
        int dashboardExprs = exprs.size();
        for (JsonNode group : rules.path("groups")) {
            group.path("rules").forEach(r -> exprs.add(r.path("expr").asText()));
        }
        assertThat(exprs.size()).isGreaterThan(dashboardExprs);
        assertThat(exprs).doesNotContain("");
        for (String expr : exprs) {
            for (String metric : all(GATEWAY_METRIC, expr)) {
                String base = metric.replaceAll("_(bucket|sum|count)$", "");
                assertThat(gateway.toString()).as(expr).contains("\"" + base + "\"");
            }
            Matcher m = JOB_METRIC.matcher(expr);
            while (m.find()) {
                String metric = m.group(2);
                assertThat(job.toString()).as(expr).contains("\"" + metric + "\"");
                assertThat(m.group(1) != null)
                        .as(expr + ": in the deserializer group as the deserializer registers it")
                        .isEqualTo(deserializer.contains("\"" + metric + "\""));
            }
            for (String metric : all(ALERTING_METRIC, expr)) {
                // Named whole, or by the part after the prefix (a counter's _total added).
                String name = metric.replaceAll("_total$", "");
                assertThat(
                                alerting.contains("\"" + name + "\"")
                                        || alerting.contains("plantwatch_alerting_" + metric))
                        .as(expr)
                        .isTrue();
                alertingChecked++;
            }
        }
        for (JsonNode d : dashboards()) {
            for (String uid :
                    all(Pattern.compile("\"uid\" ?: ?\"(plantwatch-[\\w-]+)\""), d.toString())) {
                if (!uid.equals(d.path("uid").asText())) {
                    assertThat(datasources).as("datasource %s", uid).contains("uid: " + uid);
                }
            }
        }
        assertThat(datasources).doesNotContain("token: ey").contains("$INFLUX_TOKEN");
        assertThat(alertingChecked).isGreaterThanOrEqualTo(3);
    }

    private static List<String> all(Pattern p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        while (m.find()) {
            out.add(m.groupCount() > 0 ? m.group(1) : m.group());
        }
        return out;
    }
}
