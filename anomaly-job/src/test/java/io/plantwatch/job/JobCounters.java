package io.plantwatch.job;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * The job's own counters, and its gauges of whole numbers, as a MiniCluster in this JVM registers
 * them, summed over subtasks, for tests to assert on while a job runs. Flink drops a job's counters
 * when it ends. A job's own metrics (not an operator's, e.g. {@code numRestarts}) are found under
 * the operator name "".
 */
final class JobCounters implements MetricReporter {
    private record Registered(String job, String operator, String name, Counter counter) {}

    private static final List<Registered> COUNTERS = new CopyOnWriteArrayList<>();

    /** Registers this reporter in {@code conf}. */
    static Configuration reportTo(Configuration conf) {
        conf.setString("metrics.reporter.job-counters.factory.class", Factory.class.getName());
        return conf;
    }

    /**
     * Counter {@code name} of the running job {@code job}, over all subtasks of the operators whose
     * name starts with {@code operator}.
     */
    static long sum(String job, String operator, String name) {
        long sum = 0;
        for (Registered r : COUNTERS) {
            if (r.job.equals(job) && r.operator.startsWith(operator) && r.name.equals(name)) {
                sum += r.counter.getCount();
            }
        }
        return sum;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        String job = group.getAllVariables().get("<job_name>");
        String operator = group.getAllVariables().get("<operator_name>");
        if (job == null) {
            return;
        }
        String of = operator == null ? "" : operator;
        if (metric instanceof Counter counter) {
            COUNTERS.add(new Registered(job, of, name, counter));
        } else if (metric instanceof Gauge<?> gauge) {
            COUNTERS.add(new Registered(job, of, name, new GaugeCount(gauge)));
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        COUNTERS.removeIf(
                r -> r.counter == metric || r.counter instanceof GaugeCount g && g.gauge == metric);
    }

    /** A gauge's whole number read as a counter's count; 0 while it has none. */
    private record GaugeCount(Gauge<?> gauge) implements Counter {
        @Override
        public long getCount() {
            return gauge.getValue() instanceof Number n ? n.longValue() : 0;
        }

        @Override
        public void inc() {}

        @Override
        public void inc(long n) {}

        @Override
        public void dec() {}

        @Override
        public void dec(long n) {}
    }

    /** Named by {@code metrics.reporter.<name>.factory.class}; listed in META-INF/services. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new JobCounters();
        }
    }
}
