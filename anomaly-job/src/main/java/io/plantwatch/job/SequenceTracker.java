package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import java.util.Arrays;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.OutputTag;

/**
 * The first step for every sensor's reading, run inside {@link SensorDetectors}: sets aside
 * readings that are late or stamped in the future, drops duplicates by (sensor, seq), and releases
 * the rest in event-time order, so every detector after it sees one sensor's readings in order and
 * once. From the sequence numbers it counts per event-time minute what was received, missing and
 * doubled ({@link CompletenessReport}).
 *
 * <p>A reading whose sequence number follows the last released one is released at once: the device
 * stamps both from the same clock, so nothing that arrives later can belong before it. Only
 * readings behind a gap, the first of a sensor and readings without a sequence number wait in a
 * small per-sensor buffer until the watermark passes them (or the gap fills). In a healthy plant
 * almost every reading takes the first path, which costs no timer and no buffer, and the detectors
 * see it without waiting for the watermark.
 *
 * <p>Readings without a sequence number are de-duplicated by (time, value). The per-sensor state
 * ({@link Track}) is part of the sensor's one state value, so tracking and detecting a reading cost
 * one state lookup together. Released readings go to the {@code release} callback in order.
 */
public final class SequenceTracker {

    public static final OutputTag<LateReading> LATE = new OutputTag<>("late") {};
    public static final OutputTag<CompletenessReport> COMPLETENESS =
            new OutputTag<>("completeness") {};

    /** How many sequence numbers below the highest one are remembered for de-duplication. */
    static final int SEQ_WINDOW = 256;

    /** Faster than any sensor on MQTT samples: 10 kHz. */
    static final long MAX_READINGS_PER_MILLI = 10;

    private static final long MINUTE = 60_000;
    static final SensorReading[] NONE = new SensorReading[0];

    private final long maxFutureSkewMillis;
    private final Counter lateCount;
    private final Counter futureCount;
    private final Counter duplicateCount;
    private final Counter missingCount;
    private final Counter sequenceJumpCount;

    /**
     * Everything kept per sensor: the sequence numbers seen lately (bit i of {@code bits} is {@code
     * highest - i}), the counts of the event-time minute being filled, and the readings waiting for
     * the watermark, oldest first.
     */
    public static final class Track {
        public long highest = SensorReading.NO_SEQ;
        public long[] bits = new long[SEQ_WINDOW / 64];
        public long lastTime = Long.MIN_VALUE;
        public double lastValue;

        public boolean counting;
        public long minute;
        public long received;
        public long missing;
        public long duplicates;
        public long late;
        public double min;
        public double max;
        public double sum;

        /** The unit of the sensor's last reading. */
        public String unit;

        public SensorReading[] pending = NONE;

        public Track() {}

        /** True when {@code r} may be released before the watermark: it is the next one. */
        boolean follows(SensorReading r) {
            return r.hasSeq()
                    && highest != SensorReading.NO_SEQ
                    && r.seq() == highest + 1
                    && r.timestamp() > lastTime;
        }

        /** Adds {@code r} in time order; true when it is now the first (earliest) one. */
        boolean addPending(SensorReading r) {
            int i = pending.length;
            SensorReading[] p = Arrays.copyOf(pending, i + 1);
            while (i > 0 && p[i - 1].timestamp() > r.timestamp()) {
                p[i] = p[i - 1];
                i--;
            }
            p[i] = r;
            pending = p;
            return i == 0;
        }

        SensorReading removeFirstPending() {
            SensorReading first = pending[0];
            pending = pending.length == 1 ? NONE : Arrays.copyOfRange(pending, 1, pending.length);
            return first;
        }
    }

    /**
     * Counts into {@code metrics}: readingsLate, readingsFuture, readingsDuplicate,
     * readingsMissing, readingsSequenceJumps.
     */
    SequenceTracker(long maxFutureSkewMillis, MetricGroup metrics) {
        this.maxFutureSkewMillis = maxFutureSkewMillis;
        lateCount = metrics.counter("readingsLate");
        futureCount = metrics.counter("readingsFuture");
        duplicateCount = metrics.counter("readingsDuplicate");
        missingCount = metrics.counter("readingsMissing");
        sequenceJumpCount = metrics.counter("readingsSequenceJumps");
    }

