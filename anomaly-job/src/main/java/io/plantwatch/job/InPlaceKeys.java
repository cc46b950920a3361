package io.plantwatch.job;

import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.MathUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-sensor keyed state on the subtask that reads the sensor's Kafka partition, so a reading goes
 * from the Kafka source to the detectors in the same thread instead of across a shuffle.
 *
 * <p>The gateway keys {@code sensor-readings} by sensor id, so all of a sensor's readings are in
 * one partition, and each partition is read by one source subtask, the same one after a restore at
 * the same parallelism (Flink hands a subtask's splits back to it). Flink's {@code keyBy} would
 * still move most readings to another subtask: it places a key by the hash of its key, not by where
 * it was read. Here each sensor's {@link SensorKey} carries a hash chosen to fall in a key group of
 * the subtask that reads it, and the stream is declared keyed in place ({@code
 * reinterpretAsKeyedStream}). Keyed state, timers, checkpoints and savepoints work as with {@code
 * keyBy}. Reading plus the shuffle alone took 1.6 µs of CPU per reading against 0.7 for reading,
 * when the whole job took 2.8 (anomaly-job/README.md).
 *
 * <p>What this gives up: when the job is restored at another parallelism, partitions and key groups
 * move independently, so a sensor's readings and its state part. {@link DetectorsOperator} notices
 * (it records the parallelism in its checkpoints) and starts the detectors' state over, with a
 * warning; the alert lifecycle and the CEP patterns, keyed by {@code keyBy}, keep theirs. Adding
 * partitions to the topic moves sensors between partitions, as it does for any keyed Kafka consumer
 * (Kafka Streams asks for an application reset): restart the job without its state then. A topic
 * not keyed by sensor id needs {@code kafka.readings-keyed-by-sensor: false}, which shuffles by
 * sensor as {@code keyBy} does.
 */
public final class InPlaceKeys {
    private InPlaceKeys() {}

    /** {@code readings}, read from a topic keyed by sensor id, keyed where they are. */
    static KeyedStream<SensorReading, SensorKey> keyedInPlace(DataStream<SensorReading> readings) {
        return DataStreamUtils.reinterpretAsKeyedStream(
                readings, new Selector(), SensorKey.TypeInfo.INSTANCE);
    }

    /**
     * A reading's {@link SensorKey} on one subtask: bound to that subtask by {@link
     * DetectorsOperator} before the first reading, since a key selector is not told where it runs.
     */
    public static final class Selector implements KeySelector<SensorReading, SensorKey> {
        private static final long serialVersionUID = 1L;
        private transient int firstGroup;
        private transient int groups;
        private transient int maxParallelism;

        /** Keys from now on fall in the key groups of subtask {@code index}. */
        void bind(int index, int parallelism, int maxParallelism) {
            KeyGroupRange range =
                    KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(
                            maxParallelism, parallelism, index);
            this.firstGroup = range.getStartKeyGroup();
            this.groups = range.getNumberOfKeyGroups();
            this.maxParallelism = maxParallelism;
        }

        @Override
        public SensorKey getKey(SensorReading r) {
            if (groups == 0) {
                throw new IllegalStateException(
                        "in-place sensor keys are bound to a subtask by their operator first");
            }
            SensorId id = r.sensorId();
            return new SensorKey(
                    id, hashFor(SensorKey.idHash(id), firstGroup, groups, maxParallelism));
        }
    }

    /**
     * A key hash that Flink's key-group assignment ({@code murmurHash(hash) % maxParallelism})
     * places in one of {@code groups} key groups from {@code firstGroup}, chosen by {@code idHash}.
     * Distinct ids keep distinct hashes (mostly), so a key group's hash table stays spread.
     */
    static int hashFor(int idHash, int firstGroup, int groups, int maxParallelism) {
        // Similar ids differ in their hashes' low bits; mixed, every bit tells them apart.
        int mixed = MathUtils.bitMix(idHash);
        int group = firstGroup + (mixed & 0x7fffffff) % groups;
        // A non-negative murmur hash with that remainder; inverting murmur gives the key hash.
        int murmur = (((mixed >>> 1) & 0x3fffffff) / maxParallelism) * maxParallelism + group;
        return unmurmur(murmur);
    }

    // Flink's MathUtils.murmurHash is a bijection on int up to its final sign flip, which a
    // non-negative result skips; each step is undone in reverse order.
    private static final int INVERSE_C1 = inverseOf(0xcc9e2d51);
    private static final int INVERSE_C2 = inverseOf(0x1b873593);
    private static final int INVERSE_5 = inverseOf(5);
    private static final int INVERSE_MIX1 = inverseOf(0x85ebca6b);
    private static final int INVERSE_MIX2 = inverseOf(0xc2b2ae35);

    /** The int whose {@link MathUtils#murmurHash(int)} is {@code murmur}, for murmur ≥ 0. */
    static int unmurmur(int murmur) {
        int h = murmur;
        h ^= h >>> 16;
        h *= INVERSE_MIX2;
        h ^= (h >>> 13) ^ (h >>> 26);
        h *= INVERSE_MIX1;
        h ^= h >>> 16;
        h ^= 4;
        h = (h - 0xe6546b64) * INVERSE_5;
        h = Integer.rotateRight(h, 13);
        h *= INVERSE_C2;
        h = Integer.rotateRight(h, 15);
        h *= INVERSE_C1;
        return h;
    }

    /** The multiplicative inverse of an odd int modulo 2^32 (Newton's iteration). */
    private static int inverseOf(int odd) {
        int x = odd;
        for (int i = 0; i < 5; i++) {
            x *= 2 - odd * x;
        }
        return x;
    }

    /**
     * {@link SensorDetectors} keyed in place: binds the {@link Selector} to its subtask, and starts
     * the detectors' state over when restored at another parallelism (see the class comment).
     */
    public static final class DetectorsOperator
            extends KeyedProcessOperator<SensorKey, SensorReading, Signal> {
        private static final long serialVersionUID = 1L;
        private static final Logger LOG = LoggerFactory.getLogger(DetectorsOperator.class);

        private transient int restoredParallelism;
        private transient boolean restored;
        private transient long sensorsReset;
        private transient long handedOver;

        /**
         * Until when (processing time) a sensor whose state begins afresh here may have had an
         * alert open when a restore at another parallelism dropped its state: a run that fails and
         * restores at the same parallelism before every sensor sent again goes on marking their
         * levels not yet judged. One state TTL after the restore, a sensor that sent nothing since
         * would have been forgotten anyway.
         */
        private transient ListState<Long> resetUntil;

        public DetectorsOperator(SensorDetectors<SensorKey> detectors) {
            super(detectors);
        }

        @Override
        public void initializeState(StateInitializationContext context) throws Exception {
            super.initializeState(context);
            int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            ListState<Integer> recorded =
                    context.getOperatorStateStore()
                            .getListState(
                                    new ListStateDescriptor<>(
                                            "parallelism", IntSerializer.INSTANCE));
            restoredParallelism = parallelism;
            ((SensorDetectors<?>) userFunction)
                    .restoredFrom(context.getRestoredCheckpointId().orElse(-1));
            restored = context.isRestored();
            if (context.isRestored()) {
                List<Integer> before = new ArrayList<>();
                recorded.get().forEach(before::add);
                // A subtask that gets none, or another's, was restored at another parallelism.
                if (before.size() != 1 || before.get(0) != parallelism) {
                    restoredParallelism = before.isEmpty() ? -1 : before.get(0);
                }
            }
            recorded.update(List.of(parallelism));
            resetUntil =
                    context.getOperatorStateStore()
                            .getListState(
                                    new ListStateDescriptor<>(
                                            "detectors-reset-until", LongSerializer.INSTANCE));
        }

        @Override
        public void open() throws Exception {
            TaskInfo task = getRuntimeContext().getTaskInfo();
            if (!(getStateKeySelector1() instanceof Selector selector)) {
                throw new IllegalStateException(
                        "the detectors keyed in place need InPlaceKeys.keyedInPlace's keys");
            }
            selector.bind(
                    task.getIndexOfThisSubtask(),
                    task.getNumberOfParallelSubtasks(),
                    task.getMaxNumberOfParallelSubtasks());
            super.open();
            Counter reset = getMetricGroup().counter("sensorStatesReset");
            SensorDetectors<?> detectors = (SensorDetectors<?>) userFunction;
            long now = getProcessingTimeService().getCurrentProcessingTime();
            long until = Long.MIN_VALUE;
            for (Long t : resetUntil.get()) {
                until = Math.max(until, t);
            }
            if (restoredParallelism != task.getNumberOfParallelSubtasks()) {
                long ttl = detectors.stateTtlMillis();
                until = ttl > 0 && now < Long.MAX_VALUE - ttl ? now + ttl : Long.MAX_VALUE;
            }
            resetUntil.update(until > now ? List.of(until) : List.of());
            detectors.detectorsReset(now < until);
            if (restoredParallelism != task.getNumberOfParallelSubtasks()) {
                long n = dropSensors();
                sensorsReset = n;
                reset.inc(n);
                if (n > 0) {
                    LOG.warn(
                            "Restored at parallelism {} from state written at {}: sensors' readings"
                                    + " now reach other subtasks than their state, so the detector"
                                    + " state of {} sensors on subtask {} starts over (baselines"
                                    + " warm up again; alert lifecycle and patterns keep theirs;"
                                    + " {} open missing-data alerts handed to the lifecycle, to"
                                    + " resolve when their sensors send again)",
                            task.getNumberOfParallelSubtasks(),
                            restoredParallelism < 0 ? "another" : restoredParallelism,
                            n,
                            task.getIndexOfThisSubtask(),
                            handedOver);
                }
            } else if (restored) {
                detectors.announceRestored(
                        getKeyedStateBackend(),
                        getPartitionedState(
                                VoidNamespace.INSTANCE,
                                VoidNamespaceSerializer.INSTANCE,
                                SensorDetectors.stateDescriptor()),
                        SensorKey::id,
                        output);
            }
        }

        /** How many open missing-data alerts were handed to the lifecycle at that. */
        long missingDataHandedOver() {
            return handedOver;
        }

        /** How many sensors' state was started over when this subtask was restored. */
        long sensorsReset() {
            return sensorsReset;
        }

        /** Clears every sensor's state here; its timers then find none and do nothing. */
        private long dropSensors() throws Exception {
            List<SensorKey> keys;
            SensorDetectors<?> detectors = (SensorDetectors<?>) userFunction;
            KeyedStateBackend<SensorKey> backend = getKeyedStateBackend();
            try (Stream<SensorKey> restored =
                    backend.getKeys(SensorDetectors.STATE_NAME, VoidNamespace.INSTANCE)) {
                keys = restored.toList();
            }
            ValueState<SensorDetectors.State> state =
                    getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            SensorDetectors.stateDescriptor());
            for (SensorKey k : keys) {
                setCurrentKey(k);
                SensorDetectors.State s = state.value();
                Signal open = s == null ? null : detectors.missingDataHandedOver(s);
                if (open != null) {
                    // Its sensor's next reading reaches a state begun afresh, which could not
                    // resolve it: the lifecycle, keyed by sensor wherever it runs, keeps it.
                    output.collect(new StreamRecord<>(open, open.time()));
                    handedOver++;
                }
                detectors.announceDropped(k.id(), s, open != null, output);
                state.clear();
            }
            return keys.size();
        }
    }
}
