package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as {@code flink run} calls it, in-process: exit codes and what it prints. */
class AnomalyJobCommandTest {
    @TempDir Path dir;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                AnomalyJob.mainWithExitCode(
                        new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void theInfluxTokenComesFromAFileAndIsNeverPrinted() throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "s3cr3t-t0ken\n");
        Run r =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--set",
                        "influx.url=http://127.0.0.1:8086",
                        "--set",
                        "influx.token-file=" + token,
                        "--print-config");
        assertThat(r.code()).isZero();
        assertThat(r.err()).contains("influx.url = http://127.0.0.1:8086").doesNotContain("s3cr3t");
        JobSettings s =
                JobSettings.load(
                        null,
                        java.util.Map.of(),
                        java.util.Map.of(
                                "kafka.bootstrap", "k:9092",
                                "influx.url", "http://i:8086",
                                "influx.token-file", token.toString()));
        assertThat(s.influx().token()).isEqualTo("s3cr3t-t0ken");
        assertThat(s.influx().toString()).doesNotContain("s3cr3t");
    }

    @Test
    void aBadInfluxSettingStopsTheSubmissionWithOneLineNamingTheKey() {
        Run both =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--set",
                        "influx.url=http://127.0.0.1:8086",
                        "--set",
                        "influx.token=abc",
                        "--set",
                        "influx.token-file=/nonexistent",
                        "--print-config");
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("influx.token").contains("keep one").doesNotContain("abc");

        Run scheme = run("--kafka-bootstrap", "127.0.0.1:9092", "--set", "influx.url=influx:8086");
        assertThat(scheme.code()).isEqualTo(2);
        assertThat(scheme.err()).contains("influx.url").contains("http://");
    }

    @Test
    void aMalformedKafkaLoginOrANonsenseDurationStopsTheSubmissionWithoutShowingTheLogin() {
        Run login =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--set",
                        "kafka.consumer.sasl.jaas.config="
                                + "org.apache.kafka.common.security.plain.PlainLoginModule"
                                + " required username=\"job\" password=\"pa55-w0rd\"",
                        "--print-config");
        assertThat(login.code()).isEqualTo(2);
        assertThat(login.err())
                .contains("kafka.consumer.sasl.jaas.config")
                .contains("is not a JAAS login Kafka accepts")
                .contains("semi-colon")
                .doesNotContain("pa55-w0rd");

        // Kafka's reason quotes the token it stumbled on: here the password itself.
        Run stumbled =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--set",
                        "kafka.producer.sasl.jaas.config="
                                + "org.apache.kafka.common.security.plain.PlainLoginModule"
                                + " required username=\"job\" pa55-w0rd;",
                        "--print-config");
        assertThat(stumbled.code()).isEqualTo(2);
        assertThat(stumbled.err()).contains("'****'").doesNotContain("pa55-w0rd");

        Run misspelt =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--set",
                        "kafka.producer.compression.type=bogus");
        assertThat(misspelt.code()).isEqualTo(2);
        assertThat(misspelt.err())
                .contains("kafka.producer.compression.type ('bogus')")
                .contains("is refused by Kafka: Invalid value bogus");

        Run negative =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--set",
                        "watermark.out-of-orderness=PT-2S");
        assertThat(negative.code()).isEqualTo(2);
        assertThat(negative.err())
                .contains("watermark.out-of-orderness ('PT-2S')")
                .contains("must not be negative");

        Run checkpoints =
                run("--kafka-bootstrap", "127.0.0.1:9092", "--set", "checkpoint.interval=1ms");
        assertThat(checkpoints.code()).isEqualTo(2);
        assertThat(checkpoints.err()).contains("checkpoint.interval").contains("0 (off)");
    }

    /**
     * What a running job can take from its own savepoint and what only a fresh start: the appliance
     * applies a changed job file by the first and refuses the second, naming the keys.
     */
    @Test
    void theSettingsAJobTakesOnlyAtAFreshStartAreTheOnesItsStateDependsOn() throws Exception {
        Path file =
                Files.writeString(
                        dir.resolve("job.yaml"),
                        "watermark: {out-of-orderness: 2s}\nkafka: {alerts-topic: alerts}\n");
        JobSettings running = JobSettings.load(file, java.util.Map.of(), java.util.Map.of());
        Files.writeString(
                file,
                "# only a comment more\nwatermark: {out-of-orderness: 2s}\n"
                        + "kafka: {alerts-topic: alerts}\n");
        assertThat(JobSettings.load(file, java.util.Map.of(), java.util.Map.of()).sameAs(running))
                .isTrue();
        Files.writeString(
                file,
                "watermark: {out-of-orderness: 5s}\nlimits: {max-future-skew: 10m}\n"
                        + "state: {ttl: 48h}\nkafka: {alerts-topic: alerts}\n");
        JobSettings live = JobSettings.load(file, java.util.Map.of(), java.util.Map.of());
        assertThat(live.sameAs(running)).isFalse();
        assertThat(live.freshStartOnlyChanges(running)).isEmpty();
        Files.writeString(
                file,
                "job: {parallelism: 4}\nkafka: {alerts-topic: line-7-alerts, delivery:"
                        + " exactly-once, producer: {bootstrap.servers: 'elsewhere:9092'}}\n"
                        + "state: {backend: rocksdb}\ncheckpoint: {interval: 30s}\n");
        assertThat(
                        JobSettings.load(file, java.util.Map.of(), java.util.Map.of())
                                .freshStartOnlyChanges(running))
                .containsExactly(
                        "job.parallelism (null -> 4)",
                        "kafka.producer.bootstrap.servers (null -> elsewhere:9092)",
                        "state.backend (hashmap -> rocksdb)",
                        "checkpoint.interval (10s -> 30s)",
                        "kafka.alerts-topic (alerts -> line-7-alerts)",
                        "kafka.delivery (at-least-once -> exactly-once)");
    }

    @Test
    void anEmptyRulesFileIsRefused() throws Exception {
        Path rules = Files.writeString(dir.resolve("rules.yaml"), "");
        Run r =
                run(
                        "--kafka-bootstrap",
                        "127.0.0.1:9092",
                        "--rules",
                        rules.toString(),
                        "--print-config");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(rules + " is empty").contains("no detector would run");
    }
}
