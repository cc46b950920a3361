package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.plantwatch.infra.EmbeddedMqttBroker;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/**
 * docker/compose.yaml against the repository it ships with: images pinned, Dockerfiles copying jars
 * their modules build, mounted files present, ports and addresses agreeing with the shipped
 * configuration, Prometheus scraping what runs, secrets only referenced. Everything is read from
 * files, so it runs without Docker; {@code docker compose config} runs too where it is installed.
 */
class DockerComposeConsistencyTest {
    private static final Path ROOT = Path.of("..");
    private static final Path DOCKER = ROOT.resolve("docker");
    private static final Path COMPOSE = DOCKER.resolve("compose.yaml");
    private static final Path CONFIG = ROOT.resolve("config");
    private static final String CONFIG_MOUNT = "/opt/plantwatch/config";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path RESTORE_SCRIPT = DOCKER.resolve("flink/restore-entrypoint.sh");
    private static final String RESTORE_SCRIPT_IN_IMAGE = "/opt/plantwatch/restore-entrypoint.sh";

    /** module/target/name.jar, as a Dockerfile copies it out of its build stage. */
    private static final Pattern MODULE_JAR = Pattern.compile("([\\w-]+)/target/([\\w.-]+)\\.jar");

    private static final Pattern CONFIG_FILE = Pattern.compile(CONFIG_MOUNT + "/([\\w.-]+)");
    private static final Pattern VARIABLE = Pattern.compile("(?<!\\$)\\$\\{(\\w+)");
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(token|secret|password).*");

    /** ${VAR} or ${VAR:?message}: a reference without a default, which would be a literal. */
    private static final Pattern REFERENCE_WITHOUT_DEFAULT =
            Pattern.compile("\\$\\{\\w+(:?\\?[^}]*)?}");

    /**
     * Long options of Flink's standalone-job entrypoint (2.2, and spellings of earlier versions).
     * It reads options up to the first one it does not know, abbreviations included, and hands the
     * rest to the job.
     */
    private static final List<String> FLINK_ENTRYPOINT_OPTIONS =
            List.of(
                    "configDir",
                    "jar-file",
                    "jars",
                    "job-classname",
                    "job-id",
                    "fromSavepoint",
                    "allowNonRestoredState",
                    "restoreMode",
                    "claimMode",
                    "host",
                    "webui-port");

    private static JsonNode compose;

    record PortMapping(Integer host, int container) {}

    @BeforeAll
    static void readCompose() throws IOException {
        compose = YAML.readTree(COMPOSE.toFile());
        assertThat(services()).as("services in %s", COMPOSE).isNotEmpty();
    }

    @Test
    void imagesAndBaseImagesArePinned() throws IOException {
        for (Map.Entry<String, JsonNode> e : services().entrySet()) {
            JsonNode image = e.getValue().get("image");
            if (image == null) {
                assertThat(e.getValue().has("build"))
                        .as("%s has an image or a build", e.getKey())
                        .isTrue();
            } else {
                assertThat(tag(image.asText()))
                        .as("tag of %s's image %s", e.getKey(), image.asText())
                        .isNotBlank()
                        .isNotEqualTo("latest");
            }
        }
        for (Path dockerfile : dockerfiles()) {
            for (String line : Files.readAllLines(dockerfile)) {
                if (line.startsWith("FROM ")) {
                    String image = line.split("\\s+")[1];
                    assertThat(tag(image))
                            .as("tag of %s in %s", image, dockerfile)
                            .isNotBlank()
                            .isNotEqualTo("latest");
                }
            }
        }
    }

    @Test
    void dockerfilesCopyTheJarsTheirModulesBuild() throws IOException {
        String parentPom = Files.readString(ROOT.resolve("pom.xml"));
        for (Map.Entry<String, JsonNode> e : services().entrySet()) {
            JsonNode build = e.getValue().get("build");
            if (build == null) {
                continue;
            }
            Path context = DOCKER.resolve(build.path("context").asText("."));
            Path dockerfile = context.resolve(build.path("dockerfile").asText("Dockerfile"));
            assertThat(dockerfile).as("Dockerfile of %s", e.getKey()).isRegularFile();
            String text = Files.readString(dockerfile);
            Matcher jar = MODULE_JAR.matcher(text);
            assertThat(jar.find())
                    .as("%s copies a module's target/<name>.jar", dockerfile)
                    .isTrue();
            String module = jar.group(1);
            Path pom = ROOT.resolve(module).resolve("pom.xml");
            assertThat(pom).as("pom of module %s named in %s", module, dockerfile).isRegularFile();
            assertThat(parentPom).contains("<module>" + module + "</module>");
            String modulePom = Files.readString(pom);
            // The parent's shade execution writes target/${shade.finalName}.jar unless skipped.
            assertThat(modulePom)
                    .as("%s shades a runnable jar", pom)
                    .contains("<shade.skip>false</shade.skip>")
                    .contains("<shade.finalName>" + jar.group(2) + "</shade.finalName>");
            assertThat(text)
                    .as("%s builds the module it copies from", dockerfile)
                    .contains("-pl " + module + " ");
        }
    }

