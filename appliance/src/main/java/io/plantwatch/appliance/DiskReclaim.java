package io.plantwatch.appliance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Makes room on a disk running short by deleting the oldest history the appliance no longer needs,
 * so that a long run on a small disk keeps detecting instead of stopping: Kafka's retention and the
 * series files' days count time, not bytes, and at 1,000 readings/s they filled a 78 GB disk in
 * about 3.4 days.
 *
 * <p>What goes, in this order, and nothing else:
 *
 * <ol>
 *   <li>Segments of the embedded Kafka's readings that the anomaly job has read and checkpointed
 *       (below its group's committed offset), oldest first. The job never reads them again; their
 *       values are in the series store too.
 *   <li>Then series files of days before today, oldest first: the history itself, which a full disk
 *       would stop recording anyway.
 * </ol>
 *
 * <p>A segment is given up through Kafka ({@code deleteRecords}), never by deleting its file under
 * the broker; Kafka removes the files at its next retention check. Until then their bytes are
 * {@link #pending()}, so a second check does not give up more for the same shortfall.
 */
final class DiskReclaim implements AutoCloseable {
    private static final Pattern SEGMENT = Pattern.compile("(\\d{20})\\.log");
    private static final Pattern PARTITION_DIR = Pattern.compile("(.+)-(\\d+)");

    /** What one reclaim gave up: bytes, and for people what they were. */
    record Reclaimed(long bytes, List<String> what) {
        static final Reclaimed NOTHING = new Reclaimed(0, List.of());
    }

    private final Path kafkaDir;
    private final Admin admin;
    private final String readingsTopic;
    private final String jobGroup;
    private final LineProtocolFiles series;

    /**
     * @param kafkaDir the embedded Kafka's data folder; null with a plant's Kafka, whose disk is
     *     not this appliance's to manage
     * @param kafkaLogin the admin client's properties (bootstrap and login); null without kafkaDir
     * @param series the series files; null when the series go to InfluxDB
     */
    DiskReclaim(
            Path kafkaDir,
            Properties kafkaLogin,
            String readingsTopic,
            String jobGroup,
            LineProtocolFiles series) {
        this.kafkaDir = kafkaDir;
        this.admin = kafkaDir == null ? null : Admin.create(kafkaLogin);
        this.readingsTopic = readingsTopic;
        this.jobGroup = jobGroup;
        this.series = series;
    }

    /** A closed segment of one partition: the offsets below {@code end} and its files' bytes. */
    private record Segment(TopicPartition partition, long end, long bytes, long modified) {}

    /**
     * Gives up the oldest history until {@code wanted} bytes are freed or on their way, or nothing
     * more may go.
     */
    Reclaimed reclaim(long wanted) throws Exception {
        List<String> what = new ArrayList<>();
        long freed = 0;
        if (admin != null) {
            Map<TopicPartition, Long> upTo = new HashMap<>();
            for (Segment s : readSegments()) {
                if (freed >= wanted) {
                    break;
                }
                upTo.merge(s.partition(), s.end(), Math::max);
                freed += s.bytes();
            }
            if (!upTo.isEmpty()) {
                Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
                upTo.forEach((p, end) -> delete.put(p, RecordsToDelete.beforeOffset(end)));
                admin.deleteRecords(delete).all().get(30, TimeUnit.SECONDS);
                what.add(
                        "Kafka "
                                + readingsTopic
                                + " "
                                + DiskWatch.size(freed)
                                + " the job had read ("
                                + upTo.size()
                                + (upTo.size() == 1 ? " partition)" : " partitions)"));
            }
        }
        while (series != null && freed < wanted) {
            LineProtocolFiles.Deleted day = series.deleteOldestDay();
            if (day == null) {
                break;
            }
            freed += day.bytes();
            what.add("series " + day.file().getFileName() + " " + DiskWatch.size(day.bytes()));
        }
        return freed == 0 ? Reclaimed.NOTHING : new Reclaimed(freed, what);
    }

    /**
     * Bytes Kafka was told to give up and has not deleted yet: segments wholly below their
     * partition's start, and files it has marked deleted.
     */
    long pending() throws Exception {
        if (admin == null) {
            return 0;
        }
        Map<TopicPartition, Long> starts = logStarts();
        long bytes = 0;
        for (Map.Entry<TopicPartition, List<Segment>> p : closedSegments().entrySet()) {
            long start = starts.getOrDefault(p.getKey(), 0L);
            for (Segment s : p.getValue()) {
                if (s.end() <= start) {
                    bytes += s.bytes();
                }
            }
        }
        return bytes + markedDeleted();
    }

    /** The segments that may go and have not yet, oldest first. */
    private List<Segment> readSegments() throws Exception {
        Map<TopicPartition, List<Segment>> closed = closedSegments();
        if (closed.isEmpty()) {
            return List.of();
        }
        Map<TopicPartition, OffsetAndMetadata> read =
                admin.listConsumerGroupOffsets(jobGroup)
                        .partitionsToOffsetAndMetadata()
                        .get(30, TimeUnit.SECONDS);
        Map<TopicPartition, Long> starts = logStarts();
        List<Segment> out = new ArrayList<>();
        closed.forEach(
                (p, segments) -> {
                    OffsetAndMetadata committed = read.get(p);
                    long start = starts.getOrDefault(p, 0L);
                    for (Segment s : segments) {
                        if (committed != null && s.end() <= committed.offset() && s.end() > start) {
                            out.add(s);
                        }
                    }
                });
        // Within a partition, older segments were last written earlier: the order keeps each
        // partition's deletions a prefix of its log.
        out.sort(Comparator.comparingLong(Segment::modified).thenComparingLong(Segment::end));
        return out;
    }

    private Map<TopicPartition, Long> logStarts() throws Exception {
        Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
        for (TopicPartition p : closedSegments().keySet()) {
            ask.put(p, OffsetSpec.earliest());
        }
        if (ask.isEmpty()) {
            return Map.of();
        }
        Map<TopicPartition, Long> starts = new HashMap<>();
        for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e :
                admin.listOffsets(ask).all().get(30, TimeUnit.SECONDS).entrySet()) {
            starts.put(e.getKey(), e.getValue().offset());
        }
        return starts;
    }

    /**
     * Every closed segment of the readings topic's partitions in the Kafka folder, by partition, in
     * offset order. The active (last) segment is never closed: Kafka cannot give it up.
     */
    private Map<TopicPartition, List<Segment>> closedSegments() throws IOException {
        Map<TopicPartition, List<Segment>> out = new HashMap<>();
        for (Path dir : partitionDirs()) {
            Matcher m = PARTITION_DIR.matcher(dir.getFileName().toString());
            if (!m.matches() || !m.group(1).equals(readingsTopic)) {
                continue;
            }
            TopicPartition p = new TopicPartition(m.group(1), Integer.parseInt(m.group(2)));
            List<Long> bases = new ArrayList<>();
            try (Stream<Path> files = Files.list(dir)) {
                files.map(f -> SEGMENT.matcher(f.getFileName().toString()))
                        .filter(Matcher::matches)
                        .forEach(s -> bases.add(Long.parseLong(s.group(1))));
            }
            bases.sort(null);
            List<Segment> segments = new ArrayList<>();
            for (int i = 0; i + 1 < bases.size(); i++) {
                String name = String.format("%020d", bases.get(i));
                Path log = dir.resolve(name + ".log");
                try {
                    segments.add(
                            new Segment(
                                    p,
                                    bases.get(i + 1),
                                    filesOf(dir, name),
                                    Files.getLastModifiedTime(log).toMillis()));
                } catch (IOException e) {
                    // Deleted by Kafka while listed: nothing left to give up.
                }
            }
            out.put(p, segments);
        }
        return out;
    }

    /** A segment's log and index files. */
    private static long filesOf(Path dir, String name) throws IOException {
        long bytes = 0;
        for (String suffix : new String[] {".log", ".index", ".timeindex", ".txnindex"}) {
            Path f = dir.resolve(name + suffix);
            if (Files.exists(f)) {
                bytes += Files.size(f);
            }
        }
        return bytes;
    }

    /** Files Kafka renamed to {@code .deleted} and removes a little later. */
    private long markedDeleted() throws IOException {
        long bytes = 0;
        for (Path dir : partitionDirs()) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".deleted")).toList()) {
                    try {
                        bytes += Files.size(f);
                    } catch (IOException e) {
                        // removed meanwhile
                    }
                }
            }
        }
        return bytes;
    }

    /** Partition folders under each of the embedded Kafka's node folders. */
    private List<Path> partitionDirs() throws IOException {
        if (!Files.isDirectory(kafkaDir)) {
            return List.of();
        }
        try (Stream<Path> found = Files.walk(kafkaDir, 2)) {
            return found.filter(Files::isDirectory)
                    .filter(d -> d.getFileName().toString().startsWith(readingsTopic + "-"))
                    .toList();
        }
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.close();
        }
    }
}
