package io.plantwatch.appliance;

import java.util.List;

/**
 * NAB's score of one data file, computed as NAB's own sweeper computes it (numenta/NAB,
 * nab/sweeper.py): rows in the probationary period (the first 15 % of rows, at most 750) do not
 * count; inside a window each flagged row scores a scaled sigmoid of its position (earliest best),
 * and only the window's best (its earliest) detection counts; a window without one costs {@code
 * fnWeight}; a flagged row outside every window costs {@code fpWeight} times the sigmoid of its
 * distance past the previous window (full cost before the first window or three widths past it).
 * The standard profile weighs a true positive 1.0, a false positive 0.11, a missed window 1.0.
 */
final class NabScore {
    record Profile(double tpWeight, double fpWeight, double fnWeight) {}

    static final Profile STANDARD = new Profile(1.0, 0.11, 1.0);

    private NabScore() {}

    static double scaledSigmoid(double relativePosition) {
        if (relativePosition >= 3.0) {
            return -1.0;
        }
        return 2 / (1 + Math.exp(5 * relativePosition)) - 1.0;
    }

    /**
     * @param timestamps every row's timestamp, ascending
     * @param flagged which rows the detector flagged (an alert raised at that row)
     * @param windows the labelled windows as [first row, last row] indices, ascending
     */
    static double score(long[] timestamps, boolean[] flagged, List<int[]> windows, Profile p) {
        int n = timestamps.length;
        int probation = (int) Math.min(Math.floor(0.15 * n), 0.15 * 5000);
        double maxTp = scaledSigmoid(-1.0);
        double fp = 0;
        double[] best = new double[windows.size()];
        boolean[] hit = new boolean[windows.size()];
        int w = 0;
        int prevRight = -1;
        double prevWidth = 0;
        for (int i = 0; i < n; i++) {
            while (w < windows.size() && i > windows.get(w)[1]) {
                prevRight = windows.get(w)[1];
                prevWidth = windows.get(w)[1] - windows.get(w)[0] + 1;
                w++;
            }
            boolean inside = w < windows.size() && i >= windows.get(w)[0];
            if (!flagged[i] || i < probation) {
                continue;
            }
            if (inside) {
                int[] win = windows.get(w);
                double width = win[1] - win[0] + 1;
                double position = -(win[1] - i + 1) / width;
                double s = scaledSigmoid(position) * p.tpWeight() / maxTp;
                best[w] = hit[w] ? Math.max(best[w], s) : s;
                hit[w] = true;
            } else {
                double past = prevRight < 0 ? 3.0 : Math.abs(prevRight - i) / (prevWidth - 1);
                fp += scaledSigmoid(past) * p.fpWeight();
            }
        }
        double total = fp;
        for (int k = 0; k < windows.size(); k++) {
            // A window inside the probationary period is not scored at all, as in NAB.
            if (windows.get(k)[1] < probation) {
                continue;
            }
            total += hit[k] ? best[k] : -p.fnWeight();
        }
        return total;
    }
}
