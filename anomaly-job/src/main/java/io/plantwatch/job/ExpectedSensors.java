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
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Missing data for a sensor the rules list as expected ({@code expected:} in rules.yaml) and the
 * job has never heard. The {@link MissingDataDetector} counts a sensor's silence from its last
 * reading, so a sensor that never sent (wired wrong, a gateway's topic mapping missing it, dead on
 * delivery) raised nothing. Here each listed sensor is awaited from the job's start: if none of its
 * readings reaches the detectors within its missing-data rule's {@code after}, a MISSING_DATA alert
 * opens, and its first reading resolves it. From then on missing data is the detector's.
 *
 * <p>Keyed by sensor id, with state only for listed sensors: at its start each subtask creates the
 * state of the listed sensors in its key groups, as a {@code keyBy} would place their readings. It
 * hears a sensor from {@link SensorDetectors#HEARD}: once per sensor and run at its first released
 * reading, and, after a restore, every sensor the detectors' state knows, so a listed sensor that
 * sent before and is silent now is missing data's alone (since its last reading), not alerted
 * twice. Like missing data, it runs on processing time (a silent sensor moves no watermark), and
 * after a restore the wait counts from the restart: the sensors' readings of the downtime are still
 * to be read.
 *
 * <p>The alert's episode starts when this job began awaiting the sensor (kept in state), so its id
 * is the same after a restore. A sensor taken off the list resolves its open alert at the next
 * start; one whose rules ask for no missing data is awaited without an alert.
 */
public final class ExpectedSensors extends AbstractStreamOperator<Alert>
        implements OneInputStreamOperator<Tuple2<String, Long>, Alert>,
                Triggerable<String, VoidNamespace> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ExpectedSensors.class);
    static final String STATE_NAME = "expected-sensor";

    /** A listed sensor, as far as this operator knows it. */
    public static final class Awaited {
        /** When this job began awaiting it: the start of a never-heard episode. */
        public long since;

        /** When its wait ends (processing time); 0 when no timer is due. */
        public long dueAt;

        public boolean heard;
        public boolean open;

        /** The open alert's rule and severity: its id holds the rule's name. */
        public String rule;

        public Severity severity;

        public Awaited() {}
    }

    private final RuleBook book;
    private transient ValueState<Awaited> state;
    private transient InternalTimerService<VoidNamespace> timers;
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
        List<String> known;
        KeyedStateBackend<String> backend = getKeyedStateBackend();
        try (Stream<String> keys = backend.getKeys(STATE_NAME, VoidNamespace.INSTANCE)) {
            known = keys.toList();
        }
        for (String id : known) {
            if (!book.expected().containsKey(id)) {
                setCurrentKey(id);
                Awaited a = state.value();
                if (a != null && a.open) {
                    // Emitted from the timer, as every alert of this operator is.
                    a.dueAt = now;
                    state.update(a);
                    timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, now);
                } else {
                    state.clear();
                }
            }
        }
        TaskInfo task = getRuntimeContext().getTaskInfo();
        int maxParallelism = task.getMaxNumberOfParallelSubtasks();
        KeyGroupRange mine =
                KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(
                        maxParallelism,
                        task.getNumberOfParallelSubtasks(),
                        task.getIndexOfThisSubtask());
        List<String> withoutRule = new ArrayList<>();
        int here = 0;
        for (RuleBook.Expected e : book.expected().values()) {
            if (!mine.contains(KeyGroupRangeAssignment.assignToKeyGroup(e.id(), maxParallelism))) {
                continue;
            }
            here++;
            setCurrentKey(e.id());
            Awaited a = state.value();
            if (a == null) {
                a = new Awaited();
                a.since = now;
            }
            if (a.open) {
                missing++;
            } else if (!a.heard) {
                notHeard++;
                DetectorRules.MissingData rule = book.resolve(e).missingData();
                if (rule == null) {
                    withoutRule.add(e.id());
                    a.dueAt = 0;
                } else {
                    // A timer restored from the run before may be overdue; it finds a later
                    // dueAt and does nothing.
                    a.dueAt = saturatedAdd(now, rule.afterMillis());
                    timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, a.dueAt);
                }
            }
            state.update(a);
        }
        if (here > 0) {
            LOG.info(
                    "{} expected sensors on subtask {}: {} not heard yet, {} with a missing-data"
                            + " alert open",
                    here,
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
        getMetricGroup().gauge("expectedSensorsNotHeard", () -> notHeard);
        getMetricGroup().gauge("expectedSensorsMissing", () -> missing);
    }

    @Override
    public void processElement(StreamRecord<Tuple2<String, Long>> element) throws Exception {
        String id = element.getValue().f0;
        if (!book.expected().containsKey(id)) {
            return; // only listed sensors keep state here
        }
        setCurrentKey(id);
        Awaited a = state.value();
        if (a == null || a.heard) {
            return;
        }
        long now = getProcessingTimeService().getCurrentProcessingTime();
        long at = element.getValue().f1;
        a.heard = true;
        a.dueAt = 0;
        if (a.open) {
            a.open = false;
            missing--;
            String how =
                    at == SensorDetectors.KNOWN_BEFORE
                            ? " sent before this restore; its silence is missing data's to tell"
                            : " sent its first reading at " + Instant.ofEpochMilli(at);
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
        }
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
            // Taken off the list while its alert was open: nothing else would resolve it.
            emit(
                    opened(id, a, now)
                            .resolve(
                                    now,
                                    now,
                                    id
                                            + " is no longer listed as expected in the rules; resolved"));
            state.clear();
            return;
        }
        a.dueAt = 0;
        if (a.heard || a.open) {
            state.update(a);
            return;
        }
        DetectorRules.MissingData rule = book.resolve(e).missingData();
        if (rule != null) {
            a.open = true;
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
                        + " has sent no reading since this job began awaiting it at "
                        + Instant.ofEpochMilli(a.since)
                        + " (listed as expected in the rules, never heard)");
    }

    private void emit(Alert alert) {
        output.collect(new StreamRecord<>(alert, alert.detectedAt()));
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
