package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.util.List;
import org.apache.flink.util.Collector;

/**
 * Turns in-order readings into {@link Observation}s for the spike and out-of-range patterns: the
 * rise above the rolling minimum of the spike window (a monotonic deque, so each reading costs O(1)
 * amortised) and whether the value is outside its range. It also tells the alert lifecycle when
 * either condition starts or stops holding ({@link #LEVELS}), with hysteresis: a spike clears below
 * half its delta, a range excursion only once back inside by the deadband.
 */
public final class FeatureExtractor {

    /** Per sensor: the spike window's monotonic deque and the last level of each condition. */
    public static final class Features {
        public long[] times = new long[8];
        public double[] values = new double[8];
        public int head;
        public int size;
        public boolean spikeActive;
        public boolean rangeActive;

        /** Whether the last observation sent to the patterns was high, or outside its range. */
        public boolean sentHigh;

        public boolean sentOutside;

        /**
         * Whether the last reading was high (outside); kept here rather than in the {@link Run},
         * which only a high (outside) reading then needs to touch.
         */
        public boolean inSpikeRun;

        public boolean inRangeRun;

        /** The current run of high (outside) readings, for the patterns: see {@link Run}. */
        public Run spikeRun = new Run();

        public Run rangeRun = new Run();

        /**
         * The sensor's pattern shapes (indexes into the job's shapes), found on its first reading;
         * not checkpointed, since the rules cannot change while the job runs.
         */
        int spikeShape = UNKNOWN;

        int rangeShape = UNKNOWN;

        public Features() {}

        // The deque's capacity is a power of two, so positions wrap with a mask, not a division.
        void dropOlderThan(long time) {
            int mask = times.length - 1;
            while (size > 0 && times[head] < time) {
                head = (head + 1) & mask;
                size--;
            }
        }

        double min() {
            return values[head];
        }

        void push(long time, double value) {
            int mask = times.length - 1;
            // Values at or above the new one can never be the minimum again.
            while (size > 0 && values[(head + size - 1) & mask] >= value) {
                size--;
            }
            if (size == times.length) {
                long[] t = new long[size * 2];
                double[] v = new double[size * 2];
                for (int i = 0; i < size; i++) {
                    t[i] = times[(head + i) & mask];
                    v[i] = values[(head + i) & mask];
                }
                times = t;
                values = v;
                head = 0;
                mask = times.length - 1;
            }
            int tail = (head + size) & mask;
            times[tail] = time;
            values[tail] = value;
            size++;
        }
    }

    /**
     * One pattern's current run. A run's first {@code count} readings, closer together than half
     * the pattern's window, certainly make its match; with {@code skipPastLastEvent} every later
     * reading of the run can only start another match of the same episode, which the alert
     * lifecycle ignores. So once that match is certain the rest of the run is not sent, nor its end
     * (no partial match is left for it to break): a 60-reading excursion with a count of 3 costs
     * CEP three events instead of sixty-one. A run whose readings are too far apart to be sure is
     * sent whole, and CEP decides.
     */
    public static final class Run {
        public long start;
        public int sent;
        public boolean matched;

        public Run() {}

        /** The first reading of a run. */
        void start(long time) {
            start = time;
            sent = 0;
            matched = false;
        }

        /** A reading of the pattern's condition: true when the pattern still needs it. */
        boolean onHigh(long time, int count, long withinMillis) {
            if (matched) {
                return false;
            }
            sent++;
            matched = sent >= count && 2 * (time - start) < withinMillis;
            return true;
        }
    }

    private static final int UNKNOWN = -2;

    /**
     * Whether {@code run} had the readings a pattern of {@code count} needs to match, so that its
     * alert may be open: a level set by one reading out of range opens none.
     */
    static boolean mayHaveMatched(Run run, int count) {
        return run.matched || run.sent >= count;
    }

    /**
     * The job restarted, its rules possibly changed: a run of high (outside) readings under way is
     * sent to the patterns again from its next reading, as a new one. Under an unchanged rule its
     * match only repeats an open episode, which the lifecycle ignores; under a renamed one it opens
     * the episode the old name's resolution left the condition without. The levels stay, so a
     * condition that clears still says so.
     */
    static void restarted(Features f) {
        f.inSpikeRun = false;
        f.inRangeRun = false;
    }

