package io.plantwatch.model;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * What a reading may look like before it is rejected: payload size, and how far its event time may
 * lie ahead of this machine's clock or behind a fixed earliest instant.
 *
 * @param maxPayloadBytes longest accepted MQTT payload
 * @param maxFutureSkew how far ahead of {@code clock} an event time may be (device clock skew)
 * @param earliest the earliest accepted event time; older stamps are unset or broken clocks
 * @param clock the clock that "now" is read from
 */
public record ReadingLimits(
        int maxPayloadBytes, Duration maxFutureSkew, Instant earliest, Clock clock) {

    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024;
    public static final Duration DEFAULT_MAX_FUTURE_SKEW = Duration.ofMinutes(5);
    public static final Instant DEFAULT_EARLIEST = Instant.parse("2000-01-01T00:00:00Z");

    public ReadingLimits {
        Objects.requireNonNull(maxFutureSkew, "maxFutureSkew");
        Objects.requireNonNull(earliest, "earliest");
        Objects.requireNonNull(clock, "clock");
        if (maxPayloadBytes <= 0) {
            throw new IllegalArgumentException("maxPayloadBytes must be > 0");
        }
        if (maxFutureSkew.isNegative()) {
            throw new IllegalArgumentException("maxFutureSkew must not be negative");
        }
    }

    public static ReadingLimits defaults() {
        return new ReadingLimits(
                DEFAULT_MAX_PAYLOAD_BYTES,
                DEFAULT_MAX_FUTURE_SKEW,
                DEFAULT_EARLIEST,
                Clock.systemUTC());
    }

    /**
     * Why an event time of {@code millis} is refused, or null when it is accepted: more than {@link
     * #maxFutureSkew} ahead of this clock, or before {@link #earliest}.
     *
     * @param what how the message names the time, e.g. the payload's field
     */
    public <T> Parsed.Rejected<T> checkTime(String what, long millis) {
        long now = clock.millis();
        long latest = now + maxFutureSkew.toMillis();
        if (millis > latest) {
            return new Parsed.Rejected<>(
                    RejectReason.TIMESTAMP_IN_FUTURE,
                    what
                            + " "
                            + instant(millis)
                            + " is "
                            + (millis - now)
                            + " ms ahead of this clock, more than the allowed "
                            + maxFutureSkew.toMillis()
                            + " ms");
        }
        if (millis < earliest.toEpochMilli()) {
            return new Parsed.Rejected<>(
                    RejectReason.TIMESTAMP_TOO_OLD,
                    what + " " + instant(millis) + " is before " + earliest);
        }
        return null;
    }

    /** Epoch milliseconds as an ISO-8601 instant for a message, or as a number beyond its range. */
    public static String instant(long millis) {
        try {
            return Instant.ofEpochMilli(millis).toString();
        } catch (RuntimeException e) {
            return millis + " ms";
        }
    }

    public ReadingLimits withClock(Clock c) {
        return new ReadingLimits(maxPayloadBytes, maxFutureSkew, earliest, c);
    }

    public ReadingLimits withMaxFutureSkew(Duration skew) {
        return new ReadingLimits(maxPayloadBytes, skew, earliest, clock);
    }

    public ReadingLimits withMaxPayloadBytes(int bytes) {
        return new ReadingLimits(bytes, maxFutureSkew, earliest, clock);
    }
}
