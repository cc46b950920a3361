package io.plantwatch.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MosquittoBrokerTest {

    @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();

    @Test
    void roundTripsMessagesInOrder() {
        Mqtt5BlockingClient client = MqttClients.connect(mosquitto.host(), mosquitto.port());
        try {
            List<String> received = MqttClients.collect(client, "plant/#");
            for (int i = 0; i < 5_000; i++) {
                MqttClients.publish(client, "plant/line-1", "m" + i);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> received.size() >= 5_000);
            assertThat(received).hasSize(5_000).startsWith("m0", "m1").endsWith("m4999");
        } finally {
            client.disconnect();
        }
    }

    @Test
    void comesBackOnTheSameAddressAfterARestart() {
        String before = mosquitto.uri();
        mosquitto.broker().stop();
        assertThat(mosquitto.broker().isRunning()).isFalse();
        mosquitto.broker().start();
        assertThat(mosquitto.uri()).isEqualTo(before);
        Mqtt5BlockingClient client = MqttClients.connect(mosquitto.host(), mosquitto.port());
        client.disconnect();
    }

    @Test
    void missingBinaryFailsOnCiAndSkipsElsewhere() {
        MosquittoExtension onCi =
                new MosquittoExtension(
                        MosquittoBroker.builder(),
                        () -> false,
                        name -> "CI".equals(name) ? "true" : null);
        assertThatThrownBy(onCi::requireMosquitto)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("CI=true");
        MosquittoExtension onLaptop =
                new MosquittoExtension(MosquittoBroker.builder(), () -> false, name -> null);
        assertThatThrownBy(onLaptop::requireMosquitto)
                .isInstanceOf(org.opentest4j.TestAbortedException.class);
    }

    @Test
    void aBrokerThatCannotStartSaysWhy() {
        try (MosquittoBroker broken =
                MosquittoBroker.builder().executable(Path.of("/bin/false")).build()) {
            assertThatThrownBy(broken::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("mosquitto");
        }
    }
}
