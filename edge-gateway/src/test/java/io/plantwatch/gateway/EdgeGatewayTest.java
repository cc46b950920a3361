package io.plantwatch.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/**
 * The command line's answer to a bad setting: one line naming it and exit code 2, before anything
 * is started, so no broker is needed.
 */
class EdgeGatewayTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = EdgeGateway.mainWithExitCode(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void aSettingTheMqttClientWouldRefuseIsOneLineAndExitCode2() {
        Run r = run("--http-port", "-1", "--set", "mqtt.reconnect-initial-delay=0s");
        assertThat(r.code()).isEqualTo(EdgeGateway.EXIT_CONFIG);
        assertThat(r.err())
                .startsWith("edge-gateway: invalid configuration: mqtt.reconnect-initial-delay")
                .contains("between 1ms and 1h")
                .doesNotContain("unexpected error")
                .hasLineCount(1);
    }

    /**
     * Kafka checks that a trust store can be read only when the producer is created, which the
     * settings cannot do without creating one.
     */
    @Test
    void aProducerThatCannotBeCreatedIsOneLineAndExitCode2() {
        Run r =
                run(
                        "--http-port",
                        "-1",
                        "--kafka-bootstrap",
                        "127.0.0.1:1",
                        "--set",
                        "kafka.producer.security.protocol=SSL",
                        "--set",
                        "kafka.producer.ssl.truststore.location=/nonexistent/truststore.jks");
        assertThat(r.code()).isEqualTo(EdgeGateway.EXIT_CONFIG);
        assertThat(r.err())
                .startsWith(
                        "edge-gateway: invalid configuration: Kafka's producer cannot be created")
                .contains("kafka.bootstrap (127.0.0.1:1)")
                .doesNotContain("unexpected error")
                .hasLineCount(1);
    }
}
