package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.List;
import org.junit.jupiter.api.Test;

class NabScoreTest {
    /** 10,000 rows, four windows of 100 rows after the 750-row probation. */
    private static final long[] TS = new long[10_000];

    private static final List<int[]> WINDOWS =
            List.of(
                    new int[] {1000, 1099},
                    new int[] {3000, 3099},
                    new int[] {6000, 6099},
                    new int[] {9000, 9099});

    static {
        for (int i = 0; i < TS.length; i++) {
            TS[i] = i * 300_000L;
        }
    }

    private static double score(int... flaggedRows) {
        boolean[] f = new boolean[TS.length];
        for (int r : flaggedRows) {
            f[r] = true;
        }
        return NabScore.score(TS, f, WINDOWS, NabScore.STANDARD);
    }

    @Test
    void aDetectorThatNeverFiresScoresMinusOnePerWindow() {
        assertThat(score()).isEqualTo(-4.0);
    }

    @Test
    void theFirstRowOfEveryWindowIsAPerfectScoreAndOnlyTheEarliestDetectionCounts() {
        assertThat(score(1000, 3000, 6000, 9000)).isCloseTo(4.0, offset(1e-12));
        assertThat(score(1000, 1050, 3000, 6000, 9000)).isCloseTo(4.0, offset(1e-12));
        // Halfway in: NAB's position -(right - i + 1) / width is -0.51 for row 1049, scored
        // 2 sigmoid(5 * 0.51) - 1 over the maximum 2 sigmoid(5) - 1.
        double half = (2 / (1 + Math.exp(-2.55)) - 1) / (2 / (1 + Math.exp(-5)) - 1);
        assertThat(score(1049, 3000, 6000, 9000)).isCloseTo(3 + half, offset(1e-12));
    }

    @Test
    void falsePositivesCostTheirWeightFarFromWindowsAndLessRightAfterOne() {
        // Before the first window: the full 0.11.
        assertThat(score(900)).isCloseTo(-4.11, offset(1e-12));
        // Just after a window: hardly anything.
        assertThat(score(1100) - score()).isGreaterThan(-0.02).isLessThan(0);
        // In the probation (the first 750 rows): not counted at all.
        assertThat(score(10)).isEqualTo(-4.0);
    }
}
