package io.plantwatch.bench;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.MosquittoBroker;
import io.plantwatch.sim.SensorSim;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How fast {@code sensor-sim} publishes to HiveMQ CE embedded and to mosquitto, at QoS 0 and 1,
 * against a baseline measured in the same run: the bare HiveMQ client publishing one fixed payload
 * with the same in-flight window, so the ratio shows what the simulator itself costs. Then how
 * close {@code sensor-sim run} stays to an asked rate of 10,000 readings/s.
 *
 * <p>Prints numbers and asserts nothing. Arguments: {@code [seconds per measurement] [rounds] [rate
 * seconds]}, default {@code 10 3 20}.
 */
public final class SimulatorPublishBenchmark {
    private static final Pattern RATE = Pattern.compile("\\brate=([0-9.]+)");
    private static final int IN_FLIGHT = 1000;

    private SimulatorPublishBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int rateSeconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        List<String> rows = new ArrayList<>();
        try (EmbeddedMqttBroker hivemq = EmbeddedMqttBroker.builder().build().start();
                MosquittoBroker mosquitto = startMosquittoIfInstalled()) {
            List<String[]> brokers = new ArrayList<>();
            brokers.add(new String[] {"hivemq-ce-embedded", hivemq.host(), "" + hivemq.port()});
            if (mosquitto != null) {
                brokers.add(new String[] {"mosquitto", mosquitto.host(), "" + mosquitto.port()});
            } else {
                System.out.println("mosquitto not installed: measuring HiveMQ only");
            }
            for (String[] b : brokers) {
                for (int qos : new int[] {0, 1}) {
                    for (int round = 1; round <= rounds; round++) {
                        double raw = rawPublish(b[1], Integer.parseInt(b[2]), qos, seconds);
                        double sim =
                                simRate(
                                        "load",
                                        "--broker",
                                        "tcp://" + b[1] + ":" + b[2],
                                        "--qos",
                                        "" + qos,
                                        "--duration",
                                        seconds + "s",
                                        "--max-in-flight",
                                        "" + IN_FLIGHT,
                                        "-q");
                        String row =
                                String.format(
                                        Locale.ROOT,
                                        "%-20s qos=%d round=%d  sensor-sim load %,9.0f msg/s"
                                                + "  raw client %,9.0f msg/s  ratio %.2f",
                                        b[0],
                                        qos,
                                        round,
                                        sim,
                                        raw,
                                        sim / raw);
                        System.out.println(row);
                        rows.add(row);
                    }
                }
            }
            for (String[] b : brokers) {
                double asked = 10_000;
                double achieved =
                        simRate(
                                "run",
                                "--broker",
                                "tcp://" + b[1] + ":" + b[2],
                                "--sensors",
                                "100",
                                "--rate",
                                "10000",
                                "--duration",
                                rateSeconds + "s",
                                "--seed",
                                "1",
                                "-q");
                String row =
                        String.format(
                                Locale.ROOT,
                                "%-20s run --rate 10000 for %ds: achieved %,.1f readings/s,"
                                        + " error %+.2f%%",
                                b[0],
                                rateSeconds,
                                achieved,
                                (achieved / asked - 1) * 100);
                System.out.println(row);
                rows.add(row);
            }
        }
        System.out.println();
        System.out.println("== summary (" + Runtime.getRuntime().availableProcessors() + " cores)");
        rows.forEach(System.out::println);
        System.exit(0);
    }

    private static MosquittoBroker startMosquittoIfInstalled() {
        return MosquittoBroker.isInstalled() ? MosquittoBroker.builder().build().start() : null;
    }

    private static double simRate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                SensorSim.mainWithExitCode(
                        new PrintWriter(out, true), new PrintWriter(err, true), args);
        if (code != 0) {
            throw new IllegalStateException("sensor-sim exited " + code + ": " + err + out);
        }
        String[] lines = out.toString().strip().split("\n");
        Matcher m = RATE.matcher(lines[lines.length - 1]);
        if (!m.find()) {
            throw new IllegalStateException("no rate= in: " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    /** The bare client: one payload, the same in-flight window, no simulation. */
    private static double rawPublish(String host, int port, int qos, int seconds) throws Exception {
        Mqtt5AsyncClient client =
                Mqtt5Client.builder()
                        .identifier("raw-" + UUID.randomUUID())
                        .serverHost(host)
                        .serverPort(port)
                        .buildAsync();
        client.connect().join();
        byte[] payload =
                "{\"ts\":1764000000000,\"value\":21.5,\"unit\":\"degC\",\"seq\":1}"
                        .getBytes(StandardCharsets.UTF_8);
        MqttQos q = MqttQos.fromCode(qos);
        Semaphore window = new Semaphore(IN_FLIGHT);
        long start = System.nanoTime();
        long deadline = start + seconds * 1_000_000_000L;
        long sent = 0;
        while (System.nanoTime() < deadline) {
            window.acquire();
            CompletableFuture<?> ack =
                    client.publishWith()
                            .topic("plant/raw/area-1/line-1/machine-1/temp-" + (sent % 100))
                            .qos(q)
                            .payload(payload)
                            .send();
            ack.whenComplete((r, e) -> window.release());
            sent++;
        }
        window.acquire(IN_FLIGHT);
        double elapsed = (System.nanoTime() - start) / 1e9;
        client.disconnect().join();
        return sent / elapsed;
    }
}
