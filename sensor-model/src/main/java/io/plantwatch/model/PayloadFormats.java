package io.plantwatch.model;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which {@link PayloadFormat} reads a sensor's messages, for a plant whose devices write their
 * readings in more than one way: formats named for sensor globs, the first whose glob matches the
 * sensor id in the order given, and the fallback for every other sensor. Thread-safe.
 */
public final class PayloadFormats {

    /**
     * Each sensor's choice is kept, since a glob is a regular expression; past this many sensors
     * the kept choices are dropped and made again, so a flood of made-up topics cannot grow it
     * (each kept id holds five strings: a few megabytes at most, on an edge box's heap).
     */
    static final int MAX_KEPT = 10_000;

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
    private final Map<SensorId, Choice> kept = new ConcurrentHashMap<>();

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

    /** How many sensors' choices are kept now. */
    int kept() {
        return kept.size();
    }

    public Choice formatFor(SensorId sensor) {
        if (named.isEmpty()) {
            return fallback;
        }
        Choice c = kept.get(sensor);
        if (c != null) {
            return c;
        }
        c = fallback;
        String id = sensor.id();
        for (int i = 0; i < named.size(); i++) {
            if (named.get(i).sensors().matches(id)) {
                c = choices.get(i);
                break;
            }
        }
        if (kept.size() >= MAX_KEPT) {
            kept.clear();
        }
        kept.put(sensor, c);
        return c;
    }
}
