package io.plantwatch.appliance;

import io.plantwatch.alerting.PipelineAlerts;
import io.plantwatch.alerting.PipelineAlerts.Check;
import io.plantwatch.model.Severity;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.api.common.JobStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's checks of its own parts, reported every period to alerting's {@link
 * PipelineAlerts}, which tells them to the receivers as alerts on {@code
 * plantwatch/pipeline/<instance>/<part>/<check>}. The console's WARN lines say the same, but an
 * appliance under a service manager has nobody reading its console.
 */
final class PipelineWatch {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineWatch.class);

    static final Check JOB_RUNNING =
            new Check(
                    "anomaly-job",
                    "running",
                    Severity.CRITICAL,
                    "The anomaly job runs again, without failing over and over.",
                    false);

    static final Check JOB_CHECKPOINTS =
            new Check(
                    "anomaly-job",
                    "checkpoints",
                    Severity.WARNING,
                    "The anomaly job's checkpoints succeed again.",
                    // CheckpointTrend has judged it a trend already.
                    true);

    static final Check GATEWAY =
            new Check(
                    "gateway",
                    "forwarding",
                    Severity.CRITICAL,
                    "The gateway forwards readings to Kafka again.",
                    false);

    static final Check BROKER_DROPS =
            new Check(
                    "mqtt-broker",
                    "drops",
                    Severity.CRITICAL,
                    "The MQTT broker stopped dropping readings; the log says how many were"
                            + " lost.",
                    // Every moment of it loses readings.
                    true);

    /** The appliance stopping on its own: told once, resolved after the next start. */
    static final Check STOPPED =
            new Check("appliance", "stopped", Severity.CRITICAL, "The appliance runs again.", true);

    static final Check DISK =
            new Check(
                    "disk",
                    "free-space",
                    Severity.WARNING,
                    "The data folder's disk has room again.",
                    // Below disk.warn-free-mb is the warning already.
                    true);

    /** Restarts in this window, this many or more, are a job failing over and over. */
    static final long RESTART_WINDOW_MILLIS = 10 * 60_000;

    static final int RESTARTS_IN_WINDOW = 3;

    private final PipelineAlerts pipeline;
    private final Map<Check, Supplier<String>> checks = new LinkedHashMap<>();

    PipelineWatch(PipelineAlerts pipeline) {
        this.pipeline = pipeline;
    }

    /** Checks {@code c} with {@code problem}: a sentence while it fails, null while it works. */
    PipelineWatch check(Check c, Supplier<String> problem) {
        checks.put(c, problem);
        return this;
    }

    /** Checks each part once and reports what it found. */
    void checkOnce(long now) {
        for (Map.Entry<Check, Supplier<String>> e : checks.entrySet()) {
            String problem;
            try {
                problem = e.getValue().get();
            } catch (RuntimeException ex) {
                // A check that cannot tell keeps what it said before.
                LOG.debug("Pipeline check {} could not tell: {}", e.getKey(), ex.toString());
                continue;
            }
            pipeline.report(e.getKey(), problem, now);
        }
    }

    /** Checks every {@code periodMillis} until interrupted. */
    Thread watch(long periodMillis) {
        return Periodic.every(
                "pipeline-watch",
                periodMillis,
                () -> {
                    checkOnce(System.currentTimeMillis());
                    return true;
                });
    }

    /**
     * Why the job does not detect, one sentence, or null while it runs: not running now, or failed
     * {@value #RESTARTS_IN_WINDOW} times or more in ten minutes (between restarts it runs for
     * moments, so its status alone says RUNNING most of the time).
     *
     * @param recentRestarts restarts in the last ten minutes ({@link RestartWindow})
     * @param lastFailure the last failure's cause, asked only when there is a problem
     */
    static String jobProblem(JobStatus status, int recentRestarts, Supplier<String> lastFailure) {
        if (status != JobStatus.RUNNING) {
            return "The anomaly job is not running ("
                    + status
                    + "): nothing is detected until it runs; last failure: "
                    + lastFailure.get()
                    + ".";
        }
        if (recentRestarts >= RESTARTS_IN_WINDOW) {
            return "The anomaly job failed and restarted "
                    + recentRestarts
                    + " times in the last 10 minutes: it detects late, in between, and a failure"
                    + " after its restart limit stops it; last failure: "
                    + lastFailure.get()
                    + ".";
        }
        return null;
    }

    /**
     * The job's restarts within the last ten minutes, from its count of restarts so far; a job
     * replacing another (a changed file) counts from 0, and the restarts before it still count.
     */
    static final class RestartWindow {
        private final Deque<Long> at = new ArrayDeque<>();

        /** Restarts counted of each job, the last few: an old job's watch may still count once. */
        private final Map<Object, Long> seen =
                new LinkedHashMap<>() {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<Object, Long> eldest) {
                        return size() > 4;
                    }
                };

        synchronized int count(Object job, long restartsSoFar, long now) {
            for (long n = seen.getOrDefault(job, 0L); n < restartsSoFar; n++) {
                at.addLast(now);
            }
            seen.merge(job, restartsSoFar, Math::max);
            while (!at.isEmpty() && now - at.peekFirst() >= RESTART_WINDOW_MILLIS) {
                at.removeFirst();
            }
            return at.size();
        }
    }
}
