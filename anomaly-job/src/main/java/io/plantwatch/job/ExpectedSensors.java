package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Missing data for a sensor the rules list as expected ({@code expected:} in rules.yaml) and the
 * job has never heard. The {@link MissingDataDetector} counts a sensor's silence from its last
 * reading, so a sensor that never sent (wired wrong, a gateway's topic mapping missing it, dead on
 * delivery) raised nothing. Here each listed sensor is awaited from the first watermark of each run
 * (see below): if none of its readings reaches the detectors within its missing-data rule's {@code
 * after}, a MISSING_DATA alert opens, and its first reading resolves it. From then on missing data
 * is the detector's.
 *
 * <p>Keyed by sensor id, with state only for listed sensors: at its start each subtask creates the
 * state of the listed sensors in its key groups, as a {@code keyBy} would place their readings. It
 * hears a sensor from {@link SensorDetectors#HEARD}: once per sensor and run at its first released
 * reading, and, after a restore, every listed sensor the detectors' state knows, so a listed sensor
 * that sent before and is silent now is missing data's alone (since its last reading), not alerted
 * twice. The wait starts at the first watermark, which every detectors subtask sends after what its
 * restore told; with no reading at all (no watermark) it starts the shortest {@code after} past the
 * job's start. Like missing data, it runs on processing time (a silent sensor moves no watermark),
 * and after a restore the wait counts from the restart: the sensors' readings of the downtime are
 * still to be read.
 *
 * <p>The alert's episode starts when this job began awaiting the sensor (kept in state), so its id
 * is the same after a restore. A sensor taken off the list, or whose rules no longer ask for
 * missing data, resolves its open alert at the next start.
 */
public final class ExpectedSensors extends AbstractStreamOperator<Alert>
        implements OneInputStreamOperator<Tuple2<String, Long>, Alert>,
                Triggerable<String, VoidNamespace> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ExpectedSensors.class);
    static final String STATE_NAME = "expected-sensor";

    /** A listed sensor, as far as this operator knows it. */
    public static final class Awaited {
        /** When this job began awaiting it: the start of the episode. */
        public long since;

        /** When its wait ends (processing time); 0 when no timer is due. */
        public long dueAt;

        /**
         * When the wait of a run before this one ended without the sensor heard (0: none): that run
         * may have sent the OPEN after its last checkpoint, which this run's state does not know.
         */
        public long dueBefore;

        public boolean heard;
        public boolean open;

        /** Awaited again after a rescale dropped its detectors' state: heard before. */
        public boolean again;

        /**
         * The run of this operator that last heard a reading of it: a rescale's word that its
         * detectors' state was dropped, arriving after its reading reached its new subtask, is then
         * stale.
         */
        public long heardRun;

        /**
         * The rule and severity of the wait's alert, set when the wait is armed: its id holds the
         * rule's name, and an OPEN sent before a restore must be resolved under the same one.
         */
        public String rule;

        public Severity severity;

        public Awaited() {}
    }

    private final RuleBook book;
    private transient ValueState<Awaited> state;
    private transient InternalTimerService<VoidNamespace> timers;

    /** The listed sensors in this subtask's key groups. */
    private transient List<String> mine;

    /** Whether the waits have started: at the first watermark, or the fallback. */
    private transient boolean started;

    /** This run of the operator, drawn at its start. */
    private transient long run;

    private transient int notHeard;
    private transient int missing;

    public ExpectedSensors(RuleBook book) {
        this.book = book;
    }

    static ValueStateDescriptor<Awaited> stateDescriptor() {
        return new ValueStateDescriptor<>(STATE_NAME, TypeInformation.of(Awaited.class));
    }

    @Override
    public void open() throws Exception {
        super.open();
        state =
                getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        stateDescriptor());
        timers =
                getInternalTimerService("expected-sensors", VoidNamespaceSerializer.INSTANCE, this);
        long now = getProcessingTimeService().getCurrentProcessingTime();
        run = java.util.concurrent.ThreadLocalRandom.current().nextLong() | 1L;
        List<String> known;
        KeyedStateBackend<String> backend = getKeyedStateBackend();
        try (Stream<String> keys = backend.getKeys(STATE_NAME, VoidNamespace.INSTANCE)) {
            known = keys.toList();
        }
        for (String id : known) {
            if (!book.expected().containsKey(id)) {
                setCurrentKey(id);
                Awaited a = state.value();
                if (a != null && (a.open || a.dueBefore != 0 || overdue(a, now))) {
                    resolveFromTimer(a, now);
                } else {
                    state.clear();
                }
            }
        }
        TaskInfo task = getRuntimeContext().getTaskInfo();
        int maxParallelism = task.getMaxNumberOfParallelSubtasks();
        KeyGroupRange range =
                KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(
                        maxParallelism,
                        task.getNumberOfParallelSubtasks(),
                        task.getIndexOfThisSubtask());
        mine = new ArrayList<>();
        List<String> withoutRule = new ArrayList<>();
        long shortestWait = Long.MAX_VALUE;
        for (RuleBook.Expected e : book.expected().values()) {
            if (!range.contains(KeyGroupRangeAssignment.assignToKeyGroup(e.id(), maxParallelism))) {
                continue;
            }
            mine.add(e.id());
            setCurrentKey(e.id());
            Awaited a = state.value();
            if (a == null) {
                a = new Awaited();
                a.since = now;
            }
            DetectorRules.MissingData rule = book.resolve(e).missingData();
            if (rule == null) {
                withoutRule.add(e.id());
            } else {
                shortestWait = Math.min(shortestWait, rule.afterMillis());
            }
            if (a.open) {
                missing++;
                if (rule == null) {
                    resolveFromTimer(a, now);
                }
            } else if (!a.heard) {
                notHeard++;
                if (overdue(a, now)) {
                    a.dueBefore = a.dueAt;
                }
                if (a.dueBefore != 0 && rule == null) {
                    // Its OPEN may be out, and no wait of this run will resolve it.
                    resolveFromTimer(a, now);
                } else {
                    // Armed when the waits start; a timer restored from the run before finds
                    // this and does nothing.
                    a.dueAt = 0;
                }
            }
            state.update(a);
        }
        if (!mine.isEmpty()) {
            LOG.info(
                    "{} expected sensors on subtask {}: {} not heard yet, {} with a missing-data"
                            + " alert open",
                    mine.size(),
                    task.getIndexOfThisSubtask(),
                    notHeard,
                    missing);
        }
        if (!withoutRule.isEmpty()) {
            LOG.warn(
                    "{} expected sensors have no missing-data rule, so nothing tells if they never"
                            + " send: {}",
                    withoutRule.size(),
                    withoutRule.size() > 10 ? withoutRule.subList(0, 10) + " ..." : withoutRule);
        }
        if (shortestWait != Long.MAX_VALUE) {
            // No watermark at all: not one reading since the start. The waits start all the same.
            getProcessingTimeService()
                    .registerTimer(saturatedAdd(now, shortestWait), this::startWaits);
        }
        getMetricGroup().gauge("expectedSensorsNotHeard", () -> notHeard);
        getMetricGroup().gauge("expectedSensorsMissing", () -> missing);
    }

    /**
     * Listed sensors here not heard yet, without an alert open ({@code expectedSensorsNotHeard}).
     */
    int notHeard() {
        return notHeard;
    }

    /** Listed sensors here never heard, their alert open ({@code expectedSensorsMissing}). */
    int missing() {
        return missing;
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        super.processWatermark(mark);
        if (!started) {
            startWaits(getProcessingTimeService().getCurrentProcessingTime());
        }
    }

    /**
     * The waits of the listed sensors not heard yet start now: every detectors subtask has told
     * what its restore knew, since a watermark from each follows that.
     */
    private void startWaits(long now) throws Exception {
        if (started) {
            return;
        }
        started = true;
        for (String id : mine) {
            setCurrentKey(id);
            Awaited a = state.value();
            if (a != null && !a.heard && !a.open) {
                arm(id, a, now);
                state.update(a);
            }
        }
    }

    private void arm(String id, Awaited a, long now) throws Exception {
        DetectorRules.MissingData rule = book.resolve(book.expected().get(id)).missingData();
        if (rule != null && a.dueBefore == 0) {
            // An OPEN the run before may have sent keeps its rule until a reading ends it.
            a.rule = rule.alarm().rule();
            a.severity = rule.alarm().severity();
        }
        if (rule != null) {
            a.dueAt = saturatedAdd(now, rule.afterMillis());
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, a.dueAt);
        }
    }

    /**
     * Whether a restored wait had ended before this run began, unheard: the run before may have
     * sent its OPEN after its last checkpoint.
     */
    private static boolean overdue(Awaited a, long now) {
        return !a.heard && !a.open && a.dueAt != 0 && a.dueAt <= now;
    }

    /** Alerts are sent from timers; this one at once. */
    private void resolveFromTimer(Awaited a, long now) throws Exception {
        a.dueAt = now;
        state.update(a);
        timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, now);
    }

    @Override
    public void processElement(StreamRecord<Tuple2<String, Long>> element) throws Exception {
        String id = element.getValue().f0;
        if (!book.expected().containsKey(id)) {
            return; // only listed sensors keep state here
        }
        setCurrentKey(id);
        Awaited a = state.value();
        if (a == null) {
            return;
        }
        long now = getProcessingTimeService().getCurrentProcessingTime();
        long at = element.getValue().f1;
        boolean reading = at != SensorDetectors.FORGOTTEN && at != SensorDetectors.KNOWN_BEFORE;
        if (at == SensorDetectors.FORGOTTEN) {
            if (a.heard && a.heardRun != run) {
                // Nothing watches its silence now: it is awaited again, a new episode.
                a.heard = false;
                a.again = true;
                a.since = now;
                notHeard++;
                if (started) {
                    arm(id, a, now);
                }
                state.update(a);
            }
            return;
        }
        if (a.heard) {
            if (reading && a.heardRun != run) {
                a.heardRun = run;
                state.update(a);
            }
            return;
        }
        a.heard = true;
        a.again = false;
        if (reading) {
            a.heardRun = run;
        }
        a.dueAt = 0;
        if (a.open) {
            a.open = false;
            missing--;
            String how =
                    at == SensorDetectors.KNOWN_BEFORE
                            ? " sent before this restore; its silence is missing data's to tell"
                            : " sent a reading at " + Instant.ofEpochMilli(at);
            emit(
                    opened(id, a, now)
                            .resolve(
                                    at == SensorDetectors.KNOWN_BEFORE
                                            ? now
                                            : Math.max(at, a.since),
                                    now,
                                    id + how + "; resolved"));
            a.rule = null;
            a.severity = null;
        } else {
            notHeard--;
            if (a.dueBefore != 0 && reading && at >= a.dueBefore) {
                // The run before waited past its end without hearing the sensor, and this run's
                // first reading of it is stamped later: that run may have sent the OPEN after its
                // last checkpoint. Told whole, under that wait's rule, so that it does not stay
                // open for good: an OPEN the alerting service has is a duplicate to it, and the
                // RESOLVED closes it. With exactly-once delivery that OPEN was never visible; the
                // silence was real all the same, in the sensor's own timestamps.
                closeWhole(
                        id,
                        a,
                        Math.max(at, a.since),
                        now,
                        id + " sent a reading at " + Instant.ofEpochMilli(at) + "; resolved");
            }
            a.rule = null;
            a.severity = null;
        }
        a.dueBefore = 0;
        state.update(a);
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        Awaited a = state.value();
        if (a == null || a.dueAt == 0 || timer.getTimestamp() < a.dueAt) {
            return;
        }
        String id = timer.getKey();
        long now = timer.getTimestamp();
        RuleBook.Expected e = book.expected().get(id);
        if (e == null) {
            // Taken off the list while its alert was open (or may have been): nothing else would
            // resolve it.
            closeWhole(
                    id,
                    a,
                    now,
                    now,
                    id + " is no longer listed as expected in the rules; resolved");
            state.clear();
            return;
        }
        a.dueAt = 0;
        DetectorRules.MissingData rule = book.resolve(e).missingData();
        if ((a.open || a.dueBefore != 0) && rule == null) {
            if (a.open) {
                missing--;
                notHeard++;
            }
            closeWhole(
                    id,
                    a,
                    now,
                    now,
                    id + ": the rules no longer ask for missing data here; resolved");
            a.open = false;
            a.dueBefore = 0;
            a.rule = null;
            a.severity = null;
            a.again = false;
            // Not heard still: a rule given again later awaits it afresh, a new episode.
            a.since = now;
        } else if (!a.open && !a.heard && rule != null) {
            a.open = true;
            a.dueBefore = 0;
            a.rule = rule.alarm().rule();
            a.severity = rule.alarm().severity();
            notHeard--;
            missing++;
            emit(opened(id, a, now));
        }
        state.update(a);
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {}

    /**
     * Resolves the wait's episode; when no OPEN of it is known to have been sent (the run before
     * may have sent one after its last checkpoint), the OPEN goes first, which the alerting service
     * takes as a duplicate if it has it.
     */
    private void closeWhole(String id, Awaited a, long endTime, long now, String message) {
        Alert open = opened(id, a, now);
        if (!a.open) {
            emit(open);
        }
        emit(open.resolve(endTime, now, message));
    }

    private Alert opened(String id, Awaited a, long detectedAt) {
        return Alert.open(
                        SensorId.parse(id),
                        a.rule != null ? a.rule : RuleBook.MISSING_DATA,
                        AlertKind.MISSING_DATA,
                        a.severity != null ? a.severity : Severity.WARNING,
                        a.since,
                        detectedAt,
                        detectedAt,
                        List.of(),
                        id
                                + " has sent no reading since "
                                + Instant.ofEpochMilli(a.since)
                                + (a.again
                                        ? " (listed as expected in the rules; its detectors' state started"
                                                + " over at a restore at another parallelism)"
                                        : ", when this job began awaiting it (listed as expected in the"
                                                + " rules, never heard)"))
                .withDetail(listedUnit(id), limits(id));
    }

    private String listedUnit(String id) {
        RuleBook.Expected listed = book.expected().get(id);
        return listed == null || listed.unit() == null ? "" : listed.unit();
    }

    /** The wait of the rule in force, if the rules still list the sensor. */
    private java.util.Map<String, Double> limits(String id) {
        RuleBook.Expected listed = book.expected().get(id);
        DetectorRules.MissingData rule = listed == null ? null : book.resolve(listed).missingData();
        return rule == null
                ? java.util.Map.of()
                : AlertLimits.named(
                        AlertKind.MISSING_DATA, AlertLimits.missingData(rule.afterMillis()));
    }

    private void emit(Alert alert) {
        output.collect(new StreamRecord<>(alert, alert.detectedAt()));
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
