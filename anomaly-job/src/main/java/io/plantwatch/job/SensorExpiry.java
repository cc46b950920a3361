package io.plantwatch.job;

import org.apache.flink.streaming.api.TimerService;

/**
 * Forgets a sensor that went silent for the state TTL, for {@link SensorDetectors}. Flink's state
 * TTL does the same but, on the heap, wraps every access and sweeps a few entries at each one,
 * about a quarter of the job's CPU at these rates; here a reading only notes the time, and one
 * processing-time timer per sensor re-arms itself from that note about once per TTL.
 */
public final class SensorExpiry {
    private SensorExpiry() {}

    /** Per-sensor state that expires: when it was last touched and when its timer is due. */
    public abstract static class Expiring {
        public long touchedAt;
        public long expiryAt;
    }

    /** A reading arrived at processing time {@code now}: note it; arm the timer if none is. */
    static void touch(Expiring s, long ttlMillis, long now, TimerService timers) {
        if (ttlMillis <= 0) {
            return;
        }
        s.touchedAt = now;
        if (s.expiryAt == 0) {
            s.expiryAt = s.touchedAt + ttlMillis;
            timers.registerProcessingTimeTimer(s.expiryAt);
        }
    }

    /** Keeps a sensor that {@link #expired} at {@code now} for another TTL. */
    static void keep(Expiring s, long now, long ttlMillis, TimerService timers) {
        s.expiryAt = now + ttlMillis;
        timers.registerProcessingTimeTimer(s.expiryAt);
    }

    /**
     * A processing-time timer fired at {@code time}: true when the sensor has been silent for the
     * TTL and its state is to be cleared; otherwise re-arms from the last reading if this was the
     * expiry timer.
     *
     * @param listeningSince when this run of the job started to read: a job stopped longer than the
     *     TTL must not forget every sensor on restore, before reading what they sent meanwhile
     */
    static boolean expired(
            Expiring s, long time, long listeningSince, long ttlMillis, TimerService timers) {
        if (ttlMillis <= 0 || s.expiryAt == 0 || time < s.expiryAt) {
            return false;
        }
        long touched = Math.max(s.touchedAt, listeningSince);
        if (time >= touched + ttlMillis) {
            return true;
        }
        s.expiryAt = touched + ttlMillis;
        timers.registerProcessingTimeTimer(s.expiryAt);
        return false;
    }
}