    @Test
    void mountedHostPathsExistAndNamedVolumesAreDeclared() {
        for (Map.Entry<String, JsonNode> e : services().entrySet()) {
            for (String volume : strings(e.getValue().path("volumes"))) {
                String source = volume.split(":")[0];
                if (source.startsWith(".")) {
                    // Relative to compose.yaml's directory, as compose reads it.
                    assertThat(DOCKER.resolve(source).normalize())
                            .as("host path of %s's volume %s", e.getKey(), volume)
                            .exists();
                } else if (!source.startsWith("/")) {
                    assertThat(compose.path("volumes").has(source))
                            .as("%s's named volume %s is declared", e.getKey(), source)
                            .isTrue();
                }
            }
        }
    }

    @Test
    void configFilesNamedInCommandsExistAndAreMounted() {
        for (Map.Entry<String, JsonNode> e : services().entrySet()) {
            Matcher file = CONFIG_FILE.matcher(String.join(" ", command(e.getValue())));
            while (file.find()) {
                assertThat(CONFIG.resolve(file.group(1)))
                        .as("%s's command names %s", e.getKey(), file.group())
                        .isRegularFile();
                assertThat(strings(e.getValue().path("volumes")))
                        .as("%s mounts config/ at %s", e.getKey(), CONFIG_MOUNT)
                        .contains("../config:" + CONFIG_MOUNT + ":ro");
            }
        }
    }

    @Test
    void publishedPortsAreTheShippedConfigurationsDefaults() throws IOException {
        JsonNode gateway = yaml(CONFIG.resolve("gateway.yaml"));
        JsonNode alerting = yaml(CONFIG.resolve("alerting.yaml"));
        // Inside the network the services listen on their configured ports; from the host, the
        // URLs in the READMEs use the same numbers.
        int gatewayHttp = gateway.at("/http/port").asInt();
        assertThat(ports("gateway")).contains(new PortMapping(gatewayHttp, gatewayHttp));
        int alertingApi = alerting.at("/api/port").asInt();
        assertThat(ports("alerting")).contains(new PortMapping(alertingApi, alertingApi));
        // Programs run on the host with the shipped configuration reach the brokers in compose.
        int mqtt = port(gateway.at("/mqtt/broker").asText());
        assertThat(hostPorts("mqtt")).as("mqtt.broker of config/gateway.yaml").contains(mqtt);
        for (String file : List.of("gateway.yaml", "job.yaml", "alerting.yaml")) {
            int kafka = port(yaml(CONFIG.resolve(file)).at("/kafka/bootstrap").asText());
            assertThat(hostPorts("kafka")).as("kafka.bootstrap of config/%s", file).contains(kafka);
        }
    }

    @Test
    void addressesBetweenContainersNameServicesAndTheirPorts() throws IOException {
        String advertised = environment(service("kafka")).get("KAFKA_ADVERTISED_LISTENERS");
        List<String> addresses = new ArrayList<>();
        for (JsonNode service : services().values()) {
            List<String> args = command(service);
            for (int i = 0; i + 1 < args.size(); i++) {
                String option = args.get(i);
                String value = args.get(i + 1);
                if (option.equals("--mqtt-broker") || option.equals("--broker")) {
                    addresses.add(value);
                } else if (option.equals("--set") && value.startsWith("influx.url=")) {
                    addresses.add(value.substring("influx.url=".length()));
                } else if (option.equals("--kafka-bootstrap")) {
                    addresses.add("kafka://" + value);
                    // Clients go on to the address the broker advertises.
                    assertThat(advertised)
                            .as("Kafka's advertised listeners")
                            .contains("://" + value);
                }
            }
        }
        for (JsonNode source : yaml(grafanaDatasources()).path("datasources")) {
            addresses.add(source.path("url").asText());
        }
        assertThat(addresses).isNotEmpty();
        for (String address : addresses) {
            URI uri = URI.create(address);
            assertThat(services()).as("service of %s", address).containsKey(uri.getHost());
            assertThat(containerPorts(uri.getHost()))
                    .as("ports of %s, addressed as %s", uri.getHost(), address)
                    .contains(uri.getPort());
        }
    }

