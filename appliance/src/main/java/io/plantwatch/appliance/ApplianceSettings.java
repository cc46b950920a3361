package io.plantwatch.appliance;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.YamlFiles;
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
 * @param mqttBind where the embedded broker listens: 127.0.0.1 or 0.0.0.0 (every interface)
 * @param mqttMaxQueueSize the embedded broker's queue per client, in messages: what it keeps for
 *     the gateway while the gateway does not take them, and drops beyond
 * @param kafkaBootstrap {@code embedded} or host:port[,...]
 * @param kafkaSyncWrites whether the embedded Kafka syncs its log to disk at every write, so that
 *     what the gateway acknowledged to the MQTT broker survives a power cut
 * @param influxUrl InfluxDB 2's URL; null writes line-protocol files under the data folder
 * @param influxTokenEnv the environment variable holding InfluxDB's token
 * @param influxTokenFile a file holding InfluxDB's token (a mounted secret); null: the variable
 * @param kafkaRetention how long the embedded Kafka keeps the records of the topics it creates
 * @param seriesFilesKeepDays how many UTC days of line-protocol files are kept without InfluxDB
 * @param jobRestarts how the local job restarts after a failure, and when it gives up
 * @param watchConfig whether a change to the rules file, the job's file or alerting's file (or a
 *     file they name) is applied while the appliance runs: the job stops with a savepoint and
 *     resumes from it with the new rules or settings, alerting stops and starts again with its new
 *     file
 * @param diskWarnFreeMb below this many MB free on the data folder's disk, a warning; 0: none
 * @param diskStopFreeMb below this many MB free, the appliance stops cleanly; 0: never
 * @param diskReclaimHistory whether, below the warning margin, the oldest history makes room:
 *     readings the job has checkpointed in the embedded Kafka, then rejected and late readings,
 *     then series files of past hours
 */
