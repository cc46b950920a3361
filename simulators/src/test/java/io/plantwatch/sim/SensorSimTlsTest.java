package io.plantwatch.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.infra.SelfSignedCertificate;
import io.plantwatch.model.Secrets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code sensor-sim} against HiveMQ CE's TLS listener with a login: {@code --broker ssl://...},
 * {@code --ca-file} and the password from a file, as a plant under IEC 62443 would run its broker.
 */
class SensorSimTlsTest extends SensorSimBrokerContract {
    private static final String USER = "sim";
    private static final String PASSWORD = "correct-horse";

    @RegisterExtension
    static final MqttBrokerExtension mqtt =
            new MqttBrokerExtension(EmbeddedMqttBroker.builder().tls().credentials(USER, PASSWORD));

    @Override
    String host() {
        return URI.create(mqtt.tlsUri()).getHost();
    }

    @Override
    int port() {
        return URI.create(mqtt.tlsUri()).getPort();
    }

    @Override
    String brokerUri() {
        return mqtt.tlsUri();
    }

    @Override
    List<String> loginArgs() {
        return loginArgs(mqtt.caFile());
    }

    private List<String> loginArgs(Path caFile) {
        try {
            Path file = dir.resolve("mqtt-password");
            Files.writeString(file, PASSWORD + "\n", StandardCharsets.UTF_8);
            return List.of(
                    "--ca-file",
                    caFile.toString(),
                    "--username",
                    USER,
                    "--password-file",
                    file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    Mqtt5ClientBuilder login(Mqtt5ClientBuilder builder) {
        return builder.sslConfig()
                .trustManagerFactory(Secrets.trustFromPem(mqtt.caFile()))
                .applySslConfig()
                .simpleAuth()
                .username(USER)
                .password(PASSWORD.getBytes(StandardCharsets.UTF_8))
                .applySimpleAuth();
    }

    /** Another CA's file: the handshake fails, one line and exit 3, nothing published. */
    @Test
    void aBrokerCertificateFromAnotherCaIsRefusedWithOneLineAndExitCode3() {
        try (SelfSignedCertificate other = SelfSignedCertificate.generate()) {
            Run run = simWith(other.caFile());
            assertThat(run.exitCode()).as("out: %s err: %s", run.out(), run.err()).isEqualTo(3);
            String last = run.err().strip().lines().reduce((a, b) -> b).orElse("");
            assertThat(last)
                    .startsWith("sensor-sim: cannot connect to MQTT broker " + mqtt.tlsUri())
                    .doesNotContain("Exception");
            assertThat(run.out()).doesNotContain("published=");
        }
    }

    @Test
    void aCaFileThatIsNotPemIsABadInputNamingTheOption() throws IOException {
        Path notPem = dir.resolve("not.pem");
        Files.writeString(notPem, "no certificate here\n");
        Run run = simWith(notPem);
        assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
        assertThat(run.err().strip().lines().reduce((a, b) -> b).orElse(""))
                .startsWith("sensor-sim: --ca-file " + notPem + " holds no CA certificate in PEM");
        run = simWith(dir.resolve("missing.pem"));
        assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("--ca-file " + dir.resolve("missing.pem") + " names a file");
    }

    private Run simWith(Path caFile) {
        List<String> args = new ArrayList<>(List.of("run", "--broker", mqtt.tlsUri()));
        args.addAll(loginArgs(caFile));
        args.addAll(List.of("--sensors", "1", "--duration", "1s", "-q"));
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int code =
                SensorSim.mainWithExitCode(
                        new java.io.PrintWriter(out, true),
                        new java.io.PrintWriter(err, true),
                        args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }
}
