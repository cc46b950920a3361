package io.plantwatch.appliance;

import io.plantwatch.job.AnomalyJob;
import io.plantwatch.job.JobSettings;
import io.plantwatch.job.rules.RuleBook;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** The anomaly job on a local Flink MiniCluster, wired by the same code as {@code flink run}. */
final class LocalJob {
    private LocalJob() {}

    static JobClient start(JobSettings js) throws Exception {
        RuleBook book = AnomalyJob.loadRules(js.rulesFile());
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        AnomalyJob.flinkConfiguration(js));
        AnomalyJob.wire(env, js, book);
        return env.executeAsync(js.jobName());
    }
}