    @Test
    void grafanaFindsItsProvisioningAndDashboards() throws IOException {
        JsonNode grafana = service("grafana");
        Map<Path, String> mounts = new LinkedHashMap<>();
        for (String volume : strings(grafana.path("volumes"))) {
            String[] parts = volume.split(":");
            mounts.put(DOCKER.resolve(parts[0]).normalize(), parts[1]);
        }
        Path provisioning = DOCKER.resolve("grafana/provisioning").normalize();
        assertThat(mounts).containsEntry(provisioning, "/etc/grafana/provisioning");
        JsonNode providers = yaml(provisioning.resolve("dashboards/plantwatch.yaml"));
        assertThat(providers.path("providers")).isNotEmpty();
        for (JsonNode provider : providers.path("providers")) {
            assertThat(mounts)
                    .as("dashboards mounted where provider %s reads them", provider.path("name"))
                    .containsEntry(
                            DOCKER.resolve("grafana/dashboards").normalize(),
                            provider.at("/options/path").asText());
        }
        // The datasources take their token from Grafana's environment ($INFLUX_TOKEN).
        Matcher variable =
                Pattern.compile("\\$\\{?(\\w+)").matcher(Files.readString(grafanaDatasources()));
        while (variable.find()) {
            assertThat(environment(grafana)).containsKey(variable.group(1));
        }
    }

    @Test
    void prometheusScrapesServicesOnThePortsTheyExpose() throws IOException {
        JsonNode prometheus = service("prometheus");
        assertThat(strings(prometheus.path("volumes")))
                .contains("./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro");
        JsonNode config = yaml(DOCKER.resolve("prometheus/prometheus.yml"));
        assertThat(config.path("scrape_configs")).isNotEmpty();
        // Its alert rules, mounted where rule_files names them, go to the alerting service.
        assertThat(config.path("rule_files")).isNotEmpty();
        for (JsonNode rules : config.path("rule_files")) {
            String inContainer = rules.asText();
            String file = inContainer.substring(inContainer.lastIndexOf('/') + 1);
            assertThat(strings(prometheus.path("volumes")))
                    .contains("./prometheus/" + file + ":" + inContainer + ":ro");
            assertThat(yaml(DOCKER.resolve("prometheus/" + file)).at("/groups/0/rules"))
                    .isNotEmpty();
        }
        JsonNode alertmanagers = config.at("/alerting/alertmanagers");
        assertThat(alertmanagers).hasSize(1);
        for (JsonNode target : alertmanagers.at("/0/static_configs/0/targets")) {
            String[] hostPort = target.asText().split(":");
            assertThat(hostPort[0]).isEqualTo("alerting");
            assertThat(containerPorts("alerting")).contains(Integer.parseInt(hostPort[1]));
        }
        String token = alertmanagers.at("/0/authorization/credentials_file").asText();
        assertThat(token).as("the alerting API wants its token").startsWith("/run/secrets/");
        assertThat(strings(prometheus.path("secrets")))
                .contains(token.substring("/run/secrets/".length()));
        for (JsonNode job : config.path("scrape_configs")) {
            for (JsonNode target : job.at("/static_configs/0/targets")) {
                String[] hostPort = target.asText().split(":");
                String name = hostPort[0];
                int port = Integer.parseInt(hostPort[1]);
                assertThat(services()).as("service of target %s", target).containsKey(name);
                assertThat(containerPorts(name)).as("ports of %s", name).contains(port);
                String flink = environment(service(name)).get("FLINK_PROPERTIES");
                if (flink != null) {
                    assertThat(flink).contains("metrics.reporter.prom.port: " + port);
                }
            }
            String credentials = job.at("/authorization/credentials_file").asText();
            if (!credentials.isEmpty()) {
                String secret = credentials.substring("/run/secrets/".length());
                assertThat(credentials).startsWith("/run/secrets/");
                assertThat(strings(prometheus.path("secrets")))
                        .as("secrets of the prometheus service")
                        .contains(secret);
                assertThat(compose.path("secrets").has(secret)).as("secret %s", secret).isTrue();
            }
        }
    }

