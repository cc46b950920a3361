package io.plantwatch.model;

import java.util.List;
import java.util.Objects;

/**
 * Which {@link PayloadFormat} reads a sensor's messages, for a plant whose devices write their
 * readings in more than one way: formats named for sensor globs, the first whose glob matches the
 * sensor id in the order given, and the fallback for every other sensor. Immutable.
 */
public final class PayloadFormats {

    /**
     * A format for the sensors {@code sensors} matches.
     *
     * @param name how the settings name it, told in a rejection's detail
     */
    public record Named(String name, SensorGlob sensors, PayloadFormat format) {
        public Named {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(sensors, "sensors");
            Objects.requireNonNull(format, "format");
        }
    }

    /** The format chosen for a sensor; {@code name} null for the fallback. */
    public record Choice(String name, PayloadFormat format) {}

    private final Choice fallback;
    private final List<Named> named;
    private final List<Choice> choices;

    public PayloadFormats(PayloadFormat fallback, List<Named> named) {
        this.fallback = new Choice(null, Objects.requireNonNull(fallback, "fallback"));
        this.named = List.copyOf(named);
        this.choices = this.named.stream().map(n -> new Choice(n.name(), n.format())).toList();
    }

    /** One format for every sensor. */
    public static PayloadFormats of(PayloadFormat format) {
        return new PayloadFormats(format, List.of());
    }

    public PayloadFormat fallback() {
        return fallback.format();
    }

    public List<Named> named() {
        return named;
    }

    /**
     * The first named format whose glob matches, matched afresh each time: a kept choice per sensor
     * cost more than the matching once a fleet's ids no longer fit in the processor's caches
     * (bench/payload-decode.sh, 100,000 sensors: 1.94 of the plain JSON's time when kept, 1.17-1.31
     * matched afresh), and held memory for every sensor.
     */
    public Choice formatFor(SensorId sensor) {
        if (named.isEmpty()) {
            return fallback;
        }
        String id = sensor.id();
        for (int i = 0; i < named.size(); i++) {
            if (named.get(i).sensors().matches(id)) {
                return choices.get(i);
            }
        }
        return fallback;
    }
}
