package io.plantwatch.job;

import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.operators.TimestampedCollector;
import org.apache.flink.util.Collector;

/**
 * The observations one CEP pattern shape is for, each stamped with its reading's event time: CEP
 * orders its input by record timestamp, and a side output of {@link SensorDetectors} carries the
 * timestamp of whatever released the reading (a later reading or a watermark timer).
 */
final class PatternInput extends ProcessFunction<Observation, Observation> {
    private static final long serialVersionUID = 1L;

    private final boolean spike;
    private final int shape;

    /** The input of spike shape {@code shape} when {@code spike}, else of out-of-range shape. */
    PatternInput(boolean spike, int shape) {
        this.spike = spike;
        this.shape = shape;
    }

    @Override
    public void processElement(Observation o, Context ctx, Collector<Observation> out) {
        if ((spike ? o.spikeShape() : o.rangeShape()) != shape) {
            return;
        }
        if (out instanceof TimestampedCollector<Observation> stamped) {
            stamped.setAbsoluteTimestamp(o.reading().timestamp());
        }
        out.collect(o);
    }
}
