package io.plantwatch.bench;

import com.influxdb.client.InfluxDBClient;
import com.influxdb.client.InfluxDBClientFactory;
import com.influxdb.client.WriteApiBlocking;
import com.influxdb.client.domain.WritePrecision;
import io.plantwatch.infra.EmbeddedQuestDb;
import io.plantwatch.job.series.InfluxSettings;
import io.plantwatch.job.series.InfluxWriter;
import io.plantwatch.job.series.LineProtocol;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

/**
 * The job's InfluxDB writer against influxdb-client-java writing the same points directly in a loop
 * of blocking batches, into one QuestDB server in this JVM (InfluxDB's v2 write API), in one run:
 * rounds alternate so both see the same machine. Each side writes its own measurement name, so
 * neither overwrites the other's rows.
 *
 * <p>Prints numbers, asserts nothing. Arguments: {@code [points] [rounds] [batch size] [gzip]},
 * default {@code 400000 3 5000 false}.
 */
public final class InfluxWriterBenchmark {
    private InfluxWriterBenchmark() {}

    public static void main(String[] args) throws Exception {
        int points = args.length > 0 ? Integer.parseInt(args[0]) : 400_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 5_000;
        boolean gzip = args.length > 3 && Boolean.parseBoolean(args[3]);
        List<Double> direct = new ArrayList<>();
        List<Double> writer = new ArrayList<>();
        try (EmbeddedQuestDb db = new EmbeddedQuestDb().start()) {
            InfluxSettings settings =
                    new InfluxSettings(
                            db.url(),
                            "plant",
                            "plantwatch",
                            "",
                            batch,
                            gzip,
                            Duration.ofSeconds(5));
            for (int round = 0; round < rounds; round++) {
                List<String> a = lines(points, "bench_direct_" + round);
                List<String> b = lines(points, "bench_writer_" + round);
                direct.add(direct(settings, a));
                writer.add(throughWriter(settings, b));
                System.out.printf(
                        Locale.ROOT,
                        "round %d: direct %,.0f points/s, writer %,.0f points/s%n",
                        round + 1,
                        direct.get(round),
                        writer.get(round));
            }
        }
        double d = median(direct);
        double w = median(writer);
        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "== summary (%d cores, %,d points per side per round, batches of %,d, gzip %s,"
                        + " QuestDB in-process)%n",
                Runtime.getRuntime().availableProcessors(),
                points,
                batch,
                gzip);
        System.out.printf(
                Locale.ROOT,
                "median of %d rounds: direct %,.0f points/s, writer %,.0f points/s, writer/direct ="
                        + " %.2f%n",
                rounds,
                d,
                w,
                w / d);
        System.exit(0);
    }

    /** Readings of 1,000 sensors at 1 Hz as line protocol, under their own measurement name. */
    private static List<String> lines(int n, String measurement) {
        List<String> out = new ArrayList<>(n);
        long t0 = 1_795_564_800_000L;
        for (int i = 0; i < n; i++) {
            SensorId id =
                    new SensorId(
                            "bench",
                            "area-1",
                            "line-" + (i % 1000) / 100,
                            "m-" + (i % 1000) / 10,
                            "s-" + i % 10);
            String line =
                    LineProtocol.reading(
                            new SensorReading(
                                    id,
                                    t0 + (i / 1000) * 1000L,
                                    20 + (i % 97) * 0.1,
                                    "degC",
                                    Quality.GOOD,
                                    i / 1000));
            out.add(measurement + line.substring(LineProtocol.READING.length()));
        }
        return out;
    }

    private static double direct(InfluxSettings s, List<String> lines) {
        try (InfluxDBClient client =
                InfluxDBClientFactory.create(s.url(), new char[0], s.org(), s.bucket())) {
            if (s.gzip()) {
                client.enableGzip();
            }
            WriteApiBlocking write = client.getWriteApiBlocking();
            long start = System.nanoTime();
            for (int i = 0; i < lines.size(); i += s.batchSize()) {
                write.writeRecords(
                        WritePrecision.NS,
                        lines.subList(i, Math.min(lines.size(), i + s.batchSize())));
            }
            return lines.size() / ((System.nanoTime() - start) / 1e9);
        }
    }

    private static double throughWriter(InfluxSettings s, List<String> lines) throws Exception {
        InfluxWriter writer = new InfluxWriter(s, new UnregisteredMetricsGroup());
        try {
            long start = System.nanoTime();
            for (String line : lines) {
                writer.write(line, null);
            }
            writer.flush(true);
            return lines.size() / ((System.nanoTime() - start) / 1e9);
        } finally {
            writer.close();
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        return sorted.get(sorted.size() / 2);
    }
}
