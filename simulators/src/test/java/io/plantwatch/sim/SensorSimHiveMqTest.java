package io.plantwatch.sim;

import io.plantwatch.infra.MqttBrokerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code sensor-sim} against HiveMQ CE embedded. */
class SensorSimHiveMqTest extends SensorSimBrokerContract {
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @Override
    String host() {
        return mqtt.host();
    }

    @Override
    int port() {
        return mqtt.port();
    }
}
