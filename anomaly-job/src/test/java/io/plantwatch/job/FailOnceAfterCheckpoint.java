package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;

/**
 * An injected fault: passes readings through until a checkpoint has completed and the test opens
 * the gate, then fails the job once. Static flags, since the MiniCluster runs in the test's JVM and
 * the failure must happen once across restarts.
 */
final class FailOnceAfterCheckpoint
        implements MapFunction<SensorReading, SensorReading>, CheckpointListener {
    private static final long serialVersionUID = 1L;

    static final AtomicBoolean CHECKPOINTED = new AtomicBoolean();
    static final AtomicBoolean ARMED = new AtomicBoolean();
    static final AtomicBoolean FAILED = new AtomicBoolean();

    static void reset() {
        CHECKPOINTED.set(false);
        ARMED.set(false);
        FAILED.set(false);
    }

    @Override
    public SensorReading map(SensorReading r) {
        if (ARMED.get() && CHECKPOINTED.get() && FAILED.compareAndSet(false, true)) {
            throw new IllegalStateException("injected failure after a completed checkpoint");
        }
        return r;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        CHECKPOINTED.set(true);
    }
}
