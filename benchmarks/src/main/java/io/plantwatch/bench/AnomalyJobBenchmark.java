package io.plantwatch.bench;

import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.job.AnomalyJob;
import io.plantwatch.job.AnomalyPipeline;
import io.plantwatch.job.JobSettings;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.SimulationSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The anomaly job against the raw speed of reading Kafka, in one run on a local MiniCluster
 * (parallelism 2): (a) a baseline job that only reads {@code sensor-readings}, deserializes and
 * discards; (c) the shuffled floor, (a) plus a {@code keyBy} by sensor to a keyed task that keeps
 * one value per sensor, what every reading cost the job before it detected in place; (b) the full
 * job (shipped rules and settings, every detector in place, alerts to Kafka), for each fleet size;
 * then the detection latency from a reading's publish to its alert in Kafka at 10,000 readings/s
 * with 500 ms out-of-orderness.
 *
 * <p>Throughput is the rate of the Kafka source's emitted records (Flink's numRecordsOut, read in
 * this JVM by {@link RecordCounters}) between the first records and the last, so start-up is not
 * counted; every job runs with the shipped settings, checkpoints every 10 s included. Checkpoint
 * size: the files of the first checkpoint of (b) completed after every reading was read, per
 * sensor.
 *
 * <p>Per fleet size, (a), (c) and (b) run in turn {@code -Dbench.rounds} times (default 3) after
 * {@code -Dbench.warmups} rounds (default 2) that are printed but not counted, and the medians are
 * compared, with each one's range. Every job runs in this JVM, so the first rounds also pay for
 * compiling the code they run (the first full job ran at about 60% of the later ones, the JIT
 * compiler busy for about a minute of jobs): a job in a plant runs for days. All of them run on one
 * MiniCluster, started once. On a shared machine one run of (a) varied by half, hence medians. Each
 * job also prints the CPU it took per reading (every thread of this JVM, the embedded Kafka
 * broker's and the JIT compiler's included) and how busy the cores were.
 *
 * <p>Prints numbers, asserts nothing. Arguments: {@code [readings per measurement] [fleet sizes]
 * [latency seconds]}, default {@code 10000000 10000,100000 40}. With a million readings (a) ran for
 * under a second, too short to time against the JVM's other work. With three million, each of
 * 10,000 sensors sent 300 readings, so its first contact (new state, rule matching, its first
 * readings waiting for the watermark, four timers) weighed on (b), and the JIT compiler still took
 * a quarter of the CPU during the fourth round of (b).
 */
public final class AnomalyJobBenchmark {
    private static final int PARTITIONS = 4;

    /**
     * Job settings to compare, e.g. {@code
     * -Dbench.job=state.backend=hashmap;checkpoint.interval=10s}.
     */
    private static final Map<String, String> JOB_OVERRIDES = overrides("bench.job");

    /**
     * Flink configuration to compare, set after the job's own, e.g. {@code
     * -Dbench.flink=pipeline.cep.sharedbuffer.cache.entry-slots=0}.
     */
    private static final Map<String, String> FLINK_OVERRIDES = overrides("bench.flink");

    private static Map<String, String> overrides(String property) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (String kv : System.getProperty(property, "").split(";")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        return m;
    }

