package io.plantwatch.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A JobManager and a TaskManager as separate JVMs from Central's jars: slots show in the REST API,
 * vanish when the TaskManager is killed with SIGKILL and come back with a new one.
 */
class FlinkSessionClusterTest {
    @Test
    void slotsComeAndGoWithTaskManagers() throws Exception {
        java.nio.file.Path dir;
        try (FlinkSessionCluster flink = FlinkSessionCluster.builder().slots(2).build().start()) {
            dir = flink.directory();
            assertThat(flink.slotsTotal()).isEqualTo(2);
            assertThat(Files.readString(flink.logOf("jobmanager")))
                    .contains("StandaloneSessionClusterEntrypoint");

            flink.killTaskManagers();
            await().atMost(Duration.ofSeconds(30)).until(() -> flink.slotsTotal() == 0);

            flink.startTaskManager();
            flink.awaitSlots(2);
            assertThat(flink.logOf("taskmanager-2")).exists();
        }
        assertThat(dir).doesNotExist();
    }
}
