package io.plantwatch.gateway;

import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.plantwatch.model.SensorReading;
import io.plantwatch.sim.SensorSim;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.slf4j.LoggerFactory;

/** What the gateway tests share: a configuration per test, the simulator, and HTTP. */
final class GatewayHarness {
    private static final Pattern PUBLISHED = Pattern.compile("published=(\\d+)");

    private GatewayHarness() {}

    /** Settings for one test: its own topics in MQTT and Kafka, so tests share brokers. */
    static Map<String, String> settings(String name, String mqttUri, String bootstrap) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("gateway.id", name);
        s.put("mqtt.broker", mqttUri);
        s.put("mqtt.topic-prefix", name);
        s.put("kafka.bootstrap", bootstrap);
        s.put("kafka.readings-topic", name + "-readings");
        s.put("kafka.dlq-topic", name + "-dlq");
        s.put("http.bind", "127.0.0.1");
        s.put("http.port", "0");
        s.put("shutdown.drain-timeout", "10s");
        return s;
    }

    static GatewayConfig config(Map<String, String> settings) {
        return GatewayConfig.load(null, Map.of(), settings);
    }

    /** Runs {@code sensor-sim} in this JVM and returns its summary line's published count. */
    static long simulate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                SensorSim.mainWithExitCode(
                        new PrintWriter(out, true), new PrintWriter(err, true), args);
        if (code != 0) {
            throw new AssertionError("sensor-sim exited " + code + ": " + err + out);
        }
        Matcher m = PUBLISHED.matcher(out.toString());
        if (!m.find()) {
            throw new AssertionError("no summary in: " + out);
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * {@code sensor-sim run}'s arguments: {@code sensors} sensors at {@code rate} readings/s in all
     * for {@code duration} under {@code prefix}, quietly; {@code more} are added as they are.
     */
    static String[] run(
            String broker, String prefix, int sensors, int rate, String duration, String... more) {
        List<String> args = new ArrayList<>();
        args.addAll(
                List.of(
                        "run",
                        "--broker",
                        broker,
                        "--topic-prefix",
                        prefix,
                        "--sensors",
                        Integer.toString(sensors),
                        "--rate",
                        Integer.toString(rate),
                        "--duration",
                        duration,
                        "-q"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    /** {@link #simulate} on another thread, for a test that breaks something meanwhile. */
    static CompletableFuture<Long> simulateInBackground(String... args) {
        return CompletableFuture.supplyAsync(() -> simulate(args));
    }

    /**
     * {@code edge-gateway} as its own JVM with {@code args}, its output appended to {@code log};
     * the caller destroys it.
     */
    static Process startProcess(Path log, String... args) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>();
        command.addAll(
                List.of(
                        javaBin,
                        "-Xmx256m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        EdgeGateway.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
    }

    /** Waits until {@code log} says {@code text}; fails with the log if the process ends first. */
    static void awaitLog(Process p, Path log, String text) {
        await().atMost(Duration.ofSeconds(60))
                .until(
                        () -> {
                            if (!p.isAlive()) {
                                throw new AssertionError(
                                        "gateway exited "
                                                + p.exitValue()
                                                + ": "
                                                + Files.readString(log));
                            }
                            return Files.readString(log).contains(text);
                        });
    }

    /** A new file in {@code dir} holding {@code password}, as a mounted secret does. */
    static Path passwordFile(Path dir, String password) throws IOException {
        Path file = Files.createTempFile(dir, "mqtt-password", "");
        Files.writeString(file, password + "\n");
        return file;
    }

    /** A Kafka record's last header of that name, as text; null when it has none. */
    static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** A DLQ record as "source-topic reason detail", from its headers. */
    static String dlqLine(ConsumerRecord<String, byte[]> r) {
        return header(r, io.plantwatch.model.Topics.HEADER_SOURCE_TOPIC)
                + " "
                + header(r, io.plantwatch.model.Topics.HEADER_REASON)
                + " "
                + header(r, io.plantwatch.model.Topics.HEADER_DETAIL);
    }

    /** Waits, at most {@code seconds}, until the gateway's {@code /metrics} pass {@code check}. */
    static void awaitMetrics(
            Gateway gateway,
            int seconds,
            java.util.function.Consumer<org.assertj.core.api.AbstractStringAssert<?>> check) {
        await().atMost(Duration.ofSeconds(seconds))
                .untilAsserted(
                        () ->
                                check.accept(
                                        org.assertj.core.api.Assertions.assertThat(
                                                get(gateway.httpPort(), "/metrics").body())));
    }

    /** Waits until the gateway's {@code /health} answers {@code status}. */
    static void awaitHealth(Gateway gateway, int status, int seconds) {
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(seconds))
                .until(() -> get(gateway.httpPort(), "/health").statusCode() == status);
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Per sensor: the sequence numbers that did not arrive between the first and the last, and
     * those that arrived out of order. Both empty means complete and in order.
     */
    static List<String> gapsAndDisorder(Map<String, List<SensorReading>> bySensor) {
        List<String> problems = new ArrayList<>();
        bySensor.forEach(
                (sensor, readings) -> {
                    long expected = readings.get(0).seq();
                    for (SensorReading r : readings) {
                        if (r.seq() != expected) {
                            problems.add(sensor + ": expected seq " + expected + " got " + r.seq());
                            if (problems.size() > 20) {
                                return;
                            }
                        }
                        expected = r.seq() + 1;
                    }
                });
        return problems;
    }

    /** Each sensor's readings without the repeats of a sequence number it already had. */
    static Map<String, List<SensorReading>> firstCopies(Map<String, List<SensorReading>> bySensor) {
        Map<String, List<SensorReading>> firsts = new LinkedHashMap<>();
        bySensor.forEach(
                (sensor, readings) -> {
                    Set<Long> seen = new HashSet<>();
                    firsts.put(sensor, readings.stream().filter(r -> seen.add(r.seq())).toList());
                });
        return firsts;
    }

    static long distinct(Map<String, List<SensorReading>> bySensor) {
        return bySensor.entrySet().stream()
                .mapToLong(
                        e -> e.getValue().stream().mapToLong(SensorReading::seq).distinct().count())
                .sum();
    }

    /** The bridge's log lines from its creation until closed, for what the gateway says. */
    static final class BridgeLog implements AutoCloseable {
        private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
        private final Logger logger = (Logger) LoggerFactory.getLogger(MqttKafkaBridge.class);

        BridgeLog() {
            lines.start();
            logger.addAppender(lines);
        }

        /** Whether a warning holds every one of {@code parts}. */
        boolean warned(String... parts) {
            List<ILoggingEvent> events;
            // AppenderBase appends under the appender's lock; the list is a plain ArrayList.
            synchronized (lines) {
                events = List.copyOf(lines.list);
            }
            return events.stream()
                    .filter(e -> e.getLevel() == Level.WARN)
                    .map(ILoggingEvent::getFormattedMessage)
                    .anyMatch(m -> Arrays.stream(parts).allMatch(m::contains));
        }

        @Override
        public void close() {
            logger.detachAppender(lines);
        }
    }
}
