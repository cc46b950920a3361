package io.plantwatch.job;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;

/** Shared test fixtures: readings of one sensor and keyed harnesses around the job's functions. */
final class Harnesses {
    static final SensorId SENSOR = SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp");
    static final SensorId OTHER = SensorId.parse("dresden/press-shop/line-1/press-2/oil-temp");

    /** 2026-11-25T00:00:00Z: event times in tests are offsets from here. */
    static final long T0 = 1_795_564_800_000L;

    private Harnesses() {}

    static SensorReading reading(long offsetMillis, double value, long seq) {
        return new SensorReading(SENSOR, T0 + offsetMillis, value, "degC", Quality.GOOD, seq);
    }

    static SensorReading reading(SensorId sensor, long offsetMillis, double value, long seq) {
        return new SensorReading(sensor, T0 + offsetMillis, value, "degC", Quality.GOOD, seq);
    }

    /** Flink's heap state backend ("hashmap") or RocksDB ("rocksdb"), for a harness. */
    static org.apache.flink.runtime.state.StateBackend stateBackend(String name) {
        return name.equals("rocksdb")
                ? new org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend()
                : new org.apache.flink.runtime.state.hashmap.HashMapStateBackend();
    }

    static RuleBook rules(String yaml) {
        return RuleBook.parse(yaml, "test rules");
    }

    static <O> KeyedOneInputStreamOperatorTestHarness<String, SensorReading, O> onReadings(
            KeyedProcessFunction<String, SensorReading, O> fn) throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, SensorReading, O> h =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                        fn, new AnomalyPipeline.ReadingKey(), Types.STRING);
        return h;
    }

    static void feed(
            KeyedOneInputStreamOperatorTestHarness<?, SensorReading, ?> h,
            SensorReading... readings)
            throws Exception {
        for (SensorReading r : readings) {
            h.processElement(new StreamRecord<>(r, r.timestamp()));
        }
    }

    static void watermark(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h, long offset)
            throws Exception {
        h.processWatermark(new Watermark(T0 + offset));
    }

    static <O> List<O> drain(KeyedOneInputStreamOperatorTestHarness<String, ?, O> h) {
        List<O> out =
                h.getOutput().stream()
                        .filter(StreamRecord.class::isInstance)
                        .map(o -> ((StreamRecord<O>) o).getValue())
                        .collect(Collectors.toList());
        h.getOutput().clear();
        return out;
    }
}
