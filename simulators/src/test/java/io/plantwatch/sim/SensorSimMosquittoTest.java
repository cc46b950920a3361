package io.plantwatch.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import io.plantwatch.infra.MosquittoBroker;
import io.plantwatch.infra.MosquittoExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code sensor-sim} against Debian's mosquitto with a password file, the password read from a file
 * as an operator would pass it.
 */
class SensorSimMosquittoTest extends SensorSimBrokerContract {
    private static final String USER = "sim";
    private static final String PASSWORD = "correct-horse";

    @RegisterExtension
    static final MosquittoExtension mosquitto =
            new MosquittoExtension(MosquittoBroker.builder().credentials(USER, PASSWORD));

    @Override
    String host() {
        return mosquitto.host();
    }

    @Override
    int port() {
        return mosquitto.port();
    }

    @Override
    List<String> loginArgs() {
        try {
            Path file = dir.resolve("mqtt-password");
            Files.writeString(file, PASSWORD + "\n", StandardCharsets.UTF_8);
            return List.of("--username", USER, "--password-file", file.toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    Mqtt5ClientBuilder login(Mqtt5ClientBuilder builder) {
        return builder.simpleAuth()
                .username(USER)
                .password(PASSWORD.getBytes(StandardCharsets.UTF_8))
                .applySimpleAuth();
    }

    @Test
    void aRefusedLoginGivesOneLineAndExitCode4WithoutThePassword() {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        // Not sim(): its --password-file would clash with --password.
        int code =
                SensorSim.mainWithExitCode(
                        new java.io.PrintWriter(out, true),
                        new java.io.PrintWriter(err, true),
                        "run",
                        "--broker",
                        mosquitto.uri(),
                        "--username",
                        USER,
                        "--password",
                        "wrong-horse",
                        "--sensors",
                        "1",
                        "--duration",
                        "1s",
                        "-q");
        Run run = new Run(code, out.toString(), err.toString());
        assertThat(run.exitCode()).as("out: %s err: %s", run.out(), run.err()).isEqualTo(4);
        String last = run.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertThat(last).startsWith("sensor-sim: ").doesNotContain("Exception");
        assertThat(run.out() + run.err()).doesNotContain("wrong-horse");
    }
}
