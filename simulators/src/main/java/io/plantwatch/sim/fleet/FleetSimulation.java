package io.plantwatch.sim.fleet;

import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Quality;
import io.plantwatch.model.ReadingLimits;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The simulation: a deterministic stream of {@link Emission}s in publish order, and a {@link Label}
 * for every anomaly it injects. Readings go round the fleet, so sensor {@code n % size} gives the
 * fleet's {@code n}-th reading at event time {@code start + n / rate}: devices interleave as real
 * ones do, and each sensor reads every {@code size / rate} seconds.
 *
 * <p>Each sensor draws its noise and its anomalies from two random streams of its own, so injecting
 * an anomaly does not change any other value, and the same seed gives the same bytes. Not
 * thread-safe.
 */
public final class FleetSimulation implements Iterator<Emission> {

    /** AR(1) coefficient of the measurement noise: real sensors' noise is correlated. */
    private static final double NOISE_PHI = 0.9;

    private static final long DAY_MILLIS = 86_400_000L;
    private static final long DEFAULT_LATE_DELAY_MILLIS = 30_000;

    private final SimulationSettings settings;
    private final List<SensorState> sensors;
    private final Consumer<Label> labels;
    private final MqttPayloadCodec codec =
            new MqttPayloadCodec(
                    io.plantwatch.model.TopicTemplate.defaults(), ReadingLimits.defaults());
    private final long total;
    private final double nanosPerReading;
    private final PriorityQueue<Queued> delayed = new PriorityQueue<>();
    private final ArrayDeque<Emission> ready = new ArrayDeque<>();
    private final Map<AnomalyKind, Integer> injected = new EnumMap<>(AnomalyKind.class);
    private final boolean sparkplug;
    private long n;
    private long queuedSeq;

    public FleetSimulation(Fleet fleet, SimulationSettings settings, Consumer<Label> labels) {
        this(fleet, settings, labels, false);
    }

    /**
     * @param sparkplug whether the readings go out as Sparkplug B ({@link SparkplugEdgeNodes}): a
     *     malformed payload is then protobuf that does not parse, not JSON the contract rejects
     */
    public FleetSimulation(
            Fleet fleet, SimulationSettings settings, Consumer<Label> labels, boolean sparkplug) {
        this.sparkplug = sparkplug;
        this.settings = settings;
        this.labels = labels;
        this.total = settings.totalReadings();
        this.nanosPerReading = 1e9 / settings.rate();
        SplittableRandom root = new SplittableRandom(settings.seed());
        double readingsPerSensorHour = settings.rate() * 3600.0 / fleet.size();
        this.sensors = new ArrayList<>(fleet.size());
        for (SimSensor s : fleet.sensors()) {
            List<AnomalySpec> mine = new ArrayList<>();
            for (AnomalySpec spec : settings.scheduled()) {
                if (spec.matches(s.id().id())) {
                    mine.add(spec);
                }
            }
            mine.sort((a, b) -> a.at().compareTo(b.at()));
            sensors.add(
                    new SensorState(
                            s,
                            root.split(),
                            root.split(),
                            mine,
                            settings.randomKinds().isEmpty()
                                    ? 0
                                    : readingsPerSensorHour / settings.anomaliesPerSensorHour()));
        }
        for (SensorState st : sensors) {
            st.drawNextRandom(0);
        }
    }

    /** Anomalies injected so far, by kind (closed episodes only). */
    public Map<AnomalyKind, Integer> injected() {
        return Map.copyOf(injected);
    }

    @Override
    public boolean hasNext() {
        fill();
        return !ready.isEmpty();
    }

    @Override
    public Emission next() {
        fill();
        Emission e = ready.poll();
        if (e == null) {
            throw new NoSuchElementException();
        }
        return e;
    }

    /**
     * Ends the run early (a Ctrl-C, a count reached): closes open episodes so their labels are
     * written with the readings that actually were affected. Delayed readings are dropped.
     */
    public void finish() {
        for (SensorState s : sensors) {
            s.closeEpisode();
        }
        delayed.clear();
        n = total;
    }

    private void fill() {
        while (ready.isEmpty()) {
            if (n < total) {
                long mainAt = publishAt(n);
                if (!delayed.isEmpty() && delayed.peek().emission.publishAtNanos() <= mainAt) {
                    ready.add(delayed.poll().emission);
                } else {
                    generate(n++);
                }
            } else if (!delayed.isEmpty()) {
                ready.add(delayed.poll().emission);
            } else {
                for (SensorState s : sensors) {
                    s.closeEpisode();
                }
                return;
            }
        }
    }

