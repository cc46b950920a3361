package io.plantwatch.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone Flink session cluster as Flink's own scripts start one, without flink-dist (which
 * Maven Central does not carry): a JobManager ({@code StandaloneSessionClusterEntrypoint}) and
 * TaskManagers ({@code TaskManagerRunner}) as child JVMs on the jars the {@code
 * flink-cluster-classpath} module lists, with the memory flags Flink's {@code BashJavaUtils}
 * computes, the JDK 17 module flags of Flink's shipped config.yaml, and everything on 127.0.0.1.
 *
 * <p>Jobs go in as a client would send them: jar upload and run through the REST API. A TaskManager
 * can be killed with SIGKILL and another started, to see a job restore from its last checkpoint.
 * Heartbeats are short (1 s, lost after 6 s) so a dead TaskManager shows quickly.
 *
 * <pre>{@code
 * try (FlinkSessionCluster flink = FlinkSessionCluster.builder().slots(2).build().start()) {
 *     String jar = flink.uploadJar(Path.of("target/anomaly-job.jar"));
 *     String job = flink.runJar(jar, List.of("--kafka-bootstrap", bootstrap), 2);
 * }
 * }</pre>
 */
public final class FlinkSessionCluster implements AutoCloseable {
    /** The resource that {@code flink-cluster-classpath} writes: the cluster's jar files. */
    public static final String CLASSPATH_RESOURCE = "io/plantwatch/flink-cluster.classpath";

    private static final Logger LOG = LoggerFactory.getLogger(FlinkSessionCluster.class);
    private static final String JOB_MANAGER =
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
    private static final String TASK_MANAGER =
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
    private static final String MEMORY_TOOL = "org.apache.flink.runtime.util.bash.BashJavaUtils";
    private static final String RESULT_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:";
    private static final Duration START_TIMEOUT = Duration.ofMinutes(2);