public record ApplianceSettings(
        String mqttBroker,
        int mqttPort,
        String mqttBind,
        long mqttMaxQueueSize,
        String kafkaBootstrap,
        boolean kafkaSyncWrites,
        Path dataDir,
        Path jobConfig,
        Path rules,
        boolean watchConfig,
        Path gatewayConfig,
        Path alertingConfig,
        String influxUrl,
        String influxOrg,
        String influxBucket,
        String influxTokenEnv,
        Path influxTokenFile,
        java.time.Duration kafkaRetention,
        int seriesFilesKeepDays,
        RestartPolicy jobRestarts,
        long diskWarnFreeMb,
        long diskStopFreeMb,
        boolean diskReclaimHistory) {

    /**
     * The local job's restarts: after a failure it restarts after {@code backoff}, doubled at each
     * failure in a row up to {@code maxBackoff}; a failure after {@code maxRestarts} restarts in a
     * row ends it, and the appliance with it. {@code resetAfter} of running starts the count again.
     */
    public record RestartPolicy(
            int maxRestarts,
            java.time.Duration backoff,
            java.time.Duration maxBackoff,
            java.time.Duration resetAfter) {}

    public static final String EMBEDDED = "embedded";

    private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();
    private static final Set<String> SECTIONS =
            Set.of("mqtt", "kafka", "job", "job.restart", "gateway", "alerting", "influx", "disk");

    static {
        DEFAULTS.put("mqtt.broker", EMBEDDED);
        DEFAULTS.put("mqtt.port", "1883");
        DEFAULTS.put("mqtt.bind", "127.0.0.1");
        DEFAULTS.put("mqtt.max-queue-size", "100000");
        DEFAULTS.put("kafka.bootstrap", EMBEDDED);
        DEFAULTS.put("kafka.retention", "7d");
        DEFAULTS.put("kafka.sync-writes", "true");
        DEFAULTS.put("data-dir", "data/plantwatch");
        DEFAULTS.put("watch-config", "true");
        DEFAULTS.put("job.config", "config/job.yaml");
        DEFAULTS.put("job.rules", "config/rules.yaml");
        DEFAULTS.put("job.restart.max-restarts", "10");
        DEFAULTS.put("job.restart.backoff", "1s");
        DEFAULTS.put("job.restart.max-backoff", "30s");
        DEFAULTS.put("job.restart.reset-after", "5m");
        DEFAULTS.put("gateway.config", "config/gateway.yaml");
        DEFAULTS.put("alerting.config", "config/alerting.yaml");
        DEFAULTS.put("influx.url", "");
        DEFAULTS.put("influx.org", "plantwatch");
        DEFAULTS.put("influx.bucket", "plantwatch");
        DEFAULTS.put("influx.token-env", "PLANTWATCH_INFLUX_TOKEN");
        DEFAULTS.put("influx.token-file", "");
        DEFAULTS.put("influx.files-keep-days", "14");
        DEFAULTS.put("disk.warn-free-mb", "2048");
        DEFAULTS.put("disk.stop-free-mb", "256");
        DEFAULTS.put("disk.reclaim-history", "true");
    }

    /**
     * What a change of the file may set while the appliance runs: the disk's margins, how long
     * series files and the embedded Kafka's topics keep history, the job's restart policy. The rest
     * names the brokers, the data folder or the other parts' files, which the parts took at their
     * start.
     */
    static final Set<String> LIVE =
            Set.of(
                    "disk.warn-free-mb",
                    "disk.stop-free-mb",
                    "influx.files-keep-days",
                    "kafka.retention",
                    "job.restart.max-restarts",
                    "job.restart.backoff",
                    "job.restart.max-backoff",
                    "job.restart.reset-after");

    /**
     * These settings, read from {@code file}, as a change of those the appliance runs with: null
     * when nothing changed (a comment), else this.
     *
     * @throws ConfigException naming each changed setting the appliance takes only at a start
     *     (every one but {@link #LIVE}) with its old and new value
     */
    ApplianceSettings checkedAsChangeOf(ApplianceSettings running, Path file) {
        if (equals(running)) {
            return null;
        }
        Map<String, String> now = byKey();
        Map<String, String> was = running.byKey();
        java.util.List<String> startOnly =
                now.keySet().stream()
                        .filter(k -> !LIVE.contains(k))
                        .filter(k -> !java.util.Objects.equals(now.get(k), was.get(k)))
                        .map(k -> k + " (" + was.get(k) + " -> " + now.get(k) + ")")
                        .toList();
        io.plantwatch.model.LayeredSettings.refuseChanges(startOnly, file, "the appliance");
        return this;
    }

    /** These settings with {@code restarts} as the job's restart policy. */
    ApplianceSettings withJobRestarts(RestartPolicy restarts) {
        return new ApplianceSettings(
                mqttBroker,
                mqttPort,
                mqttBind,
                mqttMaxQueueSize,
                kafkaBootstrap,
                kafkaSyncWrites,
                dataDir,
                jobConfig,
                rules,
                watchConfig,
                gatewayConfig,
                alertingConfig,
                influxUrl,
                influxOrg,
                influxBucket,
                influxTokenEnv,
                influxTokenFile,
                kafkaRetention,
                seriesFilesKeepDays,
                restarts,
                diskWarnFreeMb,
                diskStopFreeMb,
                diskReclaimHistory);
    }

    /** Every setting's key. */
    static Set<String> keys() {
        return java.util.Collections.unmodifiableSet(DEFAULTS.keySet());
    }

    /** Every setting by its key, as these settings hold it: what a change is told by. */
    Map<String, String> byKey() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("mqtt.broker", mqttBroker);
        m.put("mqtt.port", Integer.toString(mqttPort));
        m.put("mqtt.bind", mqttBind);
        m.put("mqtt.max-queue-size", Long.toString(mqttMaxQueueSize));
        m.put("kafka.bootstrap", kafkaBootstrap);
        m.put("kafka.retention", text(kafkaRetention));
        m.put("kafka.sync-writes", Boolean.toString(kafkaSyncWrites));
        m.put("data-dir", dataDir.toString());
        m.put("watch-config", Boolean.toString(watchConfig));
        m.put("job.config", String.valueOf(jobConfig));
        m.put("job.rules", String.valueOf(rules));
        m.put("job.restart.max-restarts", Integer.toString(jobRestarts.maxRestarts()));
        m.put("job.restart.backoff", text(jobRestarts.backoff()));
        m.put("job.restart.max-backoff", text(jobRestarts.maxBackoff()));
        m.put("job.restart.reset-after", text(jobRestarts.resetAfter()));
        m.put("gateway.config", String.valueOf(gatewayConfig));
        m.put("alerting.config", String.valueOf(alertingConfig));
        m.put("influx.url", influxUrl == null ? "" : influxUrl);
        m.put("influx.org", influxOrg);
        m.put("influx.bucket", influxBucket);
        m.put("influx.token-env", influxTokenEnv);
        m.put("influx.token-file", influxTokenFile == null ? "" : influxTokenFile.toString());
        m.put("influx.files-keep-days", Integer.toString(seriesFilesKeepDays));
        m.put("disk.warn-free-mb", Long.toString(diskWarnFreeMb));
        m.put("disk.stop-free-mb", Long.toString(diskStopFreeMb));
        m.put("disk.reclaim-history", Boolean.toString(diskReclaimHistory));
        return m;
    }

    /** A duration as the file writes one: 7d, 30s, 250ms. */
    private static String text(java.time.Duration d) {
        long ms = d.toMillis();
        for (Map.Entry<String, Long> unit :
                java.util.List.of(
                        Map.entry("d", 86_400_000L),
                        Map.entry("h", 3_600_000L),
                        Map.entry("m", 60_000L),
                        Map.entry("s", 1_000L))) {
            if (ms % unit.getValue() == 0) {
                return ms / unit.getValue() + unit.getKey();
            }
        }
        return ms + "ms";
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
        // Where each value came from, so that an error blames the file or the flag that set it.
        Map<String, String> origin = new LinkedHashMap<>();
        DEFAULTS.keySet().forEach(k -> origin.put(k, source));
        if (file != null) {
            flatten("", YamlFiles.readMapping(file), v, source);
        }
        for (Map.Entry<String, String> f : flags.entrySet()) {
            if (!DEFAULTS.containsKey(f.getKey())) {
                throw new ConfigException("--set " + f.getKey() + ": " + unknown(f.getKey()));
            }
            v.put(f.getKey(), f.getValue());
            origin.put(f.getKey(), "--set");
        }
        String broker = v.get("mqtt.broker");
        if (!broker.equals(EMBEDDED)
                && !(broker.startsWith("tcp://") || broker.startsWith("ssl://"))) {
            throw new ConfigException(
                    origin.get("mqtt.broker")
                            + ": mqtt.broker '"
                            + broker
                            + "' is neither 'embedded' nor a tcp:// or ssl:// URI");
        }
        int mqttPort = port(v.get("mqtt.port"), origin.get("mqtt.port"), "mqtt.port");
        String mqttBind = v.get("mqtt.bind");
        if (!mqttBind.equals("127.0.0.1") && !mqttBind.equals("0.0.0.0")) {
            throw new ConfigException(
                    origin.get("mqtt.bind")
                            + ": mqtt.bind '"
                            + mqttBind
                            + "' is neither 127.0.0.1 (this machine only) nor 0.0.0.0 (every"
                            + " interface)");
        }
        String influx = v.get("influx.url").isBlank() ? null : v.get("influx.url");
        if (influx != null && !influx.startsWith("http://") && !influx.startsWith("https://")) {
            throw new ConfigException(
                    origin.get("influx.url")
                            + ": influx.url must start with http:// or https:// (or be empty)");
        }
        return new ApplianceSettings(
                broker,
                mqttPort,
                mqttBind,
                wholeNumber(
                        v,
                        origin,
                        "mqtt.max-queue-size",
                        1,
                        Long.MAX_VALUE,
                        "of messages, at least 1 (100000 by default)"),
                v.get("kafka.bootstrap"),
                bool(v, origin, "kafka.sync-writes"),
                Path.of(v.get("data-dir")),
                existing(v.get("job.config"), origin.get("job.config"), "job.config"),
                existing(v.get("job.rules"), origin.get("job.rules"), "job.rules"),
                bool(v, origin, "watch-config"),
                existing(v.get("gateway.config"), origin.get("gateway.config"), "gateway.config"),
                existing(
                        v.get("alerting.config"), origin.get("alerting.config"), "alerting.config"),
                influx,
                v.get("influx.org"),
                v.get("influx.bucket"),
                v.get("influx.token-env"),
                v.get("influx.token-file").isBlank()
                        ? null
                        : existing(
                                v.get("influx.token-file"),
                                origin.get("influx.token-file"),
                                "influx.token-file"),
                kafkaRetention(v.get("kafka.retention"), origin.get("kafka.retention")),
                (int)
                        wholeNumber(
                                v,
                                origin,
                                "influx.files-keep-days",
                                1,
                                3650,
                                "of days from 1 to 3650"),
                restartPolicy(v, origin),
                megabytes(v, origin, "disk.warn-free-mb"),
                diskStopFreeMb(v, origin),
                bool(v, origin, "disk.reclaim-history"));
    }

    private static long diskStopFreeMb(Map<String, String> v, Map<String, String> origin) {
        long warn = megabytes(v, origin, "disk.warn-free-mb");
        long stop = megabytes(v, origin, "disk.stop-free-mb");
        if (warn != 0 && warn < stop) {
            throw new ConfigException(
                    origin.get("disk.warn-free-mb")
                            + ": disk.warn-free-mb ("
                            + warn
                            + ") is below disk.stop-free-mb ("
                            + stop
                            + "): the warning would come after the stop");
        }
        return stop;
    }

    private static boolean bool(Map<String, String> v, Map<String, String> origin, String key) {
        String value = v.get(key).strip().toLowerCase(java.util.Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new ConfigException(
                    origin.get(key) + ": " + key + " '" + v.get(key) + "' must be true or false");
        }
        return value.equals("true");
    }

    private static long megabytes(Map<String, String> v, Map<String, String> origin, String key) {
        return wholeNumber(v, origin, key, 0, 100_000_000, "of MB from 0 (off) to 100000000");
    }

    /**
     * {@code key}'s whole number from {@code min} to {@code max}; a refusal says "must be a whole
     * number " and then {@code range}.
     */
    private static long wholeNumber(
            Map<String, String> v,
            Map<String, String> origin,
            String key,
            long min,
            long max,
            String range) {
        try {
            long n = Long.parseLong(v.get(key).strip());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new ConfigException(
                origin.get(key)
                        + ": "
                        + key
                        + " '"
                        + v.get(key)
                        + "' must be a whole number "
                        + range);
    }

    private static RestartPolicy restartPolicy(Map<String, String> v, Map<String, String> origin) {
        int restarts =
                (int)
                        wholeNumber(
                                v,
                                origin,
                                "job.restart.max-restarts",
                                0,
                                10_000,
                                "from 0 (stop at the first failure) to 10000");
        java.time.Duration backoff = duration(v, origin, "job.restart.backoff", "10ms");
        java.time.Duration maxBackoff = duration(v, origin, "job.restart.max-backoff", "10ms");
        if (maxBackoff.compareTo(backoff) < 0) {
            throw new ConfigException(
                    origin.get("job.restart.max-backoff")
                            + ": job.restart.max-backoff '"
                            + v.get("job.restart.max-backoff")
                            + "' is below job.restart.backoff '"
                            + v.get("job.restart.backoff")
                            + "'");
        }
        return new RestartPolicy(
                restarts,
                backoff,
                maxBackoff,
                duration(v, origin, "job.restart.reset-after", "1s"));
    }

    /** {@code key}'s duration, at least {@code least} and at most a day. */
    private static java.time.Duration duration(
            Map<String, String> v, Map<String, String> origin, String key, String least) {
        java.time.Duration d;
        try {
            d = io.plantwatch.model.Durations.parse(v.get(key));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(origin.get(key) + ": " + key + " " + e.getMessage());
        }
        if (d.compareTo(io.plantwatch.model.Durations.parse(least)) < 0
                || d.compareTo(java.time.Duration.ofDays(1)) > 0) {
            throw new ConfigException(
                    origin.get(key)
                            + ": "
                            + key
                            + " '"
                            + v.get(key)
                            + "' must be from "
                            + least
                            + " to 1d");
        }
        return d;
    }

    private static java.time.Duration kafkaRetention(String text, String origin) {
        java.time.Duration d;
        try {
            d = io.plantwatch.model.Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(origin + ": kafka.retention " + e.getMessage());
        }
        if (d.compareTo(java.time.Duration.ofHours(1)) < 0) {
            throw new ConfigException(
                    origin
                            + ": kafka.retention '"
                            + text
                            + "' must be at least 1h: the job and alerting may be stopped longer"
                            + " and must find what they have not read");
        }
        return d;
    }

    private static void flatten(String prefix, JsonNode n, Map<String, String> out, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            boolean section = SECTIONS.contains(key);
            if (section && e.getValue().isObject()) {
                flatten(key + ".", e.getValue(), out, source);
            } else if (section) {
                throw new ConfigException(
                        source
                                + ": "
                                + key
                                + " is a section of settings, e.g. "
                                + key
                                + ": {"
                                + DEFAULTS.keySet().stream()
                                        .filter(k -> k.startsWith(key + "."))
                                        .findFirst()
                                        .orElseThrow()
                                        .substring(key.length() + 1)
                                + ": ...}");
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
