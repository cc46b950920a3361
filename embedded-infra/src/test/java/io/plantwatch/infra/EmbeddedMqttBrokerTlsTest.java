package io.plantwatch.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.exceptions.ConnectionFailedException;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** HiveMQ CE with its TLS listener and a login, as a plant's broker under IEC 62443 would run. */
class EmbeddedMqttBrokerTlsTest {
    private static final String USER = "plant";
    private static final String PASSWORD = "s3cret";

    @RegisterExtension
    static final MqttBrokerExtension mqtt =
            new MqttBrokerExtension(EmbeddedMqttBroker.builder().tls().credentials(USER, PASSWORD));

    @Test
    void aClientTrustingTheCaFileTalksOverTls() throws Exception {
        URI tls = URI.create(mqtt.tlsUri());
        assertThat(tls.getScheme()).isEqualTo("ssl");
        assertThat(tls.getPort()).isNotEqualTo(mqtt.port());
        assertThat(Files.readString(mqtt.caFile())).startsWith("-----BEGIN CERTIFICATE-----");

        Mqtt5BlockingClient subscriber = connect(trusting(mqtt.caFile()), USER, PASSWORD);
        Mqtt5BlockingClient publisher = connect(trusting(mqtt.caFile()), USER, PASSWORD);
        try {
            List<String> received = MqttClients.collect(subscriber, "tls/#");
            MqttClients.publish(publisher, "tls/a", "over tls");
            await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("over tls"));
        } finally {
            subscriber.disconnect();
            publisher.disconnect();
        }
    }

    /** Without this, a client that never checks the certificate would pass the test above too. */
    @Test
    void aClientTrustingAnotherCaIsRefusedAtTheHandshake() {
        try (SelfSignedCertificate other = SelfSignedCertificate.generate()) {
            assertThatThrownBy(() -> connect(trusting(other.caFile()), USER, PASSWORD))
                    .isInstanceOf(ConnectionFailedException.class)
                    .hasCauseInstanceOf(SSLHandshakeException.class);
        }
    }

    @Test
    void aWrongOrMissingLoginIsRefusedOnBothListeners() {
        assertThatThrownBy(() -> connect(trusting(mqtt.caFile()), USER, "wrong"))
                .isInstanceOfSatisfying(
                        Mqtt5ConnAckException.class,
                        e ->
                                assertThat(e.getMqttMessage().getReasonCode())
                                        .isEqualTo(
                                                Mqtt5ConnAckReasonCode.BAD_USER_NAME_OR_PASSWORD));
        assertThatThrownBy(() -> connect(trusting(mqtt.caFile()), null, null))
                .isInstanceOf(Mqtt5ConnAckException.class);
        assertThatThrownBy(() -> MqttClients.connect(mqtt.host(), mqtt.port()))
                .isInstanceOf(Mqtt5ConnAckException.class);
        Mqtt5BlockingClient plain =
                login(MqttClients.builder(mqtt.host(), mqtt.port()), USER, PASSWORD)
                        .buildBlocking();
        plain.connect();
        plain.disconnect();
    }

    @Test
    void aRestartKeepsTheTlsAddressAndTheCertificate() throws Exception {
        String before = mqtt.tlsUri();
        String ca = Files.readString(mqtt.caFile());
        mqtt.broker().stop();
        mqtt.broker().start();
        assertThat(mqtt.tlsUri()).isEqualTo(before);
        assertThat(Files.readString(mqtt.caFile())).isEqualTo(ca);
        connect(trusting(mqtt.caFile()), USER, PASSWORD).disconnect();
    }

    @Test
    void tlsIsOnlyThereWhenAskedFor() {
        assertThatThrownBy(() -> EmbeddedMqttBroker.builder().build().tlsUri())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("without TLS");
        assertThatThrownBy(() -> EmbeddedMqttBroker.builder().credentials("", "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Mqtt5BlockingClient connect(
            TrustManagerFactory trust, String user, String password) {
        URI tls = URI.create(mqtt.tlsUri());
        Mqtt5BlockingClient client =
                login(
                                MqttClients.builder(tls.getHost(), tls.getPort())
                                        .sslConfig()
                                        .trustManagerFactory(trust)
                                        .applySslConfig(),
                                user,
                                password)
                        .buildBlocking();
        client.connect();
        return client;
    }

    private static Mqtt5ClientBuilder login(
            Mqtt5ClientBuilder builder, String user, String password) {
        return user == null
                ? builder
                : builder.simpleAuth()
                        .username(user)
                        .password(password.getBytes(StandardCharsets.UTF_8))
                        .applySimpleAuth();
    }

    /** What sensor-model's {@code Secrets.trustFromPem} does; embedded-infra does not use it. */
    private static TrustManagerFactory trusting(Path pem) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = Files.newInputStream(pem)) {
            store.setCertificateEntry(
                    "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory factory =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(store);
        return factory;
    }
}
