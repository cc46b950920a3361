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
 *   <li>Segments of the embedded Kafka's readings that the anomaly job has read and checkpointed,
 *       oldest first: below where its group's committed offset stood {@code keepBehind} ago. The
 *       offset Flink commits is its newest checkpoint's; a start whose newest checkpoint is torn
 *       restores an older one of those it keeps, and reads again from there.
 *   <li>Then segments of the topics no part of the appliance reads (the rejected and late
 *       readings), oldest first: kept for people to look into, and a device flooding malformed
 *       payloads must not stop detection for the whole plant.
 *   <li>Then series files of hours before the one being written, oldest first: the history itself,
 *       which a full disk would stop recording anyway.
 * </ol>
 *
 * <p>A segment is given up through Kafka ({@code deleteRecords}), never by deleting its file under
 * the broker; Kafka removes the files at its next retention check. Until then their bytes are
 * {@link #pending()}, so a second check does not give up more for the same shortfall.
 */
final class DiskReclaim implements AutoCloseable {
    private static final Pattern SEGMENT = Pattern.compile("(\\d{20})\\.log");
    private static final Pattern PARTITION_DIR = Pattern.compile("(.+)-(\\d+)");

    /**
     * What one reclaim gave up: bytes, and for people what they were ("Kafka sensor-readings the
     * job had read", "series plantwatch-2026-12-05T13.lp.gz") with the bytes of each, in the order
     * given.
     */
    record Reclaimed(long bytes, Map<String, Long> what) {
        static final Reclaimed NOTHING = new Reclaimed(0, Map.of());
    }

    private final Path kafkaDir;
    private final Admin admin;
    private final String readingsTopic;
    private final String jobGroup;
    private final List<String> unreadTopics;
    private final long keepBehindMillis;
    private final java.util.function.LongSupplier millis;

    /** Where the job's group stood, oldest first: one sample older than keepBehind at most. */
    private final java.util.ArrayDeque<Sample> samples = new java.util.ArrayDeque<>();

    private record Sample(long at, Map<TopicPartition, Long> offsets) {}

    private final LineProtocolFiles series;

    /**
     * @param kafkaDir the embedded Kafka's data folder; null with a plant's Kafka, whose disk is
     *     not this appliance's to manage
     * @param kafkaLogin the admin client's properties (bootstrap and login); null without kafkaDir
     * @param keepBehind how long ago the job's committed offset bounds what may go: longer than its
     *     retained checkpoints span
     * @param unreadTopics topics no part of the appliance reads, given up after the readings
     * @param series the series files; null when the series go to InfluxDB
     */
    DiskReclaim(
            Path kafkaDir,
            Properties kafkaLogin,
            String readingsTopic,
            String jobGroup,
            java.time.Duration keepBehind,
            List<String> unreadTopics,
            LineProtocolFiles series,
            java.util.function.LongSupplier millis) {
        this.kafkaDir = kafkaDir;
        this.admin = kafkaDir == null ? null : Admin.create(kafkaLogin);
        this.readingsTopic = readingsTopic;
        this.jobGroup = jobGroup;
        this.unreadTopics = List.copyOf(unreadTopics);
        this.keepBehindMillis = keepBehind.toMillis();
        this.millis = millis;
        this.series = series;
    }

    /** Set for a reclaim at start: the embedded Kafka's history can go once it runs. */
    private boolean kafkaLater;

    /**
     * A reclaim of the series files alone: with the plant's Kafka, whose disk is not this
     * appliance's to manage, and at start, before the embedded Kafka runs.
     *
     * @param kafkaLater whether an embedded Kafka is still to start
     */
    static DiskReclaim seriesOnly(LineProtocolFiles series, boolean kafkaLater) {
        DiskReclaim r =
                new DiskReclaim(
                        null,
                        null,
                        null,
                        null,
                        java.time.Duration.ZERO,
                        List.of(),
                        series,
                        System::currentTimeMillis);
        r.kafkaLater = kafkaLater;
        return r;
    }

    /** What the stop says when this reclaim has given up all it may. */
    String nothingLeftToGiveUp() {
        if (admin != null) {
            return "; the oldest history the appliance may delete is already gone, and what is left"
                    + " it still needs (readings the job has not read, the hour's series being"
                    + " written). Free space or move data-dir to a larger disk, then run again";
        }
        return "; the series files of past hours are already gone, and the hour's being written"
                + " is still needed"
                + (kafkaLater
                        ? "; the embedded Kafka's history can go only once it runs. Free space,"
                                + " lower kafka.retention (its oldest readings) or move data-dir"
                                + " to a larger disk, then run again"
                        : ". Free space or move data-dir to a larger disk, then run again");
    }

    /** A closed segment of one partition: the offsets below {@code end} and its files' bytes. */
    private record Segment(TopicPartition partition, long end, long bytes, long modified) {}

    /**
     * Gives up the oldest history until {@code wanted} bytes are freed or on their way, or nothing
     * more may go.
     */
    Reclaimed reclaim(long wanted) throws Exception {
        Map<String, Long> what = new java.util.LinkedHashMap<>();
        long freed = 0;
        if (admin != null) {
            freed += giveUp(readSegments(), wanted, "the job had read", what);
            freed += giveUp(unreadSegments(), wanted - freed, "nobody reads", what);
        }
        while (series != null && freed < wanted) {
            LineProtocolFiles.Deleted file = series.deleteOldest();
            if (file == null) {
                break;
            }
            freed += file.bytes();
            what.put("series " + file.file().getFileName(), file.bytes());
        }
        return freed == 0 ? Reclaimed.NOTHING : new Reclaimed(freed, what);
    }

    /**
     * Gives up the first of {@code segments} until {@code wanted} bytes; says what per topic.
     *
     * @return the bytes given up
     */
    private long giveUp(List<Segment> segments, long wanted, String why, Map<String, Long> what)
            throws Exception {
        Map<TopicPartition, Long> upTo = new HashMap<>();
        long freed = 0;
        for (Segment s : segments) {
            if (freed >= wanted) {
                break;
            }
            upTo.put(s.partition(), s.end());
            what.merge("Kafka " + s.partition().topic() + " " + why, s.bytes(), Long::sum);
            freed += s.bytes();
        }
        if (upTo.isEmpty()) {
            return 0;
        }
        Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
        upTo.forEach((p, end) -> delete.put(p, RecordsToDelete.beforeOffset(end)));
        admin.deleteRecords(delete).all().get(30, TimeUnit.SECONDS);
        return freed;
    }

    /**
     * Bytes Kafka was told to give up and has not deleted yet: segments wholly below their
     * partition's start, and files it has marked deleted.
     */
    long pending() throws Exception {
        if (admin == null) {
            return 0;
        }
        Map<TopicPartition, List<Segment>> closed = closedSegments(topics());
        Map<TopicPartition, Long> starts = logStarts(closed.keySet());
        long bytes = 0;
        for (Map.Entry<TopicPartition, List<Segment>> p : closed.entrySet()) {
            long start = starts.getOrDefault(p.getKey(), 0L);
            for (Segment s : p.getValue()) {
                if (s.end() <= start) {
                    bytes += s.bytes();
                }
            }
        }
        return bytes + markedDeleted();
    }

    private List<String> topics() {
        List<String> all = new ArrayList<>(unreadTopics);
        all.add(readingsTopic);
        return all;
    }

    /**
     * Notes where the job's group stands now; the disk watch calls it at every check, so that a
     * reclaim knows where it stood {@code keepBehind} ago.
     */
    void observe() throws Exception {
        if (admin == null) {
            return;
        }
        Map<TopicPartition, Long> offsets = new HashMap<>();
        admin.listConsumerGroupOffsets(jobGroup)
                .partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS)
                .forEach(
                        (p, o) -> {
                            if (o != null && p.topic().equals(readingsTopic)) {
                                offsets.put(p, o.offset());
                            }
                        });
        long now = millis.getAsLong();
        samples.addLast(new Sample(now, offsets));
        while (samples.size() >= 2
                && now - samples.stream().skip(1).findFirst().orElseThrow().at()
                        >= keepBehindMillis) {
            samples.removeFirst();
        }
    }

    /**
     * The readings' segments below where the job's group stood {@code keepBehind} ago, not gone
     * yet, oldest first; none until it has been observed that long.
     */
    private List<Segment> readSegments() throws Exception {
        Sample then = samples.peekFirst();
        if (then == null || millis.getAsLong() - then.at() < keepBehindMillis) {
            return List.of();
        }
        return oldestFirst(
                closedSegments(List.of(readingsTopic)), p -> then.offsets().getOrDefault(p, 0L));
    }

    /** Segments of the topics nobody reads that have not gone yet, oldest first. */
    private List<Segment> unreadSegments() throws Exception {
        return oldestFirst(closedSegments(unreadTopics), p -> Long.MAX_VALUE);
    }

    /**
     * The segments below each partition's {@code bound} and above its start, oldest first. Within a
     * partition, older segments were last written earlier: the order keeps each partition's
     * deletions a prefix of its log.
     */
    private List<Segment> oldestFirst(
            Map<TopicPartition, List<Segment>> closed,
            java.util.function.ToLongFunction<TopicPartition> bound)
            throws Exception {
        Map<TopicPartition, Long> starts = logStarts(closed.keySet());
        List<Segment> out = new ArrayList<>();
        closed.forEach(
                (p, segments) -> {
                    long start = starts.getOrDefault(p, 0L);
                    long below = bound.applyAsLong(p);
                    for (Segment s : segments) {
                        if (s.end() <= below && s.end() > start) {
                            out.add(s);
                        }
                    }
                });
        out.sort(Comparator.comparingLong(Segment::modified).thenComparingLong(Segment::end));
        return out;
    }

    private Map<TopicPartition, Long> logStarts(java.util.Set<TopicPartition> partitions)
            throws Exception {
        Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
        for (TopicPartition p : partitions) {
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
     * Every closed segment of {@code topics}' partitions in the Kafka folder, by partition, in
     * offset order. The active (last) segment is never closed: Kafka cannot give it up.
     */
    private Map<TopicPartition, List<Segment>> closedSegments(List<String> topics)
            throws IOException {
        Map<TopicPartition, List<Segment>> out = new HashMap<>();
        for (Path dir : partitionDirs()) {
            Matcher m = PARTITION_DIR.matcher(dir.getFileName().toString());
            if (!m.matches() || !topics.contains(m.group(1))) {
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

    /**
     * Partition folders under each of the embedded Kafka's node folders. Listed, not walked: a walk
     * reads each entry's attributes, and Kafka's checkpoint files come and go as {@code .tmp}
     * beside them (a walk failed with NoSuchFileException in a test).
     */
    private List<Path> partitionDirs() throws IOException {
        if (!Files.isDirectory(kafkaDir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> nodes = Files.list(kafkaDir)) {
            for (Path node : nodes.toList()) {
                if (!Files.isDirectory(node)) {
                    continue;
                }
                try (Stream<Path> dirs = Files.list(node)) {
                    dirs.filter(d -> PARTITION_DIR.matcher(d.getFileName().toString()).matches())
                            .filter(Files::isDirectory)
                            .forEach(out::add);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.close();
        }
    }
}
