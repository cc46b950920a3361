package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.flink.util.Collector;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The detectors' own work per reading, without Flink: {@link SensorDetectors#onReading}, features
 * for the CEP patterns, rate of change, flatline and baseline with the shipped rules, over a fleet
 * of sensors visited in turn as the job's keyed task visits them. {@code sensors} shows how the
 * cost grows once the fleet's state no longer fits in the caches; {@code bench/anomaly-job.sh}
 * measures the whole job. In this package because the detectors' steps are package-private.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DetectorsBenchmark {

    @Param({"1000", "10000", "100000"})
    int sensors;

    private static final String[] UNITS = {"degC", "bar", "mm/s", "%RH"};
    private static final double[] LEVELS = {50, 6, 2, 45};
    private static final double[] NOISE = {1, 0.2, 0.5, 2};

    private SensorId[] ids;
    private DetectorRules[] rules;
    private SensorDetectors.State[] states;
    private double[] noise;
    private List<PatternShape> spikeShapes;
    private List<PatternShape> rangeShapes;
    private int next;
    private long time;
    private long seq;
    private Blackhole hole;
    private final Collector<Signal> signals =
            new Collector<>() {
                @Override
                public void collect(Signal s) {
                    hole.consume(s);
                }

                @Override
                public void close() {}
            };

    @Setup
    public void setUp(Blackhole blackhole) {
        hole = blackhole;
        RuleBook book = AnomalyJob.loadRules(null);
        RuleCache cache = new RuleCache(book);
        spikeShapes = book.spikeShapes();
        rangeShapes = book.outOfRangeShapes();
        ids = new SensorId[sensors];
        rules = new DetectorRules[sensors];
        states = new SensorDetectors.State[sensors];
        for (int i = 0; i < sensors; i++) {
            ids[i] =
                    new SensorId("site", "area-" + i % 7, "line-" + i % 31, "m-" + i / 4, "s-" + i);
            rules[i] =
                    cache.rulesFor(new SensorReading(ids[i], 0, 0, UNITS[i % 4], Quality.GOOD, 0));
            states[i] = new SensorDetectors.State();
        }
        Random random = new Random(7);
        noise = new double[4096];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = random.nextGaussian();
        }
    }

    /** One reading of the next sensor; each sensor reads once a second. */
    @Benchmark
    public SensorDetectors.State oneReading() {
        int i = next;
        if (++next == sensors) {
            next = 0;
            time += 1000;
            seq++;
        }
        int kind = i % 4;
        double value = LEVELS[kind] + NOISE[kind] * noise[(int) ((i + seq * 31) & 4095)];
        SensorReading r = new SensorReading(ids[i], time, value, UNITS[kind], Quality.GOOD, seq);
        SensorDetectors.State s = states[i];
        SensorDetectors.onReading(
                s, r, rules[i], false, spikeShapes, rangeShapes, signals, hole::consume);
        return s;
    }
}