    /**
     * A reading arrived at processing time {@code now}: set it aside, drop it, hold it, or release
     * it (and what it unblocks).
     */
    void onReading(
            Track t,
            SensorReading r,
            long now,
            KeyedProcessFunction<?, ?, ?>.Context ctx,
            Release release)
            throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        if (r.timestamp() > now + maxFutureSkewMillis) {
            futureCount.inc();
            count(ctx, t, watermark == Long.MIN_VALUE ? r.timestamp() : watermark);
            t.late++;
            ctx.output(LATE, new LateReading(r, LateReading.FUTURE, watermark));
        } else if (isDuplicate(r, t)) {
            duplicateCount.inc();
            count(ctx, t, Math.max(watermark, r.timestamp()));
            t.duplicates++;
        } else if (r.timestamp() <= watermark) {
            lateCount.inc();
            count(ctx, t, watermark);
            t.late++;
            ctx.output(LATE, new LateReading(r, LateReading.LATE, watermark));
        } else if (t.pending.length == 0 && t.follows(r)) {
            release(r, t, ctx, release);
        } else {
            boolean first = t.addPending(r);
            releaseFollowing(t, ctx, release);
            if (first && t.pending.length > 0 && t.pending[0] == r) {
                // One timer per sensor, at or before its earliest waiting reading, not one per
                // reading: a sensor's first readings all wait, and their timers were an eighth of
                // the keyed task. A reading behind the first is covered by the first one's timer.
                ctx.timerService().registerEventTimeTimer(r.timestamp());
            }
        }
    }

    /** An event-time timer fired: release what the watermark passed, report a finished minute. */
    void onEventTime(Track t, long time, KeyedProcessFunction<?, ?, ?>.Context ctx, Release release)
            throws Exception {
        long watermark = Math.max(time, ctx.timerService().currentWatermark());
        boolean waited = t.pending.length > 0;
        while (t.pending.length > 0 && t.pending[0].timestamp() <= watermark) {
            release(t.removeFirstPending(), t, ctx, release);
        }
        releaseFollowing(t, ctx, release);
        if (waited && t.pending.length > 0) {
            // The timer that fired may have been the one for the first waiting reading.
            ctx.timerService().registerEventTimeTimer(t.pending[0].timestamp());
        }
        if (t.counting && time >= t.minute + MINUTE - 1) {
            report(ctx, t);
        }
    }

    /** Where released readings go, in event-time order. */
    @FunctionalInterface
    interface Release {
        void accept(SensorReading r) throws Exception;
    }

    /** Releases the waiting readings that now follow without a gap. */
    private void releaseFollowing(
            Track t, KeyedProcessFunction<?, ?, ?>.Context ctx, Release release) throws Exception {
        while (t.pending.length > 0 && t.follows(t.pending[0])) {
            release(t.removeFirstPending(), t, ctx, release);
        }
    }

    private void release(
            SensorReading r, Track t, KeyedProcessFunction<?, ?, ?>.Context ctx, Release release)
            throws Exception {
        count(ctx, t, r.timestamp());
        if (!accept(r, t)) {
            duplicateCount.inc();
            t.duplicates++;
            return;
        }
        t.received++;
        t.min = Math.min(t.min, r.value());
        t.max = Math.max(t.max, r.value());
        t.sum += r.value();
        if (!r.unit().equals(t.unit)) {
            // The state is old by now; storing each reading's new unit string in it gave the
            // garbage collector a card to refine per reading (see SensorDetectors.onReading).
            t.unit = r.unit();
        }
        release.accept(r);
    }

    /**
     * Makes {@code t} count the minute of {@code time}. A time in a later minute reports the filled
     * one and starts the next; an earlier time counts into the current minute.
     */
    private static void count(KeyedProcessFunction<?, ?, ?>.Context ctx, Track t, long time) {
        long start = time - Math.floorMod(time, MINUTE);
        if (t.counting && start > t.minute) {
            report(ctx, t);
        }
        if (!t.counting) {
            t.counting = true;
            t.minute = start;
            t.received = 0;
            t.missing = 0;
            t.duplicates = 0;
            t.late = 0;
            t.min = Double.POSITIVE_INFINITY;
            t.max = Double.NEGATIVE_INFINITY;
            t.sum = 0;
            ctx.timerService().registerEventTimeTimer(start + MINUTE - 1);
        }
    }

    private static void report(KeyedProcessFunction<?, ?, ?>.Context ctx, Track t) {
        ctx.output(
                COMPLETENESS,
                new CompletenessReport(
                        // The sensor id: the key itself, or a SensorKey named by it.
                        ctx.getCurrentKey().toString(),
                        t.minute,
                        t.received,
                        t.missing,
                        t.duplicates,
                        t.late,
                        t.received > 0 ? t.min : Double.NaN,
                        t.received > 0 ? t.max : Double.NaN,
                        t.received > 0 ? t.sum / t.received : Double.NaN,
                        t.received > 0 ? t.unit : null));
        // The unit stays: a silent sensor's rules are looked up by it (SensorDetectors' expiry).
        t.counting = false;
    }

    private static boolean isDuplicate(SensorReading r, Track t) {
        for (SensorReading p : t.pending) {
            if (p.timestamp() == r.timestamp()
                    && (r.hasSeq() ? p.seq() == r.seq() : p.value() == r.value())) {
                return true;
            }
        }
        if (!r.hasSeq()) {
            return r.timestamp() == t.lastTime && r.value() == t.lastValue;
        }
        long offset = t.highest - r.seq();
        return t.highest != SensorReading.NO_SEQ
                && offset >= 0
                && offset < SEQ_WINDOW
                && bit(t.bits, (int) offset)
                && !restarted(r, t);
    }

    /**
     * A sequence number already seen, on a reading newer than any released: the device restarted
     * and counts from 0 again. A true duplicate carries its original's time, which is no later than
     * the newest released. Before, a device that restarted within its first 256 readings had every
     * reading dropped as a duplicate until it passed its old count.
     */
    private static boolean restarted(SensorReading r, Track t) {
        return r.seq() <= t.highest && r.timestamp() > t.lastTime;
    }

    /**
     * More readings missed than the time since the last one could hold even at {@link
     * #MAX_READINGS_PER_MILLI}: a seq of 2^62 after 5 counted 10^18 readings missing, in the
     * completeness reports and {@code readingsMissing}, for good.
     */
    private static boolean jumped(long gap, SensorReading r, Track t) {
        long elapsedMillis = Math.max(0, r.timestamp() - t.lastTime);
        return gap >= SEQ_WINDOW && gap / MAX_READINGS_PER_MILLI > elapsedMillis;
    }

    /** Records {@code r} in the window and the counts; false when it is a duplicate. */
    private boolean accept(SensorReading r, Track t) {
        if (!r.hasSeq()) {
            if (r.timestamp() == t.lastTime && r.value() == t.lastValue) {
                return false;
            }
            t.lastTime = r.timestamp();
            t.lastValue = r.value();
            return true;
        }
        long seq = r.seq();
        if (t.highest == SensorReading.NO_SEQ || t.highest - seq >= SEQ_WINDOW || restarted(r, t)) {
            // First reading, or a restarted device counting from 0 again.
            t.highest = seq;
            t.bits = new long[SEQ_WINDOW / 64];
            setBit(t.bits, 0);
        } else if (seq > t.highest && jumped(seq - t.highest - 1, r, t)) {
            // Not loss: a counter set to a stored value, a corrupt seq. Counted, and counted on
            // from there, as after a restart.
            sequenceJumpCount.inc();
            t.highest = seq;
            t.bits = new long[SEQ_WINDOW / 64];
            setBit(t.bits, 0);
        } else if (seq > t.highest) {
            long gap = seq - t.highest - 1;
            t.missing += gap;
            missingCount.inc(gap);
            shiftInPlace(t.bits, (int) Math.min(seq - t.highest, SEQ_WINDOW));
            t.highest = seq;
            setBit(t.bits, 0);
        } else {
            int offset = (int) (t.highest - seq);
            if (bit(t.bits, offset)) {
                return false;
            }
            setBit(t.bits, offset);
            if (t.missing > 0) {
                t.missing--;
            }
        }
        t.lastTime = r.timestamp();
        t.lastValue = r.value();
        return true;
    }

    static boolean bit(long[] bits, int i) {
        return (bits[i >>> 6] & (1L << (i & 63))) != 0;
    }

    static void setBit(long[] bits, int i) {
        bits[i >>> 6] |= 1L << (i & 63);
    }

    /** {@link #shift}, written back into {@code bits}. */
    static void shiftInPlace(long[] bits, int by) {
        if (by == 1) {
            // The common case, the next reading: carry each word's top bit into the next one.
            for (int i = bits.length - 1; i > 0; i--) {
                bits[i] = bits[i] << 1 | bits[i - 1] >>> 63;
            }
            bits[0] <<= 1;
        } else {
            System.arraycopy(shift(bits, by), 0, bits, 0, bits.length);
        }
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
