package io.plantwatch.appliance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.plantwatch.model.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * config/appliance.yaml: where MQTT and Kafka are (embedded in this process, or a plant's own),
 * where data goes, and the modules' own config files. Unknown keys and wrong values fail with one
 * line naming the file, the key and the fix.
 *
 * @param mqttBroker {@code embedded} or a broker URI such as tcp://broker:1883
 * @param mqttPort the embedded broker's port (0: any free one)
 * @param kafkaBootstrap {@code embedded} or host:port[,...]
 * @param influxUrl InfluxDB 2's URL; null writes line-protocol files under the data folder
 * @param influxTokenEnv the environment variable holding InfluxDB's token
 */
public record ApplianceSettings(
        String mqttBroker,
        int mqttPort,
        String kafkaBootstrap,
        Path dataDir,
        Path jobConfig,
        Path rules,
        Path gatewayConfig,
        Path alertingConfig,
        String influxUrl,
        String influxOrg,
        String influxBucket,
        String influxTokenEnv) {

    public static final String EMBEDDED = "embedded";

    private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("mqtt.broker", EMBEDDED);
        DEFAULTS.put("mqtt.port", "1883");
        DEFAULTS.put("kafka.bootstrap", EMBEDDED);
        DEFAULTS.put("data-dir", "data/plantwatch");
        DEFAULTS.put("job.config", "config/job.yaml");
        DEFAULTS.put("job.rules", "config/rules.yaml");
        DEFAULTS.put("gateway.config", "config/gateway.yaml");
        DEFAULTS.put("alerting.config", "config/alerting.yaml");
        DEFAULTS.put("influx.url", "");
        DEFAULTS.put("influx.org", "plantwatch");
        DEFAULTS.put("influx.bucket", "plantwatch");
        DEFAULTS.put("influx.token-env", "PLANTWATCH_INFLUX_TOKEN");
    }

    public boolean embeddedMqtt() {
        return EMBEDDED.equals(mqttBroker);
    }

    public boolean embeddedKafka() {
        return EMBEDDED.equals(kafkaBootstrap);
    }

    /**
     * The settings from {@code file} (null: the defaults), then {@code flags} (by key, e.g. {@code
     * mqtt.broker}) over them.
     */
    public static ApplianceSettings load(Path file, Map<String, String> flags) {
        String source = file == null ? "(defaults)" : file.toString();
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        if (file != null) {
            JsonNode root;
            try {
                root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
            } catch (IOException e) {
                throw new ConfigException(source + ": cannot be read: " + e.getMessage(), e);
            }
            if (root != null && !root.isNull() && !root.isMissingNode()) {
                flatten("", root, v, source);
            }
        }
        for (Map.Entry<String, String> f : flags.entrySet()) {
            if (!DEFAULTS.containsKey(f.getKey())) {
                throw new ConfigException("--set " + f.getKey() + ": " + unknown(f.getKey()));
            }
            v.put(f.getKey(), f.getValue());
        }
        String broker = v.get("mqtt.broker");
        if (!broker.equals(EMBEDDED)
                && !(broker.startsWith("tcp://") || broker.startsWith("ssl://"))) {
            throw new ConfigException(
                    source
                            + ": mqtt.broker '"
                            + broker
                            + "' is neither 'embedded' nor a tcp:// or ssl:// URI");
        }
        int mqttPort = port(v.get("mqtt.port"), source, "mqtt.port");
        String influx = v.get("influx.url").isBlank() ? null : v.get("influx.url");
        if (influx != null && !influx.startsWith("http://") && !influx.startsWith("https://")) {
            throw new ConfigException(
                    source + ": influx.url must start with http:// or https:// (or be empty)");
        }
        return new ApplianceSettings(
                broker,
                mqttPort,
                v.get("kafka.bootstrap"),
                Path.of(v.get("data-dir")),
                existing(v.get("job.config"), source, "job.config"),
                existing(v.get("job.rules"), source, "job.rules"),
                existing(v.get("gateway.config"), source, "gateway.config"),
                existing(v.get("alerting.config"), source, "alerting.config"),
                influx,
                v.get("influx.org"),
                v.get("influx.bucket"),
                v.get("influx.token-env"));
    }

    private static void flatten(String prefix, JsonNode n, Map<String, String> out, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            if (e.getValue().isObject()
                    && Set.of("mqtt", "kafka", "job", "gateway", "alerting", "influx")
                            .contains(key)) {
                flatten(key + ".", e.getValue(), out, source);
            } else if (!DEFAULTS.containsKey(key)) {
                throw new ConfigException(source + ": " + unknown(key));
            } else if (!e.getValue().isValueNode()) {
                throw new ConfigException(source + ": " + key + " must be a single value");
            } else {
                out.put(key, e.getValue().asText());
            }
        }
    }

    private static String unknown(String key) {
        return key + " is not a setting; known: " + String.join(", ", DEFAULTS.keySet());
    }

    private static int port(String text, String source, String key) {
        try {
            int p = Integer.parseInt(text.trim());
            if (p < 0 || p > 65_535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new ConfigException(
                    source + ": " + key + " '" + text + "' is not a port (0 to 65535)");
        }
    }

    private static Path existing(String path, String source, String key) {
        Path p = Path.of(path);
        if (!Files.isRegularFile(p)) {
            throw new ConfigException(
                    source
                            + ": "
                            + key
                            + " names "
                            + p.toAbsolutePath()
                            + ", which does not exist; run from the repository's top folder or"
                            + " give the file's path");
        }
        return p;
    }
}
