package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.alerting.PipelineAlerts;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;

/** When the job counts as not detecting, and what the watch reports of each part. */
class PipelineWatchTest {
    private static final long T0 = 1_796_000_000_000L;

    @Test
    void aJobNotRunningOrFailingOverAndOverIsAProblemAndOneRestartIsNot() {
        AtomicInteger asked = new AtomicInteger();
        java.util.function.Supplier<String> cause =
                () -> {
                    asked.incrementAndGet();
                    return "java.io.IOException: disk full";
                };
        assertThat(PipelineWatch.jobProblem(JobStatus.RUNNING, 2, cause)).isNull();
        assertThat(asked).as("the cause is asked only for a problem").hasValue(0);
        assertThat(PipelineWatch.jobProblem(JobStatus.RESTARTING, 0, cause))
                .isEqualTo(
                        "The anomaly job is not running (RESTARTING): nothing is detected until it"
                                + " runs; last failure: java.io.IOException: disk full.");
        assertThat(PipelineWatch.jobProblem(JobStatus.RUNNING, 3, cause))
                .startsWith("The anomaly job failed and restarted 3 times in the last 10 minutes")
                .endsWith("last failure: java.io.IOException: disk full.");
    }

    @Test
    void restartsCountForTenMinutesAcrossJobsThatReplaceEachOther() {
        PipelineWatch.RestartWindow recent = new PipelineWatch.RestartWindow();
        assertThat(recent.count("job-1", 0, T0)).isZero();
        assertThat(recent.count("job-1", 2, T0)).isEqualTo(2);
        assertThat(recent.count("job-1", 3, T0 + 5 * 60_000)).isEqualTo(3);
        assertThat(recent.count("job-1", 3, T0 + 10 * 60_000 - 1)).isEqualTo(3);
        assertThat(recent.count("job-1", 3, T0 + 10 * 60_000))
                .as("the first two are past")
                .isEqualTo(1);
        assertThat(recent.count("job-2", 1, T0 + 11 * 60_000))
                .as("a job replacing it counts from 0, and its predecessor's restarts still count")
                .isEqualTo(2);
        assertThat(recent.count("job-1", 3, T0 + 11 * 60_000))
                .as("the old job's watch, once more: nothing counted again")
                .isEqualTo(2);
        assertThat(recent.count("job-2", 1, T0 + 21 * 60_000)).isZero();
    }

    @Test
    void eachCheckIsReportedAndOneThatCannotTellKeepsWhatItSaid() {
        PipelineAlerts pipeline = new PipelineAlerts();
        AtomicReference<String> gateway = new AtomicReference<>("The gateway is cut off.");
        AtomicReference<RuntimeException> diskFails = new AtomicReference<>();
        PipelineWatch watch =
                new PipelineWatch(pipeline)
                        .check(PipelineWatch.GATEWAY, gateway::get)
                        .check(
                                PipelineWatch.DISK,
                                () -> {
                                    if (diskFails.get() != null) {
                                        throw diskFails.get();
                                    }
                                    return "The disk is filling.";
                                });
        watch.checkOnce(T0);
        assertThat(pipeline.reported(PipelineWatch.GATEWAY, T0 + 1_000))
                .isEqualTo("The gateway is cut off.");
        assertThat(pipeline.reported(PipelineWatch.DISK, T0 + 1_000))
                .isEqualTo("The disk is filling.");

        diskFails.set(new IllegalStateException("statfs failed"));
        gateway.set(null);
        watch.checkOnce(T0 + 1_000);
        assertThat(pipeline.reported(PipelineWatch.GATEWAY, T0 + 1_000)).isNull();
        assertThat(pipeline.reported(PipelineWatch.DISK, T0 + 1_000))
                .isEqualTo("The disk is filling.");
    }
}
