package io.plantwatch.job;

import static io.plantwatch.job.JobKafka.PRESS1_OIL;
import static io.plantwatch.job.JobKafka.spec;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.SensorReading;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.common.acl.AclOperation;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The job against a Kafka that asks for a login (SASL/PLAIN) and allows only what its ACLs say: its
 * Kafka client settings pass through ({@code kafka.consumer.*}, {@code kafka.producer.*}), the
 * login comes from the environment, and the rights listed in the README are enough.
 */
class AnomalyJobSecuredKafkaTest {
    private static final String USER = "anomaly-job";

    @ParameterizedTest
    @ValueSource(strings = {"at-least-once", "exactly-once"})
    void theJobLogsInAndAlertsWithTheRightsTheReadmeLists(String delivery) throws Exception {
        try (JobKafka kafka = JobKafka.secured(USER)) {
            String prefix = "secured-";
            JobSettings settings = kafka.settings(prefix, delivery);
            kafka.createTopics(settings);
            kafka.kafka.allow(
                    USER, settings.readingsTopic(), AclOperation.READ, AclOperation.DESCRIBE);
            kafka.kafka.allowGroup(USER, settings.groupId(), AclOperation.READ);
            if (delivery.equals("exactly-once")) {
                kafka.kafka.allowTransactions(USER, prefix + "tx");
            }
            for (String out :
                    List.of(
                            settings.alertsTopic(),
                            settings.lateTopic(),
                            settings.completenessTopic(),
                            settings.dlqTopic())) {
                kafka.kafka.allow(USER, out, AclOperation.WRITE, AclOperation.DESCRIBE);
            }
            long start =
                    (System.currentTimeMillis() - Duration.ofMinutes(16).toMillis())
                            / 60_000
                            * 60_000;
            List<Label> labels = new CopyOnWriteArrayList<>();
            List<SensorReading> data =
                    JobKafka.simulate(
                            start,
                            List.of(spec(200, PRESS1_OIL, AnomalyKind.SPIKE, 10, 15.0, null)),
                            labels);

            // Every sensor's last minute reported (read, detected, written), then the alerts.
            List<String> events = kafka.runOnMiniCluster(prefix, delivery, data, start, false);

            assertThat(events).anyMatch(e -> e.endsWith(" OPEN"));
            assertThat(events).anyMatch(e -> e.endsWith(" RESOLVED"));
        }
    }
}
