package io.plantwatch.appliance;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.PrometheusNaming;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.LogicalScopeProvider;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * The local job's metrics on the appliance's one {@code /metrics}, named as Flink's Prometheus
 * reporter names them in the docker stack, with fewer labels (no ids) ({@code
 * flink_taskmanager_job_task_operator_deserializer_readingsDeletedUnread{job_name=...,
 * subtask_index=...}}), so the pipeline-health dashboard and an operator's queries work on either.
 * Without it, an appliance run alone showed none of them: consumer lag, late readings, alerts
 * opened, the InfluxDB spool were in the MiniCluster's log and its REST API on a random port.
 *
 * <p>Counters, numeric and boolean gauges and meters (their rate), read at each scrape; not
 * histograms, which Flink's reporter gives as summaries. Flink's reporter has no other dependency
 * on the class path here, and a second HTTP port would be one more thing to open and protect.
 */
public final class JobMetrics implements MetricReporter {
    static final String NAME = "plantwatch-job-metrics";

    private static final Pattern NOT_ALLOWED = Pattern.compile("[^a-zA-Z0-9:_]");

    /** What a metric is exposed as, and how to read it. */
    private record Exposed(String name, Labels labels, Metric metric) {}

    /**
     * One metric under one name: Flink registers some under two (a sink's {@code numRecordsOut}
     * again as {@code numRecordsSend}), and each is exposed.
     */
    private record Key(Metric metric, String name) {}

    /**
     * Every metric of every local job in this JVM. Flink makes the reporter; the appliance reads
     * what it was told here.
     */
    private static final Map<Key, Exposed> METRICS = new ConcurrentHashMap<>();

    /** This reporter's, dropped when Flink closes it, whatever Flink left registered. */
    private final java.util.Set<Key> mine = ConcurrentHashMap.newKeySet();

    /** The collector the appliance registers on its {@code /metrics}. */
    static MultiCollector collector() {
        return JobMetrics::snapshots;
    }

    static MetricSnapshots snapshots() {
        // One snapshot per name, each label set once (the client refuses duplicates).
        Map<String, Map<Labels, Double>> byName = new TreeMap<>();
        for (Exposed e : METRICS.values()) {
            Double v = value(e.metric());
            if (v != null) {
                byName.computeIfAbsent(e.name(), n -> new java.util.LinkedHashMap<>())
                        .put(e.labels(), v);
            }
        }
        List<MetricSnapshot> out = new ArrayList<>(byName.size());
        byName.forEach(
                (name, points) -> {
                    try {
                        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name);
                        points.forEach(
                                (labels, v) ->
                                        b.dataPoint(
                                                GaugeSnapshot.GaugeDataPointSnapshot.builder()
                                                        .labels(labels)
                                                        .value(v)
                                                        .build()));
                        out.add(b.build());
                    } catch (RuntimeException e) {
                        // One the client refuses must not cost the scrape every other metric.
                    }
                });
        return new MetricSnapshots(out);
    }

    private static Double value(Metric m) {
        try {
            if (m instanceof Counter c) {
                return (double) c.getCount();
            }
            if (m instanceof Meter meter) {
                return meter.getRate();
            }
            if (m instanceof Gauge<?> g) {
                Object v = g.getValue();
                if (v instanceof Number n) {
                    return n.doubleValue();
                }
                if (v instanceof Boolean b) {
                    return b ? 1.0 : 0.0; // as Flink's reporter: isBackPressured
                }
            }
        } catch (RuntimeException e) {
            // A gauge of an operator being torn down: left out of this scrape.
        }
        return null;
    }

    /**
     * As Flink's Prometheus reporter: {@code flink_} and the logical scope, joined by {@code _}.
     */
    static String name(String metricName, MetricGroup group) {
        String scope =
                LogicalScopeProvider.castFrom(group)
                        .getLogicalScope(s -> NOT_ALLOWED.matcher(s).replaceAll("_"), '_');
        // Not the client's sanitizeMetricName: it strips a _total, which Flink's reporter keeps
        // (the Kafka client's records-consumed-total).
        return "flink_" + scope + "_" + NOT_ALLOWED.matcher(metricName).replaceAll("_");
    }

    /**
     * The variables left out of the labels. Flink's reporter adds every one (ids of the job, task,
     * attempt, operator and TaskManager, the host, the task's whole chain as its name): 2 MB a
     * scrape for this job. The task's name stays where no operator names the metric; the variables
     * of key-value groups (a Kafka partition's topic and number) stay.
     */
    private static final java.util.Set<String> LEFT_OUT =
            java.util.Set.of(
                    "<job_id>",
                    "<task_id>",
                    "<task_attempt_id>",
                    "<task_attempt_num>",
                    "<operator_id>",
                    "<tm_id>",
                    "<host>");

    /** The group's variables ({@code <job_name>} and so on) as labels, without the brackets. */
    static Labels labels(MetricGroup group) {
        List<String> names = new ArrayList<>();
        List<String> values = new ArrayList<>();
        Map<String, String> variables = new TreeMap<>(group.getAllVariables());
        variables.keySet().removeAll(LEFT_OUT);
        if (variables.containsKey("<operator_name>")) {
            variables.remove("<task_name>");
        }
        variables.forEach(
                (k, v) -> {
                    String name =
                            PrometheusNaming.sanitizeLabelName(
                                    NOT_ALLOWED
                                            .matcher(k.replace("<", "").replace(">", ""))
                                            .replaceAll("_"));
                    if (!names.contains(name)) {
                        names.add(name);
                        // Filtered as Flink's reporter filters them by default.
                        values.add(NOT_ALLOWED.matcher(v).replaceAll("_"));
                    }
                });
        return Labels.of(names, values);
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {
        mine.forEach(METRICS::remove);
        mine.clear();
    }

    @Override
    public void notifyOfAddedMetric(Metric metric, String metricName, MetricGroup group) {
        if (metric instanceof Counter || metric instanceof Gauge<?> || metric instanceof Meter) {
            try {
                String name = name(metricName, group);
                Key key = new Key(metric, name);
                METRICS.put(key, new Exposed(name, labels(group), metric));
                mine.add(key);
            } catch (RuntimeException e) {
                // A name the Prometheus client refuses: that metric stays in Flink's REST API.
            }
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String metricName, MetricGroup group) {
        try {
            Key key = new Key(metric, name(metricName, group));
            METRICS.remove(key);
            mine.remove(key);
        } catch (RuntimeException e) {
            // Never put: its name was refused.
        }
    }

    /** Named by {@code metrics.reporter.<name>.factory.class}; found on the class path. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new JobMetrics();
        }
    }
}
