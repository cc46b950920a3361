package io.plantwatch.job.series;

import io.plantwatch.job.AnomalyPipeline;
import io.plantwatch.job.CompletenessReport;
import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.SensorId;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;

/** The job's storage path: its three measurements, one stream of points, one InfluxDB sink. */
public final class SeriesStorage {
    private SeriesStorage() {}

    /**
     * Sends readings, minute statistics (with each sensor's configured range from {@code rules})
     * and alert events of {@code out} to InfluxDB.
     */
    public static void sink(AnomalyPipeline.Outputs out, InfluxSettings settings, RuleBook rules) {
        DataStream<String> points =
                out.readings()
                        .map(LineProtocol::reading)
                        .returns(Types.STRING)
                        .name("Readings as points")
                        .union(
                                out.completeness()
                                        .map(new StatsPoint(rules))
                                        .returns(Types.STRING)
                                        .name("Minute statistics as points"),
                                out.alerts()
                                        .map(LineProtocol::alert)
                                        .returns(Types.STRING)
                                        .name("Alerts as points"));
        points.sinkTo(new InfluxSink(settings)).uid("influx").name("InfluxDB " + settings.url());
    }

    /** A minute's statistics with the range the sensor's out-of-range rule judges by. */
    private static final class StatsPoint implements MapFunction<CompletenessReport, String> {
        private static final long serialVersionUID = 1L;
        private final RuleBook rules;

        StatsPoint(RuleBook rules) {
            this.rules = rules;
        }

        @Override
        public String map(CompletenessReport c) {
            DetectorRules.OutOfRange range =
                    c.unit() == null ? null : rules.resolve(c.sensorId(), c.unit()).outOfRange();
            return LineProtocol.stats(SensorId.parse(c.sensorId()), c, range);
        }
    }
}