    @Test
    void secretsAreReferencedNeverWritten() throws IOException {
        for (Map.Entry<String, JsonNode> e : services().entrySet()) {
            for (Map.Entry<String, String> variable : environment(e.getValue()).entrySet()) {
                if (SECRET_NAME.matcher(variable.getKey()).matches()) {
                    assertThat(variable.getValue())
                            .as("%s's %s", e.getKey(), variable.getKey())
                            .matches(REFERENCE_WITHOUT_DEFAULT);
                }
            }
        }
        String text = Files.readString(COMPOSE);
        for (Map.Entry<String, String> variable : dotEnv().entrySet()) {
            if (SECRET_NAME.matcher(variable.getKey()).matches()) {
                assertThat(text)
                        .as("value of %s", variable.getKey())
                        .doesNotContain(variable.getValue());
            }
        }
    }

    @Test
    void everyVariableIsSetInDotEnv() throws IOException {
        Set<String> used = new HashSet<>();
        Matcher variable = VARIABLE.matcher(Files.readString(COMPOSE));
        while (variable.find()) {
            used.add(variable.group(1));
        }
        for (JsonNode secret : compose.path("secrets")) {
            if (secret.has("environment")) {
                used.add(secret.get("environment").asText());
            }
        }
        assertThat(used).isNotEmpty();
        assertThat(dotEnv().keySet()).as("variables in docker/.env").containsAll(used);
    }

    @Test
    void kafkaTopicsCreatedAreTheOnesTheServicesUse() throws IOException {
        Matcher loop =
                Pattern.compile("for topic in ([^;]+);")
                        .matcher(String.join(" ", command(service("kafka-topics"))));
        assertThat(loop.find()).as("kafka-topics loops over its topics").isTrue();
        Set<String> created = new HashSet<>(Arrays.asList(loop.group(1).trim().split("\\s+")));
        Set<String> used = new HashSet<>();
        JsonNode gateway = yaml(CONFIG.resolve("gateway.yaml")).path("kafka");
        used.add(gateway.path("readings-topic").asText());
        used.add(gateway.path("dlq-topic").asText());
        JsonNode job = yaml(CONFIG.resolve("job.yaml")).path("kafka");
        for (String key :
                List.of(
                        "readings-topic",
                        "alerts-topic",
                        "late-topic",
                        "completeness-topic",
                        "dlq-topic")) {
            used.add(job.path(key).asText());
        }
        used.add(yaml(CONFIG.resolve("alerting.yaml")).at("/kafka/alerts-topic").asText());
        used.add(yaml(CONFIG.resolve("alerting.yaml")).at("/kafka/dlq-topic").asText());
        assertThat(created)
                .as("topics kafka-topics creates, against config/*.yaml")
                .isEqualTo(used);
    }

    @Test
    void jobArgumentsGetPastFlinksEntrypoint() {
        List<String> args = command(service("jobmanager"));
        assertThat(args).startsWith("standalone-job", "--job-classname");
        String jobClass = args.get(2);
        Path source =
                ROOT.resolve("anomaly-job/src/main/java")
                        .resolve(jobClass.replace('.', '/') + ".java");
        assertThat(source).as("job class %s", jobClass).isRegularFile();
        String first = args.get(3);
        assertThat(first).startsWith("--");
        for (String option : FLINK_ENTRYPOINT_OPTIONS) {
            assertThat(option)
                    .as("the job's first argument %s is taken for Flink's --%s", first, option)
                    .doesNotStartWith(first.substring(2));
        }
    }

    @Test
    void theJobsStateBackendIsTheClustersOne() throws IOException {
        // The job sets state.backend.type itself (job.yaml's state.backend, or --set), overriding
        // the cluster's; both should say the same.
        String backend = yaml(CONFIG.resolve("job.yaml")).at("/state/backend").asText();
        List<String> args = command(service("jobmanager"));
        for (int i = 0; i + 1 < args.size(); i++) {
            if (args.get(i).equals("--set") && args.get(i + 1).startsWith("state.backend=")) {
                backend = args.get(i + 1).substring("state.backend=".length());
            }
        }
        for (String name : List.of("jobmanager", "taskmanager")) {
            assertThat(environment(service(name)).get("FLINK_PROPERTIES"))
                    .as("%s's FLINK_PROPERTIES", name)
                    .contains("state.backend.type: " + backend);
        }
    }