    /** Alternating (a)/(b) measurements per fleet size: {@code -Dbench.rounds=3}. */
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);

    /**
     * Rounds run first and not counted: {@code -Dbench.warmups=2}. With one, (b) still ran at
     * 0.55-0.75 of its later rounds in the first counted round while the JIT compiler took a
     * quarter of the CPU; a job in a plant runs for days.
     */
    private static final int WARMUPS = Integer.getInteger("bench.warmups", 2);

    /** Which of the jobs run: {@code -Dbench.jobs=b} measures (b) alone. */
    private static final List<String> JOBS =
            List.of(System.getProperty("bench.jobs", "a,c,b").split(","));

    private AnomalyJobBenchmark() {}

    private static double median(List<Double> xs) {
        List<Double> sorted = new ArrayList<>(xs);
        sorted.sort(Double::compare);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    public static void main(String[] args) {
        try {
            run(args);
            System.exit(0);
        } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        int total = args.length > 0 ? Integer.parseInt(args[0]) : 10_000_000;
        List<Integer> fleets =
                Stream.of((args.length > 1 ? args[1] : "10000,100000").split(","))
                        .map(Integer::parseInt)
                        .toList();
        int latencySeconds = args.length > 2 ? Integer.parseInt(args[2]) : 40;
        // -Dbench.rules=FILE: other rules for (b), e.g. fewer detectors to see what each costs.
        String rulesFile = System.getProperty("bench.rules");
        RuleBook rules = AnomalyJob.loadRules(rulesFile == null ? null : Path.of(rulesFile));
        // -Dbench.variants=FILE,FILE: (b) again with each of these rules, in the same rounds, to
        // see what a detector costs against the full job measured beside it.
        List<String> variantFiles =
                Stream.of(System.getProperty("bench.variants", "").split(","))
                        .filter(f -> !f.isBlank())
                        .toList();
        List<RuleBook> variantRules = new ArrayList<>();
        for (String f : variantFiles) {
            variantRules.add(AnomalyJob.loadRules(Path.of(f)));
        }
        List<String> rows = new ArrayList<>();
        Path root = Files.createTempDirectory("plantwatch-job-bench");
        try (EmbeddedKafka kafka =
                        EmbeddedKafka.builder().defaultPartitions(PARTITIONS).build().start();
                Cluster cluster = Cluster.start()) {
            for (int sensors : fleets) {
                String topic = "readings-" + sensors;
                kafka.createTopic(topic, PARTITIONS);
                long produced = produceFleet(kafka, topic, sensors, total);
                // (a) and (b) alternate, so a slow minute of the shared machine hits both alike;
                // the medians are compared.
                List<Double> as = new ArrayList<>();
                List<Double> cs = new ArrayList<>();
                List<Double> bs = new ArrayList<>();
                List<List<Double>> vs = new ArrayList<>();
                variantRules.forEach(v -> vs.add(new ArrayList<>()));
                long checkpointBytes = 0;
                for (int run = 0; run < WARMUPS + ROUNDS; run++) {
                    int round = run - WARMUPS + 1;
                    String suffix = sensors + "-" + run;
                    Measure measure =
                            kind ->
                                    JOBS.contains(kind.letter)
                                            ? throughput(
                                                    cluster,
                                                    kafka,
                                                    root,
                                                    topic,
                                                    kind.letter + "-" + suffix,
                                                    kind,
                                                    rules,
                                                    produced)
                                            : new Result(Double.NaN, 0);
                    double aRate = measure.of(Job.READ).rate;
                    double cRate = measure.of(Job.KEYED).rate;
                    Result b = measure.of(Job.FULL);
                    for (int v = 0; v < variantRules.size(); v++) {
                        double rate =
                                throughput(
                                                cluster,
                                                kafka,
                                                root,
                                                topic,
                                                "v" + (v + 1) + "-" + suffix,
                                                Job.FULL,
                                                variantRules.get(v),
                                                produced)
                                        .rate;
                        System.out.printf(
                                Locale.ROOT,
                                "  (b) with %s: %,.0f readings/s%n",
                                variantFiles.get(v),
                                rate);
                        if (round > 0) {
                            vs.get(v).add(rate);
                        }
                    }
                    System.out.printf(
                            Locale.ROOT,
                            "%s: (a) %,.0f readings/s  (c) %,.0f readings/s  (b) %,.0f readings/s%n",
                            round <= 0
                                    ? "warm-up " + (run + 1) + " (not counted)"
                                    : "round " + round,
                            aRate,
                            cRate,
                            b.rate);
                    if (round > 0) {
                        as.add(aRate);
                        cs.add(cRate);
                        bs.add(b.rate);
                        checkpointBytes = b.checkpointBytes;
                    }
                }
                double a = median(as);
                double c = median(cs);
                double b = median(bs);
                String row =
                        String.format(
                                Locale.ROOT,
                                "%,d sensors, %,d readings, median of %d: (a) read+decode %,.0f"
                                        + " readings/s [%,.0f-%,.0f]  (c) shuffled floor %,.0f"
                                        + " readings/s [%,.0f-%,.0f], c/a = %.2f  (b) full job"
                                        + " %,.0f readings/s [%,.0f-%,.0f]  b/a = %.2f"
                                        + "  checkpoint %,d B (%.0f B per sensor)",
                                sensors,
                                produced,
                                ROUNDS,
                                a,
                                java.util.Collections.min(as),
                                java.util.Collections.max(as),
                                c,
                                java.util.Collections.min(cs),
                                java.util.Collections.max(cs),
                                c / a,
                                b,
                                java.util.Collections.min(bs),
                                java.util.Collections.max(bs),
                                b / a,
                                checkpointBytes,
                                checkpointBytes / (double) sensors);
                System.out.println(row);
                rows.add(row);
                for (int v = 0; v < vs.size(); v++) {
                    String variant =
                            String.format(
                                    Locale.ROOT,
                                    "  (b) with %s: %,.0f readings/s [%,.0f-%,.0f], /a = %.2f",
                                    variantFiles.get(v),
                                    median(vs.get(v)),
                                    java.util.Collections.min(vs.get(v)),
                                    java.util.Collections.max(vs.get(v)),
                                    median(vs.get(v)) / a);
                    System.out.println(variant);
                    rows.add(variant);
                }
            }
            String latency = latency(cluster, kafka, root, rules, latencySeconds);
            System.out.println(latency);
            rows.add(latency);
        } finally {
            deleteQuietly(root);
        }
        System.out.println();
        System.out.println(
                "== summary ("
                        + Runtime.getRuntime().availableProcessors()
                        + " cores, job settings "
                        + (JOB_OVERRIDES.isEmpty() ? "as shipped" : JOB_OVERRIDES)
                        + (FLINK_OVERRIDES.isEmpty() ? "" : ", Flink " + FLINK_OVERRIDES)
                        + ")");
        rows.forEach(System.out::println);
    }

    record Result(double rate, long checkpointBytes) {}

    /** One job measured, or NaN when {@code -Dbench.jobs} leaves it out. */
    @FunctionalInterface
    interface Measure {
        Result of(Job kind) throws Exception;
    }

    /**
     * One MiniCluster for every job of the run, as a plant runs one long-lived cluster. Each new
     * MiniCluster loads Flink's RPC system (Pekko, Scala) in a class loader of its own, and the JIT
     * compiled those classes again while the next job was being measured: 29 % of the CPU during
     * the third round of (b) went to the compiler (async-profiler).
     */
    static final class Cluster implements AutoCloseable {
        private final MiniCluster mini;
        private final String host;
        private final int port;

        private Cluster(MiniCluster mini, URI rest) {
            this.mini = mini;
            this.host = rest.getHost();
            this.port = rest.getPort();
        }

        static Cluster start() throws Exception {
            Configuration conf = new Configuration();
            conf.setString("taskmanager.memory.managed.size", "256m");
            conf.setString("rest.bind-address", "127.0.0.1");
            conf.setString("rest.address", "127.0.0.1");
            conf.setString("rest.bind-port", "0");
            conf.setString(
                    "metrics.reporter.records.factory.class",
                    RecordCounters.Factory.class.getName());
            FLINK_OVERRIDES.forEach(conf::setString);
            MiniCluster mini =
                    new MiniCluster(
                            new MiniClusterConfiguration.Builder()
                                    .setConfiguration(conf)
                                    .setNumTaskManagers(1)
                                    .setNumSlotsPerTaskManager(2)
                                    .build());
            mini.start();
            return new Cluster(mini, mini.getRestAddress().get());
        }

        /** An environment whose jobs run on this cluster, with {@code job} as their settings. */
        StreamExecutionEnvironment environment(Configuration job) {
            return StreamExecutionEnvironment.createRemoteEnvironment(host, port, job);
        }

        @Override
        public void close() throws Exception {
            mini.close();
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** (c)'s keyed task: counts each sensor's readings in its keyed state, emits nothing. */
    static final class ReadingsPerSensor extends KeyedProcessFunction<String, SensorReading, Long> {
        private static final long serialVersionUID = 1L;
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(SensorReading r, Context ctx, Collector<Long> out)
                throws Exception {
            Long n = count.value();
            count.update(n == null ? 1 : n + 1);
        }
    }

    /**
     * The simulator's generated fleet at 1 Hz per sensor, with random faults, as fast as it goes.
     */
    private static long produceFleet(EmbeddedKafka kafka, String topic, int sensors, int total) {
        double seconds = Math.ceil(total / (double) sensors);
        long start = System.currentTimeMillis() - (long) (seconds * 1000) - 60_000;
        FleetSimulation sim =
                new FleetSimulation(
                        Fleet.generated(sensors),
                        new SimulationSettings(
                                sensors,
                                start,
                                Duration.ofMillis((long) (seconds * 1000)),
                                Double.POSITIVE_INFINITY,
                                7,
                                List.of(),
                                Set.of(
                                        AnomalyKind.SPIKE,
                                        AnomalyKind.OUT_OF_RANGE,
                                        AnomalyKind.FLATLINE,
                                        AnomalyKind.DRIFT,
                                        AnomalyKind.DUPLICATE),
                                2,
                                false,
                                new TopicTemplate(
                                        TopicTemplate.DEFAULT_PREFIX,
                                        TopicTemplate.DEFAULT_TEMPLATE)),
                        label -> {});
        AvroReadingCodec codec = new AvroReadingCodec();
        long n = 0;
        try (KafkaProducer<byte[], byte[]> p = producer(kafka)) {
            while (sim.hasNext()) {
                Emission e = sim.next();
                if (e.type() == Emission.Type.MALFORMED) {
                    continue;
                }
                p.send(new ProducerRecord<>(topic, key(e.reading()), codec.encode(e.reading())));
                n++;
            }
            sim.finish();
            p.flush();
        }
        return n;
    }

    /** What a measured job does with each reading. */
    enum Job {
        /** (a) Read from Kafka, decode, discard. */
        READ("a"),
        /**
         * (c) As (a), then {@code keyBy} sensor to a keyed task that keeps one value per sensor:
         * the shuffle, the key, a state lookup and update. The job paid this for every reading
         * until it detected in place ({@code InPlaceKeys}); kept to show what that saves.
         */
        KEYED("c"),
        /** (b) The whole job. */
        FULL("b");

        /** How the output and {@code -Dbench.jobs} name it. */
        final String letter;

        Job(String letter) {
            this.letter = letter;
        }
    }

    private static Result throughput(
            Cluster cluster,
            EmbeddedKafka kafka,
            Path root,
            String topic,
            String name,
            Job kind,
            RuleBook rules,
            long total)
            throws Exception {
        Map<String, String> flags = new HashMap<>();
        flags.put("kafka.bootstrap", kafka.bootstrapServers());
        flags.put("kafka.group-id", name);
        flags.put("kafka.readings-topic", topic);
        flags.put("kafka.alerts-topic", name + "-alerts");
        flags.put("kafka.late-topic", name + "-late");
        flags.put("kafka.completeness-topic", name + "-completeness");
        flags.put("kafka.starting-offsets", "earliest");
        Path checkpoints = root.resolve(name);
        flags.put("checkpoint.dir", checkpoints.toUri().toString());
        flags.putAll(JOB_OVERRIDES);
        JobSettings s = JobSettings.load(null, Map.of(), flags);
        Configuration conf = AnomalyJob.flinkConfiguration(s);
        conf.setString(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION");
        FLINK_OVERRIDES.forEach(conf::setString);
        StreamExecutionEnvironment env = cluster.environment(conf);
        env.setParallelism(2);
        if (kind == Job.READ) {
            AnomalyJob.source(env, s).sinkTo(new DiscardingSink<>()).name("discard");
        } else if (kind == Job.KEYED) {
            AnomalyJob.source(env, s)
                    .keyBy(new AnomalyPipeline.ReadingKey(), Types.STRING)
                    .process(new ReadingsPerSensor())
                    .uid("readings-per-sensor")
                    .sinkTo(new DiscardingSink<>())
                    .name("discard");
        } else {
            kafka.createTopics(
                    PARTITIONS, name + "-alerts", name + "-late", name + "-completeness");
            AnomalyJob.wire(env, s, rules);
        }
        JobClient job = env.executeAsync(name);
        // The rate between the first records read and the last: start-up is not counted. The
        // sources' counters are read in this JVM, at no cost to the job measured.
        long firstAt = 0;
        long firstCpu = 0;
        long lastCpu;
        long firstRead = 0;
        long lastAt;
        // When the job had read a quarter of the readings, and three quarters, with the CPU then.
        long[] middle = new long[4];
        while (true) {
            long read = RecordCounters.sourceRecordsOut(name);
            long now = System.nanoTime();
            if (read > 0 && firstAt == 0) {
                firstAt = now;
                firstCpu = processCpuNanos();
                firstRead = read;
            }
            if (middle[0] == 0 && read >= total / 4) {
                middle[0] = now;
                middle[1] = read;
            }
            if (middle[2] == 0 && read >= total * 3 / 4) {
                middle[2] = now;
                middle[3] = read;
            }
            if (read >= total) {
                lastAt = now;
                lastCpu = processCpuNanos();
                break;
            }
            Thread.sleep(10);
        }
        long checkpointBytes = 0;
        if (kind == Job.FULL) {
            // The size once a checkpoint completed after the last reading.
            int before = checkpointCount(checkpoints);
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (checkpointCount(checkpoints) <= before && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            checkpointBytes = lastCheckpointBytes(checkpoints);
            long signals = RecordCounters.recordsIn(name, "Alert lifecycle");
            System.out.printf(
                    Locale.ROOT,
                    "  (b) sent %,d signals to the alert lifecycle, %.4f per reading%n",
                    signals,
                    signals / (double) total);
        }
        job.cancel().get();
        double rate = (total - firstRead) / ((lastAt - firstAt) / 1e9);
        // Whether the job was bound by CPU, and how much of it each reading took (every thread of
        // this JVM: Kafka's broker and the JIT compiler too).
        System.out.printf(
                Locale.ROOT,
                "  %s: %.2f µs of CPU per reading, cores %.0f %% busy; middle half %,.0f"
                        + " readings/s%n",
                name,
                (lastCpu - firstCpu) / 1e3 / (total - firstRead),
                100.0
                        * (lastCpu - firstCpu)
                        / (lastAt - firstAt)
                        / Runtime.getRuntime().availableProcessors(),
                (middle[3] - middle[1]) / ((middle[2] - middle[0]) / 1e9));
        return new Result(rate, checkpointBytes);
    }

    private static int checkpointCount(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> jobs = Files.walk(dir, 2)) {
            return (int)
                    jobs.filter(p -> p.getFileName().toString().startsWith("chk-"))
                            .filter(p -> Files.exists(p.resolve("_metadata")))
                            .mapToLong(AnomalyJobBenchmark::number)
                            .max()
                            .orElse(0);
        }
    }

    /** The newest completed checkpoint's own files plus the shared (incremental) files. */
    private static long lastCheckpointBytes(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> jobs = Files.list(dir)) {
            Path jobDir = jobs.filter(Files::isDirectory).findFirst().orElse(null);
            if (jobDir == null) {
                return 0;
            }
            Path latest;
            try (Stream<Path> chks = Files.list(jobDir)) {
                latest =
                        chks.filter(p -> p.getFileName().toString().startsWith("chk-"))
                                .filter(p -> Files.exists(p.resolve("_metadata")))
                                .max((x, y) -> Long.compare(number(x), number(y)))
                                .orElse(null);
            }
            return (latest == null ? 0 : size(latest)) + size(jobDir.resolve("shared"));
        }
    }

    private static long number(Path chk) {
        return Long.parseLong(chk.getFileName().toString().substring(4));
    }

    /** Bytes under {@code p}; files Flink deletes meanwhile are skipped. */
    private static long size(Path p) throws IOException {
        if (!Files.exists(p)) {
            return 0;
        }
        long[] bytes = {0};
        Files.walkFileTree(
                p,
                new java.nio.file.SimpleFileVisitor<>() {
                    @Override
                    public java.nio.file.FileVisitResult visitFile(
                            Path file, java.nio.file.attribute.BasicFileAttributes attrs) {
                        bytes[0] += attrs.size();
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) {
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }
                });
        return bytes[0];
    }

    /**
     * 10,000 temperature sensors at 1 Hz, published in real time; every 100 ms one sensor spikes
     * for two readings (the shipped spike rule asks for one confirming reading). Latency: from the
     * publish of the confirming reading to the OPEN alert read back from Kafka.
     */
    private static String latency(
            Cluster cluster, EmbeddedKafka kafka, Path root, RuleBook rules, int seconds)
            throws Exception {
        String name = "latency";
        kafka.createTopics(
                PARTITIONS,
                name + "-readings",
                name + "-alerts",
                name + "-late",
                name + "-completeness");
        Map<String, String> flags = new HashMap<>();
        flags.put("kafka.bootstrap", kafka.bootstrapServers());
        flags.put("kafka.group-id", name);
        flags.put("kafka.readings-topic", name + "-readings");
        flags.put("kafka.alerts-topic", name + "-alerts");
        flags.put("kafka.late-topic", name + "-late");
        flags.put("kafka.completeness-topic", name + "-completeness");
        flags.put("watermark.out-of-orderness", "500ms");
        flags.put("checkpoint.dir", root.resolve(name).toUri().toString());
        flags.putAll(JOB_OVERRIDES);
        JobSettings s = JobSettings.load(null, Map.of(), flags);
        Configuration conf = AnomalyJob.flinkConfiguration(s);
        FLINK_OVERRIDES.forEach(conf::setString);
        StreamExecutionEnvironment env = cluster.environment(conf);
        env.setParallelism(2);
        AnomalyJob.wire(env, s, rules);
        JobClient job = env.executeAsync(name);

        int sensors = 10_000;
        SensorId[] ids = new SensorId[sensors];
        for (int i = 0; i < sensors; i++) {
            ids[i] =
                    new SensorId(
                            "bench",
                            "area-1",
                            "line-" + (i / 500),
                            "machine-" + (i / 10),
                            "temp-" + (i % 10));
        }
        Map<String, Long> confirmedAt = new ConcurrentHashMap<>();
        List<Long> latencies = new ArrayList<>();
        Thread reader =
                new Thread(
                        () -> readAlerts(kafka, name + "-alerts", confirmedAt, latencies),
                        "alert-reader");
        reader.setDaemon(true);
        reader.start();

        AvroReadingCodec codec = new AvroReadingCodec();
        java.util.SplittableRandom random = new java.util.SplittableRandom(11);
        long[] seq = new long[sensors];
        int[] spikeLeft = new int[sensors];
        long startNanos = System.nanoTime();
        long sent = 0;
        try (KafkaProducer<byte[], byte[]> p = producer(kafka)) {
            for (long tick = 0; tick < seconds * 10L; tick++) {
                // 1,000 readings per 100 ms: every sensor once a second.
                long due = startNanos + tick * 100_000_000L;
                for (long wait; (wait = due - System.nanoTime()) > 0; ) {
                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                }
                // Spike a sensor every 100 ms, after the first 5 s of warm-up.
                if (tick > 50) {
                    spikeLeft[(int) (tick * 7919 % sensors)] = 2;
                }
                for (int j = 0; j < 1000; j++) {
                    int i = (int) ((tick % 10) * 1000 + j);
                    double v = 65 + random.nextGaussian() * 0.4;
                    boolean confirming = false;
                    if (spikeLeft[i] > 0) {
                        v += 30;
                        confirming = spikeLeft[i] == 1;
                        spikeLeft[i]--;
                    }
                    long now = System.currentTimeMillis();
                    SensorReading r =
                            new SensorReading(ids[i], now, v, "degC", Quality.GOOD, seq[i]++);
                    if (confirming) {
                        confirmedAt.put(r.key(), now);
                    }
                    p.send(new ProducerRecord<>(name + "-readings", key(r), codec.encode(r)));
                    sent++;
                }
            }
            p.flush();
        }
        double rate = sent / ((System.nanoTime() - startNanos) / 1e9);
        // Let the last alerts arrive: the watermark needs the next second's readings to pass them.
        long deadline = System.currentTimeMillis() + 5_000;
        while (System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        job.cancel().get();
        List<Long> sorted;
        synchronized (latencies) {
            sorted = new ArrayList<>(latencies);
        }
        sorted.sort(Long::compare);
        if (sorted.isEmpty()) {
            return "latency: no alert arrived";
        }
        return String.format(
                Locale.ROOT,
                "detection latency at %,.0f readings/s (10,000 sensors, out-of-orderness 500 ms,"
                        + " %d spikes alerted): publish -> alert in Kafka p50 %d ms, p99 %d ms, max %d ms",
                rate,
                sorted.size(),
                sorted.get(sorted.size() / 2),
                sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(sorted.size() * 0.99) - 1)),
                sorted.get(sorted.size() - 1));
    }

    private static void readAlerts(
            EmbeddedKafka kafka,
            String topic,
            Map<String, Long> confirmedAt,
            List<Long> latencies) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("group.id", "latency-reader");
        p.put("auto.offset.reset", "earliest");
        p.put("fetch.max.wait.ms", "10");
        AvroAlertCodec codec = new AvroAlertCodec();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            while (!Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    long received = System.currentTimeMillis();
                    Alert a = codec.decode(r.value()).value();
                    if (a.kind() == AlertKind.SPIKE && a.state() == AlertState.OPEN) {
                        Long at = confirmedAt.remove(a.sensorId().id());
                        if (at != null) {
                            synchronized (latencies) {
                                latencies.add(received - at);
                            }
                        }
                    }
                }
            }
        } catch (org.apache.kafka.common.errors.InterruptException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("acks", "all");
        p.put("linger.ms", "5");
        p.put("batch.size", "131072");
        p.put("compression.type", "lz4");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static byte[] key(SensorReading r) {
        return r.key().getBytes(StandardCharsets.UTF_8);
    }

    private static void deleteQuietly(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // A temp directory; the OS cleans it up eventually.
        }
    }
}
