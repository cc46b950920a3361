package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

/**
 * Event time for readings: bounded out-of-orderness plus idleness, generated per Kafka partition
 * inside the source. A reading stamped further ahead of the wall clock than the allowed skew does
 * not move the watermark, so one device with a wrong clock cannot make the whole fleet's readings
 * late; {@link SequenceTracker} sets such readings aside with reason {@code future}.
 */
public final class ReadingWatermarks {
    private ReadingWatermarks() {}

    public static WatermarkStrategy<SensorReading> strategy(
            Duration outOfOrderness, Duration idleness, Duration maxFutureSkew) {
        long bound = outOfOrderness.toMillis();
        long skew = maxFutureSkew.toMillis();
        WatermarkStrategy<SensorReading> strategy =
                WatermarkStrategy.<SensorReading>forGenerator(
                                ctx -> new SkewGuardedGenerator(bound, skew))
                        .withTimestampAssigner((r, previous) -> r.timestamp());
        return idleness.isZero() ? strategy : strategy.withIdleness(idleness);
    }

    /** Bounded out-of-orderness that ignores timestamps beyond wall clock plus the skew. */
    static final class SkewGuardedGenerator implements WatermarkGenerator<SensorReading> {
        private final long outOfOrdernessMillis;
        private final long maxFutureSkewMillis;
        private long maxTimestamp = Long.MIN_VALUE;

        SkewGuardedGenerator(long outOfOrdernessMillis, long maxFutureSkewMillis) {
            this.outOfOrdernessMillis = outOfOrdernessMillis;
            this.maxFutureSkewMillis = maxFutureSkewMillis;
        }

        @Override
        public void onEvent(SensorReading r, long timestamp, WatermarkOutput output) {
            if (timestamp <= System.currentTimeMillis() + maxFutureSkewMillis) {
                maxTimestamp = Math.max(maxTimestamp, timestamp);
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            if (maxTimestamp != Long.MIN_VALUE) {
                output.emitWatermark(new Watermark(maxTimestamp - outOfOrdernessMillis - 1));
            }
        }
    }
}