    @Test
    void theMqttBrokerQueuesAsMuchAsTheEmbeddedOne() throws Exception {
        // HiveMQ's default queue (1,000 per client, newer messages discarded) loses readings
        // silently once the gateway is away for seconds; the compose broker gets the embedded
        // broker's queue through its own config.xml.
        JsonNode mqtt = service("mqtt");
        assertThat(strings(mqtt.path("volumes")))
                .as("mqtt's volumes")
                .contains("./hivemq/config.xml:/opt/hivemq/conf/config.xml:ro");
        Document config =
                DocumentBuilderFactory.newInstance()
                        .newDocumentBuilder()
                        .parse(DOCKER.resolve("hivemq/config.xml").toFile());
        XPath xpath = XPathFactory.newInstance().newXPath();
        assertThat(xpath.evaluate("/hivemq/mqtt/queued-messages/max-queue-size", config))
                .as("max-queue-size in docker/hivemq/config.xml")
                .isEqualTo(Long.toString(EmbeddedMqttBroker.DEFAULT_MAX_QUEUE_SIZE));
        assertThat(xpath.evaluate("/hivemq/mqtt/queued-messages/strategy", config))
                .as("strategy in docker/hivemq/config.xml, as EmbeddedMqttBroker writes it")
                .isEqualTo("discard");
        // Replacing the image's config.xml must keep the listener the others connect to.
        assertThat(xpath.evaluate("/hivemq/listeners/tcp-listener/bind-address", config))
                .isEqualTo("0.0.0.0");
        assertThat(containerPorts("mqtt"))
                .as("mqtt's ports against the listener in config.xml")
                .contains(
                        Integer.valueOf(
                                xpath.evaluate("/hivemq/listeners/tcp-listener/port", config)));
        // The same HiveMQ CE as the embedded broker, whose tests exercise this configuration.
        Matcher version =
                Pattern.compile("<hivemq-ce.version>([^<]+)</hivemq-ce.version>")
                        .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertThat(version.find()).as("hivemq-ce.version in pom.xml").isTrue();
        assertThat(tag(mqtt.path("image").asText())).isEqualTo(version.group(1));
    }

    @Test
    void theJobManagerResumesFromTheRetainedCheckpoints() throws IOException {
        JsonNode jobmanager = service("jobmanager");
        String script = Files.readString(RESTORE_SCRIPT);
        // The image ships the script where the service's entrypoint names it.
        assertThat(strings(jobmanager.path("entrypoint")))
                .as("jobmanager's entrypoint")
                .containsExactly(RESTORE_SCRIPT_IN_IMAGE);
        assertThat(Files.readString(DOCKER.resolve("anomaly-job.Dockerfile")))
                .contains(
                        "COPY --chmod=0755 docker/flink/restore-entrypoint.sh "
                                + RESTORE_SCRIPT_IN_IMAGE);
        // It looks where the checkpoints are, which both Flink processes see in the same volume.
        Matcher dir = Pattern.compile("PLANTWATCH_CHECKPOINT_DIR:-([^}]+)}").matcher(script);
        assertThat(dir.find()).as("the script's default checkpoint directory").isTrue();
        String checkpoints = dir.group(1);
        String flink = environment(jobmanager).get("FLINK_PROPERTIES");
        assertThat(flink)
                .contains("execution.checkpointing.dir: file://" + checkpoints + "\n")
                // Savepoints in the same volume, where the script finds them too.
                .contains("execution.checkpointing.savepoint-dir: file://" + checkpoints + "/")
                // Flink's default deletes the checkpoints when the job is suspended, as at every
                // container stop without high availability, and when it is cancelled.
                .contains(
                        "execution.checkpointing.externalized-checkpoint-retention:"
                                + " RETAIN_ON_CANCELLATION");
        for (String name : List.of("jobmanager", "taskmanager")) {
            assertThat(strings(service(name).path("volumes")))
                    .as("%s's volumes", name)
                    .contains("flink-checkpoints:" + checkpoints);
            assertThat(environment(service(name)).get("FLINK_PROPERTIES"))
                    .contains("execution.checkpointing.dir: file://" + checkpoints + "\n");
        }
        // The job's own checkpoint.dir would override the cluster's and hide them from the script.
        String jobDir = yaml(CONFIG.resolve("job.yaml")).at("/checkpoint/dir").asText("");
        assertThat(jobDir)
                .as("checkpoint.dir in config/job.yaml")
                .isIn("", "file://" + checkpoints);
        assertThat(String.join(" ", command(jobmanager))).doesNotContain("checkpoint.dir=");
    }

