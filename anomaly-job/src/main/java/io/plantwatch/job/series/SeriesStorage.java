package io.plantwatch.job.series;

import io.plantwatch.job.AnomalyPipeline;
import io.plantwatch.model.SensorId;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;

/** The job's storage path: its three measurements, one stream of points, one InfluxDB sink. */
public final class SeriesStorage {
    private SeriesStorage() {}

    /** Sends readings, minute statistics and alert events of {@code out} to InfluxDB. */
    public static void sink(AnomalyPipeline.Outputs out, InfluxSettings settings) {
        DataStream<String> points =
                out.readings()
                        .map(LineProtocol::reading)
                        .returns(Types.STRING)
                        .name("Readings as points")
                        .union(
                                out.completeness()
                                        .map(
                                                c ->
                                                        LineProtocol.stats(
                                                                SensorId.parse(c.sensorId()), c))
                                        .returns(Types.STRING)
                                        .name("Minute statistics as points"),
                                out.alerts()
                                        .map(LineProtocol::alert)
                                        .returns(Types.STRING)
                                        .name("Alerts as points"));
        points.sinkTo(new InfluxSink(settings)).uid("influx").name("InfluxDB " + settings.url());
    }
}
