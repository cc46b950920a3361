package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The first keyed step for every sensor: sets aside readings that are late or stamped in the
 * future, drops duplicates by (sensor, seq), and releases the rest in event-time order once the
 * watermark passes them, so every detector after it sees one sensor's readings in order and once.
 * From the sequence numbers it counts per event-time minute what was received, missing and doubled
 * ({@link CompletenessReport}).
 *
 * <p>Readings without a sequence number are de-duplicated by (time, value).
 */
public final class SequenceTracker
        extends KeyedProcessFunction<String, SensorReading, SensorReading> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<LateReading> LATE = new OutputTag<>("late") {};
    public static final OutputTag<CompletenessReport> COMPLETENESS =
            new OutputTag<>("completeness") {};

    /** How many sequence numbers below the highest one are remembered for de-duplication. */
    static final int SEQ_WINDOW = 256;

    private static final long MINUTE = 60_000;

    private final long maxFutureSkewMillis;
    private final long stateTtlMillis;

    private transient MapState<Long, List<SensorReading>> pending;
    private transient ValueState<SeqWindow> window;
    private transient ValueState<MinuteCounts> minute;
    private transient Counter lateCount;
    private transient Counter futureCount;
    private transient Counter duplicateCount;
    private transient Counter missingCount;

    /** The sequence numbers seen lately: bit i of {@code bits} is {@code highest - i}. */
    public static final class SeqWindow {
        public long highest = SensorReading.NO_SEQ;
        public long[] bits = new long[SEQ_WINDOW / 64];
        public long lastTime = Long.MIN_VALUE;
        public double lastValue;

        public SeqWindow() {}
    }

    /** The counts of the event-time minute being filled. */
    public static final class MinuteCounts {
        public long minute;
        public long received;
        public long missing;
        public long duplicates;
        public long late;
        public double min = Double.POSITIVE_INFINITY;
        public double max = Double.NEGATIVE_INFINITY;
        public double sum;
        public String unit;

        public MinuteCounts() {}
    }

    public SequenceTracker(long maxFutureSkewMillis, long stateTtlMillis) {
        this.maxFutureSkewMillis = maxFutureSkewMillis;
        this.stateTtlMillis = stateTtlMillis;
    }

    @Override
    public void open(OpenContext context) {
        pending =
                getRuntimeContext()
                        .getMapState(
                                StateTtl.expireAfter(
                                        new MapStateDescriptor<>(
                                                "pending",
                                                Types.LONG,
                                                TypeInformation.of(
                                                        new TypeHint<List<SensorReading>>() {})),
                                        stateTtlMillis));
        window =
                getRuntimeContext()
                        .getState(
                                StateTtl.expireAfter(
                                        new ValueStateDescriptor<>("seq-window", SeqWindow.class),
                                        stateTtlMillis));
        minute =
                getRuntimeContext()
                        .getState(
                                StateTtl.expireAfter(
                                        new ValueStateDescriptor<>("minute", MinuteCounts.class),
                                        stateTtlMillis));
        var metrics = getRuntimeContext().getMetricGroup();
        lateCount = metrics.counter("readingsLate");
        futureCount = metrics.counter("readingsFuture");
        duplicateCount = metrics.counter("readingsDuplicate");
        missingCount = metrics.counter("readingsMissing");
    }

    @Override
    public void processElement(SensorReading r, Context ctx, Collector<SensorReading> out)
            throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        if (r.timestamp() > ctx.timerService().currentProcessingTime() + maxFutureSkewMillis) {
            futureCount.inc();
            MinuteCounts c = counts(ctx, watermark == Long.MIN_VALUE ? r.timestamp() : watermark);
            c.late++;
            minute.update(c);
            ctx.output(LATE, new LateReading(r, LateReading.FUTURE, watermark));
            return;
        }
        List<SensorReading> sameTime = pending.get(r.timestamp());
        if (isDuplicate(r, window.value(), sameTime)) {
            duplicateCount.inc();
            MinuteCounts c = counts(ctx, Math.max(watermark, r.timestamp()));
            c.duplicates++;
            minute.update(c);
            return;
        }
        if (r.timestamp() <= watermark) {
            lateCount.inc();
            MinuteCounts c = counts(ctx, watermark);
            c.late++;
            minute.update(c);
            ctx.output(LATE, new LateReading(r, LateReading.LATE, watermark));
            return;
        }
        if (sameTime == null) {
            sameTime = new ArrayList<>(1);
            ctx.timerService().registerEventTimeTimer(r.timestamp());
        }
        sameTime.add(r);
        pending.put(r.timestamp(), sameTime);
    }

    @Override
    public void onTimer(long time, OnTimerContext ctx, Collector<SensorReading> out)
            throws Exception {
        MinuteCounts c = minute.value();
        List<SensorReading> due = pending.get(time);
        if (due != null) {
            pending.remove(time);
            SeqWindow w = window.value();
            if (w == null) {
                w = new SeqWindow();
            }
            for (SensorReading r : due) {
                c = counts(ctx, c, r.timestamp());
                if (!accept(r, w, c)) {
                    duplicateCount.inc();
                    c.duplicates++;
                    continue;
                }
                c.received++;
                c.min = Math.min(c.min, r.value());
                c.max = Math.max(c.max, r.value());
                c.sum += r.value();
                c.unit = r.unit();
                out.collect(r);
            }
            window.update(w);
        }
        if (c != null && time >= c.minute + MINUTE - 1) {
            report(ctx, c);
            minute.clear();
        } else if (c != null) {
            minute.update(c);
        }
    }

    private void report(Context ctx, MinuteCounts c) {
        ctx.output(
                COMPLETENESS,
                new CompletenessReport(
                        ctx.getCurrentKey(),
                        c.minute,
                        c.received,
                        c.missing,
                        c.duplicates,
                        c.late,
                        c.received > 0 ? c.min : Double.NaN,
                        c.received > 0 ? c.max : Double.NaN,
                        c.received > 0 ? c.sum / c.received : Double.NaN,
                        c.unit));
    }

    /**
     * The counts of the minute being filled. A {@code time} in a later minute reports the filled
     * one and starts the next; an earlier time counts into the current minute.
     */
    private MinuteCounts counts(Context ctx, long time) throws Exception {
        return counts(ctx, minute.value(), time);
    }

    private MinuteCounts counts(Context ctx, MinuteCounts current, long time) {
        MinuteCounts c = current;
        long start = time - Math.floorMod(time, MINUTE);
        if (c != null && start > c.minute) {
            report(ctx, c);
            c = null;
        }
        if (c == null) {
            c = new MinuteCounts();
            c.minute = start;
            ctx.timerService().registerEventTimeTimer(c.minute + MINUTE - 1);
        }
        // ValueState hands out copies on RocksDB: the caller writes back what it changes.
        return c;
    }

    private static boolean isDuplicate(SensorReading r, SeqWindow w, List<SensorReading> sameTime) {
        if (sameTime != null) {
            for (SensorReading p : sameTime) {
                if (r.hasSeq() ? p.seq() == r.seq() : p.value() == r.value()) {
                    return true;
                }
            }
        }
        if (w == null) {
            return false;
        }
        if (!r.hasSeq()) {
            return r.timestamp() == w.lastTime && r.value() == w.lastValue;
        }
        long offset = w.highest - r.seq();
        return w.highest != SensorReading.NO_SEQ
                && offset >= 0
                && offset < SEQ_WINDOW
                && bit(w.bits, (int) offset);
    }

    /** Records {@code r} in the window and the counts; false when it is a duplicate. */
    private boolean accept(SensorReading r, SeqWindow w, MinuteCounts c) {
        if (!r.hasSeq()) {
            if (r.timestamp() == w.lastTime && r.value() == w.lastValue) {
                return false;
            }
            w.lastTime = r.timestamp();
            w.lastValue = r.value();
            return true;
        }
        long seq = r.seq();
        if (w.highest == SensorReading.NO_SEQ || w.highest - seq >= SEQ_WINDOW) {
            // First reading, or far behind the window: a restarted device counting from 0 again.
            w.highest = seq;
            w.bits = new long[SEQ_WINDOW / 64];
            setBit(w.bits, 0);
        } else if (seq > w.highest) {
            long gap = seq - w.highest - 1;
            c.missing += gap;
            missingCount.inc(gap);
            w.bits = shift(w.bits, (int) Math.min(seq - w.highest, SEQ_WINDOW));
            w.highest = seq;
            setBit(w.bits, 0);
        } else {
            int offset = (int) (w.highest - seq);
            if (bit(w.bits, offset)) {
                return false;
            }
            setBit(w.bits, offset);
            if (c.missing > 0) {
                c.missing--;
            }
        }
        w.lastTime = r.timestamp();
        w.lastValue = r.value();
        return true;
    }

    static boolean bit(long[] bits, int i) {
        return (bits[i >>> 6] & (1L << (i & 63))) != 0;
    }

    static void setBit(long[] bits, int i) {
        bits[i >>> 6] |= 1L << (i & 63);
    }

    /** Moves every bit {@code by} places up (older); bits pushed past the top are forgotten. */
    static long[] shift(long[] bits, int by) {
        long[] r = new long[bits.length];
        int words = by >>> 6;
        int rest = by & 63;
        for (int i = bits.length - 1; i >= words; i--) {
            long v = bits[i - words] << rest;
            if (rest != 0 && i - words - 1 >= 0) {
                v |= bits[i - words - 1] >>> (64 - rest);
            }
            r[i] = v;
        }
        return r;
    }
}
