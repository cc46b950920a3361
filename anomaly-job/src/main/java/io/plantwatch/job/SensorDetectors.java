package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.heap.AbstractHeapState;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.api.operators.TimestampedCollector;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Every per-reading step of a sensor in one keyed operator: first the {@link SequenceTracker} (late
 * and future readings aside, duplicates dropped, event-time order, completeness), then, for each
 * reading it releases, the features for the CEP patterns ({@link FeatureExtractor}), rate of
 * change, flatline, the statistical baseline and missing data. Each is its own small class; this
 * operator holds their per-sensor state as one value, so a reading costs one state lookup, one
 * expiry note and one rule lookup instead of one of each per step (they were six operators, and
 * that bookkeeping was most of the job's CPU).
 *
 * <p>Signals (levels and onsets) are the main output, for the {@link AlertLifecycle}, stamped with
 * the event time of the reading they come from; the readings detected on are {@link #READINGS} when
 * asked for; the CEP patterns' input is {@link #OBSERVATIONS} (a side output takes the timestamp of
 * the record or timer being processed, not of the released reading, so the patterns' input is
 * re-stamped before them); missing data keeps its own lifecycle in processing time and emits alerts
 * on {@link #MISSING}; late readings and completeness reports are on {@link SequenceTracker#LATE}
 * and {@link SequenceTracker#COMPLETENESS}.
 */
public final class SensorDetectors<K> extends KeyedProcessFunction<K, SensorReading, Signal> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<SensorReading> READINGS =
            new OutputTag<>("readings", SensorReadingTypeInfo.INSTANCE);
    public static final OutputTag<Observation> OBSERVATIONS = new OutputTag<>("observations") {};
    public static final OutputTag<Alert> MISSING =
            new OutputTag<>("missing-data", AlertTypeInfo.INSTANCE);

    /**
     * Listed sensors heard, for {@link ExpectedSensors}: each one's id once per run of the
     * operator, at its first released reading (with that reading's event time), and, when the
     * operator is restored, each listed sensor its state knows ({@link #KNOWN_BEFORE}) or, restored
     * at another parallelism, drops ({@link #FORGOTTEN}). Only when the rules list expected
     * sensors; what a restore tells comes before any reading or watermark of the run.
     */
    public static final OutputTag<Tuple2<String, Long>> HEARD =
            new OutputTag<>("sensors-heard", Types.TUPLE(Types.STRING, Types.LONG));

    /** The time in {@link #HEARD} of a sensor a restored state knows: heard in an earlier run. */
    static final long KNOWN_BEFORE = Long.MIN_VALUE;

    /**
     * The time in {@link #HEARD} of a sensor heard before whose detectors' state a restore at
     * another parallelism dropped: nothing watches its silence until it sends again.
     */
    static final long FORGOTTEN = Long.MIN_VALUE + 1;

    /** The name of the per-sensor state. */
    static final String STATE_NAME = "sensor";

    private final RuleBook book;
    private final List<PatternShape> spikeShapes;
    private final List<PatternShape> rangeShapes;
    private final long maxFutureSkewMillis;
    private final long stateTtlMillis;
    private final boolean readingsOut;

    /** Whether {@link #HEARD} is wanted: the rules list expected sensors. */
    private final boolean announceHeard;

    private transient RuleCache rules;
    private transient SequenceTracker tracker;
    private transient ValueState<State> state;

    /**
     * Whether {@link #state} hands out the stored object itself (Flink's heap backend, which copies
     * it first when a running checkpoint still needs the old one), so that changes to it are stored
     * without {@code update}. Storing the same object again looked the sensor's key up a second
     * time per reading. RocksDB hands out a copy, which is stored back as before.
     */
    private transient boolean stateIsLive;

    /**
     * This run of the operator, drawn at its start: a sensor whose state has another told the
     * lifecycle its rules in force in an earlier run ({@link State#toldRun}).
     */
    private transient long run;

    /**
     * The checkpoint this run was restored from, -1 for none: set by {@link
     * InPlaceKeys.DetectorsOperator}, the one operator that hands missing-data alerts over, before
     * {@link #open}. Checkpoint ids grow across a job's restores, so the lifecycle tells the rules
     * of this run from those of the run before it.
     */
    private transient long restoredFrom;

    void restoredFrom(long checkpointId) {
        restoredFrom = checkpointId;
    }

    /**
     * Whether a sensor whose state begins afresh in this run may have had an alert open when a
     * restore at another parallelism dropped its state: set by {@link
     * InPlaceKeys.DetectorsOperator} in its {@code open}, before any reading, for that run and,
     * after a restore at the same parallelism, for a state TTL after it.
     */
    private transient boolean detectorsReset;

    void detectorsReset(boolean reset) {
        detectorsReset = reset;
    }

    long stateTtlMillis() {
        return stateTtlMillis;
    }

    /**
     * The processing time of this run's first reading or timer: silence and expiry count from here
     * at the earliest, as the job could not hear the sensors while it was stopped.
     */
    private transient long listeningSince;

    /**
     * One sensor's state of every step; null where the sensor's rules leave a detector off. Written
     * by {@link SensorStateSerializer}, which a new field must be added to.
     */
    public static final class State extends SensorExpiry.Expiring {
        public SequenceTracker.Track track = new SequenceTracker.Track();
        public FeatureExtractor.Features features;
        public RateOfChangeDetector.Window rate;
        public FlatlineDetector.Run flatline;
        public BaselineDetector.Baseline baseline;
        public MissingDataDetector.Silence silence;

        /**
         * The sensor's resolved rules, looked up once rather than per reading (a shared map of
         * every sensor, a cache miss each time). Not checkpointed: a restore or a copy looks them
         * up again, so a changed rules file takes effect on restart.
         */
        transient DetectorRules rules;

        /**
         * The run of the operator that last told the lifecycle this sensor's rules in force:
         * another run (a restore, possibly with a changed rules file) tells them again. {@link
         * #NEVER_TOLD} in a state begun afresh, whose detectors remember nothing.
         */
        public long toldRun = NEVER_TOLD;

        /**
         * The levels (range, flatline, rate of change: {@link #RANGE}, {@link #FLATLINE}, {@link
         * #RATE}) not yet judged since a restore at another parallelism started this sensor's
         * detectors afresh. An alert of theirs may be open though they remember nothing; the first
         * reading that shows such a level held or gone tells the lifecycle, which otherwise waits
         * for the detectors to have had their chance. 0 in every other state.
         */
        public byte unjudged;

        static final byte RANGE = 1;
        static final byte FLATLINE = 2;
        static final byte RATE = 4;

        /** {@link #toldRun} of a state begun afresh; runs are odd. */
        public static final long NEVER_TOLD = 0;

        /**
         * {@link #toldRun} of a state restored from a layout that kept none: told in some earlier
         * run, and its detectors remember.
         */
        public static final long TOLD_BEFORE_IT_WAS_KEPT = 2;

        public State() {}
    }

    /**
     * @param maxFutureSkewMillis readings stamped further ahead of the wall clock are set aside
     * @param stateTtlMillis a sensor silent this long is forgotten; 0 keeps state forever
     * @param readingsOut whether released readings go to {@link #READINGS}
     */
    public SensorDetectors(
            RuleBook book, long maxFutureSkewMillis, long stateTtlMillis, boolean readingsOut) {
        this.book = book;
        this.readingsOut = readingsOut;
        this.spikeShapes = book.spikeShapes();
        this.rangeShapes = book.outOfRangeShapes();
        this.maxFutureSkewMillis = maxFutureSkewMillis;
        this.stateTtlMillis = stateTtlMillis;
        this.announceHeard = !book.expected().isEmpty();
    }

    /**
     * Tells {@link #HEARD} each listed sensor a restored state of this operator knows, when it is
     * wanted: one whose readings reached its detectors is then missing data's to alert, since its
     * last reading, and not also {@link ExpectedSensors}' as never heard (a list added to a running
     * plant, or a sensor added to the list). A sensor whose readings never got that far (set aside
     * as late or from the future, or still waiting for the watermark) is not told: missing data has
     * never watched its silence.
     *
     * @param backend the operator's keyed state backend, just restored
     * @param state the operator's per-sensor state, read for each listed sensor
     * @param idOf a key's sensor id
     * @param output the operator's output, whose side output {@link #HEARD} is told
     */
    <S> void announceRestored(
            KeyedStateBackend<S> backend,
            ValueState<State> state,
            java.util.function.Function<S, String> idOf,
            Output<StreamRecord<Signal>> output)
            throws Exception {
        if (!announceHeard) {
            return;
        }
        List<S> listed;
        try (Stream<S> keys = backend.getKeys(STATE_NAME, VoidNamespace.INSTANCE)) {
            listed = keys.filter(k -> book.expected().containsKey(idOf.apply(k))).toList();
        }
        for (S key : listed) {
            backend.setCurrentKey(key);
            State s = state.value();
            if (s != null && s.toldRun != State.NEVER_TOLD) {
                announce(idOf.apply(key), KNOWN_BEFORE, output);
            }
        }
    }

    /**
     * What {@link #HEARD} is told of a sensor whose state a restore at another parallelism drops
     * ({@link InPlaceKeys.DetectorsOperator}): with its missing-data alert handed to the lifecycle,
     * known ({@link #KNOWN_BEFORE}); else, if its readings had reached its detectors, {@link
     * #FORGOTTEN}, so that a listed sensor silent since is awaited again, as nothing else would
     * notice its silence.
     */
    void announceDropped(
            String id, State s, boolean handedOver, Output<StreamRecord<Signal>> output) {
        if (!announceHeard || !book.expected().containsKey(id)) {
            return;
        }
        if (handedOver) {
            announce(id, KNOWN_BEFORE, output);
        } else if (s != null && s.toldRun != State.NEVER_TOLD) {
            announce(id, FORGOTTEN, output);
        }
    }

    private static void announce(String id, long how, Output<StreamRecord<Signal>> output) {
        output.collect(HEARD, new StreamRecord<>(Tuple2.of(id, how)));
    }

    @Override
    public void open(OpenContext context) {
        rules = new RuleCache(book);
        tracker = new SequenceTracker(maxFutureSkewMillis, getRuntimeContext().getMetricGroup());
        state = getRuntimeContext().getState(stateDescriptor());
        stateIsLive = state instanceof AbstractHeapState;
        run = java.util.concurrent.ThreadLocalRandom.current().nextLong() | 1L;
        listeningSince = Long.MIN_VALUE;
    }

    /**
     * The detectors on readings shuffled by sensor id ({@code kafka.readings-keyed-by-sensor:
     * false}); keyed in place, {@link InPlaceKeys.DetectorsOperator} runs them. Both tell a
     * restored state's sensors to {@link #HEARD}.
     */
    static final class ShuffledOperator
            extends org.apache.flink.streaming.api.operators.KeyedProcessOperator<
                    String, SensorReading, Signal> {
        private static final long serialVersionUID = 1L;
        private transient boolean restored;

        ShuffledOperator(SensorDetectors<String> detectors) {
            super(detectors);
        }

        @Override
        public void initializeState(org.apache.flink.runtime.state.StateInitializationContext c)
                throws Exception {
            super.initializeState(c);
            restored = c.isRestored();
        }

        @Override
        public void open() throws Exception {
            super.open();
            if (restored) {
                ((SensorDetectors<?>) userFunction)
                        .announceRestored(
                                getKeyedStateBackend(),
                                getPartitionedState(
                                        VoidNamespace.INSTANCE,
                                        org.apache.flink.runtime.state.VoidNamespaceSerializer
                                                .INSTANCE,
                                        stateDescriptor()),
                                java.util.function.Function.<String>identity(),
                                output);
            }
        }
    }

    /** Whether a sensor's state is changed in place, not stored back per reading. */
    boolean changesStateInPlace() {
        return stateIsLive;
    }

    /** Each sensor's {@link State}, in Flink's keyed state. */
    static ValueStateDescriptor<State> stateDescriptor() {
        return new ValueStateDescriptor<>(STATE_NAME, SensorStateSerializer.INSTANCE);
    }

    @Override
    public void processElement(SensorReading r, Context ctx, Collector<Signal> out)
            throws Exception {
        State s = state.value();
        boolean known = s != null;
        if (!known) {
            s = new State();
        }
        State sensor = s;
        // The clock once per reading: the tracker, expiry and missing data each read it before.
        long now = ctx.timerService().currentProcessingTime();
        if (listeningSince == Long.MIN_VALUE) {
            listeningSince = now;
        }
        tracker.onReading(
                s.track, r, now, ctx, released -> detect(released, sensor, now, ctx, out));
        SensorExpiry.touch(s, stateTtlMillis, now, ctx.timerService());
        if (!known || !stateIsLive) {
            state.update(s);
        }
    }

    /** The detectors on one released reading, in event-time order. */
    private void detect(SensorReading r, State s, long now, Context ctx, Collector<Signal> out)
            throws Exception {
        if (out instanceof TimestampedCollector<Signal> stamped) {
            // A timer or another reading can release this one; its signals carry its own time.
            stamped.setAbsoluteTimestamp(r.timestamp());
        }
        if (readingsOut) {
            ctx.output(READINGS, r);
        }
        DetectorRules rs = s.rules;
        boolean told = false;
        if (rs == null) {
            rs = rules.rulesFor(r);
            s.rules = rs;
            told = tellRulesInForce(r, s, rs, out);
            if (told && announceHeard && book.expected().containsKey(r.key())) {
                ctx.output(HEARD, Tuple2.of(r.key(), r.timestamp()));
            }
        }
        onReading(s, r, rs, told, spikeShapes, rangeShapes, out, o -> ctx.output(OBSERVATIONS, o));
        if (rs.missingData() != null) {
            MissingDataDetector.Silence silence =
                    MissingDataDetector.onReading(
                            s.silence,
                            r,
                            rs.missingData(),
                            now,
                            unwatchedBefore(),
                            ctx.timerService(),
                            a -> ctx.output(MISSING, a));
            if (silence != s.silence) {
                s.silence = silence;
            }
        } else if (s.silence != null) {
            s.silence =
                    MissingDataDetector.retire(
                            s.silence, r.timestamp(), now, a -> ctx.output(MISSING, a));
        }
    }

    /**
     * Once per sensor and run, when its rules are first resolved (on the heap; on RocksDB at every
     * reading, which reads the state afresh): which rules are in force, for the lifecycle to retire
     * the episodes of any other. A run of the patterns' condition under way starts again, so a rule
     * renamed while it holds alerts under its new name ({@link FeatureExtractor#restarted}); the
     * other detectors tell a level that holds again at this reading.
     *
     * @return whether the rules were told at this reading
     */
    private boolean tellRulesInForce(
            SensorReading r, State s, DetectorRules rs, Collector<Signal> out) {
        if (s.toldRun == run) {
            return false;
        }
        // Detectors begun afresh (a new sensor, one forgotten, or every sensor after a restore at
        // another parallelism) tell a level only when it changes: the lifecycle is told, so that
        // an episode they no longer see does not stay open for good.
        boolean startedOver = s.toldRun == State.NEVER_TOLD;
        if (startedOver && detectorsReset) {
            s.unjudged =
                    (byte)
                            ((rs.outOfRange() != null ? State.RANGE : 0)
                                    | (rs.flatline() != null ? State.FLATLINE : 0)
                                    | (rs.rateOfChange() != null ? State.RATE : 0));
        }
        out.collect(
                startedOver
                        ? Signal.rulesInForceStartedOver(
                                r.sensorId(),
                                r.timestamp(),
                                rs.alarmRules(),
                                rs.redetectionMillis(),
                                restoredFrom)
                        : Signal.rulesInForce(r.sensorId(), r.timestamp(), rs.alarmRules()));
        s.toldRun = run;
        // A detector whose rule is off lets its state go: kept, it went stale (a level, a run, a
        // mean) and, were the rule switched on again, went on from there as if never stopped.
        if (rs.spike() == null && rs.outOfRange() == null) {
            s.features = null;
        }
        if (rs.rateOfChange() == null) {
            s.rate = null;
        }
        if (rs.flatline() == null) {
            s.flatline = null;
        }
        if (rs.baseline() == null) {
            s.baseline = null;
        }
        if (s.features != null) {
            FeatureExtractor.restarted(s.features);
        }
        return true;
    }

    /**
     * Readings stamped before this were sent while this run was not yet listening, allowing for
     * sensor clocks ahead by the skew the job accepts.
     */
    private long unwatchedBefore() {
        long t = listeningSince + maxFutureSkewMillis;
        return t < listeningSince ? Long.MAX_VALUE : t;
    }

    /**
     * The detectors that need no timer on one reading: features for the patterns, rate of change,
     * flatline and baseline. Also what {@code DetectorsBenchmark} measures.
     *
     * @param retell whether the level detectors tell a condition that holds again, as an onset: the
     *     lifecycle opens an episode for it only under a rule it has none for, one renamed while
     *     the condition held (they tell a level only when it changes)
     */
    static void onReading(
            State s,
            SensorReading r,
            DetectorRules rs,
            boolean retell,
            List<PatternShape> spikeShapes,
            List<PatternShape> rangeShapes,
            Collector<Signal> out,
            Consumer<Observation> observations) {
        // Each detector returns the state it was given but on a sensor's first reading. Stored
        // again, that same object cost the garbage collector a card to refine per reading: the
        // state lives in the old generation, spread over regions.
        long flatBefore =
                (s.unjudged & State.FLATLINE) != 0 && s.flatline != null ? s.flatline.count : 0;
        if (rs.spike() != null || rs.outOfRange() != null) {
            FeatureExtractor.Features f =
                    FeatureExtractor.onReading(
                            s.features, r, rs, spikeShapes, rangeShapes, out, observations);
            if (f != s.features) {
                s.features = f;
            }
        }
        if (rs.rateOfChange() != null) {
            RateOfChangeDetector.Window w =
                    RateOfChangeDetector.onReading(s.rate, r, rs.rateOfChange(), retell, out);
            if (w != s.rate) {
                s.rate = w;
            }
        }
        if (rs.flatline() != null) {
            FlatlineDetector.Run f =
                    FlatlineDetector.onReading(s.flatline, r, rs.flatline(), retell, out);
            if (f != s.flatline) {
                s.flatline = f;
            }
        }
        if (s.unjudged != 0) {
            judgeLevels(s, r, rs, flatBefore, out);
        }
        if (rs.baseline() != null) {
            BaselineDetector.Baseline b =
                    BaselineDetector.onReading(s.baseline, r, rs.baseline(), retell, out);
            if (b != s.baseline) {
                s.baseline = b;
            }
        }
    }

    /**
     * After a restore at another parallelism: a level begun afresh is told when first judged, held
     * or gone. Held, its detector has told it already (ACTIVE, a level it had not); gone, it would
     * tell nothing, as it never held for it, so the CLEAR is told here, once.
     */
    private static void judgeLevels(
            State s, SensorReading r, DetectorRules rs, long flatBefore, Collector<Signal> out) {
        if ((s.unjudged & State.RANGE) != 0 && rs.outOfRange() != null) {
            if (s.features.rangeActive) {
                s.unjudged &= ~State.RANGE;
            } else if (FeatureExtractor.insideByDeadband(r.value(), rs.outOfRange())) {
                out.collect(clear(r, AlertKind.OUT_OF_RANGE, rs.outOfRange().alarm()));
                s.unjudged &= ~State.RANGE;
            }
        }
        if ((s.unjudged & State.FLATLINE) != 0 && rs.flatline() != null) {
            if (s.flatline.active) {
                s.unjudged &= ~State.FLATLINE;
            } else if (flatBefore > 0 && s.flatline.count == 1) {
                // The run broke: the value moved beyond epsilon, so the sensor is not stuck.
                out.collect(clear(r, AlertKind.FLATLINE, rs.flatline().alarm()));
                s.unjudged &= ~State.FLATLINE;
            }
        }
        if ((s.unjudged & State.RATE) != 0 && rs.rateOfChange() != null) {
            if (s.rate.active) {
                s.unjudged &= ~State.RATE;
            } else if (RateOfChangeDetector.judgedCalm(s.rate, rs.rateOfChange())) {
                out.collect(clear(r, AlertKind.RATE_OF_CHANGE, rs.rateOfChange().alarm()));
                s.unjudged &= ~State.RATE;
            }
        }
    }

    private static Signal clear(SensorReading r, AlertKind kind, DetectorRules.Alarm alarm) {
        return Signal.level(r.sensorId(), kind, alarm, false, r.timestamp());
    }

    @Override
    public void onTimer(long time, OnTimerContext ctx, Collector<Signal> out) throws Exception {
        State s = state.value();
        if (s == null) {
            return;
        }
        if (ctx.timeDomain() == TimeDomain.EVENT_TIME) {
            long now = ctx.timerService().currentProcessingTime();
            tracker.onEventTime(s.track, time, ctx, released -> detect(released, s, now, ctx, out));
            state.update(s);
            return;
        }
        if (listeningSince == Long.MIN_VALUE) {
            // A restored timer, overdue while the job was stopped, fired before any reading; its
            // time is when it was due, not now.
            listeningSince = ctx.timerService().currentProcessingTime();
        }
        if (SensorExpiry.expired(s, time, listeningSince, stateTtlMillis, ctx.timerService())) {
            if (s.silence != null && s.silence.open && missingDataRule(s) == null) {
                s.silence =
                        MissingDataDetector.retire(
                                s.silence,
                                s.silence.lastEventTime,
                                time,
                                a -> ctx.output(MISSING, a));
            }
            // Looked up once: the retirement and both questions are about the rules now.
            DetectorRules now = rulesNow(s, ctx.getCurrentKey());
            if (holdsALevel(s, now)) {
                retireLevelsNotInForce(s, now, ctx, out);
            }
            if ((s.silence == null || !s.silence.open) && !holdsALevel(s, now)) {
                state.clear();
                return;
            }
            // Its missing-data alert is open, or a detector's condition held at its last reading:
            // forgotten, the sensor's return would start its detectors afresh, which tell a level
            // only when it changes, and nothing would resolve those alerts. It is kept, another
            // state.ttl at a time.
            SensorExpiry.keep(s, time, stateTtlMillis, ctx.timerService());
        }
        if (s.silence != null && s.silence.timerAt != 0 && time >= s.silence.timerAt) {
            MissingDataDetector.onTimer(
                    s.silence,
                    time,
                    listeningSince,
                    missingDataRule(s),
                    ctx.timerService(),
                    a -> ctx.output(MISSING, a));
        }
        state.update(s);
    }

    /**
     * Whether a detector's condition held at the sensor's last reading, with an alert possibly open
     * for it: a spike or an excursion only once its run had the pattern's count of readings (a
     * single reading out of range sets the level, but no pattern matches it).
     */
    private static boolean holdsALevel(State s, DetectorRules now) {
        if (s.rate != null && s.rate.active
                || s.flatline != null && s.flatline.active
                || s.baseline != null && s.baseline.active) {
            return true;
        }
        FeatureExtractor.Features f = s.features;
        if (f == null || !f.spikeActive && !f.rangeActive) {
            return false;
        }
        return now == null
                || f.spikeActive
                        && (now.spike() == null
                                || FeatureExtractor.mayHaveMatched(
                                        f.spikeRun, now.spike().confirm() + 1))
                || f.rangeActive
                        && (now.outOfRange() == null
                                || FeatureExtractor.mayHaveMatched(
                                        f.rangeRun, now.outOfRange().count()));
    }

    /**
     * A silent sensor kept for a condition that held: the lifecycle is told the rules in force now,
     * at the last reading's time, so the episodes of rules taken away or renamed since resolve
     * though the sensor never speaks again; a detector whose rule is gone lets its level go, so the
     * sensor can be forgotten.
     */
    private void retireLevelsNotInForce(
            State s, DetectorRules now, OnTimerContext ctx, Collector<Signal> out) {
        SensorReading last = lastReading(s, ctx.getCurrentKey());
        if (last == null || now == null) {
            return;
        }
        if (out instanceof TimestampedCollector<Signal> stamped) {
            stamped.setAbsoluteTimestamp(last.timestamp() + 1);
        }
        // Just after the last reading: at its instant, the signals of that reading still waiting
        // for the watermark would come after the rules, which sort first.
        out.collect(Signal.rulesInForce(last.sensorId(), last.timestamp() + 1, now.alarmRules()));
        if (s.features != null && now.spike() == null) {
            s.features.spikeActive = false;
        }
        if (s.features != null && now.outOfRange() == null) {
            s.features.rangeActive = false;
        }
        if (s.rate != null && now.rateOfChange() == null) {
            s.rate.active = false;
        }
        if (s.flatline != null && now.flatline() == null) {
            s.flatline.active = false;
        }
        if (s.baseline != null && now.baseline() == null) {
            s.baseline.active = false;
        }
    }

    /**
     * The sensor's last reading as far as its state keeps it (its id from its key), to look its
     * rules up by; null without a unit (state of an earlier version keeps none after a minute's
     * report, unless its missing-data detector has one).
     */
    private static SensorReading lastReading(State s, Object key) {
        String unit =
                s.track.unit != null ? s.track.unit : s.silence != null ? s.silence.unit : null;
        if (unit == null || s.track.lastTime == Long.MIN_VALUE) {
            return null;
        }
        String id = key instanceof SensorKey k ? k.id() : key.toString();
        return new SensorReading(
                io.plantwatch.model.SensorId.parse(id),
                s.track.lastTime,
                s.track.lastValue,
                unit,
                io.plantwatch.model.Quality.GOOD,
                SensorReading.NO_SEQ);
    }

    /** The sensor's rules now: those of this run, else looked up by its last reading, or null. */
    private DetectorRules rulesNow(State s, Object key) {
        if (s.rules != null) {
            return s.rules;
        }
        SensorReading last = lastReading(s, key);
        return last == null ? null : rules.rulesFor(last);
    }

    /**
     * The open missing-data alert of a sensor whose state is started over, for the lifecycle to
     * keep; null if none is open.
     */
    Signal missingDataHandedOver(State s) {
        if (s.silence == null || !s.silence.open) {
            return null;
        }
        return MissingDataDetector.handedOver(
                s.silence, s.silence.rule != null ? null : missingDataRule(s), restoredFrom);
    }

    /** The sensor's missing-data rule now, looked up by its last reading if it has no rules yet. */
    private DetectorRules.MissingData missingDataRule(State s) {
        return (s.rules != null
                        ? s.rules
                        : rules.rulesFor(MissingDataDetector.lastReading(s.silence)))
                .missingData();
    }
}