    private long publishAt(long index) {
        return (long) (index * nanosPerReading / settings.speed());
    }

    private void generate(long index) {
        SensorState s = sensors.get((int) (index % sensors.size()));
        long k = index / sensors.size();
        long eventOffsetNanos = (long) (index * nanosPerReading);
        long ts = settings.startMillis() + eventOffsetNanos / 1_000_000;
        long at = publishAt(index);
        s.emit(k, ts, at);
    }

    private void enqueueDelayed(Emission e) {
        delayed.add(new Queued(e, queuedSeq++));
    }

    private record Queued(Emission emission, long seq) implements Comparable<Queued> {
        @Override
        public int compareTo(Queued o) {
            int c = Long.compare(emission.publishAtNanos(), o.emission.publishAtNanos());
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** An anomaly in progress on one sensor. */
    private static final class Episode {
        final AnomalyKind kind;
        final int length;
        final double magnitude;
        final long delayMillis;
        int done;
        long firstTs;
        long lastTs;
        double stuckValue;
        final Map<String, Integer> reasons = new LinkedHashMap<>();

        Episode(AnomalyKind kind, int length, double magnitude, long delayMillis) {
            this.kind = kind;
            this.length = length;
            this.magnitude = magnitude;
            this.delayMillis = delayMillis;
        }
    }

    private final class SensorState {
        final SimSensor sensor;
        final SplittableRandom noise;
        final SplittableRandom anomalies;
        final ArrayDeque<AnomalySpec> scheduled;
        final double meanReadingsBetweenRandom;
        final double phase;
        final String topic;
        double ar;
        long nextRandomK = Long.MAX_VALUE;
        Episode episode;

        SensorState(
                SimSensor sensor,
                SplittableRandom noise,
                SplittableRandom anomalies,
                List<AnomalySpec> scheduled,
                double meanReadingsBetweenRandom) {
            this.sensor = sensor;
            this.noise = noise;
            this.anomalies = anomalies;
            this.scheduled = new ArrayDeque<>(scheduled);
            this.meanReadingsBetweenRandom = meanReadingsBetweenRandom;
            this.phase = anomalies.nextDouble() * 2 * Math.PI;
            this.topic = settings.topics().topicFor(sensor.id());
        }

        void drawNextRandom(long fromK) {
            if (meanReadingsBetweenRandom <= 0) {
                nextRandomK = Long.MAX_VALUE;
                return;
            }
            double gap = -Math.log(1 - anomalies.nextDouble()) * meanReadingsBetweenRandom;
            nextRandomK = fromK + 1 + (long) gap;
        }

        void emit(long k, long ts, long publishAt) {
            double value = baseline(ts);
            if (episode == null) {
                maybeStart(k, ts);
            }
            SensorReading r;
            Episode e = episode;
            if (e == null) {
                r = reading(ts, value, k);
                ready.add(
                        new Emission(publishAt, topic, encode(r), Emission.Type.READING, r, null));
                return;
            }
            if (e.done == 0) {
                e.firstTs = ts;
                e.stuckValue = value;
            }
            e.lastTs = ts;
            int j = e.done;
            switch (e.kind) {
                case SPIKE -> value += e.magnitude;
                case OUT_OF_RANGE ->
                        value = sensor.normalHigh() + e.magnitude + (value - sensor.mean()) * 0.2;
                case FLATLINE -> value = e.stuckValue;
                case DRIFT -> value += e.magnitude * (j + 1) / e.length;
                default -> {}
            }
            r = reading(ts, value, k);
            switch (e.kind) {
                case DROPOUT -> {} // never published: the sequence number skips
                case LATE ->
                        enqueueDelayed(
                                new Emission(
                                        publishAt
                                                + (long)
                                                        (e.delayMillis
                                                                * 1_000_000.0
                                                                / settings.speed()),
                                        topic,
                                        encode(r),
                                        Emission.Type.READING,
                                        r,
                                        null));
                case DUPLICATE -> {
                    byte[] payload = encode(r);
                    ready.add(
                            new Emission(
                                    publishAt, topic, payload, Emission.Type.READING, r, null));
                    ready.add(
                            new Emission(
                                    publishAt, topic, payload, Emission.Type.DUPLICATE, r, null));
                }
                case MALFORMED -> {
                    RejectReason why =
                            sparkplug
                                    ? RejectReason.MALFORMED_PROTOBUF
                                    : MalformedPayloads.reason(j);
                    e.reasons.merge(why.code(), 1, Integer::sum);
                    ready.add(
                            new Emission(
                                    publishAt,
                                    topic,
                                    sparkplug
                                            ? MalformedPayloads.sparkplug(j)
                                            : MalformedPayloads.payload(j, r),
                                    Emission.Type.MALFORMED,
                                    // Where a Sparkplug B one goes: its sensor's node and device.
                                    sparkplug ? r : null,
                                    why));
                }
                default ->
                        ready.add(
                                new Emission(
                                        publishAt,
                                        topic,
                                        encode(r),
                                        Emission.Type.READING,
                                        r,
                                        null));
            }
            e.done++;
            if (e.done >= e.length) {
                closeEpisode();
                drawNextRandom(k);
            }
        }

        private void maybeStart(long k, long ts) {
            long offsetMillis = ts - settings.startMillis();
            AnomalySpec spec = scheduled.peek();
            if (spec != null && spec.at().toMillis() <= offsetMillis) {
                scheduled.poll();
                double seconds =
                        spec.duration() != null
                                ? spec.duration().toNanos() / 1e9
                                : spec.kind().defaultDurationSeconds();
                episode =
                        new Episode(
                                spec.kind(),
                                lengthInReadings(seconds),
                                spec.magnitude() != null
                                        ? spec.magnitude()
                                        : defaultMagnitude(spec.kind()),
                                spec.delay() != null
                                        ? spec.delay().toMillis()
                                        : DEFAULT_LATE_DELAY_MILLIS);
                if (nextRandomK <= k) {
                    drawNextRandom(k);
                }
            } else if (k >= nextRandomK) {
                List<AnomalyKind> kinds = new ArrayList<>(settings.randomKinds());
                kinds.sort(null);
                AnomalyKind kind = kinds.get(anomalies.nextInt(kinds.size()));
                episode =
                        new Episode(
                                kind,
                                lengthInReadings(kind.defaultDurationSeconds()),
                                defaultMagnitude(kind),
                                DEFAULT_LATE_DELAY_MILLIS);
            }
        }

        private int lengthInReadings(double seconds) {
            double perSensorRate = settings.rate() / sensors.size();
            return (int) Math.max(1, Math.round(seconds * perSensorRate));
        }

        private double defaultMagnitude(AnomalyKind kind) {
            double span = sensor.normalHigh() - sensor.normalLow();
            return switch (kind) {
                case SPIKE -> sensor.kind().spikeMagnitude();
                case OUT_OF_RANGE -> 0.15 * span;
                case DRIFT -> 0.3 * span;
                default -> 0;
            };
        }

        void closeEpisode() {
            Episode e = episode;
            if (e == null) {
                return;
            }
            episode = null;
            if (e.done == 0) {
                return;
            }
            Map<String, Object> params = new LinkedHashMap<>();
            switch (e.kind) {
                case SPIKE, OUT_OF_RANGE, DRIFT -> params.put("magnitude", e.magnitude);
                case FLATLINE -> params.put("value", e.stuckValue);
                case LATE -> params.put("delay_ms", e.delayMillis);
                case MALFORMED -> params.put("reasons", Map.copyOf(e.reasons));
                default -> {}
            }
            if (e.kind == AnomalyKind.OUT_OF_RANGE) {
                params.put("normal_low", sensor.normalLow());
                params.put("normal_high", sensor.normalHigh());
            }
            injected.merge(e.kind, 1, Integer::sum);
            labels.accept(new Label(sensor.id().id(), e.kind, e.firstTs, e.lastTs, e.done, params));
        }

        private double baseline(long ts) {
            double innovation = noise.nextGaussian();
            ar = NOISE_PHI * ar + Math.sqrt(1 - NOISE_PHI * NOISE_PHI) * innovation;
            double daily =
                    sensor.dailyAmplitude()
                            * Math.sin(
                                    2 * Math.PI * Math.floorMod(ts, DAY_MILLIS) / DAY_MILLIS
                                            + phase);
            return sensor.mean() + daily + sensor.noise() * ar;
        }

        private SensorReading reading(long ts, double value, long k) {
            // Three decimals, as a real transmitter would send: keeps payloads short and exact.
            double rounded = Math.round(value * 1000) / 1000.0;
            return new SensorReading(sensor.id(), ts, rounded, sensor.unit(), Quality.GOOD, k);
        }

        private byte[] encode(SensorReading r) {
            return codec.encode(r, settings.isoTimestamps());
        }
    }
}
