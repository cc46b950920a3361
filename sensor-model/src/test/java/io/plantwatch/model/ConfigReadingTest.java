package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts every module reads its config with: durations, YAML files, layered settings. */
class ConfigReadingTest {
    @TempDir Path dir;

    @Test
    void durationsAreWrittenAsPeopleWriteThemAndNeverNegative() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("0s")).isZero();
        assertThatThrownBy(() -> Durations.parse("PT-2S"))
                .isInstanceOf(Durations.Negative.class)
                .hasMessageContaining("negative");
        assertThatThrownBy(() -> Durations.parse("-2s")).hasMessageContaining("not a duration");
    }

    @Test
    void aNegativeSettingIsOneLineNamingTheKeyAndWhereItCameFrom() {
        LayeredSettings s =
                LayeredSettings.load(
                        Map.of("watermark.out-of-orderness", "2s"),
                        List.of(),
                        "PLANTWATCH_TEST_",
                        null,
                        Map.of("PLANTWATCH_TEST_WATERMARK_OUT_OF_ORDERNESS", "PT-2S"),
                        Map.of());
        assertThatThrownBy(() -> s.duration("watermark.out-of-orderness"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("watermark.out-of-orderness ('PT-2S')")
                .hasMessageContaining("must not be negative");
    }

    @Test
    void anEmptyFileIsRefusedAndBracesTakeEveryDefault() throws Exception {
        Path empty = Files.writeString(dir.resolve("job.yaml"), "# kept for later\n\n");
        assertThatThrownBy(() -> YamlFiles.readMapping(empty))
                .isInstanceOf(ConfigException.class)
                .hasMessage(
                        empty
                                + " is empty (or only comments); write {} in it to take every default");
        Path braces = Files.writeString(dir.resolve("defaults.yaml"), "{}\n");
        assertThat(YamlFiles.readMapping(braces).isEmpty()).isTrue();
    }

    @Test
    void privateKeysPassphrasesAndCredentialsAreSecretsAsPasswordsAre() {
        assertThat(LayeredSettings.isSecret("kafka.producer.ssl.keystore.key")).isTrue();
        assertThat(
                        LayeredSettings.isSecret(
                                "kafka.consumer.sasl.oauthbearer.assertion.private.key.passphrase"))
                .isTrue();
        assertThat(LayeredSettings.isSecret("kafka.producer.sasl.jaas.config")).isTrue();
        assertThat(LayeredSettings.isSecret("mqtt.password")).isTrue();
        assertThat(LayeredSettings.isSecret("kafka.producer.ssl.keystore.key-file")).isFalse();
        assertThat(LayeredSettings.isSecret("kafka.readings-keyed-by-sensor")).isFalse();
        assertThat(LayeredSettings.isSecret("kafka.producer.ssl.truststore.location")).isFalse();
    }

    @Test
    void aLibrarysReasonKeepsWhatItQuotesOnlyWhenTheSecretDoesNotHoldIt() {
        String login = "PlainLoginModule required username=\"svc\" hunter2;";
        assertThat(Secrets.maskQuotedParts("Value not specified for key 'hunter2'", login))
                .isEqualTo("Value not specified for key '****'");
        assertThat(Secrets.maskQuotedParts("user \"svc\" refused", login))
                .isEqualTo("user '****' refused");
        assertThat(Secrets.maskQuotedParts("Invalid control flag 'requird'", login))
                .isEqualTo("Invalid control flag 'requird'");
        assertThat(Secrets.maskQuotedParts(null, login)).isEqualTo("null");
    }

    @Test
    void kafkaClientSettingsAreCheckedWithKafkasRulesWithoutShowingSecrets() {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("compression.type", "bogus");
        p.setProperty("some.plugin.setting", "anything");
        KafkaClientSettings.Refusal r =
                KafkaClientSettings.refusal(
                        p, org.apache.kafka.clients.producer.ProducerConfig.configDef());
        assertThat(r.key()).isEqualTo("compression.type");
        assertThat(r.reason()).startsWith("is refused by Kafka: Invalid value bogus");

        p.remove("compression.type");
        assertThat(
                        KafkaClientSettings.refusal(
                                p, org.apache.kafka.clients.producer.ProducerConfig.configDef()))
                .as("keys Kafka does not know pass: a plugin's")
                .isNull();

        p.setProperty(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"svc\" hunter2;");
        r =
                KafkaClientSettings.refusal(
                        p, org.apache.kafka.clients.consumer.ConsumerConfig.configDef());
        assertThat(r.key()).isEqualTo("sasl.jaas.config");
        assertThat(r.reason())
                .startsWith("is not a JAAS login Kafka accepts: ")
                .doesNotContain("hunter2");

        assertThat(
                        KafkaClientSettings.jaasLoginProblem(
                                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                                        + " username=\"svc\" password=\"pw\";"))
                .isNull();
    }
}
