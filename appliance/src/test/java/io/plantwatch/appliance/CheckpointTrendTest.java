package io.plantwatch.appliance;

import static io.plantwatch.appliance.CheckpointTrend.Change.FAILING;
import static io.plantwatch.appliance.CheckpointTrend.Change.RECOVERED;
import static io.plantwatch.appliance.CheckpointTrend.Change.SAME;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CheckpointTrendTest {

    /**
     * After a kill -9, a restart under load counted one checkpoint it could not trigger while the
     * tasks restored; the console warned that checkpoints fail, pointing to a log without a cause,
     * and 11 s later that they succeed again.
     */
    @Test
    void oneFailureFollowedByASuccessIsNotTold() {
        CheckpointTrend t = new CheckpointTrend(0, 0);
        assertThat(t.next(1, 0)).isEqualTo(SAME);
        assertThat(t.next(1, 1)).isEqualTo(SAME);
        assertThat(t.next(2, 1)).isEqualTo(SAME);
        assertThat(t.next(2, 2)).isEqualTo(SAME);
    }

    @Test
    void failuresInARowAreToldOnceAndTheirEndOnce() {
        CheckpointTrend t = new CheckpointTrend(3, 10);
        assertThat(t.next(4, 10)).isEqualTo(SAME);
        assertThat(t.next(5, 10)).isEqualTo(FAILING);
        assertThat(t.next(9, 10)).isEqualTo(SAME);
        assertThat(t.next(9, 11)).isEqualTo(RECOVERED);
        assertThat(t.next(9, 12)).isEqualTo(SAME);
        // Two failures between two polls are two in a row as well.
        assertThat(t.next(11, 12)).isEqualTo(FAILING);
    }

    @Test
    void aSuccessAndAFailureInTheSamePollKeepTheWarningUntilASuccessAlone() {
        CheckpointTrend t = new CheckpointTrend(0, 0);
        assertThat(t.next(2, 0)).isEqualTo(FAILING);
        assertThat(t.next(3, 1)).isEqualTo(SAME);
        assertThat(t.next(3, 2)).isEqualTo(RECOVERED);
    }

    /** A job replacing one whose checkpoints failed: its first success is the recovery. */
    @Test
    void aJobThatFollowsFailingCheckpointsRecoversAtItsFirstSuccess() {
        CheckpointTrend t = new CheckpointTrend(0, 0, true);
        assertThat(t.next(1, 0)).isEqualTo(SAME);
        assertThat(t.next(1, 1)).isEqualTo(RECOVERED);
        assertThat(new CheckpointTrend(0, 0, false).next(0, 1)).isEqualTo(SAME);
    }
}
