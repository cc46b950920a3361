package io.plantwatch.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MosquittoAuthTest {
    @RegisterExtension
    static final MosquittoExtension mosquitto =
            new MosquittoExtension(MosquittoBroker.builder().credentials("plant", "s3cret"));

    @Test
    void acceptsTheRightPassword() {
        Mqtt5BlockingClient client =
                MqttClients.builder(mosquitto.host(), mosquitto.port())
                        .simpleAuth()
                        .username("plant")
                        .password("s3cret".getBytes(StandardCharsets.UTF_8))
                        .applySimpleAuth()
                        .buildBlocking();
        client.connect();
        client.disconnect();
    }

    @Test
    void refusesAWrongPasswordAndAnonymousClients() {
        Mqtt5BlockingClient wrong =
                MqttClients.builder(mosquitto.host(), mosquitto.port())
                        .simpleAuth()
                        .username("plant")
                        .password("nope".getBytes(StandardCharsets.UTF_8))
                        .applySimpleAuth()
                        .buildBlocking();
        assertThatThrownBy(wrong::connect)
                .isInstanceOfSatisfying(
                        Mqtt5ConnAckException.class,
                        e ->
                                assertThat(e.getMqttMessage().getReasonCode())
                                        .isIn(
                                                Mqtt5ConnAckReasonCode.BAD_USER_NAME_OR_PASSWORD,
                                                Mqtt5ConnAckReasonCode.NOT_AUTHORIZED));
        Mqtt5BlockingClient anonymous =
                MqttClients.builder(mosquitto.host(), mosquitto.port()).buildBlocking();
        assertThatThrownBy(anonymous::connect).isInstanceOf(Mqtt5ConnAckException.class);
    }
}