    @Test
    void theInfluxSpoolIsOnAVolumeOfTheTaskManager() throws IOException {
        // The job's setting, from job.yaml or the jobmanager's command (where main runs).
        String spool = yaml(CONFIG.resolve("job.yaml")).at("/influx/spool-dir").asText("");
        List<String> args = command(service("jobmanager"));
        for (int i = 0; i + 1 < args.size(); i++) {
            if (args.get(i).equals("--set") && args.get(i + 1).startsWith("influx.spool-dir=")) {
                spool = args.get(i + 1).substring("influx.spool-dir=".length());
            }
        }
        // Unset, the spool is under the TaskManager's /tmp and dies with its container.
        assertThat(spool).as("influx.spool-dir of the job in compose").startsWith("/");
        // The writers run in the TaskManager: a named volume there, owned by flink in the image.
        String volume = null;
        for (String v : strings(service("taskmanager").path("volumes"))) {
            String[] parts = v.split(":");
            if (parts[1].equals(spool)) {
                volume = parts[0];
            }
        }
        assertThat(volume).as("taskmanager's volume at %s", spool).isNotNull();
        assertThat(compose.path("volumes").has(volume))
                .as("%s is a declared named volume", volume)
                .isTrue();
        assertThat(Files.readString(DOCKER.resolve("anomaly-job.Dockerfile")))
                .as("anomaly-job.Dockerfile creates the spool directory")
                .contains("mkdir -p " + spool);
    }

    @Test
    void theRestoreScriptPicksTheNewestCompleteSnapshot(@TempDir Path tmp) throws Exception {
        List<String> job = List.of("standalone-job", "--job-classname", "io.plantwatch.job.X");
        // First start: no volume content yet, or nothing in it.
        assertThat(restoreScript(tmp.resolve("missing"), false, job)).isEqualTo(job);
        Path dir = Files.createDirectories(tmp.resolve("checkpoints"));
        Files.createDirectories(dir.resolve("savepoints"));
        assertThat(restoreScript(dir, false, job)).isEqualTo(job);
        // Two earlier runs (each start has its own job id) with their retained checkpoints.
        Path older = metadata(dir.resolve("a1b2/chk-41"), 1_000);
        Path newest = metadata(dir.resolve("c3d4/chk-7"), 2_000);
        Files.createDirectories(dir.resolve("c3d4/shared"));
        // Written later but not complete: no _metadata yet, or an empty one.
        Files.writeString(
                Files.createDirectories(dir.resolve("c3d4/chk-8")).resolve("state-file"), "x");
        Files.setLastModifiedTime(dir.resolve("c3d4/chk-8"), FileTime.fromMillis(9_000_000));
        Path empty = Files.createDirectories(dir.resolve("c3d4/chk-9")).resolve("_metadata");
        Files.createFile(empty);
        Files.setLastModifiedTime(empty, FileTime.fromMillis(9_000_000));
        assertThat(older).isRegularFile();
        assertThat(restoreScript(dir, false, job))
                .containsExactly(
                        "standalone-job",
                        "--fromSavepoint",
                        "file://" + newest.getParent(),
                        "--job-classname",
                        "io.plantwatch.job.X");
        assertThat(restoreScript(dir, true, job))
                .containsSubsequence(
                        "--fromSavepoint", "--allowNonRestoredState", "--job-classname");
        // A savepoint taken after the last checkpoint, as for an upgrade, wins.
        Path savepoint = metadata(dir.resolve("savepoints/savepoint-c3d4aa-0123456789ab"), 3_000);
        assertThat(restoreScript(dir, false, job)).contains("file://" + savepoint.getParent());
        // Only the JobManager's standalone-job is touched.
        assertThat(restoreScript(dir, false, List.of("taskmanager")))
                .containsExactly("taskmanager");
    }

    /** A complete snapshot: a non-empty _metadata, written at the given second. */
    private static Path metadata(Path snapshot, long seconds) throws IOException {
        Path file = Files.createDirectories(snapshot).resolve("_metadata");
        Files.writeString(file, "metadata");
        Files.setLastModifiedTime(file, FileTime.fromMillis(seconds * 1000));
        return file;
    }

