package io.plantwatch.appliance;

/**
 * When to tell the console that the job's checkpoints fail, and that they succeed again, from
 * Flink's running counts of failed and completed checkpoints.
 *
 * <p>One failure alone is what a start or restart under load gives: Flink counts the checkpoints it
 * could not trigger while the tasks were still restoring, and the next one succeeds. Two in a row
 * without a success between them are a fault (a full disk, a checkpoint folder that cannot be
 * written), said once until a checkpoint succeeds again.
 */
final class CheckpointTrend {

    /** What changed since the counts before. */
    enum Change {
        SAME,
        FAILING,
        RECOVERED
    }

    private static final int FAILURES_TO_TELL = 2;

    private long failed;
    private long completed;
    private long failedInARow;
    private boolean failing;

    CheckpointTrend(long failed, long completed) {
        this(failed, completed, false);
    }

    /**
     * @param failing the checkpoints of the job this one's follows were failing: its next success
     *     is a recovery
     */
    CheckpointTrend(long failed, long completed, boolean failing) {
        this.failed = failed;
        this.completed = completed;
        this.failing = failing;
    }

    /** The counts now. */
    Change next(long failedNow, long completedNow) {
        boolean succeeded = completedNow > completed;
        completed = completedNow;
        if (succeeded) {
            failedInARow = 0;
        }
        failedInARow += Math.max(0, failedNow - failed);
        failed = failedNow;
        if (!failing && failedInARow >= FAILURES_TO_TELL) {
            failing = true;
            return Change.FAILING;
        }
        if (failing && succeeded && failedInARow == 0) {
            failing = false;
            return Change.RECOVERED;
        }
        return Change.SAME;
    }
}
