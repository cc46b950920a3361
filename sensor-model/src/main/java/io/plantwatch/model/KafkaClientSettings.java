package io.plantwatch.model;

import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.JaasContext;

/**
 * Kafka client settings checked with Kafka's own rules when a module reads its config. A Kafka
 * client checks them only when it is created: in the gateway's start, with a stack trace; inside a
 * running Flink job, where a mistake restarts the job over and over. Secret values (a JAAS login, a
 * key password) never appear in a reason, nor any part of them that Kafka's message quotes.
 */
public final class KafkaClientSettings {

    /**
     * The login and encryption settings of a Kafka client's {@code settings} (security protocol,
     * SASL, SSL), for another client of the same user: not its other settings (an interceptor, a
     * client id), which are that client's own.
     */
    public static Properties login(Map<?, ?> settings) {
        Properties login = new Properties();
        settings.forEach(
                (k, v) -> {
                    String key = k.toString();
                    if (key.startsWith("security.")
                            || key.startsWith("sasl.")
                            || key.startsWith("ssl.")) {
                        login.put(key, v);
                    }
                });
        return login;
    }

    private KafkaClientSettings() {}

    /** The first setting Kafka would refuse, and why. */
    public record Refusal(String key, String reason) {}

    /**
     * Why a client of {@code definition} (e.g. {@code ProducerConfig.configDef()}) would refuse
     * {@code settings}; null when it would take them. Keys it does not know (a plugin's) pass.
     */
    public static Refusal refusal(Properties settings, ConfigDef definition) {
        String login = settings.getProperty(SaslConfigs.SASL_JAAS_CONFIG);
        if (login != null) {
            String problem = jaasLoginProblem(login);
            if (problem != null) {
                return new Refusal(
                        SaslConfigs.SASL_JAAS_CONFIG,
                        "is not a JAAS login Kafka accepts: " + problem);
            }
        }
        Map<String, ConfigDef.ConfigKey> known = definition.configKeys();
        for (String name : settings.stringPropertyNames()) {
            ConfigDef.ConfigKey def = known.get(name);
            if (def == null) {
                continue;
            }
            try {
                Object parsed = ConfigDef.parseType(name, settings.getProperty(name), def.type);
                if (def.validator != null) {
                    def.validator.ensureValid(name, parsed);
                }
            } catch (org.apache.kafka.common.config.ConfigException e) {
                // Kafka's message can quote the value, which for a secret must not show.
                return new Refusal(
                        name,
                        LayeredSettings.isSecret(name) || def.type == ConfigDef.Type.PASSWORD
                                ? "is refused by Kafka"
                                : "is refused by Kafka: " + oneLine(e));
            }
        }
        return null;
    }

    /**
     * Why Kafka's client would not parse {@code login} as a {@code sasl.jaas.config} (it does so
     * without logging in); null when it would. What Kafka's reason quotes of the login is masked.
     */
    public static String jaasLoginProblem(String login) {
        try {
            JaasContext.loadClientContext(
                    Map.of(SaslConfigs.SASL_JAAS_CONFIG, new Password(login)));
            return null;
        } catch (IllegalArgumentException | KafkaException | SecurityException e) {
            return Secrets.maskQuotedParts(oneLine(e), login);
        }
    }

    private static String oneLine(Exception e) {
        return String.valueOf(e.getMessage()).strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