    /** From Flink's shipped config.yaml ({@code env.java.opts.all}): Java 17 needs them all. */
    private static final List<String> MODULE_FLAGS =
            List.of(
                    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
                    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
                    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/java.net=ALL-UNNAMED",
                    "--add-opens=java.base/java.io=ALL-UNNAMED",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
                    "--add-opens=java.base/java.text=ALL-UNNAMED",
                    "--add-opens=java.base/java.time=ALL-UNNAMED",
                    "--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    private static final String LOGBACK_XML =
            """
            <configuration>
              <appender name="FILE" class="ch.qos.logback.core.FileAppender">
                <file>${log.file}</file>
                <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
              </appender>
              <logger name="org.apache.flink.runtime.checkpoint" level="INFO"/>
              <logger name="org.apache.kafka" level="WARN"/>
              <root level="INFO"><appender-ref ref="FILE"/></root>
            </configuration>
            """;

    private final int slots;
    private final Map<String, String> configuration;
    private final Path directory;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> taskManagers = new ArrayList<>();
    private final Thread reaper = new Thread(this::destroyAll, "flink-session-cluster-reaper");
    private String classpath;
    private Process jobManager;
    private int restPort;
    private int taskManagersStarted;
    private boolean closed;

    private FlinkSessionCluster(Builder builder) {
        this.slots = builder.slots;
        this.configuration = Map.copyOf(builder.configuration);
        this.directory = TempDirs.create("flink-session-");
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the JobManager and one TaskManager and returns once the REST API reports its slots.
     *
     * @return this, for chaining after {@link Builder#build()}
     */
    public synchronized FlinkSessionCluster start() throws IOException, InterruptedException {
        if (jobManager != null) {
            return this;
        }
        long startNanos = System.nanoTime();
        classpath = readClasspath();
        int[] ports = Loopback.freePorts(2);
        restPort = ports[0];
        writeConfiguration(ports[1]);
        Runtime.getRuntime().addShutdownHook(reaper);
        jobManager = launch("jobmanager", JOB_MANAGER, "GET_JM_RESOURCE_PARAMS");
        Loopback.awaitListening(restPort, START_TIMEOUT, jobManager::isAlive, "Flink JobManager");
        startTaskManager();
        awaitSlots(slots);
        LOG.info(
                "Flink session cluster ({} slots) ready at {} in {}",
                slots,
                restUrl(),
                Loopback.seconds(startNanos));
        return this;
    }

    /** Starts one more TaskManager with this cluster's slot count; does not wait for it. */
    public synchronized void startTaskManager() throws IOException, InterruptedException {
        taskManagers.add(
                launch(
                        "taskmanager-" + ++taskManagersStarted,
                        TASK_MANAGER,
                        "GET_TM_RESOURCE_PARAMS"));
    }

    /** Kills every running TaskManager with SIGKILL, as a crashed machine would go. */
    public synchronized void killTaskManagers() throws InterruptedException {
        for (Process p : taskManagers) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        taskManagers.clear();
    }

    /** Polls the REST API until {@code count} slots are registered in total. */
    public void awaitSlots(int count) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (slotsTotal() != count) {
            if (!jobManager.isAlive()) {
                throw new IllegalStateException(
                        "Flink JobManager exited: see " + logOf("jobmanager"));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(
                        "Flink did not report " + count + " slots within " + START_TIMEOUT);
            }
            Thread.sleep(100);
        }
    }

    /** Slots the TaskManagers registered with the JobManager right now. */
    public int slotsTotal() throws IOException, InterruptedException {
        return get("/overview").path("slots-total").asInt();
    }

    /** The REST API, e.g. {@code http://127.0.0.1:40123}: what {@code flink run -m} takes. */
    public String restUrl() {
        return "http://" + Loopback.HOST + ":" + restPort;
    }

    /** The directory holding this cluster's config, logs and temporary files. */
    public Path directory() {
        return directory;
    }

    /** Uploads a job jar ({@code POST /jars/upload}) and returns the id that runs it. */
    public String uploadJar(Path jar) throws IOException, InterruptedException {
        String boundary = "plantwatch-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(
                ("--"
                                + boundary
                                + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                                + jar.getFileName()
                                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
                        .getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonNode answer =
                send(
                        HttpRequest.newBuilder(URI.create(restUrl() + "/jars/upload"))
                                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
        return Path.of(answer.path("filename").asText()).getFileName().toString();
    }

    /**
     * Runs an uploaded jar ({@code POST /jars/{id}/run}) and returns the job id. The parallelism
     * goes in the request because {@code /run} ignores {@code parallelism.default}.
     */
    public String runJar(String jarId, List<String> programArgs, int parallelism)
            throws IOException, InterruptedException {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("programArgsList", programArgs);
        request.put("parallelism", parallelism);
        JsonNode answer =
                send(
                        HttpRequest.newBuilder(URI.create(restUrl() + "/jars/" + jarId + "/run"))
                                .header("Content-Type", "application/json")
                                .POST(
                                        HttpRequest.BodyPublishers.ofByteArray(
                                                json.writeValueAsBytes(request))));
        return answer.path("jobid").asText();
    }

    /** The job's state as the JobManager reports it: CREATED, RUNNING, RESTARTING, FAILED... */
    public String jobState(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId).path("state").asText();
    }

    /** True when every task of the job is RUNNING, i.e. it reads and writes again. */
    public boolean allTasksRunning(String jobId) throws IOException, InterruptedException {
        JsonNode job = get("/jobs/" + jobId);
        if (!job.path("state").asText().equals("RUNNING")) {
            return false;
        }
        for (JsonNode vertex : job.path("vertices")) {
            if (!vertex.path("status").asText().equals("RUNNING")) {
                return false;
            }
        }
        return true;
    }

    /** The job's checkpoint statistics ({@code GET /jobs/{id}/checkpoints}). */
    public JsonNode checkpoints(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId + "/checkpoints");
    }

    /** Cancels a job ({@code PATCH /jobs/{id}?mode=cancel}). */
    public void cancel(String jobId) throws IOException, InterruptedException {
        send(
                HttpRequest.newBuilder(URI.create(restUrl() + "/jobs/" + jobId + "?mode=cancel"))
                        .method("PATCH", HttpRequest.BodyPublishers.noBody()));
    }

    /** The log file of a process: "jobmanager", "taskmanager-1", ... */
    public Path logOf(String process) {
        return directory.resolve("log").resolve(process + ".log");
    }

    /** Stops every process (SIGTERM, then SIGKILL) and removes the cluster's directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException | IllegalArgumentException ignored) {
            // The JVM is already shutting down, or start() never registered the hook.
        }
        TempDirs.deleteQuietly(directory);
    }

    private void destroyAll() {
        List<Process> all = new ArrayList<>(taskManagers);
        if (jobManager != null) {
            all.add(jobManager);
        }
        all.forEach(Process::destroy);
        for (Process p : all) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String readClasspath() throws IOException {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        try (InputStream in = loader.getResourceAsStream(CLASSPATH_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(
                        CLASSPATH_RESOURCE
                                + " is not on the classpath: add a test dependency on"
                                + " io.plantwatch:flink-cluster-classpath (the parent pom"
                                + " manages it without its transitive dependencies)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    private void writeConfiguration(int rpcPort) throws IOException {
        Path tmp = Files.createDirectories(directory.resolve("tmp"));
        Files.createDirectories(directory.resolve("log"));
        Map<String, String> c = new LinkedHashMap<>();
        c.put("jobmanager.rpc.address", Loopback.HOST);
        c.put("jobmanager.rpc.port", Integer.toString(rpcPort));
        c.put("jobmanager.bind-host", Loopback.HOST);
        c.put("jobmanager.memory.process.size", "768m");
        c.put("taskmanager.host", Loopback.HOST);
        c.put("taskmanager.bind-host", Loopback.HOST);
        c.put("taskmanager.numberOfTaskSlots", Integer.toString(slots));
        c.put("taskmanager.memory.process.size", "1280m");
        c.put("taskmanager.memory.managed.fraction", "0.2");
        c.put("taskmanager.memory.network.min", "64m");
        c.put("taskmanager.memory.network.max", "64m");
        c.put("rest.address", Loopback.HOST);
        c.put("rest.bind-address", Loopback.HOST);
        c.put("rest.port", Integer.toString(restPort));
        c.put("heartbeat.interval", "1000");
        c.put("heartbeat.timeout", "6000");
        c.put("io.tmp.dirs", tmp.toString());
        c.put("web.tmpdir", tmp.resolve("web").toString());
        c.put("web.upload.dir", tmp.resolve("upload").toString());
        c.putAll(configuration);
        StringBuilder yaml = new StringBuilder();
        // Flat keys are valid in Flink 2's config.yaml; values are quoted as YAML strings.
        c.forEach(
                (k, v) ->
                        yaml.append(k)
                                .append(": \"")
                                .append(v.replace("\\", "\\\\").replace("\"", "\\\""))
                                .append("\"\n"));
        Path conf = Files.createDirectories(directory.resolve("conf"));
        Files.writeString(conf.resolve("config.yaml"), yaml.toString());
        Files.writeString(conf.resolve("logback.xml"), LOGBACK_XML);
    }

    /** Starts one Flink process the way bin/jobmanager.sh and bin/taskmanager.sh do. */
    private Process launch(String name, String mainClass, String memoryCommand)
            throws IOException, InterruptedException {
        Path conf = directory.resolve("conf");
        List<String> memory = memoryParameters(memoryCommand);
        List<String> command = new ArrayList<>(javaCommand(logOf(name)));
        command.addAll(List.of(memory.get(0).trim().split("\\s+")));
        command.addAll(List.of("-cp", classpath, mainClass, "--configDir", conf.toString()));
        if (memory.size() > 1 && !memory.get(1).isBlank()) {
            command.addAll(List.of(memory.get(1).trim().split("\\s+")));
        }
        Path out = directory.resolve("log").resolve(name + ".out");
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(Redirect.appendTo(out.toFile()))
                .start();
    }

    private List<String> javaCommand(Path logFile) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(MODULE_FLAGS);
        command.add("-XX:+UseParallelGC");
        command.add("-Djava.io.tmpdir=" + directory.resolve("tmp"));
        command.add("-Dlog.file=" + logFile);
        command.add("-Dlogback.configurationFile=" + directory.resolve("conf/logback.xml"));
        return command;
    }

    /**
     * The JVM flags (first) and dynamic {@code -D} properties (second) that Flink's scripts get
     * from {@code BashJavaUtils} for this configuration.
     */
    private List<String> memoryParameters(String memoryCommand)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(javaCommand(logOf("memory-tool")));
        command.addAll(
                List.of(
                        "-cp",
                        classpath,
                        MEMORY_TOOL,
                        memoryCommand,
                        "--configDir",
                        directory.resolve("conf").toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(
                    "Flink's BashJavaUtils " + memoryCommand + " failed: " + output);
        }
        List<String> results = new ArrayList<>();
        output.lines()
                .filter(l -> l.startsWith(RESULT_PREFIX))
                .forEach(l -> results.add(l.substring(RESULT_PREFIX.length())));
        if (results.isEmpty()) {
            throw new IllegalStateException(
                    "Flink's BashJavaUtils " + memoryCommand + " printed no result: " + output);
        }
        return results;
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(restUrl() + path)).GET());
    }

    private JsonNode send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<byte[]> response =
                http.send(
                        request.timeout(Duration.ofSeconds(60)).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() / 100 != 2) {
            throw new IOException(
                    "Flink REST "
                            + response.request().method()
                            + " "
                            + response.request().uri().getPath()
                            + " answered "
                            + response.statusCode()
                            + ": "
                            + body);
        }
        try {
            return body.isEmpty() ? json.createObjectNode() : json.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException("Flink REST answered no JSON: " + body, e);
        }
    }

    /** Builds a cluster; nothing starts before {@link FlinkSessionCluster#start()}. */
    public static final class Builder {
        private int slots = 2;
        private final Map<String, String> configuration = new LinkedHashMap<>();

        private Builder() {}

        /** Slots per TaskManager (default 2). */
        public Builder slots(int slots) {
            if (slots < 1) {
                throw new IllegalArgumentException("slots must be at least 1, got " + slots);
            }
            this.slots = slots;
            return this;
        }

        /** Any Flink configuration key, e.g. {@code restart-strategy.type}; wins over defaults. */
        public Builder configuration(String key, String value) {
            configuration.put(key, value);
            return this;
        }

        public FlinkSessionCluster build() {
            return new FlinkSessionCluster(this);
        }
    }
}
