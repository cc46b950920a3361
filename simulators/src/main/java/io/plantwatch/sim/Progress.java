package io.plantwatch.sim;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Shows how far a run is: a bar redrawn in place on a terminal, plain lines every few seconds
 * otherwise (logs and CI want lines, not carriage returns).
 */
final class Progress implements AutoCloseable {

    private final ScheduledExecutorService timer;
    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier done;
    private final long total;
    private final long startNanos = System.nanoTime();

    private Progress(PrintWriter err, boolean terminal, LongSupplier done, long total) {
        this.err = err;
        this.terminal = terminal;
        this.done = done;
        this.total = total;
        this.timer =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "sensor-sim-progress");
                            t.setDaemon(true);
                            return t;
                        });
        long period = terminal ? 500 : 5_000;
        timer.scheduleAtFixedRate(this::show, period, period, TimeUnit.MILLISECONDS);
    }

    /** Starts showing progress unless {@code quiet}; {@code total} is 0 when unknown. */
    static Progress start(PrintWriter err, boolean quiet, LongSupplier done, long total) {
        return quiet ? null : new Progress(err, System.console() != null, done, total);
    }

    private void show() {
        long n = done.getAsLong();
        double secs = (System.nanoTime() - startNanos) / 1e9;
        double rate = secs > 0 ? n / secs : 0;
        if (terminal) {
            StringBuilder b = new StringBuilder("\r");
            if (total > 0) {
                int width = 30;
                int filled = (int) Math.min(width, n * width / total);
                b.append('[')
                        .append("#".repeat(filled))
                        .append(" ".repeat(width - filled))
                        .append("] ");
                b.append(String.format(Locale.ROOT, "%3d%% ", Math.min(100, n * 100 / total)));
            }
            b.append(
                    String.format(Locale.ROOT, "%,d published  %,.0f/s  %.0f s   ", n, rate, secs));
            err.print(b);
        } else {
            err.println(
                    String.format(
                            Locale.ROOT,
                            "progress: %,d published%s, %,.0f/s, %.0f s",
                            n,
                            total > 0 ? " of " + String.format(Locale.ROOT, "%,d", total) : "",
                            rate,
                            secs));
        }
        err.flush();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        if (terminal) {
            err.print("\r" + " ".repeat(79) + "\r");
            err.flush();
        }
    }
}
