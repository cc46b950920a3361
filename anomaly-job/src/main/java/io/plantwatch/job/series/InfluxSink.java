package io.plantwatch.job.series;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Line-protocol points into InfluxDB's v2 write API (or any server that speaks it), at least once:
 * a checkpoint completes only after every point before it was written or synced to the writer's
 * spool on disk, and an absent server holds nothing else back (see {@link InfluxWriter}).
 */
public final class InfluxSink implements Sink<String> {
    private static final long serialVersionUID = 1L;

    private final InfluxSettings settings;

    public InfluxSink(InfluxSettings settings) {
        this.settings = settings;
    }

    @Override
    public SinkWriter<String> createWriter(WriterInitContext context) {
        return new InfluxWriter(
                settings,
                context.metricGroup(),
                context.getTaskInfo().getIndexOfThisSubtask(),
                context.getTaskInfo().getNumberOfParallelSubtasks());
    }
}