    /** The arguments docker/flink/restore-entrypoint.sh hands Flink's entrypoint. */
    private static List<String> restoreScript(
            Path checkpoints, boolean allowNonRestored, List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of("sh", RESTORE_SCRIPT.toString()));
        command.addAll(args);
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("PLANTWATCH_CHECKPOINT_DIR", checkpoints.toString());
        builder.environment().put("PLANTWATCH_FLINK_ENTRYPOINT", "echo");
        builder.environment()
                .put("PLANTWATCH_ALLOW_NON_RESTORED_STATE", Boolean.toString(allowNonRestored));
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("exit of %s", command).isZero();
        return Arrays.asList(out.trim().split("\\s+"));
    }

    @Test
    void openAlertsAreOnePerAlertIdentityWhateverTheTimeRange() throws IOException {
        JsonNode dashboard =
                new ObjectMapper()
                        .readTree(
                                DOCKER.resolve("grafana/dashboards/plant-overview.json").toFile());
        JsonNode panel = null;
        for (JsonNode p : dashboard.path("panels")) {
            if (p.path("title").asText().equals("Open alerts")) {
                panel = p;
            }
        }
        assertThat(panel).as("the Open alerts panel of plant-overview.json").isNotNull();
        String query = panel.at("/targets/0/query").asText();
        // The sensor tag is the sensor's short name (oil-temp on press-1 and on press-2): an alert
        // is told apart by the whole sensor id and the rule, as the job tags it.
        List<String> identity = List.of("site", "area", "line", "machine", "sensor", "rule");
        String lineProtocol =
                Files.readString(
                        ROOT.resolve(
                                "anomaly-job/src/main/java/io/plantwatch/job/series/LineProtocol.java"));
        for (String tag : identity) {
            assertThat(lineProtocol)
                    .as("the job writes tag %s", tag)
                    .contains("tag(b, \"" + tag + "\"");
        }
        Matcher group = Pattern.compile("group\\(columns: \\[([^]]*)]\\)").matcher(query);
        assertThat(group.find()).as("Open alerts groups by columns: %s", query).isTrue();
        assertThat(group.group(1).replace("\"", "").split(",\\s*"))
                .containsExactlyInAnyOrderElementsOf(identity);
        // Each alert's last event, kept only when it is OPEN.
        assertThat(query).containsSubsequence(group.group(), "last()", "r._value == \"OPEN\"");
        // An alert has points only at OPEN and RESOLVED: one opened before the dashboard's range
        // must not drop out while open, so the look-back is fixed and the panel says so.
        assertThat(query)
                .doesNotContain("v.timeRangeStart")
                .containsPattern("range\\(start: -\\d+d\\)");
        Matcher days = Pattern.compile("range\\(start: -(\\d+)d\\)").matcher(query);
        assertThat(days.find()).isTrue();
        assertThat(panel.path("description").asText()).contains(days.group(1) + " days");
    }

    /**
     * A machine is named within its line and a sensor within its machine (press-1 on line-1 and on
     * line-2): a panel that groups by either must group by every level above it too.
     */
    @Test
    void panelsGroupByAMachineOrSensorWithTheLevelsAboveIt() throws IOException {
        List<String> levels = List.of("site", "area", "line", "machine", "sensor");
        Pattern grouping = Pattern.compile("group\\(columns: \\[([^]]*)]\\)");
        try (var files = Files.list(DOCKER.resolve("grafana/dashboards"))) {
            for (Path f : files.toList()) {
                for (JsonNode panel : new ObjectMapper().readTree(f.toFile()).path("panels")) {
                    for (JsonNode target : panel.path("targets")) {
                        Matcher m = grouping.matcher(target.path("query").asText());
                        while (m.find()) {
                            List<String> columns =
                                    List.of(m.group(1).replace("\"", "").split(",\\s*"));
                            int deepest = -1;
                            for (int i = 0; i < levels.size(); i++) {
                                if (columns.contains(levels.get(i))) {
                                    deepest = i;
                                }
                            }
                            if (deepest >= levels.indexOf("machine")) {
                                assertThat(columns)
                                        .as("%s, panel %s", f.getFileName(), panel.path("title"))
                                        .containsAll(levels.subList(0, deepest + 1));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void dockerComposeAcceptsTheFile(@TempDir Path tmp) throws Exception {
        assumeTrue(
                succeeds(new ProcessBuilder("docker", "compose", "version")),
                "`docker compose` is not installed here: docker compose config not run");
        Path output = tmp.resolve("compose-config.txt");
        Process config =
                new ProcessBuilder(
                                "docker",
                                "compose",
                                "-f",
                                COMPOSE.toString(),
                                "--profile",
                                "simulator",
                                "config",
                                "-q")
                        .redirectErrorStream(true)
                        .redirectOutput(output.toFile())
                        .start();
        assertThat(config.waitFor(2, TimeUnit.MINUTES))
                .as("docker compose config finished")
                .isTrue();
        assertThat(config.exitValue())
                .as("docker compose config: %s", Files.readString(output))
                .isZero();
    }

    private static Map<String, JsonNode> services() {
        Map<String, JsonNode> services = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : compose.path("services").properties()) {
            services.put(e.getKey(), e.getValue());
        }
        return services;
    }

    private static JsonNode service(String name) {
        JsonNode service = compose.path("services").get(name);
        assertThat(service).as("service %s", name).isNotNull();
        return service;
    }

    /** The command's words; a string command split as compose splits one without quotes. */
    private static List<String> command(JsonNode service) {
        JsonNode command = service.path("command");
        if (command.isTextual()) {
            return Arrays.asList(command.asText().trim().split("\\s+"));
        }
        return strings(command);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode environment = service.path("environment");
        if (environment.isArray()) {
            for (String entry : strings(environment)) {
                int eq = entry.indexOf('=');
                env.put(
                        eq < 0 ? entry : entry.substring(0, eq),
                        eq < 0 ? "" : entry.substring(eq + 1));
            }
        } else {
            for (Map.Entry<String, JsonNode> e : environment.properties()) {
                env.put(e.getKey(), e.getValue().asText());
            }
        }
        return env;
    }

    /** "127.0.0.1:9092:29092", "9092:29092", "9092/tcp" and the like. */
    private static List<PortMapping> ports(String name) {
        List<PortMapping> ports = new ArrayList<>();
        for (String port : strings(service(name).path("ports"))) {
            String[] parts = port.replaceAll("/(tcp|udp)$", "").split(":");
            int container = Integer.parseInt(parts[parts.length - 1]);
            Integer host = parts.length > 1 ? Integer.valueOf(parts[parts.length - 2]) : null;
            ports.add(new PortMapping(host, container));
        }
        return ports;
    }

    private static List<Integer> hostPorts(String name) {
        return ports(name).stream().map(PortMapping::host).toList();
    }

    /** Ports reachable from other containers: published ones and those in expose. */
    private static List<Integer> containerPorts(String name) {
        List<Integer> ports =
                new ArrayList<>(ports(name).stream().map(PortMapping::container).toList());
        strings(service(name).path("expose")).forEach(p -> ports.add(Integer.valueOf(p)));
        return ports;
    }

    private static int port(String address) {
        return address.contains("://")
                ? URI.create(address).getPort()
                : Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    /** The tag of an image reference; an image pinned by digest counts as tagged. */
    private static String tag(String image) {
        if (image.contains("@")) {
            return image.substring(image.indexOf('@') + 1);
        }
        String name = image.substring(image.lastIndexOf('/') + 1);
        return name.contains(":") ? name.substring(name.indexOf(':') + 1) : "";
    }

    private static List<Path> dockerfiles() throws IOException {
        try (Stream<Path> files = Files.list(DOCKER)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".Dockerfile"))
                    .sorted()
                    .toList();
        }
    }

    private static Path grafanaDatasources() {
        return DOCKER.resolve("grafana/provisioning/datasources/plantwatch.yaml");
    }

    private static JsonNode yaml(Path file) throws IOException {
        return YAML.readTree(file.toFile());
    }

    /** docker/.env, which compose reads because it sits next to compose.yaml. */
    private static Map<String, String> dotEnv() throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(DOCKER.resolve(".env"), StandardCharsets.UTF_8)) {
            String l = line.trim();
            int eq = l.indexOf('=');
            if (!l.isEmpty() && !l.startsWith("#") && eq > 0) {
                env.put(l.substring(0, eq).trim(), l.substring(eq + 1).trim());
            }
        }
        return env;
    }

    private static boolean succeeds(ProcessBuilder command) throws InterruptedException {
        try {
            Process p =
                    command.redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