    /** Whether {@code value} is back inside the range by its deadband, which clears its level. */
    static boolean insideByDeadband(double value, DetectorRules.OutOfRange range) {
        return value >= range.low() + range.deadband() && value <= range.high() - range.deadband();
    }

    private FeatureExtractor() {}

    /**
     * One reading: the levels of spike and range conditions to {@code levels}, the observation to
     * {@code observations} when the patterns need it; returns the sensor's features, to be kept.
     */
    static Features onReading(
            Features f,
            SensorReading r,
            DetectorRules rs,
            List<PatternShape> spikeShapes,
            List<PatternShape> rangeShapes,
            Collector<Signal> levels,
            java.util.function.Consumer<Observation> observations) {
        if (f == null) {
            f = new Features();
        }
        int spikeShape = -1;
        boolean spikeHigh = false;
        double spikeBase = r.value();
        DetectorRules.Spike spike = rs.spike();
        if (spike != null) {
            if (f.spikeShape == UNKNOWN) {
                f.spikeShape =
                        spikeShapes.indexOf(
                                new PatternShape(spike.confirm() + 1, spike.withinMillis()));
            }
            spikeShape = f.spikeShape;
            f.dropOlderThan(r.timestamp() - spike.withinMillis());
            if (f.size > 0) {
                spikeBase = f.min();
            }
            double rise = r.value() - spikeBase;
            spikeHigh = rise >= spike.delta();
            boolean clear = rise < spike.delta() / 2;
            if (spikeHigh && !f.spikeActive || clear && f.spikeActive) {
                f.spikeActive = spikeHigh;
                levels.collect(
                        Signal.level(
                                r.sensorId(),
                                AlertKind.SPIKE,
                                spike.alarm(),
                                spikeHigh,
                                r.timestamp()));
            }
            f.push(r.timestamp(), r.value());
        }
        int rangeShape = -1;
        boolean outside = false;
        DetectorRules.OutOfRange range = rs.outOfRange();
        if (range != null) {
            if (f.rangeShape == UNKNOWN) {
                f.rangeShape =
                        rangeShapes.indexOf(new PatternShape(range.count(), range.withinMillis()));
            }
            rangeShape = f.rangeShape;
            outside = r.value() < range.low() || r.value() > range.high();
            boolean inside = insideByDeadband(r.value(), range);
            if (outside && !f.rangeActive || inside && f.rangeActive) {
                f.rangeActive = outside;
                levels.collect(
                        Signal.level(
                                r.sensorId(),
                                AlertKind.OUT_OF_RANGE,
                                range.alarm(),
                                outside,
                                r.timestamp()));
            }
        }
        // The patterns match runs of consecutive high (or outside) readings. Any other reading
        // only ends a run, so a pattern needs the first one after a run and none of the rest: in
        // a healthy plant CEP then buffers, sorts and steps almost nothing. Each pattern gets only
        // its own runs (shape -1 keeps an observation from the other's input), and of a run only
        // what can still decide its match (Run).
        boolean sendSpike = f.sentHigh;
        if (spikeHigh) {
            if (!f.inSpikeRun) {
                f.spikeRun.start(r.timestamp());
            }
            sendSpike = f.spikeRun.onHigh(r.timestamp(), spike.confirm() + 1, spike.withinMillis());
        }
        f.inSpikeRun = spikeHigh;
        boolean sendRange = f.sentOutside;
        if (outside) {
            if (!f.inRangeRun) {
                f.rangeRun.start(r.timestamp());
            }
            sendRange = f.rangeRun.onHigh(r.timestamp(), range.count(), range.withinMillis());
        }
        f.inRangeRun = outside;
        f.sentHigh = spikeHigh && sendSpike;
        f.sentOutside = outside && sendRange;
        if (sendSpike || sendRange) {
            observations.accept(
                    new Observation(
                            r,
                            sendSpike ? spikeShape : -1,
                            spikeHigh,
                            spikeBase,
                            sendRange ? rangeShape : -1,
                            outside));
        }
        return f;
    }
}
